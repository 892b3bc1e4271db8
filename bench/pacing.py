"""(f) One credential under GitHub's secondary limit: capacity, and latency beyond it.

A simulated minute-by-minute world: the real `dispatch` and the real `poll_project` on the
in-memory store and queue (tests/fakes.py), and a simulated GitHub that enforces the secondary
limit as GitHub documents it: 900 points per credential in any rolling 60 s, one per request, a
304 included. Every project is one page. Each minute, 2 % of the projects get a new matching
issue at a uniformly random moment of the minute before the tick; latency is the time from
that moment to the tick whose poll enqueued it. All requests of a tick happen at the tick's
time (the simulation has no fan-out delay), so the figures are the schedule's, not Lambda's.

"paced" is this dispatcher with the template's default budget (600 a minute). "unpaced" is
the dispatcher as it was before pacing: every due project every tick, and no credential pause
(a refused project simply tries again next tick). The real old poller also backed the refused
project off for 5 minutes; the simulation does not, so its refusal counts are an upper bound
on what the old code sent and its latencies a lower bound.
"""

from __future__ import annotations

import logging
import random
import statistics
import sys
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from intake_dev.clock import FixedClock
from intake_dev.template import REPO_ROOT
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.dispatch import DispatchContext, dispatch
from tracker_intake.domain.errors import SecondaryRateLimited
from tracker_intake.domain.issue import Issue
from tracker_intake.domain.poll import PollContext, poll_project
from tracker_intake.domain.records import Pace, PollState, TokenBudget
from tracker_intake.domain.session import SessionRequest
from tracker_intake.domain.tracker import DEFAULT_PAGE_CAP, CachedPage, IssueQuery, Page, Retries

sys.path.insert(0, str(REPO_ROOT / "tests"))
from fakes import MemoryStore

TARGETS = {"capacity_refusals": 0, "paced_refusals_total": 0}
KEY = "credential"
GITHUB_POINTS = 900
BUDGET = 600
MINUTES = 20
NEW_ISSUE_SHARE = 0.02
SEED = 11
SIZES = (500, 1000, 5000)


@dataclass
class SimGitHub:
    """One credential's secondary limit, and each repository's open issues and version."""

    clock: FixedClock
    points: deque[float] = field(default_factory=deque)
    requests: int = 0
    refusals: int = 0
    issues: dict[str, list[Issue]] = field(default_factory=dict)
    opened: dict[str, float] = field(default_factory=dict)

    def ask(self) -> None:
        now = self.clock.now().timestamp()
        while self.points and self.points[0] <= now - 60:
            self.points.popleft()
        if len(self.points) >= GITHUB_POINTS:
            self.refusals += 1
            raise SecondaryRateLimited(self.clock.now() + timedelta(seconds=60), "secondary rate limit (simulated)")
        self.points.append(now)
        self.requests += 1


class SimTracker:
    """The `Tracker` port over `SimGitHub`: one page a project, 304 while nothing changed."""

    def __init__(self, github: SimGitHub) -> None:
        self.github = github

    def pages(
        self,
        query: IssueQuery,
        cache: Mapping[str, CachedPage],
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
    ) -> Iterator[Page]:
        url = f"sim://{query.owner}/{query.repo}"
        self.github.ask()
        issues = self.github.issues[query.repo]
        etag = f'"{len(issues)}"'
        cached = cache.get(url)
        if cached is not None and cached.etag == etag:
            yield Page(url, 1, False, etag=etag, item_count=cached.item_count)
        else:
            yield Page(url, 1, True, tuple(issues), etag=etag, item_count=len(issues))


