"""(h) Credentials: each has its own budget, so k credentials sustain k times the projects; and
what a GitHub App's installation tokens cost in steady state.

The world of bench/pacing.py (the real `dispatch` and `poll_project` over the in-memory store, a
simulated clock, every request of a tick at the tick's instant), with the real credentials and
GitHub: the deployment's default credential is a GitHub App (`wiring.build_credentials`, its key
in moto's Secrets Manager), installed k times (k budgets); GitHubTracker asks the loopback
stand-in, whose clock is the simulated one and whose secondary limits are GitHub's (900 points
a rolling minute per identity, a 304 included; 100 requests in flight). Each project is one page.

- capacity: N one-page projects spread over k installations, polled before (cost known, one
  page; installation known), ticks a minute apart. At N = k x GitHubRequestsPerMinute every
  project should be polled every minute with no deferral; 10 % over, the round robin defers
  the excess one tick. Secondary-limit answers are read from the stand-in's log.
- joining: 300 new two-page projects join an installation whose 600 projects already use its
  whole budget; the newcomers must wait for its minute, not spend a budget beside it.
- tokens: a few projects per installation, no installation known at the start, ticks a minute
  apart for six simulated hours in one warm container; lookups and mints are read from the log.
  A mint's duration is timed on its own against the stand-in (loopback: a floor, not GitHub's).
"""

from __future__ import annotations

import itertools
import logging
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws

from intake_dev.clock import FixedClock
from intake_dev.fake_github import FakeGitHub, RecordedRequest
from tracker_intake.adapters.github import GitHubTracker
from tracker_intake.adapters.github_app import GitHubApp, forget_cached_credentials
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.dispatch import DispatchContext, DispatchSummary, dispatch
from tracker_intake.domain.poll import PollContext, poll_project
from tracker_intake.domain.records import Installation, PollState
from tracker_intake.settings import PollerSettings
from tracker_intake.wiring import build_credentials

from .common import LABEL, add_issues, fake_aws_env
from .pacing import BUDGET, Invoker, TimedQueue

TARGETS = {
    "secondary_answers_total": 0,
    "at_capacity_every_project_every_minute": True,
    "steady_mints_per_installation_hour_per_container": "<= 1.1",
}
APP_ID = "4242"
FIRST_INSTALLATION = 100
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CAPACITY_MINUTES = 6
OVER = 0.10  # the over-capacity run: 10 % more projects than the budgets cover
DISPATCH_CONCURRENCY = 32  # the template's DispatchConcurrency default
TOKEN_HOURS = 6
TOKEN_PROJECTS_PER_INSTALLATION = 3
TIMING_ROUNDS = 40


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fmt = serialization.PrivateFormat.TraditionalOpenSSL
    pem = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, public.decode()


PEM, PUBLIC_PEM = _key_pair()


class CountingInvoker(Invoker):
    """bench/pacing.py's in-process invoker, keeping each poll's result (a failed poll backs its
    project off for five minutes, which shows as a long wait: the run says why)."""

    def __init__(self, ctx: PollContext) -> None:
        super().__init__(ctx)
        self._lock = threading.Lock()
        self.results: Counter[str] = Counter()

    def invoke_poller(self, project_id: str, max_requests: int | None = None, max_retries: int | None = None) -> None:
        outcome = poll_project(self.ctx, project_id, max_requests=max_requests, max_retries=max_retries)
        said = outcome.result.value if outcome.error is None else f"{outcome.result.value}: {outcome.error}"
        with self._lock:
            self.results[said] += 1


@dataclass
class World:
    clock: FixedClock
    github: FakeGitHub
    dispatch: DispatchContext
    invoker: CountingInvoker


