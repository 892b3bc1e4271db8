"""The launcher's rules: one queued session request in, one worker session (at most) out.

Crash points, and why each is safe:
- before `enqueued -> launching`: nothing changed; SQS redelivers and the launch starts over.
- after `launching`, before the backend call: the claim sits in `launching`. SQS redelivers the
  message after its visibility timeout (180 s), by then the claim is older than
  `STALE_LAUNCH_SECONDS` (120 s) and the redelivery takes it over and launches.
- after the backend call, before the outcome is recorded: same as above, and the backend sees
  the same `Idempotency-Key` again, so it answers with the session it already started.
- a delivery that finds the claim `launching` and *not* yet stale cannot tell a crash from a
  slow launch; it fails the batch item so SQS tries again later (and, in the end, the DLQ).
- a poller that sent the request and died before marking the claim `enqueued` leaves it
  `claimed`: the delivery launches it all the same (the poller's re-send, if any, is then a
  duplicate), because a re-send within SQS's deduplication window would be dropped.
A request whose claim is `launched`, `failed` or `released`, or belongs to an older generation
of the claim, is a duplicate: a counted no-op, but for the acknowledgement on the issue
(domain/acknowledge.py), which a launched claim's delivery finishes if it is not done yet.

What a delivery comes to is a value (`Done`, `Retry`, `Redeliver`), decided here, with the
park-or-wait policy of an acknowledgement that waits; the handler reports it and carries it out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from .ack_decision import RETRY_AFTER, AckDeferred
from .acknowledge import AckContext, AckOutcome, AckReport, acknowledge
from .errors import IntakeError, LaunchRejected, LaunchRetryable
from .issue import dedupe_key
from .pickup import launch_pickup
from .ports import Clock, LaunchLedger, Redelivery, SessionLauncher
from .prompt import build_prompt
from .records import Claim, ClaimStatus
from .session import SessionRequest

# Above the launcher's Lambda timeout (30 s), below the queue's visibility timeout (180 s).
STALE_LAUNCH_SECONDS = 120
MAX_REASON_CHARS = 500
# A write's worst case (connect 3 s, read 10 s, once more after a 401) and a margin.
WRITE_RESERVE = timedelta(seconds=15)
# How early a parked request comes back for its write slot: more than SQS's and Lambda's
# latency in giving it back, less than the acknowledgement's MAX_WAIT (5 s).
EARLY_FOR_SLOT = 2


class LaunchOutcome(StrEnum):
    LAUNCHED = "launched"
    REJECTED = "rejected"
    RETRY = "retry"
    DUPLICATE = "duplicate"
    NO_CLAIM = "no_claim"


@dataclass(frozen=True)
class LaunchReport:
    outcome: LaunchOutcome
    project_id: str
    issue_id: str
    session_ref: str | None = None
    reason: str | None = None
    # Launched only: seconds from the issue's update on GitHub to its enqueue and to its launch
    # (domain/pickup.py); None when unknown.
    pickup_seconds: float | None = None
    enqueue_seconds: float | None = None


@dataclass(frozen=True)
class Delivery:
    """One delivery of a queued request, as the queue and the invocation tell it."""

    # A copy parked in a message group of its own: its launch was reported when it was parked.
    parked: bool = False
    # SQS's last before the dead-letter queue: an acknowledgement gives up rather than wait.
    last: bool = False
    # Past it, an acknowledgement must not wait for its write slot (None: no limit).
    deadline: datetime | None = None


@dataclass(frozen=True)
class LaunchResult:
    """What one delivery came to: what to report (None: nothing), and, by its type, what to do
    with its message."""

    launch: LaunchReport | None
    ack: AckReport | None


@dataclass(frozen=True)
class Done(LaunchResult):
    """Finished with: the message is deleted."""


@dataclass(frozen=True)
class Retry(LaunchResult):
    """The launch is to be tried again: the message fails (raise `error`), and SQS delivers it
    again after the queue's visibility timeout."""

    error: LaunchRetryable


@dataclass(frozen=True)
class Redeliver(LaunchResult):
    """Launched; only the acknowledgement waits, as `deferred` says. The request is parked (`park`: sent
    again alone in a message group of its own, so this message is done) or, when it cannot be,
    its message fails and waits in its group, hidden for `hidden_for` seconds (None: the queue's
    visibility timeout)."""

    deferred: AckDeferred
    park: bool
    hidden_for: int | None


