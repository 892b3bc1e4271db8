"""The dispatcher's schedule on in-memory fakes: the budget, the order, the pause, the race."""

from __future__ import annotations

from collections import Counter
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
        self.retries: dict[str, int | None] = {}

    def invoke_poller(self, project_id: str, max_requests: int | None = None, max_retries: int | None = None) -> None:
        self.invoked.append(project_id)
        self.grants[project_id] = max_requests
        self.retries[project_id] = max_retries


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
    # WHEN a tick runs on a budget that has room to spare
    summary = dispatch(ctx)
    # THEN the grants travel with the invokes: 3, and two (a page and the next) for the new one,
    # each with the two retries the spare allows
    assert invoker.grants == {"p00": 3, "new": 2}
    assert invoker.retries == {"p00": 2, "new": 2}
    assert (summary.points_granted, summary.retries_granted) == (5, 4)


def test_retries_are_granted_only_from_what_the_minute_leaves_spare() -> None:
    # GIVEN 4 one-page projects on a budget of 6 (2 spare once each has its page)
    ctx, store, invoker, _ = _world(4, limit=6)
    # WHEN a tick runs
    summary = dispatch(ctx)
    # THEN the 2 spare requests go to the first two polls as one retry each, and are not reserved
    assert invoker.grants == {"p00": 1, "p01": 1, "p02": 1, "p03": 1}
    assert invoker.retries == {"p00": 1, "p01": 1, "p02": 0, "p03": 0}
    assert summary.retries_granted == 2
    pace = store.get_pace(KEY)
    assert pace is not None and pace.spent(ctx.clock.now()) == 4


def test_a_full_minute_grants_no_retries() -> None:
    # GIVEN 5 one-page projects on a budget of 3
    ctx, _, invoker, _ = _world(5, limit=3)
    # WHEN a tick runs  THEN each granted poll may make its one request and no more
    summary = dispatch(ctx)
    assert invoker.grants == {"p00": 1, "p01": 1, "p02": 1} and summary.retries_granted == 0
    assert invoker.retries == {"p00": 0, "p01": 0, "p02": 0}


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
    # GIVEN another tick that wrote the credential's pace (a grant of its own) after this one read it
    _ctx, store, invoker, clock = _world(2, limit=10)
    store.save_pace(Pace(KEY, (Grant(clock.now(), 2),), None, 1))
    stale = StaleReads(store)
    # WHEN this tick runs with the stale read
    summary = dispatch(DispatchContext(store, stale, invoker, clock, KEY, requests_per_minute=10))
    # THEN its write fails once, and reading the pace again shows another tick's grant: it plans no
    # more, polls nothing and says why (the same minute is never spent twice)
    assert stale.saves == 1
    assert invoker.invoked == [] and summary.dispatched == 0
    assert summary.error is not None and "another tick" in summary.error


class StaleReads:
    """The budgets port as a tick sees it when another tick wrote the pace after its first read."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.reads = self.saves = 0

    def get_budget(self, token_key: str) -> TokenBudget | None:
        return self.store.get_budget(token_key)

    def get_pace(self, token_key: str) -> Pace | None:
        self.reads += 1
        # The first read was before the other tick saved; a read after a failed write is fresh.
        return None if self.reads == 1 else self.store.get_pace(token_key)

    def save_pace(self, pace: Pace) -> bool:
        self.saves += 1
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


# --- the primary budget: quiet projects keep their cadence, busy ones share what is left ----------


def _busy_and_quiet(
    busy: int, quiet: int, *, remaining: int, reset_in: int, limit: int = 5000
) -> tuple[DispatchContext, MemoryStore, RecordingInvoker, FixedClock]:
    """`busy` projects whose recent polls were all 200s, `quiet` ones whose last was a 304, and the
    credential's primary budget as GitHub last said it."""
    ctx, store, invoker, clock = _world(0, limit=600)
    config = ProjectConfig.model_validate({"trackerIntake": {"enabled": True, "labels": ["agent"], "repo": "a/b"}})
    for n in range(busy):
        store.create_project(f"busy{n:02d}", config, clock.now())
        store.save_poll_state(f"busy{n:02d}", PollState(pages_read=1, primary_costs=(1, 1, 1, 1)))
    for n in range(quiet):
        store.create_project(f"quiet{n:02d}", config, clock.now())
        store.save_poll_state(f"quiet{n:02d}", PollState(pages_read=1, primary_costs=(0,)))
    store.record_budget(TokenBudget(KEY, remaining, clock.now() + timedelta(seconds=reset_in), limit=limit))
    return ctx, store, invoker, clock


