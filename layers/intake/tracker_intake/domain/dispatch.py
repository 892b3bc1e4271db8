"""One tick: every intake-enabled project that is due gets one poll, within its credential's budgets.

A credential has two budgets at GitHub (docs/design.md, "Limits are per credential"):

- **Secondary**, about 900 points a rolling minute, one a GET, a 304 included. A tick estimates
  each due project's cost (the requests its last walk made), grants polls in round-robin order
  until the credential's budget for the rolling minute is spent, and defers the rest to the next
  tick, which starts with them. What the minute has left over is granted as retries (a request
  that failed in passing, sent again). The grants are recorded on the credential's pace item,
  conditionally, so overlapping ticks never spend the same minute twice.
- **Primary**, so many requests a window (an hour at GitHub) as `x-ratelimit-*` says, where a 200
  costs a point and a 304 nothing. A tick spreads what is left until the reset evenly over the
  ticks left: projects whose polls are expected to answer 304 ("quiet") keep their cadence, and
  the costly ones (busy: a repository where people talk, whose polls keep answering 200; or one
  whose cost is not known yet) share the tick's allowance in turns. So the credential never runs
  dry before its reset, and a quiet project is never stopped because busy ones spent it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .errors import IntakeError
from .ports import Clock, Credentials, DispatchStore, Invoker, TokenBudgets
from .primary import PrimaryShare, allowance, expected_cost, is_busy
from .records import Pace, ProjectRecord

log = logging.getLogger(__name__)

DEFAULT_REQUESTS_PER_MINUTE = 600  # of GitHub's ~900 points a minute: room for the token's other users
# A first poll is granted two requests: one page and the page after it (or the page after a full
# one). Bigger repositories finish their first walk a tick later per extra page; granting the
# page cap instead would make a fleet enabled at once wait minutes for its first polls.
FIRST_POLL_REQUESTS = 2
# Retries a poll may be granted from what the minute leaves over (domain/poll.py, MAX_RETRIES).
RETRIES_PER_POLL = 2


@dataclass(frozen=True)
class DispatchContext:
    """The ports and knobs one tick needs; built once per container by the dispatcher's handler."""

    store: DispatchStore
    budgets: TokenBudgets
    invoker: Invoker
    clock: Clock
    token_key: str
    max_concurrency: int = 32
    # None dispatches every due project every tick, unpaced (the dispatcher before pacing; the
    # benchmark's comparison uses it). Deployments always set a number.
    requests_per_minute: int | None = DEFAULT_REQUESTS_PER_MINUTE
    # What a poll with no known cost (never polled, or polled before costs were kept) is granted.
    first_poll_requests: int = FIRST_POLL_REQUESTS
    # Which credential each project spends (`trackerIntake.credential`): each is paced on its
    # own budget. None: every project spends `token_key`'s.
    credentials: Credentials | None = None
    # Pace the primary budget from what GitHub said of it, and grant retries from what the minute
    # leaves spare. Deployments keep both; the benchmark turns them off to measure the
    # dispatcher as it was before them.
    pace_primary: bool = True
    retries_per_poll: int = RETRIES_PER_POLL


@dataclass
class DispatchSummary:
    dispatched: int = 0
    skipped_backoff: int = 0
    # Of those, the projects whose last failure was transient (a 5xx, a reset, a timeout).
    skipped_backoff_transient: int = 0
    skipped_budget: int = 0
    deferred: int = 0
    # Costly projects (busy, or of unknown cost) not polled this tick: they wait their turn of the
    # primary budget's share, about once every `busy_every` ticks.
    slowed_busy: int = 0
    busy_every: int | None = None
    points_granted: int = 0
    points_available: int | None = None
    retries_granted: int = 0
    # The 200s this tick's polls may spend of the credentials' primary budgets (None: unknown).
    primary_allowance: float | None = None
    oldest_deferral_seconds: int | None = None
    failed_invoke: int = 0
    failed_projects: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "dispatched": self.dispatched,
            "skippedBackoff": self.skipped_backoff,
            "skippedBackoffTransient": self.skipped_backoff_transient,
            "skippedBudget": self.skipped_budget,
            "deferred": self.deferred,
            "slowedBusy": self.slowed_busy,
            "busyEvery": self.busy_every,
            "pointsGranted": self.points_granted,
            "pointsAvailable": self.points_available,
            "retriesGranted": self.retries_granted,
            "primaryAllowance": None if self.primary_allowance is None else round(self.primary_allowance, 1),
            "oldestDeferralSeconds": self.oldest_deferral_seconds,
            "failedInvoke": self.failed_invoke,
            "failedProjects": self.failed_projects[:50],
            "error": self.error,
        }


