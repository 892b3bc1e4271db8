"""The dispatcher off its main pacing path: several credentials in one tick, a spent minute, the
races for the pace item, failures (the index, an invoke, a deferral mark), the summary it reports.

Sharp enough for `make mutation`: each test fails on a defect that test_dispatch.py lets through.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import NoReturn

import pytest
from fakes import MemoryStore

from intake_dev.clock import FixedClock
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.dispatch import DispatchContext, DispatchSummary, dispatch, round_robin
from tracker_intake.domain.errors import ConfigInvalid, InvokeFailed, StoreUnavailable
from tracker_intake.domain.records import Grant, Installation, Pace, PollState, ProjectRecord, TokenBudget

KEY = "credential"


class RecordingInvoker:
    """Records each invoke and its grant; fails the projects named in `failing`."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.failing = failing
        self.invoked: list[str] = []
        self.grants: dict[str, int | None] = {}
        self._lock = threading.Lock()

    def invoke_poller(self, project_id: str, max_requests: int | None = None, max_retries: int | None = None) -> None:
        if project_id in self.failing:
            raise InvokeFailed(f"invoking the poller for {project_id!r} failed: ThrottlingException")
        with self._lock:
            self.invoked.append(project_id)
            self.grants[project_id] = max_requests


def _config(credential: str | None = None) -> ProjectConfig:
    intake: dict[str, object] = {"enabled": True, "labels": ["agent"], "repo": "a/b"}
    if credential is not None:
        intake["credential"] = credential
    return ProjectConfig.model_validate({"trackerIntake": intake})


def _world(
    projects: int, *, limit: int | None = 10, credential: str | None = None
) -> tuple[DispatchContext, MemoryStore, RecordingInvoker, FixedClock]:
    store, invoker, clock = MemoryStore(), RecordingInvoker(), FixedClock()
    for n in range(projects):
        _add(store, clock, f"p{n:02d}", pages=1, credential=credential)
    ctx = DispatchContext(store, store, invoker, clock, KEY, max_concurrency=1, requests_per_minute=limit)
    return ctx, store, invoker, clock


def _add(store: MemoryStore, clock: FixedClock, project_id: str, *, pages: int, credential: str | None = None) -> None:
    store.create_project(project_id, _config(credential), clock.now())
    store.save_poll_state(project_id, PollState(pages_read=pages))


class KeysByCredential:
    """The credentials port as the dispatcher uses it (`key_for` only): a project's budget is its
    credential's; an app project is paced on its installation's, or on another project's of the
    same owner once that one's was seen (as the adapter caches it); "gone" cannot be resolved."""

    def __init__(self) -> None:
        self.installation_of_owner: dict[str, str] = {}

    def key_for(self, record: ProjectRecord) -> str:
        if record.credential == "gone":
            raise ConfigInvalid("trackerIntake.credential", "no credential is registered as 'gone'")
        if record.credential != "app":
            return f"token-{record.credential}"
        intake = record.config.tracker_intake
        owner = intake.repo.split("/")[0] if intake is not None and intake.repo else ""
        if record.installation is not None:
            self.installation_of_owner[owner] = f"app-{record.installation.installation_id}"
        return self.installation_of_owner.get(owner, "app-pending")

    def for_project(self, record: ProjectRecord, *, remember: bool = True) -> NoReturn:
        raise AssertionError("the dispatcher never resolves a credential, it only keys its budget")

    def forget_installation(self, record: ProjectRecord) -> NoReturn:
        raise AssertionError("the dispatcher never forgets an installation")


# --- the order of a tick ----------------------------------------------------------------------


def test_round_robin_starts_after_the_cursor_and_ends_with_the_project_at_it() -> None:
    # GIVEN four projects and a cursor on p01 (the last polled on a tick that deferred others)
    _, store, _, _ = _world(4)
    records = [store.get_project(f"p{n:02d}") for n in (3, 1, 0, 2)]
    # WHEN they are put in round-robin order
    # THEN those after the cursor go first, and the one at the cursor is last, not dropped
    assert [r.project_id for r in round_robin(records, "p01")] == ["p02", "p03", "p00", "p01"]
    assert [r.project_id for r in round_robin(records, None)] == ["p00", "p01", "p02", "p03"]