def test_busy_projects_share_what_is_left_evenly_and_quiet_ones_keep_their_cadence() -> None:
    # GIVEN 8 busy and 4 quiet projects, and a credential that always has 12 left for the 3
    # minutes until its reset (a 90 limit keeps 2 back: 10 / 3 ticks = 3.3 a tick)
    ctx, store, invoker, clock = _busy_and_quiet(8, 4, remaining=12, reset_in=180, limit=90)
    # WHEN nine ticks run a minute apart
    polled_per_tick = []
    for _ in range(9):
        store.record_budget(TokenBudget(KEY, 12, clock.now() + timedelta(seconds=180), limit=90))
        invoker.invoked.clear()
        summary = dispatch(ctx)
        polled_per_tick.append(sorted(invoker.invoked))
        clock.advance(60)
    # THEN every tick polled every quiet project
    quiet = [f"quiet{n:02d}" for n in range(4)]
    assert all([p for p in tick if p.startswith("quiet")] == quiet for tick in polled_per_tick)
    # AND 3.3 busy ones a tick on average (3, 3, then 4 with what the first two left over), in
    # turns: each busy project polled as often as the others, within one
    busy = [[p for p in tick if p.startswith("busy")] for tick in polled_per_tick]
    assert [len(tick) for tick in busy] == [3, 3, 4] * 3
    counts = Counter(p for tick in busy for p in tick)
    assert sorted(counts) == [f"busy{n:02d}" for n in range(8)] and max(counts.values()) - min(counts.values()) <= 1
    assert summary.busy_every == 2 and summary.slowed_busy == 4


def test_with_room_for_every_busy_project_nobody_is_slowed() -> None:
    # GIVEN 8 busy projects and 4,000 of 5,000 left for the 30 minutes to the reset
    ctx, _, invoker, _ = _busy_and_quiet(8, 4, remaining=4000, reset_in=1800)
    # WHEN a tick runs  THEN all 12 are polled
    summary = dispatch(ctx)
    assert len(invoker.invoked) == 12 and summary.slowed_busy == 0 and summary.busy_every is None


def test_an_almost_spent_window_polls_only_the_quiet_projects_until_the_reset() -> None:
    # GIVEN 100 left of 5,000 (the reserve) for the 20 minutes to the reset
    ctx, _, invoker, clock = _busy_and_quiet(8, 4, remaining=100, reset_in=1200)
    # WHEN a tick runs
    summary = dispatch(ctx)
    # THEN the quiet projects are polled (their 304s cost nothing), the busy ones wait
    assert sorted(invoker.invoked) == [f"quiet{n:02d}" for n in range(4)]
    assert summary.slowed_busy == 8
    # AND once the reset has passed (the new window unknown until a poll says), all are polled
    clock.advance(1200)
    invoker.invoked.clear()
    dispatch(ctx)
    assert len(invoker.invoked) == 12