@dataclass(frozen=True)
class LaunchContext:
    """The launcher's ports."""

    ledger: LaunchLedger
    launcher: SessionLauncher
    clock: Clock
    stale_after: timedelta = timedelta(seconds=STALE_LAUNCH_SECONDS)
    # GitHub's side of the acknowledgement on the issue; None: the launcher writes nothing there.
    ack: AckContext | None = None
    # The launch queue: an acknowledgement that waits asks for its request again at its slot
    # (None: the queue's visibility timeout decides).
    redelivery: Redelivery | None = None
    # The launch queue's maxReceiveCount: on the last delivery, an acknowledgement gives up
    # rather than send a launched session's request to the dead-letter queue.
    max_receives: int = 5


def idempotency_key(request: SessionRequest) -> str:
    """The same for every delivery of one request; new for a claim taken again after release."""
    key = f"{request.project_id}:{dedupe_key(request.issue_id)}"
    return key if request.generation == 1 else f"{key}:{request.generation}"


def delivery_from(
    ctx: LaunchContext, *, receive_count: int, message_group: str, time_left: timedelta | None = None
) -> Delivery:
    """What SQS's attributes and the invocation's remaining time say of a delivery."""
    parked = ctx.redelivery is not None and ctx.redelivery.parked(message_group)
    # The invocation's end, less what a write and the records after it may take.
    deadline = None if time_left is None else ctx.clock.now() + time_left - WRITE_RESERVE
    return Delivery(parked=parked, last=receive_count >= ctx.max_receives, deadline=deadline)


def launch_session(request: SessionRequest, ctx: LaunchContext, delivery: Delivery = Delivery()) -> LaunchResult:
    """Launch the session a queue message asks for, record the outcome on its claim, then
    acknowledge it on the issue if the project asks for that.

    The message is parsed at the edge (the launcher handler's batch model). Returns what came of
    it: Done, Retry (the claim put back to `enqueued` when the backend failed in passing), or
    Redeliver when only the acknowledgement is left to do, at a later delivery.
    """
    try:
        launched, claim = _launch(request, ctx)
    except LaunchRetryable as e:
        retry = _report(LaunchOutcome.RETRY, request, reason=_reason(e))
        return Retry(_unless_parked(delivery, retry), ack=None, error=e)
    ack = _acknowledge(claim, request, ctx, delivery) if claim is not None else None
    reported = _unless_parked(delivery, launched)
    if not isinstance(ack, AckDeferred):
        return Done(reported, ack)
    if ctx.redelivery is None:
        # Nothing to park it with: the queue's visibility timeout brings it back.
        return Redeliver(reported, None, ack, park=False, hidden_for=None)
    return redeliver(request, reported, ack, ctx.clock.now(), parked=delivery.parked)


def redeliver(
    request: SessionRequest, launch: LaunchReport | None, deferred: AckDeferred, now: datetime, *, parked: bool
) -> Redeliver:
    """How a launched request whose acknowledgement waits comes back.

    Parked, the first time: out of its project's message group, which FIFO would hold behind it
    until then (docs/design.md, "Acknowledgement on the issue"). A parked copy (or a request that
    cannot be parked) waits in its own group, hidden until its time: EARLY_FOR_SLOT seconds early
    for a kept slot (the launcher waits out the rest; late, the slot would be lost and another
    taken), no earlier than a retry's time.
    """
    wait = (deferred.until - now).total_seconds()
    hidden_for = max(math.floor(wait) - EARLY_FOR_SLOT if deferred.at_slot else math.ceil(wait), 0)
    if parked:
        return Redeliver(launch, None, deferred, park=False, hidden_for=hidden_for)
    waits = AckReport(AckOutcome.DEFERRED, request.project_id, request.issue_id, request.acknowledge)
    return Redeliver(launch, waits, deferred, park=True, hidden_for=hidden_for)


def _launch(request: SessionRequest, ctx: LaunchContext) -> tuple[LaunchReport, Claim | None]:
    """The launch, recorded on the claim, and the claim to acknowledge (None: none). Raises
    LaunchRetryable (after putting the claim back to `enqueued`) when SQS should try again."""
    claim = ctx.ledger.get_claim(request.issue_id)
    if claim is None or claim.project_id != request.project_id:
        return _report(LaunchOutcome.NO_CLAIM, request, reason="no claim for this issue"), None
    if claim.generation != request.generation:
        reason = f"request of generation {request.generation}, the claim is at {claim.generation}"
        return _report(LaunchOutcome.DUPLICATE, request, reason=reason), None
    if not _take(ctx.ledger, claim, ctx.clock.now(), ctx.stale_after):
        # A duplicate, but a launched claim's acknowledgement may be left to finish.
        return _report(LaunchOutcome.DUPLICATE, request, reason=f"claim is {claim.status}"), claim
    return _start(request, claim, ctx)


