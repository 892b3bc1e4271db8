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
  ticks left: projects whose recent polls answered 304 ("quiet") keep their cadence, and those
  whose polls keep answering 200 ("busy": a repository where people talk) share what the quiet
  ones are not expected to spend, each polled once every `every` ticks. So the credential never
  runs dry before its reset, and a quiet project is never stopped because busy ones spent it.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .credentials import Credentials
from .errors import IntakeError
from .ports import Clock, Invoker, ProjectStore, TokenBudgets
from .records import Pace, ProjectRecord, TokenBudget

log = logging.getLogger(__name__)

DEFAULT_REQUESTS_PER_MINUTE = 600  # of GitHub's ~900 points a minute: room for the token's other users
# A first poll is granted two requests: one page and the page after it (or the page after a full
# one). Bigger repositories finish their first walk a tick later per extra page; granting the
# page cap instead would make a fleet enabled at once wait minutes for its first polls.
FIRST_POLL_REQUESTS = 2
# Retries a poll may be granted from what the minute leaves over (domain/poll.py, MAX_RETRIES).
RETRIES_PER_POLL = 2
# Primary pacing: the schedule's period; the share of the window's limit kept back for what no
# estimate foresees (a quiet project's new issue, acknowledgements, the token's other users); and
# the expected 200s a poll above which a project counts as busy: (0, 1), a quiet project's first
# 200 (a new issue), is 0.5 and quiet; (0, 1, 1) is busy.
TICK = timedelta(seconds=60)
PRIMARY_RESERVE_SHARE = 0.02
BUSY = 0.5


@dataclass(frozen=True)
class DispatchContext:
    """The ports and knobs one tick needs; built once per container by the dispatcher's handler."""

    store: ProjectStore
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


@dataclass
class DispatchSummary:
    dispatched: int = 0
    skipped_backoff: int = 0
    # Of those, the projects whose last failure was transient (a 5xx, a reset, a timeout).
    skipped_backoff_transient: int = 0
    skipped_budget: int = 0
    deferred: int = 0
    # Busy projects not polled this tick: their turn comes once every `busy_every` ticks.
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


def expected_primary_cost(record: ProjectRecord, first_poll: int = FIRST_POLL_REQUESTS) -> float:
    """The 200s the project's next poll is expected to get: learned from its recent polls
    (`PollState.primary_costs`); unknown, every request it is granted."""
    known = record.poll.expected_primary_cost()
    return known if known is not None else float(record.poll.pages_read or first_poll)


def primary_allowance(budget: TokenBudget | None, now: datetime) -> float | None:
    """The 200s one tick may spend of the credential's primary budget: what GitHub last said is
    left, less a reserve, spread evenly over the ticks until its reset.

    None when nothing is known of the current window (never observed, or its reset has passed:
    the first polls of the new window say what it holds, and the next tick paces on that).
    """
    if budget is None or budget.reset_at <= now:
        return None
    ticks = max(math.ceil((budget.reset_at - now) / TICK), 1)
    reserve = math.ceil((budget.limit or 0) * PRIMARY_RESERVE_SHARE)
    return max(budget.remaining - reserve, 0) / ticks


@dataclass(frozen=True)
class BusyTurns:
    """Which busy projects this tick polls: each once every `every` ticks, in turns.

    Stateless, so no item records it: the tick's number (minutes since the epoch) picks the turn,
    and a project's place among the credential's busy projects (by id) its turn, so each tick
    polls as many of them as the next (within one).
    """

    every: int  # 0: none this tick (the allowance is spent on quiet projects)
    tick: int

    @classmethod
    def plan(cls, busy_costs: Sequence[float], allowance: float, now: datetime) -> BusyTurns:
        tick = int(now.timestamp() // TICK.total_seconds())
        demand = sum(busy_costs)
        if demand <= 0 or allowance >= demand:
            return cls(1, tick)
        if allowance <= 0:
            return cls(0, tick)
        return cls(math.ceil(demand / allowance), tick)

    def chosen(self, busy: Sequence[ProjectRecord]) -> list[ProjectRecord]:
        if self.every <= 1:
            return list(busy) if self.every == 1 else []
        ordered = sorted(busy, key=lambda r: r.project_id)
        return [r for place, r in enumerate(ordered) if place % self.every == self.tick % self.every]


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
        grants, deferred = _plan(ctx, summary, now)
    except IntakeError as e:  # the index or the budget could not be read: the next tick retries
        summary.error = f"{e.kind}: {e}"
        log.error("dispatch failed", extra={"error_kind": e.kind})
        return summary
    _invoke_all(ctx, summary, grants)
    # After the polls are on their way: marking is for display, and must not delay them.
    _mark_deferrals(ctx, summary, [r for r, _ in grants], deferred, now)
    return summary


Grants = list[tuple[ProjectRecord, int | None]]
# Previews reserve their pages in the same pace item: a tick that loses its write to them plans
# again (at most this many times) rather than polling nothing.
PREVIEW_RACES = 3


def _plan(ctx: DispatchContext, summary: DispatchSummary, now: datetime) -> tuple[Grants, list[ProjectRecord]]:
    """Which projects this tick polls, each with its grant; each credential's grant recorded first."""
    by_credential: dict[str, list[ProjectRecord]] = {}
    # Projects whose app installation is known first: a new project of the same account is then
    # paced on that installation's budget (Credentials.key_for), not beside it.
    for record in sorted(ctx.store.intake_enabled(), key=lambda r: r.installation is None):
        by_credential.setdefault(_credential_key(ctx, record), []).append(record)
    grants: Grants = []
    deferred: list[ProjectRecord] = []
    for key in sorted(by_credential):
        granted, waiting = _plan_credential(ctx, summary, key, by_credential[key], now)
        grants += granted
        deferred += waiting
    return grants, deferred


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
) -> tuple[Grants, list[ProjectRecord]]:
    """One credential's projects: those due, within its budget for the rolling minute."""
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
        return [(r, None) for r in due], []
    due = _primary_paced(ctx, summary, budget, due, now)
    if not due:
        return [], []

    limit = ctx.requests_per_minute
    pace = ctx.budgets.get_pace(key) or Pace(key)
    for _ in range(PREVIEW_RACES + 1):
        granted, deferred, points = _grants(ctx, due, pace, limit, now)
        cursor = granted[-1][0].project_id if deferred and granted else pace.cursor
        available = max(limit - pace.spent(now), 0)
        # Retries come from what the minute leaves spare and are not reserved: a poll uses them
        # only when GitHub fails it in passing (the budget's margin below GitHub's 900 covers a
        # preview that takes the same spare within the minute).
        granted, retries = _with_retries(granted, available - points)
        if ctx.budgets.save_pace(pace.after_tick(now, points, cursor)):
            summary.points_available = (summary.points_available or 0) + available
            summary.points_granted += points
            summary.retries_granted += retries
            summary.deferred += len(deferred)
            return granted, deferred
        # The pace was written since we read it. By a preview's reservation only: plan again on
        # what is left. By another tick: it is dispatching this minute, not us.
        fresh = ctx.budgets.get_pace(key) or Pace(key)
        if not fresh.only_previews_since(pace):
            break
        pace = fresh
    summary.error = "another tick is dispatching: this one polls nothing"
    summary.skipped_budget += len(due)
    return [], []


