"""`TokenBudgets` on DynamoDB: what GitHub said of a credential, and the dispatcher's pace of it."""

from __future__ import annotations

import math
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from ...domain.acknowledge import kept_slots, next_write_slot
from ...domain.errors import StoreUnavailable
from ...domain.records import Grant, Pace, TokenBudget
from .formats import iso, parse_iso
from .items import BudgetItem, Names, PaceItem, WritesItem, read_item
from .table import (
    BUDGET_SK,
    PACE_SK,
    WRITES_SK,
    ConditionFailed,
    DynamoTable,
    budget_pk,
    to_item,
    token_item_key,
    translated,
)

# Launchers racing for one credential's next slot: each lost race costs a read and a write.
_RESERVE_ATTEMPTS = 10

BUDGET = Names(BudgetItem)
PACE = Names(PaceItem)
WRITES = Names(WritesItem)


class DynamoBudgets:
    """Credential budgets, paces and write slots on one table."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    # --- TokenBudgets --------------------------------------------------------------------------

    def get_budget(self, token_key: str) -> TokenBudget | None:
        data = self.table.get(token_item_key(token_key, BUDGET_SK), consistent=False)
        if data is None:
            return None
        item = read_item(BudgetItem, data)
        return TokenBudget(
            token_key,
            item.remaining,
            parse_iso(item.reset_at) if item.reset_at is not None else datetime.fromtimestamp(0, UTC),
            parse_iso(item.paused_until) if item.paused_until is not None else None,
            item.rate_limit,
            item.refill_per_hour,
        )

    def record_budget(self, budget: TokenBudget) -> None:
        """What GitHub said, unless a later window or a lower remaining is already recorded
        (`TokenBudget.supersedes`): concurrent pollers record out of order."""
        values: dict[str, Any] = {BUDGET.remaining: budget.remaining, BUDGET.reset_at: iso(budget.reset_at)}
        if budget.limit is not None:
            values[BUDGET.rate_limit] = budget.limit
        if budget.refill_per_hour is not None:
            values[BUDGET.refill_per_hour] = budget.refill_per_hour
        # A refused condition means a newer observation is recorded: it stays.
        with suppress(ConditionFailed):
            self.table.update(
                token_item_key(budget.token_key, BUDGET_SK),
                set_values=values,
                extra_values={":reset": iso(budget.reset_at), ":remaining": budget.remaining},
                # ISO strings of one fixed width sort as the instants do.
                condition=(
                    f"attribute_not_exists({BUDGET.reset_at}) OR {BUDGET.reset_at} < :reset"
                    f" OR ({BUDGET.reset_at} = :reset AND {BUDGET.remaining} > :remaining)"
                ),
                action="record token budget",
            )

    def pause(self, token_key: str, until: datetime) -> None:
        # A refused condition means a later pause is already recorded: it stays.
        with suppress(ConditionFailed):
            self.table.update(
                token_item_key(token_key, BUDGET_SK),
                set_values={BUDGET.paused_until: iso(until)},
                extra_values={":until": iso(until)},
                # ISO strings of one fixed width sort as the instants do: a longer pause stays.
                condition=f"attribute_not_exists({BUDGET.paused_until}) OR {BUDGET.paused_until} < :until",
                action="pause credential",
            )

    def get_pace(self, token_key: str) -> Pace | None:
        data = self.table.get(token_item_key(token_key, PACE_SK))
        if data is None:
            return None
        item = read_item(PaceItem, data)
        grants = tuple(Grant(parse_iso(g[0]), g[1], len(g) > 2 and g[2] == _PREVIEW) for g in item.grants)
        return Pace(token_key, grants, item.cursor, item.version, item.busy_cursor)

    def save_pace(self, pace: Pace) -> bool:
        item = PaceItem(
            pk=budget_pk(pace.token_key),
            sk=PACE_SK,
            grants=tuple(_grant(g) for g in pace.grants),
            cursor=pace.cursor,
            busy_cursor=pace.busy_cursor,
            version=pace.version,
        )
        condition = f"attribute_not_exists({PACE.pk})" if pace.version <= 1 else f"{PACE.version} = :previous"
        args: dict[str, Any] = {
            "TableName": self.table.name,
            "Item": to_item(item.model_dump(by_alias=True)),
            "ConditionExpression": condition,
        }
        if pace.version > 1:
            args["ExpressionAttributeValues"] = {":previous": {"N": str(pace.version - 1)}}
        try:
            with translated("save pace"):
                self.table.client.put_item(**args)
        except ConditionFailed:
            return False
        return True

    # --- WritePace -----------------------------------------------------------------------------

    def reserve_write(self, token_key: str, now: datetime) -> datetime:
        """The credential's next write slot, taken: the last hour's slots are one item (epoch
        milliseconds, at most 500), rewritten conditionally on its version."""
        key = token_item_key(token_key, WRITES_SK)
        for _ in range(_RESERVE_ATTEMPTS):
            data = self.table.get(key)
            stored = read_item(WritesItem, data) if data is not None else WritesItem()
            version = stored.version
            slots = [_moment(ms) for ms in stored.slots]
            kept = kept_slots(slots, now)
            # Whole milliseconds, rounded up, so the slot stored is the slot given.
            slot = _moment(math.ceil(next_write_slot(kept, now).timestamp() * 1000))
            item = WritesItem(
                pk=budget_pk(token_key), sk=WRITES_SK, slots=tuple(_ms(s) for s in (*kept, slot)), version=version + 1
            )
            args: dict[str, Any] = {"TableName": self.table.name, "Item": to_item(item.model_dump(by_alias=True))}
            if version:
                args["ConditionExpression"] = f"{WRITES.version} = :previous"
                args["ExpressionAttributeValues"] = {":previous": {"N": str(version)}}
            else:
                args["ConditionExpression"] = f"attribute_not_exists({WRITES.pk})"
            try:
                with translated("reserve write slot"):
                    self.table.client.put_item(**args)
            except ConditionFailed:
                continue
            return slot
        raise StoreUnavailable(f"could not reserve a write slot for {token_key}: {_RESERVE_ATTEMPTS} races lost")


# The mark of a grant reserved by a preview, its third element.
_PREVIEW = "preview"


def _grant(grant: Grant) -> tuple[str, int] | tuple[str, int, str]:
    return (iso(grant.at), grant.points, _PREVIEW) if grant.preview else (iso(grant.at), grant.points)


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
