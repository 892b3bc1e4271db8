"""One poll of one project: list pages with ETags, claim each new eligible issue, enqueue it.

The claim protocol (docs/design.md): conditional put of the claim, send to the FIFO queue, mark
it `enqueued`. A page's ETag is committed only when every eligible issue on it is past the
queue, so a crash anywhere means the next poll gets a 200 and finishes the work.

A rate limit is the credential's, not the project's: it pauses every project on the credential
until GitHub's hint, and it is not counted as the project's failure.

A poll that writes its state records itself in the project's activity log; a quiet one (all
304s, healthy, nothing new) writes nothing, but once every `ACTIVITY_HEARTBEAT` (docs/design.md,
"The activity log").
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from .backlog import predates
from .backoff import backoff_until
from .config import Acknowledge, Backlog, TrackerIntake, intake_repo
from .eligibility import EligibilityRule, is_eligible
from .errors import (
    AuthFailed,
    ConfigInvalid,
    IntakeError,
    PrimaryRateLimited,
    ProjectNotFound,
    QueueUnavailable,
    RepoNotFound,
    SecondaryRateLimited,
    TrackerError,
)
from .issue import Issue, dedupe_key
from .ports import (
    ActivityLog,
    Clock,
    Credentials,
    PermissionCache,
    PollClaims,
    PollStore,
    SessionQueue,
    TokenBudgets,
)
from .records import (
    ACTIVITY_NEW_SESSIONS_LIMIT,
    Claim,
    ClaimStatus,
    IssueSnapshot,
    PollEntry,
    PollResult,
    PollState,
    ProjectRecord,
    TokenBudget,
)
from .session import SessionRequest
from .sync import ChangeFeed, SyncCursor, SyncProgress, change_query, sync_scope
from .tracker import DEFAULT_PAGE_CAP, CachedPage, Collaborators, IssueQuery, Page, RateLimit, Tracker
from .write_access import Access, Verdict, WriteAccess, needs_check

log = logging.getLogger(__name__)

# A claim older than this with no send behind it belongs to a dead poller. It must exceed the
# poller's Lambda timeout: a poller still running can never lose its claim to another.
DEFAULT_STALE_CLAIM = timedelta(seconds=45)
# GitHub: after a secondary-limit answer without retry-after, "wait for at least one minute".
SECONDARY_LIMIT_MIN_PAUSE = timedelta(seconds=60)
# A poll records the credential's primary budget once it fell by 1/this of the window.
RECORD_STEP_SHARE = 100
# A request that failed in passing (a 502, 503 or 504, a reset, a timeout) is sent again at most
# this many times within the poll, after a pause of one to two seconds (jittered, so the
# projects that failed together do not retry together), and only while the grant and the
# deadline leave room: a retry is a request like any other.
MAX_RETRIES = 2
RETRY_PAUSE_SECONDS = (1.0, 2.0)
# A tracker asking for no more than this (a `Retry-After`: Jira's burst limit, a 503 at a
# resource limit) is waited out within the poll, as long as the deadline allows; a longer wait
# is the backoff's.
RETRY_AFTER_WAITED_SECONDS = 5.0
# A retry needs this much time before the deadline besides its pause: the request's own timeout.
RETRY_ROOM = timedelta(seconds=14)


__all__ = ["ClaimResult", "PollContext", "PollOutcome", "PollResult", "own_pages", "poll_project"]


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
    # Issues recorded as backlog (no session), and whether this poll finished that record.
    backlog_recorded: int = 0
    backlog_done: bool = False
    truncated: bool = False
    error_kind: str | None = None
    error: str | None = None
    backoff_until: datetime | None = None
    backoff_entered: bool = False
    # Requests sent again after a transient failure, and whether the failure that ended the poll
    # (if any) was transient (a 5xx, a reset, a timeout).
    retries: int = 0
    transient: bool = False
    # Pages GitHub answered 200 (each a point of the credential's primary budget), and the last
    # `x-ratelimit-*` it sent.
    pages_changed: int = 0
    rate: RateLimit | None = None
    # Requests asking whether a member may write (from the grant, as pages are); issues skipped
    # because their member author may not; issues held back because that could not be checked.
    write_checks: int = 0
    members_without_write: int = 0
    writes_unchecked: int = 0
    # The tracker polled (its metrics are named for it).
    provider: str = "github"
    # The request whose failure ended the poll (a 5xx, a 429, a refused credential): sent, so
    # the activity log counts it, though no page came of it.
    failed_requests: int = 0

    @property
    def requests(self) -> int:
        """GitHub requests this poll made: its pages, its members' write checks and its retries."""
        return self.pages + self.write_checks + self.retries

    def entry(self, at: datetime) -> PollEntry:
        """The poll as the project's activity log keeps it."""
        return PollEntry(
            at=at,
            result=self.result,
            provider=self.provider,
            requests=self.requests + self.failed_requests,
            pages=self.pages,
            not_modified=self.pages_not_modified,
            new_sessions=tuple(self.new_sessions[:ACTIVITY_NEW_SESSIONS_LIMIT]),
            backlog_recorded=self.backlog_recorded,
            held_back=self.held_back,
            error_kind=self.error_kind,
            # As the poll state's `last_error`: never more of a tracker's answer than 500 characters.
            error=self.error[:500] if self.error is not None else None,
            backoff_until=self.backoff_until,
        )


