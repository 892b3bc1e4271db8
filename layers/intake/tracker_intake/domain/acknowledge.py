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
`MAX_WAIT` is waited for; a later one is kept on the claim and the request is to be delivered
again at that time (an `AckDeferred`, returned). A refused write (401, 403, 404, 410, 422) is
recorded and logged; it never undoes or delays the launch, which is recorded before any of this
runs. What to do at each point is decided in domain/ack_decision.py, without I/O; this module
reads what each decision needs and carries it out.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from .ack_decision import (
    AckDeferred,
    Defer,
    GiveUp,
    Skip,
    Write,
    after_failure,
    asked_by,
    not_wanted,
    not_yet,
    on_arrival,
    on_slot,
    room,
)
from .config import ACK_LABEL, Acknowledge
from .errors import IntakeError, PrimaryRateLimited, ProjectNotFound, SecondaryRateLimited, TrackerError, WriteRefused
from .issue import TrackerRef, parse_tracker_id
from .ports import AckLedger, Clock, Credentials, IssueWriter, ProjectLookup, TokenBudgets, WritePace
from .records import Acknowledgement, AckState, Claim, ClaimStatus, ProjectRecord

# GitHub's limits on content-creating requests, per credential
# (https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits).
WRITES_PER_MINUTE = 80
WRITES_PER_HOUR = 500
WRITE_SPACING = timedelta(seconds=1)
REACTION = "eyes"
MARKER_PREFIX = "tracker-intake:ack"


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

    projects: ProjectLookup
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
    ledger: AckLedger,
    clock: Clock,
    *,
    last_delivery: bool = False,
    deadline: datetime | None = None,
) -> AckReport | AckDeferred:
    """Write the acknowledgement `kind` on the launched `claim`'s issue, unless it is written.

    `kind` is what the queued request asked for; the project's current config is read and wins
    (intake may have been switched to `none` since). Returns an AckDeferred when the write is to
    be tried on a later delivery; on the `last_delivery` SQS makes, it gives up instead. Never
    sleeps past `deadline` (the invocation's time, less a write's): a later slot is deferred.
    """
    return _Attempt(claim, kind, ctx, ledger, clock, last_delivery, deadline).run()


