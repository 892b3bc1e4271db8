"""One poll of one project: list pages with ETags, claim each new eligible issue, enqueue it.

The claim protocol (DESIGN.md): conditional put of the claim, send to the FIFO queue, mark it
`enqueued`. A page's ETag is committed only when every eligible issue on it is past the queue,
so a crash anywhere means the next poll gets a 200 and finishes the work.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from .backoff import backoff_until
from .config import intake_repo
from .eligibility import EligibilityRule, is_eligible
from .errors import ConfigInvalid, IntakeError, PrimaryRateLimited, ProjectNotFound, QueueUnavailable
from .issue import Issue
from .ports import Clock, Ledger, ProjectStore, SessionQueue, TokenBudgets
from .records import Claim, ClaimStatus, IssueSnapshot, PollState, ProjectRecord, TokenBudget
from .session import SessionRequest
from .tracker import DEFAULT_PAGE_CAP, CachedPage, IssueQuery, Page, RateLimit, Tracker

log = logging.getLogger(__name__)

# A claim older than this with no send behind it belongs to a dead poller. It must exceed the
# poller's Lambda timeout: a poller still running can never lose its claim to another.
DEFAULT_STALE_CLAIM = timedelta(seconds=45)
# Below this many requests left, the token budget is recorded so the dispatcher can see it.
LOW_BUDGET = 100


class PollResult(StrEnum):
    NOT_MODIFIED = "not_modified"
    CHANGED = "changed"
    FAILED = "failed"
    CONFIG_INVALID = "config_invalid"
    DISABLED = "disabled"
    IN_BACKOFF = "in_backoff"
    MISSING = "missing"


class ClaimResult(StrEnum):
    ENQUEUED = "enqueued"  # this poll sent it
    TAKEN = "taken"  # already past the queue (by any poll)
    BUSY = "busy"  # claimed by a poll that may still be running


@dataclass
class PollOutcome:
    project_id: str
    result: PollResult
    pages: int = 0
    pages_not_modified: int = 0
    new_sessions: list[str] = field(default_factory=list)
    claims_recovered: int = 0
    held_back: int = 0
    truncated: bool = False
    error_kind: str | None = None
    error: str | None = None
    backoff_until: datetime | None = None
    backoff_entered: bool = False


@dataclass(frozen=True)
class PollContext:
    """The ports and knobs one poll needs; built once per container by the poller's handler."""

    store: ProjectStore
    ledger: Ledger
    budgets: TokenBudgets
    queue: SessionQueue
    tracker: Tracker
    clock: Clock
    token_key: str
    page_cap: int = DEFAULT_PAGE_CAP
    stale_claim: timedelta = DEFAULT_STALE_CLAIM
    rng: Callable[[], float] = random.random


def poll_project(ctx: PollContext, project_id: str, deadline: datetime | None = None) -> PollOutcome:
    """Poll one project. Never raises an IntakeError: failures become backoff on the project.

    `deadline` stops the walk before the Lambda timeout, so no claim outlives its poller
    unnoticed (work left over is picked up by the next poll; nothing is committed for it).
    """
    try:
        record, cache = ctx.store.load_for_poll(project_id)
    except ProjectNotFound:
        return PollOutcome(project_id, PollResult.MISSING)
    except IntakeError as e:
        return PollOutcome(project_id, PollResult.FAILED, error_kind=e.kind, error=str(e))

    now = ctx.clock.now()
    if record.config_error is not None:
        # Checked first: a config that no longer validates loads as an empty (disabled) one.
        return _config_invalid(ctx, record, ConfigInvalid("config", record.config_error))
    intake = record.config.tracker_intake
    if intake is None or not intake.enabled:
        return PollOutcome(project_id, PollResult.DISABLED)
    if record.poll.backoff_until is not None and record.poll.backoff_until > now:
        return PollOutcome(project_id, PollResult.IN_BACKOFF, backoff_until=record.poll.backoff_until)

    try:
        owner, name = intake_repo(record.config)
    except ConfigInvalid as e:
        return _config_invalid(ctx, record, e)

    query = IssueQuery(owner, name, tuple(intake.labels), intake.assignee)
    run = _PollRun(ctx, record, EligibilityRule.of(intake), intake.max_sessions_per_poll, now, deadline)
    try:
        run.walk(query, cache)
    except IntakeError as e:
        return _failed(ctx, record, run.outcome, e, now)
    return _succeeded(ctx, record, run, now)