@dataclass(frozen=True)
class PollContext:
    """The ports and knobs one poll needs; built once per container by the poller's handler."""

    store: PollStore
    ledger: PollClaims
    budgets: TokenBudgets
    queue: SessionQueue
    tracker: Tracker | ChangeFeed
    clock: Clock
    token_key: str
    page_cap: int = DEFAULT_PAGE_CAP
    stale_claim: timedelta = DEFAULT_STALE_CLAIM
    rng: Callable[[], float] = random.random
    # Waits out a retry's pause (a simulation's clock advances instead).
    sleep: Callable[[float], None] = time.sleep
    # Resolves a project's own credential (`trackerIntake.credential`), which then replaces
    # `tracker`, `token_key` and `collaborators` for its poll. None: every project polls with those.
    credentials: Credentials | None = None
    # Who may write to the repository, asked with the poll's credential (None: a member's issue
    # cannot be checked, so none is taken), and where the answers are kept (None: asked anew).
    collaborators: Collaborators | None = None
    permissions: PermissionCache | None = None
    # Where the project's polls are recorded (None: nowhere; the poll state's `checked_at` still is).
    activity: ActivityLog | None = None


def poll_project(
    ctx: PollContext,
    project_id: str,
    deadline: datetime | None = None,
    max_requests: int | None = None,
    max_retries: int | None = None,
) -> PollOutcome:
    """Poll one project. Never raises an IntakeError: failures become backoff on the project.

    `deadline` stops the walk before the Lambda timeout, so no claim outlives its poller
    unnoticed (work left over is picked up by the next poll; nothing is committed for it).
    `max_requests` is the dispatcher's grant: the walk asks for no more pages than that, and
    records that it needed more, so the next grant is bigger. `max_retries` is its grant of
    requests sent again after failing in passing (None: none with a grant, else `MAX_RETRIES`).
    """
    try:
        record, cache = ctx.store.load_for_poll(project_id)
    except ProjectNotFound:
        return PollOutcome(project_id, PollResult.MISSING)
    except IntakeError as e:
        return PollOutcome(project_id, PollResult.FAILED, error_kind=e.kind, error=str(e))

    now = ctx.clock.now()
    target = _target(ctx, record, now)
    if isinstance(target, PollOutcome):
        return target
    intake, query = target
    polling = _with_project_credential(ctx, record, now, query.provider)
    if isinstance(polling, PollOutcome):
        return polling
    ctx = polling
    cache = own_pages(cache, ctx.token_key, record.credential)

    budget = _credential_budget(ctx)
    paused = budget.blocked_until(now) if budget is not None else None
    if paused is not None:
        outcome = PollOutcome(project_id, PollResult.CREDENTIAL_PAUSED, backoff_until=paused, provider=query.provider)
        _settle(ctx, record, outcome, record.poll, now, noteworthy=False)
        return outcome

    run = _PollRun(ctx, record, EligibilityRule.of(intake), intake.max_sessions_per_poll, now, deadline)
    run.outcome.provider = query.provider
    run.max_requests = max_requests
    run.max_retries = _retries_granted(max_requests, max_retries)
    run.backlog = intake.backlog
    run.backlog_since = record.backlog_since if intake.backlog is Backlog.NEW else None
    return _walk(run, query, cache, budget)


