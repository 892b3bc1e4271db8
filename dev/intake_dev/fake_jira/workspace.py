"""The site the stand-in serves: projects, users, issues, comments, and what search has indexed of them.

Entities follow Jira Cloud's REST API v3 (https://developer.atlassian.com/cloud/jira/platform/rest/v3/):
an issue has a numeric `id` (a string in JSON, stable for its life) and a key `<project key>-<n>`;
a move to another project gives it that project's next number while its `id` stays, and its old key
still finds it (operations take `{issueIdOrKey}`; Jira keeps a moved issue's former keys resolvable).
Users are identified by `accountId` since the GDPR changes
(https://developer.atlassian.com/cloud/jira/platform/deprecation-notice-user-privacy-api-migration-guide/),
with `accountType` `atlassian`, `app` or `customer`.

Search lag: the enhanced search is eventually consistent ("Search for issues using JQL enhanced
search", https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/, and the
RFC that introduced it, https://community.developer.atlassian.com/t/rfc-61-evolving-search-capabilities-addressing-scalability-with-a-new-enhanced-search-api/83027):
a change shows in search only `search_lag_seconds` after it is made, while `GET /issue/{idOrKey}`
shows it at once. Atlassian gives no figure ("seconds to minutes"), so the lag is the test's
choice (default 0). Until then search matches and renders the issue as it was before the change
(the stand-in's choice: the index answers with what it indexed), and a new issue is not found at all.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

# statusCategory key -> (id, name, colorName): Jira's three categories and their ids
STATUS_CATEGORIES = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}
# the status an issue of each category has here (one workflow: To Do, In Progress, Done)
STATUS_NAMES = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}
ACCOUNT_TYPES = ("atlassian", "app", "customer")
_ACCOUNT_PREFIX = {"atlassian": "557058", "app": "712020", "customer": "qm"}
_IDS = uuid.UUID("6a1f0e5e-0000-4000-8000-00000000f1a0")
_LABEL = re.compile(r"^\S+$")

Stamp = datetime | int | None  # a moment: an aware datetime, epoch milliseconds, or "now"


@dataclass
class Project:
    id: str
    key: str
    name: str
    next_number: int = 1


@dataclass
class User:
    account_id: str
    email: str
    display_name: str
    account_type: str = "atlassian"
    active: bool = True
    time_zone: str = "UTC"
    email_visible: bool = True


@dataclass(frozen=True)
class IssueSnapshot:
    """An issue as it was at one moment: what the helpers hand back, what search indexed, what the API renders."""

    id: str
    key: str
    number: int
    project_id: str
    project_key: str
    summary: str
    description: dict[str, Any] | None  # an ADF document
    labels: tuple[str, ...]
    assignee: str | None  # accountId
    reporter: str | None  # accountId
    status_category: str  # new | indeterminate | done
    created_ms: int
    updated_ms: int

    @property
    def updated(self) -> str:
        """`fields.updated` as Jira renders it for a user in UTC."""
        return jira_datetime(self.updated_ms)

    @property
    def created(self) -> str:
        return jira_datetime(self.created_ms)


@dataclass
class Issue:
    current: IssueSnapshot
    history: list[tuple[int, IssueSnapshot]] = field(default_factory=list)  # (changed at ms, state) for search
    former_keys: list[str] = field(default_factory=list)


@dataclass
class Comment:
    id: str
    issue_id: str
    author: str  # accountId
    body: dict[str, Any]  # an ADF document
    created_ms: int
    updated_ms: int


def jira_datetime(ms: int, zone: str = "UTC") -> str:
    """Jira's datetime rendering, in the reading user's time zone: `2026-01-05T09:00:00.000+0000`."""
    moment = datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(zone))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}" + moment.strftime("%z")


def adf_text(text: str) -> dict[str, Any]:
    """A one-paragraph ADF document (https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/)."""
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


class Workspace:
    """The site's state and the helpers a test builds it with; `FakeJira` serves it."""

    clock: Callable[[], float]
    search_lag_ms: int
    _lock: threading.RLock
    _offset_s: float
    _next_id: int
    projects: dict[str, Project]  # by id
    users: dict[str, User]  # by accountId
    issues: dict[str, Issue]  # by id
    comment_store: dict[str, Comment]  # by id

    def _init_workspace(self, clock: Callable[[], float], search_lag_seconds: float) -> None:
        self.clock = clock
        self.search_lag_ms = int(search_lag_seconds * 1000)
        self._lock = threading.RLock()
        self._offset_s = 0.0
        self._next_id = 10000
        self.projects, self.users, self.issues, self.comment_store = {}, {}, {}, {}

    # --- time ------------------------------------------------------------------------

    def now(self) -> float:
        """The stand-in's time, epoch seconds: `clock()` plus whatever `advance` added."""
        return self.clock() + self._offset_s

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def advance(self, seconds: float) -> None:
        """Move the stand-in's time forward (search catches up, limits reset, new writes are later)."""
        with self._lock:
            self._offset_s += seconds

    def _stamp(self, at: Stamp) -> int:
        if at is None:
            return self.now_ms()
        if isinstance(at, datetime):
            return int(at.timestamp() * 1000)
        return at

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    # --- building the site -----------------------------------------------------------

    def add_project(self, key: str, name: str | None = None) -> Project:
        with self._lock:
            if self.project_by_key(key) is not None:
                raise ValueError(f"project {key} exists already")
            project = Project(self._new_id(), key, name or key)
            self.projects[project.id] = project
            return project

    def add_user(
        self,
        email: str,
        account_type: str = "atlassian",
        active: bool = True,
        *,
        display_name: str | None = None,
        time_zone: str = "UTC",
        email_visible: bool = True,
    ) -> str:
        """A user of the site; returns its accountId. `account_type`: `atlassian` (a licensed user),
        `app` (an app's bot user) or `customer` (a Jira Service Management portal customer).
        `time_zone` is the profile's zone: JQL dates are read and datetimes rendered in it.
        `email_visible=False` hides `emailAddress`, as a profile's privacy setting does."""
        if account_type not in ACCOUNT_TYPES:
            raise ValueError(f"account_type is one of {ACCOUNT_TYPES}")
        with self._lock:
            if self.user_by_email(email) is not None:
                raise ValueError(f"user {email} exists already")
            account_id = f"{_ACCOUNT_PREFIX[account_type]}:{uuid.uuid5(_IDS, email.casefold())}"
            name = display_name or email.split("@")[0]
            self.users[account_id] = User(account_id, email, name, account_type, active, time_zone, email_visible)
            return account_id

    def add_issue(
        self,
        project: str,
        summary: str,
        *,
        labels: Iterable[str] = (),
        assignee: str | None = None,
        reporter: str | None = None,
        status_category: str = "new",
        description: str | dict[str, Any] | None = None,
        at: Stamp = None,
    ) -> IssueSnapshot:
        """An issue in `project` (a key), numbered next in it. `assignee` and `reporter` are an
        email or an accountId of a user the site has; `description` a string (made a one-paragraph
        ADF document) or an ADF document. `at` sets created and updated (default: now)."""
        with self._lock:
            the_project = self._project(project)
            stamp = self._stamp(at)
            snapshot = IssueSnapshot(
                id=self._new_id(),
                key=f"{the_project.key}-{the_project.next_number}",
                number=the_project.next_number,
                project_id=the_project.id,
                project_key=the_project.key,
                summary=summary,
                description=_description(description),
                labels=_labels(labels),
                assignee=self._account(assignee),
                reporter=self._account(reporter),
                status_category=_category(status_category),
                created_ms=stamp,
                updated_ms=stamp,
            )
            the_project.next_number += 1
            # search sees a change from when it is made (now), whatever `at` says it was
            self.issues[snapshot.id] = Issue(snapshot, [(self.now_ms(), snapshot)])
            return snapshot

    def update_issue(
        self,
        issue_id: str,
        *,
        summary: str | None = None,
        description: str | dict[str, Any] | None = None,
        labels: Iterable[str] | None = None,
        assignee: str | None = None,
        status_category: str | None = None,
        at: Stamp = None,
    ) -> IssueSnapshot:
        """Change an issue as someone would in Jira; `updated` becomes `at` (default now).
        `assignee=""` unassigns it; `labels` replaces its labels."""
        with self._lock:
            issue = self._issue(issue_id)
            changes: dict[str, Any] = {}
            if summary is not None:
                changes["summary"] = summary
            if description is not None:
                changes["description"] = _description(description)
            if labels is not None:
                changes["labels"] = _labels(labels)
            if assignee is not None:
                changes["assignee"] = self._account(assignee) if assignee else None
            if status_category is not None:
                changes["status_category"] = _category(status_category)
            return self._commit(issue, self._stamp(at), **changes)

    def move_issue(self, issue_id: str, project: str, *, at: Stamp = None) -> IssueSnapshot:
        """Move an issue to another project: it gets that project's next key, keeps its id, and its
        old key still finds it."""
        with self._lock:
            issue = self._issue(issue_id)
            target = self._project(project)
            issue.former_keys.append(issue.current.key)
            number = target.next_number
            target.next_number += 1
            return self._commit(
                issue,
                self._stamp(at),
                key=f"{target.key}-{number}",
                number=number,
                project_id=target.id,
                project_key=target.key,
            )

    def close_issue(self, issue_id: str, *, at: Stamp = None) -> IssueSnapshot:
        """Move an issue to Done (statusCategory `done`)."""
        return self.update_issue(issue_id, status_category="done", at=at)

    def set_updated(self, issue_id: str, at: Stamp) -> IssueSnapshot:
        """Give an issue exactly this `updated` (two issues can share a millisecond)."""
        with self._lock:
            issue = self._issue(issue_id)
            return self._commit(issue, self._stamp(at))

    # --- reading ---------------------------------------------------------------------

    def snapshot(self, issue_id: str) -> IssueSnapshot:
        with self._lock:
            return self._issue(issue_id).current

    def comments(self, issue_id: str) -> list[Comment]:
        """An issue's comments, oldest first."""
        with self._lock:
            issue = self._issue(issue_id)
            return sorted(
                (c for c in self.comment_store.values() if c.issue_id == issue.current.id), key=_comment_order
            )

    def labels(self, issue_id: str) -> tuple[str, ...]:
        return self.snapshot(issue_id).labels

    def find_issue(self, id_or_key: str) -> Issue | None:
        """An issue by id or key, current or former (`GET /issue/{issueIdOrKey}` takes either)."""
        if id_or_key in self.issues:
            return self.issues[id_or_key]
        wanted = id_or_key.upper()
        for issue in self.issues.values():
            if issue.current.key.upper() == wanted or wanted in (k.upper() for k in issue.former_keys):
                return issue
        return None

    def indexed(self, issue: Issue, now_ms: int) -> IssueSnapshot | None:
        """What search sees of an issue: its latest state older than the search lag, or None."""
        seen = None
        for changed_ms, state in issue.history:
            if changed_ms + self.search_lag_ms <= now_ms:
                seen = state
        return seen

    def project_by_key(self, key: str) -> Project | None:
        return next((p for p in self.projects.values() if p.key.upper() == key.upper()), None)

    def user_by_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.email.casefold() == email.casefold()), None)

    # --- internals -------------------------------------------------------------------

    def _commit(self, issue: Issue, updated_ms: int, **changes: Any) -> IssueSnapshot:
        """Apply a change made now: search sees it once the lag has passed from now."""
        issue.current = replace(issue.current, updated_ms=updated_ms, **changes)
        issue.history.append((self.now_ms(), issue.current))
        return issue.current

    def _issue(self, id_or_key: str) -> Issue:
        issue = self.find_issue(id_or_key)
        if issue is None:
            raise KeyError(f"no issue {id_or_key}")
        return issue

    def _project(self, key: str) -> Project:
        project = self.project_by_key(key)
        if project is None:
            raise KeyError(f"no project {key}; add_project it first")
        return project

    def _account(self, who: str | None) -> str | None:
        if who is None:
            return None
        if who in self.users:
            return who
        user = self.user_by_email(who)
        if user is None:
            raise KeyError(f"no user {who}; add_user it first")
        return user.account_id


def _comment_order(comment: Comment) -> tuple[int, int]:
    return comment.created_ms, int(comment.id)


def _description(value: str | dict[str, Any] | None) -> dict[str, Any] | None:
    return adf_text(value) if isinstance(value, str) else value


def _labels(labels: Iterable[str]) -> tuple[str, ...]:
    result: list[str] = []
    for label in labels:
        if not _LABEL.match(label):
            raise ValueError(f"The label '{label}' contains spaces which is invalid.")
        if label not in result:
            result.append(label)
    return tuple(result)


def _category(value: str) -> str:
    if value not in STATUS_CATEGORIES:
        raise ValueError(f"status_category is one of {', '.join(STATUS_CATEGORIES)}")
    return value