def test_the_project_at_the_cursor_keeps_being_polled_once_the_backlog_clears() -> None:
    # GIVEN 3 projects and a budget of 2: a tick polls p00 and p01 and defers p02 (cursor: p01)
    ctx, store, invoker, clock = _world(3, limit=2)
    dispatch(ctx)
    # WHEN p02 goes into a long backoff, so the next ticks have room for every due project
    store.save_poll_state("p02", PollState(pages_read=1, backoff_until=clock.now() + timedelta(hours=1)))
    polled = []
    for _ in range(2):
        clock.advance(60)
        invoker.invoked.clear()
        dispatch(ctx)
        polled.append(sorted(invoker.invoked))
    # THEN each tick polls both p00 and p01 (the cursor's project is not left out, tick after tick)
    assert polled == [["p00", "p01"], ["p00", "p01"]]


def test_a_project_whose_backoff_ends_at_the_tick_is_polled_by_it() -> None:
    # GIVEN a project whose backoff ends exactly at the tick's time
    ctx, store, invoker, clock = _world(1)
    store.save_poll_state("p00", PollState(pages_read=1, backoff_until=clock.now(), consecutive_failures=1))
    # WHEN the tick runs  THEN the project is due again
    summary = dispatch(ctx)
    assert invoker.invoked == ["p00"] and summary.skipped_backoff == 0


@pytest.mark.parametrize(("off_by", "trusted"), [(30, True), (31, False)])
def test_a_scheduled_time_up_to_30_seconds_from_the_clock_dates_the_grant(off_by: int, trusted: bool) -> None:
    # GIVEN a tick whose event's scheduled time is 30 s (or 31 s) before the clock
    ctx, store, _, clock = _world(1)
    scheduled = clock.now() - timedelta(seconds=off_by)
    # WHEN it runs
    dispatch(ctx, scheduled=scheduled)
    # THEN its grant is dated by the schedule within 30 s, by the clock past that
    pace = store.get_pace(KEY)
    assert pace is not None and pace.grants[-1].at == (scheduled if trusted else clock.now())


def test_a_new_project_is_granted_the_configured_first_poll_requests() -> None:
    # GIVEN a project never polled, and a dispatcher that grants a first poll 3 requests
    ctx, store, invoker, clock = _world(0)
    store.create_project("new", _config(), clock.now())
    ctx = DispatchContext(store, store, invoker, clock, KEY, requests_per_minute=10, first_poll_requests=3)
    # WHEN a tick runs  THEN its poll may make 3 requests for pages
    dispatch(ctx)
    assert invoker.grants == {"new": 3}


# --- a spent minute ---------------------------------------------------------------------------


def test_a_tick_on_a_spent_minute_grants_nothing_and_defers_every_due_project() -> None:
    # GIVEN a budget of 2 that a tick spent 30 s ago, and a third project enabled since
    ctx, store, invoker, clock = _world(2, limit=2)
    dispatch(ctx)
    _add(store, clock, "p02", pages=1)
    clock.advance(30)
    invoker.invoked.clear()
    # WHEN the next tick runs
    summary = dispatch(ctx)
    # THEN no poll is granted, not even one request or one retry, and all three wait their turn
    assert invoker.invoked == []
    assert (summary.dispatched, summary.deferred, summary.points_available) == (0, 3, 0)
    assert (summary.points_granted, summary.retries_granted) == (0, 0)
    pace = store.get_pace(KEY)
    assert pace is not None and pace.spent(clock.now()) == 2


# --- several credentials in one tick ----------------------------------------------------------