def _target(ctx: PollContext, record: ProjectRecord, now: datetime) -> PollOutcome | tuple[TrackerIntake, IssueQuery]:
    """What this project's poll asks for, or why it asks for nothing (its config, its switch, its backoff)."""
    if record.config_error is not None:
        # Checked first: a config that no longer validates loads as an empty (disabled) one.
        return _config_invalid(ctx, record, ConfigInvalid("config", record.config_error), now)
    intake = record.config.tracker_intake
    if intake is None or not intake.enabled:
        return PollOutcome(record.project_id, PollResult.DISABLED)
    if record.poll.backoff_until is not None and record.poll.backoff_until > now:
        return PollOutcome(record.project_id, PollResult.IN_BACKOFF, backoff_until=record.poll.backoff_until)
    if intake.is_linear or intake.is_jira:
        return intake, change_query(intake)
    try:
        owner, name = intake_repo(record.config)
    except ConfigInvalid as e:
        return _config_invalid(ctx, record, e, now)
    return intake, IssueQuery(owner, name, tuple(intake.labels), intake.assignee)


def _with_project_credential(
    ctx: PollContext, record: ProjectRecord, now: datetime, provider: str
) -> PollContext | PollOutcome:
    """The context polling with the project's own credential, or the failure to resolve it."""
    if ctx.credentials is None:
        return ctx
    try:
        resolved = ctx.credentials.for_project(record)
    except IntakeError as e:  # an unknown name, an unreadable secret, an app not installed
        outcome = PollOutcome(record.project_id, PollResult.FAILED, provider=provider)
        return _failed(ctx, record, outcome, e, now)
    return replace(ctx, tracker=resolved.tracker, token_key=resolved.key, collaborators=resolved.collaborators)


def _retries_granted(max_requests: int | None, max_retries: int | None) -> int:
    """The retries a poll may send: the dispatcher's grant (at most `MAX_RETRIES`); none when it
    granted requests but no retries; `MAX_RETRIES` when the poll runs on no grant at all."""
    if max_retries is not None:
        return min(max_retries, MAX_RETRIES)
    return 0 if max_requests is not None else MAX_RETRIES


def _walk(run: _PollRun, query: IssueQuery, cache: dict[str, CachedPage], budget: TokenBudget | None) -> PollOutcome:
    """Walk the pages and settle the project: success, a rate limit, or a failure and its backoff."""
    ctx, record, now = run.ctx, run.record, run.now
    try:
        run.walk(query, cache)
    except (PrimaryRateLimited, SecondaryRateLimited) as e:
        return _rate_limited(ctx, record, run.outcome, e, now, run.last_change())
    except (RepoNotFound, AuthFailed) as e:
        _forget_installation(ctx, record)
        _record_rate(ctx, budget, run.outcome)
        return _failed(ctx, record, run.outcome, e, now, run.last_change())
    except IntakeError as e:
        _record_rate(ctx, budget, run.outcome)
        return _failed(ctx, record, run.outcome, e, now, run.last_change())
    # Not after a rate limit: GitHub's refusal is its latest word on the budget.
    _record_rate(ctx, budget, run.outcome)
    return _succeeded(ctx, record, run, now)


def _forget_installation(ctx: PollContext, record: ProjectRecord) -> None:
    """The repository is hidden from, or refused to, the app installation cached on the project:
    it may have moved to another installation, or the app been reinstalled. Forgotten, the
    installation is looked up again by the next poll (after the backoff)."""
    if ctx.credentials is None or record.installation is None:
        return
    try:
        ctx.credentials.forget_installation(record)
    except IntakeError as e:  # the next failure tries again
        log.warning("could not forget the project's installation", extra={"error_kind": e.kind})


def own_pages(cache: dict[str, CachedPage], key: str, credential: str | None) -> dict[str, CachedPage]:
    """The cached pages this credential may ask conditionally: those its own requests got.

    GitHub's ETags can depend on the token, so another credential's ETag may never match (a 200
    each poll) or, worse, match a body that credential cannot see. A page from before
    credentials were named (no key) was got by the default credential.
    """
    return {
        url: page
        for url, page in cache.items()
        if page.credential == key or (page.credential is None and credential is None)
    }


def _credential_budget(ctx: PollContext) -> TokenBudget | None:
    """Read before the first request: a pause recorded by any poller, in any container, holds.

    One eventually consistent read of a small item. If it cannot be read the poll goes ahead:
    the dispatcher has already checked the same item at the start of the tick.
    """
    try:
        return ctx.budgets.get_budget(ctx.token_key)
    except IntakeError as e:
        log.warning("could not read the credential's budget", extra={"error_kind": e.kind})
        return None