@dataclass
class _Attempt:
    """One delivery's attempt at the acknowledgement, carried out step by step."""

    claim: Claim
    # What the report names: the request's kind, then the project's, then the one a sent write kept.
    kind: Acknowledge
    ctx: AckContext
    ledger: AckLedger
    clock: Clock
    last_delivery: bool
    deadline: datetime | None

    def run(self) -> AckReport | AckDeferred:
        now = self.clock.now()
        arrived = on_arrival(
            self.claim, self.kind, now, last_delivery=self.last_delivery, room=room(now, self.deadline)
        )
        if arrived is not None:
            return self._carry_out(arrived)
        project = self._project()
        self.kind = asked_by(project)
        if project is None or self.kind is Acknowledge.NONE:
            return self._carry_out(not_wanted(self.claim, project, now))
        current = self.claim.ack or Acknowledgement(self.kind, AckState.WAITING, self.ctx.draw(), now, now, version=0)
        if current.sent:
            self.kind = current.kind  # a write may have gone out: the generation keeps its kind
        if current.not_before is not None and current.not_before > now:
            # A retry, delivered before its time (a parked copy is delivered at once).
            return self._carry_out(not_yet(current, current.not_before, "retry", now, last_delivery=self.last_delivery))
        return self._with_credential(project, current, now)

    def _with_credential(
        self, project: ProjectRecord, current: Acknowledgement, now: datetime
    ) -> AckReport | AckDeferred:
        try:
            resolved = self.ctx.credentials.for_project(project)
            paused = self._paused(resolved.key)
            if paused is not None:
                # GitHub limited the credential: no write until then (it spends no attempt).
                return self._carry_out(
                    not_yet(current, paused, "credential paused", now, last_delivery=self.last_delivery)
                )
            slot = self._slot(resolved.key, current)
        except IntakeError as e:
            return self._carry_out(after_failure(current, e, self.clock.now(), last_delivery=self.last_delivery))
        if resolved.writer is None:
            return self._carry_out(GiveUp(current, "this credential cannot write", now))
        now = self.clock.now()
        next_step = on_slot(
            current, self.kind, slot, now, room=room(now, self.deadline), last_delivery=self.last_delivery
        )
        if isinstance(next_step, Write):
            return self._write(next_step, resolved.writer, resolved.key, now)
        return self._carry_out(next_step)

    def _project(self) -> ProjectRecord | None:
        try:
            return self.ctx.projects.get_project(self.claim.project_id)
        except ProjectNotFound:
            return None

    def _paused(self, key: str) -> datetime | None:
        budget = self.ctx.budgets.get_budget(key)
        return budget.blocked_until(self.clock.now()) if budget is not None else None

    def _slot(self, key: str, current: Acknowledgement) -> datetime:
        # A kept slot is used only on time: one used late would crowd the writer of the next.
        kept = current.slot if current.state is AckState.WAITING else None
        if kept is not None and kept >= self.clock.now():
            return kept
        return self.ctx.pace.reserve_write(key, self.clock.now())

    def _write(self, step: Write, writer: IssueWriter, key: str, now: datetime) -> AckReport | AckDeferred:
        writing = self._save(step.ack)
        if writing is None:
            return self._report(AckOutcome.NONE, reason="another delivery took it")
        if step.slot > now:
            self.ctx.sleep((step.slot - now).total_seconds())
            if self._released():
                return self._report(
                    AckOutcome.NONE, reason="the claim was released while the write waited for its slot"
                )
        issue = parse_tracker_id(self.claim.canonical_id)
        try:
            url = _write(writer, issue, self.claim, writing, step.interrupted)
        except WriteRefused as e:
            return self._finish(writing, AckState.REFUSED, self.clock.now(), detail=str(e))
        except TrackerError as e:
            if isinstance(e, SecondaryRateLimited | PrimaryRateLimited) and e.retry_at is not None:
                # The credential's polls must wait too: GitHub counts them against the same limits.
                self.ctx.budgets.pause(key, e.retry_at)
            return self._carry_out(after_failure(writing, e, self.clock.now(), last_delivery=self.last_delivery))
        return self._finish(writing, AckState.DONE, self.clock.now(), url=url)

    def _released(self) -> bool:
        """Whether a release landed while this slept: its session is not to be acknowledged."""
        fresh = self.ledger.get_claim(self.claim.canonical_id)
        return fresh is None or fresh.status is not ClaimStatus.LAUNCHED or fresh.generation != self.claim.generation

    def _carry_out(self, step: Skip | Defer | GiveUp) -> AckReport | AckDeferred:
        if isinstance(step, Skip):
            return self._report(AckOutcome.NONE, step.url, step.reason)
        if isinstance(step, GiveUp):
            return self._finish(step.ack, AckState.FAILED, step.at, detail=step.detail)
        if step.keep is not None and self._save(step.keep) is None:
            return self._report(AckOutcome.NONE, reason="another delivery took it")
        return step.deferred

    def _finish(
        self, ack: Acknowledgement, state: AckState, now: datetime, *, url: str | None = None, detail: str | None = None
    ) -> AckReport:
        final = replace(ack, state=state, lease_until=None, updated_at=now, url=url, detail=detail)
        if self._save(final) is None:
            # Released (or taken again) meanwhile: this generation's acknowledgement is moot.
            return self._report(AckOutcome.NONE, final.url, "the claim changed meanwhile")
        outcome = {AckState.DONE: AckOutcome.DONE, AckState.REFUSED: AckOutcome.REFUSED}.get(state, AckOutcome.FAILED)
        return self._report(outcome, final.url, detail)

    def _save(self, ack: Acknowledgement) -> Acknowledgement | None:
        """`ack` saved over the version it was made from (0: none stored); None when that lost a race."""
        saved = replace(ack, version=ack.version + 1)
        return saved if self.ledger.save_ack(self.claim, saved, ack.version or None) else None

    def _report(self, outcome: AckOutcome, url: str | None = None, reason: str | None = None) -> AckReport:
        return AckReport(outcome, self.claim.project_id, self.claim.canonical_id, self.kind, url, reason)


def _write(writer: IssueWriter, issue: TrackerRef, claim: Claim, ack: Acknowledgement, interrupted: bool) -> str | None:
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
