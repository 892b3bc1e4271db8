"""The one-minute promise under GitHub as it behaves every day: a blip, and busy repositories.

Real dispatcher and poller handlers over moto and the loopback stand-in, whose clock is the
test's. What GitHub saw is read from the stand-in's own request log, never from the product.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from harness import Pipeline

from intake_dev.fake_github import FakeGitHub

PRIMARY_LIMIT = 15
PRIMARY_WINDOW = 180  # three ticks


def _tick(pipe: Pipeline) -> tuple[dict[str, Any], list[str]]:
    summary = pipe.tick()
    return summary, [m.issue_id for m in pipe.drain()]


# --- a blip costs seconds -----------------------------------------------------------------------


def test_after_an_outage_every_eligible_issue_is_enqueued_on_the_first_tick_after_recovery(
    aws: dict[str, Any], github: FakeGitHub
) -> None:
    # GIVEN four projects, each with a new matching issue, and GitHub failing every request for
    # 8 seconds from the tick (502, 500 and reset connections, in turn)
    pipe = Pipeline(aws, github)
    for name in ("one", "two", "three", "four"):
        github.add_repo("acme", name).add_issue(f"{name} bug", labels=["agent"])
        pipe.create_project(name, repo=f"acme/{name}", labels=["agent"])
    recovered = pipe.clock.now().timestamp() + 8
    github.outage(recovered)
    # WHEN the tick meets the outage, and the ticks after it run a minute apart
    during, sent = _tick(pipe)
    failed = {name: pipe.project(name).poll for name in ("one", "two", "three", "four")}
    pipe.clock.advance(60 - (pipe.clock.now().timestamp() - (recovered - 8)))  # the next scheduled tick
    after, sent_after = _tick(pipe)
    # THEN the outage's tick enqueued nothing, and each project failed once, as a transient failure
    assert sent == [] and during["dispatched"] == 4
    assert all(p.consecutive_failures == 1 and p.transient for p in failed.values()), failed
    # AND the 502s and resets were retried within the poll after a pause (the 8 s outage outlasted
    # them; a 500 is not retried at once)
    assert pipe.pauses and set(pipe.pauses) == {1.0}
    # AND the next tick, 52 s after GitHub recovered, polled all four and enqueued every issue
    assert (after["dispatched"], after["skippedBackoff"]) == (4, 0)
    assert sorted(sent_after) == sorted(f"github:acme/{n}#1" for n in ("one", "two", "three", "four"))
    assert all(pipe.project(n).poll.consecutive_failures == 0 for n in ("one", "two", "three", "four"))


def test_a_502_in_passing_is_retried_within_the_poll_and_costs_no_backoff(pipe: Pipeline, github: FakeGitHub) -> None:
    # GIVEN a project whose GitHub answers 502 once, then recovers
    github.add_repo("acme", "app").add_issue("a", labels=["agent"])
    pipe.create_project("app", repo="acme/app", labels=["agent"])
    github.inject("bad_gateway", repo="acme/app", times=1)
    # WHEN a tick polls it
    summary, sent = _tick(pipe)
    # THEN the poll tried again after a second and enqueued the issue; the project is healthy
    assert sent == ["github:acme/app#1"] and summary["retriesGranted"] >= 1
    assert [r.status for r in github.requests_for("acme/app")] == [502, 200]
    assert pipe.pauses == [1.0]
    assert pipe.project("app").poll.healthy()


@pytest.fixture
def pipe(aws: dict[str, Any], github: FakeGitHub) -> Iterator[Pipeline]:
    yield Pipeline(aws, github)


# --- busy repositories slow down; quiet ones keep their cadence -----------------------------------


@pytest.fixture
def small_window() -> Iterator[FakeGitHub]:
    """The stand-in with a primary budget of 15 requests a 3-minute window per credential."""
    with FakeGitHub(primary_limit=PRIMARY_LIMIT, primary_window_seconds=PRIMARY_WINDOW) as fake:
        yield fake


def test_busy_projects_share_a_small_primary_window_and_quiet_ones_keep_their_cadence(
    aws: dict[str, Any], small_window: FakeGitHub
) -> None:
    # GIVEN eight busy repositories (someone comments between every two polls) and four quiet
    # ones on one token whose primary budget is 15 requests a 3-minute window, each project
    # with one issue that is a session already
    github = small_window
    pipe = Pipeline(aws, github)
    busy = [f"busy{n}" for n in range(8)]
    quiet = [f"quiet{n}" for n in range(4)]
    for name in busy + quiet:
        github.add_repo("acme", name).add_issue(f"{name} bug", labels=["agent"])
        pipe.create_project(name, repo=f"acme/{name}", labels=["agent"])

    def chatter() -> None:
        for name in busy:
            github.repo(f"acme/{name}").add_comment(1, "any news?")

    # (warm-up: the first polls are 200s for want of ETags, the next show who is busy; then the
    # stand-in's window is let run out)
    for _ in range(3):
        chatter()
        _tick(pipe)
        pipe.clock.advance(60)
    pipe.clock.advance(PRIMARY_WINDOW)
    github.clear_requests()
    start = pipe.clock.now().timestamp()
    # WHEN twelve ticks run a minute apart (four windows), a quiet repository gets a new issue
    # before the fifth, and the busy ones keep talking
    summaries, sent = [], []
    for n in range(12):
        chatter()
        if n == 4:
            github.repo("acme/quiet2").add_issue("a new one", labels=["agent"])
        summary, enqueued = _tick(pipe)
        summaries.append(summary)
        sent += enqueued
        pipe.clock.advance(60)
    log = github.requests
    # THEN GitHub refused nothing, for either limit
    assert github.primary_refusals() == 0 and github.secondary_refusals() == 0
    assert all(r.status in (200, 304) for r in log)
    # AND the credential was never paused: no tick skipped a project for its budget
    assert [s["skippedBudget"] for s in summaries] == [0] * 12
    budget = pipe.store.get_budget(pipe.poll_context().token_key)
    assert budget is not None and (budget.paused_until is None or budget.paused_until.timestamp() <= start)
    # AND every quiet project was polled on every tick (a 304 costs nothing), and the new issue
    # was enqueued on the tick after it opened
    ticks = [int((r.at - start) // 60) for r in log]
    for name in quiet:
        assert sorted(t for r, t in zip(log, ticks, strict=True) if r.repo == f"acme/{name}") == list(range(12)), name
    assert sent == ["github:acme/quiet2#2"]
    # AND the busy projects slowed down evenly: fewer polls than ticks, within one of each other,
    # and never more 200s in a window than the budget holds
    polls = Counter(r.repo for r in log if r.repo in {f"acme/{b}" for b in busy})
    assert all(polls[f"acme/{b}"] < 12 for b in busy), polls
    assert max(polls.values()) - min(polls.values()) <= 1, polls
    spent = Counter(int((r.at - start) // PRIMARY_WINDOW) for r in log if r.status == 200)
    assert max(spent.values()) <= PRIMARY_LIMIT, spent
    assert sum(s["slowedBusy"] for s in summaries) > 0