def _record_rate(ctx: PollContext, seen: TokenBudget | None, outcome: PollOutcome) -> None:
    """Keep what GitHub said of the credential's primary budget, for the dispatcher's pacing.

    GitHub counts per credential, so every answer's `x-ratelimit-remaining` (a 304's included)
    says what everything on the credential spent: polls, acknowledgements, its other users.
    Written when the record is of another window, or the budget fell by a hundredth of the
    window since it was written (50 of 5,000): a poll on a budget nobody spends writes nothing,
    and one credential's busy polls write it about a hundred times a window, not once each.
    """
    rate = outcome.rate
    if rate is None or rate.remaining is None or rate.reset_at is None:
        return
    budget = TokenBudget(
        ctx.token_key, rate.remaining, rate.reset_at, limit=rate.limit, refill_per_hour=rate.refill_per_hour
    )
    if not budget.supersedes(seen) or not _moved(seen, budget):
        return
    try:
        ctx.budgets.record_budget(budget)
    except IntakeError as e:  # the next poll that spends records it
        log.warning("could not record the credential's budget", extra={"error_kind": e.kind})


def _moved(seen: TokenBudget | None, budget: TokenBudget) -> bool:
    """Whether the budget moved enough since `seen` to be worth a write: another window, or a
    hundredth of the limit spent (every drop near the end: a spent one must block the next polls).
    A leaky bucket (Linear's) has no window, and its reset moves with every request: only its
    level counts, up or down, so a bucket at rest is written once."""
    if seen is None:
        return True
    step = max((budget.limit or 0) // RECORD_STEP_SHARE, 1)
    if budget.refill_per_hour is not None and seen.refill_per_hour is not None:
        return abs(seen.remaining - budget.remaining) >= step
    if seen.reset_at != budget.reset_at:
        return True
    return seen.remaining - budget.remaining >= step or budget.remaining <= step


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
        self.max_requests: int | None = None
        # Members' write checks the grant could not take: the next poll is granted them.
        self.checks_denied = 0
        # Members' write checks sent on the spare requests granted for retries.
        self.checks_on_spare = 0
        intake = record.config.tracker_intake
        # Only GitHub says who may write to a repository: a Linear rule checks no member's access.
        github = intake is None or not (intake.is_linear or intake.is_jira)
        owner, name = intake_repo(record.config) if github else ("", "")
        self.access = WriteAccess(
            ctx.collaborators,
            ctx.permissions,
            ctx.clock,
            self,
            project_id=record.project_id,
            owner=owner,
            repo=name,
            retries=self,
        )
        self.max_retries = MAX_RETRIES
        self.stopped_early = False
        # A resumed walk's pages read by the polls before it (a tracker without ETags).
        self.earlier_pages = 0
        self.backlog = Backlog.ALL
        # Set while the issues that matched at the switch-on are still to be recorded.
        self.backlog_since: datetime | None = None
        # Every page read and done (nothing held back, busy or past the cap): the whole backlog seen.
        self.complete = True
        # The newest `updated_at` among the issues the walk read: the tracker's last change.
        self.newest_update: datetime | None = None

    def read(self, issues: Iterable[Issue]) -> None:
        """Note the issues a page brought: the newest update is when the tracker last changed."""
        for issue in issues:
            if issue.updated_at is not None and (self.newest_update is None or issue.updated_at > self.newest_update):
                self.newest_update = issue.updated_at

    def last_change(self) -> datetime | None:
        """When the tracker last changed, as far as the project knows: the newest update read, never
        earlier than the one recorded (a cold cache re-reads old issues, which move nothing)."""
        recorded = self.record.poll.last_change_at
        if self.newest_update is None or (recorded is not None and self.newest_update <= recorded):
            return recorded
        return self.newest_update

    @property
    def requests_needed(self) -> int:
        """What the next poll should be granted: this walk's requests (its pages and its members'
        write checks, those the grant could not take included), one more if it was cut short."""
        checks = self.outcome.write_checks + self.checks_denied
        return self.outcome.pages + self.earlier_pages + checks + (1 if self.stopped_early else 0)

    @property
    def granted_spent(self) -> bool:
        return self.max_requests is not None and self.outcome.pages + self.outcome.write_checks >= self.max_requests

    def walk(self, query: IssueQuery, cache: dict[str, CachedPage]) -> None:
        if isinstance(self.ctx.tracker, ChangeFeed):
            self.walk_changes(self.ctx.tracker, query, cache)
        else:
            self.walk_pages(self.ctx.tracker, query, cache)

    def walk_changes(self, feed: ChangeFeed, query: IssueQuery, cache: dict[str, CachedPage]) -> None:
        """A tracker without validators: read what changed since the rule's watermark (or all of
        it, a reconcile), skip what the overlap re-reads and an earlier walk took, and commit the
        cursor as far as the issues are done (domain/sync.py)."""
        ctx, project_id = self.ctx, self.record.project_id
        scope = sync_scope(query)
        cursor = SyncCursor.from_page(cache.get(scope))
        plan = cursor.plan(self.now, feed.reconcile_every, feed.overlap)
        progress = SyncProgress(cursor, plan, feed.overlap, self.now)
        for page in feed.changes(query, plan.since, plan.after, ctx.page_cap, retries=self):
            self.outcome.pages += 1
            # Every answer costs a request of the credential's budget: there is no free 304.
            self.outcome.pages_changed += 1
            self.read(page.issues)
            self.outcome.truncated = page.truncated
            if page.rate.known:
                self.outcome.rate = page.rate
            fresh = progress.unseen(page.issues)
            done = True
            if fresh:
                self.outcome.result = PollResult.CHANGED
                done = self._process(replace(page, issues=fresh))
            else:
                self.outcome.pages_not_modified += 1
            progress.page_done(page, done)
            self.complete = self.complete and done
            if self.room == 0 or self._past_deadline() or self.granted_spent:
                self.stopped_early = page.continues
                break
        self.complete = self.complete and not self.stopped_early and not self.outcome.truncated
        # A resumed walk needed the pages its first part read too: the next grant covers the whole
        # walk, so it is not cut (and resumed, and written) again.
        self.earlier_pages = progress.earlier_pages
        committed = progress.committed(self.complete)
        if committed != cursor:
            ctx.store.commit_page(project_id, committed.to_page(scope, ctx.token_key))

    def walk_pages(self, tracker: Tracker, query: IssueQuery, cache: dict[str, CachedPage]) -> None:
        ctx, project_id = self.ctx, self.record.project_id
        for page in tracker.pages(query, cache, ctx.page_cap, retries=self):
            self.outcome.pages += 1
            self.outcome.truncated = page.truncated
            if page.rate.known:
                self.outcome.rate = page.rate
            if not page.modified:
                self.outcome.pages_not_modified += 1
                cached = cache.get(page.url)
                if page.etag_rotated and page.etag and cached is not None:
                    ctx.store.commit_page(project_id, replace(cached, etag=page.etag, credential=ctx.token_key))
            else:
                self.outcome.result = PollResult.CHANGED
                self.outcome.pages_changed += 1
                self.read(page.issues)
                done = self._process(page)
                self.complete = self.complete and done
                if done and page.etag:
                    ctx.store.commit_page(project_id, page.cached(ctx.token_key))
            if self.room == 0 or self._past_deadline() or self.granted_spent:
                # The rest waits for the next poll; nothing after this is committed. Stopped
                # before a page the walk would have asked for, it tells the dispatcher so.
                self.stopped_early = page.continues
                break
        self.complete = self.complete and not self.stopped_early and not self.outcome.truncated

    def allow(self, error: TrackerError, attempt: int) -> bool:
        """The `Retries` port: send a request that failed in passing again, within the grant of
        retries and the deadline, after a jittered pause of one to two seconds, or the few
        seconds the server asked for; never before a time the server asked for."""
        if attempt > MAX_RETRIES or self.outcome.retries + self.checks_on_spare >= self.max_retries:
            return False
        low, high = RETRY_PAUSE_SECONDS
        pause = low + (high - low) * self.ctx.rng()
        now = self.ctx.clock.now()
        if error.retry_at is not None:
            asked = (error.retry_at - now).total_seconds()
            if asked > RETRY_AFTER_WAITED_SECONDS:
                return False  # the tracker said when, later than a poll waits: the backoff honours it
            pause = max(pause, asked)
        resume = now + timedelta(seconds=pause)
        if self.deadline is not None and resume + RETRY_ROOM > self.deadline:
            return False
        log.info("retrying after a transient failure", extra={"error_kind": error.kind, "attempt": attempt})
        self.ctx.sleep(pause)
        self.outcome.retries += 1
        return True

    def grant(self) -> str | None:
        """The `Allowance` port: a member's write check is a request of the poll's grant, as a page
        is. When the pages have spent it, the check may take one of the retries granted: the
        dispatcher grants those only from what the credential's minute leaves spare, so the
        issue need not wait a tick for a grant sized to include it."""
        if not self.granted_spent:
            self.outcome.write_checks += 1
            return None
        if self.outcome.retries + self.checks_on_spare < self.max_retries:
            self.checks_on_spare += 1
            self.outcome.write_checks += 1
            return None
        self.checks_denied += 1
        return "this poll's grant of GitHub requests is spent"

    def answered(self, rate: RateLimit) -> None:
        if rate.known:
            self.outcome.rate = rate

    def _process(self, page: Page) -> bool:
        """Claim and enqueue the page's eligible issues; True when the page is fully done.

        Read before write: the claims of the page's eligible issues come in one batch read, and
        only the issues without a claim (or with a released or stale one) are written. An issue
        already taken costs nothing more, so a changed page costs a handful of requests, not one
        conditional write for every issue it holds (docs/design.md, "The claim protocol").
        """
        eligible = [issue for issue in sorted(page.issues, key=_oldest_first) if is_eligible(issue, self.rule)]
        if not eligible:
            return True
        known = self.ctx.ledger.get_claims([issue.canonical_id for issue in eligible])
        holders = [(issue, known.get(dedupe_key(issue.canonical_id))) for issue in eligible]
        # The kept answers on the members whose issues this page may start, in one read.
        self.access.prepare(i for i, holder in holders if needs_check(i, self.rule) and self._may_start(i, holder))
        done = True
        for issue, holder in holders:
            done = self._take(issue, holder) and done
        return done

    def _take(self, issue: Issue, holder: Claim | None) -> bool:
        """One eligible issue: settled, recorded as backlog, or on to a session. False when it
        holds the page back (held back, busy, or its author's write access not checked)."""
        if self._settled(holder):
            return True  # nothing to write, and it does not hold the page back
        if holder is None and self._predates_backlog(issue):
            if self._past_deadline():
                self.outcome.held_back += 1
                return False
            # Not capped: it starts nothing. A refusal carries the claim that won the race.
            holder = self.ctx.ledger.try_claim(self._claim(issue, ClaimStatus.BACKLOG))
            if holder is None:
                self.outcome.backlog_recorded += 1
                return True
            if self._settled(holder):
                return True
        return self._start(issue, holder)

    def _start(self, issue: Issue, holder: Claim | None) -> bool:
        """Within the cap, and once a member author is shown to write, claim and enqueue the issue."""
        if self.room == 0 or self._past_deadline():
            self.outcome.held_back += 1
            return False
        # Last, and only here: an issue this poll would claim (docs/design.md, "Who may start a session").
        if needs_check(issue, self.rule):
            verdict = self.access.verdict(issue)
            if verdict.access is not Access.WRITE:
                return self._not_started(issue, verdict)
        result = self._claim_and_enqueue(issue, holder)
        if result is ClaimResult.ENQUEUED:
            self.room -= 1
            self.outcome.new_sessions.append(issue.canonical_id)
        return result is not ClaimResult.BUSY

    def _not_started(self, issue: Issue, verdict: Verdict) -> bool:
        """A member's issue that starts nothing: skipped for good (True), or waiting for a check (False)."""
        if verdict.access is Access.NO_WRITE:
            self.outcome.members_without_write += 1
            log.info("skipped: member without write access", extra={"issue_id": issue.canonical_id})
            return True
        # Never let through unchecked: the page is not committed, so the next poll sees it again.
        self.outcome.writes_unchecked += 1
        self.outcome.held_back += 1
        log.warning(
            "member's write access not checked; the issue waits",
            extra={"issue_id": issue.canonical_id, "why": verdict.why},
        )
        return False

    def _may_start(self, issue: Issue, holder: Claim | None) -> bool:
        """Whether this poll may go on to claim the issue for a session (it may still be capped)."""
        return not self._settled(holder) and not (holder is None and self._predates_backlog(issue))

    def _predates_backlog(self, issue: Issue) -> bool:
        """Matched when intake was switched on under `new`: recorded as backlog, not started."""
        return self.backlog_since is not None and predates(issue, self.backlog_since)

    def _settled(self, holder: Claim | None) -> bool:
        """Whether the claim leaves this poll nothing to do: past the queue, or kept as backlog."""
        if holder is None:
            return False
        return holder.status.taken or (holder.status is ClaimStatus.BACKLOG and self.backlog is Backlog.NEW)

    def _claim(self, issue: Issue, status: ClaimStatus) -> Claim:
        return Claim(
            canonical_id=issue.canonical_id,
            project_id=self.record.project_id,
            status=status,
            claim_token=uuid.uuid4().hex,
            claimed_at=self.now,
            issue=_snapshot(issue),
            updated_at=self.now,
        )

    def _claim_and_enqueue(self, issue: Issue, holder: Claim | None) -> ClaimResult:
        """Claim the issue (or take over its released, backlog or stale claim), send it, mark it
        enqueued.

        `holder` is what the batch read saw; it may be stale, so every write stays conditional.
        """
        ctx, now = self.ctx, self.now
        claim = self._claim(issue, ClaimStatus.CLAIMED)
        if holder is None:
            holder = ctx.ledger.try_claim(claim)  # a refusal carries the claim that won
        if holder is not None:
            if self._settled(holder):
                return ClaimResult.TAKEN
            stale = holder.status is ClaimStatus.CLAIMED and now - holder.claimed_at >= ctx.stale_claim
            if holder.status not in (ClaimStatus.RELEASED, ClaimStatus.BACKLOG) and not stale:
                return ClaimResult.BUSY
            # A backlog claim started no session: taking it (under `all`) is its first attempt, in
            # its own generation.
            backlog = holder.status is ClaimStatus.BACKLOG
            generation = holder.generation + (1 if holder.status is ClaimStatus.RELEASED else 0)
            claim = replace(claim, attempts=holder.attempts + (0 if backlog else 1), generation=generation)
            if not ctx.ledger.take_over(claim, holder.claim_token, holder.status):
                return ClaimResult.BUSY
            if stale:
                self.outcome.claims_recovered += 1
                log.info("recovered stale claim", extra={"issue_id": issue.canonical_id})
        intake = self.record.config.tracker_intake
        acknowledge = intake.acknowledge if intake is not None else Acknowledge.NONE
        request = SessionRequest.for_issue(self.record.project_id, issue, now, claim.generation, acknowledge)
        ctx.queue.send(request)
        # False here means a later poll took the claim over; its send is deduplicated.
        ctx.ledger.mark_enqueued(issue.canonical_id, claim.claim_token, now)
        return ClaimResult.ENQUEUED

    def _past_deadline(self) -> bool:
        return self.deadline is not None and self.ctx.clock.now() >= self.deadline


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
        # Pickup latency is measured from it (domain/pickup.py).
        updated_at=issue.updated_at.isoformat() if issue.updated_at else None,
        identifier=issue.identifier,
    )


