"""Pickup latency: how long a matching issue waited for its session.

Measured from the issue's `updated_at` in the GitHub answer that first matched it (opening,
labelling or assigning an issue updates it) to the moment its session was launched, and to the
poll that claimed and enqueued it (the poll's time stamps both the claim's `claimedAt` and the
request's `enqueuedAt`; the send follows within that poll). The launcher publishes each launch's
figure (`PickupSeconds`); the API reads a project's recent figures back from its ledger.

What it cannot see: an issue that matched before intake was asked to take it (a release, or
intake switched on with `backlog: all` over old issues) is measured from its last update, which
predates the ask. A released issue's later generations are left out for that reason; a burst
started by `backlog: all` shows as slow pickups while it lasts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from .ports import SessionList
from .records import Claim, ClaimStatus, IssueSnapshot

# How many of a project's newest claims the API reads for its figures (one query of its ledger).
RECENT_CLAIMS = 50


def seconds_since_update(issue: IssueSnapshot, at: datetime) -> float | None:
    """Seconds from the issue's `updated_at` to `at` (never below 0: GitHub's clock is not ours);
    None when the snapshot has no readable `updated_at`."""
    if not issue.updated_at:
        return None
    try:
        updated = datetime.fromisoformat(issue.updated_at)
    except ValueError:
        return None
    if updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)
    return max(0.0, (at - updated).total_seconds())


def measured(claim: Claim) -> bool:
    """Whether the claim's pickup means anything: its first generation (a released issue's next
    session starts from the release, which its `updated_at` does not date)."""
    return claim.generation == 1


@dataclass(frozen=True)
class LaunchPickup:
    """One launch's figures: from the issue's update to its enqueue, and to its launch."""

    enqueue_seconds: float | None
    launch_seconds: float | None


def launch_pickup(claim: Claim, enqueued_at: datetime, launched_at: datetime) -> LaunchPickup | None:
    """The figures of a launch (None when they mean nothing or are unknown)."""
    if not measured(claim) or claim.issue.updated_at is None:
        return None
    return LaunchPickup(
        enqueue_seconds=seconds_since_update(claim.issue, enqueued_at),
        launch_seconds=seconds_since_update(claim.issue, launched_at),
    )


def pickup_seconds(claim: Claim) -> float | None:
    """A launched claim's pickup: from the issue's update to its launch (the launched claim's
    `updated_at`, see `recent_pickup`). None when not launched, unknown or meaningless."""
    if claim.status is not ClaimStatus.LAUNCHED or claim.updated_at is None or not measured(claim):
        return None
    return seconds_since_update(claim.issue, claim.updated_at)


@dataclass(frozen=True)
class Pickup:
    """A project's pickups over its recent launches."""

    launches: int
    last_seconds: float
    last_launched_at: datetime
    p50_seconds: float
    p95_seconds: float


def project_pickup(ledger: SessionList, project_id: str) -> Pickup | None:
    """The project's pickups over the launched claims among its `RECENT_CLAIMS` newest (one
    query of the ledger's index, which the session list reads too; no write per launch)."""
    claims, _ = ledger.list_sessions(project_id, RECENT_CLAIMS, None)
    return recent_pickup(claims)


def recent_pickup(claims: Iterable[Claim]) -> Pickup | None:
    """The pickups of the launched claims among `claims` (None: none to measure).

    A launched claim's `updated_at` is its launch time: the launch is the last write of the
    claim's own times (status reports and acknowledgements write their own attributes only).
    """
    launches: list[tuple[datetime, float]] = []
    for claim in claims:
        seconds = pickup_seconds(claim)
        if seconds is not None and claim.updated_at is not None:
            launches.append((claim.updated_at, seconds))
    if not launches:
        return None
    last_at, last = max(launches)
    values = sorted(seconds for _, seconds in launches)
    return Pickup(len(values), last, last_at, percentile(values, 50), percentile(values, 95))


def percentile(ordered: list[float], p: float) -> float:
    """The nearest-rank percentile of values in ascending order (as CloudWatch's pNN reads)."""
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]
