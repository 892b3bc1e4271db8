"""The Linear adapter of the `ChangeFeed` port: the open issues of a team that match a rule,
updated since a moment, newest first, through Linear's GraphQL API.

Linear (https://linear.app/developers/filtering, /pagination):
- `issues(filter:, first:, after:, orderBy: updatedAt)` with cursor pages (`pageInfo { hasNextPage
  endCursor }`); archived issues are left out unless asked for;
- a filter per field: the team by key, the workflow state by type, labels (each of the rule's
  must be among the issue's: one `labels: {some: ...}` per label, under `and`), the assignee
  by email or `null`, `updatedAt: {gt: ...}`;
- an issue's `id` is a UUID for its whole life; its `identifier` (`ENG-123`) changes when it
  moves to another team. The canonical id is `linear:<workspace url key>/<id>`.

Open is a workflow state of type `triage`, `backlog`, `unstarted` or `started`; `completed` and
`canceled` are closed. Who created an issue: `creator` (a user: `app`, `guest`, `active`), or, for an
integration, `botActor`, read as the kinds `trackerIntake.authors` names (`MEMBER`, `GUEST`, `APP`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from tracker_intake.adapters.linear_http import Answer, LinearClient
from tracker_intake.domain.config import Creator
from tracker_intake.domain.errors import BadTrackerResponse, TrackerError
from tracker_intake.domain.issue import Issue
from tracker_intake.domain.sync import DEFAULT_RECONCILE_EVERY
from tracker_intake.domain.tracker import DEFAULT_PAGE_CAP, IssueQuery, Page, Retries

OPEN_STATE_TYPES = ("triage", "backlog", "unstarted", "started")
# Issues a page. A query's complexity (what it costs of the credential's points an hour) is
# counted on `first`, however few issues come back, so a page is small (about 110 points): an
# incremental read finds a few changes at most, and a reconcile of many issues costs about the
# same points in more requests. A rule that matches nothing yet has no watermark, so each of its
# polls is a reconcile: with small pages that costs what a steady-state poll costs.
PAGE_SIZE = 10
# Linear stamps `updatedAt` in milliseconds when a change is written; a change written in the same
# instant as the newest one a walk saw, or committed a moment after being stamped, still shows.
LINEAR_OVERLAP = timedelta(seconds=5)

# An issue's labels are read only as far as the rule names them (its labels and its exclusions,
# ignoring case): a query's complexity counts each label object it could return, so reading
# every label of every issue would cost several times the rest of the query.
ISSUES_QUERY = """
query IntakeIssues(
  $filter: IssueFilter, $first: Int, $after: String, $labels: IssueLabelFilter, $labelsFirst: Int
) {
  organization { urlKey }
  issues(filter: $filter, first: $first, after: $after, orderBy: updatedAt) {
    nodes {
      id identifier title description url createdAt updatedAt archivedAt
      state { type }
      labels(first: $labelsFirst, filter: $labels) { nodes { name } }
      assignee { email }
      creator { name email guest app active }
      botActor { name }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

TEAM_QUERY = """
query IntakeTeam($team: String!) {
  organization { urlKey }
  issues(first: 1, filter: {team: {key: {eqIgnoreCase: $team}}}) { nodes { id } }
}
"""


class LinearTracker:
    """Reads a Linear team's matching issues with one credential."""

    overlap = LINEAR_OVERLAP
    reconcile_every = DEFAULT_RECONCILE_EVERY

    def __init__(self, client: LinearClient, *, page_size: int = PAGE_SIZE) -> None:
        self._client = client
        self._page_size = page_size

    def __repr__(self) -> str:
        return f"LinearTracker({self._client!r})"

    def changes(
        self,
        query: IssueQuery,
        since: datetime | None,
        after: str | None,
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
    ) -> Iterator[Page]:
        where = f"Linear team {query.team}"
        variables: dict[str, Any] = {
            "filter": issue_filter(query, since),
            "first": self._page_size,
            **labels_read(query),
        }
        for index in range(1, page_cap + 1):
            answer = self._client.query(ISSUES_QUERY, {**variables, "after": after}, where, retries)
            issues, more, after = _page(answer, where, index)
            yield Page(
                f"{where} page {index}",
                index,
                True,
                issues,
                next_url=after,
                rate=answer.rate,
                item_count=len(issues),
                continues=more,
                truncated=more and index == page_cap,
            )
            if not more:
                return

    def check_team(self, team: str) -> str | None:
        """Whether the credential sees the team's issues: None, or why not (a credential check).

        Linear answers an unknown team's filter with no issues, as it does a team with none: a
        team without a single issue reads as not visible."""
        try:
            answer = self._client.query(TEAM_QUERY, {"team": team}, f"Linear team {team}")
        except TrackerError as e:
            return str(e)
        issues = answer.data.get("issues")
        nodes = issues.get("nodes") if isinstance(issues, dict) else None
        if not nodes:
            return f"no issue of team {team} is visible to this credential (no such team, or its user is not in it)"
        return None


def issue_filter(query: IssueQuery, since: datetime | None) -> dict[str, Any]:
    """The rule as Linear's `IssueFilter`: the team, open states, every label, the assignee, and
    `updatedAt` after `since` (none: every matching open issue, a reconcile)."""
    rule: dict[str, Any] = {
        "team": {"key": {"eqIgnoreCase": query.team}},
        "state": {"type": {"in": list(OPEN_STATE_TYPES)}},
    }
    if query.labels:
        rule["and"] = [{"labels": {"some": {"name": {"eqIgnoreCase": label}}}} for label in query.labels]
    if query.assignee == "*":
        rule["assignee"] = {"null": False}
    elif query.assignee == "none":
        rule["assignee"] = {"null": True}
    elif query.assignee is not None:
        rule["assignee"] = {"email": {"eqIgnoreCase": query.assignee}}
    if since is not None:
        rule["updatedAt"] = {"gt": since.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    return rule


def labels_read(query: IssueQuery) -> dict[str, Any]:
    """The labels to read of each issue: those the rule names, each ignoring case (none: none)."""
    named = list(dict.fromkeys(label.casefold() for label in (*query.labels, *query.checked_labels)))
    if not named:
        return {"labels": {"name": {"in": []}}, "labelsFirst": 1}
    return {"labels": {"or": [{"name": {"eqIgnoreCase": label}} for label in named]}, "labelsFirst": len(named)}


def _page(answer: Answer, where: str, index: int) -> tuple[tuple[Issue, ...], bool, str | None]:
    try:
        workspace = answer.data["organization"]["urlKey"]
        connection = answer.data["issues"]
        nodes = connection["nodes"]
        info = connection["pageInfo"]
        issues = tuple(to_issue(workspace, node) for node in nodes)
        more = bool(info["hasNextPage"])
        cursor = info.get("endCursor")
    except (KeyError, TypeError, ValueError) as e:
        raise BadTrackerResponse(f"Linear's page {index} for {where} cannot be read: {type(e).__name__} {e}") from e
    if more and not isinstance(cursor, str):
        raise BadTrackerResponse(f"Linear's page {index} for {where} has more pages but no endCursor")
    return issues, more, cursor if isinstance(cursor, str) else None


def to_issue(workspace: str, node: Mapping[str, Any]) -> Issue:
    identifier = str(node["identifier"])
    team = identifier.rpartition("-")[0]
    open_state = (node.get("state") or {}).get("type") in OPEN_STATE_TYPES and not node.get("archivedAt")
    assignee = node.get("assignee")
    creator, kind = _creator(node)
    return Issue(
        owner=workspace,
        repo=str(team),
        number=int(identifier.rpartition("-")[2]),
        title=str(node.get("title") or ""),
        url=str(node["url"]),
        labels=tuple(str(label["name"]) for label in node["labels"]["nodes"]),
        assignees=(assignee["email"],) if isinstance(assignee, dict) and assignee.get("email") else (),
        body=str(node.get("description") or ""),
        created_at=_timestamp(node.get("createdAt")),
        updated_at=_timestamp(node["updatedAt"]),
        state="open" if open_state else "closed",
        author=creator,
        author_association=kind,
        provider="linear",
        key=str(node["id"]),
        identifier=identifier,
    )


def _creator(node: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """Who created the issue and their kind: a guest, a member, or an app (an integration's
    `botActor`, or no creator at all); None for a user Linear no longer counts active."""
    user = node.get("creator")
    if isinstance(user, dict):
        name = user.get("name") or user.get("email")
        if user.get("app"):
            return name, Creator.APP
        if user.get("guest"):
            return name, Creator.GUEST
        return name, Creator.MEMBER if user.get("active", True) else None
    bot = node.get("botActor")
    if isinstance(bot, dict):
        return bot.get("name") or "an integration", Creator.APP
    return None, None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
