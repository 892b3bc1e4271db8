"""The GitHub stand-in itself behaves as GitHub documents it (other tests lean on it)."""

from __future__ import annotations

from typing import Any

import requests

from intake_dev.fake_github import ECHO_CREDENTIAL, FakeGitHub
from intake_dev.sample_repo import load_sample

UA = {"User-Agent": "stand-in-test"}


def _get(github: FakeGitHub, path: str, token: str | None = None, **headers: str) -> requests.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(github.base_url + path, headers={**UA, **headers}, timeout=5)


def _numbers(response: requests.Response) -> list[int]:
    body: list[dict[str, Any]] = response.json()
    return [item["number"] for item in body]


def test_default_listing_is_open_issues_newest_first_thirty_a_page(github: FakeGitHub) -> None:
    # GIVEN 35 open issues and a closed one
    repo = github.add_repo("acme", "widgets")
    for n in range(35):
        repo.add_issue(f"issue {n}")
    repo.close_issue(1)

    # WHEN the list is asked without parameters
    response = _get(github, "/repos/acme/widgets/issues")

    # THEN it is GitHub's default: open, by created date descending, 30 per page
    assert response.status_code == 200
    assert _numbers(response) == list(range(35, 5, -1))
    assert 'rel="next"' in response.headers["Link"] and 'rel="last"' in response.headers["Link"]


def test_labels_filter_needs_every_label_case_insensitively(github: FakeGitHub) -> None:
    # GIVEN issues with different label sets
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("both", labels=["Agent", "bug"])
    repo.add_issue("one", labels=["agent"])
    repo.add_issue("none")

    # WHEN two labels are asked for
    response = _get(github, "/repos/acme/widgets/issues?labels=agent,BUG")

    # THEN only the issue with both matches
    assert _numbers(response) == [1]


def test_assignee_filter_takes_a_login_star_or_none(github: FakeGitHub) -> None:
    # GIVEN an issue assigned to Dev-Bot, one to ana, one to nobody
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("bot", assignees=["Dev-Bot"])
    repo.add_issue("ana", assignees=["ana"])
    repo.add_issue("nobody")

    # WHEN each assignee form is asked
    by = {
        a: _numbers(_get(github, f"/repos/acme/widgets/issues?assignee={a}&direction=asc"))
        for a in ["dev-bot", "*", "none"]
    }

    # THEN a login matches case-insensitively, * means anyone, none means nobody
    assert by == {"dev-bot": [1], "*": [1, 2], "none": [3]}


def test_pull_requests_are_listed_with_a_pull_request_key(github: FakeGitHub) -> None:
    # GIVEN an issue and a pull request
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("issue")
    repo.add_issue("pr", pull_request=True)

    # WHEN the issues are listed
    body = _get(github, "/repos/acme/widgets/issues?direction=asc").json()

    # THEN both are there, only the pull request with the key
    assert ["pull_request" in item for item in body] == [False, True]


def test_links_are_absolute_repositories_id_urls_keeping_the_query(github: FakeGitHub) -> None:
    # GIVEN three pages of two
    repo = github.add_repo("acme", "widgets", repo_id=77)
    for n in range(6):
        repo.add_issue(f"issue {n}", labels=["good first issue"])

    # WHEN page 2 is asked
    response = _get(github, "/repos/acme/widgets/issues?labels=good%20first%20issue&per_page=2&page=2")

    # THEN every relation points at /repositories/77 with the same filter
    links = {rel: link["url"] for rel, link in response.links.items()}
    base = f"{github.base_url}/repositories/77/issues?labels=good%20first%20issue&per_page=2"
    assert links == {
        "prev": base + "&page=1",
        "next": base + "&page=3",
        "last": base + "&page=3",
        "first": base + "&page=1",
    }


def test_matching_if_none_match_gives_304_without_spending_rate_limit(github: FakeGitHub) -> None:
    # GIVEN a listing and its ETag
    github.add_repo("acme", "widgets", weak_etags=True).add_issue("one")
    first = _get(github, "/repos/acme/widgets/issues", token="t")

    # WHEN it is asked again with that ETag
    second = _get(github, "/repos/acme/widgets/issues", token="t", **{"If-None-Match": first.headers["ETag"]})

    # THEN it is a 304 with the same weak ETag, and the remaining count did not drop
    assert first.headers["ETag"].startswith('W/"')
    assert second.status_code == 304 and second.content == b""
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"] == "4999"


def test_etag_changes_when_the_listed_content_changes(github: FakeGitHub) -> None:
    # GIVEN a listing and its ETag
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("one")
    before = _get(github, "/repos/acme/widgets/issues").headers["ETag"]

    # WHEN the issue is edited
    repo.update_issue(1, title="one, edited")
    after = _get(github, "/repos/acme/widgets/issues", **{"If-None-Match": before})

    # THEN the old ETag no longer matches
    assert after.status_code == 200
    assert after.headers["ETag"] != before