def _primary_paced(
    ctx: DispatchContext, summary: DispatchSummary, budget: TokenBudget | None, due: list[ProjectRecord], now: datetime
) -> list[ProjectRecord]:
    """The due projects this tick may poll within the credential's primary budget.

    Quiet projects (expected to answer 304, which costs nothing) all stay due, and their expected
    200s are set aside first; busy ones share the rest of the tick's allowance in turns.
    """
    allowance = primary_allowance(budget, now)
    if allowance is None:
        return due
    costs = {r.project_id: expected_primary_cost(r, ctx.first_poll_requests) for r in due}
    busy = [r for r in due if costs[r.project_id] > BUSY]
    quiet_spend = sum(cost for cost in costs.values() if cost <= BUSY)
    turns = BusyTurns.plan([costs[r.project_id] for r in busy], allowance - quiet_spend, now)
    summary.primary_allowance = (summary.primary_allowance or 0.0) + allowance
    if turns.every != 1:
        summary.busy_every = max(summary.busy_every or 0, turns.every) or None
    polled = {r.project_id for r in turns.chosen(busy)}
    slowed = {r.project_id for r in busy if r.project_id not in polled}
    summary.slowed_busy += len(slowed)
    return [r for r in due if r.project_id not in slowed]


def _with_retries(granted: Grants, spare: int) -> tuple[Grants, int]:
    """Each grant with up to `RETRIES_PER_POLL` more requests, from what the minute leaves spare:
    a request that fails in passing is sent again within the same poll. None when nothing is spare."""
    if spare <= 0 or not granted:
        return granted, 0
    given = min(spare, RETRIES_PER_POLL * len(granted))
    each, extra = divmod(given, len(granted))
    out: Grants = [
        (record, None if cost is None else cost + each + (1 if n < extra else 0))
        for n, (record, cost) in enumerate(granted)
    ]
    return out, given


def _grants(
    ctx: DispatchContext, due: list[ProjectRecord], pace: Pace, limit: int, now: datetime
) -> tuple[Grants, list[ProjectRecord], int]:
    """In round-robin order from the cursor, each due project's grant while the minute has room."""
    available = max(limit - pace.spent(now), 0)
    granted: Grants = []
    deferred: list[ProjectRecord] = []
    points = 0
    for record in round_robin(due, pace.cursor):
        cost = poll_cost(record, limit, ctx.first_poll_requests)
        # Strictly in order: a costly project is never passed over for cheaper ones behind it.
        if not deferred and cost <= available:
            granted.append((record, cost))  # the poll makes no more requests than this
            available -= cost
            points += cost
        else:
            deferred.append(record)
    return granted, deferred, points


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

    def invoke(project_id: str, max_requests: int | None) -> None:
        try:
            ctx.invoker.invoke_poller(project_id, max_requests)
        except IntakeError as e:
            log.warning("invoke failed", extra={"project_id": project_id, "error_kind": e.kind})
            with lock:
                summary.failed_invoke += 1
                summary.failed_projects.append(project_id)
        else:
            with lock:
                summary.dispatched += 1

    with ThreadPoolExecutor(max_workers=ctx.max_concurrency, thread_name_prefix="dispatch") as pool:
        pending: list[Future[None]] = [pool.submit(invoke, r.project_id, cost) for r, cost in grants]
        for future in pending:
            future.result()
