"""Acknowledgement on the issue: one write (a reaction, a comment or a label) once its session
is launched, exactly once per claim generation (docs/design.md, "Acknowledgement on the issue").

The launcher does it after the launch, from the same queued request, so nothing new has to be
delivered. What keeps it to one write:
- the acknowledgement lives on the claim, and every change to it is conditional on its version:
  only the delivery that moves it to `writing` sends the write, under a lease;
- a delivery that finds a `writing` whose lease ran out (its writer died, before or after
  sending) asks GitHub first: a reaction or a label is idempotent there, and a comment carries a
  hidden marker drawn for this claim, which is looked for before writing again;
- `done`, `refused` and `failed` are final for the generation; a release clears them.

What keeps it within GitHub's limits on content-creating requests (80 a minute, 500 an hour, one
a second or slower): each write takes a slot from its credential's `WritePace`. A slot within
`MAX_WAIT` is waited for; a later one is kept on the claim and the request is delivered again at
that time (`AckDeferred`). A refused write (401, 403, 404, 410, 422) is recorded and logged; it
never undoes or delays the launch, which is recorded before any of this runs.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from .config import ACK_LABEL, Acknowledge
from .credentials import Credentials
from .errors import (
    AckDeferred,
    IntakeError,
    PrimaryRateLimited,
    ProjectNotFound,
    SecondaryRateLimited,
    TrackerError,
    WriteRefused,
)
from .issue import IssueRef, parse_canonical_id
from .ports import Clock, IssueWriter, Ledger, ProjectStore, TokenBudgets, WritePace
from .records import Acknowledgement, AckState, Claim, ClaimStatus

# GitHub's limits on content-creating requests, per credential
# (https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits).
WRITES_PER_MINUTE = 80
WRITES_PER_HOUR = 500
WRITE_SPACING = timedelta(seconds=1)
# A slot this close is waited for in the launcher; a later one is a redelivery.
MAX_WAIT = timedelta(seconds=5)
# Longer than the launcher's timeout (30 s): a lease that runs out belongs to a dead delivery.
LEASE = timedelta(seconds=60)
# Tries on a GitHub that fails (5xx, timeouts, rate limits) before the acknowledgement is given up.
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(seconds=60)
REACTION = "eyes"
MARKER_PREFIX = "tracker-intake:ack"
_DETAIL_CHARS = 300


class AckOutcome(StrEnum):
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"
    DEFERRED = "deferred"
    # Nothing to do: none asked for, already final, or the claim is not (or no longer) launched.
    NONE = "none"


@dataclass(frozen=True)
class AckReport:
    outcome: AckOutcome
    project_id: str
    issue_id: str
    kind: Acknowledge | None = None
    url: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class AckContext:
    """The acknowledgement's ports: the launcher's ledger and clock, plus GitHub's side."""

    projects: ProjectStore
    credentials: Credentials
    pace: WritePace
    budgets: TokenBudgets
    sleep: Callable[[float], None]
    draw: Callable[[], str] = lambda: secrets.token_hex(8)


def next_write_slot(slots: Sequence[datetime], now: datetime) -> datetime:
    """The earliest moment at or after `now` a write may be sent, given the credential's slots
    already given (oldest first): a second after the last, and with fewer than 80 slots in the
    minute and 500 in the hour before it."""
    moment = now
    if slots:
        moment = max(moment, slots[-1] + WRITE_SPACING)
    if len(slots) >= WRITES_PER_MINUTE:
        moment = max(moment, slots[-WRITES_PER_MINUTE] + timedelta(minutes=1))
    if len(slots) >= WRITES_PER_HOUR:
        moment = max(moment, slots[-WRITES_PER_HOUR] + timedelta(hours=1))
    return moment


def kept_slots(slots: Sequence[datetime], now: datetime) -> list[datetime]:
    """The slots that still count against a write at or after `now` (the last hour's)."""
    return [s for s in slots if now - s < timedelta(hours=1)][-WRITES_PER_HOUR:]


def marker(claim: Claim, token: str) -> str:
    """The hidden line an acknowledgement comment carries: names the claim's generation and a
    token drawn for it, which nobody can write before intake does."""
    return f"<!-- {MARKER_PREFIX} {claim.canonical_id} generation={claim.generation} token={token} -->"


def comment_body(claim: Claim, token: str) -> str:
    ref = claim.session_ref or "(no reference)"
    # The backend's `sessionUrl` when it gave one (checked https at the edge); a reference that
    # is itself an https URL links too.
    url = claim.session_url or (ref if ref.startswith("https://") else None)
    said = f"[`{ref}`]({url})" if url else f"`{ref}`"
    return (
        f"A worker session started for this issue: {said}.\n\n"
        f"It was started by tracker intake for project `{claim.project_id}`, and will link its pull "
        f"request here.\n\n{marker(claim, token)}"
    )