def test_anonymous_calls_get_sixty_an_hour(github: FakeGitHub) -> None:
    # GIVEN a public repository
    github.add_repo("acme", "widgets")

    # WHEN it is listed without a token
    response = _get(github, "/repos/acme/widgets/issues")

    # THEN the anonymous limit applies
    assert response.headers["x-ratelimit-limit"] == "60"
    assert response.headers["x-ratelimit-remaining"] == "59"
    assert response.headers["x-ratelimit-resource"] == "core"


def test_unknown_repository_is_githubs_json_404(github: FakeGitHub) -> None:
    # GIVEN no repositories
    # WHEN one is asked for
    response = _get(github, "/repos/acme/nothing/issues")

    # THEN GitHub's 404 body comes back
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"


def test_requests_are_recorded_per_repository(github: FakeGitHub) -> None:
    # GIVEN two repositories
    github.add_repo("acme", "a", repo_id=1)
    github.add_repo("acme", "b")

    # WHEN one is asked twice, once through its id
    _get(github, "/repos/acme/a/issues")
    _get(github, "/repositories/1/issues?page=2")
    _get(github, "/repos/acme/b/issues")

    # THEN the log attributes each request to its repository
    assert [r.query.get("page") for r in github.requests_for("ACME/A")] == [None, "2"]
    assert len(github.requests_for("acme/b")) == 1


def test_a_fault_scoped_to_a_repository_and_page_fires_only_there(github: FakeGitHub) -> None:
    # GIVEN two repositories and a 500 for acme/a page 2
    github.add_repo("acme", "a")
    github.add_repo("acme", "b")
    github.inject("server_error", repo="acme/a", page=2)

    # WHEN several pages are asked
    statuses = [
        _get(github, path).status_code
        for path in ["/repos/acme/b/issues?page=2", "/repos/acme/a/issues", "/repos/acme/a/issues?page=2"]
    ]

    # THEN only the matching request failed, once
    assert statuses == [200, 200, 500]
    assert _get(github, "/repos/acme/a/issues?page=2").status_code == 200


def test_a_fault_can_echo_the_token_the_request_carried(github: FakeGitHub) -> None:
    # GIVEN two faults on acme/app that quote the request's token, in a message and in a raw body
    github.add_repo("acme", "app")
    github.inject("forbidden", repo="acme/app", message=f"not for {ECHO_CREDENTIAL}")
    github.inject("status", repo="acme/app", status=503, body=f"proxy saw Bearer {ECHO_CREDENTIAL}")

    # WHEN two requests carry two tokens
    first = _get(github, "/repos/acme/app/issues", "ghp_first")
    second = _get(github, "/repos/acme/app/issues", "ghp_second")

    # THEN each answer quotes its own request's token
    assert (first.status_code, first.json()["message"]) == (403, "not for ghp_first")
    assert (second.status_code, second.text) == (503, "proxy saw Bearer ghp_second")


def test_sample_repository_has_the_cases_the_demo_needs(github: FakeGitHub) -> None:
    # GIVEN the bundled sample
    repo = load_sample(github)

    # WHEN its issues are read
    issues = repo.issues()

    # THEN it holds a pull request, an in-progress issue, a closed one and a long unicode body
    assert repo.full_name == "acme/widgets"
    assert 10 <= len(issues) <= 15
    assert any("pull_request" in i for i in issues)
    assert any("in-progress" in [label["name"] for label in i["labels"]] for i in issues)
    assert any(i["state"] == "closed" for i in issues)
    long_body = max((i["body"] or "" for i in issues), key=len)
    assert len(long_body.encode()) > 5 * 1024 and not long_body.isascii()
    # AND its authors are the owner, members, and one stranger whose issue carries the label
    associations = {i["author_association"] for i in issues}
    assert associations == {"OWNER", "MEMBER", "NONE"}
    (stranger,) = [i for i in issues if i["author_association"] == "NONE"]
    assert "agent" in [label["name"] for label in stranger["labels"]] and stranger["state"] == "open"


def test_author_association_is_served_per_issue_as_set(github: FakeGitHub) -> None:
    # GIVEN issues by the owner, by someone with no association given, and by a stranger
    repo = github.add_repo("acme", "app")
    repo.add_issue("by the owner", user="acme")
    repo.add_issue("by a collaborator")
    repo.add_issue("by a stranger", user="drive-by", author_association="NONE")
    # WHEN the stranger becomes a contributor
    repo.update_issue(3, author_association="CONTRIBUTOR")
    # THEN each issue carries GitHub's field: OWNER for the owner, COLLABORATOR by default, else as set
    assert [i["author_association"] for i in repo.issues()] == ["OWNER", "COLLABORATOR", "CONTRIBUTOR"]


