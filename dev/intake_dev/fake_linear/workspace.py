"""The workspace the stand-in serves: its organization, teams, users, issues, labels, comments and reactions.

Entities follow Linear's data model (https://linear.app/developers/graphql): every entity has a
UUID `id`; an issue also has a team-scoped `number`, so its `identifier` is `<team key>-<number>`,
and a move to another team gives it the next number there while its `id` stays. Times are the
stand-in's clock in epoch milliseconds, the resolution Linear's `DateTime` values carry.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

# The workflow state types Linear has (WorkflowState.type), with the name a new team's state gets.
STATE_TYPES = {
    "triage": "Triage",
    "backlog": "Backlog",
    "unstarted": "Todo",
    "started": "In Progress",
    "completed": "Done",
    "canceled": "Canceled",
}
_IDS = uuid.UUID("4f1e1a5e-0000-4000-8000-00000000f00d")  # the namespace of the stand-in's ids


@dataclass
class Team:
    id: str
    key: str
    name: str
    next_number: int = 1


@dataclass
class User:
    id: str
    email: str
    name: str
    admin: bool = False
    guest: bool = False
    active: bool = True
    app: bool = False


@dataclass
class Label:
    id: str
    name: str
    team_id: str | None  # None: a workspace label, usable in every team
    created_ms: int


@dataclass
class Comment:
    id: str
    issue_id: str
    body: str
    user_id: str
    created_ms: int
    updated_ms: int


@dataclass
class Reaction:
    id: str
    issue_id: str
    emoji: str
    user_id: str
    created_ms: int


@dataclass
class BotActor:
    """Issue.botActor: "The bot that created the issue, if applicable" (an integration, not a user)."""

    type: str
    name: str | None = None
    sub_type: str | None = None
    user_display_name: str | None = None


@dataclass
class Issue:
    id: str
    team_id: str
    number: int
    title: str
    description: str | None
    state_type: str
    label_ids: list[str]
    assignee_id: str | None
    creator_id: str | None
    bot_actor: BotActor | None
    created_ms: int
    updated_ms: int
    archived_ms: int | None = None
    # identifiers it had in teams it was moved out of: Linear still finds the issue by them
    former_identifiers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class IssueSnapshot:
    """What the workspace helpers hand back: an issue as it is now."""

    id: str
    identifier: str
    number: int
    team: str
    title: str
    description: str | None
    state_type: str
    labels: tuple[str, ...]
    assignee: str | None
    creator: str | None
    url: str
    created_at_ms: int
    updated_at_ms: int
    archived_at_ms: int | None

    @property
    def updated_at(self) -> str:
        """`updatedAt` exactly as the API renders it."""
        return iso_ms(self.updated_at_ms)

    @property
    def created_at(self) -> str:
        return iso_ms(self.created_at_ms)


Stamp = datetime | int | None  # a moment: an aware datetime, epoch milliseconds, or "now"


def iso_ms(ms: int) -> str:
    """Linear's DateTime rendering: ISO 8601 in UTC with milliseconds, `2026-01-05T09:00:00.000Z`."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def state_id(team_id: str, state_type: str) -> str:
    """The id of a team's workflow state of one type (each team has one state per type here)."""
    return str(uuid.uuid5(_IDS, f"state-{team_id}-{state_type}"))


def slug(title: str) -> str:
    """The title part of an issue URL (`/issue/ENG-12/<slug>`): lower case, words joined by `-`."""
    words = re.findall(r"[a-z0-9]+", title.casefold())
    return "-".join(words)[:60].strip("-") or "issue"


