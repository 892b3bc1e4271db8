"""The JQL fields the stand-in serves, the operators each supports, and what a clause matches.

From "JQL fields" and "JQL operators" (https://support.atlassian.com/jira-software-cloud/docs/jql-fields/,
https://support.atlassian.com/jira-software-cloud/docs/jql-operators/):

- `project`: a key, id or name; `statusCategory`: a name (`To Do`, `In Progress`, `Done`), key
  (`new`, `indeterminate`, `done`) or id; a value the site does not have is an error
  ("The value 'X' does not exist for the field 'project'.").
- `assignee`, `reporter`: "You can search by the user's full name, ID, or email address" (the
  fields reference, https://confluence.atlassian.com/display/JIRACORESERVER0713/Advanced+searching+-+fields+reference;
  the Cloud page's operator examples use the accountId). Usernames went with the GDPR changes, so
  the stand-in takes an accountId or the account's email, matched ignoring case (whether or not
  the profile shows it). `EMPTY` is unassigned. A full name is not served.
- `labels`: one label per `=`. Atlassian's Cloud pages do not say whether label search ignores
  case; guides say labels were case-sensitive "for all Jira versions before 7.10". The stand-in
  matches ignoring case by default; `labels_case_sensitive=True` makes it exact.
- `updated`, `created`: `"yyyy/MM/dd HH:mm"`, `"yyyy-MM-dd HH:mm"`, `"yyyy/MM/dd"`, `"yyyy-MM-dd"`
  (midnight when no time is given) or a period (`-5d`, `-4w 2d`; units w d h m, not y and M).
  JQL dates have minute resolution and are read in the time zone of the searching user's profile
  (the fields reference: "the search results will be relative to your configured time zone"), so
  `updated >= "2026-01-05 09:00"` for a user in Europe/Berlin means 08:00 UTC. A bad date: "Date
  value 'x' for field 'updated' is invalid. ...".
- `!=` and `NOT IN` do not match an empty field (the operators page: "the != operator will not
  match a field that has no value"), so `labels not in (...)` skips unlabelled issues.
- An unknown field: "Field 'x' does not exist or you do not have permission to view it."; an
  operator the field does not take: "The operator 'x' is not supported by the 'y' field."
- `ORDER BY` takes `updated`, `created`, `key` and `id`, `ASC` (default) or `DESC`; ties fall back
  to `id` ascending (Jira does not say how it breaks ties).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .jql import And, Clause, JqlError, Node, Not, Or, Query, Sort
from .workspace import STATUS_CATEGORIES, IssueSnapshot, Project, User

Matcher = Callable[[IssueSnapshot], bool]
_EQUALITY = ("=", "!=", "IN", "NOT IN")
_EMPTINESS = ("IS", "IS NOT")
_SETS = ("=", "!=", "IN", "NOT IN", "IS", "IS NOT")
_DATES = ("<", ">", "<=", ">=", "=", "!=", "IS", "IS NOT")
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_PERIOD = re.compile(r"^([-+]?)((?:\d+[wdhm]\s*)+)$")
_PERIOD_PART = re.compile(r"(\d+)([wdhm])")
_UNIT_MINUTES = {"w": 7 * 24 * 60, "d": 24 * 60, "h": 60, "m": 1}
_SORTS: dict[str, Callable[[IssueSnapshot], tuple[object, ...]]] = {
    "updated": lambda i: (i.updated_ms,),
    "created": lambda i: (i.created_ms,),
    "key": lambda i: (i.project_key, i.number),
    "id": lambda i: (int(i.id),),
}


@dataclass(frozen=True)
class Searcher:
    """What a clause is read against: the site's projects and users, who searches, and when."""

    projects: tuple[Project, ...]
    users: tuple[User, ...]
    zone: str
    now_ms: int
    labels_case_sensitive: bool = False


