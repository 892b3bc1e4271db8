"""(k) Pickup latency when GitHub blips or repositories are busy: today's dispatcher and the one before.

A simulated world on a simulated clock, so no figure depends on the machine's speed: the real
`dispatch` and the real `poll_project` on the in-memory store and queue (tests/fakes.py), and a
simulated GitHub that keeps each credential's limits as GitHub documents them
(https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api):

- primary: 5,000 requests a window of an hour, per credential, told in `x-ratelimit-*` on every
  answer; a 200 costs one, an authorized 304 nothing; once spent, every request is refused until
  the reset (GitHub documents no exemption for a conditional one);
- secondary: 900 points in any rolling 60 s, one a request, a 304 included.

Every project is one page, polled before (its ETag cached: a deployment an hour in; a cold
start is `bench/pacing.py`'s). Busy repositories are ones where people talk: every poll of them gets
a 200 (a new comment changed the page since the last one). New matching issues open at random
moments; pickup is the time from an issue's opening (its `updated_at`) to the poll that enqueued
it. Each poll runs on its own clock from its tick's time, so a retry's pause (1-2 s) moves that
poll's requests and nobody else's.

"before" is the dispatcher as it was before issue 23: no retries, a 502 backed off five minutes,
and the primary budget not paced (only a spent one pauses the credential). It is this code with
`pace_primary=False` and `retries_per_poll=0`, and a 502 raised as the error kind it was then
handled as (not transient).
"""

from __future__ import annotations

import logging
import random
import statistics
import sys
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from intake_dev.clock import FixedClock
from intake_dev.template import REPO_ROOT
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.dispatch import DispatchContext, dispatch
from tracker_intake.domain.errors import (
    BadTrackerResponse,
    PrimaryRateLimited,
    SecondaryRateLimited,
    TrackerUnavailable,
)
from tracker_intake.domain.issue import Issue
from tracker_intake.domain.poll import PollContext, poll_project
from tracker_intake.domain.ports import Resolved
from tracker_intake.domain.records import PollState, ProjectRecord
from tracker_intake.domain.session import SessionRequest
from tracker_intake.domain.tracker import DEFAULT_PAGE_CAP, CachedPage, IssueQuery, Page, RateLimit, Retries

sys.path.insert(0, str(REPO_ROOT / "tests"))
from fakes import MemoryStore

TARGETS = {
    "outage_last_pickup_after_recovery_s": "<= 60",
    "busy_primary_refusals": 0,
    "busy_minutes_paused": 0,
    "busy_quiet_p95_over_cadence_s": "<= 0",
}
START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
PRIMARY_LIMIT = 5000
PRIMARY_WINDOW = 3600
SECONDARY_POINTS = 900
BUDGET = 600  # the template's GitHubRequestsPerMinute
SEED = 23


