"""No input can send a request (and the token with it) anywhere but the configured GitHub host,
or to any path there but the repository's issue list.

1. The config model refuses repo strings that could bend a URL. tests/unit/test_config_validation.py
   already refuses `../../x`, `a/b?x=1`, `a/b#c`, `a%2Fb` and friends; the corpus here adds the
   encoded, unicode, userinfo, scheme and control-character variants, and the same through gitOrigin.
2. For repo strings the model does accept (odd but legal ones, and generated ones), the request
   the GitHubTracker actually makes, as the stand-in logs it, goes to the configured host and to
   `/repos/<owner>/<name>/issues`, with no query parameter but the ones intake sets.
3. Labels and the assignee, which do go into the query string, cannot add a parameter or reach
   the path: whatever the config accepts arrives as exactly the `labels`/`assignee` value.
4. A `Link: rel="next"` pointing at another origin is not followed (host confusion variants).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from intake_dev.fake_github import FakeGitHub
from tracker_intake.adapters.github import GitHubTracker
from tracker_intake.domain.config import ProjectConfig, check_repo, repo_from_git_origin
from tracker_intake.domain.errors import BadTrackerResponse, ConfigInvalid, TrackerError
from tracker_intake.domain.tracker import IssueQuery

TOKEN = "ghp_hostPinningTestToken0123456789abcdef"
INTAKE_KEYS = {"state", "labels", "assignee", "sort", "direction", "per_page"}

HOSTILE_REPOS = [
    # userinfo, scheme and authority tricks
    "@evil.com/x",
    "a@evil.com/b",
    "a/b@evil.com",
    "evil.com:443/a",
    "//evil.com/x",
    "http://evil.com/a/b",
    "https://api.github.com@evil.com/a/b",
    "a/b:80",
    # traversal beyond the corpus of test_config_validation.py
    "a/b/../../c",
    "a/b/issues",
    "a/b/../../../repos/evil/x",
    "./a/b",
    "a\\b/c",
    "a/b\\..\\..\\x",
    "a/b;x",
    "a/b&x=1",
    "a/b=1",
    "a/b?",
    "a/b#",
    # percent-encoded
    "%2e%2e/x",
    "a/%2e%2e",
    "a/%2E%2E%2Fevil",
    "a%2fb/c",
    "a/b%3Fx=1",
    "a/b%23c",
    "a/%2F%2Fevil.com",
    "a/b%00",
    "a/b%0d%0aHost:evil.com",
    "a/%252e%252e",
    # unicode look-alikes and invisible characters
    "a\uff0fb",  # fullwidth solidus
    "a\u2215b",  # division slash
    "a/\u2024\u2024",  # one dot leader twice
    "\uff41/b",  # fullwidth a
    "\u0430/b",  # Cyrillic a
    "a/b\u200b",  # zero-width space
    "a/b\u202e",  # right-to-left override
    "a/b\uff1fx=1",  # fullwidth question mark
    "a/b\uff03c",  # fullwidth number sign
    "a/b\u3002com",  # ideographic full stop
    # control characters and whitespace
    "a/b\r\nHost: evil.com",
    "a/b\x00",
    "a/b\t",
    "a/b ",
    "\ta/b",
    "a/\x7f",
]

HOSTILE_ORIGINS = [
    "https://github.com@evil.com/a/b",
    "https://github.com.evil.com/a/b",
    "https://evil.com/github.com/a/b",
    "https://github.com:443@evil.com/a/b",
    "https://github.com/a/b/../../c",
    "https://github.com/a/b?x=1",
    "https://github.com/a/b#c",
    "https://github.com/a/%2e%2e",
    "git@github.com:a/b/../../c.git",
    "git@evil.com:a/b.git",
    "git@github.com.evil.com:a/b.git",
    "ssh://git@github.com@evil.com/a/b.git",
    "https://github.com/a\uff0fb",
    "https://github.com/a/b\r\nHost: evil.com",
]

ODD_BUT_LEGAL_REPOS = ["a/.b", "a/b.", "a/-", "a/_", "o/.github", "a-b/c.d_e-f", "A/B", "a/b.c.d", "0/0", "a/.b.c-"]


def intake(repo: str) -> dict[str, Any]:
    return {"trackerIntake": {"enabled": True, "repo": repo, "labels": ["agent"]}}


@pytest.fixture
def evil() -> Iterator[FakeGitHub]:
    with FakeGitHub() as other:
        yield other


# --- 1. the model refuses ----------------------------------------------------------------------------


@pytest.mark.parametrize("repo", HOSTILE_REPOS, ids=[repr(r) for r in HOSTILE_REPOS])
def test_config_refuses_a_repo_string_that_could_bend_the_url(repo: str) -> None:
    # GIVEN a repo string built to leave /repos/<owner>/<name>/issues or the host
    # WHEN a config with it is validated
    with pytest.raises(ValidationError) as refused:
        ProjectConfig.model_validate(intake(repo))
    # THEN it is refused, naming trackerIntake.repo
    assert [".".join(map(str, e["loc"][:2])) for e in refused.value.errors()] == ["trackerIntake.repo"]


@pytest.mark.parametrize("origin", HOSTILE_ORIGINS, ids=[repr(o) for o in HOSTILE_ORIGINS])
def test_repo_is_never_derived_from_a_hostile_git_origin(origin: str) -> None:
    # GIVEN a git origin that is not plainly github.com/<owner>/<name>
    # WHEN the repo is derived from it
    # THEN it is refused, naming gitOrigin
    with pytest.raises(ConfigInvalid) as refused:
        repo_from_git_origin(origin)
    assert refused.value.field == "gitOrigin"


# --- 2. what is accepted stays on the host and on the issue list --------------------------------------


def requested(github: FakeGitHub, owner: str, name: str, **query: Any) -> Any:
    """The one request the tracker makes for this repo, as the stand-in logged it."""
    tracker = GitHubTracker(github.base_url, TOKEN, timeout=(2.0, 2.0))
    github.clear_requests()
    # A repo the stand-in does not have answers 404: only the request matters here.
    with contextlib.suppress(TrackerError):
        list(tracker.pages(IssueQuery(owner, name, **query), {}, page_cap=1))
    (request,) = github.requests
    return request


def assert_pinned(github: FakeGitHub, request: Any, owner: str, name: str) -> None:
    host = github.base_url.removeprefix("http://")
    assert request.header("host") == host
    assert request.url.startswith(f"http://{host}/")
    assert request.path == f"/repos/{owner}/{name}/issues"
    assert set(request.query) <= INTAKE_KEYS
    assert request.header("authorization") == f"Bearer {TOKEN}"


@pytest.mark.parametrize("repo", ODD_BUT_LEGAL_REPOS)
def test_an_accepted_odd_repo_is_requested_on_the_configured_host_and_issue_path(github: FakeGitHub, repo: str) -> None:
    # GIVEN an unusual repo string the model accepts
    config = ProjectConfig.model_validate(intake(repo))
    assert config.tracker_intake is not None and config.tracker_intake.repo == repo
    owner, name = repo.split("/")
    # WHEN the tracker lists its issues
    request = requested(github, owner, name, labels=("agent",))
    # THEN the stand-in saw one request, on its own host, for /repos/<owner>/<name>/issues
    assert_pinned(github, request, owner, name)


HOSTILE_CHARACTERS = "%?#@:;&=+\\ \t\n/\u2215\uff0f\u0430\u200b"
REPO_STRINGS = st.builds(
    "{}/{}".format,
    st.text(alphabet="aZ09-" + HOSTILE_CHARACTERS[:4], min_size=1, max_size=8),
    st.text(alphabet="aZ09-._" + HOSTILE_CHARACTERS, min_size=1, max_size=10),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(repo=REPO_STRINGS)
def test_any_repo_the_model_accepts_is_requested_on_the_issue_path(github: FakeGitHub, repo: str) -> None:
    # GIVEN a generated repo string, of hostile characters, that the model accepts
    try:
        check_repo(repo)
    except ValueError:
        assume(False)
    owner, name = repo.split("/")
    # WHEN the tracker lists its issues
    request = requested(github, owner, name)
    # THEN the request stays on the host and on the repository's issue list
    assert_pinned(github, request, owner, name)


# --- 3. labels and assignee stay inside their query values ---------------------------------------------

LABEL_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=","), min_size=1, max_size=20
).filter(lambda s: s == s.strip())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(labels=st.lists(LABEL_TEXT, min_size=1, max_size=3, unique_by=str.casefold))
def test_labels_arrive_as_exactly_the_labels_value_and_add_no_parameter(github: FakeGitHub, labels: list[str]) -> None:
    # GIVEN labels the model accepts (any text but commas, control characters and edge spaces)
    try:
        ProjectConfig.model_validate({"trackerIntake": {"enabled": True, "repo": "acme/app", "labels": labels}})
    except ValidationError:
        assume(False)
    # WHEN the tracker lists issues with them
    request = requested(github, "acme", "app", labels=tuple(labels))
    # THEN the path and host are unchanged, and the stand-in parsed exactly one labels value
    assert_pinned(github, request, "acme", "app")
    assert request.query["labels"] == ",".join(labels)
    assert set(request.query) == {"state", "labels", "sort", "direction", "per_page"}


@pytest.mark.parametrize("assignee", ["*", "none", "octocat", "a-b-c"])
def test_assignee_arrives_as_exactly_the_assignee_value(github: FakeGitHub, assignee: str) -> None:
    # GIVEN an assignee rule the model accepts
    ProjectConfig.model_validate({"trackerIntake": {"enabled": True, "repo": "acme/app", "assignee": assignee}})
    # WHEN the tracker lists issues with it
    request = requested(github, "acme", "app", assignee=assignee)
    # THEN it is the assignee value and nothing more
    assert_pinned(github, request, "acme", "app")
    assert request.query["assignee"] == assignee


# --- 4. pagination cannot lead away -------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "http://{evil}/repositories/1/issues?page=2",
        "http://{host}@{evil}/repositories/1/issues?page=2",
        "http://{evil}#@{host}/repositories/1/issues?page=2",
        "//{evil}/repositories/1/issues?page=2",
        "https://{host}/repositories/1/issues?page=2",
    ],
)
def test_a_next_link_to_another_origin_is_not_followed(github: FakeGitHub, evil: FakeGitHub, link: str) -> None:
    # GIVEN a first page whose Link header points the walk at another origin
    host, evil_host = github.base_url.removeprefix("http://"), evil.base_url.removeprefix("http://")
    next_url = link.format(host=host, evil=evil_host)
    github.add_repo("acme", "app").add_issue("one", labels=["agent"])
    github.inject(
        "status", repo="acme/app", status=200, body=[], headers={"Link": f'<{next_url}>; rel="next"', "ETag": '"x"'}
    )
    tracker = GitHubTracker(github.base_url, TOKEN, timeout=(2.0, 2.0))
    # WHEN the tracker walks the pages
    with pytest.raises(BadTrackerResponse):
        list(tracker.pages(IssueQuery("acme", "app", ("agent",)), {}))
    # THEN the other origin saw nothing, and the configured host saw only the first page
    assert evil.requests == []
    assert [r.path for r in github.requests] == ["/repos/acme/app/issues"]
