"""Filters as Linear documents them (https://linear.app/developers/filtering).

Every field named in a filter must match (an implicit `and`); `and` and `or` take lists of the
same filter; a relation is filtered by its own fields (`assignee: {email: {eq: ...}}`), an
optional one also by `null`; a many-to-many relation (an issue's `labels`) matches when at least
one member matches its fields or `some`, when all do with `every`, and by its count with
`length`. Comparators: `eq`, `neq`, `in`, `nin` on every kind; `lt`, `lte`, `gt`, `gte` on numbers
and dates; the string comparators (`eqIgnoreCase`, `startsWith`, `containsIgnoreCase`, ...) on
strings; `null` on optional values. Dates take ISO 8601 moments, the shortcuts `2021` and
`2021-01`, and ISO 8601 durations relative to now (`-P2W1D`), as `DateTimeOrDuration` says.

The schema declares only the filter fields below, so any other field is a validation error;
a declared comparator this module does not know is a GraphQL error, never ignored. Two choices
are the stand-in's, since the page does not say: a missing value (an unassigned issue's
assignee email, an empty description) fails every comparator but `null`, and `every` over an
issue with no labels is true.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .workspace import STATE_TYPES, Issue, Workspace, state_id

FILTERING_DOCS = "https://linear.app/developers/filtering"
_DURATION = re.compile(
    r"^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
_DATE_KINDS = ("date", "nullable_date")


class FilterError(Exception):
    """A filter the stand-in refuses: an unreadable value (Linear's INPUT_ERROR), or a declared
    comparator it does not implement (`STAND_IN_UNSUPPORTED`)."""

    def __init__(self, message: str, code: str = "INPUT_ERROR") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class FilterContext:
    workspace: Workspace
    viewer_id: str | None
    now_ms: int


@dataclass(frozen=True)
class StateView:
    """A team's workflow state of one type (WorkflowState)."""

    id: str
    name: str
    type: str


@dataclass(frozen=True)
class _Field:
    kind: str  # a comparator kind, or "relation" / "collection" (then `spec` names the filter)
    get: Callable[[FilterContext, Any], Any]
    spec: str | None = None


def _state_of(ctx: FilterContext, issue: Issue) -> StateView:
    return state_view(ctx.workspace, issue.team_id, issue.state_type)


def state_view(workspace: Workspace, team_id: str, state_type: str) -> StateView:
    return StateView(state_id(team_id, state_type), STATE_TYPES[state_type], state_type)


_SPECS: dict[str, dict[str, _Field]] = {
    "IssueFilter": {
        "id": _Field("id", lambda c, i: i.id),
        "number": _Field("number", lambda c, i: float(i.number)),
        "title": _Field("string", lambda c, i: i.title),
        "description": _Field("nullable_string", lambda c, i: i.description),
        "createdAt": _Field("date", lambda c, i: i.created_ms),
        "updatedAt": _Field("date", lambda c, i: i.updated_ms),
        "archivedAt": _Field("nullable_date", lambda c, i: i.archived_ms),
        "team": _Field("relation", lambda c, i: c.workspace.teams[i.team_id], "TeamFilter"),
        "state": _Field("relation", _state_of, "WorkflowStateFilter"),
        "assignee": _Field("relation", lambda c, i: c.workspace.users.get(i.assignee_id or ""), "UserFilter"),
        "creator": _Field("relation", lambda c, i: c.workspace.users.get(i.creator_id or ""), "UserFilter"),
        "labels": _Field("collection", lambda c, i: [c.workspace.labels[x] for x in i.label_ids], "IssueLabelFilter"),
    },
    "TeamFilter": {
        "id": _Field("id", lambda c, t: t.id),
        "key": _Field("string", lambda c, t: t.key),
        "name": _Field("string", lambda c, t: t.name),
    },
    "WorkflowStateFilter": {
        "id": _Field("id", lambda c, s: s.id),
        "name": _Field("string", lambda c, s: s.name),
        "type": _Field("string", lambda c, s: s.type),
    },
    "UserFilter": {
        "id": _Field("id", lambda c, u: u.id),
        "email": _Field("string", lambda c, u: u.email),
        "name": _Field("string", lambda c, u: u.name),
        "displayName": _Field("string", lambda c, u: u.name),
        "admin": _Field("boolean", lambda c, u: u.admin),
        "active": _Field("boolean", lambda c, u: u.active),
        "app": _Field("boolean", lambda c, u: u.app),
        "isMe": _Field("boolean", lambda c, u: u.id == c.viewer_id),
    },
    "IssueLabelFilter": {
        "id": _Field("id", lambda c, label: label.id),
        "name": _Field("string", lambda c, label: label.name),
        "team": _Field("relation", lambda c, label: c.workspace.teams.get(label.team_id or ""), "TeamFilter"),
    },
    "CommentFilter": {
        "id": _Field("id", lambda c, m: m.id),
        "body": _Field("string", lambda c, m: m.body),
        "createdAt": _Field("date", lambda c, m: m.created_ms),
        "updatedAt": _Field("date", lambda c, m: m.updated_ms),
        "user": _Field("relation", lambda c, m: c.workspace.users.get(m.user_id), "UserFilter"),
    },
}


def matches(ctx: FilterContext, spec: str, entity: Any, flt: Mapping[str, Any] | None, path: str = "filter") -> bool:
    """Whether `entity` (None: an optional relation that is not set) passes `flt`."""
    for key, value in (flt or {}).items():
        if value is None:
            continue  # a null input field asks nothing
        if not _matches_key(ctx, spec, entity, key, value, f"{path}.{key}"):
            return False
    return True


def _matches_key(ctx: FilterContext, spec: str, entity: Any, key: str, value: Any, path: str) -> bool:
    if key == "and":
        return all(matches(ctx, spec, entity, sub, path) for sub in value)
    if key == "or":
        return any(matches(ctx, spec, entity, sub, path) for sub in value)
    if key == "null":
        return (entity is None) == bool(value)
    if entity is None:
        return False
    field = _SPECS[spec].get(key)
    if field is None:
        raise FilterError(f"the Linear stand-in does not implement {path}", "STAND_IN_UNSUPPORTED")
    got = field.get(ctx, entity)
    if field.kind == "relation":
        assert field.spec is not None
        return matches(ctx, field.spec, got, value, path)
    if field.kind == "collection":
        assert field.spec is not None
        return _collection(ctx, field.spec, got, value, path)
    return compare(got, value, field.kind, ctx.now_ms, path)


def _collection(ctx: FilterContext, spec: str, items: Sequence[Any], flt: Mapping[str, Any], path: str) -> bool:
    """A many-to-many filter (IssueLabelCollectionFilter)."""
    for key, value in flt.items():
        if value is not None and not _collection_key(ctx, spec, items, key, value, f"{path}.{key}"):
            return False
    return True


def _collection_key(ctx: FilterContext, spec: str, items: Sequence[Any], key: str, value: Any, path: str) -> bool:
    if key == "and":
        return all(_collection(ctx, spec, items, sub, path) for sub in value)
    if key == "or":
        return any(_collection(ctx, spec, items, sub, path) for sub in value)
    if key == "null":
        return (not items) == bool(value)
    if key == "length":
        return compare(float(len(items)), value, "number", ctx.now_ms, path)
    if key == "every":
        return all(matches(ctx, spec, item, value, path) for item in items)
    sub = value if key == "some" else {key: value}
    return any(matches(ctx, spec, item, sub, path) for item in items)


def compare(got: Any, comparator: Mapping[str, Any], kind: str, now_ms: int, path: str) -> bool:
    """Whether `got` passes every comparator in `comparator` (StringComparator, DateComparator, ...)."""
    for op, operand in comparator.items():
        if operand is None:
            continue
        if op == "null":
            passed = (got is None) == bool(operand)
        elif got is None:
            passed = False
        else:
            passed = _apply(op, got, _operand(kind, operand, now_ms, path), f"{path}.{op}")
        if not passed:
            return False
    return True


def _apply(op: str, got: Any, operand: Any, path: str) -> bool:
    rule = _OPS.get(op)
    if rule is None:
        raise FilterError(f"the Linear stand-in does not implement {path}", "STAND_IN_UNSUPPORTED")
    return rule(got, operand)


def _fold(text: str) -> str:
    return text.casefold()


def _unaccent(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: bool(a == b),
    "neq": lambda a, b: bool(a != b),
    "in": lambda a, b: a in b,
    "nin": lambda a, b: a not in b,
    "lt": lambda a, b: bool(a < b),
    "lte": lambda a, b: bool(a <= b),
    "gt": lambda a, b: bool(a > b),
    "gte": lambda a, b: bool(a >= b),
    "eqIgnoreCase": lambda a, b: _fold(a) == _fold(b),
    "neqIgnoreCase": lambda a, b: _fold(a) != _fold(b),
    "startsWith": lambda a, b: a.startswith(b),
    "startsWithIgnoreCase": lambda a, b: _fold(a).startswith(_fold(b)),
    "notStartsWith": lambda a, b: not a.startswith(b),
    "endsWith": lambda a, b: a.endswith(b),
    "notEndsWith": lambda a, b: not a.endswith(b),
    "contains": lambda a, b: b in a,
    "notContains": lambda a, b: b not in a,
    "containsIgnoreCase": lambda a, b: _fold(b) in _fold(a),
    "notContainsIgnoreCase": lambda a, b: _fold(b) not in _fold(a),
    "containsIgnoreCaseAndAccent": lambda a, b: _unaccent(b) in _unaccent(a),
}


def _operand(kind: str, operand: Any, now_ms: int, path: str) -> Any:
    """The operand as the value it is compared with: dates as epoch milliseconds."""
    if kind not in _DATE_KINDS:
        return operand
    if isinstance(operand, list):
        return [parse_moment(str(v), now_ms, path) for v in operand]
    return parse_moment(str(operand), now_ms, path)


def parse_moment(value: str, now_ms: int, path: str = "value") -> int:
    """A `DateTimeOrDuration` in epoch milliseconds: an ISO 8601 moment (UTC unless it says), the
    shortcuts `2021` and `2021-01` (midnight UTC), or a duration added to now (`-P2W1D`; a year
    counts 365 days and a month 30 here)."""
    duration = _DURATION.match(value)
    if duration and value.lstrip("-") != "P":
        return now_ms + _duration_ms(duration)
    text = value + "-01-01" if re.fullmatch(r"\d{4}", value) else value
    text = text + "-01" if re.fullmatch(r"\d{4}-\d{2}", text) else text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as e:
        raise FilterError(f"{path}: {value!r} is not a DateTime or a duration") from e
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _duration_ms(found: re.Match[str]) -> int:
    sign, years, months, weeks, days, hours, minutes, seconds = found.groups()
    total_days = int(years or 0) * 365 + int(months or 0) * 30 + int(weeks or 0) * 7 + int(days or 0)
    total_s = total_days * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    return int(total_s * 1000) * (-1 if sign else 1)
