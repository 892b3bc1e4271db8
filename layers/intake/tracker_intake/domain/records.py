"""What the store keeps: projects with their poll state, claims (the ledger), token budgets."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from .config import ProjectConfig


@dataclass(frozen=True)
class PollState:
    """The poller's own attributes on the project item. Written only when they change."""

    backoff_until: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    last_change_at: datetime | None = None

    def healthy(self) -> bool:
        return self.consecutive_failures == 0 and self.last_error is None and self.backoff_until is None


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

    def with_poll(self, poll: PollState) -> ProjectRecord:
        return replace(self, poll=poll)


class ClaimStatus(StrEnum):
    CLAIMED = "claimed"
    ENQUEUED = "enqueued"
    LAUNCHING = "launching"
    LAUNCHED = "launched"
    FAILED = "failed"
    RELEASED = "released"

    @property
    def taken(self) -> bool:
        """Past the point where a poller has to do anything more for this issue."""
        return self in {ClaimStatus.ENQUEUED, ClaimStatus.LAUNCHING, ClaimStatus.LAUNCHED, ClaimStatus.FAILED}


@dataclass(frozen=True)
class IssueSnapshot:
    number: int
    title: str
    url: str
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    body: str
    created_at: str | None


@dataclass(frozen=True)
class Claim:
    """One row of the ledger: the single session an issue may ever start."""

    canonical_id: str
    project_id: str
    status: ClaimStatus
    claim_token: str
    claimed_at: datetime
    issue: IssueSnapshot
    attempts: int = 1
    # Bumped when a released claim is taken again: one session per issue per generation.
    generation: int = 1
    updated_at: datetime | None = None
    session_ref: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class TokenBudget:
    token_key: str
    remaining: int
    reset_at: datetime

    def exhausted(self, now: datetime) -> bool:
        return self.remaining <= 0 and self.reset_at > now