def _succeeded(ctx: PollContext, record: ProjectRecord, run: _PollRun, now: datetime) -> PollOutcome:
    outcome = run.outcome
    state = PollState(
        last_change_at=run.last_change(),
        pages_read=run.requests_needed,
        # A member's write check is answered 200 too: a point of the primary budget, as a page.
        primary_costs=record.poll.with_primary_cost(outcome.pages_changed + outcome.write_checks),
        checked_at=record.poll.checked_at,
    )
    try:
        if run.backlog_since is not None and run.complete:
            # Every page seen and done: the backlog is recorded. Conditional on the mark this
            # poll read, so a switch-on written meanwhile keeps its own.
            ctx.store.end_backlog(record.project_id, run.backlog_since)
            outcome.backlog_done = True
    except IntakeError as e:  # the work is done; only the bookkeeping is late
        log.warning("could not record the end of the backlog", extra={"error_kind": e.kind})
    # A steady-state poll (all 304, healthy, nothing new) writes nothing but its heartbeat.
    busy = bool(outcome.new_sessions or outcome.backlog_recorded or outcome.held_back or outcome.claims_recovered)
    noteworthy = outcome.result is not PollResult.NOT_MODIFIED or busy or outcome.backlog_done
    _settle(ctx, record, outcome, state, now, noteworthy=noteworthy)
    return outcome