class _PollRun:
    def __init__(
        self,
        ctx: PollContext,
        record: ProjectRecord,
        rule: EligibilityRule,
        cap: int,
        now: datetime,
        deadline: datetime | None,
    ) -> None:
        self.ctx = ctx
        self.record = record
        self.rule = rule
        self.room = cap
        self.now = now
        self.deadline = deadline
        self.outcome = PollOutcome(record.project_id, PollResult.NOT_MODIFIED)
        self.low_rate: RateLimit | None = None

    def walk(self, query: IssueQuery, cache: dict[str, CachedPage]) -> None:
        ctx, project_id = self.ctx, self.record.project_id
        for page in ctx.tracker.pages(query, cache, ctx.page_cap):
            self.outcome.pages += 1
            self.outcome.truncated = page.truncated
            self._watch_budget(page.rate)
            if not page.modified:
                self.outcome.pages_not_modified += 1
                cached = cache.get(page.url)
                if page.etag_rotated and page.etag and cached is not None:
                    ctx.store.commit_page(project_id, replace(cached, etag=page.etag))
            else:
                self.outcome.result = PollResult.CHANGED
                if self._process(page) and page.etag:
                    ctx.store.commit_page(project_id, CachedPage(page.url, page.etag, page.next_url))
            if self.room == 0 or self._past_deadline():
                break  # the rest waits for the next poll; nothing after this is committed

    def _process(self, page: Page) -> bool:
        """Claim and enqueue the page's eligible issues; True when the page is fully done."""
        done = True
        for issue in sorted(page.issues, key=_oldest_first):
            if not is_eligible(issue, self.rule):
                continue
            if self.room == 0 or self._past_deadline():
                self.outcome.held_back += 1
                done = False
                continue
            result = self._claim_and_enqueue(issue)
            if result is ClaimResult.ENQUEUED:
                self.room -= 1
                self.outcome.new_sessions.append(issue.canonical_id)
            elif result is ClaimResult.BUSY:
                done = False
        return done

    def _claim_and_enqueue(self, issue: Issue) -> ClaimResult:
        ctx, now = self.ctx, self.now
        claim = Claim(
            canonical_id=issue.canonical_id,
            project_id=self.record.project_id,
            status=ClaimStatus.CLAIMED,
            claim_token=uuid.uuid4().hex,
            claimed_at=now,
            issue=_snapshot(issue),
            updated_at=now,
        )
        if not ctx.ledger.put_claim(claim):
            existing = ctx.ledger.get_claim(issue.canonical_id)
            if existing is None:  # released and deleted between the two calls
                return ClaimResult.BUSY
            if existing.status.taken:
                return ClaimResult.TAKEN
            stale = existing.status is ClaimStatus.CLAIMED and now - existing.claimed_at >= ctx.stale_claim
            if existing.status is not ClaimStatus.RELEASED and not stale:
                return ClaimResult.BUSY
            generation = existing.generation + (1 if existing.status is ClaimStatus.RELEASED else 0)
            claim = replace(claim, attempts=existing.attempts + 1, generation=generation)
            if not ctx.ledger.take_over(claim, existing.claim_token, existing.status):
                return ClaimResult.BUSY
            if stale:
                self.outcome.claims_recovered += 1
                log.info("recovered stale claim", extra={"issue_id": issue.canonical_id})
        request = SessionRequest.for_issue(self.record.project_id, issue, now, claim.generation)
        ctx.queue.send(request)
        # False here means a later poll took the claim over; its send is deduplicated.
        ctx.ledger.mark_enqueued(issue.canonical_id, claim.claim_token, now)
        return ClaimResult.ENQUEUED

    def _past_deadline(self) -> bool:
        return self.deadline is not None and self.ctx.clock.now() >= self.deadline

    def _watch_budget(self, rate: RateLimit) -> None:
        if rate.remaining is not None and rate.remaining < LOW_BUDGET and rate.reset_at is not None:
            self.low_rate = rate


