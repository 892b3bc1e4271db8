"""What the store keeps: projects with their poll state and recent polls, claims (the ledger) with
their sessions' reported status, credential budgets."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from .config import Acknowledge, ProjectConfig


@dataclass(frozen=True)
class PollState:
    """The poller's own attributes on the project item. Written only when they change."""

    backoff_until: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    last_change_at: datetime | None = None
    # GitHub requests the last walk made: the dispatcher's estimate of the next poll's cost.
    pages_read: int = 0
    # The last failure was transient (a 5xx, a reset connection, a timeout): its backoff starts
    # at a minute, not five (domain/backoff.py).
    transient: bool = False
    # The 200s (answers that cost a point of the primary budget) of the last polls, oldest first,
    # at most `PRIMARY_COST_HISTORY`: the dispatcher's estimate of the next poll's primary cost
    # (domain/dispatch.py). A first poll's 200s (for want of ETags) count as none. Written only
    # when it changes: steady state (all 304s) writes nothing; a change costs a write on each of
    # the next few polls, until the history is all zeros again.
    primary_costs: tuple[int, ...] = ()
    # The time of the last poll recorded in the project's activity log: written with the rest of
    # the state, by a poll that writes it anyway or, for a quiet one, once it is
    # `ACTIVITY_HEARTBEAT` old (docs/design.md, "The activity log").
    checked_at: datetime | None = None

    def healthy(self) -> bool:
        return self.consecutive_failures == 0 and self.last_error is None and self.backoff_until is None

    def with_primary_cost(self, spent: int) -> tuple[int, ...]:
        """The recent costs after a poll that got `spent` 200s. The first poll a history records
        counts as none: a first poll's 200s (or the first since the ETags were dropped, or the
        first since costs were kept) are for want of ETags, not because the repository changed."""
        if not self.primary_costs:
            return (0,)
        return (*self.primary_costs, spent)[-PRIMARY_COST_HISTORY:]

    def heartbeat_due(self, now: datetime) -> bool:
        """Whether a quiet poll at `now` is recorded: none was yet, or the last is
        `ACTIVITY_HEARTBEAT` old or more."""
        return self.checked_at is None or now - self.checked_at >= ACTIVITY_HEARTBEAT


PRIMARY_COST_HISTORY = 4


class PollResult(StrEnum):
    NOT_MODIFIED = "not_modified"
    CHANGED = "changed"
    FAILED = "failed"
    CONFIG_INVALID = "config_invalid"
    DISABLED = "disabled"
    IN_BACKOFF = "in_backoff"
    MISSING = "missing"
    # The credential is paused (a rate limit): nothing was asked, nothing counts against the project.
    CREDENTIAL_PAUSED = "credential_paused"


# A quiet poll (all 304s, healthy, nothing new) is recorded at most this often; a poll that
# writes anyway is recorded every time. So "the last poll" shown is never older than this.
ACTIVITY_HEARTBEAT = timedelta(minutes=10)
# How long the activity log keeps a poll (the table's TTL sweeps it after).
ACTIVITY_KEPT = timedelta(days=7)
# The new sessions a poll's entry names (a poll starts `maxSessionsPerPoll`, 10 by default).
ACTIVITY_NEW_SESSIONS_LIMIT = 20


@dataclass(frozen=True)
class PollEntry:
    """One poll in the project's activity log: what `intake local` prints per tick, kept."""

    at: datetime
    result: PollResult
    provider: str = "github"
    # Requests made (pages, members' write checks, retries); pages read, and of them those the
    # tracker answered "not modified" (a 304, or a change feed with nothing new).
    requests: int = 0
    pages: int = 0
    not_modified: int = 0
    # Canonical ids of the sessions it started, at most `ACTIVITY_NEW_SESSIONS_LIMIT`.
    new_sessions: tuple[str, ...] = ()
    backlog_recorded: int = 0
    held_back: int = 0
    error_kind: str | None = None
    # The failure's words, as the poll state's `last_error` keeps them (at most 500 characters).
    error: str | None = None
    backoff_until: datetime | None = None