def _settle(
    ctx: PollContext,
    record: ProjectRecord,
    outcome: PollOutcome,
    state: PollState,
    now: datetime,
    *,
    noteworthy: bool,
    what: str = "poll state",
) -> None:
    """Write the poll state, stamped `checked_at`, and record the poll in the activity log: when
    the state changed or the poll is `noteworthy` (it changed, failed or started something), else
    once the last recorded poll is `ACTIVITY_HEARTBEAT` old. A quiet poll between writes nothing.
    Neither write fails the poll: the work is done, only the bookkeeping is late."""
    changed = replace(state, checked_at=record.poll.checked_at) != record.poll
    if not (noteworthy or changed or record.poll.heartbeat_due(now)):
        return
    try:
        ctx.store.save_poll_state(record.project_id, replace(state, checked_at=now))
    except IntakeError as e:  # the next poll that writes tries again
        log.warning(f"could not record {what}", extra={"error_kind": e.kind})
    if ctx.activity is None:
        return
    try:
        ctx.activity.record_poll(record.project_id, outcome.entry(now))
    except IntakeError as e:  # the log misses one poll; the poll stands
        log.warning("could not record the poll in the activity log", extra={"error_kind": e.kind})


def _failed(
    ctx: PollContext,
    record: ProjectRecord,
    outcome: PollOutcome,
    error: IntakeError,
    now: datetime,
    last_change: datetime | None = None,
) -> PollOutcome:
    """The poll failed: back off, keeping `last_change` (the tracker's, from what the walk read)."""
    failures = record.poll.consecutive_failures + 1
    hint = getattr(error, "retry_at", None)
    until = backoff_until(now, failures, hint, ctx.rng, transient=error.transient)
    outcome.result = PollResult.FAILED
    outcome.error_kind = error.kind
    outcome.error = str(error)
    outcome.failed_requests = 1 if isinstance(error, TrackerError) else 0
    outcome.backoff_until = until
    outcome.backoff_entered = True
    outcome.transient = error.transient
    state = PollState(
        backoff_until=until,
        consecutive_failures=failures,
        last_error=f"{error.kind}: {error}"[:500],
        last_change_at=last_change if last_change is not None else record.poll.last_change_at,
        # The walk got at least as far as the page that failed: the next grant covers it (an
        # unknown cost stays unknown, so the next poll is granted a first poll's two requests).
        pages_read=max(outcome.pages + 1, record.poll.pages_read) if record.poll.pages_read else 0,
        transient=error.transient,
        primary_costs=record.poll.primary_costs,
    )
    # The store may be down too: the next tick simply tries again.
    _settle(ctx, record, outcome, state, now, noteworthy=True, what="backoff")
    if isinstance(error, QueueUnavailable):
        log.warning("queue unavailable; claims made this poll are retried once stale")
    return outcome