@contextmanager
def app_world(
    installations: int, per_installation: int, *, warm: bool, joining: int = 0, joining_issues: int = 1
) -> Iterator[World]:
    """k installations of one app (the default credential), each over its own one-page repositories.

    `warm`: every project polled before (its cost, one page, and its installation known).
    `joining`: projects per installation never polled yet, `joining_issues` open issues each.
    """
    from fakes import MemoryStore  # tests/ is on sys.path once bench.pacing is imported

    fake_aws_env()
    forget_cached_credentials()
    clock = FixedClock(START)
    with mock_aws(), FakeGitHub(clock=lambda: clock.now().timestamp()) as github:
        arn = boto3.client("secretsmanager").create_secret(Name="tracker-intake/app-key", SecretString=PEM)["ARN"]
        github.add_app(APP_ID, PUBLIC_PEM)
        store = MemoryStore()
        for i in range(installations):
            installation_id = FIRST_INSTALLATION + i
            names = [f"i{i}-r{n:04d}" for n in range(per_installation)]
            newcomers = [f"i{i}-j{n:04d}" for n in range(joining)]
            github.add_installation(APP_ID, installation_id, [f"acme/{name}" for name in names + newcomers])
            for name in names + newcomers:
                config = {"trackerIntake": {"enabled": True, "labels": [LABEL], "repo": f"acme/{name}"}}
                store.create_project(name, ProjectConfig.model_validate(config), clock.now())
            for name in names:
                github.add_repo("acme", name).add_issue(f"{name}: first", labels=[LABEL])
                if warm:
                    store.save_poll_state(name, PollState(pages_read=1))
                    store.set_installation(name, Installation(APP_ID, installation_id))
            for name in newcomers:
                add_issues(github.add_repo("acme", name), joining_issues, eligible_every=joining_issues)
        settings = PollerSettings.from_env(
            {
                "TABLE_NAME": "unused",
                "QUEUE_URL": "unused",
                "GITHUB_APP_ID": APP_ID,
                "GITHUB_APP_KEY_SECRET_ARN": arn,
            }
        )
        credentials = build_credentials(settings, store, api_url=github.base_url, clock=clock)
        poll = PollContext(
            store,
            store,
            store,
            TimedQueue(clock),
            GitHubTracker(github.base_url, None),  # each poll's own comes from `credentials`
            clock,
            "unresolved",
            rng=lambda: 0.0,
            credentials=credentials,
        )
        invoker = CountingInvoker(poll)
        ctx = DispatchContext(
            store,
            store,
            invoker,
            clock,
            "unresolved",
            max_concurrency=DISPATCH_CONCURRENCY,
            requests_per_minute=BUDGET,
            credentials=credentials,
        )
        try:
            yield World(clock, github, ctx, invoker)
        finally:
            forget_cached_credentials()


def _issue_requests(log: list[RecordedRequest]) -> list[RecordedRequest]:
    return [r for r in log if r.path.endswith("/issues")]


