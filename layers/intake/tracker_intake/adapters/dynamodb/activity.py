"""`ActivityLog` and `ActivityHistory` on DynamoDB: each project's recent polls, in a partition of
their own (`ACTIVITY#<id>`) of a table of their own (the template's ActivityTable), swept by that
table's TTL after `ACTIVITY_KEPT`. Kept out of the intake table, so the project listing's Scan
never reads a log entry."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ...domain.errors import StoreUnavailable
from ...domain.records import ACTIVITY_KEPT, PollEntry, PollResult
from .formats import check_limit, iso, parse_iso
from .items import Names, PollItem, read_item
from .table import POLL_PREFIX, DynamoTable, activity_pk, from_item, to_item, translated

POLL = Names(PollItem)


def poll_entry(data: Mapping[str, Any]) -> PollEntry:
    """An activity item as the domain's entry; ItemMalformed when it is not one."""
    item = read_item(PollItem, data)
    return PollEntry(
        at=parse_iso(item.at),
        result=PollResult(item.result),
        provider=item.provider,
        requests=item.requests,
        pages=item.pages,
        not_modified=item.not_modified,
        new_sessions=item.new_sessions,
        backlog_recorded=item.backlog_recorded,
        held_back=item.held_back,
        error_kind=item.error_kind,
        error=item.error,
        backoff_until=parse_iso(item.backoff_until) if item.backoff_until else None,
    )


class DynamoActivity:
    """Projects' activity logs on the activity table (`activity_table`; None: none configured,
    and each call raises StoreUnavailable)."""

    activity_table: DynamoTable | None

    def __init__(self, table: DynamoTable) -> None:
        self.activity_table = table

    def _activity(self, action: str) -> DynamoTable:
        if self.activity_table is None:
            raise StoreUnavailable(f"DynamoDB {action} failed: no activity table configured (ACTIVITY_TABLE_NAME)")
        return self.activity_table

    def record_poll(self, project_id: str, entry: PollEntry) -> None:
        # Sorted by time; the suffix keeps two polls of one instant (two pollers) apart.
        item = PollItem(
            pk=activity_pk(project_id),
            sk=f"{POLL_PREFIX}{iso(entry.at)}#{uuid.uuid4().hex[:8]}",
            at=iso(entry.at),
            result=entry.result.value,
            provider=entry.provider,
            requests=entry.requests,
            pages=entry.pages,
            not_modified=entry.not_modified,
            new_sessions=entry.new_sessions,
            backlog_recorded=entry.backlog_recorded,
            held_back=entry.held_back,
            error_kind=entry.error_kind,
            error=entry.error,
            backoff_until=iso(entry.backoff_until) if entry.backoff_until else None,
            expires_at=int((entry.at + ACTIVITY_KEPT).timestamp()),
        )
        table = self._activity("record poll")
        data = item.model_dump(by_alias=True, exclude_none=True)
        with translated("record poll"):
            table.client.put_item(TableName=table.name, Item=to_item(data))

    def list_polls(self, project_id: str, limit: int, next_token: str | None) -> tuple[list[PollEntry], str | None]:
        """The project's recorded polls, newest first: one Query of its activity partition."""
        check_limit(limit)
        table = self._activity("list polls")
        pk = activity_pk(project_id)
        keys = (POLL.pk, POLL.sk)
        start = table.start_key(next_token, keys, pk_prefix=pk, pk=pk)
        args: dict[str, Any] = {
            "TableName": table.name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": POLL_PREFIX}},
            "ScanIndexForward": False,
            # One more than asked: a next token is returned only when there is a next page.
            "Limit": limit + 1,
        }
        if start:
            args["ExclusiveStartKey"] = start
        with translated("list polls"):
            response = table.client.query(**args)
        found = [from_item(item) for item in response.get("Items", [])]
        return table.page(found, limit, keys, poll_entry)