_EPOCH = datetime.fromtimestamp(0, UTC)


def _oldest_first(issue: Issue) -> tuple[datetime, int]:
    return (issue.created_at or _EPOCH, issue.number)


def _snapshot(issue: Issue) -> IssueSnapshot:
    return IssueSnapshot(
        number=issue.number,
        title=issue.title,
        url=issue.url,
        labels=issue.labels,
        assignees=issue.assignees,
        body="",  # the queue carries the body; the ledger keeps only what operators look at
        created_at=issue.created_at.isoformat() if issue.created_at else None,
    )


def _succeeded(ctx: PollContext, record: ProjectRecord, run: _PollRun, now: datetime) -> PollOutcome:
    outcome = run.outcome
    last_change = now if outcome.result is PollResult.CHANGED else record.poll.last_change_at
    state = PollState(last_change_at=last_change)
    try:
        if state != record.poll:  # a steady-state poll (all 304, healthy) writes nothing
            ctx.store.save_poll_state(record.project_id, state)
        if run.low_rate is not None and run.low_rate.reset_at is not None:
            remaining = run.low_rate.remaining or 0
            ctx.budgets.record_budget(TokenBudget(ctx.token_key, remaining, run.low_rate.reset_at))
    except IntakeError as e:  # the work is done; only the bookkeeping is late
        log.warning("could not record poll state", extra={"error_kind": e.kind})
    return outcome


def _failed(
    ctx: PollContext, record: ProjectRecord, outcome: PollOutcome, error: IntakeError, now: datetime
) -> PollOutcome:
    failures = record.poll.consecutive_failures + 1
    hint = getattr(error, "retry_at", None)
    until = backoff_until(now, failures, hint, ctx.rng)
    changed = outcome.result is PollResult.CHANGED
    outcome.result = PollResult.FAILED
    outcome.error_kind = error.kind
    outcome.error = str(error)
    outcome.backoff_until = until
    outcome.backoff_entered = True
    state = PollState(
        backoff_until=until,
        consecutive_failures=failures,
        last_error=f"{error.kind}: {error}"[:500],
        last_change_at=now if changed else record.poll.last_change_at,
    )
    try:
        ctx.store.save_poll_state(record.project_id, state)
    except IntakeError as e:  # the store is down too: the next tick simply tries again
        log.warning("could not record backoff", extra={"error_kind": e.kind})
    if isinstance(error, PrimaryRateLimited):
        # Recorded even when the backoff could not be: the budget is what keeps every other
        # project on this token off GitHub until the reset.
        try:
            ctx.budgets.record_budget(TokenBudget(ctx.token_key, 0, error.reset_at))
        except IntakeError as e:
            log.warning("could not record the spent token budget", extra={"error_kind": e.kind})
    if isinstance(error, QueueUnavailable):
        log.warning("queue unavailable; claims made this poll are retried once stale")
    return outcome


def _config_invalid(ctx: PollContext, record: ProjectRecord, error: ConfigInvalid) -> PollOutcome:
    message = f"config_invalid: {error}"[:500]
    if record.poll.last_error != message:
        try:
            ctx.store.save_poll_state(record.project_id, replace(record.poll, last_error=message))
        except IntakeError as e:  # reported again by the next poll
            log.warning("could not record the config error", extra={"error_kind": e.kind})
    return PollOutcome(record.project_id, PollResult.CONFIG_INVALID, error_kind=error.kind, error=str(error))
