"""The dispatcher's schedule on in-memory fakes: the budget, the order, the pause, the race."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fakes import MemoryStore

from intake_dev.clock import FixedClock
from tracker_intake.adapters.github import page_after
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.dispatch import DispatchContext, dispatch
from tracker_intake.domain.records import Grant, Pace, PollState, TokenBudget

KEY = "credential"


class RecordingInvoker:
    def __init__(self) -> None:
        self.invoked: list[str] = []
        self.grants: dict[str, int | None] = {}

    def invoke_poller(self, project_id: str, max_requests: int | None = None) -> None:
        self.invoked.append(project_id)
        self.grants[project_id] = max_requests


def _world(projects: int, *, limit: int | None) -> tuple[DispatchContext, MemoryStore, RecordingInvoker, FixedClock]:
    store, invoker, clock = MemoryStore(), RecordingInvoker(), FixedClock()
    config = ProjectConfig.model_validate({"trackerIntake": {"enabled": True, "labels": ["agent"], "repo": "a/b"}})
    for n in range(projects):
        store.create_project(f"p{n:02d}", config, clock.now())
        store.save_poll_state(f"p{n:02d}", PollState(pages_read=1))  # polled before: one page
    ctx = DispatchContext(store, store, invoker, clock, KEY, max_concurrency=1, requests_per_minute=limit)
    return ctx, store, invoker, clock


def test_a_tick_grants_polls_up_to_the_budget_and_defers_the_rest() -> None:
    # GIVEN 5 one-page projects and a budget of 3 requests a minute
    ctx, store, invoker, clock = _world(5, limit=3)
    # WHEN a tick runs
    summary = dispatch(ctx)
    # THEN 3 are polled, 2 deferred, and the grant is recorded on the credential's pace
    assert sorted(invoker.invoked) == ["p00", "p01", "p02"]
    assert (summary.dispatched, summary.deferred, summary.points_granted) == (3, 2, 3)
    pace = store.get_pace(KEY)
    assert pace is not None and pace.spent(clock.now()) == 3 and pace.cursor == "p02"


def test_the_next_tick_within_the_minute_grants_only_what_is_left_and_then_the_window_rolls() -> None:
    # GIVEN a budget of 5 and a tick that spent 3 of it (3 projects due)
    ctx, store, invoker, clock = _world(3, limit=5)
    dispatch(ctx)
    # WHEN two more projects are enabled, another tick runs 30 s later, and one more 31 s after that
    config = store.get_project("p00").config
    for name in ("p03", "p04"):
        store.create_project(name, config, clock.now())
        store.save_poll_state(name, PollState(pages_read=1))
    clock.advance(30)
    second = dispatch(ctx)
    clock.advance(31)
    third = dispatch(ctx)
    # THEN the second had 2 left and granted 2; the third (past the first's minute) had 3 more
    assert (second.points_available, second.dispatched, second.deferred) == (2, 2, 3)
    assert (third.points_available, third.dispatched) == (3, 3)
    assert invoker.invoked == ["p00", "p01", "p02", "p00", "p01", "p02", "p03", "p04"]


def test_the_projects_deferred_longest_go_first_on_the_next_tick() -> None:
    # GIVEN 5 projects, a budget of 2, and a tick that polled p00 and p01
    ctx, _, invoker, clock = _world(5, limit=2)
    dispatch(ctx)
    # WHEN the next two minutes' ticks run
    for _ in range(2):
        clock.advance(60)
        dispatch(ctx)
    # THEN they went on in turn, wrapping round: nobody waits for a second turn before all had one
    assert invoker.invoked == ["p00", "p01", "p02", "p03", "p04", "p00"]


def test_a_project_costlier_than_whats_left_is_not_passed_over_for_cheaper_ones() -> None:
    # GIVEN a budget of 3, where p01's last poll read 3 pages
    ctx, store, invoker, clock = _world(3, limit=3)
    store.save_poll_state("p01", PollState(pages_read=3))
    # WHEN two ticks a minute apart run
    first = dispatch(ctx)
    clock.advance(60)
    dispatch(ctx)
    # THEN the first stopped at p01 (1 left, 3 needed) rather than skipping to p02; p01 went next
    assert first.deferred == 2
    assert invoker.invoked == ["p00", "p01"]


def test_a_project_bigger_than_the_whole_budget_is_still_polled_once_the_minute_is_empty() -> None:
    # GIVEN a budget of 2 and a project whose last walk read 10 pages
    ctx, store, invoker, _ = _world(1, limit=2)
    store.save_poll_state("p00", PollState(pages_read=10))
    # WHEN a tick runs on an empty minute
    summary = dispatch(ctx)
    # THEN it is granted (costed at the whole budget), not starved
    assert invoker.invoked == ["p00"] and summary.points_granted == 2


def test_ticks_dated_by_their_schedule_spend_a_full_budget_each_minute_although_they_run_early() -> None:
    # GIVEN 20 projects, a budget of 10, and ticks that run 59.9 s apart by the wall clock
    # (EventBridge delivers a scheduled tick a little late, by varying amounts)
    ctx, _, _invoker, clock = _world(20, limit=10)
    scheduled = clock.now()
    per_tick = []
    for _ in range(6):
        per_tick.append(dispatch(ctx, scheduled=scheduled).dispatched)
        clock.advance(59.9)
        scheduled += timedelta(seconds=60)
    # THEN, dated by their schedule (exactly a minute apart), every tick grants the full budget
    assert per_tick == [10] * 6


def test_a_scheduled_time_far_from_the_clock_is_not_trusted() -> None:
    # GIVEN a tick whose event claims a time ten minutes in the past (a redelivered event)
    ctx, _, _, clock = _world(1, limit=10)
    # WHEN it runs THEN its grant is dated by the clock
    dispatch(ctx, scheduled=clock.now() - timedelta(minutes=10))
    pace = ctx.budgets.get_pace(KEY)
    assert pace is not None and pace.grants[-1].at == clock.now()


def test_each_poll_is_granted_what_its_last_walk_needed_and_a_new_project_two_requests() -> None:
    # GIVEN a project whose last walk needed 3 requests and one never polled
    ctx, store, invoker, _ = _world(1, limit=100)
    store.save_poll_state("p00", PollState(pages_read=3))
    store.create_project("new", store.get_project("p00").config, ctx.clock.now())
    # WHEN a tick runs
    dispatch(ctx)
    # THEN the grants travel with the invokes: 3, and two (a page and the next) for the new one
    assert invoker.grants == {"p00": 3, "new": 2}


def test_a_paused_credential_polls_nothing_until_the_pause_ends() -> None:
    # GIVEN a credential paused for 90 s by a secondary limit
    ctx, store, _invoker, clock = _world(3, limit=100)
    store.pause(KEY, clock.now() + timedelta(seconds=90))
    # WHEN ticks run during the pause and after it
    during = dispatch(ctx)
    clock.advance(91)
    after = dispatch(ctx)
    # THEN nothing is polled during it, every project after it
    assert during.dispatched == 0 and during.skipped_budget == 3
    assert after.dispatched == 3


def test_a_tick_that_loses_the_race_for_the_pace_item_polls_nothing() -> None:
    # GIVEN another tick that wrote the credential's pace after this one would have read it
    _ctx, store, invoker, clock = _world(2, limit=10)
    store.save_pace(Pace(KEY, (Grant(clock.now(), 2),), None, 1))
    stale = StaleReads(store)
    # WHEN this tick runs with the stale read
    summary = dispatch(DispatchContext(store, stale, invoker, clock, KEY, requests_per_minute=10))
    # THEN it polls nothing and says why: the same minute is never spent twice
    assert invoker.invoked == [] and summary.dispatched == 0
    assert summary.error is not None and "another tick" in summary.error


class StaleReads:
    """The budgets port as a tick sees it when another tick wrote the pace since its read."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def get_budget(self, token_key: str) -> TokenBudget | None:
        return self.store.get_budget(token_key)

    def get_pace(self, token_key: str) -> Pace | None:
        return None  # read before the other tick saved

    def save_pace(self, pace: Pace) -> bool:
        return self.store.save_pace(pace)

    def record_budget(self, budget: TokenBudget) -> None:
        self.store.record_budget(budget)

    def pause(self, token_key: str, until: object) -> None:
        raise AssertionError("the dispatcher never pauses")


