"""GitHub as it really behaves: the full last page, and the per-credential secondary limits.

Real dispatcher and poller handlers over moto and the loopback stand-in, whose clock is the
test's: every window below is read from the stand-in's own request log.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from harness import TOKEN, Pipeline

from intake_dev.fake_github import FakeGitHub
from tracker_intake.adapters.github_token import token_key
from tracker_intake.domain.records import PollState


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    """The stand-in with GitHub's documented secondary limits (900 points a minute, 100 in flight)."""
    with FakeGitHub() as fake:
        yield fake


def _seed(github: FakeGitHub, name: str, count: int) -> Any:
    repo = github.add_repo("acme", name)
    for n in range(count):
        repo.add_issue(f"issue {n}", labels=["agent"])
    return repo


def _settle(pipe: Pipeline, ticks: int) -> list[str]:
    sessions: list[str] = []
    for _ in range(ticks):
        pipe.tick()
        pipe.clock.advance(60)
        sessions += [m.issue_id for m in pipe.drain()]
    return sessions


# --- the last full page -------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "page_cap"), [(100, 10), (200, 10), (200, 3)])
def test_an_issue_opening_a_page_after_an_exactly_full_last_page_starts_a_session_on_the_next_tick(
    aws: dict[str, Any], github: FakeGitHub, count: int, page_cap: int
) -> None:
    # GIVEN exactly `count` matching issues (full pages only), all of them sessions already
    pipe = Pipeline(aws, github, page_cap=page_cap)
    repo = _seed(github, "full", count)
    pipe.create_project("full", repo="acme/full", labels=["agent"], maxSessionsPerPoll=100)
    assert len(set(_settle(pipe, count // 100 + 1))) == count
    # WHEN one more matching issue opens the next page
    repo.add_issue("one too many", labels=["agent"])
    pipe.tick()
    # THEN that tick enqueues it, and only it
    assert [m.issue_id for m in pipe.drain()] == [f"github:acme/full#{count + 1}"]


def test_a_full_last_page_costs_one_extra_304_in_steady_state_and_a_partial_one_none(
    aws: dict[str, Any], github: FakeGitHub
) -> None:
    # GIVEN one project whose last page is exactly full and one whose last page is not
    pipe = Pipeline(aws, github)
    _seed(github, "full", 100)
    _seed(github, "partial", 99)
    pipe.create_project("full", repo="acme/full", labels=["agent"], maxSessionsPerPoll=100)
    pipe.create_project("partial", repo="acme/partial", labels=["agent"], maxSessionsPerPoll=100)
    _settle(pipe, 3)
    github.clear_requests()
    # WHEN a steady-state tick runs
    pipe.tick()
    # THEN the full one asks its page and the (empty) page after it, both 304; the other one page
    full = [(r.query.get("page", "1"), r.status) for r in github.requests_for("acme/full")]
    partial = [r.status for r in github.requests_for("acme/partial")]
    assert full == [("1", 304), ("2", 304)]
    assert partial == [304]


# --- pacing within the credential's budget ----------------------------------------------------------


def _max_in_window(times: list[float], window: float = 60.0) -> int:
    """The most requests in any rolling window (closed at its end), over the request times."""
    ordered = sorted(times)
    return max((sum(1 for t in ordered if end - window < t <= end) for end in ordered), default=0)


def test_many_projects_on_one_token_never_exceed_the_budget_in_any_minute_and_none_starves(
    aws: dict[str, Any],
) -> None:
    # GIVEN 12 one-page projects on one token, a budget of 4 requests a minute (3x too few for
    # every project every minute), and a stand-in whose own secondary limit is that same 4
    budget, projects, tick = 4, 12, 15
    with FakeGitHub(secondary_points_per_minute=budget) as github:
        pipe = Pipeline(aws, github, requests_per_minute=budget, dispatch_concurrency=1)
        for n in range(projects):
            _seed(github, f"p{n:02d}", 1)
            pipe.create_project(f"p{n:02d}", repo=f"acme/p{n:02d}", labels=["agent"])
            # Polled before: its cost is known (one page). A project's very first poll is
            # granted two requests instead; tests/unit/test_dispatch.py covers that.
            pipe.store.save_poll_state(f"p{n:02d}", PollState(pages_read=1))
        start = pipe.clock.now().timestamp()
        # WHEN the dispatcher ticks every 15 s for 8 minutes
        deferred = []
        for _ in range(8 * 60 // tick):
            deferred.append(pipe.tick()["deferred"])
            pipe.clock.advance(tick)
        log = github.requests
        refusals = github.secondary_refusals()
    # THEN no rolling minute of the stand-in's log holds more than the budget, GitHub never
    # refused a request, and ticks did defer projects
    assert _max_in_window([r.at for r in log]) <= budget
    assert refusals == 0
    assert max(deferred) > 0
    # AND every project was polled within the stated bound, and again within it after that:
    # ceil(N * cost / (B - cost + 1)) minutes plus one tick (3 min 15 s here)
    bound = math.ceil(projects * 1 / (budget - 1 + 1)) * 60 + tick
    for n in range(projects):
        times = [start, *sorted(r.at for r in log if r.repo == f"acme/p{n:02d}")]
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert len(times) >= 3, f"p{n:02d} polled {len(times) - 1} times"
        assert max(gaps) <= bound, (f"p{n:02d}", gaps)


def test_a_deferred_project_says_since_when_and_it_is_cleared_once_polled(aws: dict[str, Any]) -> None:
    # GIVEN 3 one-page projects and a budget of 2 requests a minute
    with FakeGitHub() as github:
        pipe = Pipeline(aws, github, requests_per_minute=2)
        for name in ("a", "b", "c"):
            _seed(github, name, 1)
            pipe.create_project(name, repo=f"acme/{name}", labels=["agent"])
            pipe.store.save_poll_state(name, PollState(pages_read=1))  # polled before: one page
        # WHEN a tick runs
        first = pipe.tick()
        waiting = pipe.project("c")
        # AND the next minute's tick runs
        pipe.clock.advance(60)
        second = pipe.tick()
    # THEN the first tick polled a and b and deferred c, which shows since when it waits
    assert (first["dispatched"], first["deferred"]) == (2, 1)
    assert waiting.deferred_since == pipe.clock.now() - timedelta(seconds=60)
    # AND the next tick started with c (the one waiting longest), clearing its deferral
    assert second["deferred"] == 1
    assert pipe.project("c").deferred_since is None
    assert pipe.project("a").deferred_since is None and pipe.project("b").deferred_since is not None


# --- a secondary-limit answer pauses the credential ---------------------------------------------------


def test_after_a_secondary_limit_no_project_on_the_token_asks_github_before_the_hint(
    aws: dict[str, Any], github: FakeGitHub
) -> None:
    # GIVEN five projects on one token, polled one after another, and GitHub answering the
    # third poll with a secondary limit and retry-after 120 s
    pipe = Pipeline(aws, github, dispatch_concurrency=1)
    for n in range(5):
        _seed(github, f"r{n}", 1)
        pipe.create_project(f"r{n}", repo=f"acme/r{n}", labels=["agent"])
    github.inject("secondary_rate_limit_seconds", repo="acme/r2", seconds=120)
    # WHEN the dispatcher ticks every 20 s for 3 minutes
    for _ in range(9):
        pipe.tick()
        pipe.clock.advance(20)
    log = github.requests
    index = next(i for i, r in enumerate(log) if r.status == 403)
    limited = log[index]
    # THEN no request reached GitHub after the 403 (in the log's order: the clock stands still
    # within a tick) and before its hint
    during = [r for r in log[index + 1 :] if r.at < limited.at + 120]
    assert during == []
    after = {r.repo for r in log if r.at >= limited.at + 120}
    assert after == {f"acme/r{n}" for n in range(5)}
    # AND no project counted it as its own failure
    for n in range(5):
        state = pipe.project(f"r{n}").poll
        assert state.consecutive_failures == 0 and state.backoff_until is None, (n, state)
    budget = pipe.store.get_budget(token_key(TOKEN))
    assert budget is not None and budget.paused_until is not None
    assert budget.paused_until.timestamp() >= limited.at + 120


def test_pollers_together_stay_within_the_credentials_concurrency_bound(aws: dict[str, Any]) -> None:
    # GIVEN 8 projects polled 8 at a time, slow GitHub answers, and a bound of 3 requests in flight
    with FakeGitHub(secondary_concurrency=3) as github:
        pipe = Pipeline(aws, github, dispatch_concurrency=8)
        for n in range(8):
            _seed(github, f"c{n}", 1)
            pipe.create_project(f"c{n}", repo=f"acme/c{n}", labels=["agent"])
        pipe.set_github_max_concurrency(3)
        github.inject("slow", times=8, seconds=0.3)
        # WHEN one tick polls all of them at once
        summary = pipe.tick()
        peak = max(github.max_in_flight.values())
        refusals = github.secondary_refusals()
    # THEN GitHub never saw more than 3 in flight, and refused nothing
    assert summary["dispatched"] == 8
    assert peak <= 3
    assert refusals == 0