def test_each_credential_is_paced_on_its_own_budget_and_the_summary_adds_them_up() -> None:
    # GIVEN two token credentials on a budget of 3 each; on each, a one-page project and then a
    # three-page one that does not fit in what is left (2), which leaves 2 spare for retries
    ctx, store, invoker, clock = _world(0, limit=3)
    for credential in ("alpha", "beta"):
        store.create_project(f"{credential}-1", _config(credential), clock.now())
        store.save_poll_state(f"{credential}-1", PollState(pages_read=1))
        store.create_project(f"{credential}-2", _config(credential), clock.now())
        store.save_poll_state(f"{credential}-2", PollState(pages_read=3))
    ctx = DispatchContext(store, store, invoker, clock, KEY, requests_per_minute=3, credentials=KeysByCredential())
    # WHEN a tick runs
    summary = dispatch(ctx)
    # THEN each credential polled its first project and deferred its second, on its own pace item
    assert sorted(invoker.invoked) == ["alpha-1", "beta-1"]
    for key in ("token-alpha", "token-beta"):
        pace = store.get_pace(key)
        assert pace is not None and pace.spent(clock.now()) == 1
    # AND the summary is the sum over both credentials
    counts = (summary.dispatched, summary.deferred, summary.points_granted, summary.points_available)
    assert counts == (2, 2, 2, 6)
    assert summary.retries_granted == 4
    # AND both deferred projects show since when they wait
    assert [store.get_project(p).deferred_since for p in ("alpha-2", "beta-2")] == [clock.now()] * 2


def test_a_new_app_project_is_paced_on_the_installation_of_its_owners_known_project() -> None:
    # GIVEN two app projects of the same owner: "a-new", whose installation is not known yet,
    # and "b-known", whose is (the index lists "a-new" first)
    ctx, store, invoker, clock = _world(0)
    for project_id in ("a-new", "b-known"):
        store.create_project(project_id, _config("app"), clock.now())
        store.save_poll_state(project_id, PollState(pages_read=1))
    store.set_installation("b-known", Installation("12", 7))
    ctx = DispatchContext(store, store, invoker, clock, KEY, requests_per_minute=10, credentials=KeysByCredential())
    # WHEN a tick runs
    dispatch(ctx)
    # THEN both are paced on installation 7's budget, not the new one beside it on a budget of its own
    assert sorted(invoker.invoked) == ["a-new", "b-known"]
    pace = store.get_pace("app-7")
    assert pace is not None and pace.spent(clock.now()) == 2
    assert store.get_pace("app-pending") is None


