"""A simulated minute-by-minute world of Linear projects on API keys, shared by (m) and (n).

The real `dispatch` and the real `poll_project` over the in-memory store (tests/fakes.py), with
the deployment's credentials (`wiring.build_credentials`: the default Linear key, and named
`linear-api-key` credentials whose keys are in moto's Secrets Manager), so each poll asks the
loopback Linear stand-in through the real `LinearTracker`. The stand-in keeps Linear's published
limits for an API key (1,500 requests and 250,000 complexity points an hour per user, leaky
buckets) on the simulated clock. Every request of a tick is made at the tick's instant, one poll
after another (the figures are the schedule's, not Lambda's fan-out).

Each project is its own team with one open issue labelled `agent` by a member; rule
`{"provider": "linear", "team": <its team>, "labels": ["agent"]}`. Key k belongs to user k: Linear
counts "all requests by the same user" against one budget, so keys of one user would share it.
"""

from __future__ import annotations

import itertools
import logging
import random
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto import mock_aws

from intake_dev.clock import FixedClock
from intake_dev.fake_linear import FakeLinear, RecordedRequest
from tracker_intake.adapters.github import GitHubTracker
from tracker_intake.adapters.linear_http import rate_of
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.credentials import Credential, CredentialKind
from tracker_intake.domain.dispatch import DispatchContext, DispatchSummary, dispatch
from tracker_intake.domain.poll import PollContext
from tracker_intake.domain.session import SessionRequest
from tracker_intake.settings import PollerSettings
from tracker_intake.wiring import build_credentials

from .common import LABEL, fake_aws_env
from .pacing import Invoker

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
KEY_PREFIX = "lin_api_bench"
SEED = 28
BUDGET = 600  # the template's requests a minute per credential (GitHub's secondary pacing)


def key_of(k: int) -> str:
    return f"{KEY_PREFIX}{k:03d}{'0' * 24}"


class RecordingInvoker(Invoker):
    """bench/pacing.py's in-process invoker, noting when each project was polled."""

    def __init__(self, ctx: PollContext, clock: FixedClock) -> None:
        super().__init__(ctx)
        self.clock = clock
        self.polled: dict[str, list[float]] = {}

    def invoke_poller(self, project_id: str, max_requests: int | None = None, max_retries: int | None = None) -> None:
        self.polled.setdefault(project_id, []).append(self.clock.now().timestamp())
        super().invoke_poller(project_id, max_requests, max_retries)