def _rate_limited(
    ctx: PollContext,
    record: ProjectRecord,
    outcome: PollOutcome,
    error: PrimaryRateLimited | SecondaryRateLimited,
    now: datetime,
    last_change: datetime | None = None,
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
    try:
        ctx.budgets.pause(ctx.token_key, until)
    except IntakeError as e:
        # Unrecorded, the pause would hold nobody back: at least this project backs off, so it
        # does not meet the limit again on every tick.
        log.warning("could not record the credential's pause", extra={"error_kind": e.kind})
        return _failed(ctx, record, outcome, error, now, last_change)
    if isinstance(error, PrimaryRateLimited):
        try:
            ctx.budgets.record_budget(TokenBudget(ctx.token_key, 0, error.reset_at))
        except IntakeError as e:  # the pause, recorded, is what holds the credential back
            log.warning("could not record the spent token budget", extra={"error_kind": e.kind})
    outcome.result = PollResult.CREDENTIAL_PAUSED
    outcome.error_kind = error.kind
    outcome.error = str(error)
    outcome.failed_requests = 1  # the request the limit refused
    outcome.backoff_until = until
    state = replace(record.poll, last_change_at=last_change if last_change is not None else record.poll.last_change_at)
    _settle(ctx, record, outcome, state, now, noteworthy=True)
    log.warning("credential paused by a rate limit", extra={"error_kind": error.kind, "until": until.isoformat()})
    return outcome


def _config_invalid(ctx: PollContext, record: ProjectRecord, error: ConfigInvalid, now: datetime) -> PollOutcome:
    """Nothing polled: the config is said in the poll state (once), and in the activity log."""
    message = f"config_invalid: {error}"[:500]
    intake = record.config.tracker_intake
    outcome = PollOutcome(
        record.project_id,
        PollResult.CONFIG_INVALID,
        error_kind=error.kind,
        error=str(error),
        provider=intake.provider if intake is not None else "github",
    )
    # Reported again by the next poll, should the write fail.
    state = replace(record.poll, last_error=message)
    _settle(ctx, record, outcome, state, now, noteworthy=False, what="the config error")
    return outcome