def acknowledge(
    claim: Claim,
    kind: Acknowledge,
    ctx: AckContext,
    ledger: Ledger,
    clock: Clock,
    *,
    last_delivery: bool = False,
    deadline: datetime | None = None,
) -> AckReport:
    """Write the acknowledgement `kind` on the launched `claim`'s issue, unless it is written.

    `kind` is what the queued request asked for; the project's current config is read and wins
    (intake may have been switched to `none` since). Raises AckDeferred when the write is to be
    tried on a later delivery; on the `last_delivery` SQS makes, it gives up instead. Never
    sleeps past `deadline` (the invocation's time, less a write's): a later slot is deferred.
    """

    def report(outcome: AckOutcome, ack: Acknowledgement | None = None, reason: str | None = None) -> AckReport:
        return AckReport(outcome, claim.project_id, claim.canonical_id, kind, ack.url if ack else None, reason)

    if kind is Acknowledge.NONE or claim.status is not ClaimStatus.LAUNCHED:
        return report(AckOutcome.NONE)
    ack = claim.ack
    if ack is not None and ack.state.final:
        return report(AckOutcome.NONE, ack, f"already {ack.state.value}")
    now = clock.now()
    if ack is not None and ack.state is AckState.WRITING and ack.lease_until is not None and ack.lease_until > now:
        # Another delivery (a duplicate request) is writing it. If that one dies, its own
        # message comes back after the lease and finishes the job.
        return report(AckOutcome.NONE, ack, "another delivery is writing it")
    if ack is not None and ack.state is AckState.WAITING and not last_delivery:
        # Not due yet (a parked copy comes at once, then shortly before its time): nothing to
        # read or write until it is; what may have changed meanwhile is checked when it is due.
        if ack.not_before is not None and ack.not_before > now:
            raise AckDeferred(ack.not_before, f"retry until {ack.not_before:%H:%M:%S} UTC")
        if ack.slot is not None and ack.slot - now > _room(now, deadline):
            raise AckDeferred(ack.slot, f"the write slot of its credential is at {ack.slot:%H:%M:%S} UTC", at_slot=True)

    try:
        project = ctx.projects.get_project(claim.project_id)
    except ProjectNotFound:
        project = None
    intake = project.config.tracker_intake if project is not None else None
    kind = intake.acknowledge if intake is not None else Acknowledge.NONE
    if project is None or kind is Acknowledge.NONE:
        why = "the project is deleted" if project is None else "the project no longer asks for an acknowledgement"
        if ack is None:
            return report(AckOutcome.NONE, reason=why)
        # Begun, not written: said so for good, rather than left waiting.
        return _finish(report, ledger, claim, ack, AckState.FAILED, now, detail=f"not written: {why}")

    current = ack or Acknowledgement(kind, AckState.WAITING, ctx.draw(), now, now, version=0)
    if current.sent:
        kind = current.kind  # a write may have gone out: the generation keeps its kind
    if current.not_before is not None and current.not_before > now:
        # A retry, delivered before its time (a parked copy is delivered at once).
        return _not_yet(report, ledger, claim, current, current.not_before, "retry", last_delivery, now)
    try:
        resolved = ctx.credentials.for_project(project)
        budget = ctx.budgets.get_budget(resolved.key)
        paused = budget.blocked_until(clock.now()) if budget is not None else None
        if paused is not None:
            # GitHub limited the credential: no write until then (it spends no attempt).
            return _not_yet(report, ledger, claim, current, paused, "credential paused", last_delivery, now)
        # A kept slot is used only on time: one used late would crowd the writer of the next.
        kept = current.slot if current.state is AckState.WAITING else None
        slot = kept if kept is not None and kept >= clock.now() else ctx.pace.reserve_write(resolved.key, clock.now())
    except AckDeferred:
        raise
    except IntakeError as e:
        return _retry(report, ledger, claim, current, clock.now(), e, last_delivery)
    if resolved.writer is None:
        return _finish(report, ledger, claim, current, AckState.FAILED, now, detail="this credential cannot write")

    now = clock.now()
    if slot - now > _room(now, deadline):
        if last_delivery:
            detail = f"no write slot before the request's last delivery (the next is at {slot:%H:%M:%S} UTC)"
            return _finish(report, ledger, claim, current, AckState.FAILED, now, detail=detail)
        why = f"the write slot of its credential is at {slot:%H:%M:%S} UTC"
        if not (current.state is AckState.WAITING and current.slot == slot and current.version):
            # Kept on the claim (a parked copy delivered early finds it there and writes nothing).
            waiting = replace(current, kind=kind, state=AckState.WAITING, slot=slot, not_before=None, updated_at=now)
            if _save(ledger, claim, waiting) is None:
                return report(AckOutcome.NONE, reason="another delivery took it")
        raise AckDeferred(slot, why, at_slot=True)

    # Interrupted: an earlier delivery may have sent the write and died before recording it.
    interrupted = current.sent
    writing = _save(
        ledger,
        claim,
        replace(
            current,
            kind=kind,
            state=AckState.WRITING,
            slot=slot,
            not_before=None,
            sent=True,
            attempts=current.attempts + 1,
            updated_at=now,
            lease_until=max(now, slot) + LEASE,
        ),
    )
    if writing is None:
        return report(AckOutcome.NONE, reason="another delivery took it")
    if slot > now:
        ctx.sleep((slot - now).total_seconds())
        # A release may have landed while this slept: its session is not to be acknowledged.
        fresh = ledger.get_claim(claim.canonical_id)
        if fresh is None or fresh.status is not ClaimStatus.LAUNCHED or fresh.generation != claim.generation:
            return report(AckOutcome.NONE, reason="the claim was released while the write waited for its slot")

    issue = parse_canonical_id(claim.canonical_id)
    try:
        url = _write(resolved.writer, issue, claim, writing, interrupted)
    except WriteRefused as e:
        return _finish(report, ledger, claim, writing, AckState.REFUSED, clock.now(), detail=str(e))
    except TrackerError as e:
        if isinstance(e, SecondaryRateLimited | PrimaryRateLimited) and e.retry_at is not None:
            # The credential's polls must wait too: GitHub counts them against the same limits.
            ctx.budgets.pause(resolved.key, e.retry_at)
        return _retry(report, ledger, claim, writing, clock.now(), e, last_delivery)
    return _finish(report, ledger, claim, writing, AckState.DONE, clock.now(), url=url)