def poll_cost(record: ProjectRecord, limit: int, first_poll: int = FIRST_POLL_REQUESTS) -> int:
    """The requests the project's next poll is granted: what its last walk needed.

    Unknown (never polled): `first_poll`. At most the whole budget, so a project bigger than the
    budget is still granted once the rolling minute is empty.
    """
    needed = record.poll.pages_read or first_poll
    return min(max(needed, 1), limit)


def round_robin(records: Sequence[ProjectRecord], cursor: str | None) -> list[ProjectRecord]:
    """Projects in id order, starting after `cursor`: those deferred last tick come first."""
    ordered = sorted(records, key=lambda r: r.project_id)
    if cursor is None:
        return ordered
    after = [r for r in ordered if r.project_id > cursor]
    return after + [r for r in ordered if r.project_id <= cursor]


def tick_time(now: datetime, scheduled: datetime | None) -> datetime:
    """The instant a tick's grant is dated: its scheduled time, when the schedule gave one.

    EventBridge fires `rate(1 minute)` a little late by varying amounts, so by the wall clock two
    ticks can be 59.9 s apart; dated by their schedule they are exactly 60 s apart, and a full
    minute's grant has expired when the next tick comes. A scheduled time far from now (a
    redelivered or hand-made event) is not trusted.
    """
    if scheduled is None or abs(now - scheduled) > SCHEDULE_TRUST:
        return now
    return scheduled


SCHEDULE_TRUST = timedelta(seconds=30)


def dispatch(ctx: DispatchContext, scheduled: datetime | None = None) -> DispatchSummary:
    """Read the sparse index afresh (config changes apply on the next tick) and fan out."""
    summary = DispatchSummary()
    now = tick_time(ctx.clock.now(), scheduled)
    try:
        grants, deferred, slowed = _plan(ctx, summary, now)
    except IntakeError as e:  # the index or the budget could not be read: the next tick retries
        summary.error = f"{e.kind}: {e}"
        log.error("dispatch failed", extra={"error_kind": e.kind})
        return summary
    _invoke_all(ctx, summary, grants)
    # After the polls are on their way: marking is for display, and must not delay them. A slowed
    # project is not waiting for the minute's budget: a mark from before is cleared.
    _mark_deferrals(ctx, summary, [g.record for g in grants] + slowed, deferred, now)
    return summary


@dataclass(frozen=True)
class PollGrant:
    """One poll a tick grants: the requests its walk may make for pages, and the retries of a
    request that fails in passing (None, None: not paced; the poll's own bounds hold)."""

    record: ProjectRecord
    requests: int | None
    retries: int | None = None


Grants = list[PollGrant]
Planned = tuple[Grants, list[ProjectRecord], list[ProjectRecord]]  # granted, deferred, slowed
# Previews reserve their pages in the same pace item: a tick that loses its write to them plans
# again (at most this many times) rather than polling nothing.
PREVIEW_RACES = 3


