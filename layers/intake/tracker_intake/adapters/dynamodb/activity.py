"""`ActivityLog` and `ActivityHistory` on DynamoDB: each project's recent polls, in a partition of
their own (`ACTIVITY#<id>`), swept by the table's TTL after `ACTIVITY_KEPT`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

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
    """Projects' activity logs on one table."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

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
        data = item.model_dump(by_alias=True, exclude_none=True)
        with translated("record poll"):
            self.table.client.put_item(TableName=self.table.name, Item=to_item(data))

    def list_polls(self, project_id: str, limit: int, next_token: str | None) -> tuple[list[PollEntry], str | None]:
        """The project's recorded polls, newest first: one Query of its activity partition."""
        check_limit(limit)
        pk = activity_pk(project_id)
        keys = (POLL.pk, POLL.sk)
        start = self.table.start_key(next_token, keys, pk_prefix=pk, pk=pk)
        args: dict[str, Any] = {
            "TableName": self.table.name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": POLL_PREFIX}},
            "ScanIndexForward": False,
            # One more than asked: a next token is returned only when there is a next page.
            "Limit": limit + 1,
        }
        if start:
            args["ExclusiveStartKey"] = start
        with translated("list polls"):
            response = self.table.client.query(**args)
        found = [from_item(item) for item in response.get("Items", [])]
        return self.table.page(found, limit, keys, poll_entry)
