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


class DynamoBudgets:
    """Credential budgets, paces and write slots on one table."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    # --- TokenBudgets --------------------------------------------------------------------------

    def get_budget(self, token_key: str) -> TokenBudget | None:
        data = self.table.get(token_item_key(token_key, BUDGET_SK), consistent=False)
        if data is None:
            return None
        paused = data.get("pausedUntil")
        return TokenBudget(
            token_key,
            int(data.get("remaining", 1)),
            parse_iso(data["resetAt"]) if "resetAt" in data else datetime.fromtimestamp(0, UTC),
            parse_iso(paused) if isinstance(paused, str) else None,
            int(data["rateLimit"]) if "rateLimit" in data else None,
        )

    def record_budget(self, budget: TokenBudget) -> None:
        """What GitHub said, unless a later window or a lower remaining is already recorded
        (`TokenBudget.supersedes`): concurrent pollers record out of order."""
        values: dict[str, Any] = {"remaining": budget.remaining, "resetAt": iso(budget.reset_at)}
        if budget.limit is not None:
            values["rateLimit"] = budget.limit  # LIMIT is a DynamoDB reserved word
        # A refused condition means a newer observation is recorded: it stays.
        with suppress(ConditionFailed):
            self.table.update(
                token_item_key(budget.token_key, BUDGET_SK),
                set_values=values,
                extra_values={":reset": iso(budget.reset_at), ":remaining": budget.remaining},
                # ISO strings of one fixed width sort as the instants do.
                condition=(
                    "attribute_not_exists(resetAt) OR resetAt < :reset OR (resetAt = :reset AND remaining > :remaining)"
                ),
                action="record token budget",
            )

    def pause(self, token_key: str, until: datetime) -> None:
        # A refused condition means a later pause is already recorded: it stays.
        with suppress(ConditionFailed):
            self.table.update(
                token_item_key(token_key, BUDGET_SK),
                set_values={"pausedUntil": iso(until)},
                extra_values={":until": iso(until)},
                # ISO strings of one fixed width sort as the instants do: a longer pause stays.
                condition="attribute_not_exists(pausedUntil) OR pausedUntil < :until",
                action="pause credential",
            )

    def get_pace(self, token_key: str) -> Pace | None:
        data = self.table.get(token_item_key(token_key, PACE_SK))
        if data is None:
            return None
        # [at, points], or [at, points, "preview"] for a preview's reservation.
        grants = tuple(
            Grant(parse_iso(g[0]), int(g[1]), len(g) > 2 and g[2] == "preview") for g in data.get("grants", [])
        )
        return Pace(token_key, grants, data.get("cursor"), int(data.get("version", 0)), data.get("busyCursor"))

    def save_pace(self, pace: Pace) -> bool:
        item = {
            "pk": budget_pk(pace.token_key),
            "sk": PACE_SK,
            "grants": [[iso(g.at), g.points, *(["preview"] if g.preview else [])] for g in pace.grants],
            "cursor": pace.cursor,
            "busyCursor": pace.busy_cursor,
            "version": pace.version,
        }
        condition = "attribute_not_exists(pk)" if pace.version <= 1 else "version = :previous"
        args: dict[str, Any] = {"TableName": self.table.name, "Item": to_item(item), "ConditionExpression": condition}
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
            version = int(data.get("version", 0)) if data else 0
            slots = [_moment(int(ms)) for ms in (data or {}).get("slots", [])]
            kept = kept_slots(slots, now)
            # Whole milliseconds, rounded up, so the slot stored is the slot given.
            slot = _moment(math.ceil(next_write_slot(kept, now).timestamp() * 1000))
            item: dict[str, Any] = {
                "pk": budget_pk(token_key),
                "sk": WRITES_SK,
                "slots": [_ms(s) for s in (*kept, slot)],
                "version": version + 1,
            }
            args: dict[str, Any] = {"TableName": self.table.name, "Item": to_item(item)}
            if version:
                args["ConditionExpression"] = "version = :previous"
                args["ExpressionAttributeValues"] = {":previous": {"N": str(version)}}
            else:
                args["ConditionExpression"] = "attribute_not_exists(pk)"
            try:
                with translated("reserve write slot"):
                    self.table.client.put_item(**args)
            except ConditionFailed:
                continue
            return slot
        raise StoreUnavailable(f"could not reserve a write slot for {token_key}: {_RESERVE_ATTEMPTS} races lost")


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
