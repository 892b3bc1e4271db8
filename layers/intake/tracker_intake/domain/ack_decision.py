"""The acknowledgement's next step, decided without I/O from what a delivery knows so far: skip
it, defer it to a later delivery, give it up, or write it (docs/design.md, "Acknowledgement on
the issue"). domain/acknowledge.py reads what each decision needs and carries the step out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .config import Acknowledge
from .errors import IntakeError, TrackerError
from .records import Acknowledgement, AckState, Claim, ClaimStatus, ProjectRecord

# A slot this close is waited for in the launcher; a later one is a redelivery.
MAX_WAIT = timedelta(seconds=5)
# Longer than the launcher's timeout (30 s): a lease that runs out belongs to a dead delivery.
LEASE = timedelta(seconds=60)
# Tries on a GitHub that fails (5xx, timeouts, rate limits) before the acknowledgement is given up.
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(seconds=60)
_DETAIL_CHARS = 300


@dataclass(frozen=True)
class AckDeferred:
    """The acknowledgement waits for its write slot (or a retry): deliver the request again at
    `until`. The session is launched and recorded; only the write on the issue is still to do."""

    until: datetime
    reason: str
    # A write slot kept for it (deliver a little early: the launcher waits out the rest), not
    # a time before which nothing may be tried (deliver no earlier).
    at_slot: bool = False


@dataclass(frozen=True)
class Skip:
    """Nothing to write and nothing to record."""

    reason: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Defer:
    """Write nothing now: save `keep` on the claim (when given), and wait as `deferred` says."""

    deferred: AckDeferred
    keep: Acknowledgement | None = None


@dataclass(frozen=True)
class GiveUp:
    """Record `ack` failed, for good, saying why."""

    ack: Acknowledgement
    detail: str
    at: datetime


@dataclass(frozen=True)
class Write:
    """Take the lease (`ack`, in `writing`), wait for `slot`, and write."""

    ack: Acknowledgement
    slot: datetime
    # An earlier delivery took the lease and may have sent the write: look before writing.
    interrupted: bool


Step = Skip | Defer | GiveUp | Write


def room(now: datetime, deadline: datetime | None) -> timedelta:
    """How long a delivery may sleep for its slot: MAX_WAIT, and never past the deadline."""
    return MAX_WAIT if deadline is None else max(min(MAX_WAIT, deadline - now), timedelta(0))


def on_arrival(
    claim: Claim, asked: Acknowledge, now: datetime, *, last_delivery: bool, room: timedelta
) -> Skip | Defer | None:
    """What the claim alone decides, before anything is read (None: read on)."""
    if asked is Acknowledge.NONE or claim.status is not ClaimStatus.LAUNCHED:
        return Skip()
    ack = claim.ack
    if ack is None:
        return None
    if ack.state.final:
        return Skip(f"already {ack.state.value}", ack.url)
    if ack.state is AckState.WRITING and ack.lease_until is not None and ack.lease_until > now:
        # Another delivery (a duplicate request) is writing it. If that one dies, its own
        # message comes back after the lease and finishes the job.
        return Skip("another delivery is writing it", ack.url)
    if ack.state is AckState.WAITING and not last_delivery:
        # Not due yet (a parked copy comes at once, then shortly before its time): nothing to
        # read or write until it is; what may have changed meanwhile is checked when it is due.
        return _not_due(ack, now, room)
    return None


def _not_due(ack: Acknowledgement, now: datetime, room: timedelta) -> Defer | None:
    if ack.not_before is not None and ack.not_before > now:
        return Defer(AckDeferred(ack.not_before, f"retry until {ack.not_before:%H:%M:%S} UTC"))
    if ack.slot is not None and ack.slot - now > room:
        why = f"the write slot of its credential is at {ack.slot:%H:%M:%S} UTC"
        return Defer(AckDeferred(ack.slot, why, at_slot=True))
    return None


def asked_by(project: ProjectRecord | None) -> Acknowledge:
    """What the project asks for now, which wins over what its queued request asked for: none
    when it is deleted or intake is not configured."""
    intake = project.config.tracker_intake if project is not None else None
    return intake.acknowledge if intake is not None else Acknowledge.NONE


def not_wanted(claim: Claim, project: ProjectRecord | None, now: datetime) -> Skip | GiveUp:
    """The project (None: deleted) no longer asks for an acknowledgement."""
    why = "the project is deleted" if project is None else "the project no longer asks for an acknowledgement"
    if claim.ack is None:
        return Skip(why)
    # Begun, not written: said so for good, rather than left waiting.
    return GiveUp(claim.ack, f"not written: {why}", now)


def not_yet(ack: Acknowledgement, until: datetime, why: str, now: datetime, *, last_delivery: bool) -> Defer | GiveUp:
    """Nothing may be written before `until`: defer to it (writing nothing), or give up on the last delivery."""
    if last_delivery:
        return GiveUp(ack, f"gave up: {why} until {until:%H:%M:%S} UTC, past the request's last delivery", now)
    return Defer(AckDeferred(until, f"{why} until {until:%H:%M:%S} UTC"))


def on_slot(
    ack: Acknowledgement,
    kind: Acknowledge,
    slot: datetime,
    now: datetime,
    *,
    room: timedelta,
    last_delivery: bool,
) -> Write | Defer | GiveUp:
    """With a write slot in hand: write on it, or keep it and defer when it is too far to wait
    for (give up, on the last delivery)."""
    if slot - now <= room:
        writing = replace(
            ack,
            kind=kind,
            state=AckState.WRITING,
            slot=slot,
            not_before=None,
            sent=True,
            attempts=ack.attempts + 1,
            updated_at=now,
            lease_until=max(now, slot) + LEASE,
        )
        return Write(writing, slot, interrupted=ack.sent)
    if last_delivery:
        detail = f"no write slot before the request's last delivery (the next is at {slot:%H:%M:%S} UTC)"
        return GiveUp(ack, detail, now)
    deferred = AckDeferred(slot, f"the write slot of its credential is at {slot:%H:%M:%S} UTC", at_slot=True)
    if ack.state is AckState.WAITING and ack.slot == slot and ack.version:
        return Defer(deferred)  # kept on the claim already
    # Kept on the claim (a parked copy delivered early finds it there and writes nothing).
    waiting = replace(ack, kind=kind, state=AckState.WAITING, slot=slot, not_before=None, updated_at=now)
    return Defer(deferred, keep=waiting)


def after_failure(ack: Acknowledgement, error: IntakeError, now: datetime, *, last_delivery: bool) -> Defer | GiveUp:
    """A store or GitHub failed the attempt: try again later, or give up after MAX_ATTEMPTS tries
    (or on the last delivery)."""
    detail = str(error)[:_DETAIL_CHARS] or type(error).__name__
    if last_delivery or ack.attempts >= MAX_ATTEMPTS:
        why = f"gave up after {ack.attempts} tries: {detail}" if ack.attempts else detail
        return GiveUp(ack, why, now)
    until = max(error.retry_at, now) if isinstance(error, TrackerError) and error.retry_at else now + RETRY_AFTER
    # Kept on the claim: a delivery before it (a parked copy comes at once) writes nothing. A new
    # slot then: this one was spent, or is in the past by then.
    waiting = replace(
        ack, state=AckState.WAITING, slot=None, not_before=until, lease_until=None, updated_at=now, detail=detail
    )
    return Defer(AckDeferred(until, f"acknowledgement failed, retrying at {until:%H:%M:%S} UTC: {detail}"), waiting)
