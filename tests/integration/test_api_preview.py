"""`POST /projects/{id}/preview` and `POST /preview`: the real handler on moto, GitHub's
stand-in on loopback.

Read-only towards the ledger and the ETag cache; the requests count in the credential's budget.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_support import Answer, Api, claim, request

from intake_dev.fake_github import FakeGitHub
from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.adapters.github_token import token_key
from tracker_intake.domain.records import ClaimStatus, Grant, Pace, TokenBudget
from tracker_intake.settings import ApiSettings
from tracker_intake.wiring import build_api_context

TOKEN = "preview-test-token"
BUDGET = 100


@pytest.fixture
def github(github: FakeGitHub) -> FakeGitHub:
    repo = github.add_repo("acme", "app")
    base = datetime(2026, 11, 1, tzinfo=UTC)
    repo.add_issue("newest agent issue", labels=["agent"], created_at=base + timedelta(days=3))
    repo.add_issue("oldest agent issue", labels=["agent"], created_at=base)
    repo.add_issue("a bug", labels=["bug"], created_at=base + timedelta(days=1))
    repo.add_issue("agent, in progress", labels=["agent", "in-progress"], created_at=base + timedelta(days=2))
    repo.add_issue(
        "a stranger's",
        labels=["agent"],
        user="drive-by",
        author_association="NONE",
        created_at=base + timedelta(days=4),
    )
    return github


@pytest.fixture
def api(aws: dict[str, Any], github: FakeGitHub) -> Api:
    api = Api(aws)
    settings = ApiSettings.model_validate(
        {
            "TABLE_NAME": aws["table_name"],
            "GITHUB_API_URL": github.base_url,
            "GITHUB_REQUESTS_PER_MINUTE": str(BUDGET),
            "MAX_PAGES_PER_POLL": "3",
        }
    )
    api.module.use(build_api_context(settings, dynamodb=aws["dynamodb"], token=TOKEN))
    created = api(request("POST", "/projects", body={"id": "demo", "gitOrigin": "git@github.com:acme/app.git"}))
    assert created.status == 201, created.body
    return api


def preview(api: Api, body: Any = None) -> Answer:
    return api(request("POST", "/projects/demo/preview", body=body if body is not None else {}))


def test_a_draft_rule_lists_what_it_takes_oldest_first_and_why_it_skips_the_rest(api: Api, github: FakeGitHub) -> None:
    # GIVEN a project with no rule yet, and five open issues on its repository
    before = [i for i in api.scan() if not i["sk"]["S"].startswith("PACE")]
    # WHEN a draft rule (label agent) is previewed
    answer = preview(api, {"trackerIntake": {"enabled": True, "labels": ["agent"]}})
    # THEN the agent issues are listed oldest first, the others with the reason
    assert answer.status == 200, answer.body
    assert [i["title"] for i in answer.body["eligible"]] == ["oldest agent issue", "newest agent issue"]
    reasons = {i["title"]: i["reason"] for i in answer.body["skipped"]}
    assert reasons == {
        "a bug": "missing label",
        "agent, in progress": "excluded label",
        "a stranger's": "untrusted author",
    }
    assert answer.body["eligible"][0]["canonicalId"].startswith("github:acme/app#")
    # AND it read GitHub once, with the deployment's credential
    assert answer.body["requests"] == 1 and len(github.requests_for("acme/app")) == 1
    assert github.requests_for("acme/app")[0].headers["authorization"] == f"Bearer {TOKEN}"
    # AND nothing was claimed, cached or changed: only the credential's minute holds the pages
    after = [i for i in api.scan() if not i["sk"]["S"].startswith("PACE")]
    assert after == before
    pace = DynamoStore(api.aws["table_name"], client=api.aws["dynamodb"]).get_pace(token_key(TOKEN))
    assert pace is not None and [g.points for g in pace.grants] == [3]


def test_without_a_draft_the_stored_rule_is_previewed(api: Api) -> None:
    # GIVEN a stored rule on an assignee nobody has
    rule = {"gitOrigin": "git@github.com:acme/app.git", "trackerIntake": {"enabled": True, "assignee": "none"}}
    assert api(request("PUT", "/projects/demo/config", body=rule)).status == 200
    # WHEN the project is previewed with an empty body
    answer = preview(api)
    # THEN the stored rule applied: every unassigned issue but the excluded one
    assert answer.status == 200 and len(answer.body["eligible"]) == 3


def test_a_paused_credential_is_not_used_and_says_when_to_retry(api: Api, github: FakeGitHub) -> None:
    # GIVEN the credential paused by GitHub's secondary limit
    store = DynamoStore(api.aws["table_name"], client=api.aws["dynamodb"])
    store.record_budget(TokenBudget(token_key(TOKEN), 4000, datetime.now(UTC) + timedelta(hours=1)))
    store.pause(token_key(TOKEN), datetime.now(UTC) + timedelta(seconds=90))
    # WHEN a preview is asked for
    answer = preview(api, {"trackerIntake": {"labels": ["agent"]}})
    # THEN 429 with Retry-After, and GitHub was not asked
    assert answer.status == 429, answer.body
    assert 1 <= int(answer.headers["Retry-After"]) <= 90
    assert github.requests_for("acme/app") == []


def test_a_minute_taken_by_polls_refuses_the_preview(api: Api, github: FakeGitHub) -> None:
    # GIVEN the dispatcher granted all but 2 of this minute's requests (a preview may need 3)
    store = DynamoStore(api.aws["table_name"], client=api.aws["dynamodb"])
    store.save_pace(Pace(token_key(TOKEN), (Grant(datetime.now(UTC), BUDGET - 2),), None, 1))
    # WHEN a preview is asked for THEN 429, and GitHub was not asked
    answer = preview(api, {"trackerIntake": {"labels": ["agent"]}})
    assert answer.status == 429 and "taken by polls" in answer.body["message"]
    assert 1 <= int(answer.headers["Retry-After"]) <= 60
    assert github.requests_for("acme/app") == []


def test_a_repository_github_does_not_know_is_named(api: Api) -> None:
    # WHEN a draft names a repository the credential cannot see
    answer = preview(api, {"trackerIntake": {"repo": "acme/gone", "labels": ["agent"]}})
    # THEN 422 naming the field
    assert answer.status == 422 and answer.body["errors"][0]["field"] == "trackerIntake.repo"


def test_a_github_failure_is_a_502_that_says_so(api: Api, github: FakeGitHub) -> None:
    github.inject("server_error", repo="acme/app")
    answer = preview(api, {"trackerIntake": {"labels": ["agent"]}})
    assert answer.status == 502 and "GitHub" in answer.body["message"]


def test_an_invalid_draft_is_refused_before_github_is_asked(api: Api, github: FakeGitHub) -> None:
    answer = preview(api, {"trackerIntake": {"labels": ["a,b"]}})
    assert answer.status == 422 and answer.body["errors"][0]["field"].startswith("trackerIntake.labels")
    assert github.requests_for("acme/app") == []


def test_an_unknown_project_is_404(api: Api) -> None:
    answer = api(request("POST", "/projects/nope/preview", body={}))
    assert answer.status == 404


def test_without_a_github_the_api_says_previews_are_unavailable(aws: dict[str, Any]) -> None:
    # GIVEN an API with no GitHub configured
    api = Api(aws)
    api.module.use(
        build_api_context(ApiSettings.model_validate({"TABLE_NAME": aws["table_name"]}), dynamodb=aws["dynamodb"])
    )
    api(request("POST", "/projects", body={"id": "demo", "gitOrigin": "git@github.com:acme/app.git"}))
    # WHEN a preview is asked for THEN 501 with a sentence
    answer = preview(api, {"trackerIntake": {"labels": ["agent"]}})
    assert answer.status == 501 and "GitHub" in answer.body["message"]


def test_a_derived_repository_github_does_not_know_names_the_git_origin(api: Api) -> None:
    # GIVEN a project whose repository comes from its gitOrigin, pointing at an unknown repository
    rule = {"gitOrigin": "git@github.com:acme/gone.git", "trackerIntake": {"enabled": True, "labels": ["agent"]}}
    assert api(request("PUT", "/projects/demo/config", body=rule)).status == 200
    # WHEN its stored rule is previewed, with no body at all
    answer = api(request("POST", "/projects/demo/preview"))
    # THEN 422 names gitOrigin, where the repository came from
    assert answer.status == 422 and answer.body["errors"][0]["field"] == "gitOrigin"


def test_an_unreadable_token_secret_is_a_503_that_names_no_secret(aws: dict[str, Any], github: FakeGitHub) -> None:
    # GIVEN an API whose token secret does not exist
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:tracker-intake/missing-AbCdEf"
    api = Api(aws)
    settings = ApiSettings.model_validate(
        {"TABLE_NAME": aws["table_name"], "GITHUB_API_URL": github.base_url, "GITHUB_TOKEN_SECRET_ARN": arn}
    )
    api.module.use(build_api_context(settings, dynamodb=aws["dynamodb"]))
    api(request("POST", "/projects", body={"id": "demo", "gitOrigin": "git@github.com:acme/app.git"}))
    # WHEN a preview is asked for
    answer = preview(api, {"trackerIntake": {"labels": ["agent"]}})
    # THEN 503 with a sentence and Retry-After; the secret's name is not in the answer; GitHub untouched
    assert answer.status == 503 and "Retry-After" in answer.headers
    assert "missing" not in answer.text and arn not in answer.text
    assert github.requests_for("acme/app") == []


# --- who wrote it, and what saving would start -----------------------------------------------


def test_a_strangers_labelled_issue_is_skipped_as_an_untrusted_author_naming_them(api: Api) -> None:
    # GIVEN an issue labelled `agent` by an author with no association to the repository
    # WHEN the rule on `agent` is previewed
    answer = preview(api, {"trackerIntake": {"enabled": True, "labels": ["agent"]}})
    # THEN it is skipped as an untrusted author, and the answer says who and how they relate
    (skipped,) = [i for i in answer.body["skipped"] if i["title"] == "a stranger's"]
    assert (skipped["reason"], skipped["author"], skipped["authorAssociation"]) == (
        "untrusted author",
        "drive-by",
        "NONE",
    )
    # AND widening the rule to NONE, explicitly, takes it
    wide = preview(api, {"trackerIntake": {"labels": ["agent"], "authors": ["COLLABORATOR", "NONE"]}})
    assert "a stranger's" in [i["title"] for i in wide.body["eligible"]]


def test_switching_on_with_new_would_start_nothing_and_all_would_start_each_eligible_issue(api: Api) -> None:
    # GIVEN a project with intake off, and two eligible issues
    # WHEN a rule is previewed with `backlog: new`, then with `backlog: all`
    new = preview(api, {"trackerIntake": {"enabled": True, "labels": ["agent"], "backlog": "new"}})
    every = preview(api, {"trackerIntake": {"enabled": True, "labels": ["agent"], "backlog": "all"}})
    # THEN with `new` saving starts none of them, with `all` both; each says what `all` would start
    assert (new.body["wouldStart"], new.body["wouldStartWithAll"]) == (0, 2)
    assert (every.body["wouldStart"], every.body["wouldStartWithAll"]) == (2, 2)
    assert [i["claim"] for i in new.body["eligible"]] == [None, None]


def test_a_recorded_backlog_shows_in_the_preview_and_what_switching_to_all_would_start(api: Api) -> None:
    # GIVEN a running `new` project whose two eligible issues were recorded as backlog
    rule = {"gitOrigin": "git@github.com:acme/app.git", "trackerIntake": {"enabled": True, "labels": ["agent"]}}
    assert api(request("PUT", "/projects/demo/config", body=rule)).status == 200
    for number in (1, 2):
        api.store.put_claim(claim(number=number, status=ClaimStatus.BACKLOG))
    api.store.end_backlog("demo", api.store.get_project("demo").backlog_since)  # type: ignore[arg-type]
    before = api.scan()
    # WHEN the stored rule is previewed, and then a draft switching to `all`
    stored = preview(api)
    switched = preview(api, {"trackerIntake": {"enabled": True, "labels": ["agent"], "backlog": "all"}})
    # THEN the issues show as backlog; keeping `new` starts none, `all` would start both
    assert [i["claim"] for i in stored.body["eligible"]] == ["backlog", "backlog"]
    assert (stored.body["wouldStart"], stored.body["wouldStartWithAll"]) == (0, 2)
    assert switched.body["wouldStart"] == 2
    # AND nothing but the credential's minute was written
    assert [i for i in api.scan() if not i["sk"]["S"].startswith("PACE")] == [
        i for i in before if not i["sk"]["S"].startswith("PACE")
    ]


def test_an_issue_with_a_session_would_start_nothing_either_way(api: Api) -> None:
    # GIVEN one eligible issue already launched
    api.store.put_claim(claim(number=2, status=ClaimStatus.LAUNCHED))
    # WHEN a rule is previewed with `backlog: all`
    answer = preview(api, {"trackerIntake": {"enabled": True, "labels": ["agent"], "backlog": "all"}})
    # THEN only the other issue would start; the launched one shows its claim
    assert answer.body["wouldStartWithAll"] == 1
    assert {i["number"]: i["claim"] for i in answer.body["eligible"]} == {2: "launched", 1: None}


def test_an_issue_another_project_holds_names_that_project_and_is_counted(api: Api) -> None:
    # GIVEN issue 2 launched by project widgets (same repository), issue 1 launched by demo itself
    api.store.put_claim(claim(project_id="widgets", number=2, status=ClaimStatus.LAUNCHED))
    api.store.put_claim(claim(number=1, status=ClaimStatus.LAUNCHED))
    # WHEN demo's rule is previewed
    answer = preview(api, {"trackerIntake": {"enabled": True, "labels": ["agent"], "backlog": "all"}})
    # THEN issue 2 says widgets holds it, issue 1 names no other project; one is held elsewhere
    assert answer.status == 200, answer.body
    held = {i["number"]: (i["claim"], i["claimProject"]) for i in answer.body["eligible"]}
    assert held == {2: ("launched", "widgets"), 1: ("launched", None)}
    assert (answer.body["heldElsewhere"], answer.body["wouldStartWithAll"]) == (1, 0)


def test_a_claim_another_project_released_holds_nothing(api: Api) -> None:
    # GIVEN issue 2's claim, released by project widgets
    api.store.put_claim(claim(project_id="widgets", number=2, status=ClaimStatus.RELEASED))
    # WHEN demo's rule is previewed
    answer = preview(api, {"trackerIntake": {"enabled": True, "labels": ["agent"], "backlog": "all"}})
    # THEN no project holds it: demo would start it, as the unclaimed issue 1
    assert {i["number"]: i["claimProject"] for i in answer.body["eligible"]} == {2: None, 1: None}
    assert (answer.body["heldElsewhere"], answer.body["wouldStartWithAll"]) == (0, 2)


def test_another_projects_backlog_record_holds_nothing_this_project_would_start_it(api: Api) -> None:
    # GIVEN issue 2 recorded as backlog by project widgets (its switch-on under `new`): no session
    api.store.put_claim(claim(project_id="widgets", number=2, status=ClaimStatus.BACKLOG))
    # WHEN demo's rule is previewed under `all`, whose polls take such a record over
    answer = preview(api, {"trackerIntake": {"enabled": True, "labels": ["agent"], "backlog": "all"}})
    # THEN no project is said to hold it, and demo would start it
    assert {i["number"]: i["claimProject"] for i in answer.body["eligible"]} == {2: None, 1: None}
    assert (answer.body["heldElsewhere"], answer.body["wouldStartWithAll"]) == (0, 2)


def test_a_new_projects_preview_names_the_project_holding_an_issue(api: Api) -> None:
    # GIVEN issue 2 launched by demo
    api.store.put_claim(claim(number=2, status=ClaimStatus.LAUNCHED))
    # WHEN a project not created yet previews a rule on the same repository
    body = {"gitOrigin": "git@github.com:acme/app.git", "trackerIntake": {"enabled": True, "labels": ["agent"]}}
    answer = api(request("POST", "/preview", body=body))
    # THEN issue 2 is held by demo
    assert {i["number"]: i["claimProject"] for i in answer.body["eligible"]} == {2: "demo", 1: None}
    assert answer.body["heldElsewhere"] == 1


def test_a_new_projects_rule_is_previewed_before_it_exists(api: Api, github: FakeGitHub) -> None:
    # GIVEN no project `fresh`
    before = [i for i in api.scan() if not i["sk"]["S"].startswith("PACE")]
    # WHEN its rule is previewed from the create sheet, with the git origin it will have
    body = {"gitOrigin": "git@github.com:acme/app.git", "trackerIntake": {"enabled": True, "labels": ["agent"]}}
    answer = api(request("POST", "/preview", body=body))
    # THEN the issues are listed with what switching on would start (`new`: none; `all`: two)
    assert answer.status == 200, answer.body
    assert [i["title"] for i in answer.body["eligible"]] == ["oldest agent issue", "newest agent issue"]
    assert (answer.body["wouldStart"], answer.body["wouldStartWithAll"]) == (0, 2)
    # AND no project was created, and nothing else written
    assert [i for i in api.scan() if not i["sk"]["S"].startswith("PACE")] == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"gitOrigin": "git@github.com:acme/app.git"}, "trackerIntake"),
        ({"trackerIntake": {"labels": ["agent"]}}, "trackerIntake.repo"),
        ({"trackerIntake": {"repo": "acme/app", "authors": ["STAFF"]}}, "trackerIntake.authors.0"),
        ({"trackerIntake": {"repo": "acme/app", "backlog": "old"}}, "trackerIntake.backlog"),
        ({"id": "fresh", "trackerIntake": {"repo": "acme/app"}}, "id"),
    ],
    ids=["no rule", "no repository", "unknown association", "unknown backlog", "an id"],
)
def test_a_bad_new_project_preview_names_the_field_and_writes_nothing(
    api: Api, github: FakeGitHub, body: dict[str, Any], field: str
) -> None:
    # GIVEN the table as it is
    before = api.scan()
    # WHEN a bad preview is asked for
    answer = api(request("POST", "/preview", body=body))
    # THEN 422 names the field; GitHub was not asked and nothing was written
    assert answer.status == 422, answer.body
    assert field in [e["field"] for e in answer.body["errors"]]
    assert github.requests_for("acme/app") == [] and api.scan() == before


# --- a member's issue, as the poll will see it ------------------------------------------------------


def _member_issue(github: FakeGitHub, login: str, title: str, role: str | None) -> None:
    repo = github.repo("acme/app")
    if role is not None:
        repo.set_permission(login, role)
    repo.add_issue(title, labels=["agent"], user=login, author_association="MEMBER")


def _kept(api: Api) -> list[str]:
    return [i["sk"]["S"] for i in api.scan() if i["sk"]["S"].startswith("PERMISSION#")]


def test_a_read_only_members_issue_is_skipped_as_a_member_without_write_access_naming_them(
    api: Api, github: FakeGitHub
) -> None:
    # GIVEN labelled issues by a read-only member and by a member who maintains the repository
    _member_issue(github, "reader", "a reader's", "read")
    _member_issue(github, "keeper", "a maintainer's", "maintain")
    # WHEN the project's rule is previewed
    answer = preview(api, {"trackerIntake": {"enabled": True, "labels": ["agent"]}})
    # THEN the maintainer's is taken, the reader's skipped with the reason, who, and how they relate
    assert answer.status == 200, answer.body
    assert "a maintainer's" in [i["title"] for i in answer.body["eligible"]]
    (skipped,) = [i for i in answer.body["skipped"] if i["title"] == "a reader's"]
    assert (skipped["reason"], skipped["author"], skipped["authorAssociation"]) == (
        "member without write access",
        "reader",
        "MEMBER",
    )
    # AND it asked the page and each member's permission once, and kept both answers for the polls
    assert answer.body["requests"] == 3 and len(github.permission_requests("acme/app")) == 2
    assert _kept(api) == ["PERMISSION#acme/app#keeper", "PERMISSION#acme/app#reader"]


def test_a_preview_that_cannot_check_a_member_says_so_instead_of_guessing(api: Api, github: FakeGitHub) -> None:
    # GIVEN three members' issues, and a preview that reserves 3 requests (the page cap)
    for login in ("ana", "bo", "cy"):
        _member_issue(github, login, f"{login}'s", "write")
    # WHEN the rule is previewed
    answer = preview(api, {"trackerIntake": {"enabled": True, "labels": ["agent"]}})
    # THEN the page and two members were asked; the third member's issue says it was not checked
    assert answer.body["requests"] == 3
    (unchecked,) = [i for i in answer.body["skipped"] if i["title"] == "cy's"]
    assert (
        unchecked["reason"] == "member: write access not checked: the 3 GitHub requests this preview reserved are spent"
    )
    assert "cy's" not in [i["title"] for i in answer.body["eligible"]]
    assert answer.body["wouldStartWithAll"] == 4  # the two agent issues and two members' (not cy's)


def test_a_credential_github_refuses_the_question_is_named_in_the_reason(api: Api, github: FakeGitHub) -> None:
    # GIVEN a member's issue, and the deployment's token refused the question (its account cannot push)
    _member_issue(github, "ana", "ana's", "write")
    github.set_read_only(TOKEN)
    # WHEN previewed THEN the issue is not taken, and the reason says what the credential lacks
    answer = preview(api, {"trackerIntake": {"enabled": True, "labels": ["agent"]}})
    (unchecked,) = [i for i in answer.body["skipped"] if i["title"] == "ana's"]
    assert unchecked["reason"].startswith("member: write access not checked: GitHub refused to say whether ana")
    assert "Metadata: read" in unchecked["reason"]


def test_a_new_projects_preview_checks_members_but_keeps_nothing(api: Api, github: FakeGitHub) -> None:
    # GIVEN a read-only member's issue, and no project `fresh`
    _member_issue(github, "reader", "a reader's", "read")
    # WHEN the create sheet previews its rule
    body = {"gitOrigin": "git@github.com:acme/app.git", "trackerIntake": {"enabled": True, "labels": ["agent"]}}
    answer = api(request("POST", "/preview", body=body))
    # THEN the issue is skipped for its author, and no answer was kept (there is no project to keep it for)
    assert {i["title"]: i["reason"] for i in answer.body["skipped"]}["a reader's"] == "member without write access"
    assert _kept(api) == []