def _room(now: datetime, deadline: datetime | None) -> timedelta:
    """How long a delivery may sleep for its slot: MAX_WAIT, and never past the deadline."""
    return MAX_WAIT if deadline is None else max(min(MAX_WAIT, deadline - now), timedelta(0))


def _not_yet(
    report: Callable[..., AckReport],
    ledger: Ledger,
    claim: Claim,
    ack: Acknowledgement,
    until: datetime,
    why: str,
    last_delivery: bool,
    now: datetime,
) -> AckReport:
    """Nothing may be written before `until`: defer to it (writing nothing), or give up on the last delivery."""
    if last_delivery:
        detail = f"gave up: {why} until {until:%H:%M:%S} UTC, past the request's last delivery"
        return _finish(report, ledger, claim, ack, AckState.FAILED, now, detail=detail)
    raise AckDeferred(until, f"{why} until {until:%H:%M:%S} UTC")


def _write(writer: IssueWriter, issue: IssueRef, claim: Claim, ack: Acknowledgement, interrupted: bool) -> str | None:
    if ack.kind is Acknowledge.REACTION:
        return writer.add_reaction(issue, REACTION)  # GitHub answers 200 to a reaction it has
    if ack.kind is Acknowledge.LABEL:
        return writer.add_label(issue, ACK_LABEL)  # adding a label the issue has changes nothing
    hidden = marker(claim, ack.marker)
    if interrupted:
        found = writer.find_comment(issue, hidden, ack.started_at - timedelta(seconds=1))
        if found is not None:
            return found
    return writer.add_comment(issue, comment_body(claim, ack.marker))


def _retry(
    report: Callable[..., AckReport],
    ledger: Ledger,
    claim: Claim,
    ack: Acknowledgement,
    now: datetime,
    error: IntakeError,
    last_delivery: bool,
) -> AckReport:
    detail = _detail(error)
    if last_delivery or ack.attempts >= MAX_ATTEMPTS:
        why = f"gave up after {ack.attempts} tries: {detail}" if ack.attempts else detail
        return _finish(report, ledger, claim, ack, AckState.FAILED, now, detail=why)
    until = max(error.retry_at, now) if isinstance(error, TrackerError) and error.retry_at else now + RETRY_AFTER
    # Kept on the claim: a delivery before it (a parked copy comes at once) writes nothing. A new
    # slot then: this one was spent, or is in the past by then.
    waiting = replace(
        ack, state=AckState.WAITING, slot=None, not_before=until, lease_until=None, updated_at=now, detail=detail
    )
    if _save(ledger, claim, waiting) is None:
        return report(AckOutcome.NONE, reason="another delivery took it")
    raise AckDeferred(until, f"acknowledgement failed, retrying at {until:%H:%M:%S} UTC: {detail}")


def _finish(
    report: Callable[..., AckReport],
    ledger: Ledger,
    claim: Claim,
    ack: Acknowledgement,
    state: AckState,
    now: datetime,
    *,
    url: str | None = None,
    detail: str | None = None,
) -> AckReport:
    final = replace(ack, state=state, lease_until=None, updated_at=now, url=url, detail=detail)
    if _save(ledger, claim, final) is None:
        # Released (or taken again) meanwhile: this generation's acknowledgement is moot.
        return report(AckOutcome.NONE, final, "the claim changed meanwhile")
    outcome = {AckState.DONE: AckOutcome.DONE, AckState.REFUSED: AckOutcome.REFUSED}.get(state, AckOutcome.FAILED)
    return report(outcome, final, detail)


def _save(ledger: Ledger, claim: Claim, ack: Acknowledgement) -> Acknowledgement | None:
    """`ack` saved over the version it was made from (0: none stored); None when that lost a race."""
    saved = replace(ack, version=ack.version + 1)
    return saved if ledger.save_ack(claim, saved, ack.version or None) else None


def _detail(error: Exception) -> str:
    return str(error)[:_DETAIL_CHARS] or type(error).__name__
