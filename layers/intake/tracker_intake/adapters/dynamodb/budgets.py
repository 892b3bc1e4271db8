"""`TokenBudgets` on DynamoDB: what GitHub said of a credential, and the dispatcher's pace of it."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from ...domain.records import Grant, Pace, TokenBudget
from .table import (
    BUDGET_SK,
    PACE_SK,
    ConditionFailed,
    DynamoTable,
    budget_pk,
    iso,
    parse_iso,
    to_item,
    token_item_key,
    translated,
)


class DynamoBudgets:
    """Credential budgets and paces on one table."""

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
        )

    def record_budget(self, budget: TokenBudget) -> None:
        self.table.update(
            token_item_key(budget.token_key, BUDGET_SK),
            set_values={"remaining": budget.remaining, "resetAt": iso(budget.reset_at)},
            condition=None,
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
        return Pace(token_key, grants, data.get("cursor"), int(data.get("version", 0)))

    def save_pace(self, pace: Pace) -> bool:
        item = {
            "pk": budget_pk(pace.token_key),
            "sk": PACE_SK,
            "grants": [[iso(g.at), g.points, *(["preview"] if g.preview else [])] for g in pace.grants],
            "cursor": pace.cursor,
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