def capacity(installations: int, projects: int, minutes: int = CAPACITY_MINUTES) -> dict[str, Any]:
    """`projects` one-page projects over `installations` budgets, ticked every minute."""
    per = projects // installations
    with app_world(installations, per, warm=True) as world:
        start = world.clock.now().timestamp()
        summaries: list[DispatchSummary] = []
        started = time.perf_counter()
        for _ in range(minutes):
            summaries.append(dispatch(world.dispatch))
            world.clock.advance(60)
        wall = time.perf_counter() - started
        log = world.github.requests
        refused = world.github.secondary_refusals()
        results = dict(world.invoker.results)
    listings = _issue_requests(log)
    by_tick = Counter(int((r.at - start) // 60) for r in listings)
    polled: dict[str, list[float]] = defaultdict(list)
    for r in listings:
        polled[r.repo or ""].append(r.at)
    # The longest any project went without a poll: from the first tick to its first poll, then
    # between polls (a project never polled would wait the whole run).
    waits = [
        later - earlier
        for times in ([start, *sorted(polled[f"acme/{name}"])] for name in _names(installations, per))
        for earlier, later in itertools.pairwise(times)
    ]
    never = sum(1 for name in _names(installations, per) if not polled[f"acme/{name}"])
    per_identity = Counter(r.identity for r in listings if int((r.at - start) // 60) == minutes - 1)
    return {
        "credentials": installations,
        "projects": per * installations,
        "minutes": minutes,
        "polls_per_minute_min": min(by_tick[m] for m in range(minutes)),
        "polls_per_minute_max": max(by_tick[m] for m in range(minutes)),
        "requests_per_credential_last_minute": sorted(per_identity.values()),
        "deferred_per_tick_max": max(s.deferred for s in summaries),
        "secondary_answers": refused + sum(1 for r in log if r.status in (403, 429)),
        "max_wait_s": max(waits) if waits else None,
        "projects_never_polled": never,
        "every_project_every_minute": never == 0 and bool(waits) and max(waits) <= 60,
        "statuses": dict(sorted(Counter(str(r.status) for r in listings).items())),
        "poll_results": results,
        "wall_s": round(wall, 1),
    }


def joining(warm: int = BUDGET, newcomers: int = BUDGET // 2, issues: int = 150) -> dict[str, Any]:
    """New projects joining an installation already at its budget: their first polls are paced
    on the app's `pending` budget (the dispatcher cannot know their installation before the
    poller has looked it up), so in the minutes they join the installation is asked for more."""
    with app_world(1, warm, warm=True, joining=newcomers, joining_issues=issues) as world:
        start = world.clock.now().timestamp()
        summaries = []
        for _ in range(CAPACITY_MINUTES):
            summaries.append(dispatch(world.dispatch))
            world.clock.advance(60)
        log = world.github.requests
        refused = world.github.secondary_refusals()
    on_installation = [r for r in log if r.identity == f"installation:{FIRST_INSTALLATION}"]
    per_minute = Counter(int((r.at - start) // 60) for r in on_installation)
    first_polls: dict[str, float] = {}
    for r in _issue_requests(log):
        if r.repo and "-j" in r.repo:
            first_polls.setdefault(r.repo, r.at - start)
    return {
        "projects_at_budget": warm,
        "projects_joining": newcomers,
        "joining_pages": -(-issues // 100),
        "requests_on_installation_per_minute": [per_minute[m] for m in range(CAPACITY_MINUTES)],
        "secondary_answers": refused,
        "skipped_for_a_pause": sum(s.skipped_budget for s in summaries),
        "minutes_until_every_newcomer_polled": (
            int(max(first_polls.values()) // 60) + 1 if len(first_polls) == newcomers else None
        ),
    }


def _names(installations: int, per: int) -> Iterator[str]:
    return (f"i{i}-r{n:04d}" for i in range(installations) for n in range(per))


def tokens(installations: int = 4, hours: int = TOKEN_HOURS) -> dict[str, Any]:
    """One warm container's lookups and mints per installation over `hours` of one-minute ticks."""
    with app_world(installations, TOKEN_PROJECTS_PER_INSTALLATION, warm=False) as world:
        start = world.clock.now().timestamp()
        for _ in range(hours * 60):
            dispatch(world.dispatch)
            world.clock.advance(60)
        log = world.github.requests
    mints: dict[int, list[float]] = defaultdict(list)
    lookups: Counter[str] = Counter()
    for r in log:
        if r.method == "POST" and r.path.endswith("/access_tokens"):
            mints[int(r.path.split("/")[-2])].append(r.at - start)
        elif r.path.endswith("/installation"):
            lookups[r.repo or r.path] += 1
    gaps = [later - earlier for times in mints.values() for earlier, later in itertools.pairwise(times)]
    interval_min = statistics.median(gaps) / 60 if gaps else None
    return {
        "installations": installations,
        "projects_per_installation": TOKEN_PROJECTS_PER_INSTALLATION,
        "hours": hours,
        "polls": len(_issue_requests(log)),
        "lookups_total": sum(lookups.values()),
        "lookups_after_first_poll": sum(n - 1 for n in lookups.values()),
        "mints_per_installation": sorted(len(times) for times in mints.values()),
        "mint_interval_min": interval_min,
        "steady_mints_per_hour": round(60 / interval_min, 3) if interval_min else None,
        "unauthorized_answers": sum(1 for r in log if r.status == 401),
    }


def mint_timing(rounds: int = TIMING_ROUNDS) -> dict[str, Any]:
    """The duration of a JWT, an installation lookup and a mint, against the loopback stand-in."""
    clock = FixedClock(START)
    with FakeGitHub(clock=lambda: clock.now().timestamp()) as github:
        github.add_app(APP_ID, PUBLIC_PEM)
        github.add_installation(APP_ID, FIRST_INSTALLATION, ["acme/timed"])
        github.add_repo("acme", "timed")
        app = GitHubApp(github.base_url, APP_ID, PEM, now=clock.now)
        app.jwt()  # the key is parsed once per container: not part of a steady-state mint

        def timed(action: Any) -> list[float]:
            spent = []
            for _ in range(rounds):
                forget_cached_credentials()
                began = time.perf_counter()
                action()
                spent.append((time.perf_counter() - began) * 1000)
            return spent

        signing = timed(app.jwt)
        lookup = timed(lambda: app.installation_for("acme", "timed"))
        minting = timed(lambda: app.installation_auth(FIRST_INSTALLATION).header())
        forget_cached_credentials()

    def summary(values: list[float]) -> dict[str, float]:
        cuts = statistics.quantiles(values, n=20)
        return {"median_ms": round(statistics.median(values), 2), "p95_ms": round(cuts[18], 2)}

    return {"rounds": rounds, "jwt": summary(signing), "lookup": summary(lookup), "mint": summary(minting)}


def run() -> dict[str, Any]:
    logging.getLogger("tracker_intake").setLevel(logging.ERROR)  # deferrals and mints log each
    runs = []
    for k in (1, 4):
        runs.append(capacity(k, BUDGET * k))
        runs.append(capacity(k, round(BUDGET * k * (1 + OVER))))
    at_capacity = [r for r in runs if r["projects"] == BUDGET * r["credentials"]]
    join = joining()
    token_run = tokens()
    timing = mint_timing()
    mints_per_hour = token_run["steady_mints_per_hour"]
    return {
        "budget_per_credential": BUDGET,
        "capacity": runs,
        "sustained_projects_1_credential": at_capacity[0]["projects"],
        "sustained_projects_4_credentials": at_capacity[1]["projects"],
        "at_capacity_every_project_every_minute": all(r["every_project_every_minute"] for r in at_capacity),
        "secondary_answers_total": sum(r["secondary_answers"] for r in runs) + join["secondary_answers"],
        "joining": join,
        "tokens": token_run,
        "steady_mints_per_installation_hour_per_container": mints_per_hour,
        "mint_timing": timing,
        "mint_ms_per_installation_hour_per_container": round(mints_per_hour * timing["mint"]["median_ms"], 2)
        if mints_per_hour
        else None,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
