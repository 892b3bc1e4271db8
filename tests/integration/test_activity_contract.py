"""The activity log's contract: `MemoryStore` and `DynamoStore` on moto record a project's polls and
list them back newest first, page by page, in a table of their own (the template's ActivityTable)
that neither the poll's Query nor the project listing's Scan reads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fakes import MemoryStore

from intake_dev.call_counter import CallCounter
from tracker_intake.adapters.dynamodb import DynamoStore, project_pk
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.errors import InvalidInput, StoreUnavailable
from tracker_intake.domain.records import ACTIVITY_KEPT, PollEntry, PollResult, PollState

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

Store = MemoryStore | DynamoStore


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    else:
        aws = request.getfixturevalue("aws")
        yield dynamo(aws)


def dynamo(aws: dict[str, Any]) -> DynamoStore:
    """The store as the poller and the API build it: the intake table, and the activity table."""
    return DynamoStore(aws["table_name"], aws["dynamodb"], activity_table_name=aws["activity_table_name"])


def entry(minute: int, **fields: Any) -> PollEntry:
    return PollEntry(at=NOW + timedelta(minutes=minute), result=PollResult.NOT_MODIFIED, **fields)


def every_poll(store: Store, project_id: str, limit: int) -> list[list[PollEntry]]:
    pages: list[list[PollEntry]] = []
    token: str | None = None
    while True:
        page, token = store.list_polls(project_id, limit, token)
        pages.append(page)
        if token is None:
            return pages


def test_a_recorded_poll_reads_back_with_every_field(store: Store) -> None:
    # GIVEN a failed poll that had started a session and held one back
    failed = PollEntry(
        at=NOW,
        result=PollResult.FAILED,
        provider="linear",
        requests=3,
        pages=2,
        not_modified=1,
        new_sessions=("linear:acme/3f2b5c1e-8d4a-4b6f-9c2e-1a7d0e5b9f34",),
        backlog_recorded=4,
        held_back=1,
        error_kind="tracker_unavailable",
        error="Linear answered 502",
        backoff_until=NOW + timedelta(minutes=1),
    )
    # WHEN it is recorded and listed
    store.record_poll("app", failed)
    polls, token = store.list_polls("app", 10, None)
    # THEN it reads back as recorded, alone
    assert (polls, token) == ([failed], None)


def test_polls_list_newest_first_page_by_page(store: Store) -> None:
    # GIVEN five polls recorded a minute apart, two of them at the same instant (two pollers)
    for minute in (0, 1, 2, 3, 3):
        store.record_poll("app", entry(minute, pages=minute))
    # WHEN they are listed two at a time
    pages = every_poll(store, "app", 2)
    # THEN three pages hold all five, newest first, none twice
    assert [len(page) for page in pages] == [2, 2, 1]
    times = [poll.at for page in pages for poll in page]
    assert times == sorted(times, reverse=True) and len(times) == 5
    assert times[-1] == NOW


def test_one_projects_polls_are_not_anothers(store: Store) -> None:
    # GIVEN polls of two projects, one a prefix of the other's id
    store.record_poll("app", entry(0))
    store.record_poll("app-2", entry(1))
    store.record_poll("app-2", entry(2))
    # WHEN each is listed THEN each holds its own
    assert [p.at for p in store.list_polls("app", 10, None)[0]] == [NOW]
    assert len(store.list_polls("app-2", 10, None)[0]) == 2


def test_a_next_token_of_another_projects_log_is_refused(store: Store) -> None:
    # GIVEN a token of the next page of one project's polls
    for minute in range(3):
        store.record_poll("app", entry(minute))
    _, token = store.list_polls("app", 1, None)
    assert token is not None
    # WHEN it is sent to list another project's THEN it is refused as a nextToken this API did not return
    with pytest.raises(InvalidInput) as refused:
        store.list_polls("other", 1, token)
    assert refused.value.field == "nextToken"


def test_a_project_without_polls_lists_none(store: Store) -> None:
    # GIVEN a project never polled WHEN its polls are listed THEN none, and no next page
    assert store.list_polls("app", 10, None) == ([], None)


def test_checked_at_reads_back_with_the_poll_state(store: Store) -> None:
    # GIVEN a project whose poll recorded itself
    store.create_project("app", ProjectConfig(), NOW)
    store.save_poll_state("app", PollState(pages_read=1, checked_at=NOW))
    # WHEN it is read for the next poll THEN checked_at is the recorded poll's time
    record, _ = store.load_for_poll("app")
    assert record.poll.checked_at == NOW


def test_dynamodb_keeps_each_poll_in_the_activity_table_with_its_expiry(aws: dict[str, Any]) -> None:
    # GIVEN a project on DynamoDB with three polls recorded
    store = dynamo(aws)
    store.create_project("app", ProjectConfig(), NOW)
    for minute in range(3):
        store.record_poll("app", entry(minute))
    counter = CallCounter(aws["dynamodb"])
    # WHEN the poller reads the project's partition, as load_for_poll does
    items = list(store.table.query_partition(project_pk("app")))
    # THEN its one Query reads the project item alone: the polls are elsewhere
    assert counter.log == ["Query"]
    assert [item["sk"] for item in items] == ["PROJECT"]
    # AND each poll sits in ACTIVITY#app of the activity table with an expiresAt ACTIVITY_KEPT
    # after it, in epoch seconds
    polls = aws["dynamodb"].query(
        TableName=aws["activity_table_name"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "ACTIVITY#app"}},
    )["Items"]
    assert sorted(int(item["expiresAt"]["N"]) for item in polls) == [
        int((NOW + timedelta(minutes=m) + ACTIVITY_KEPT).timestamp()) for m in range(3)
    ]
    # AND none is in the intake table
    assert aws["dynamodb"].scan(TableName=aws["table_name"], Select="COUNT")["Count"] == 1


def test_the_project_listings_scan_reads_no_activity_item(aws: dict[str, Any]) -> None:
    # GIVEN three projects on DynamoDB, each with 40 polls recorded in its activity log
    store = dynamo(aws)
    for project_id in ("app", "web", "api"):
        store.create_project(project_id, ProjectConfig(), NOW)
        for minute in range(40):
            store.record_poll(project_id, entry(minute))
    scanned: list[int] = []

    def count(parsed: dict[str, Any], **_: Any) -> None:
        scanned.append(parsed["ScannedCount"])

    aws["dynamodb"].meta.events.register("after-call.dynamodb.Scan", count)
    # WHEN the API lists the projects
    projects, token = store.list_projects(10, None)
    # THEN its Scan reads the three project items and not one of the 120 polls
    assert sorted(p.project_id for p in projects) == ["api", "app", "web"] and token is None
    assert sum(scanned) == 3
    assert aws["dynamodb"].scan(TableName=aws["activity_table_name"], Select="COUNT")["Count"] == 120


def test_a_store_without_an_activity_table_says_the_log_is_unavailable(aws: dict[str, Any]) -> None:
    # GIVEN a DynamoStore built with no activity table (ACTIVITY_TABLE_NAME unset)
    store = DynamoStore(aws["table_name"], aws["dynamodb"])
    # WHEN a poll is recorded, or the polls are listed
    # THEN each is refused as the store unavailable, naming the missing table, and nothing is written
    with pytest.raises(StoreUnavailable, match="ACTIVITY_TABLE_NAME"):
        store.record_poll("app", entry(0))
    with pytest.raises(StoreUnavailable, match="ACTIVITY_TABLE_NAME"):
        store.list_polls("app", 10, None)
    assert aws["dynamodb"].scan(TableName=aws["table_name"], Select="COUNT")["Count"] == 0
