"""The Jira stand-in itself behaves as Atlassian documents Jira Cloud (the Jira adapter's tests lean on it).

Every request goes to the stand-in on 127.0.0.1 with `requests`; its clock is the test's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from intake_dev.fake_jira import FakeJira, IssueSnapshot, JqlError, adf_text, parse

START = 1_767_603_600.0  # 2026-01-05T09:00:00Z
ANA = "ana@acme.test"
TOKEN = "ana-api-token"
AUTH = (ANA, TOKEN)
OPEN_AGENT = 'project = "PROJ" AND labels = "agent" AND statusCategory != Done'


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    """Projects PROJ and OPS, a licensed user Ana and her API token, on a clock that moves only when told."""
    with FakeJira(clock=lambda: START) as fake:
        fake.add_project("PROJ")
        fake.add_project("OPS")
        fake.add_user(ANA, display_name="Ana")
        fake.add_api_token(ANA, TOKEN)
        yield fake


def _search(
    jira: FakeJira, jql: str, *, fields: list[str] | None = None, auth: Any = AUTH, **extra: Any
) -> requests.Response:
    body: dict[str, Any] = {"jql": jql, **extra}
    if fields is not None:
        body["fields"] = fields
    return requests.post(f"{jira.base_url}/rest/api/3/search/jql", json=body, auth=auth, timeout=5)


def _keys(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [issue["key"] for issue in response.json()["issues"]]


def _issue(jira: FakeJira, summary: str, project: str = "PROJ", **kwargs: Any) -> IssueSnapshot:
    """An issue, a minute after the one before it."""
    jira.advance(60)
    return jira.add_issue(project, summary, **kwargs)


# --- JQL --------------------------------------------------------------------------------------


def test_the_jql_subset_the_adapter_sends_parses_and_filters(jira: FakeJira) -> None:
    # GIVEN issues that each miss one condition, and two that meet them all
    bob = jira.add_user("bob@acme.test")
    wanted = _issue(jira, "wanted", labels=["agent", "backend"], assignee=bob)
    _issue(jira, "other project", project="OPS", labels=["agent"], assignee=bob)
    _issue(jira, "no label", labels=["backend"], assignee=bob)
    _issue(jira, "in progress label", labels=["agent", "in-progress"], assignee=bob)
    closed = _issue(jira, "closed", labels=["agent"], assignee=bob)
    jira.close_issue(closed.id)
    _issue(jira, "unassigned", labels=["agent"])
    also = _issue(jira, "also wanted", labels=["Agent"], assignee=bob)
    # WHEN the adapter's query runs, with the assignee by accountId and then by email
    base = f'{OPEN_AGENT} AND labels not in ("in-progress", "in-review")'
    by_id = _search(
        jira,
        f'{base} AND assignee = "{bob}" AND updated >= "2026-01-05 09:00" ORDER BY updated ASC',
        fields=["summary"],
    )
    by_email = _search(jira, f'{base} AND assignee = "BOB@acme.test" ORDER BY updated DESC', fields=["summary"])
    # THEN both find exactly the two, in the order asked (labels match ignoring case)
    assert _keys(by_id) == [wanted.key, also.key]
    assert _keys(by_email) == [also.key, wanted.key]


def test_assignee_is_empty_and_is_not_empty_split_the_issues(jira: FakeJira) -> None:
    # GIVEN an assigned and an unassigned issue
    assigned = _issue(jira, "assigned", labels=["agent"], assignee=ANA)
    unassigned = _issue(jira, "unassigned", labels=["agent"])
    # WHEN each emptiness test runs THEN each finds one
    assert _keys(_search(jira, f"{OPEN_AGENT} AND assignee is EMPTY", fields=["key"])) == [unassigned.key]
    assert _keys(_search(jira, f"{OPEN_AGENT} AND assignee IS NOT empty", fields=["key"])) == [assigned.key]


def test_not_in_does_not_match_an_issue_without_labels(jira: FakeJira) -> None:
    # GIVEN an unlabelled issue (JQL's != and NOT IN never match an empty field)
    _issue(jira, "bare")
    labelled = _issue(jira, "labelled", labels=["agent"])
    # WHEN searching for issues without the in-progress label
    found = _search(jira, 'project = PROJ AND labels not in ("in-progress")', fields=["key"])
    # THEN the unlabelled issue is not among them
    assert _keys(found) == [labelled.key]


def test_updated_dates_are_read_in_the_searching_users_time_zone_to_the_minute(jira: FakeJira) -> None:
    # GIVEN an issue updated at 08:30 UTC, and a user whose profile is in Berlin (UTC+1 in January)
    issue = jira.add_issue("PROJ", "early", labels=["agent"], at=int((START - 1800) * 1000))
    jira.add_user("berlin@acme.test", time_zone="Europe/Berlin")
    jira.add_api_token("berlin@acme.test", "berlin-token")
    jql = f'{OPEN_AGENT} AND updated >= "2026-01-05 09:00"'
    # WHEN Ana (UTC) and the Berlin user search from 09:00 their time
    utc = _search(jira, jql, fields=["updated"])
    berlin = _search(jira, jql, fields=["updated"], auth=("berlin@acme.test", "berlin-token"))
    # THEN 09:00 Berlin is 08:00 UTC, so only the Berlin user finds it, rendered in Berlin time
    assert _keys(utc) == []
    assert _keys(berlin) == [issue.key]
    assert berlin.json()["issues"][0]["fields"]["updated"] == "2026-01-05T09:30:00.000+0100"


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        (
            'project = PROJ AND colour = "red"',
            "Field 'colour' does not exist or you do not have permission to view it.",
        ),
        ("project = PROJ AND labels ~ agent", "The operator '~' is not supported by the 'labels' field."),
        ('project = "NOPE"', "The value 'NOPE' does not exist for the field 'project'."),
        (
            "project = PROJ AND statusCategory = Closed",
            "The value 'Closed' does not exist for the field 'statusCategory'.",
        ),
        ('project = PROJ AND updated >= "yesterday"', "Date value 'yesterday' for field 'updated' is invalid."),
        ("project = PROJ AND (labels = agent", "Expecting ')' but got 'end of query'"),
        ("project PROJ", "Expecting operator but got 'PROJ'"),
        ("", "Unbounded JQL queries are not allowed here."),
    ],
)
def test_a_clause_jira_refuses_is_a_400_in_jiras_error_shape(jira: FakeJira, jql: str, message: str) -> None:
    # WHEN a query with an unknown field, operator or value, or bad syntax, is sent
    response = _search(jira, jql)
    # THEN the answer is 400 with errorMessages (and no issues)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"errorMessages", "warningMessages"}
    assert message in body["errorMessages"][0]


def test_the_parser_builds_a_tree_not_a_string_match() -> None:
    # WHEN a query with nesting and ORDER BY is parsed
    query = parse("(labels = a OR labels = 'b') AND NOT assignee is EMPTY ORDER BY updated DESC, key")
    # THEN the ORDER BY is read apart from the clauses
    assert [(s.field, s.descending) for s in query.order_by] == [("updated", True), ("key", False)]
    with pytest.raises(JqlError):
        parse('labels = "unterminated')


# --- pages and fields -------------------------------------------------------------------------


def test_pages_follow_next_page_token_until_is_last_and_never_carry_a_total(jira: FakeJira) -> None:
    # GIVEN five matching issues
    made = [_issue(jira, f"issue {n}", labels=["agent"]).key for n in range(5)]
    jql = f"{OPEN_AGENT} ORDER BY updated ASC"
    # WHEN walking two at a time
    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        extra = {"nextPageToken": token} if token else {}
        response = _search(jira, jql, fields=["key"], maxResults=2, **extra)
        page = response.json()
        pages.append(page)
        seen += _keys(response)
        if page["isLast"]:
            break
        token = page["nextPageToken"]
    # THEN three pages hold the five issues once each, the last without a token, none with a total
    assert seen == made
    assert [len(p["issues"]) for p in pages] == [2, 2, 1]
    assert "nextPageToken" not in pages[-1]
    assert all(set(p) <= {"issues", "nextPageToken", "isLast"} for p in pages)


def test_a_page_token_is_tied_to_its_query(jira: FakeJira) -> None:
    # GIVEN a token from one query
    for n in range(3):
        _issue(jira, f"issue {n}", labels=["agent"])
    token = _search(jira, OPEN_AGENT, maxResults=1).json()["nextPageToken"]
    # WHEN it is sent with another query THEN it is refused
    assert _search(jira, "project = PROJ", nextPageToken=token).status_code == 400


def test_fields_come_back_only_when_asked_for(jira: FakeJira) -> None:
    # GIVEN an issue
    issue = _issue(jira, "Crash on start", labels=["agent"], reporter=ANA, description="It crashes.")
    # WHEN searching without fields, then with them
    bare = _search(jira, OPEN_AGENT).json()["issues"][0]
    full = _search(jira, OPEN_AGENT, fields=["*all"]).json()["issues"][0]
    # THEN without fields only the id comes back; with them, Jira's shapes
    assert bare == {"id": issue.id}
    assert full["id"] == issue.id and full["key"] == "PROJ-1"
    assert full["self"].endswith(f"/rest/api/3/issue/{issue.id}")
    fields = full["fields"]
    assert fields["summary"] == "Crash on start"
    assert fields["description"] == adf_text("It crashes.")
    assert fields["labels"] == ["agent"]
    assert fields["assignee"] is None
    assert fields["reporter"]["accountType"] == "atlassian" and fields["reporter"]["active"] is True
    assert fields["reporter"]["emailAddress"] == ANA and fields["reporter"]["displayName"] == "Ana"
    assert fields["status"]["statusCategory"]["key"] == "new"
    assert fields["project"]["key"] == "PROJ" and fields["project"]["id"].isdigit()


def test_created_and_updated_use_jiras_datetime_format(jira: FakeJira) -> None:
    # GIVEN an issue made at 09:00:00.250 UTC
    issue = jira.add_issue("PROJ", "stamped", labels=["agent"], at=int(START * 1000) + 250)
    # WHEN it is read THEN both stamps are Jira's format, milliseconds and a +hhmm offset
    fields = _search(jira, OPEN_AGENT, fields=["created", "updated"]).json()["issues"][0]["fields"]
    assert fields == {"created": "2026-01-05T09:00:00.250+0000", "updated": "2026-01-05T09:00:00.250+0000"}
    assert issue.updated == "2026-01-05T09:00:00.250+0000"


def test_get_search_takes_its_parameters_in_the_query_string(jira: FakeJira) -> None:
    # GIVEN two matching issues
    _issue(jira, "one", labels=["agent"])
    second = _issue(jira, "two", labels=["agent"])
    # WHEN searched with GET, fields comma-separated
    params = {"jql": f"{OPEN_AGENT} ORDER BY key DESC", "fields": "summary,labels", "maxResults": "1"}
    page = requests.get(f"{jira.base_url}/rest/api/3/search/jql", params=params, auth=AUTH, timeout=5).json()
    # THEN the first page holds the later key with the two fields, and a token
    assert [i["key"] for i in page["issues"]] == [second.key]
    assert set(page["issues"][0]["fields"]) == {"summary", "labels"} and page["nextPageToken"]


def test_an_exactly_full_last_page_can_be_made_to_hand_an_empty_page() -> None:
    # GIVEN a site whose exactly full last page is not yet known to be last, and two issues
    with FakeJira(clock=lambda: START, full_last_page_is_last=False) as jira:
        jira.add_project("PROJ")
        jira.add_user(ANA)
        jira.add_api_token(ANA, TOKEN)
        for n in range(2):
            _issue(jira, f"issue {n}", labels=["agent"])
        # WHEN read two at a time
        first = _search(jira, OPEN_AGENT, maxResults=2).json()
        second = _search(jira, OPEN_AGENT, maxResults=2, nextPageToken=first["nextPageToken"]).json()
    # THEN the full page hands a token and the next page is empty and last
    assert (len(first["issues"]), first["isLast"]) == (2, False)
    assert second == {"issues": [], "isLast": True}


def test_labels_match_exactly_when_the_site_is_made_case_sensitive() -> None:
    # GIVEN a case-sensitive site with an issue labelled Agent
    with FakeJira(clock=lambda: START, labels_case_sensitive=True) as jira:
        jira.add_project("PROJ")
        jira.add_user(ANA)
        jira.add_api_token(ANA, TOKEN)
        issue = jira.add_issue("PROJ", "capital", labels=["Agent"])
        # WHEN searched by agent and by Agent THEN only the exact case finds it
        assert _keys(_search(jira, 'project = PROJ AND labels = "agent"', fields=["key"])) == []
        assert _keys(_search(jira, 'project = PROJ AND labels = "Agent"', fields=["key"])) == [issue.key]


def test_the_removed_search_endpoint_answers_410(jira: FakeJira) -> None:
    # WHEN the old search is called THEN Jira's 410 with its migration message comes back
    response = requests.get(
        f"{jira.base_url}/rest/api/3/search", params={"jql": "project = PROJ"}, auth=AUTH, timeout=5
    )
    assert response.status_code == 410
    assert "Please migrate to the /rest/api/3/search/jql API" in response.json()["errorMessages"][0]


# --- consistency and moves --------------------------------------------------------------------


def test_a_change_shows_in_search_only_after_the_lag_but_at_once_by_id() -> None:
    # GIVEN a site whose search lags ten seconds
    with FakeJira(clock=lambda: START, search_lag_seconds=10) as jira:
        jira.add_project("PROJ")
        jira.add_user(ANA)
        jira.add_api_token(ANA, TOKEN)
        issue = jira.add_issue("PROJ", "new", labels=["agent"])
        # WHEN searching at once, reading it by id, and searching after the lag
        early = _keys(_search(jira, OPEN_AGENT, fields=["key"]))
        by_id = requests.get(f"{jira.base_url}/rest/api/3/issue/{issue.id}", auth=AUTH, timeout=5)
        jira.advance(10)
        late = _keys(_search(jira, OPEN_AGENT, fields=["key"]))
        # AND an update is seen by search as it was until the lag passes
        jira.update_issue(issue.id, labels=["agent", "urgent"])
        stale = _search(jira, OPEN_AGENT, fields=["labels"]).json()["issues"][0]["fields"]["labels"]
        jira.advance(10)
        fresh = _search(jira, OPEN_AGENT, fields=["labels"]).json()["issues"][0]["fields"]["labels"]
    # THEN search missed it at first; get-by-id had it at once
    assert early == []
    assert by_id.status_code == 200 and by_id.json()["key"] == issue.key
    assert late == [issue.key]
    assert (stale, fresh) == (["agent"], ["agent", "urgent"])


def test_reconcile_issues_reads_the_named_issues_as_they_are_now() -> None:
    # GIVEN a lagging site and an issue just made
    with FakeJira(clock=lambda: START, search_lag_seconds=60) as jira:
        jira.add_project("PROJ")
        jira.add_user(ANA)
        jira.add_api_token(ANA, TOKEN)
        issue = jira.add_issue("PROJ", "fresh", labels=["agent"])
        # WHEN searched without, then with, its id to reconcile
        plain = _keys(_search(jira, OPEN_AGENT, fields=["key"]))
        reconciled = _keys(_search(jira, OPEN_AGENT, fields=["key"], reconcileIssues=[int(issue.id)]))
        too_many = _search(jira, OPEN_AGENT, reconcileIssues=list(range(1, 52)))
    # THEN only the reconciled search has it; more than 50 ids is refused
    assert (plain, reconciled) == ([], [issue.key])
    assert too_many.status_code == 400


def test_a_move_changes_the_key_keeps_the_id_and_the_old_key_still_resolves(jira: FakeJira) -> None:
    # GIVEN an issue in PROJ
    issue = _issue(jira, "moving", labels=["agent"])
    # WHEN it moves to OPS
    moved = jira.move_issue(issue.id, "OPS")
    by_old_key = requests.get(f"{jira.base_url}/rest/api/3/issue/{issue.key}", auth=AUTH, timeout=5)
    # THEN it has OPS's next key and the same id, and the old key finds it
    assert (moved.id, moved.key) == (issue.id, "OPS-1")
    assert by_old_key.json()["id"] == issue.id and by_old_key.json()["key"] == "OPS-1"
    assert _keys(_search(jira, 'project = OPS AND labels = "agent"', fields=["key"])) == ["OPS-1"]


# --- writes -----------------------------------------------------------------------------------


def test_a_comment_must_be_an_adf_document(jira: FakeJira) -> None:
    # GIVEN an issue
    issue = _issue(jira, "commented", labels=["agent"])
    url = f"{jira.base_url}/rest/api/3/issue/{issue.key}/comment"
    # WHEN a plain string body, then an ADF document, is posted
    plain = requests.post(url, json={"body": "hello"}, auth=AUTH, timeout=5)
    jira.advance(5)
    made = requests.post(url, json={"body": adf_text("Taken by a session")}, auth=AUTH, timeout=5)
    listed = requests.get(url, params={"orderBy": "-created", "maxResults": "10"}, auth=AUTH, timeout=5).json()
    # THEN the string is refused as v3 refuses it, the document is kept and bumps updated
    assert plain.status_code == 400
    assert plain.json() == {"errorMessages": [], "errors": {"comment": "Comment body is not valid!"}}
    assert made.status_code == 201
    assert made.json()["self"].endswith(f"/comment/{made.json()['id']}")
    assert [c["id"] for c in listed["comments"]] == [made.json()["id"]] and listed["total"] == 1
    assert [c.body for c in jira.comments(issue.id)] == [adf_text("Taken by a session")]
    assert jira.snapshot(issue.id).updated_ms == int((jira.now()) * 1000)


def test_a_label_is_added_with_an_update_operation(jira: FakeJira) -> None:
    # GIVEN an issue labelled agent
    issue = _issue(jira, "labelled", labels=["agent"])
    jira.advance(30)
    # WHEN in-progress is added
    response = requests.put(
        f"{jira.base_url}/rest/api/3/issue/{issue.id}",
        json={"update": {"labels": [{"add": "in-progress"}]}},
        auth=AUTH,
        timeout=5,
    )
    # THEN 204, the issue has both labels and a later updated; a field it does not serve is a 400
    assert response.status_code == 204 and response.content == b""
    assert jira.labels(issue.id) == ("agent", "in-progress")
    assert jira.snapshot(issue.id).updated_ms > issue.updated_ms
    refused = requests.put(
        f"{jira.base_url}/rest/api/3/issue/{issue.id}", json={"fields": {"colour": "red"}}, auth=AUTH, timeout=5
    )
    assert refused.status_code == 400 and "colour" in refused.json()["errors"]


# --- auth -------------------------------------------------------------------------------------


def test_basic_auth_on_the_site_and_bearer_on_the_gateway(jira: FakeJira) -> None:
    # GIVEN an API token and an authorized OAuth app
    tokens = jira.add_oauth_app("app-1", "app-secret", user=ANA)
    bearer = {"Authorization": f"Bearer {tokens.access_token}"}
    # WHEN each is used where it belongs, and where it does not
    site = requests.get(f"{jira.base_url}/rest/api/3/myself", auth=AUTH, timeout=5)
    gateway = requests.get(f"{jira.api_url}/rest/api/3/myself", headers=bearer, timeout=5)
    bearer_on_site = requests.get(f"{jira.base_url}/rest/api/3/myself", headers=bearer, timeout=5)
    wrong_token = requests.get(f"{jira.base_url}/rest/api/3/myself", auth=(ANA, "nope"), timeout=5)
    cloud_id = requests.get(f"{jira.base_url}/_edge/tenant_info", timeout=5).json()
    # THEN both identify Ana; the misplaced or wrong credential is a 401; the cloudId is the site's
    assert site.json()["accountId"] == gateway.json()["accountId"]
    assert gateway.json()["self"].startswith(jira.api_url)
    assert (bearer_on_site.status_code, wrong_token.status_code) == (401, 401)
    assert cloud_id == {"cloudId": jira.cloud_id}
    assert jira.requests[1].credential is not None and tokens.access_token not in str(jira.requests)


def test_a_scoped_token_works_only_through_the_gateway_of_this_site(jira: FakeJira) -> None:
    # GIVEN a scoped API token
    jira.add_api_token(ANA, "scoped-token", scoped=True)
    scoped = (ANA, "scoped-token")
    # WHEN used on the gateway, on the site, and on another site's cloudId
    gateway = requests.get(f"{jira.api_url}/rest/api/3/myself", auth=scoped, timeout=5)
    site = requests.get(f"{jira.base_url}/rest/api/3/myself", auth=scoped, timeout=5)
    other = requests.get(f"{jira.base_url}/ex/jira/not-this-site/rest/api/3/myself", auth=scoped, timeout=5)
    # THEN only the gateway of this site takes it
    assert gateway.status_code == 200 and gateway.json()["emailAddress"] == ANA
    assert site.status_code == 401 and site.text == "Client must be authenticated to access this resource."
    assert other.status_code == 404
    assert jira.requests[0].credential is not None and jira.requests[0].credential.startswith("scoped_token:")


def test_project_visibility_check(jira: FakeJira) -> None:
    # WHEN a project that exists and one that does not are read THEN 200 and Jira's 404
    assert requests.get(f"{jira.base_url}/rest/api/3/project/PROJ", auth=AUTH, timeout=5).json()["key"] == "PROJ"
    missing = requests.get(f"{jira.base_url}/rest/api/3/project/NOPE", auth=AUTH, timeout=5)
    assert missing.status_code == 404
    assert missing.json()["errorMessages"] == ["No project could be found with key 'NOPE'."]


def test_a_refresh_token_rotates_and_works_once(jira: FakeJira) -> None:
    # GIVEN an authorization's tokens
    tokens = jira.add_oauth_app("app-1", "app-secret", user=ANA)
    grant = {"grant_type": "refresh_token", "client_id": "app-1", "client_secret": "app-secret"}
    # WHEN the refresh token is exchanged, then exchanged again
    first = requests.post(jira.token_url, json={**grant, "refresh_token": tokens.refresh_token}, timeout=5)
    again = requests.post(jira.token_url, json={**grant, "refresh_token": tokens.refresh_token}, timeout=5)
    # THEN the first answers a new pair; the used token is disabled
    body = first.json()
    assert first.status_code == 200 and body["expires_in"] == 3600
    assert body["refresh_token"] != tokens.refresh_token and body["access_token"] != tokens.access_token
    assert again.status_code == 403
    assert again.json() == {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}
    fresh = {"Authorization": f"Bearer {body['access_token']}"}
    assert requests.get(f"{jira.api_url}/rest/api/3/myself", headers=fresh, timeout=5).status_code == 200


# --- limits and faults ------------------------------------------------------------------------

_RESET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$")


def test_a_spent_oauth_points_quota_is_a_429_with_every_header(jira: FakeJira) -> None:
    # GIVEN an OAuth app with no points left this hour
    tokens = jira.add_oauth_app("app-1", "app-secret", user=ANA)
    jira.advance(600)  # 09:10
    jira.set_remaining("app-1", 0)
    # WHEN it searches
    response = requests.post(
        f"{jira.api_url}/rest/api/3/search/jql",
        json={"jql": OPEN_AGENT},
        headers={"Authorization": f"Bearer {tokens.access_token}"},
        timeout=5,
    )
    # THEN 429, told to wait until the hour turns, with all the headers, and the log says so
    assert response.status_code == 429
    headers = response.headers
    assert headers["RateLimit-Reason"] == "jira-quota-tenant-based"
    assert headers["Retry-After"] == "3000"
    assert headers["X-RateLimit-Remaining"] == "0" and int(headers["X-RateLimit-Limit"]) > 0
    assert headers["X-RateLimit-Reset"] == "2026-01-05T10:00Z" and _RESET.match(headers["X-RateLimit-Reset"])
    assert jira.requests[-1].throttled and jira.requests[-1].reason == "jira-quota-tenant-based"


def test_an_oauth_app_near_its_quota_is_told_so(jira: FakeJira) -> None:
    # GIVEN an OAuth app with under a fifth of its quota left
    tokens = jira.add_oauth_app("app-1", "app-secret", user=ANA)
    jira.set_remaining("app-1", 100)
    bearer = {"Authorization": f"Bearer {tokens.access_token}"}
    # WHEN it reads
    response = requests.get(f"{jira.api_url}/rest/api/3/myself", headers=bearer, timeout=5)
    # THEN it is answered, marked near the limit, and the read cost a point (and an object)
    assert response.status_code == 200 and response.headers["X-RateLimit-NearLimit"] == "true"
    assert jira.remaining("app-1") == 98


def test_an_oauth_apps_answers_carry_its_quota_in_the_draft_ratelimit_headers(jira: FakeJira) -> None:
    # GIVEN an OAuth app with 500 points of its hour left, and a user's API token
    tokens = jira.add_oauth_app("app-1", "app-secret", user=ANA)
    jira.set_remaining("app-1", 500)
    # WHEN each reads
    app = requests.get(
        f"{jira.api_url}/rest/api/3/myself", headers={"Authorization": f"Bearer {tokens.access_token}"}, timeout=5
    )
    token = requests.get(f"{jira.base_url}/rest/api/3/myself", auth=(ANA, TOKEN), timeout=5)
    # THEN the app's answer says its quota, its window, the points left after the read (a point
    # and an object) and the seconds to the hour's end; API-token traffic has no quota to say
    seconds_left = 3600 - int(jira.now()) % 3600
    assert app.headers["Beta-RateLimit-Policy"] == '"tenant-app-quota";q=65000;w=3600'
    assert app.headers["Beta-RateLimit"] == f'"tenant-app-quota";r=498;t={seconds_left}'
    assert token.status_code == 200 and "Beta-RateLimit" not in token.headers


def test_api_token_traffic_meets_only_the_burst_and_per_issue_limits() -> None:
    # GIVEN a site allowing 2 GETs a second to an endpoint and 2 writes an issue per 2 seconds
    with FakeJira(
        clock=lambda: START, burst_per_second={"GET": 2, "PUT": 100}, issue_write_windows=((2, 2.0),)
    ) as jira:
        jira.add_project("PROJ")
        jira.add_user(ANA)
        jira.add_api_token(ANA, TOKEN)
        issue = jira.add_issue("PROJ", "busy")
        url = f"{jira.base_url}/rest/api/3/issue/{issue.id}"
        # WHEN a third GET and a third write come within the window
        gets = [requests.get(url, auth=AUTH, timeout=5) for _ in range(3)]
        puts = [
            requests.put(url, json={"update": {"labels": [{"add": f"l{n}"}]}}, auth=AUTH, timeout=5) for n in range(3)
        ]
        jira.advance(2)
        later = requests.get(url, auth=AUTH, timeout=5)
    # THEN each third is a 429 with its reason, and the next window is open again
    assert [r.status_code for r in gets] == [200, 200, 429]
    assert gets[2].headers["RateLimit-Reason"] == "jira-burst-based" and gets[2].headers["Retry-After"] == "1"
    assert [r.status_code for r in puts] == [204, 204, 429]
    assert puts[2].headers["RateLimit-Reason"] == "jira-per-issue-on-write"
    assert later.status_code == 200


def test_faults_on_demand_then_normal_service(jira: FakeJira) -> None:
    # GIVEN a 503 then a reset queued
    jira.fail_next(1, 503)
    jira.reset_next(1)
    url = f"{jira.base_url}/rest/api/3/myself"
    # WHEN three requests are made
    first = requests.get(url, auth=AUTH, timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.get(url, auth=AUTH, timeout=5)
    third = requests.get(url, auth=AUTH, timeout=5)
    # THEN a 503 with Retry-After, a reset, then service; the log marks both faults
    assert first.status_code == 503 and first.headers["Retry-After"] == "5"
    assert third.status_code == 200
    assert [(r.status, r.fault) for r in jira.requests] == [(503, True), (0, True), (200, False)]