def compile_query(query: Query, searcher: Searcher) -> tuple[Matcher, Callable[[IssueSnapshot], tuple[object, ...]]]:
    """The matcher and the sort key of a parsed query; `JqlError` for a clause Jira refuses."""
    if query.where is None:
        raise JqlError("Unbounded JQL queries are not allowed here. Please add a search restriction to your query.")
    matcher = _node(query.where, searcher)
    return matcher, _sort_key(query.order_by)


def _node(node: Node, searcher: Searcher) -> Matcher:
    if isinstance(node, And):
        parts = [_node(n, searcher) for n in node.operands]
        return lambda issue: all(p(issue) for p in parts)
    if isinstance(node, Or):
        parts = [_node(n, searcher) for n in node.operands]
        return lambda issue: any(p(issue) for p in parts)
    if isinstance(node, Not):
        inner = _node(node.operand, searcher)
        return lambda issue: not inner(issue)
    return _clause(node, searcher)


def _clause(clause: Clause, searcher: Searcher) -> Matcher:
    name = clause.field.lower()
    build = _FIELDS.get(name)
    if build is None:
        raise JqlError(f"Field '{clause.field}' does not exist or you do not have permission to view it.")
    operators, make = build
    if clause.operator not in operators:
        raise JqlError(f"The operator '{clause.operator.lower()}' is not supported by the '{clause.field}' field.")
    _check_shape(clause)
    return make(clause, searcher)


def _check_shape(clause: Clause) -> None:
    listed = clause.operator in ("IN", "NOT IN")
    if listed and not clause.is_list:
        raise JqlError(
            f"The operator '{clause.operator.lower()}' requires a list of values for the field '{clause.field}'."
        )
    if clause.is_list and not listed:
        raise JqlError(
            f"The operator '{clause.operator}' does not support a list of values for the field '{clause.field}'."
        )
    if clause.operator in _EMPTINESS and not clause.values[0].empty:
        raise JqlError(
            f"The operator '{clause.operator.lower()}' only supports EMPTY or NULL for the field '{clause.field}'."
        )


def _set_matcher(
    clause: Clause, wanted: frozenset[str] | None, value_of: Callable[[IssueSnapshot], frozenset[str]]
) -> Matcher:
    """=, !=, IN, NOT IN, IS, IS NOT over a field holding a set of values; `wanted` None means EMPTY."""
    negative = clause.operator in ("!=", "NOT IN", "IS NOT")
    if wanted is None:
        return lambda issue: bool(value_of(issue)) == negative
    if negative:
        return lambda issue: bool(value_of(issue)) and not (value_of(issue) & wanted)
    return lambda issue: bool(value_of(issue) & wanted)


def _project(clause: Clause, searcher: Searcher) -> Matcher:
    ids: set[str] = set()
    for value in clause.values:
        found = next(
            (p for p in searcher.projects if value.text.upper() in (p.key.upper(), p.id, p.name.upper())), None
        )
        if found is None:
            raise JqlError(f"The value '{value.text}' does not exist for the field '{clause.field}'.")
        ids.add(found.id)
    return _set_matcher(clause, frozenset(ids), lambda issue: frozenset((issue.project_id,)))


def _status_category(clause: Clause, searcher: Searcher) -> Matcher:
    keys: set[str] = set()
    for value in clause.values:
        text = value.text.casefold()
        key = next((k for k, (i, n, _) in STATUS_CATEGORIES.items() if text in (k, str(i), n.casefold())), None)
        if key is None:
            raise JqlError(f"The value '{value.text}' does not exist for the field '{clause.field}'.")
        keys.add(key)
    return _set_matcher(clause, frozenset(keys), lambda issue: frozenset((issue.status_category,)))


def _labels(clause: Clause, searcher: Searcher) -> Matcher:
    def fold(label: str) -> str:
        return label if searcher.labels_case_sensitive else label.casefold()

    if clause.values[0].empty:
        return _set_matcher(clause, None, lambda issue: frozenset(issue.labels))
    wanted = frozenset(fold(v.text) for v in clause.values)
    return _set_matcher(clause, wanted, lambda issue: frozenset(fold(label) for label in issue.labels))