class Workspace:
    """The workspace's state and the helpers a test builds it with; `FakeLinear` serves it."""

    clock: Callable[[], float]
    url_key: str
    org_name: str
    org_id: str
    comment_bumps_issue: bool
    _lock: threading.RLock
    _offset_s: float
    _ids: int
    _sync_id: int
    teams: dict[str, Team]
    users: dict[str, User]
    issues: dict[str, Issue]
    labels: dict[str, Label]
    comments: dict[str, Comment]
    reactions: dict[str, Reaction]

    def _init_workspace(
        self, clock: Callable[[], float], url_key: str, org_name: str, comment_bumps_issue: bool
    ) -> None:
        self.clock = clock
        self.url_key = url_key
        self.org_name = org_name
        self.comment_bumps_issue = comment_bumps_issue
        self._lock = threading.RLock()
        self._offset_s = 0.0
        self._ids = 0
        self._sync_id = 1000
        self.org_id = self._new_id("organization")
        self.teams, self.users, self.issues = {}, {}, {}
        self.labels, self.comments, self.reactions = {}, {}, {}

    # --- time ------------------------------------------------------------------------

    def now(self) -> float:
        """The stand-in's time, epoch seconds: `clock()` plus whatever `advance` added."""
        return self.clock() + self._offset_s

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def advance(self, seconds: float) -> None:
        """Move the stand-in's time forward (rate-limit buckets refill, new writes are later)."""
        with self._lock:
            self._offset_s += seconds

    def _stamp(self, at: Stamp) -> int:
        if at is None:
            return self.now_ms()
        if isinstance(at, datetime):
            return int(at.timestamp() * 1000)
        return at

    def _new_id(self, kind: str) -> str:
        """A UUID, stable from run to run (the n-th entity gets the same id every time)."""
        self._ids += 1
        return str(uuid.uuid5(_IDS, f"{kind}-{self._ids}"))

    def _next_sync_id(self) -> int:
        self._sync_id += 1
        return self._sync_id

    # --- building the workspace ------------------------------------------------------

    def add_team(self, key: str, name: str | None = None) -> Team:
        with self._lock:
            if self._team_by_key(key) is not None:
                raise ValueError(f"team {key} exists already")
            team = Team(self._new_id("team"), key, name or key)
            self.teams[team.id] = team
            return team

    def add_user(
        self,
        email: str,
        name: str | None = None,
        *,
        guest: bool = False,
        admin: bool = False,
        app: bool = False,
        active: bool = True,
    ) -> User:
        """A member (`guest`: a guest; `app`: an app user, the actor of an OAuth app installed as
        `actor=app`, https://linear.app/developers/oauth-2-0-authentication)."""
        with self._lock:
            if self._user_by_email(email) is not None:
                raise ValueError(f"user {email} exists already")
            user = User(self._new_id("user"), email, name or email.split("@")[0], admin, guest, active, app)
            self.users[user.id] = user
            return user

    def add_label(self, name: str, team: str | None = None) -> Label:
        """A label of a team (by key), or of the whole workspace when `team` is None."""
        with self._lock:
            team_id = self._team(team).id if team is not None else None
            label = Label(self._new_id("label"), name, team_id, self.now_ms())
            self.labels[label.id] = label
            return label

    def add_issue(
        self,
        team: str,
        title: str,
        *,
        labels: Iterable[str] = (),
        assignee: str | None = None,
        creator: str | None = None,
        state_type: str = "unstarted",
        description: str | None = None,
        bot_actor: BotActor | None = None,
        at: Stamp = None,
    ) -> IssueSnapshot:
        """An issue in `team` (a key), numbered next in it. Labels are found by name in the team or
        the workspace, and made in the team when missing; `assignee` and `creator` are emails of
        users the workspace has. `at` sets createdAt and updatedAt (default: now)."""
        with self._lock:
            the_team = self._team(team)
            stamp = self._stamp(at)
            issue = Issue(
                id=self._new_id("issue"),
                team_id=the_team.id,
                number=the_team.next_number,
                title=title,
                description=description,
                state_type=_state_type(state_type),
                label_ids=[self._label_for(the_team, name).id for name in labels],
                assignee_id=self._user_id(assignee),
                creator_id=self._user_id(creator),
                bot_actor=bot_actor,
                created_ms=stamp,
                updated_ms=stamp,
            )
            the_team.next_number += 1
            self.issues[issue.id] = issue
            return self.snapshot(issue.id)

    def update_issue(
        self,
        issue_id: str,
        *,
        title: str | None = None,
        description: str | None = None,
        labels: Iterable[str] | None = None,
        assignee: str | None = None,
        state_type: str | None = None,
        at: Stamp = None,
    ) -> IssueSnapshot:
        """Change an issue as someone would in Linear; its updatedAt becomes `at` (default now).
        `assignee=""` unassigns it; `labels` replaces its labels."""
        with self._lock:
            issue = self._issue(issue_id)
            team = self.teams[issue.team_id]
            issue.title = title if title is not None else issue.title
            issue.description = description if description is not None else issue.description
            if labels is not None:
                issue.label_ids = [self._label_for(team, name).id for name in labels]
            if assignee is not None:
                issue.assignee_id = self._user_id(assignee) if assignee else None
            if state_type is not None:
                issue.state_type = _state_type(state_type)
            issue.updated_ms = self._stamp(at)
            return self.snapshot(issue.id)

    def move_issue(self, issue_id: str, team: str, *, at: Stamp = None) -> IssueSnapshot:
        """Move an issue to another team: it gets that team's next number (a new identifier), keeps
        its id, and its old identifier still finds it."""
        with self._lock:
            issue = self._issue(issue_id)
            target = self._team(team)
            issue.former_identifiers.append(self.identifier(issue))
            issue.team_id, issue.number = target.id, target.next_number
            target.next_number += 1
            issue.updated_ms = self._stamp(at)
            return self.snapshot(issue.id)

    def archive_issue(self, issue_id: str, *, at: Stamp = None) -> IssueSnapshot:
        with self._lock:
            issue = self._issue(issue_id)
            issue.archived_ms = issue.updated_ms = self._stamp(at)
            return self.snapshot(issue.id)

    def close_issue(self, issue_id: str, state_type: str = "completed", *, at: Stamp = None) -> IssueSnapshot:
        if state_type not in ("completed", "canceled"):
            raise ValueError("an issue closes as completed or canceled")
        return self.update_issue(issue_id, state_type=state_type, at=at)

    def set_updated_at(self, issue_id: str, at: Stamp) -> IssueSnapshot:
        """Give an issue exactly this updatedAt (two issues can share a millisecond)."""
        with self._lock:
            self._issue(issue_id).updated_ms = self._stamp(at)
            return self.snapshot(issue_id)

    # --- reading ---------------------------------------------------------------------

    def snapshot(self, issue_id: str) -> IssueSnapshot:
        with self._lock:
            issue = self._issue(issue_id)
            return IssueSnapshot(
                id=issue.id,
                identifier=self.identifier(issue),
                number=issue.number,
                team=self.teams[issue.team_id].key,
                title=issue.title,
                description=issue.description,
                state_type=issue.state_type,
                labels=tuple(self.labels[i].name for i in issue.label_ids),
                assignee=self.users[issue.assignee_id].email if issue.assignee_id else None,
                creator=self.users[issue.creator_id].email if issue.creator_id else None,
                url=self.issue_url(issue),
                created_at_ms=issue.created_ms,
                updated_at_ms=issue.updated_ms,
                archived_at_ms=issue.archived_ms,
            )

    def issue_comments(self, issue_id: str) -> list[Comment]:
        with self._lock:
            return [c for c in self.comments.values() if c.issue_id == issue_id]

    def issue_reactions(self, issue_id: str) -> list[Reaction]:
        with self._lock:
            return [r for r in self.reactions.values() if r.issue_id == issue_id]

    def identifier(self, issue: Issue) -> str:
        return f"{self.teams[issue.team_id].key}-{issue.number}"

    def issue_url(self, issue: Issue) -> str:
        """`https://linear.app/<urlKey>/issue/<identifier>/<slug>`, the form Linear's docs show for
        mentions (https://linear.app/developers/graphql, "Adding mentions in Markdown")."""
        return f"https://linear.app/{self.url_key}/issue/{self.identifier(issue)}/{slug(issue.title)}"

    def find_issue(self, key: str) -> Issue | None:
        """An issue by id or identifier (a current or former one), as `issue(id:)` takes either."""
        if key in self.issues:
            return self.issues[key]
        for issue in self.issues.values():
            if self.identifier(issue) == key or key in issue.former_identifiers:
                return issue
        return None

    def user_by_email(self, email: str) -> User | None:
        with self._lock:
            return self._user_by_email(email)

    # --- internals -------------------------------------------------------------------

    def _issue(self, issue_id: str) -> Issue:
        issue = self.find_issue(issue_id)
        if issue is None:
            raise KeyError(f"no issue {issue_id}")
        return issue

    def _team(self, key: str) -> Team:
        team = self._team_by_key(key)
        if team is None:
            raise KeyError(f"no team {key}; add_team it first")
        return team

    def _team_by_key(self, key: str) -> Team | None:
        return next((t for t in self.teams.values() if t.key == key), None)

    def _user_by_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.email.casefold() == email.casefold()), None)

    def _user_id(self, email: str | None) -> str | None:
        if email is None:
            return None
        user = self._user_by_email(email)
        if user is None:
            raise KeyError(f"no user {email}; add_user it first")
        return user.id

    def _label_for(self, team: Team, name: str) -> Label:
        for label in self.labels.values():
            if label.name.casefold() == name.casefold() and label.team_id in (team.id, None):
                return label
        label = Label(self._new_id("label"), name, team.id, self.now_ms())
        self.labels[label.id] = label
        return label


def _state_type(value: str) -> str:
    if value not in STATE_TYPES:
        raise ValueError(f"state type {value!r} is not one of {', '.join(STATE_TYPES)}")
    return value