@dataclass(frozen=True)
class Installation:
    """The GitHub App installation that can see the project's repository (cached on the project)."""

    app_id: str
    installation_id: int


@dataclass(frozen=True)
class ProjectRecord:
    project_id: str
    config: ProjectConfig
    version: int
    poll: PollState = PollState()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Set when the stored config no longer passes validation (the poller refuses to poll it).
    config_error: str | None = None
    # Set by the dispatcher while the project waits for its credential's request budget.
    deferred_since: datetime | None = None
    # Found by the poller the first time an app credential polls the project.
    installation: Installation | None = None
    # Set by a config write that switched intake on with `backlog: new`: the moment of the
    # switch. Until a poll has seen every page, matching issues created before it are recorded
    # as backlog instead of starting sessions; then the poller removes it (domain/backlog.py).
    backlog_since: datetime | None = None

    @property
    def credential(self) -> str | None:
        """The credential the config names (None: the deployment's default)."""
        intake = self.config.tracker_intake
        return intake.credential if intake is not None else None

    def with_poll(self, poll: PollState) -> ProjectRecord:
        return replace(self, poll=poll)

    def unchanged_by(self, config: ProjectConfig, expected_version: int | None) -> bool:
        """Whether writing `config` on `expected_version` would change nothing: the stored config,
        as it would be written, on the version read (or none sent). A stored config that no longer
        validates is always changed: whatever replaces it is a fix."""
        if self.config_error is not None or expected_version not in (None, self.version):
            return False
        return _as_written(self.config) == _as_written(config)


def _as_written(config: ProjectConfig) -> dict[str, Any]:
    # As the store writes it: two configs that would be stored alike are the same config.
    written: dict[str, Any] = config.model_dump(by_alias=True, exclude_none=True, mode="json")
    return written


class ClaimStatus(StrEnum):
    CLAIMED = "claimed"
    ENQUEUED = "enqueued"
    LAUNCHING = "launching"
    LAUNCHED = "launched"
    FAILED = "failed"
    RELEASED = "released"
    # Matched when intake was switched on with `backlog: new`: recorded, no session. A project
    # with `backlog: all` starts it (as it would a released claim); a release starts it too.
    BACKLOG = "backlog"

    @property
    def taken(self) -> bool:
        """Past the point where a poller has to do anything more for this issue.

        Not `backlog`: whether a backlog claim is settled depends on the project's choice.
        """
        return self in {ClaimStatus.ENQUEUED, ClaimStatus.LAUNCHING, ClaimStatus.LAUNCHED, ClaimStatus.FAILED}


class SessionStatus(StrEnum):
    """What the session backend says its session is doing (`POST /sessions/{issueId}/status`).

    Not the claim's status: a session's status is reported, kept and shown, and never moves the
    claim (only a release re-opens one).
    """

    WORKING = "working"
    NEEDS_INPUT = "needs_input"
    PR_OPEN = "pr_open"
    CI_FAILED = "ci_failed"
    MERGED = "merged"
    FAILED = "failed"
    TERMINATED = "terminated"


@dataclass(frozen=True)
class StatusChange:
    """One accepted status report: the status, when it was accepted, and the PR it named."""

    status: SessionStatus
    at: datetime
    pr_url: str | None = None


@dataclass(frozen=True)
class ReportGuard:
    """The replay guard of an issue's status reports: the newest signed timestamp accepted, and
    digests of the signatures accepted with it. A report older than it, or one of those, is a replay."""

    timestamp: int
    digests: tuple[str, ...]


class AckState(StrEnum):
    """Where an issue's acknowledgement stands (docs/design.md, "Acknowledgement on the issue").

    `waiting`: a write slot is reserved, nothing sent; `writing`: a delivery holds the lease and
    may have sent the write; `done`, `refused` (403/404: never retried) and `failed` (gave up on
    a GitHub that kept failing) are final for the claim's generation.
    """

    WAITING = "waiting"
    WRITING = "writing"
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self in (AckState.DONE, AckState.REFUSED, AckState.FAILED)


