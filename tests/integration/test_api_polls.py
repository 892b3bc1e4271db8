"""The activity log and the pickup figures through ApiFunction on moto: `GET /projects/{id}/polls`,
`intake.checkedAt` on a project, `pickupSeconds` on a session."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from api_support import CLAIMED_AT, Api, claim, load_event, request

from tracker_intake.domain.records import ClaimStatus, PollEntry, PollResult, PollState


@pytest.fixture
def demo(aws: dict[str, Any]) -> Api:
    """The API with the project of events/api-create-project.json already created."""
    api = Api(aws)
    assert api(load_event("api-create-project.json")).status == 201
    return api


def record(api: Api, minute: int, **fields: Any) -> None:
    api.store.record_poll("demo", PollEntry(at=CLAIMED_AT + timedelta(minutes=minute), **fields))


def test_a_projects_polls_list_newest_first_in_camel_case(demo: Api) -> None:
    # GIVEN a quiet poll, then one that started a session, then one that failed
    record(demo, 0, result=PollResult.NOT_MODIFIED, requests=1, pages=1, not_modified=1)
    record(demo, 1, result=PollResult.CHANGED, requests=1, pages=1, new_sessions=("github:acme/app#42",))
    until = CLAIMED_AT + timedelta(minutes=3)
    record(
        demo,
        2,
        result=PollResult.FAILED,
        requests=1,
        pages=1,
        error_kind="tracker_unavailable",
        error="GitHub answered 502",
        backoff_until=until,
    )
    # WHEN its polls are listed
    answer = demo(request("GET", "/projects/demo/polls"))
    # THEN all three come back, newest first, each with the fields the dashboard reads
    assert answer.status == 200, answer.text
    failed, changed, quiet = answer.body["items"]
    assert answer.body["nextToken"] is None
    assert set(failed) == {
        "at",
        "result",
        "provider",
        "requests",
        "pages",
        "notModified",
        "newSessions",
        "backlogRecorded",
        "heldBack",
        "errorKind",
        "error",
        "backoffUntil",
    }
    assert (failed["result"], failed["errorKind"], failed["error"]) == (
        "failed",
        "tracker_unavailable",
        "GitHub answered 502",
    )
    assert failed["backoffUntil"].startswith(until.strftime("%Y-%m-%dT%H:%M:%S"))
    assert (changed["result"], changed["newSessions"], changed["provider"]) == (
        "changed",
        ["github:acme/app#42"],
        "github",
    )
    assert (quiet["result"], quiet["pages"], quiet["notModified"], quiet["newSessions"]) == (
        "not_modified",
        1,
        1,
        [],
    )


def test_polls_page_with_limit_and_next_token(demo: Api) -> None:
    # GIVEN five recorded polls
    for minute in range(5):
        record(demo, minute, result=PollResult.NOT_MODIFIED)
    # WHEN they are listed two at a time, following nextToken
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        query = {"limit": "2", **({"nextToken": token} if token else {})}
        answer = demo(request("GET", "/projects/demo/polls", query=query))
        assert answer.status == 200, answer.text
        seen.extend(poll["at"] for poll in answer.body["items"])
        token = answer.body["nextToken"]
        pages += 1
        if token is None:
            break
    # THEN three pages hold the five, newest first, none twice
    assert pages == 3
    assert seen == sorted(set(seen), reverse=True) and len(seen) == 5


def test_polls_of_an_unknown_project_answer_404(aws: dict[str, Any]) -> None:
    # GIVEN no project demo WHEN its polls are listed THEN 404, not an empty list
    assert Api(aws)(request("GET", "/projects/demo/polls")).status == 404


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_a_limit_out_of_range_answers_422(demo: Api, limit: str) -> None:
    # GIVEN project demo WHEN its polls are listed with a bad limit THEN 422 names the limit
    answer = demo(request("GET", "/projects/demo/polls", query={"limit": limit}))
    assert answer.status == 422
    assert answer.fields == ["limit"]


def test_a_next_token_this_api_did_not_return_answers_400(demo: Api) -> None:
    # GIVEN project demo WHEN its polls are listed with a made-up token THEN refused at nextToken
    answer = demo(request("GET", "/projects/demo/polls", query={"nextToken": "bm90IGEgdG9rZW4"}))
    assert answer.status == 400
    assert answer.fields == ["nextToken"]


def test_a_project_says_when_its_last_recorded_poll_ran(demo: Api) -> None:
    # GIVEN a project never polled, then one whose poll recorded itself
    before = demo(load_event("api-get-project.json")).body["intake"]["checkedAt"]
    demo.store.save_poll_state("demo", PollState(pages_read=1, checked_at=CLAIMED_AT))
    # WHEN it is read
    after = demo(load_event("api-get-project.json")).body["intake"]["checkedAt"]
    # THEN checkedAt is null before any poll, then the recorded poll's time
    assert before is None
    assert after is not None and after.startswith(CLAIMED_AT.strftime("%Y-%m-%dT%H:%M:%S"))


def test_a_launched_session_carries_its_pickup_in_seconds(demo: Api) -> None:
    # GIVEN a session launched 95 s after its issue was labelled, and one still enqueued
    launched = claim(number=42)
    labelled = (CLAIMED_AT - timedelta(seconds=95)).isoformat()
    demo.store.put_claim(replace(launched, issue=replace(launched.issue, updated_at=labelled)))
    demo.store.put_claim(claim(number=43, status=ClaimStatus.ENQUEUED))
    # WHEN the sessions are listed
    rows = {row["number"]: row for row in demo(request("GET", "/projects/demo/sessions")).body["items"]}
    # THEN the launched one says 95 s, the other null
    assert rows[42]["pickupSeconds"] == 95.0
    assert rows[43]["pickupSeconds"] is None


def test_a_released_issues_later_session_has_no_pickup(demo: Api) -> None:
    # GIVEN a session of an issue's second generation (it was released, then taken again)
    launched = claim(number=42)
    labelled = (CLAIMED_AT - timedelta(seconds=95)).isoformat()
    demo.store.put_claim(replace(launched, generation=2, issue=replace(launched.issue, updated_at=labelled)))
    # WHEN the sessions are listed THEN its pickup is null: the release started its wait, not the update
    (row,) = demo(request("GET", "/projects/demo/sessions")).body["items"]
    assert row["pickupSeconds"] is None
