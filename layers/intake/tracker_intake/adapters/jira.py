"""The Jira Cloud adapter of the `ChangeFeed` port: a project's open issues that match a rule,
updated since a moment, newest first, through JQL's enhanced search.

Jira Cloud (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/,
https://support.atlassian.com/jira-software-cloud/docs/jql-fields/):
- `POST /rest/api/3/search/jql` with `jql`, `fields` (without them only ids come back),
  `maxResults` and `nextPageToken`; pages end at `isLast`, and there is no `total`;
- the JQL is built here from the rule's fields, never taken from a user: the project, open
  (`statusCategory != Done`), each label, the assignee (an account id or an email: Jira finds a
  user by either), `updated >= "yyyy-MM-dd HH:mm"`, `ORDER BY updated ASC`;
- a JQL date has minute resolution and is read in the credential's user's time zone (their
  profile's, `GET /rest/api/3/myself`), so "updated after" is written in that zone, rounded up
  to the minute;
- search is eventually consistent: a change can take a while to show, so the overlap is minutes;
- an issue's `id` is a number for its whole life; its `key` (`PROJ-123`) changes when it moves
  to another project. The canonical id is `jira:<site>/<id>`.

Who reported an issue: `reporter.accountType` (`atlassian`: a user of the site, `app`, or
`customer`: a Jira Service Management portal customer) and `active`, read as the kinds
`trackerIntake.authors` names (`MEMBER`, `APP`, `CUSTOMER`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker_intake.adapters.jira_http import JiraClient
from tracker_intake.domain.config import Reporter
from tracker_intake.domain.errors import BadTrackerResponse, TrackerError
from tracker_intake.domain.issue import Issue
from tracker_intake.domain.sync import DEFAULT_RECONCILE_EVERY
from tracker_intake.domain.tracker import DEFAULT_PAGE_CAP, IssueQuery, Page, Retries

PAGE_SIZE = 50
# Atlassian documents that search is eventually consistent: a change can take seconds to minutes
# to show. Five minutes re-read below the watermark (JQL's minute resolution on top), for the
# ten minutes after it moves (domain/sync.py: twice the overlap).
JIRA_OVERLAP = timedelta(minutes=5)
# When the user's time zone cannot be known, a JQL date is written this much earlier than the
# moment in UTC: no zone is further ahead, so nothing is missed (more is re-read).
WIDEST_OFFSET = timedelta(hours=14)
FIELDS = ("summary", "description", "labels", "assignee", "reporter", "status", "created", "updated", "project")
SEARCH = "/rest/api/3/search/jql"
# Each credential's user's time zone, by the client's identity (a digest), for this container.
_ZONES: dict[str, tzinfo | None] = {}


class JiraTracker:
    """Reads a Jira Cloud project's matching issues with one credential."""

    overlap = JIRA_OVERLAP
    reconcile_every = DEFAULT_RECONCILE_EVERY

    def __init__(self, client: JiraClient, site: str, *, page_size: int = PAGE_SIZE) -> None:
        self._client = client
        self._site = site.lower()
        self._page_size = page_size

    def __repr__(self) -> str:
        return f"JiraTracker({self._site!r}, {self._client!r})"

    def changes(
        self,
        query: IssueQuery,
        since: datetime | None,
        after: str | None,
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
    ) -> Iterator[Page]:
        where = f"Jira project {query.team} on {self._site}"
        jql = build_jql(query, None if since is None else self._local(since, retries))
        for index in range(1, page_cap + 1):
            body: dict[str, Any] = {"jql": jql, "fields": list(FIELDS), "maxResults": self._page_size}
            if after is not None:
                body["nextPageToken"] = after
            answer = self._client.call("POST", SEARCH, where, json=body, retries=retries)
            issues, after, last = self._page(answer.data, where, index)
            yield Page(
                f"{where} page {index}",
                index,
                True,
                issues,
                next_url=after,
                rate=answer.rate,
                item_count=len(issues),
                continues=not last,
                truncated=not last and index == page_cap,
            )
            if last:
                return

    def check_project(self, project: str) -> str | None:
        """Whether the credential sees the project: None, or why not."""
        try:
            self._client.call("GET", f"/rest/api/3/project/{project}", f"Jira project {project}")
        except TrackerError as e:
            return str(e)
        return None

    def _local(self, since: datetime, retries: Retries | None) -> str:
        """`since` ("updated after") as a JQL date in the credential's user's zone, rounded up to
        the minute: JQL reads dates to the minute, and `updated >= <the minute after since>` does
        not re-read, poll after poll, every issue updated in the watermark's own minute (a bulk
        edit's). What was updated later in that minute shows while the overlap is re-read
        (domain/sync.py); later still, the hourly reconcile takes it."""
        zone = self._user_zone(retries)
        moment = since.astimezone(zone) if zone is not None else since.astimezone(UTC) - WIDEST_OFFSET
        floor = moment.replace(second=0, microsecond=0)
        return (floor if floor == moment else floor + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")

    def _user_zone(self, retries: Retries | None) -> tzinfo | None:
        """The credential's user's zone, asked once per container and credential (None: not known)."""
        identity = self._client.identity
        if identity not in _ZONES:
            me = self._client.call("GET", "/rest/api/3/myself", "Jira's myself", retries=retries).data
            name = me.get("timeZone") if isinstance(me, dict) else None
            try:
                _ZONES[identity] = ZoneInfo(name) if isinstance(name, str) else UTC
            except (ZoneInfoNotFoundError, ValueError):
                _ZONES[identity] = None
        return _ZONES[identity]

    def _page(self, data: Any, where: str, index: int) -> tuple[tuple[Issue, ...], str | None, bool]:
        try:
            issues = tuple(to_issue(self._site, item) for item in data["issues"])
            token = data.get("nextPageToken")
            last = bool(data.get("isLast", token is None))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise BadTrackerResponse(f"Jira's page {index} for {where} cannot be read: {type(e).__name__} {e}") from e
        if not last and not isinstance(token, str):
            raise BadTrackerResponse(f"Jira's page {index} for {where} has more pages but no nextPageToken")
        return issues, token if isinstance(token, str) else None, last


def build_jql(query: IssueQuery, since: str | None) -> str:
    """The rule as JQL: the project, open, every label, the assignee, updated since (none: all)."""
    clauses = [f"project = {_quoted(query.team or '')}", "statusCategory != Done"]
    clauses += [f"labels = {_quoted(label)}" for label in query.labels]
    if query.assignee == "*":
        clauses.append("assignee is not EMPTY")
    elif query.assignee == "none":
        clauses.append("assignee is EMPTY")
    elif query.assignee is not None:
        clauses.append(f"assignee = {_quoted(query.assignee)}")
    if since is not None:
        clauses.append(f"updated >= {_quoted(since)}")
    # Oldest first: an issue updated during a walk moves behind the page cursor and is read again
    # (or by the next poll), where newest first could let it jump ahead of the cursor unread.
    return " AND ".join(clauses) + " ORDER BY updated ASC"


def _quoted(value: str) -> str:
    """A JQL string literal: double quotes, with `"` and `\\` escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_issue(site: str, item: Mapping[str, Any]) -> Issue:
    fields = item["fields"]
    key = str(item["key"])
    project, _, number = key.rpartition("-")
    reporter, kind = _reporter(fields.get("reporter"))
    assignee = fields.get("assignee")
    category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
    return Issue(
        owner=site,
        repo=project,
        number=int(number),
        title=str(fields.get("summary") or ""),
        url=f"https://{site}/browse/{key}",
        labels=tuple(str(label) for label in fields.get("labels") or ()),
        assignees=_person(assignee),
        body=adf_text(fields.get("description")),
        created_at=jira_time(fields.get("created")),
        updated_at=jira_time(fields["updated"]),
        state="closed" if category == "done" else "open",
        author=reporter,
        author_association=kind,
        provider="jira",
        key=str(item["id"]),
        identifier=key,
    )


def _person(user: Any) -> tuple[str, ...]:
    if not isinstance(user, dict):
        return ()
    named = user.get("emailAddress") or user.get("accountId")
    return (str(named),) if named else ()


def _reporter(user: Any) -> tuple[str | None, str | None]:
    if not isinstance(user, dict):
        return None, None
    name = user.get("displayName") or user.get("emailAddress") or user.get("accountId")
    kind = {"atlassian": Reporter.MEMBER, "app": Reporter.APP, "customer": Reporter.CUSTOMER}.get(
        str(user.get("accountType"))
    )
    if kind is Reporter.MEMBER and user.get("active") is False:
        kind = None  # a deactivated user is trusted no more
    return name, kind


def jira_time(value: Any) -> datetime | None:
    """Jira's `2026-01-05T09:00:00.000+0000` (or ISO 8601)."""
    if not isinstance(value, str) or not value:
        return None
    for form in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value, form)
        except ValueError:
            continue
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def adf_text(document: Any) -> str:
    """An Atlassian Document Format document's text, a line per block (untrusted, as any body)."""
    if isinstance(document, str):
        return document
    lines: list[str] = []
    _collect(document, lines)
    return "\n".join(line for line in lines if line)


def _collect(node: Any, lines: list[str]) -> None:
    if not isinstance(node, dict):
        return
    if node.get("type") == "text" and isinstance(node.get("text"), str):
        if not lines:
            lines.append("")
        lines[-1] += node["text"]
        return
    children = node.get("content")
    if not isinstance(children, list):
        return
    for child in children:
        if isinstance(child, dict) and child.get("type") in ("paragraph", "heading", "listItem", "codeBlock"):
            lines.append("")
        _collect(child, lines)