class Forgetful:
    """The budgets port of the unpaced dispatcher: no pause is ever recorded or seen."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def get_budget(self, token_key: str) -> TokenBudget | None:
        return None

    def record_budget(self, budget: TokenBudget) -> None:
        pass

    def pause(self, token_key: str, until: datetime) -> None:
        pass

    def get_pace(self, token_key: str) -> Pace | None:
        return None

    def save_pace(self, pace: Pace) -> bool:
        return True


class TimedQueue:
    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.sent: dict[str, float] = {}

    def send(self, request: SessionRequest) -> None:
        self.sent.setdefault(request.issue_id, self.clock.now().timestamp())


class Invoker:
    def __init__(self, ctx: PollContext) -> None:
        self.ctx = ctx

    def invoke_poller(self, project_id: str, max_requests: int | None = None, max_retries: int | None = None) -> None:
        poll_project(self.ctx, project_id, max_requests=max_requests, max_retries=max_retries)


def simulate(
    projects: int, *, paced: bool, budget: int = BUDGET, minutes: int = MINUTES, warm: bool = True
) -> dict[str, Any]:
    rng = random.Random(SEED)
    clock = FixedClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    github = SimGitHub(clock)
    store = MemoryStore()
    queue = TimedQueue(clock)
    budgets: Any = store if paced else Forgetful(store)
    for n in range(projects):
        name = f"r{n:05d}"
        github.issues[name] = []
        config = {"trackerIntake": {"enabled": True, "labels": ["agent"], "repo": f"acme/{name}"}}
        store.create_project(f"p{n:05d}", ProjectConfig.model_validate(config), clock.now())
        if warm:  # polled before: one page each (a cold start is measured on its own)
            store.save_poll_state(f"p{n:05d}", PollState(pages_read=1))
    poll_ctx = PollContext(store, store, budgets, queue, SimTracker(github), clock, KEY, rng=lambda: 0.0)
    ctx = DispatchContext(
        store, budgets, Invoker(poll_ctx), clock, KEY, max_concurrency=1, requests_per_minute=budget if paced else None
    )
    number = 0
    deferred_ticks = 0
    first_round = None
    for minute in range(minutes):
        if minute > 0:  # new issues opened during the minute before this tick
            for n in rng.sample(range(projects), max(1, round(projects * NEW_ISSUE_SHARE))):
                number += 1
                name = f"r{n:05d}"
                at = clock.now().timestamp() - rng.uniform(0, 60)
                issue = Issue(
                    owner="acme",
                    repo=name,
                    number=len(github.issues[name]) + 1,
                    title="new",
                    url=f"https://github.com/acme/{name}/issues/{len(github.issues[name]) + 1}",
                    labels=("agent",),
                    assignees=(),
                    body="",
                    created_at=datetime.fromtimestamp(at, UTC),
                    author_association="COLLABORATOR",  # may write: no member check to pace
                )
                github.issues[name].append(issue)
                github.opened[issue.canonical_id] = at
        summary = dispatch(ctx)
        deferred_ticks += 1 if summary.deferred else 0
        if first_round is None and all(r.poll.pages_read for r in store.intake_enabled()):
            first_round = minute + 1
        clock.advance(60)
    latencies = [queue.sent[i] - at for i, at in github.opened.items() if i in queue.sent]
    waiting = len(github.opened) - len(latencies)
    cuts = statistics.quantiles(latencies, n=20) if len(latencies) >= 2 else [0.0] * 19
    # An issue still waiting at the end has waited at least until then: counted so, the
    # percentiles cannot look better by leaving the starved out.
    end = clock.now().timestamp()
    censored = latencies + [end - at for i, at in github.opened.items() if i not in queue.sent]
    all_cuts = statistics.quantiles(censored, n=20) if len(censored) >= 2 else [0.0] * 19
    return {
        "projects": projects,
        "minutes": minutes,
        "requests": github.requests,
        "refusals": github.refusals,
        "issues_opened": len(github.opened),
        "issues_still_waiting": waiting,
        "latency_p50_s": round(statistics.median(latencies), 1) if latencies else None,
        "latency_p95_s": round(cuts[18], 1),
        "latency_p50_with_waiting_s": round(statistics.median(censored), 1) if censored else None,
        "latency_p95_with_waiting_s": round(all_cuts[18], 1),
        "ticks_with_deferrals": deferred_ticks,
        "minutes_until_every_project_polled": first_round,
    }


def capacity(budget: int = BUDGET) -> dict[str, Any]:
    """The most one-page projects polled every minute with no deferral and no refusal."""
    low, high = 1, 2 * GITHUB_POINTS
    while low < high:
        mid = (low + high + 1) // 2
        run = simulate(mid, paced=True, budget=budget, minutes=5)
        if run["refusals"] == 0 and run["ticks_with_deferrals"] == 0:
            low = mid
        else:
            high = mid - 1
    return {"projects": low, "refusals": simulate(low, paced=True, budget=budget, minutes=5)["refusals"]}


def run() -> dict[str, Any]:
    logging.getLogger("tracker_intake").setLevel(logging.ERROR)  # a refusal logs a warning each
    at_default = capacity(BUDGET)
    at_github = capacity(GITHUB_POINTS)
    cold = [simulate(n, paced=True, warm=False, minutes=20) for n in (1000, 5000)]
    paced = [simulate(n, paced=True) for n in SIZES]
    unpaced = [simulate(n, paced=False) for n in SIZES]
    return {
        "capacity_projects_at_600": at_default["projects"],
        "capacity_projects_at_900": at_github["projects"],
        "capacity_refusals": at_default["refusals"] + at_github["refusals"],
        "paced": paced,
        "unpaced": unpaced,
        "cold_start": [
            {"projects": r["projects"], "minutes_until_every_project_polled": r["minutes_until_every_project_polled"]}
            for r in cold
        ],
        "paced_refusals_total": sum(r["refusals"] for r in paced) + sum(r["refusals"] for r in cold),
        "unpaced_refusals_total": sum(r["refusals"] for r in unpaced),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