def _start(request: SessionRequest, claim: Claim, ctx: LaunchContext) -> tuple[LaunchReport, Claim | None]:
    """Call the backend for the claim taken to `launching`, and record what it said."""
    ledger, clock = ctx.ledger, ctx.clock
    try:
        session = ctx.launcher.launch(request, build_prompt(request))
    except LaunchRejected as e:
        reason = _reason(e)
        ledger.transition(request.issue_id, ClaimStatus.LAUNCHING, ClaimStatus.FAILED, clock.now(), reason=reason)
        return _report(LaunchOutcome.REJECTED, request, reason=reason), None
    except LaunchRetryable as e:
        ledger.transition(request.issue_id, ClaimStatus.LAUNCHING, ClaimStatus.ENQUEUED, clock.now(), reason=_reason(e))
        raise
    launched_at = clock.now()
    launched = ledger.transition(
        request.issue_id,
        ClaimStatus.LAUNCHING,
        ClaimStatus.LAUNCHED,
        launched_at,
        session_ref=session.ref,
        session_url=session.url,
    )
    pickup = launch_pickup(claim, request.enqueued_at, launched_at)
    report = _report(
        LaunchOutcome.LAUNCHED,
        request,
        session_ref=session.ref,
        pickup_seconds=pickup.launch_seconds if pickup else None,
        enqueue_seconds=pickup.enqueue_seconds if pickup else None,
    )
    if not launched:
        return report, None
    # The claim as it now is: a new launch of this generation has no acknowledgement yet.
    return report, replace(
        claim, status=ClaimStatus.LAUNCHED, session_ref=session.ref, session_url=session.url, ack=None
    )


def _acknowledge(
    claim: Claim, request: SessionRequest, ctx: LaunchContext, delivery: Delivery
) -> AckReport | AckDeferred | None:
    """The acknowledgement after the launch. Its failures never fail the launched request: a
    store or GitHub that fails it defers it to a later delivery (out of the project's way), or,
    on the last delivery, it is left as it stands, so the request never reaches the DLQ for it."""
    if ctx.ack is None or claim.generation != request.generation:
        return None
    try:
        return acknowledge(
            claim,
            request.acknowledge,
            ctx.ack,
            ctx.ledger,
            ctx.clock,
            last_delivery=delivery.last,
            deadline=delivery.deadline,
        )
    except IntakeError as e:
        reason = f"acknowledgement interrupted: {_reason(e)}"
        if delivery.last:
            return AckReport(AckOutcome.FAILED, request.project_id, request.issue_id, request.acknowledge, None, reason)
        return AckDeferred(ctx.clock.now() + RETRY_AFTER, reason)


def _take(ledger: LaunchLedger, claim: Claim, now: datetime, stale_after: timedelta) -> bool:
    """Move the claim to `launching`: from `enqueued`, or over a launch that died mid-way."""
    if claim.status in (ClaimStatus.ENQUEUED, ClaimStatus.CLAIMED):
        # `claimed` too: a poller that sent the request and died before marking it `enqueued`
        # leaves it so, and a later re-send inside SQS's 5-minute window is dropped as a
        # duplicate. This delivery may be the only one there will ever be.
        launchable = (ClaimStatus.CLAIMED, ClaimStatus.ENQUEUED)
        return ledger.transition(claim.canonical_id, launchable, ClaimStatus.LAUNCHING, now)
    if claim.status is ClaimStatus.LAUNCHING:
        since = claim.updated_at or claim.claimed_at
        if now - since < stale_after:
            raise LaunchRetryable(
                f"{claim.canonical_id} is being launched since {since:%H:%M:%S} UTC; trying again later"
            )
        return ledger.transition(claim.canonical_id, ClaimStatus.LAUNCHING, ClaimStatus.LAUNCHING, now)
    return False


def _report(
    outcome: LaunchOutcome,
    request: SessionRequest,
    *,
    session_ref: str | None = None,
    reason: str | None = None,
    pickup_seconds: float | None = None,
    enqueue_seconds: float | None = None,
) -> LaunchReport:
    return LaunchReport(
        outcome, request.project_id, request.issue_id, session_ref, reason, pickup_seconds, enqueue_seconds
    )


def _unless_parked(delivery: Delivery, report: LaunchReport) -> LaunchReport | None:
    """A parked copy's launch outcome is a duplicate of its launch, reported already: not again."""
    return None if delivery.parked else report


def _reason(error: Exception) -> str:
    return str(error)[:MAX_REASON_CHARS] or type(error).__name__
