"""What switching intake on does to the issues that already match (`trackerIntake.backlog`).

With `new`, the config write that switches intake on marks the project with `backlogSince`, the
moment of the switch. The polls that follow record every matching issue created before that
moment, and holding no claim, as a `backlog` claim: a ledger row that starts no session. When a
walk has seen every page, the poller removes the mark; from then on an issue that comes to match
(opened, labelled, assigned) starts a session as before, however old it is. Why a recorded set
rather than a `created_at` watermark: docs/design.md, "What enabling does to a backlog".
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from .config import Backlog, ProjectConfig, intake_repo
from .errors import ConfigInvalid
from .issue import Issue
from .records import Claim, ClaimStatus, ProjectRecord


class Snapshot(StrEnum):
    """What a config write does to the project's `backlogSince` mark."""

    START = "start"  # set it to the write's time: the matching issues are to be recorded
    KEEP = "keep"  # leave it as it is (set or not): the poller may be removing it right now
    DROP = "drop"  # remove it


def snapshot_on_write(current: ProjectRecord | None, config: ProjectConfig) -> Snapshot:
    """The mark's fate when `config` replaces `current` (None: the project is being created).

    Intake starts on a set of issues when it is switched on, pointed at another repository, or
    moved from `all` to `new`: with `new`, that set is recorded. A rule changed on a running
    project is not a start: the issues it comes to match are new to it, and start sessions
    (the preview says how many first).
    """
    intake = config.tracker_intake
    if intake is None or not intake.enabled or intake.backlog is Backlog.ALL:
        return Snapshot.DROP
    if current is None or current.config_error is not None or not current.config.intake_enabled:
        return Snapshot.START
    before = current.config.tracker_intake
    if before is None or before.backlog is Backlog.ALL or _repo(current.config) != _repo(config):
        return Snapshot.START
    return Snapshot.KEEP


def since_after_write(current: ProjectRecord | None, config: ProjectConfig, now: datetime) -> datetime | None:
    """The `backlogSince` the project would have if `config` were written now."""
    match snapshot_on_write(current, config):
        case Snapshot.START:
            return now
        case Snapshot.KEEP:
            return current.backlog_since if current is not None else None
        case Snapshot.DROP:
            return None


def predates(issue: Issue, since: datetime) -> bool:
    """Whether the issue was there when intake was switched on (no date: assume it was)."""
    return issue.created_at is None or issue.created_at <= since


def starts_session(issue: Issue, holder: Claim | None, backlog: Backlog, since: datetime | None) -> bool:
    """Whether polls would start a session for this eligible issue, which `holder` claims (if any).

    `since`: the project's `backlogSince` (only meaningful with `new`). A claim in flight or past
    the launcher already has its session; a released one starts another; a backlog one starts
    only under `all`.
    """
    if holder is None:
        return backlog is Backlog.ALL or since is None or not predates(issue, since)
    if holder.status is ClaimStatus.RELEASED:
        return True
    if holder.status is ClaimStatus.BACKLOG:
        return backlog is Backlog.ALL
    return False


def _repo(config: ProjectConfig) -> str | None:
    try:
        owner, name = intake_repo(config)
    except ConfigInvalid:
        return None
    return f"{owner}/{name}".lower()
