"""(j) Acknowledgements on the issue: a burst of launches on one credential, acknowledged by
several launchers at once, within GitHub's limits on content-creating requests.

The real launch path (`launch_session` and `acknowledge`) over DynamoDB on moto (the ledger, the
project, the credential's write slots), and the real `GitHubIssueWriter` against the loopback
stand-in, whose content-creation limits are GitHub's (80 a minute, 500 an hour per identity) and
whose clock is the simulated one.

The queue and the launchers are simulated: `LAUNCHERS` launcher containers take the visible
messages in order, each delivery running whole on the first free one (so deliveries on
different containers overlap in simulated time, as concurrent Lambdas do). A deferred
acknowledgement's message is hidden as the handler hides it (two seconds before its slot, or
until its retry time) and comes back up to `LATENCY_SECONDS` later (Lambda's polling, assumed;
seeded random); any other failure after the visibility timeout. Each delivery's deadline is the
invocation's. As the launcher handler does, a deferral in the
project's message group parks the request in a group of its own (a new message, visible at
once), whose own deferral hides it until the slot: the project's launches are never held.
The acknowledgement's sleep moves its container's clock. Each delivery also costs
`DELIVERY_SECONDS` of its container's time.

Measured, per burst size: every acknowledgement written exactly once (the stand-in's record),
the GitHub-side rules checked on the write times the stand-in recorded (a second apart, at most
80 in any minute, 500 in any hour), the stand-in's secondary-limit answers, how long from the
launch to the write (simulated), how many deliveries a message needed (the queue allows 5; a
parked copy counts afresh), and the DynamoDB requests per launch, acknowledgement included.
"""

from __future__ import annotations

import heapq
import itertools
import random
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto import mock_aws

from intake_dev.call_counter import CallCounter
from intake_dev.fake_github import FakeGitHub
from intake_dev.moto_rigs import atomic_calls
from intake_dev.template import create_resources
from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.domain.acknowledge import AckContext, AckOutcome, AckReport
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.launch import (
    WRITE_RESERVE,
    Delivery,
    LaunchContext,
    Redeliver,
    Retry,
    launch_session,
    redeliver,
)
from tracker_intake.domain.records import Claim, ClaimStatus, IssueSnapshot
from tracker_intake.domain.session import LaunchedSession, SessionIssue, SessionRequest
from tracker_intake.settings import LauncherSettings
from tracker_intake.wiring import build_credentials

from .common import TOKEN