def test_deferral_is_marked_when_it_starts_and_cleared_when_the_project_is_polled() -> None:
    # GIVEN 3 projects and a budget of 2
    ctx, store, _, clock = _world(3, limit=2)
    # WHEN a tick defers p02, then the next minute's tick polls it
    dispatch(ctx)
    marked = store.get_project("p02").deferred_since
    clock.advance(60)
    dispatch(ctx)
    # THEN p02 showed since when it waited, and no longer does
    assert marked == clock.now() - timedelta(seconds=60)
    assert store.get_project("p02").deferred_since is None


def test_unpaced_dispatch_polls_every_due_project() -> None:
    # GIVEN pacing off (the dispatcher before this change, kept for the benchmark's comparison)
    ctx, _, _invoker, _ = _world(7, limit=None)
    # WHEN a tick runs
    summary = dispatch(ctx)
    # THEN every project is polled and nothing is recorded as granted
    assert summary.dispatched == 7 and summary.points_granted == 0


@pytest.mark.parametrize(
    ("url", "after"),
    [
        ("https://h/repos/a/b/issues?state=open&labels=x%2Cy&per_page=100", "page=2"),
        ("https://h/repositories/1/issues?state=open&per_page=100&page=3", "page=4"),
    ],
)
def test_the_page_after_a_url_keeps_its_other_parameters_verbatim(url: str, after: str) -> None:
    # WHEN the page after a first page, or after a page of a Link header, is asked for
    probe = page_after(url)
    # THEN only the page number changes, and the rest keeps its exact encoding (a cache key)
    assert probe.endswith("&" + after)
    assert probe.split("?")[1].replace("&" + after, "").split("&page=")[0] == url.split("?")[1].split("&page=")[0]


class PreviewBetweenReadAndWrite:
    """The budgets port as a tick sees it when a preview reserves its pages in the middle."""

    def __init__(self, store: MemoryStore, points: int, at: datetime) -> None:
        self.store, self.points, self.at = store, points, at
        self.raced = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    def save_pace(self, pace: Pace) -> bool:
        if not self.raced:
            self.raced = True
            current = self.store.get_pace(KEY) or Pace(KEY)
            assert self.store.save_pace(current.after_tick(self.at, self.points, current.cursor, preview=True))
        return self.store.save_pace(pace)


def test_a_tick_that_loses_the_pace_to_a_preview_plans_again_and_polls() -> None:
    # GIVEN 3 one-page projects, a budget of 10, and a preview that reserves 8 pages between the
    # tick's read of the pace and its write
    _ctx, store, invoker, clock = _world(3, limit=10)
    racing = PreviewBetweenReadAndWrite(store, 8, clock.now())
    # WHEN the tick runs
    summary = dispatch(DispatchContext(store, racing, invoker, clock, KEY, requests_per_minute=10))  # type: ignore[arg-type]
    # THEN it planned again on what the preview left (2 points): two projects polled, one deferred
    assert summary.error is None
    assert len(invoker.invoked) == 2 and summary.deferred == 1
    pace = store.get_pace(KEY)
    assert pace is not None and [(g.points, g.preview) for g in pace.grants] == [(8, True), (2, False)]