@dataclass
class Limits:
    """One credential at GitHub: its primary window and its secondary minute."""

    remaining: int = PRIMARY_LIMIT
    reset: float | None = None
    points: deque[float] = field(default_factory=deque)
    requests: int = 0
    primary_refusals: int = 0
    secondary_refusals: int = 0
    refused_at: set[int] = field(default_factory=set)  # minutes with a refusal (the credential paused)
    lowest: int = PRIMARY_LIMIT  # the least the credential ever had left

    def ask(self, now: float, costs_primary: bool) -> RateLimit:
        """Count one request at `now`; raise GitHub's refusal when a limit is spent."""
        while self.points and self.points[0] <= now - 60:
            self.points.popleft()
        if self.reset is None or now >= self.reset:
            self.remaining, self.reset = PRIMARY_LIMIT, now + PRIMARY_WINDOW
        at = datetime.fromtimestamp(now, UTC)
        if len(self.points) >= SECONDARY_POINTS:
            self.secondary_refusals += 1
            self.refused_at.add(int(now // 60))
            raise SecondaryRateLimited(at + timedelta(seconds=60))
        if self.remaining <= 0:
            self.primary_refusals += 1
            self.refused_at.add(int(now // 60))
            raise PrimaryRateLimited(datetime.fromtimestamp(self.reset, UTC))
        self.points.append(now)
        self.requests += 1
        if costs_primary:
            self.remaining -= 1
            self.lowest = min(self.lowest, self.remaining)
        return RateLimit(self.remaining, datetime.fromtimestamp(self.reset, UTC), "core", PRIMARY_LIMIT)


@dataclass
class Repo:
    busy: bool
    issues: list[Issue] = field(default_factory=list)
    version: int = 0


class SimGitHub:
    """Repositories, credentials, an outage window, and the clock of the poll now running."""

    def __init__(self, *, transient_outage: bool) -> None:
        self.repos: dict[str, Repo] = {}
        self.limits: dict[str, Limits] = {}
        self.outage: tuple[float, float] | None = None
        self.outage_requests = 0
        self.transient_outage = transient_outage
        self.clock = FixedClock(START)  # replaced by each poll's own

    def page(self, key: str, name: str, cached: CachedPage | None) -> Page:
        now = self.clock.now().timestamp()
        if self.outage is not None and self.outage[0] <= now < self.outage[1]:
            self.outage_requests += 1
            if self.transient_outage:
                raise TrackerUnavailable(f"GitHub is unavailable (502) for acme/{name}", retryable=True)
            raise BadTrackerResponse(f"GitHub is unavailable (502) for acme/{name}")  # as handled before
        repo = self.repos[name]
        if repo.busy:
            repo.version += 1  # someone commented since the last poll
        etag = f'"{repo.version}-{len(repo.issues)}"'
        modified = cached is None or cached.etag != etag
        rate = self.limits.setdefault(key, Limits()).ask(now, modified)
        url = f"sim://acme/{name}"
        if not modified:
            return Page(url, 1, False, etag=etag, rate=rate)
        return Page(url, 1, True, tuple(repo.issues), etag=etag, rate=rate, item_count=len(repo.issues))


class SimTracker:
    """The `Tracker` port over `SimGitHub` for one credential, retrying as GitHub's tracker does."""

    def __init__(self, github: SimGitHub, key: str) -> None:
        self.github, self.key = github, key

    def pages(
        self,
        query: IssueQuery,
        cache: Mapping[str, CachedPage],
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
    ) -> Iterator[Page]:
        attempt = 1
        while True:
            try:
                page = self.github.page(self.key, query.repo, cache.get(f"sim://acme/{query.repo}"))
                break
            except TrackerUnavailable as e:
                if not (e.retryable and retries is not None and retries.allow(e, attempt)):
                    raise
                attempt += 1
        yield page


class Installations:
    """`Credentials` spreading projects over `count` credentials (app installations) by project number."""

    def __init__(self, github: SimGitHub, count: int) -> None:
        self.trackers = {f"app-1-{n}": SimTracker(github, f"app-1-{n}") for n in range(count)}

    def key_for(self, record: ProjectRecord) -> str:
        return f"app-1-{int(record.project_id[1:]) % len(self.trackers)}"

    def for_project(self, record: ProjectRecord, *, remember: bool = True) -> Resolved:
        key = self.key_for(record)
        return Resolved("default", key, self.trackers[key])

    def forget_installation(self, record: ProjectRecord) -> None:
        pass


class TimedQueue:
    def __init__(self, github: SimGitHub) -> None:
        self.github = github
        self.sent: dict[str, float] = {}

    def send(self, request: SessionRequest) -> None:
        self.sent.setdefault(request.issue_id, self.github.clock.now().timestamp())


class Invoker:
    """Runs each granted poll at once, on a clock of its own starting at the tick's time."""

    def __init__(self, ctx: PollContext, github: SimGitHub, tick: FixedClock) -> None:
        self.ctx, self.github, self.tick = ctx, github, tick

    def invoke_poller(self, project_id: str, max_requests: int | None = None, max_retries: int | None = None) -> None:
        clock = FixedClock(self.tick.now())
        self.github.clock = clock

        def sleep(seconds: float) -> None:  # a retry's pause moves this poll's clock only
            clock.advance(seconds)

        ctx = replace(self.ctx, clock=clock, sleep=sleep)
        deadline = clock.now() + timedelta(seconds=55)
        poll_project(ctx, project_id, deadline=deadline, max_requests=max_requests, max_retries=max_retries)


@dataclass(frozen=True)
class Scenario:
    projects: int
    credentials: int = 1
    busy_share: float = 0.0
    new_issues_per_minute: float = 0.0  # as a share of the projects
    minutes: int = 20
    outage: tuple[int, int] | None = None  # (seconds after the start, length in seconds)
    outage_issues: bool = False  # every project gets a new issue just before the outage


def simulate(scenario: Scenario, *, before: bool) -> dict[str, Any]:
    rng = random.Random(SEED)
    tick = FixedClock(START)
    github = SimGitHub(transient_outage=not before)
    store = MemoryStore()
    queue = TimedQueue(github)
    credentials = Installations(github, scenario.credentials)
    busy = set(rng.sample(range(scenario.projects), round(scenario.projects * scenario.busy_share)))
    for n in range(scenario.projects):
        github.repos[f"r{n:05d}"] = Repo(busy=n in busy)
        config = {"trackerIntake": {"enabled": True, "labels": ["agent"], "repo": f"acme/r{n:05d}"}}
        record = store.create_project(f"p{n:05d}", ProjectConfig.model_validate(config), tick.now())
        # Warm: polled before (one page, its ETag cached, the last answer a 304), as a deployment
        # is an hour after it started; the product finds out which repositories are busy.
        store.save_poll_state(record.project_id, PollState(pages_read=1, primary_costs=(0,)))
        cached = CachedPage(f"sim://acme/r{n:05d}", '"0-0"', credential=credentials.key_for(record))
        store.commit_page(record.project_id, cached)
    if scenario.outage is not None:
        begin = START.timestamp() + scenario.outage[0]
        github.outage = (begin, begin + scenario.outage[1])
    poll_ctx = PollContext(
        store, store, store, queue, SimTracker(github, "app-1-0"), tick, "app-1-0", rng=rng.random,
        credentials=credentials,
    )  # fmt: skip
    ctx = DispatchContext(
        store, store, Invoker(poll_ctx, github, tick), tick, "app-1-0", max_concurrency=1,
        requests_per_minute=BUDGET, credentials=credentials,
        pace_primary=not before, retries_per_poll=0 if before else 2,
    )  # fmt: skip
    opened: dict[str, tuple[float, bool]] = {}  # issue -> (when, on a busy repository)
    slowed = stalled = 0
    for minute in range(scenario.minutes):
        _open_issues(scenario, github, rng, tick, minute, opened)
        summary = dispatch(ctx, scheduled=tick.now())
        slowed += summary.slowed_busy
        # A tick that held a credential's projects back because its budget was spent (or paused).
        stalled += 1 if summary.skipped_budget else 0
        tick.advance(60)
    figures = _figures(scenario, github, queue, opened, tick, slowed)
    figures["minutes_credential_stalled"] = stalled
    return figures


def _open_issues(
    scenario: Scenario,
    github: SimGitHub,
    rng: random.Random,
    tick: FixedClock,
    minute: int,
    opened: dict[str, tuple[float, bool]],
) -> None:
    """New matching issues at random moments of the minute before this tick (none before the
    first); with `outage_issues`, one on every project five seconds before the outage."""
    names: list[int] = []
    before_outage: float | None = None
    outage = scenario.outage
    if scenario.outage_issues and outage is not None and minute * 60 <= outage[0] < minute * 60 + 60:
        names = list(range(scenario.projects))
        before_outage = tick.now().timestamp() + outage[0] % 60 - 5
    elif minute > 0 and scenario.new_issues_per_minute:
        count = max(1, round(scenario.projects * scenario.new_issues_per_minute))
        names = rng.sample(range(scenario.projects), count)
    for n in names:
        repo = github.repos[f"r{n:05d}"]
        at = before_outage if before_outage is not None else tick.now().timestamp() - rng.uniform(0, 60)
        issue = Issue(
            owner="acme",
            repo=f"r{n:05d}",
            number=len(repo.issues) + 1,
            title="new",
            url=f"https://github.com/acme/r{n:05d}/issues/{len(repo.issues) + 1}",
            labels=("agent",),
            assignees=(),
            body="",
            created_at=datetime.fromtimestamp(at, UTC),
            updated_at=datetime.fromtimestamp(at, UTC),
            author_association="COLLABORATOR",  # may write: no member check to pace
        )
        repo.issues.append(issue)
        opened[issue.canonical_id] = (at, repo.busy)


def _quantiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    cuts = statistics.quantiles(values, n=20) if len(values) >= 2 else [values[0]] * 19
    return {"p50": round(statistics.median(values), 1), "p95": round(cuts[18], 1), "max": round(max(values), 1)}


def _figures(
    scenario: Scenario,
    github: SimGitHub,
    queue: TimedQueue,
    opened: dict[str, tuple[float, bool]],
    tick: FixedClock,
    slowed: int,
) -> dict[str, Any]:
    end = tick.now().timestamp()
    # An issue still waiting at the end has waited at least until then: counted so, the figures
    # cannot look better by leaving the starved out.
    waits = {i: queue.sent.get(i, end) - at for i, (at, _) in opened.items()}
    quiet = [w for i, w in waits.items() if not opened[i][1]]
    busy = [w for i, w in waits.items() if opened[i][1]]
    limits = list(github.limits.values())
    figures: dict[str, Any] = {
        "projects": scenario.projects,
        "credentials": scenario.credentials,
        "busy_share": scenario.busy_share,
        "minutes": scenario.minutes,
        "issues_opened": len(opened),
        "issues_not_picked_up": sum(1 for i in opened if i not in queue.sent),
        "pickup_s": _quantiles(list(waits.values())),
        "pickup_quiet_s": _quantiles(quiet),
        "pickup_busy_s": _quantiles(busy),
        "requests": sum(c.requests for c in limits),
        "primary_refusals": sum(c.primary_refusals for c in limits),
        "secondary_refusals": sum(c.secondary_refusals for c in limits),
        "minutes_with_refusals": sum(len(c.refused_at) for c in limits),
        "lowest_primary_remaining": min((c.lowest for c in limits), default=None),
        "busy_polls_slowed": slowed,
    }
    if scenario.outage is not None:
        recovered = START.timestamp() + scenario.outage[0] + scenario.outage[1]
        after = [queue.sent[i] - recovered for i in opened if i in queue.sent]
        figures["outage_requests_failed"] = github.outage_requests
        figures["last_pickup_after_recovery_s"] = round(max(after), 1) if after else None
    return figures


OUTAGE = Scenario(100, outage=(300, 10), outage_issues=True, minutes=12)
BUSY = (
    Scenario(1000, busy_share=0.2, new_issues_per_minute=0.002, minutes=90),
    Scenario(5000, busy_share=0.2, new_issues_per_minute=0.002, minutes=90),
)
SPREAD = (
    Scenario(1000, credentials=10, busy_share=0.2, new_issues_per_minute=0.002, minutes=90),
    Scenario(5000, credentials=10, busy_share=0.2, new_issues_per_minute=0.002, minutes=90),
)


def run() -> dict[str, Any]:
    logging.getLogger("tracker_intake").setLevel(logging.ERROR)  # refusals and failures log warnings
    outage = {"today": simulate(OUTAGE, before=False), "before": simulate(OUTAGE, before=True)}
    busy = [{"today": simulate(s, before=False), "before": simulate(s, before=True)} for s in BUSY]
    spread = [{"today": simulate(s, before=False), "before": simulate(s, before=True)} for s in SPREAD]
    today = [r["today"] for r in busy + spread]
    return {
        "outage": outage,
        "busy_one_credential": busy,
        "busy_ten_installations": spread,
        "outage_last_pickup_after_recovery_s": outage["today"]["last_pickup_after_recovery_s"],
        "outage_pickup_p95_today_s": outage["today"]["pickup_s"]["p95"],
        "outage_pickup_p95_before_s": outage["before"]["pickup_s"]["p95"],
        "busy_primary_refusals": sum(r["primary_refusals"] for r in today),
        "busy_minutes_paused": sum(r["minutes_with_refusals"] + r["minutes_credential_stalled"] for r in today),
        # A quiet project's new issue waits no longer than the project's cadence: a minute, or the
        # secondary budget's round robin where one credential holds more projects than it polls a
        # minute (5,000 on one: ceil(5,000 / 600) minutes).
        "busy_quiet_p95_over_cadence_s": max(
            (r["pickup_quiet_s"]["p95"] or 0) - 60 * -(-r["projects"] // (BUDGET * r["credentials"])) for r in today
        ),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