class Queue:
    """The launch queue: when each issue was first sent."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.sent: dict[str, float] = {}

    def send(self, request: SessionRequest) -> None:
        self.sent.setdefault(request.issue_id, self.clock.now().timestamp())


@dataclass
class World:
    clock: FixedClock
    linear: FakeLinear
    dispatch: DispatchContext
    queue: Queue
    invoker: RecordingInvoker
    projects: int
    keys: int
    summaries: list[DispatchSummary] = field(default_factory=list)
    opened: dict[str, float] = field(default_factory=dict)  # canonical id -> updatedAt (epoch s)

    def tick(self) -> DispatchSummary:
        summary = dispatch(self.dispatch, scheduled=self.clock.now())
        self.summaries.append(summary)
        self.clock.advance(60)
        return summary

    def open_issues(self, rng: random.Random, share: float) -> None:
        """New matching issues at random moments of the minute before this tick."""
        count = max(1, round(self.projects * share))
        for n in rng.sample(range(self.projects), count):
            at = self.clock.now() - timedelta(seconds=rng.uniform(0, 60))
            issue = self.linear.add_issue(team(n), "new", labels=[LABEL], creator=member(n % self.keys), at=at)
            self.opened[f"linear:acme/{issue.id}"] = issue.updated_at_ms / 1000


def team(n: int) -> str:
    return f"T{n:04d}"


def member(k: int) -> str:
    return f"member{k:03d}@acme.test"


@contextmanager
def linear_world(projects: int, keys: int = 1) -> Iterator[World]:
    """`projects` Linear projects over `keys` API keys of as many users (project n on key n % keys)."""
    from fakes import MemoryStore  # tests/ is on sys.path once bench.pacing is imported

    class Store(MemoryStore):
        """The in-memory store with a credential registry (the fake has none: tests use moto's)."""

        def __init__(self) -> None:
            super().__init__()
            self.credentials: dict[str, Credential] = {}

        def get_credential(self, name: str) -> Credential | None:
            return self.credentials.get(name)

        def list_credentials(self) -> list[Credential]:
            return list(self.credentials.values())

        def put_credential(self, credential: Credential, now: datetime) -> Credential:
            self.credentials[credential.name] = credential
            return credential

        def delete_credential(self, name: str) -> bool:
            return self.credentials.pop(name, None) is not None

    fake_aws_env()
    logging.getLogger("tracker_intake").setLevel(logging.ERROR)  # slowed projects log each
    clock = FixedClock(START)
    with mock_aws(), FakeLinear(clock=lambda: clock.now().timestamp()) as linear:
        store = Store()
        secrets = boto3.client("secretsmanager")
        for k in range(keys):
            linear.add_user(member(k), f"Member {k}")
            linear.add_api_key(key_of(k), user=member(k))
            if k:
                arn = secrets.create_secret(Name=f"tracker-intake/linear-{k}", SecretString=key_of(k))["ARN"]
                store.put_credential(Credential(f"key-{k}", CredentialKind.LINEAR_API_KEY, arn), clock.now())
        for n in range(projects):
            linear.add_team(team(n))
            linear.add_issue(team(n), "first", labels=[LABEL], creator=member(n % keys), at=START - timedelta(days=1))
            rule: dict[str, Any] = {"enabled": True, "provider": "linear", "team": team(n), "labels": [LABEL]}
            if n % keys:
                rule["credential"] = f"key-{n % keys}"
            store.create_project(f"p{n:04d}", ProjectConfig.model_validate({"trackerIntake": rule}), clock.now())
        settings = PollerSettings.from_env(
            {"TABLE_NAME": "unused", "QUEUE_URL": "unused", "LINEAR_API_URL": linear.url}
        )
        credentials = build_credentials(
            settings, store, api_url=None, token="ghp_unused", linear_key=key_of(0), clock=clock
        )
        queue = Queue(clock)
        poll = PollContext(
            store,
            store,
            store,
            queue,
            GitHubTracker("http://127.0.0.1:9", None),  # unused: each project's own comes from `credentials`
            clock,
            "unresolved",
            rng=lambda: 0.0,
            credentials=credentials,
        )
        invoker = RecordingInvoker(poll, clock)
        ctx = DispatchContext(
            store, store, invoker, clock, "unresolved", max_concurrency=1, requests_per_minute=BUDGET,
            credentials=credentials,
        )  # fmt: skip
        yield World(clock, linear, ctx, queue, invoker, projects, keys)


def longest_waits(polled: dict[str, list[float]], projects: int, since: float, until: float) -> list[float]:
    """Each project's longest time without a poll between `since` and `until` (a project never
    polled waited the whole time)."""
    waits = []
    for n in range(projects):
        times = [since, *(t for t in polled.get(f"p{n:04d}", []) if since <= t < until), until]
        waits.append(max(b - a for a, b in itertools.pairwise(times)))
    return waits


def graphql(log: list[RecordedRequest]) -> list[RecordedRequest]:
    return [r for r in log if r.operation_name == "IntakeIssues"]


def binding(request: RecordedRequest) -> str | None:
    """Which of the key's buckets binds, as intake reads the answer's headers (`rate_of`)."""
    headers = {k.lower(): v for k, v in request.response_headers.items()}
    at = datetime.fromtimestamp(request.at, UTC)
    return rate_of(headers, request.complexity, at).resource


def remaining(request: RecordedRequest) -> tuple[int, int]:
    """(requests, points) left in the key's buckets after this request, from its answer's headers."""
    headers = {k.lower(): v for k, v in request.response_headers.items()}
    return int(headers["x-ratelimit-requests-remaining"]), int(headers["x-ratelimit-complexity-remaining"])


def quantiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    cuts = statistics.quantiles(values, n=20) if len(values) >= 2 else [values[0]] * 19
    return {"p50": round(statistics.median(values), 1), "p95": round(cuts[18], 1), "max": round(max(values), 1)}