@dataclass(frozen=True)
class Acknowledgement:
    """The write on the issue that says its session started: one per claim generation.

    Kept on the claim, and each change is conditional on `version`, so two deliveries of one
    request cannot both write. `marker` is drawn once and hidden in the comment, so a delivery
    that finds an interrupted write can tell whether the comment is already there.
    """

    kind: Acknowledge
    state: AckState
    marker: str
    started_at: datetime
    updated_at: datetime
    version: int = 1
    attempts: int = 0
    # A delivery entered `writing` once: the write may have reached GitHub.
    sent: bool = False
    slot: datetime | None = None
    lease_until: datetime | None = None
    # After a failed try: no write before then (GitHub's retry-after, or a minute).
    not_before: datetime | None = None
    url: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class IssueSnapshot:
    number: int
    title: str
    url: str
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    body: str
    created_at: str | None
    # GitHub's `updated_at` (ISO) in the answer that first matched the issue: opening, labelling
    # or assigning it updates it, so the pickup latency is measured from it (domain/pickup.py).
    updated_at: str | None = None
    # What a person reads (`ENG-123` on Linear; None on GitHub, where it is `owner/repo#number`).
    # A move to another team changes it; the claim keeps the one it was taken under.
    identifier: str | None = None


@dataclass(frozen=True)
class Claim:
    """One row of the ledger: the single session an issue may ever start."""

    canonical_id: str
    project_id: str
    status: ClaimStatus
    claim_token: str
    claimed_at: datetime
    issue: IssueSnapshot
    # The claims taken to launch a session, this one included. A backlog claim holds the 1 its
    # first launch will count (poll.py keeps it when it takes the claim): `launches` is what it
    # has launched.
    attempts: int = 1
    # Bumped when a released claim is taken again: one session per issue per generation.
    generation: int = 1
    updated_at: datetime | None = None
    session_ref: str | None = None
    # The session's page, when its backend gave one (`sessionUrl`): linked by the dashboard and
    # an acknowledgement comment.
    session_url: str | None = None
    reason: str | None = None
    # The session's status as its backend last reported it, the PR it named, and the recent
    # reports (oldest first, at most `STATUS_HISTORY_LIMIT`). Cleared when the claim is taken again.
    session_status: SessionStatus | None = None
    pr_url: str | None = None
    status_history: tuple[StatusChange, ...] = ()
    # Reports accepted on this issue, every generation: the version a report's write is
    # conditional on. Kept, with the guard, when the claim is taken again, so an old session's
    # report cannot be replayed onto the new one.
    status_reports: int = 0
    report_guard: ReportGuard | None = None
    # The write on the issue that acknowledges the launch (`trackerIntake.acknowledge`); None
    # until a launcher tries it. Cleared when the claim is taken again: one per generation.
    ack: Acknowledgement | None = None

    @property
    def launches(self) -> int:
        """How many times the issue was taken to launch a session: none while it is backlog."""
        return 0 if self.status is ClaimStatus.BACKLOG else self.attempts


STATUS_HISTORY_LIMIT = 20