def test_recent_changes_are_served_first_and_most_polls_of_200s_make_a_project_busy() -> None:
    # GIVEN one project per recent history, and 1 point to spend this tick (120 left of 5,000:
    # 20 after the reserve, over the 20 minutes to the reset)
    ctx, store, invoker, _ = _busy_and_quiet(0, 0, remaining=120, reset_in=1200)
    config = ProjectConfig.model_validate({"trackerIntake": {"enabled": True, "labels": ["agent"], "repo": "a/b"}})
    for name, costs, pages in (
        ("new-issue", (0, 0, 0, 1), 1),  # one 200 in four polls: a new issue (charged 0.25)
        ("two-issues", (0, 0, 1, 1), 1),  # new issues on two polls in a row: still quiet (0.5)
        ("talking", (0, 1, 1, 1), 1),  # three in four: busy (charged a whole 200)
        ("upgraded", (), 1),  # polled before its costs were kept: its ETags are cached (free)
        ("never", (), 0),  # never polled: its first poll is all 200s (busy, charged 2)
        ("at-rest", (0, 0, 0, 0), 1),  # free
    ):
        store.create_project(name, config, ctx.clock.now())
        store.save_poll_state(name, PollState(pages_read=pages, primary_costs=costs))
    # WHEN a tick runs
    summary = dispatch(ctx)
    # THEN the free and the quiet ones are polled (0.75 of the 1 point); the busy ones wait
    assert sorted(invoker.invoked) == ["at-rest", "new-issue", "two-issues", "upgraded"]
    assert summary.slowed_busy == 2


def test_a_busy_project_costlier_than_a_ticks_share_waits_for_its_turn_instead_of_overspending() -> None:
    # GIVEN one busy project whose polls cost 3 pages of 200s, and 1 a tick to spend (62 left
    # for the hour: 60 after the reserve of a 100 limit, spread over 60 ticks)
    ctx, store, invoker, clock = _busy_and_quiet(0, 0, remaining=62, reset_in=3600, limit=100)
    config = ProjectConfig.model_validate({"trackerIntake": {"enabled": True, "labels": ["agent"], "repo": "a/b"}})
    store.create_project("big", config, clock.now())
    store.save_poll_state("big", PollState(pages_read=3, primary_costs=(3, 3, 3, 3)))
    # WHEN six ticks run, the budget as GitHub would say it after each poll
    remaining, reset = 62, clock.now() + timedelta(hours=1)
    polled = []
    for _ in range(6):
        store.record_budget(TokenBudget(KEY, remaining, reset, limit=100))
        invoker.invoked.clear()
        dispatch(ctx)
        polled.append(bool(invoker.invoked))
        remaining -= 3 if invoker.invoked else 0
        clock.advance(60)
    # THEN it was polled every third tick, when its share had gathered its cost
    assert polled == [False, False, True, False, False, True]


def test_without_a_known_budget_the_tick_paces_on_the_secondary_budget_only() -> None:
    # GIVEN busy projects and no primary budget ever observed
    ctx, store, invoker, _ = _world(0, limit=600)
    config = ProjectConfig.model_validate({"trackerIntake": {"enabled": True, "labels": ["agent"], "repo": "a/b"}})
    for n in range(5):
        store.create_project(f"busy{n}", config, ctx.clock.now())
        store.save_poll_state(f"busy{n}", PollState(pages_read=1, primary_costs=(1, 1)))
    # WHEN a tick runs  THEN every one is polled (nothing assumed of GitHub's budget)
    summary = dispatch(ctx)
    assert len(invoker.invoked) == 5 and summary.primary_allowance is None


def test_a_project_in_a_transient_backoff_is_counted_apart() -> None:
    # GIVEN two projects backing off, one after a 502 and one after bad credentials
    ctx, store, _, clock = _world(2, limit=10)
    until = clock.now() + timedelta(minutes=1)
    store.save_poll_state("p00", PollState(pages_read=1, backoff_until=until, consecutive_failures=1, transient=True))
    store.save_poll_state("p01", PollState(pages_read=1, backoff_until=until, consecutive_failures=1))
    # WHEN a tick runs  THEN both are skipped, one of them as transient
    summary = dispatch(ctx)
    assert (summary.skipped_backoff, summary.skipped_backoff_transient) == (2, 1)