TARGETS = {
    "written_exactly_once": True,
    "secondary_answers_total": 0,
    "min_gap_between_writes_s": ">= 1.0",
    "max_writes_in_any_minute": "<= 80",
    "max_writes_in_any_hour": "<= 500",
    "max_deliveries_per_message": "<= 4",
}
BURSTS = (60, 600)
PROJECTS = 10
LAUNCHERS = 10  # concurrent launcher containers
DELIVERY_SECONDS = 0.05
VISIBILITY_TIMEOUT = 180.0
MAX_RECEIVES = 5
# A hidden message comes back up to this much after its visibility ends (Lambda polls the queue).
LATENCY_SECONDS = 1.5
INVOCATION = timedelta(seconds=30)  # the launcher's timeout
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class LaneClock:
    """The simulated clock of the container running the current delivery."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


class Backend:
    def launch(self, request: SessionRequest, prompt: str) -> LaunchedSession:
        return LaunchedSession(f"s-{request.issue.number}")


@dataclass(order=True)
class Message:
    visible_at: datetime
    seq: int
    request: SessionRequest = field(compare=False)
    launched_at: datetime = field(compare=False)
    receives: int = field(default=0, compare=False)
    parked: bool = field(default=False, compare=False)


@contextmanager
def _world(issues: int) -> Iterator[tuple[DynamoStore, FakeGitHub, LaneClock, CallCounter]]:
    clock = LaneClock(START)
    with mock_aws(), FakeGitHub(clock=lambda: clock.now().timestamp()) as github:
        dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
        names = create_resources(dynamodb, sqs)
        atomic_calls(dynamodb)
        counter = CallCounter()
        counter.attach(dynamodb)
        store = DynamoStore(names["table_name"], client=dynamodb)
        per_project = issues // PROJECTS
        for p in range(PROJECTS):
            repo = github.add_repo("acme", f"app{p}")
            intake = {"enabled": True, "repo": f"acme/app{p}", "labels": ["agent"], "acknowledge": "reaction"}
            config = ProjectConfig.model_validate({"trackerIntake": intake})
            store.create_project(f"app{p}", config, START)
            for n in range(1, per_project + 1):
                repo.add_issue(f"issue {n}", labels=["agent"])
        yield store, github, clock, counter


def _claim(store: DynamoStore, project: int, number: int) -> SessionRequest:
    canonical = f"github:acme/app{project}#{number}"
    url = f"https://github.com/acme/app{project}/issues/{number}"
    store.put_claim(
        Claim(
            canonical_id=canonical,
            project_id=f"app{project}",
            status=ClaimStatus.ENQUEUED,
            claim_token=f"t{project}-{number}",
            claimed_at=START,
            issue=IssueSnapshot(number, f"issue {number}", url, ("agent",), (), "", None),
            updated_at=START,
        )
    )
    return SessionRequest(
        project_id=f"app{project}",
        issue_id=canonical,
        issue=SessionIssue(number=number, title=f"issue {number}", url=url),
        enqueued_at=START,
        acknowledge="reaction",
    )


def burst(issues: int) -> dict[str, Any]:
    with _world(issues) as (store, github, clock, counter):
        settings = LauncherSettings.from_env({"TABLE_NAME": store.table_name, "GITHUB_API_URL": github.base_url})
        credentials = build_credentials(settings, store, api_url=github.base_url, token=TOKEN, clock=clock)
        ctx = LaunchContext(
            ledger=store,
            launcher=Backend(),
            clock=clock,
            ack=AckContext(projects=store, credentials=credentials, pace=store, budgets=store, sleep=clock.sleep),
            max_receives=MAX_RECEIVES,
        )
        seq = itertools.count()
        queue = [
            Message(START, next(seq), _claim(store, p, n), START)
            for p in range(PROJECTS)
            for n in range(1, issues // PROJECTS + 1)
        ]
        heapq.heapify(queue)
        github.clear_requests()
        counter.reset()
        lanes = [START] * LAUNCHERS
        rng = random.Random(7)
        written_at: dict[str, datetime] = {}
        parked = 0
        deliveries: dict[str, int] = {}
        while queue:
            message = heapq.heappop(queue)
            lane = min(range(LAUNCHERS), key=lambda i: lanes[i])
            clock.at = max(lanes[lane], message.visible_at)
            message.receives += 1
            deliveries[message.request.issue_id] = max(deliveries.get(message.request.issue_id, 0), message.receives)
            result = launch_session(
                message.request,
                ctx,
                Delivery(last=message.receives >= MAX_RECEIVES, deadline=clock.now() + INVOCATION - WRITE_RESERVE),
            )
            if result.ack is not None:
                _note(written_at, result.ack, clock.now())
            if isinstance(result, Redeliver):
                if message.parked:  # waits alone: hidden as the handler hides it, then SQS's latency
                    hidden = redeliver(message.request, None, result.deferred, clock.now(), parked=True).hidden_for
                    at = clock.now() + timedelta(seconds=(hidden or 0) + rng.uniform(0, LATENCY_SECONDS))
                    again = Message(at, next(seq), message.request, message.launched_at, message.receives, True)
                else:  # the project's message is done; a parked copy is sent, visible at once
                    again = Message(clock.now(), next(seq), message.request, message.launched_at, 0, True)
                    parked += 1
                heapq.heappush(queue, again)
            elif isinstance(result, Retry):
                at = clock.now() + timedelta(seconds=VISIBILITY_TIMEOUT)
                heapq.heappush(queue, Message(at, next(seq), message.request, message.launched_at, message.receives))
            lanes[lane] = clock.now() + timedelta(seconds=DELIVERY_SECONDS)

        # What GitHub took (a refused request created nothing; it is counted as an answer below).
        writes = sorted((r for r in github.requests if r.method == "POST" and r.status < 300), key=lambda r: r.at)
        times = [r.at for r in writes]
        waits = sorted((at - START).total_seconds() for at in written_at.values())
        per_issue = [r.path for r in writes]
        acks = [store.get_claim(m) for m in deliveries]
        done = sum(1 for c in acks if c is not None and c.ack is not None and c.ack.state.value == "done")
        return {
            "issues": issues,
            "written_exactly_once": len(per_issue) == len(set(per_issue)) == issues == done,
            "secondary_answers": github.secondary_refusals(),
            "min_gap_s": round(min(b - a for a, b in itertools.pairwise(times)), 3) if len(times) > 1 else None,
            "max_in_minute": _max_in_window(times, 60),
            "max_in_hour": _max_in_window(times, 3600),
            "wait_p50_s": round(statistics.median(waits), 1),
            "wait_p95_s": round(waits[int(0.95 * (len(waits) - 1))], 1),
            "wait_max_s": round(waits[-1], 1),
            "deliveries_max": max(deliveries.values()),
            "parked": parked,
            "dynamodb_requests_per_launch": round(sum(counter.calls.values()) / issues, 2),
            "dynamodb_by_operation": dict(sorted(counter.calls.items())),
        }


def _note(written_at: dict[str, datetime], result: AckReport, at: datetime) -> None:
    if result.outcome is AckOutcome.DONE:
        written_at.setdefault(result.issue_id, at)


def _max_in_window(times: list[float], seconds: float) -> int:
    """The most writes in any window of `seconds` (half-open, as GitHub's rolling window)."""
    best, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def run() -> dict[str, Any]:
    results = {f"burst_{n}": burst(n) for n in BURSTS}
    runs = list(results.values())
    return {
        **results,
        "launchers": LAUNCHERS,
        "written_exactly_once": all(r["written_exactly_once"] for r in runs),
        "secondary_answers_total": sum(r["secondary_answers"] for r in runs),
        "min_gap_between_writes_s": min(r["min_gap_s"] for r in runs if r["min_gap_s"] is not None),
        "max_writes_in_any_minute": max(r["max_in_minute"] for r in runs),
        "max_writes_in_any_hour": max(r["max_in_hour"] for r in runs),
        "max_deliveries_per_message": max(r["deliveries_max"] for r in runs),
    }