@dataclass(frozen=True)
class TokenBudget:
    """What GitHub said of one credential's limits: the primary budget and any pause.

    `paused_until` is set by a secondary-limit answer (or a spent primary budget): until then no
    project on the credential may send a request, whichever poller or tick it is.
    """

    token_key: str
    remaining: int
    reset_at: datetime
    paused_until: datetime | None = None
    # `x-ratelimit-limit`: the window's whole budget (None: not said, or recorded before it was kept).
    limit: int | None = None
    # A leaky bucket (Linear's): what flows back in an hour; `remaining` is its level when seen
    # and `reset_at` when it is full again. None: a window (GitHub's), spent until its reset.
    refill_per_hour: int | None = None

    def level(self, now: datetime) -> float:
        """A leaky bucket's level at `now`: full at its reset, `refill_per_hour` less an hour before."""
        if self.refill_per_hour is None or self.limit is None:
            return float(self.remaining)
        missing = max((self.reset_at - now).total_seconds(), 0.0) * self.refill_per_hour / 3600
        return max(self.limit - missing, 0.0)

    def supersedes(self, other: TokenBudget | None) -> bool:
        """Whether this observation replaces `other`: a later window, or less left in the same one.

        Pollers record what they saw concurrently and out of order; within one window GitHub's
        remaining only falls, so the lowest is the newest.
        """
        if other is None or other.reset_at < self.reset_at:
            return True
        return other.reset_at == self.reset_at and self.remaining < other.remaining

    def blocked_until(self, now: datetime) -> datetime | None:
        """When requests on this credential may start again, or None when they may now."""
        # A leaky bucket refills as it goes: only a pause (the tracker's refusal) holds it.
        window = self.refill_per_hour is None
        spent = self.reset_at if window and self.remaining <= 0 and self.reset_at > now else None
        paused = self.paused_until if self.paused_until is not None and self.paused_until > now else None
        moments = [m for m in (spent, paused) if m is not None]
        return max(moments) if moments else None


PACE_WINDOW = timedelta(seconds=60)


@dataclass(frozen=True)
class Grant:
    """Requests the dispatcher allowed one tick to make on a credential, and when (or a preview
    reserved: `preview`, so a tick that loses its write to one knows to plan again)."""

    at: datetime
    points: int
    preview: bool = False


@dataclass(frozen=True)
class Pace:
    """The dispatcher's record of a credential's rolling minute: recent grants and where it left off.

    Written once per tick, conditionally on `version`, so two overlapping ticks cannot both spend
    the same minute. `cursor` is the last project granted on a tick that had to defer others:
    the next tick starts after it, so the projects that waited longest go first.
    """

    token_key: str
    grants: tuple[Grant, ...] = ()
    cursor: str | None = None
    version: int = 0
    # The primary budget's rotation: the last costly project a tick polled within its share (the
    # next tick's share starts after it), and what the share had left when the project at the
    # head of the line cost more: carried to the next tick, so a costly project waits for its
    # turn instead of overspending every tick.
    busy_cursor: str | None = None
    busy_credit: float = 0.0

    def spent(self, now: datetime) -> int:
        """Points granted within the rolling minute that ends now."""
        return sum(g.points for g in self.grants if now - g.at < PACE_WINDOW)

    def after_tick(self, now: datetime, points: int, cursor: str | None, *, preview: bool = False) -> Pace:
        kept = tuple(g for g in self.grants if now - g.at < PACE_WINDOW)
        grants = (*kept, Grant(now, points, preview)) if points else kept
        return replace(self, grants=grants, cursor=cursor, version=self.version + 1)

    def only_previews_since(self, earlier: Pace) -> bool:
        """Whether every write after `earlier` was a preview's reservation (no tick's grant)."""
        new = [g for g in self.grants if g not in earlier.grants]
        same_cursors = (self.cursor, self.busy_cursor) == (earlier.cursor, earlier.busy_cursor)
        return same_cursors and all(g.preview for g in new)


# GitHub's `permission` of a login that may push: the legacy base roles, where `maintain` reads
# as `write` (and `triage` as `read`); `maintain` itself is accepted too.
WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})


@dataclass(frozen=True)
class Permission:
    """What GitHub said of one login's permission on one repository, and when it said it.

    Kept per project (docs/design.md, "Who may start a session"): an organisation member's issue
    starts a session only while the answer says they may write.
    """

    repo: str  # "owner/name", as the project's rule names it
    login: str
    # GitHub's `permission`: `admin`, `write`, `read` or `none`.
    permission: str
    checked_at: datetime
    # GitHub's `role_name`: the role itself (`maintain`, `triage`, a custom role), for people.
    role: str | None = None

    @property
    def may_write(self) -> bool:
        return self.permission in WRITE_PERMISSIONS