# --- GitHub's behaviour the poll pipeline must survive (issue: GitHub as it really behaves) ---------


class SimClock:
    """Epoch seconds a test moves by hand, for the stand-in's rolling windows."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def test_etag_covers_the_body_only_so_a_full_page_keeps_it_when_a_next_page_appears() -> None:
    # GIVEN exactly 100 open issues: one full page, no next link
    with FakeGitHub() as github:
        repo = github.add_repo("acme", "widgets")
        for n in range(100):
            repo.add_issue(f"issue {n}")
        query = "/repos/acme/widgets/issues?state=open&sort=created&direction=asc&per_page=100"
        first = _get(github, query, token="t")
        assert "next" not in first.links
        # WHEN a 101st issue opens a second page
        repo.add_issue("issue 100")
        again = _get(github, query, token="t", **{"If-None-Match": first.headers["ETag"]})
        fresh = _get(github, query, token="t")
    # THEN page 1 still answers 304 to its old ETag, although its Link now names a next page
    assert again.status_code == 304
    assert fresh.headers["ETag"] == first.headers["ETag"]
    assert "next" in fresh.links


def test_secondary_limit_counts_every_request_per_token_in_a_rolling_minute_304s_included() -> None:
    # GIVEN a stand-in allowing 5 points a minute per token, on a clock the test moves
    clock = SimClock()
    with FakeGitHub(clock=clock, secondary_points_per_minute=5) as github:
        github.add_repo("acme", "widgets").add_issue("one")
        etag = _get(github, "/repos/acme/widgets/issues", token="a").headers["ETag"]
        # WHEN the same token asks 4 more times conditionally (304s) and then once more
        statuses = [
            _get(github, "/repos/acme/widgets/issues", token="a", **{"If-None-Match": etag}).status_code
            for _ in range(4)
        ]
        refused = _get(github, "/repos/acme/widgets/issues", token="a", **{"If-None-Match": etag})
        other_token = _get(github, "/repos/acme/widgets/issues", token="b")
        # AND a minute later it asks again
        clock.now += 60
        later = _get(github, "/repos/acme/widgets/issues", token="a", **{"If-None-Match": etag})
        refusals = github.secondary_refusals()
    # THEN the 304s counted, the sixth request was GitHub's secondary-limit 403 with retry-after,
    # another token was unaffected, and the window rolled on
    assert statuses == [304, 304, 304, 304]
    assert refused.status_code == 403
    assert refused.headers["retry-after"] == "60"
    assert "secondary rate limit" in refused.json()["message"]
    assert other_token.status_code == 200
    assert later.status_code == 304
    assert refusals == 1


def test_secondary_limit_refuses_requests_beyond_the_concurrency_bound() -> None:
    # GIVEN a stand-in allowing 2 requests in flight per token, whose answers are slow
    import threading

    with FakeGitHub(secondary_concurrency=2) as github:
        github.add_repo("acme", "widgets").add_issue("one")
        github.inject("slow", times=3, seconds=0.5)
        results: list[int] = []

        def ask() -> None:
            results.append(_get(github, "/repos/acme/widgets/issues", token="a").status_code)

        # WHEN three requests of one token are in flight at once
        threads = [threading.Thread(target=ask) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        peak = github.max_in_flight
    # THEN one of them was refused as a secondary limit
    assert sorted(results) == [200, 200, 403]
    assert max(peak.values()) == 3


def test_an_anonymous_304_spends_primary_rate_limit_an_authorized_one_does_not(github: FakeGitHub) -> None:
    # GIVEN a listing asked once without a token and once with one
    github.add_repo("acme", "widgets").add_issue("one")
    anonymous = _get(github, "/repos/acme/widgets/issues")
    authorized = _get(github, "/repos/acme/widgets/issues", token="t")
    # WHEN each asks again conditionally
    anonymous_304 = _get(github, "/repos/acme/widgets/issues", **{"If-None-Match": anonymous.headers["ETag"]})
    authorized_304 = _get(
        github, "/repos/acme/widgets/issues", token="t", **{"If-None-Match": authorized.headers["ETag"]}
    )
    # THEN only the anonymous 304 cost a request of the primary budget
    assert anonymous_304.status_code == authorized_304.status_code == 304
    assert int(anonymous_304.headers["x-ratelimit-remaining"]) == int(anonymous.headers["x-ratelimit-remaining"]) - 1
    assert authorized_304.headers["x-ratelimit-remaining"] == authorized.headers["x-ratelimit-remaining"]
