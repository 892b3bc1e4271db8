"""The Linear stand-in itself behaves as Linear documents it (the Linear adapter's tests lean on it).

Every request goes to the stand-in on 127.0.0.1 with `requests`; its clock is the test's.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from graphql import OperationDefinitionNode, build_schema, parse

from intake_dev.fake_linear import BotActor, FakeLinear, IssueSnapshot, iso_ms
from intake_dev.fake_linear.complexity import complexity

START = 1_767_603_600.0  # 2026-01-05T09:00:00Z
KEY = "lin_api_test_key"
ANA = "ana@acme.test"
SYNC = """
query IntakeIssues($filter: IssueFilter, $first: Int, $after: String) {
  organization { urlKey }
  issues(filter: $filter, first: $first, after: $after, orderBy: updatedAt) {
    nodes {
      id identifier title description url createdAt updatedAt
      state { type }
      team { key }
      labels(first: 50) { nodes { name } }
      assignee { email }
      creator { id name email admin guest active app }
      botActor { type name }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""
OPEN = ["triage", "backlog", "unstarted", "started"]


@pytest.fixture
def linear() -> Iterator[FakeLinear]:
    """A workspace with team ENG, a member Ana and her API key, on a clock that moves only when told."""
    with FakeLinear(clock=lambda: START) as fake:
        fake.add_team("ENG")
        fake.add_team("OPS")
        fake.add_user(ANA, "Ana")
        fake.add_api_key(KEY, user=ANA)
        yield fake


def _post(linear: FakeLinear, query: str, variables: Any = None, auth: str | None = KEY) -> requests.Response:
    headers = {"Authorization": auth} if auth is not None else {}
    return requests.post(linear.url, json={"query": query, "variables": variables}, headers=headers, timeout=5)


def _data(response: requests.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def _sync(linear: FakeLinear, flt: Any = None, first: int | None = None, after: str | None = None) -> Any:
    return _data(_post(linear, SYNC, {"filter": flt, "first": first, "after": after}))["issues"]


def _identifiers(page: Any) -> list[str]:
    return [node["identifier"] for node in page["nodes"]]


def _issue(linear: FakeLinear, title: str, **kwargs: Any) -> IssueSnapshot:
    """An issue in ENG, a second after the one before it."""
    linear.advance(1)
    return linear.add_issue("ENG", title, **kwargs)


# --- the sync query ---------------------------------------------------------------------------


def test_the_sync_query_answers_in_the_documented_shape(linear: FakeLinear) -> None:
    # GIVEN an issue with a label, an assignee and a creator
    issue = _issue(linear, "Crash on start", labels=["agent"], assignee=ANA, creator=ANA, description="boom")
    # WHEN the adapter's sync query asks for it
    data = _data(_post(linear, SYNC, {"first": 50}))
    # THEN every field is there, as Linear renders it
    assert data["organization"] == {"urlKey": "acme"}
    (node,) = data["issues"]["nodes"]
    assert node["id"] == issue.id
    assert node["identifier"] == "ENG-1"
    assert node["url"] == "https://linear.app/acme/issue/ENG-1/crash-on-start"
    assert node["createdAt"] == node["updatedAt"] == "2026-01-05T09:00:01.000Z"
    assert node["state"] == {"type": "unstarted"}
    assert node["team"] == {"key": "ENG"}
    assert node["labels"] == {"nodes": [{"name": "agent"}]}
    assert node["assignee"] == {"email": ANA}
    assert node["creator"] == {
        "id": linear.user_by_email(ANA).id,  # type: ignore[union-attr]
        "name": "Ana",
        "email": ANA,
        "admin": False,
        "guest": False,
        "active": True,
        "app": False,
    }
    assert node["botActor"] is None
    assert data["issues"]["pageInfo"] == {"hasNextPage": False, "endCursor": issue.id}


def test_the_credential_check_answers_the_viewer_and_the_organization(linear: FakeLinear) -> None:
    # GIVEN Ana's API key / WHEN the viewer is asked for
    data = _data(_post(linear, "query { viewer { id email organization { urlKey name } } }"))
    # THEN it is Ana, in workspace acme
    assert data["viewer"]["email"] == ANA
    assert data["viewer"]["organization"] == {"urlKey": "acme", "name": "Acme"}


def test_a_field_the_schema_lacks_is_a_validation_error(linear: FakeLinear) -> None:
    # WHEN a filter names a field the stand-in's schema does not declare
    response = _post(linear, "{ issues(filter: {priority: {eq: 1}}) { nodes { id } } }")
    # THEN it is refused before it runs, as a GraphQL server refuses an invalid document
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "priority" in error["message"]


def test_app_users_guests_and_bots_are_told_apart_as_linear_marks_them(linear: FakeLinear) -> None:
    # GIVEN issues by a guest, by an app user and by an integration (a bot actor, no creator)
    linear.add_user("guest@else.test", "Guest", guest=True)
    linear.add_user("bot@app.test", "Agent", app=True)
    _issue(linear, "by a guest", creator="guest@else.test")
    _issue(linear, "by an app", creator="bot@app.test")
    _issue(linear, "from Slack", bot_actor=BotActor("slack", "Slack"))
    # WHEN the sync query reads them
    nodes = _sync(linear)["nodes"]
    # THEN User.guest, User.app and Issue.botActor say so
    by_title = {n["title"]: n for n in nodes}
    assert by_title["by a guest"]["creator"]["guest"] is True
    assert by_title["by an app"]["creator"]["app"] is True
    assert by_title["from Slack"]["creator"] is None
    assert by_title["from Slack"]["botActor"] == {"type": "slack", "name": "Slack"}


# --- filters ----------------------------------------------------------------------------------


def test_filters_select_by_team_state_assignee_and_labels(linear: FakeLinear) -> None:
    # GIVEN issues that differ in one way each from the one that matches
    _issue(linear, "match", labels=["agent", "bug"], assignee=ANA)
    _issue(linear, "no agent label", labels=["bug"], assignee=ANA)
    _issue(linear, "done", labels=["agent"], assignee=ANA, state_type="completed")
    _issue(linear, "unassigned", labels=["agent"])
    linear.advance(1)
    linear.add_issue("OPS", "other team", labels=["agent"], assignee=ANA)
    # WHEN the adapter's filter asks for ENG's open issues assigned to Ana with the agent label
    flt = {
        "team": {"key": {"eq": "ENG"}},
        "state": {"type": {"in": OPEN}},
        "assignee": {"email": {"eqIgnoreCase": "ANA@acme.test"}},
        "and": [{"labels": {"some": {"name": {"eqIgnoreCase": "Agent"}}}}],
    }
    # THEN only the match comes back
    assert _identifiers(_sync(linear, flt)) == ["ENG-1"]


def test_assignee_null_selects_unassigned_or_assigned_issues(linear: FakeLinear) -> None:
    # GIVEN one assigned and one unassigned issue
    _issue(linear, "assigned", assignee=ANA)
    _issue(linear, "unassigned")
    # WHEN filtered with assignee null true, then false
    # THEN each gets the other
    assert _identifiers(_sync(linear, {"assignee": {"null": True}})) == ["ENG-2"]
    assert _identifiers(_sync(linear, {"assignee": {"null": False}})) == ["ENG-1"]


def test_every_label_not_in_a_list_excludes_issues_with_any_of_them(linear: FakeLinear) -> None:
    # GIVEN issues with an excluded label, with other labels, and with none
    _issue(linear, "blocked", labels=["agent", "wontfix"])
    _issue(linear, "fine", labels=["agent"])
    _issue(linear, "bare")
    # WHEN filtered with labels.every.name.nin
    flt = {"labels": {"every": {"name": {"nin": ["wontfix", "duplicate"]}}}}
    # THEN an issue with an excluded label is out; one without labels is in (every over none)
    assert _identifiers(_sync(linear, flt)) == ["ENG-3", "ENG-2"]


def test_updated_at_gt_and_or_combine_as_documented(linear: FakeLinear) -> None:
    # GIVEN three issues a second apart
    first = _issue(linear, "one")
    _issue(linear, "two", labels=["bug"])
    _issue(linear, "three")
    # WHEN filtered on updatedAt after the first, and with an `or`
    after_first = _sync(linear, {"updatedAt": {"gt": first.updated_at}})
    either = _sync(linear, {"or": [{"title": {"eq": "one"}}, {"labels": {"name": {"eq": "bug"}}}]})
    # THEN gt is strict, and or takes either side
    assert _identifiers(after_first) == ["ENG-3", "ENG-2"]
    assert _identifiers(either) == ["ENG-2", "ENG-1"]


def test_a_relative_duration_is_a_date_from_now(linear: FakeLinear) -> None:
    # GIVEN an issue updated two days ago and one just now
    linear.add_issue("ENG", "old", at=int((START - 2 * 86400) * 1000))
    _issue(linear, "new")
    # WHEN filtered on updatedAt after one day ago (-P1D)
    # THEN only the new one
    assert _identifiers(_sync(linear, {"updatedAt": {"gt": "-P1D"}})) == ["ENG-2"]


# --- pages and order --------------------------------------------------------------------------


def test_order_by_updated_at_is_most_recently_updated_first(linear: FakeLinear) -> None:
    # GIVEN three issues, the first of them updated last
    one = _issue(linear, "one")
    _issue(linear, "two")
    _issue(linear, "three")
    linear.advance(1)
    linear.update_issue(one.id, title="one, edited")
    # WHEN listed with orderBy: updatedAt
    # THEN newest first: the edited one, then three, then two
    assert _identifiers(_sync(linear)) == ["ENG-1", "ENG-3", "ENG-2"]


def test_cursor_pages_walk_every_issue_once(linear: FakeLinear) -> None:
    # GIVEN five issues
    for n in range(5):
        _issue(linear, f"issue {n}")
    # WHEN read two at a time, following endCursor while hasNextPage
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = _sync(linear, first=2, after=after)
        seen += _identifiers(page)
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # THEN three pages, every issue once, newest first
    assert pages == 3
    assert seen == ["ENG-5", "ENG-4", "ENG-3", "ENG-2", "ENG-1"]


def test_first_defaults_to_50_and_above_250_is_refused(linear: FakeLinear) -> None:
    # GIVEN 51 issues
    for n in range(51):
        linear.add_issue("ENG", f"issue {n}", at=int(START * 1000) + n)
    # WHEN listed without first, then with first 251
    default = _sync(linear)
    too_many = _post(linear, "{ issues(first: 251) { nodes { id } } }")
    # THEN 50 and a next page; then an error
    assert len(default["nodes"]) == 50
    assert default["pageInfo"]["hasNextPage"] is True
    assert too_many.json()["errors"][0]["message"] == "first must be between 0 and 250"


def test_archived_issues_are_left_out_unless_included(linear: FakeLinear) -> None:
    # GIVEN an archived issue and an open one
    gone = _issue(linear, "archived")
    _issue(linear, "open")
    linear.archive_issue(gone.id)
    query = "query($a: Boolean) { issues(includeArchived: $a) { nodes { identifier archivedAt } } }"
    # WHEN listed by default, then with includeArchived
    default = _data(_post(linear, query, {"a": None}))["issues"]["nodes"]
    included = _data(_post(linear, query, {"a": True}))["issues"]["nodes"]
    # THEN only the second listing has it
    assert [n["identifier"] for n in default] == ["ENG-2"]
    assert {n["identifier"] for n in included} == {"ENG-1", "ENG-2"}


def test_a_team_move_gives_a_new_identifier_and_keeps_the_id(linear: FakeLinear) -> None:
    # GIVEN an issue in ENG
    issue = _issue(linear, "moving")
    # WHEN it moves to OPS
    linear.advance(1)
    moved = linear.move_issue(issue.id, "OPS")
    # THEN same id, identifier OPS-1, a new URL, updatedAt bumped, and the old identifier still finds it
    assert moved.id == issue.id
    assert moved.identifier == "OPS-1"
    assert moved.url == "https://linear.app/acme/issue/OPS-1/moving"
    assert moved.updated_at_ms > issue.updated_at_ms
    found = _data(_post(linear, '{ issue(id: "ENG-1") { id identifier team { key } } }'))["issue"]
    assert found == {"id": issue.id, "identifier": "OPS-1", "team": {"key": "OPS"}}


def test_an_issue_updated_in_the_watermarks_millisecond_is_not_after_it(linear: FakeLinear) -> None:
    # GIVEN two issues with exactly the same updatedAt, to the millisecond
    one = _issue(linear, "one")
    two = _issue(linear, "two")
    linear.set_updated_at(two.id, one.updated_at_ms)
    # WHEN filtered with gt and with gte on that moment
    gt = _sync(linear, {"updatedAt": {"gt": one.updated_at}})
    gte = _sync(linear, {"updatedAt": {"gte": one.updated_at}})
    # THEN gt misses both, gte has both, ordered by id within the millisecond
    assert gt["nodes"] == []
    assert {n["updatedAt"] for n in gte["nodes"]} == {iso_ms(one.updated_at_ms)}
    assert [n["id"] for n in gte["nodes"]] == sorted([one.id, two.id], reverse=True)


# --- rate limits ------------------------------------------------------------------------------


def test_every_answer_carries_the_budget_headers_and_they_go_down(linear: FakeLinear) -> None:
    # GIVEN a fresh budget
    _issue(linear, "one")
    # WHEN two sync queries are made
    first = _post(linear, SYNC, {"first": 10})
    second = _post(linear, SYNC, {"first": 10})
    # THEN the requests and complexity remaining fall by one request and the query's complexity
    for name in ("Requests", "Complexity"):
        assert first.headers[f"X-RateLimit-{name}-Limit"] == second.headers[f"X-RateLimit-{name}-Limit"]
    assert first.headers["X-RateLimit-Requests-Limit"] == "1500"
    assert first.headers["X-RateLimit-Complexity-Limit"] == "250000"
    assert int(first.headers["X-RateLimit-Requests-Remaining"]) == 1499
    assert int(second.headers["X-RateLimit-Requests-Remaining"]) == 1498
    cost = int(first.headers["X-Complexity"])
    assert int(second.headers["X-RateLimit-Complexity-Remaining"]) == 250_000 - 2 * cost
    # and the resets are epoch milliseconds, when the bucket is full again
    assert int(second.headers["X-RateLimit-Requests-Reset"]) == int(START * 1000) + 1000 + 2 * 2400


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('{ user(id: "me") { name } }', 2),
        ('{ user(id: "me") { createdIssues { nodes { id title createdAt } } } }', 66),
        ('{ user(id: "me") { createdIssues(first: 10) { nodes { id title createdAt } } } }', 14),
    ],
)
def test_complexity_is_counted_as_the_rate_limiting_pages_examples(query: str, expected: int) -> None:
    # GIVEN the page's own examples, on the part of Linear's schema they use
    example = build_schema(
        "type Query { user(id: String!): User! }"
        " type User { name: String! createdIssues(first: Int): IssueConnection! }"
        " type IssueConnection { nodes: [Issue!]! } type Issue { id: ID! title: String! createdAt: String! }"
    )
    document = parse(query)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    # WHEN counted / THEN the page's figures: 2, 66, 14
    assert complexity(example, operation, {}, {}) == expected


@pytest.mark.parametrize(("first", "expected"), [(None, 65), (10, 13)])
def test_the_complexity_header_counts_the_query(linear: FakeLinear, first: int | None, expected: int) -> None:
    # GIVEN a listing of 3 properties per issue: (1 + 0.3) per node, `first` nodes (default 50)
    query = "query($f: Int) { issues(first: $f) { nodes { id title createdAt } } }"
    # WHEN asked / THEN X-Complexity says so
    assert _post(linear, query, {"f": first}).headers["X-Complexity"] == str(expected)


def test_a_spent_budget_answers_ratelimited(linear: FakeLinear) -> None:
    # GIVEN a stand-in whose key may make 2 requests an hour
    with FakeLinear(clock=lambda: START, requests_limit=2) as small:
        small.add_api_key(KEY)
        query = "{ viewer { id } }"
        assert [_post(small, query).status_code for _ in range(2)] == [200, 200]
        # WHEN a third is made
        refused = _post(small, query)
        # THEN it is refused with RATELIMITED (HTTP 400), the headers saying nothing is left
        assert refused.status_code == 400
        (error,) = refused.json()["errors"]
        assert error["extensions"]["code"] == "RATELIMITED"
        assert refused.headers["X-RateLimit-Requests-Remaining"] == "0"
        assert small.requests[-1].rate_limited is True
        # AND the bucket refills at the limit over the hour: one request after half an hour
        small.advance(1800)
        assert _post(small, query).status_code == 200
        assert _post(small, query).status_code == 400


def test_a_query_dearer_than_the_complexity_left_is_refused(linear: FakeLinear) -> None:
    # GIVEN a budget of 100 points
    with FakeLinear(clock=lambda: START, complexity_limit=100) as small:
        small.add_api_key(KEY)
        # WHEN a 66-point query runs twice
        first, second = _post(small, SYNC, {"first": 1}), _post(small, SYNC, {"first": 1})
        # THEN the second is refused and nothing was spent on it
        assert first.status_code == 200
        assert second.json()["errors"][0]["extensions"]["code"] == "RATELIMITED"
        assert second.headers["X-RateLimit-Complexity-Remaining"] == str(100 - int(first.headers["X-Complexity"]))


def test_a_query_over_the_maximum_complexity_is_always_refused(linear: FakeLinear) -> None:
    # WHEN the sync query asks for 250 issues (about 16,000 points, over 10,000)
    response = _post(linear, SYNC, {"first": 250})
    # THEN it is refused, whatever the budget
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert int(response.headers["X-Complexity"]) > 10_000
    assert "too complex" in error["message"]


def test_the_request_log_tells_a_pacing_test_what_each_request_spent(linear: FakeLinear) -> None:
    # GIVEN two named queries
    _post(linear, SYNC, {"first": 5})
    _post(linear, "query Who { viewer { id } }")
    # WHEN the log is read
    sync, who = linear.requests_for(KEY)
    # THEN it names the operation, its root fields, its complexity and the budget, never the key
    assert (sync.operation_name, sync.root_fields) == ("IntakeIssues", ("organization", "issues"))
    assert (who.operation_name, who.root_fields, who.complexity) == ("Who", ("viewer",), 2)
    assert sync.credential is not None and KEY not in sync.credential
    assert sync.header("authorization") == "<redacted>"
    assert sync.response_headers["X-Complexity"] == str(sync.complexity)
    assert sync.at == START


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize("auth", [None, "lin_api_wrong", f"Bearer {KEY}"])
def test_a_bad_or_missing_credential_is_refused_without_spending(linear: FakeLinear, auth: str | None) -> None:
    # WHEN a request comes with no key, an unknown key, or an API key sent as a Bearer token
    response = _post(linear, "{ viewer { id } }", auth=auth)
    # THEN Linear's authentication error, and no budget headers
    assert response.status_code == 401
    (error,) = response.json()["errors"]
    assert error["message"] == "Authentication required, not authenticated"
    assert error["extensions"]["code"] == "AUTHENTICATION_ERROR"
    assert "X-RateLimit-Requests-Remaining" not in response.headers
    assert linear.remaining(KEY) == (1500, 250_000)


def test_two_keys_of_one_user_share_one_budget(linear: FakeLinear) -> None:
    # GIVEN a second key of Ana's
    linear.add_api_key("lin_api_second", user=ANA)
    # WHEN each key makes a request
    _post(linear, "{ viewer { id } }")
    second = _post(linear, "{ viewer { id } }", auth="lin_api_second")
    # THEN both spent the same budget
    assert second.headers["X-RateLimit-Requests-Remaining"] == "1498"


def _refresh(linear: FakeLinear, refresh_token: str, basic: bool = False) -> requests.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    headers = {}
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(b"app-1:s3cret").decode()
    else:
        form |= {"client_id": "app-1", "client_secret": "s3cret"}
    return requests.post(linear.token_url, data=form, headers=headers, timeout=5)


def test_an_oauth_refresh_rotates_the_refresh_token(linear: FakeLinear) -> None:
    # GIVEN an OAuth app authorized by Ana
    tokens = linear.add_oauth_app("app-1", "s3cret", user=ANA)
    assert _post(linear, "{ viewer { email } }", auth=f"Bearer {tokens.access_token}").status_code == 200
    # WHEN its refresh token is exchanged (form-encoded), then exchanged again
    fresh = _refresh(linear, tokens.refresh_token)
    again = _refresh(linear, tokens.refresh_token)
    # THEN a new pair for 24 hours, Bearer, "read write"; the old refresh token is spent
    assert fresh.status_code == 200
    body = fresh.json()
    assert set(body) == {"access_token", "refresh_token", "expires_in", "token_type", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 86399, "read write")
    assert body["refresh_token"] != tokens.refresh_token
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    # AND the new access token works, with the OAuth budget (1,200 an hour)
    response = _post(linear, "{ viewer { email } }", auth=f"Bearer {body['access_token']}")
    assert _data(response)["viewer"]["email"] == ANA
    assert response.headers["X-RateLimit-Requests-Limit"] == "1200"
    # AND the client may authenticate with HTTP Basic instead
    assert _refresh(linear, body["refresh_token"], basic=True).status_code == 200


def test_an_expired_access_token_is_refused(linear: FakeLinear) -> None:
    # GIVEN an access token 24 hours old
    tokens = linear.add_oauth_app("app-1", "s3cret", user=ANA)
    linear.advance(86_400)
    # WHEN used / THEN refused as an unauthenticated request
    assert _post(linear, "{ viewer { id } }", auth=f"Bearer {tokens.access_token}").status_code == 401


def test_an_app_actor_token_acts_as_its_app_user(linear: FakeLinear) -> None:
    # GIVEN an OAuth app installed with actor=app
    tokens = linear.add_oauth_app("app-1", "s3cret", actor="app")
    # WHEN it asks who it is
    viewer = _data(_post(linear, "{ viewer { name app } }", auth=f"Bearer {tokens.access_token}"))["viewer"]
    # THEN its app user
    assert viewer == {"name": "app-1", "app": True}


# --- writes -----------------------------------------------------------------------------------


def test_a_comment_is_created_and_bumps_the_issue(linear: FakeLinear) -> None:
    # GIVEN an issue
    issue = _issue(linear, "Crash on start")
    linear.advance(5)
    # WHEN a comment is created on it
    data = _data(
        _post(
            linear,
            "mutation($i: String!, $b: String!) { commentCreate(input: {issueId: $i, body: $b})"
            " { success comment { id url body } } }",
            {"i": issue.id, "b": "On it."},
        )
    )["commentCreate"]
    # THEN success, a comment URL on the issue's page, and the issue's updatedAt moved
    assert data["success"] is True
    assert data["comment"]["body"] == "On it."
    assert data["comment"]["url"].startswith(issue.url + "#comment-")
    assert linear.snapshot(issue.id).updated_at_ms == issue.updated_at_ms + 5000
    # AND the comments since a moment are found on the issue
    query = "query($i: String!, $t: DateTimeOrDuration) { issue(id: $i)"
    query += " { comments(filter: {updatedAt: {gte: $t}}) { nodes { body url updatedAt } } } }"
    since = _data(_post(linear, query, {"i": issue.id, "t": issue.updated_at}))["issue"]["comments"]["nodes"]
    assert [c["body"] for c in since] == ["On it."]


def test_a_comment_on_an_unknown_issue_is_an_input_error(linear: FakeLinear) -> None:
    response = _post(linear, 'mutation { commentCreate(input: {issueId: "nope", body: "x"}) { success } }')
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "INPUT_ERROR"
    assert error["message"] == "Entity not found: Issue"


def test_a_reaction_is_created_without_bumping_the_issue(linear: FakeLinear) -> None:
    issue = _issue(linear, "Crash")
    linear.advance(5)
    query = 'mutation($i: String!) { reactionCreate(input: {issueId: $i, emoji: "eyes"}) { success reaction { id } } }'
    data = _data(_post(linear, query, {"i": issue.id}))["reactionCreate"]
    assert data["success"] is True and data["reaction"]["id"]
    assert [r.emoji for r in linear.issue_reactions(issue.id)] == ["eyes"]
    assert linear.snapshot(issue.id).updated_at_ms == issue.updated_at_ms


def test_a_label_is_found_created_and_added(linear: FakeLinear) -> None:
    # GIVEN an issue without labels
    issue = _issue(linear, "Crash")
    team_id = next(t.id for t in linear.teams.values() if t.key == "ENG")
    find = "query($n: String!) { issueLabels(filter: {name: {eqIgnoreCase: $n}}) { nodes { id name } } }"
    # WHEN the label is looked up (missing), created, looked up again, and added
    assert _data(_post(linear, find, {"n": "agent-working"}))["issueLabels"]["nodes"] == []
    create = "mutation($n: String!, $t: String) { issueLabelCreate(input: {name: $n, teamId: $t})"
    create += " { success issueLabel { id name } } }"
    created = _data(_post(linear, create, {"n": "Agent-Working", "t": team_id}))["issueLabelCreate"]
    found = _data(_post(linear, find, {"n": "agent-working"}))["issueLabels"]["nodes"]
    linear.advance(3)
    add = "mutation($i: String!, $l: String!) { issueAddLabel(id: $i, labelId: $l) { success } }"
    added = _data(_post(linear, add, {"i": issue.id, "l": created["issueLabel"]["id"]}))
    # THEN it exists once, the issue has it, and its updatedAt moved
    assert found == [created["issueLabel"]]
    assert added == {"issueAddLabel": {"success": True}}
    assert linear.snapshot(issue.id).labels == ("Agent-Working",)
    assert linear.snapshot(issue.id).updated_at_ms == issue.updated_at_ms + 3000
    # AND creating it again is an input error
    again = _post(linear, create, {"n": "agent-working", "t": team_id}).json()
    assert again["errors"][0]["extensions"]["code"] == "INPUT_ERROR"


# --- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_an_injected_server_error_answers_once_and_spends_nothing(linear: FakeLinear, status: int) -> None:
    # GIVEN one injected failure
    linear.fail_next(1, status=status)
    # WHEN two requests are made
    failed, ok = _post(linear, "{ viewer { id } }"), _post(linear, "{ viewer { id } }")
    # THEN the first fails with that status and no budget headers; the second spent the first request
    assert failed.status_code == status
    assert "X-RateLimit-Requests-Remaining" not in failed.headers
    assert ok.headers["X-RateLimit-Requests-Remaining"] == "1499"
    assert linear.requests[0].fault is True


def test_a_reset_connection_gives_no_answer(linear: FakeLinear) -> None:
    # GIVEN one reset injected
    linear.reset_next(1)
    # WHEN a request is made / THEN the client sees a connection error, and the log a status 0
    with pytest.raises(requests.ConnectionError):
        _post(linear, "{ viewer { id } }")
    assert linear.requests[-1].status == 0
    assert _post(linear, "{ viewer { id } }").status_code == 200


def test_a_label_of_another_team_cannot_be_added_and_labels_filter_by_team(linear: FakeLinear) -> None:
    # GIVEN an ENG issue, an OPS label and a workspace label of the same name elsewhere
    issue = _issue(linear, "Crash")
    ops = linear.add_label("agent-working", team="OPS")
    linear.add_label("triaged")
    add = "mutation($i: String!, $l: String!) { issueAddLabel(id: $i, labelId: $l) { success } }"
    # WHEN the OPS label is added to the ENG issue
    refused = _post(linear, add, {"i": issue.id, "l": ops.id}).json()
    # THEN it is refused; and labels can be narrowed to the issue's team or the workspace's
    assert refused["errors"][0]["extensions"]["code"] == "INPUT_ERROR"
    eng = next(t.id for t in linear.teams.values() if t.key == "ENG")
    find = (
        "query($t: ID) { issueLabels(filter: {or: [{team: {id: {eq: $t}}}, {team: {null: true}}]}) { nodes { name } } }"
    )
    assert _data(_post(linear, find, {"t": eng}))["issueLabels"]["nodes"] == [{"name": "triaged"}]


def test_an_input_field_the_stand_in_does_not_serve_is_an_error_not_ignored(linear: FakeLinear) -> None:
    # GIVEN an issue
    issue = _issue(linear, "Crash")
    # WHEN a comment is created as a reply (parentId: declared by Linear's schema, not served here)
    query = 'mutation($i: String!) { commentCreate(input: {issueId: $i, body: "x", parentId: "p"}) { success } }'
    response = _post(linear, query, {"i": issue.id}).json()
    # THEN a GraphQL error says so, and nothing was written
    assert response["errors"][0]["extensions"]["code"] == "STAND_IN_UNSUPPORTED"
    assert linear.issue_comments(issue.id) == []


def test_a_closed_issue_leaves_the_open_states_and_keeps_its_id(linear: FakeLinear) -> None:
    # GIVEN two open issues, one of them then canceled
    gone = _issue(linear, "gone")
    _issue(linear, "kept")
    linear.advance(1)
    closed = linear.close_issue(gone.id, "canceled")
    # WHEN the open states are asked for / THEN only the other; the canceled one is newest overall
    assert _identifiers(_sync(linear, {"state": {"type": {"in": OPEN}}})) == ["ENG-2"]
    assert _identifiers(_sync(linear)) == ["ENG-1", "ENG-2"]
    assert closed.state_type == "canceled"