def test_a_credential_that_cannot_be_resolved_is_paced_on_its_own(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a project whose credential is no longer registered, beside one on a good credential
    ctx, store, invoker, clock = _world(0)
    store.create_project("lost", _config("gone"), clock.now())
    store.create_project("fine", _config("alpha"), clock.now())
    ctx = DispatchContext(store, store, invoker, clock, KEY, requests_per_minute=10, credentials=KeysByCredential())
    # WHEN a tick runs
    with caplog.at_level(logging.WARNING, logger="tracker_intake.domain.dispatch"):
        dispatch(ctx)
    # THEN both are polled (the lost one's poll fails and backs off, saying why), the lost one on
    # a budget of its own, never on another credential's
    assert sorted(invoker.invoked) == ["fine", "lost"]
    assert {key: _spent(store, key, clock) for key in ("unresolved-gone", "token-alpha")} == {
        "unresolved-gone": 2,
        "token-alpha": 2,
    }
    # AND the log says which project and why
    [record] = [r for r in caplog.records if r.getMessage() == "could not resolve a credential"]
    assert (record.project_id, record.error_kind) == ("lost", "config_invalid")  # type: ignore[attr-defined]


def _spent(store: MemoryStore, key: str, clock: FixedClock) -> int | None:
    pace = store.get_pace(key)
    return None if pace is None else pace.spent(clock.now())


def test_a_paused_credential_and_one_that_lost_the_race_add_up_in_skipped_budget() -> None:
    # GIVEN a paused credential with one project, and another with two whose pace another tick
    # wrote since this tick read it
    ctx, store, invoker, clock = _world(0)
    store.create_project("alpha-1", _config("alpha"), clock.now())
    for project_id in ("beta-1", "beta-2"):
        store.create_project(project_id, _config("beta"), clock.now())
    store.pause("token-alpha", clock.now() + timedelta(seconds=90))
    store.save_pace(Pace("token-beta", (Grant(clock.now(), 2),), "beta-2", 1))
    budgets = StaleFirstRead(store, "token-beta")
    ctx = DispatchContext(store, budgets, invoker, clock, KEY, requests_per_minute=10, credentials=KeysByCredential())
    # WHEN a tick runs
    summary = dispatch(ctx)
    # THEN it polls nothing, and counts all three as skipped for their budget
    assert invoker.invoked == [] and summary.skipped_budget == 3


def test_the_primary_shares_of_several_credentials_add_up() -> None:
    # GIVEN two credentials, each with two busy projects and 12 of 90 left for the 3 minutes to
    # its reset (2 kept back: 10 over 3 ticks, 3.3 each)
    ctx, store, invoker, clock = _world(0)
    for credential in ("alpha", "beta"):
        for n in range(2):
            project_id = f"{credential}-{n}"
            store.create_project(project_id, _config(credential), clock.now())
            store.save_poll_state(project_id, PollState(pages_read=1, primary_costs=(2, 2, 2, 2)))
        store.record_budget(TokenBudget(f"token-{credential}", 12, clock.now() + timedelta(seconds=180), limit=90))
    # (each marked as waiting for the minute's budget by an earlier tick)
    for project_id in ("alpha-0", "alpha-1", "beta-0", "beta-1"):
        store.set_deferred(project_id, clock.now() - timedelta(seconds=60))
    ctx = DispatchContext(store, store, invoker, clock, KEY, requests_per_minute=600, credentials=KeysByCredential())
    # WHEN a tick runs
    summary = dispatch(ctx)
    # THEN each credential polls one busy project (2 of its 3.3) and slows the other
    assert sorted(p.split("-")[0] for p in invoker.invoked) == ["alpha", "beta"]
    # AND none is shown waiting for the minute's budget any more: the slowed ones wait their turn
    # of the primary share instead
    assert [store.get_project(p).deferred_since for p in ("alpha-0", "alpha-1", "beta-0", "beta-1")] == [None] * 4
    # AND the summary adds both: 6.7 of allowance, 2 slowed, polled every 2 ticks
    assert summary.primary_allowance == pytest.approx(20 / 3)
    assert (summary.slowed_busy, summary.busy_every) == (2, 2)
    assert summary.as_dict()["primaryAllowance"] == 6.7


def test_a_window_with_nothing_to_share_reports_no_allowance_and_no_turn() -> None:
    # GIVEN busy projects on a credential with only GitHub's reserve left (100 of 5,000)
    ctx, store, invoker, clock = _world(0, limit=600)
    for n in range(3):
        store.create_project(f"busy{n}", _config(), clock.now())
        store.save_poll_state(f"busy{n}", PollState(pages_read=1, primary_costs=(1, 1, 1, 1)))
    store.record_budget(TokenBudget(KEY, 100, clock.now() + timedelta(seconds=1200), limit=5000))
    # WHEN a tick runs
    summary = dispatch(ctx)
    # THEN nothing is polled, with an allowance of 0 and no busy project's turn in sight
    assert invoker.invoked == []
    assert (summary.primary_allowance, summary.slowed_busy, summary.busy_every) == (0.0, 3, 0)


def test_without_primary_pacing_busy_projects_are_polled_whatever_the_window_has_left() -> None:
    # GIVEN busy projects, a spent primary window, and primary pacing turned off (the benchmark's
    # dispatcher before it)
    ctx, store, invoker, clock = _world(0, limit=600)
    for n in range(3):
        store.create_project(f"busy{n}", _config(), clock.now())
        store.save_poll_state(f"busy{n}", PollState(pages_read=1, primary_costs=(1, 1, 1, 1)))
    store.record_budget(TokenBudget(KEY, 100, clock.now() + timedelta(seconds=1200), limit=5000))
    ctx = DispatchContext(store, store, invoker, clock, KEY, requests_per_minute=600, pace_primary=False)
    # WHEN a tick runs  THEN every one is polled, and no allowance is reported
    summary = dispatch(ctx)
    assert len(invoker.invoked) == 3 and summary.primary_allowance is None and summary.slowed_busy == 0


# --- the races for the pace item --------------------------------------------------------------


class StaleFirstRead:
    """The budgets port as a tick sees it when another tick wrote `key`'s pace after this tick's
    first read of it: that read is stale, the ones after it are not."""

    def __init__(self, store: MemoryStore, key: str) -> None:
        self.store, self.key = store, key
        self.stale = True

    def get_budget(self, token_key: str) -> TokenBudget | None:
        return self.store.get_budget(token_key)

    def get_pace(self, token_key: str) -> Pace | None:
        if token_key == self.key and self.stale:
            self.stale = False
            return None
        return self.store.get_pace(token_key)

    def save_pace(self, pace: Pace) -> bool:
        return self.store.save_pace(pace)

    def record_budget(self, budget: TokenBudget) -> None:
        self.store.record_budget(budget)

    def pause(self, token_key: str, until: datetime) -> NoReturn:
        raise AssertionError("the dispatcher never pauses")


class PreviewsBetweenEveryReadAndWrite:
    """The budgets port when a preview reserves a page between each of the tick's reads and writes
    of the pace, `races` times."""

    def __init__(self, store: MemoryStore, races: int, at: datetime) -> None:
        self.store, self.races, self.at = store, races, at
        self.writes = 0

    def get_budget(self, token_key: str) -> TokenBudget | None:
        return self.store.get_budget(token_key)

    def get_pace(self, token_key: str) -> Pace | None:
        return self.store.get_pace(token_key)

    def save_pace(self, pace: Pace) -> bool:
        self.writes += 1
        if self.writes <= self.races:
            current = self.store.get_pace(pace.token_key) or Pace(pace.token_key)
            assert self.store.save_pace(current.after_tick(self.at, 1, current.cursor, preview=True))
        return self.store.save_pace(pace)

    def record_budget(self, budget: TokenBudget) -> None:
        self.store.record_budget(budget)

    def pause(self, token_key: str, until: datetime) -> NoReturn:
        raise AssertionError("the dispatcher never pauses")


def test_a_tick_that_loses_to_previews_three_times_plans_a_fourth_time_and_polls() -> None:
    # GIVEN a preview that reserves a page between each of the tick's first three plans and writes
    _, store, invoker, clock = _world(2, limit=10)
    racing = PreviewsBetweenEveryReadAndWrite(store, 3, clock.now())
    # WHEN the tick runs
    summary = dispatch(DispatchContext(store, racing, invoker, clock, KEY, requests_per_minute=10))
    # THEN its fourth plan is written, on what the previews left, and its polls go out
    assert racing.writes == 4 and summary.error is None
    assert sorted(invoker.invoked) == ["p00", "p01"]
    assert (summary.points_available, summary.points_granted) == (7, 2)


def test_a_tick_that_loses_to_previews_four_times_gives_up_and_polls_nothing() -> None:
    # GIVEN previews that reserve a page between every one of the tick's plans and writes
    _, store, invoker, clock = _world(2, limit=10)
    racing = PreviewsBetweenEveryReadAndWrite(store, 99, clock.now())
    # WHEN the tick runs
    summary = dispatch(DispatchContext(store, racing, invoker, clock, KEY, requests_per_minute=10))
    # THEN it plans four times (one and three more), then polls nothing rather than spend the
    # minute twice, and counts its due projects as skipped for their budget
    assert racing.writes == 4 and invoker.invoked == []
    assert summary.error == "another tick is dispatching: this one polls nothing"
    assert (summary.dispatched, summary.skipped_budget) == (0, 2)


class PaceDeletedBetweenReadAndWrite(StaleFirstRead):
    """The budgets port when the pace item the tick read is deleted (by hand, to reset a
    credential's minute) before the tick writes it: the first read shows it, the next none."""

    def get_pace(self, token_key: str) -> Pace | None:
        if token_key == self.key and self.stale:
            self.stale = False
            return Pace(token_key, (), None, 1)
        return self.store.get_pace(token_key)


def test_a_tick_whose_pace_item_was_deleted_since_its_read_plans_again_on_a_new_one() -> None:
    # GIVEN a tick that read its credential's pace item, deleted before the tick writes it
    _, store, invoker, clock = _world(2, limit=10)
    budgets = PaceDeletedBetweenReadAndWrite(store, KEY)
    # WHEN the tick runs
    summary = dispatch(DispatchContext(store, budgets, invoker, clock, KEY, requests_per_minute=10))
    # THEN its write fails, it plans again on a new pace item of the same credential, and polls
    assert summary.error is None and sorted(invoker.invoked) == ["p00", "p01"]
    assert _spent(store, KEY, clock) == 2


# --- failures ---------------------------------------------------------------------------------


def test_a_tick_that_cannot_read_the_index_polls_nothing_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a store whose index cannot be read
    ctx, store, invoker, _ = _world(2)
    store.fail("intake_enabled", StoreUnavailable("DynamoDB throttled the query"))
    # WHEN a tick runs
    with caplog.at_level(logging.ERROR, logger="tracker_intake.domain.dispatch"):
        summary = dispatch(ctx)
    # THEN it polls nothing, its summary carries the error's kind and message (the next tick retries)
    assert invoker.invoked == [] and summary.dispatched == 0
    assert summary.as_dict()["error"] == "store_unavailable: DynamoDB throttled the query"
    # AND the log says so, with the kind
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert (record.getMessage(), record.error_kind) == ("dispatch failed", "store_unavailable")  # type: ignore[attr-defined]


def test_failed_invokes_are_counted_and_named_and_the_others_still_go(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN four projects, two of whose polls cannot be invoked (Lambda throttles)
    ctx, store, _, clock = _world(4)
    invoker = RecordingInvoker(failing=frozenset({"p01", "p03"}))
    ctx = DispatchContext(store, store, invoker, clock, KEY, requests_per_minute=10)
    # WHEN a tick runs
    with caplog.at_level(logging.WARNING, logger="tracker_intake.domain.dispatch"):
        summary = dispatch(ctx)
    # THEN the other two are dispatched, and the two failures counted and named
    assert sorted(invoker.invoked) == ["p00", "p02"]
    assert (summary.dispatched, summary.failed_invoke, sorted(summary.failed_projects)) == (2, 2, ["p01", "p03"])
    # AND each failure is logged with its project and kind
    failures = [r for r in caplog.records if r.getMessage() == "invoke failed"]
    assert sorted((r.project_id, r.error_kind) for r in failures) == [  # type: ignore[attr-defined]
        ("p01", "invoke_failed"),
        ("p03", "invoke_failed"),
    ]


class SlowInvoker:
    """An invoke that takes a while: records how many ran at once, and on which threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_flight = self.most_at_once = 0
        self.threads: set[str] = set()

    def invoke_poller(self, project_id: str, max_requests: int | None = None, max_retries: int | None = None) -> None:
        with self._lock:
            self.in_flight += 1
            self.most_at_once = max(self.most_at_once, self.in_flight)
            self.threads.add(threading.current_thread().name)
        time.sleep(0.03)
        with self._lock:
            self.in_flight -= 1


def test_polls_are_invoked_at_most_max_concurrency_at_a_time_on_the_dispatch_pool() -> None:
    # GIVEN six polls to invoke, each invoke taking a while, and a concurrency of 2
    _, store, _, clock = _world(6)
    invoker = SlowInvoker()
    ctx = DispatchContext(store, store, invoker, clock, KEY, max_concurrency=2, requests_per_minute=10)
    # WHEN a tick runs
    summary = dispatch(ctx)
    # THEN all six go, never more than two at once, from threads named for the dispatcher
    assert summary.dispatched == 6 and invoker.most_at_once == 2
    assert len(invoker.threads) == 2 and all(name.startswith("dispatch_") for name in invoker.threads)


def test_a_deferral_that_cannot_be_marked_does_not_stop_the_tick(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN 2 projects, a budget of 1, and a store that fails to mark the deferral
    ctx, store, invoker, _ = _world(2, limit=1)
    store.fail("set_deferred", StoreUnavailable("DynamoDB throttled the update"))
    # WHEN a tick runs
    with caplog.at_level(logging.WARNING, logger="tracker_intake.domain.dispatch"):
        summary = dispatch(ctx)
    # THEN the granted poll went, and the failed mark is logged with its project and kind
    assert invoker.invoked == ["p00"] and summary.deferred == 1
    [record] = [r for r in caplog.records if r.getMessage() == "could not record a deferral"]
    assert (record.project_id, record.error_kind) == ("p01", "store_unavailable")  # type: ignore[attr-defined]


# --- the summary ------------------------------------------------------------------------------


def test_the_oldest_deferral_is_reported_in_seconds_and_none_without_deferrals() -> None:
    # GIVEN 3 projects and a budget of 1
    ctx, store, _, clock = _world(3, limit=1)
    # WHEN a tick defers two, and the next minute's tick defers one of them again and one more
    first = dispatch(ctx)
    clock.advance(60)
    second = dispatch(ctx)
    # AND a tick with room for all of them follows
    clock.advance(60)
    ctx = DispatchContext(store, store, ctx.invoker, clock, KEY, requests_per_minute=10)
    third = dispatch(ctx)
    # THEN the first reports a deferral just started (0 s), the second one a minute old, and the
    # third none
    oldest = [s.as_dict()["oldestDeferralSeconds"] for s in (first, second, third)]
    assert oldest == [0, 60, None]


def test_the_summary_is_reported_under_its_published_names() -> None:
    # GIVEN a tick's summary with every field set, and 60 failed projects
    summary = DispatchSummary(
        dispatched=1,
        skipped_backoff=2,
        skipped_backoff_transient=3,
        skipped_budget=4,
        deferred=5,
        slowed_busy=6,
        busy_every=7,
        points_granted=8,
        points_available=9,
        retries_granted=10,
        primary_allowance=12.345,
        oldest_deferral_seconds=11,
        failed_invoke=60,
        failed_projects=[f"p{n:02d}" for n in range(60)],
        error="store_unavailable: down",
    )
    # WHEN it is reported (the dispatcher's answer and its log line)
    # THEN each field has its camelCase name, the allowance is rounded to a tenth, and at most 50
    # failed projects are named
    assert summary.as_dict() == {
        "dispatched": 1,
        "skippedBackoff": 2,
        "skippedBackoffTransient": 3,
        "skippedBudget": 4,
        "deferred": 5,
        "slowedBusy": 6,
        "busyEvery": 7,
        "pointsGranted": 8,
        "pointsAvailable": 9,
        "retriesGranted": 10,
        "primaryAllowance": 12.3,
        "oldestDeferralSeconds": 11,
        "failedInvoke": 60,
        "failedProjects": [f"p{n:02d}" for n in range(50)],
        "error": "store_unavailable: down",
    }
    # AND an empty summary reports zeros and nulls, an unknown allowance as null
    assert DispatchSummary().as_dict() == {
        "dispatched": 0,
        "skippedBackoff": 0,
        "skippedBackoffTransient": 0,
        "skippedBudget": 0,
        "deferred": 0,
        "slowedBusy": 0,
        "busyEvery": None,
        "pointsGranted": 0,
        "pointsAvailable": None,
        "retriesGranted": 0,
        "primaryAllowance": None,
        "oldestDeferralSeconds": None,
        "failedInvoke": 0,
        "failedProjects": [],
        "error": None,
    }
