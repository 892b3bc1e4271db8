"""One poll of one project: list pages with ETags, claim each new eligible issue, enqueue it.

The claim protocol (docs/design.md): conditional put of the claim, send to the FIFO queue, mark
it `enqueued`. A page's ETag is committed only when every eligible issue on it is past the
queue, so a crash anywhere means the next poll gets a 200 and finishes the work.

A rate limit is the credential's, not the project's: it pauses every project on the credential
until GitHub's hint, and it is not counted as the project's failure.
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
from .errors import (
    ConfigInvalid,
    IntakeError,
    PrimaryRateLimited,
    ProjectNotFound,
    QueueUnavailable,
    SecondaryRateLimited,
)
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
# GitHub: after a secondary-limit answer without retry-after, "wait for at least one minute".
SECONDARY_LIMIT_MIN_PAUSE = timedelta(seconds=60)


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

    paused = _credential_paused_until(ctx, now)
    if paused is not None:
        return PollOutcome(project_id, PollResult.CREDENTIAL_PAUSED, backoff_until=paused)

    query = IssueQuery(owner, name, tuple(intake.labels), intake.assignee)
    run = _PollRun(ctx, record, EligibilityRule.of(intake), intake.max_sessions_per_poll, now, deadline)
    try:
        run.walk(query, cache)
    except (PrimaryRateLimited, SecondaryRateLimited) as e:
        return _rate_limited(ctx, record, run.outcome, e, now)
    except IntakeError as e:
        return _failed(ctx, record, run.outcome, e, now)
    return _succeeded(ctx, record, run, now)


def _credential_paused_until(ctx: PollContext, now: datetime) -> datetime | None:
    """Checked before the first request: a pause recorded by any poller, in any container, holds.

    One eventually consistent read of a small item. If it cannot be read the poll goes ahead:
    the dispatcher has already checked the same item at the start of the tick.
    """
    try:
        budget = ctx.budgets.get_budget(ctx.token_key)
    except IntakeError as e:
        log.warning("could not read the credential's budget", extra={"error_kind": e.kind})
        return None
    return budget.blocked_until(now) if budget is not None else None


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
                    ctx.store.commit_page(project_id, page.cached())
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
    state = PollState(last_change_at=last_change, pages_read=outcome.pages)
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
        pages_read=max(outcome.pages, record.poll.pages_read),
    )
    try:
        ctx.store.save_poll_state(record.project_id, state)
    except IntakeError as e:  # the store is down too: the next tick simply tries again
        log.warning("could not record backoff", extra={"error_kind": e.kind})
    if isinstance(error, QueueUnavailable):
        log.warning("queue unavailable; claims made this poll are retried once stale")
    return outcome


def _rate_limited(
    ctx: PollContext,
    record: ProjectRecord,
    outcome: PollOutcome,
    error: PrimaryRateLimited | SecondaryRateLimited,
    now: datetime,
) -> PollOutcome:
    """The credential is paused until GitHub's hint; the project keeps its health and failures.

    Work done before the limit stays done (its pages are committed). The pause is what keeps
    every other project on the credential off GitHub: pollers check it before their first
    request, and the dispatcher before granting any poll.
    """
    if isinstance(error, PrimaryRateLimited):
        until = error.reset_at
    else:
        until = max(error.retry_at or now, now + SECONDARY_LIMIT_MIN_PAUSE)
    changed = outcome.result is PollResult.CHANGED
    outcome.result = PollResult.CREDENTIAL_PAUSED
    outcome.error_kind = error.kind
    outcome.error = str(error)
    outcome.backoff_until = until
    try:
        ctx.budgets.pause(ctx.token_key, until)
        if isinstance(error, PrimaryRateLimited):
            ctx.budgets.record_budget(TokenBudget(ctx.token_key, 0, error.reset_at))
    except IntakeError as e:  # the dispatcher will meet the limit again and record it then
        log.warning("could not record the credential's pause", extra={"error_kind": e.kind})
    if changed:
        try:
            ctx.store.save_poll_state(record.project_id, replace(record.poll, last_change_at=now))
        except IntakeError as e:
            log.warning("could not record poll state", extra={"error_kind": e.kind})
    log.warning("credential paused by a rate limit", extra={"error_kind": error.kind, "until": until.isoformat()})
    return outcome


def _config_invalid(ctx: PollContext, record: ProjectRecord, error: ConfigInvalid) -> PollOutcome:
    message = f"config_invalid: {error}"[:500]
    if record.poll.last_error != message:
        try:
            ctx.store.save_poll_state(record.project_id, replace(record.poll, last_error=message))
        except IntakeError as e:  # reported again by the next poll
            log.warning("could not record the config error", extra={"error_kind": e.kind})
    return PollOutcome(record.project_id, PollResult.CONFIG_INVALID, error_kind=error.kind, error=str(error))