def _user_field(attribute: str) -> Callable[[Clause, Searcher], Matcher]:
    def make(clause: Clause, searcher: Searcher) -> Matcher:
        def value_of(issue: IssueSnapshot) -> frozenset[str]:
            account = getattr(issue, attribute)
            return frozenset((account,)) if account else frozenset()

        if clause.values[0].empty:
            return _set_matcher(clause, None, value_of)
        accounts = frozenset(_account(v.text, clause.field, searcher) for v in clause.values)
        return _set_matcher(clause, accounts, value_of)

    return make


def _account(text: str, field: str, searcher: Searcher) -> str:
    for user in searcher.users:
        if text == user.account_id or text.casefold() == user.email.casefold():
            return user.account_id
    raise JqlError(f"The value '{text}' does not exist for the field '{field}'.")


def _date_field(attribute: str) -> Callable[[Clause, Searcher], Matcher]:
    def make(clause: Clause, searcher: Searcher) -> Matcher:
        def value_of(issue: IssueSnapshot) -> int:
            return int(getattr(issue, attribute))

        if clause.operator in _EMPTINESS:
            # created and updated always have a value
            return lambda issue: clause.operator == "IS NOT"
        bound = jql_date(clause.values[0].text, clause.field, searcher.zone, searcher.now_ms)
        compare: dict[str, Callable[[int], bool]] = {
            "=": lambda ms: ms == bound,
            "!=": lambda ms: ms != bound,
            "<": lambda ms: ms < bound,
            ">": lambda ms: ms > bound,
            "<=": lambda ms: ms <= bound,
            ">=": lambda ms: ms >= bound,
        }
        test = compare[clause.operator]
        return lambda issue: test(value_of(issue))

    return make


def jql_date(text: str, field: str, zone: str, now_ms: int) -> int:
    """A JQL date value as epoch milliseconds, read in the searching user's time zone."""
    for form in _DATE_FORMATS:
        try:
            local = datetime.strptime(text.strip(), form)
        except ValueError:
            continue
        return int(local.replace(tzinfo=ZoneInfo(zone)).timestamp() * 1000)
    period = _PERIOD.match(text.strip())
    if period is None:
        raise JqlError(
            f"Date value '{text}' for field '{field}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
            "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
        )
    minutes = sum(int(n) * _UNIT_MINUTES[unit] for n, unit in _PERIOD_PART.findall(period.group(2)))
    sign = -1 if period.group(1) == "-" else 1
    # a period counts from now, to the minute (JQL dates have minute resolution)
    now_minute = now_ms - now_ms % 60_000
    return now_minute + sign * int(timedelta(minutes=minutes).total_seconds() * 1000)


def _sort_key(order_by: tuple[Sort, ...]) -> Callable[[IssueSnapshot], tuple[object, ...]]:
    for sort in order_by:
        if sort.field.lower() not in _SORTS:
            raise JqlError(f"Field '{sort.field}' does not exist or you do not have permission to view it.")

    def key(issue: IssueSnapshot) -> tuple[object, ...]:
        parts: list[object] = []
        for sort in order_by:
            values = _SORTS[sort.field.lower()](issue)
            parts.extend(_Desc(v) if sort.descending else v for v in values)
        parts.append(int(issue.id))
        return tuple(parts)

    return key


@dataclass(frozen=True)
class _Desc:
    """A sort value in reverse order."""

    value: object

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.value < self.value)  # type: ignore[operator]


_FIELDS: dict[str, tuple[tuple[str, ...], Callable[[Clause, Searcher], Matcher]]] = {
    "project": (_EQUALITY, _project),
    "statuscategory": (_EQUALITY, _status_category),
    "labels": (_SETS, _labels),
    "assignee": (_SETS, _user_field("assignee")),
    "reporter": (_SETS, _user_field("reporter")),
    "updated": (_DATES, _date_field("updated_ms")),
    "updateddate": (_DATES, _date_field("updated_ms")),
    "created": (_DATES, _date_field("created_ms")),
    "createddate": (_DATES, _date_field("created_ms")),
}