def _plan(ctx: DispatchContext, summary: DispatchSummary, now: datetime) -> Planned:
    """Which projects this tick polls, each with its grant; each credential's grant recorded first."""
    by_credential: dict[str, list[ProjectRecord]] = {}
    # Projects whose app installation is known first: a new project of the same account is then
    # paced on that installation's budget (Credentials.key_for), not beside it.
    for record in sorted(ctx.store.intake_enabled(), key=lambda r: r.installation is None):
        by_credential.setdefault(_credential_key(ctx, record), []).append(record)
    grants: Grants = []
    deferred: list[ProjectRecord] = []
    slowed: list[ProjectRecord] = []
    for key in sorted(by_credential):
        granted, waiting, turned_away = _plan_credential(ctx, summary, key, by_credential[key], now)
        grants += granted
        deferred += waiting
        slowed += turned_away
    return grants, deferred, slowed


def _credential_key(ctx: DispatchContext, record: ProjectRecord) -> str:
    """The budget the project's poll spends. A credential that cannot be resolved is paced on its
    own (its poll fails and backs off, saying why), never on another credential's budget."""
    if ctx.credentials is None:
        return ctx.token_key
    try:
        return ctx.credentials.key_for(record)
    except IntakeError as e:
        log.warning("could not resolve a credential", extra={"project_id": record.project_id, "error_kind": e.kind})
        return f"unresolved-{record.credential}"


def _plan_credential(
    ctx: DispatchContext, summary: DispatchSummary, key: str, records: list[ProjectRecord], now: datetime
) -> Planned:
    """One credential's projects: those due, within its budgets (the rolling minute, and the
    primary share)."""
    budget = ctx.budgets.get_budget(key)
    blocked = budget.blocked_until(now) if budget is not None else None
    due: list[ProjectRecord] = []
    for record in records:
        if blocked is not None:
            summary.skipped_budget += 1
        elif record.poll.backoff_until is not None and record.poll.backoff_until > now:
            summary.skipped_backoff += 1
            summary.skipped_backoff_transient += 1 if record.poll.transient else 0
        else:
            due.append(record)
    if ctx.requests_per_minute is None or not due:
        return [PollGrant(r, None) for r in due], [], []

    limit = ctx.requests_per_minute
    pace = ctx.budgets.get_pace(key) or Pace(key)
    share_of, busy = _primary(ctx, due, allowance(budget, now) if ctx.pace_primary else None)
    for _ in range(PREVIEW_RACES + 1):
        share = share_of(pace)
        granted, deferred, slowed, points = _grants(ctx, due, pace, limit, now, share)
        cursor = granted[-1].record.project_id if deferred and granted else pace.cursor
        available = max(limit - pace.spent(now), 0)
        # Retries come from what the minute leaves spare and are not reserved: a poll uses them
        # only when GitHub fails it in passing (the budget's margin below GitHub's 900 covers a
        # preview that takes the same spare within the minute).
        granted, retries = _with_retries(granted, available - points, ctx.retries_per_poll)
        polled = {g.record.project_id for g in granted}
        after = replace(
            pace.after_tick(now, points, cursor), busy_cursor=share.next_cursor(polled, busy), busy_credit=share.credit
        )
        if ctx.budgets.save_pace(after):
            summary.points_available = (summary.points_available or 0) + available
            summary.points_granted += points
            summary.retries_granted += retries
            summary.deferred += len(deferred)
            _count_share(summary, share, len(slowed))
            return granted, deferred, slowed
        # The pace was written since we read it. By a preview's reservation only: plan again on
        # what is left. By another tick: it is dispatching this minute, not us.
        fresh = ctx.budgets.get_pace(key) or Pace(key)
        if not fresh.only_previews_since(pace):
            break
        pace = fresh
    summary.error = "another tick is dispatching: this one polls nothing"
    summary.skipped_budget += len(due)
    return [], [], []


def _primary(
    ctx: DispatchContext, due: list[ProjectRecord], allowed: float | None
) -> tuple[Callable[[Pace], PrimaryShare], frozenset[str]]:
    """The tick's primary share, planned from a pace item (the due projects' costs computed once),
    and which of them are busy."""
    costs = {r.project_id: expected_cost(r, ctx.first_poll_requests) for r in due}
    busy = frozenset(r.project_id for r in due if is_busy(r))
    return lambda pace: PrimaryShare.plan(allowed, costs, busy, pace.busy_cursor, pace.busy_credit), busy


def _count_share(summary: DispatchSummary, share: PrimaryShare, slowed: int) -> None:
    if share.allowance is None:
        return
    summary.primary_allowance = (summary.primary_allowance or 0.0) + share.allowance
    summary.slowed_busy += slowed
    if share.every is not None:
        summary.busy_every = max(summary.busy_every or 0, share.every)


def _with_retries(granted: Grants, spare: int, per_poll: int) -> tuple[Grants, int]:
    """Each grant with up to `per_poll` retries, from what the minute leaves spare: a request that
    fails in passing is sent again within the same poll. None when nothing is spare."""
    if not granted:
        return granted, 0
    given = min(max(spare, 0), per_poll * len(granted))
    each, extra = divmod(given, len(granted))
    out = [replace(g, retries=each + (1 if n < extra else 0)) for n, g in enumerate(granted)]
    return out, given


def _grants(
    ctx: DispatchContext, due: list[ProjectRecord], pace: Pace, limit: int, now: datetime, share: PrimaryShare
) -> tuple[Grants, list[ProjectRecord], list[ProjectRecord], int]:
    """In round-robin order from the cursor, each due project's grant while the minute has room;
    a costly project only in its turn of the primary share (the others are slowed, not deferred)."""
    available = max(limit - pace.spent(now), 0)
    granted: Grants = []
    deferred: list[ProjectRecord] = []
    slowed: list[ProjectRecord] = []
    points = 0
    for record in round_robin(due, pace.cursor):
        if not share.allows(record.project_id):
            slowed.append(record)
            continue
        cost = poll_cost(record, limit, ctx.first_poll_requests)
        # Strictly in order: a costly project is never passed over for cheaper ones behind it.
        if not deferred and cost <= available:
            granted.append(PollGrant(record, cost))  # the poll asks for no more pages than this
            available -= cost
            points += cost
        else:
            deferred.append(record)
    return granted, deferred, slowed, points


def _mark_deferrals(
    ctx: DispatchContext,
    summary: DispatchSummary,
    granted: list[ProjectRecord],
    deferred: list[ProjectRecord],
    now: datetime,
) -> None:
    """Make a deferral visible on the project (API, dashboard). Writes only when it starts or ends."""
    waits = [now - r.deferred_since for r in deferred if r.deferred_since is not None]
    summary.oldest_deferral_seconds = int(max(waits).total_seconds()) if waits else (0 if deferred else None)
    changes: list[tuple[str, datetime | None]] = [(r.project_id, now) for r in deferred if r.deferred_since is None]
    changes += [(r.project_id, None) for r in granted if r.deferred_since is not None]
    for project_id, since in changes:
        try:
            ctx.store.set_deferred(project_id, since)
        except IntakeError as e:  # only the display is late; the schedule itself is recorded
            log.warning("could not record a deferral", extra={"project_id": project_id, "error_kind": e.kind})


def _invoke_all(ctx: DispatchContext, summary: DispatchSummary, grants: Grants) -> None:
    lock = threading.Lock()

    def invoke(project_id: str, max_requests: int | None, max_retries: int | None) -> None:
        try:
            ctx.invoker.invoke_poller(project_id, max_requests, max_retries)
        except IntakeError as e:
            log.warning("invoke failed", extra={"project_id": project_id, "error_kind": e.kind})
            with lock:
                summary.failed_invoke += 1
                summary.failed_projects.append(project_id)
        else:
            with lock:
                summary.dispatched += 1

    with ThreadPoolExecutor(max_workers=ctx.max_concurrency, thread_name_prefix="dispatch") as pool:
        pending: list[Future[None]] = [pool.submit(invoke, g.record.project_id, g.requests, g.retries) for g in grants]
        for future in pending:
            future.result()
