"""(l) What a Linear project costs per tick at rest: Linear requests and complexity points,
DynamoDB reads and writes, SQS sends; the hour's reconcile included.

The real dispatcher and poller handlers (tests/harness.py `Pipeline`: each handler with its
composition root's ports) on moto in-process and the loopback Linear stand-in at Linear's
published limits for an API key, the clocks simulated and ticks a minute apart. Requests,
their complexity and RATELIMITED answers come from the stand-in's request log; AWS calls are
counted by botocore events and told apart by thread: the polls run on the dispatcher's pool
(`dispatch-*` threads), the rest of the tick on the caller's.

- at rest: team ENG, 41 open issues with the rule's label, created a minute apart a day ago
  (20 eligible, 20 excluded by `in-progress`, 1 by a guest), rule
  `{"provider": "linear", "team": "ENG", "labels": ["agent"]}`. Ticked until the backlog is
  enqueued and the polls have settled, then 60 more ticks are measured, one each: an hour, so
  the hourly reconcile is in it.
- bulk: the same issues, every one stamped in the same second (as a bulk edit in Linear's
  multi-select stamps them): more than a page of issues inside the watermark's overlap.
"""

from __future__ import annotations

import statistics
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from intake_dev.call_counter import DYNAMO_READS, DYNAMO_WRITES, SQS_SENDS
from intake_dev.fake_github import FakeGitHub
from intake_dev.fake_linear import FakeLinear
from intake_dev.fake_linear.limits import API_KEY_COMPLEXITY, API_KEY_REQUESTS
from intake_dev.template import REPO_ROOT
from tracker_intake.domain.sync import DEFAULT_RECONCILE_EVERY

from .common import LABEL, moto_account

sys.path.insert(0, str(REPO_ROOT / "tests"))
from harness import LINEAR_KEY, Pipeline

TARGETS = {
    "poll_linear_requests": 1,
    "poll_dynamodb_reads": 2,
    "poll_dynamodb_writes": 0,
    "poll_sqs_sends": 0,
    "ratelimited": 0,
}
TEAM = "ENG"
MEMBER, GUEST = "member@acme.test", "guest@acme.test"
RULE = {"provider": "linear", "team": TEAM, "labels": [LABEL]}
WARM_UP_TICKS = 12
HOUR_TICKS = 60
BULK_TICKS = 20
PROJECT = (
    "team ENG: 41 open issues labelled agent, a minute apart (20 eligible, 20 excluded by in-progress, "
    "1 by a guest); rule provider linear, team ENG, labels [agent]"
)


@dataclass
class TickCost:
    """One tick's calls: the poll's (on the dispatcher's pool) and the dispatcher's own."""

    requests: int = 0
    points: int = 0
    ratelimited: int = 0
    result: str | None = None
    poll: Counter[str] = field(default_factory=Counter)
    dispatcher: Counter[str] = field(default_factory=Counter)
    writes: list[str] = field(default_factory=list)  # "<op> <item sort key>" of the poll's writes

    def of(self, calls: Counter[str], kinds: frozenset[str]) -> int:
        return sum(n for op, n in calls.items() if op in kinds)


# The activity log's heartbeat (docs/design.md, "The activity log"): a quiet poll writes the
# project's `checkedAt` and one activity item once its last recorded poll is 10 minutes old.
HEARTBEAT = ["PutItem POLL", "UpdateItem PROJECT"]
HEARTBEAT_TICKS = 10  # a tick a minute


def heartbeats(ticks: list[TickCost]) -> list[bool]:
    """Which ticks' polls wrote nothing but the heartbeat: its two writes, 10 ticks or more after
    the poll that last wrote."""
    last: int | None = None
    found = []
    for n, tick in enumerate(ticks):
        found.append(sorted(tick.writes) == HEARTBEAT and (last is None or n - last >= HEARTBEAT_TICKS))
        if tick.writes:
            last = n
    return found


class Tracer:
    """Every DynamoDB and SQS call, by whom it was made; the item each DynamoDB write touched."""

    def __init__(self, *clients: Any) -> None:
        self.tick = TickCost()
        self._lock = threading.Lock()
        for client in clients:
            client.meta.events.register("before-parameter-build.*.*", self._seen)

    def _seen(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        by_poll = threading.current_thread().name.startswith("dispatch")
        with self._lock:
            (self.tick.poll if by_poll else self.tick.dispatcher)[model.name] += 1
            if by_poll and model.name in DYNAMO_WRITES:
                key = params.get("Key") or params.get("Item") or {}
                self.tick.writes.append(f"{model.name} {key.get('sk', {}).get('S', '?').split('#')[0]}")


def _workspace(linear: FakeLinear, pipe: Pipeline, *, bulk: bool) -> int:
    """The team's issues; the number a session may start for."""
    linear.add_team(TEAM)
    linear.add_user(MEMBER, "Mia Member")
    linear.add_user(GUEST, "Gus Guest", guest=True)
    linear.add_api_key(LINEAR_KEY, user=MEMBER)
    start = pipe.clock.now() - timedelta(days=1)
    for n in range(41):
        at = start if bulk else start + timedelta(minutes=n)
        if n == 40:
            linear.add_issue(TEAM, "by a guest", labels=[LABEL], creator=GUEST, at=at)
        elif n % 2:
            linear.add_issue(TEAM, f"issue {n} (being worked on)", labels=[LABEL, "in-progress"], creator=MEMBER, at=at)
        else:
            linear.add_issue(TEAM, f"issue {n}", labels=[LABEL], creator=MEMBER, at=at)
    return 20


def _tick(pipe: Pipeline, linear: FakeLinear, tracer: Tracer) -> TickCost:
    linear.clear_requests()
    tracer.tick = cost = TickCost()
    pipe.tick()
    log = linear.requests
    cost.requests = len(log)
    cost.points = sum(r.complexity or 0 for r in log if not r.rate_limited)
    cost.ratelimited = sum(1 for r in log if r.rate_limited)
    pipe.clock.advance(60)
    return cost


def _world(*, bulk: bool) -> tuple[list[TickCost], list[TickCost], int, int]:
    """`WARM_UP_TICKS`, then the measured ticks: both, the sessions enqueued and how many are eligible."""
    ticks = BULK_TICKS if bulk else HOUR_TICKS
    with moto_account() as aws, FakeGitHub() as github, FakeLinear() as linear:
        names = {
            "dynamodb": aws.dynamodb,
            "sqs": aws.sqs,
            "table_name": aws.table_name,
            "activity_table_name": aws.activity_table_name,
            "queue_url": aws.queue_url,
        }
        pipe = Pipeline(names, github, linear=linear)
        eligible = _workspace(linear, pipe, bulk=bulk)
        pipe.create_project("eng", **RULE)
        tracer = Tracer(aws.dynamodb, aws.sqs)
        warm = [_tick(pipe, linear, tracer) for _ in range(WARM_UP_TICKS)]
        measured = [_tick(pipe, linear, tracer) for _ in range(ticks)]
        tracer.tick = TickCost()  # draining the queue is not the last tick's
        sessions = len(pipe.drain())
    return warm, measured, sessions, eligible


def _per_tick(ticks: list[TickCost]) -> dict[str, Any]:
    """Totals over `ticks`, and what each tick's poll cost (min-max)."""

    def spread(values: list[int]) -> list[int]:
        return [min(values), max(values)]

    reads = [t.of(t.poll, DYNAMO_READS) for t in ticks]
    writes = [t.of(t.poll, DYNAMO_WRITES) for t in ticks]
    return {
        "ticks": len(ticks),
        "linear_requests": sum(t.requests for t in ticks),
        "complexity_points": sum(t.points for t in ticks),
        "poll_dynamodb_reads": sum(reads),
        "poll_dynamodb_writes": sum(writes),
        "poll_sqs_sends": sum(t.of(t.poll, SQS_SENDS) for t in ticks),
        "requests_per_tick": spread([t.requests for t in ticks]),
        "points_per_tick": spread([t.points for t in ticks]),
        "reads_per_tick": spread(reads),
        "writes_per_tick": spread(writes),
        "poll_writes_by_item": dict(sorted(Counter(w for t in ticks for w in t.writes).items())),
        "ticks_whose_poll_wrote": sum(1 for w in writes if w),
        "ratelimited": sum(t.ratelimited for t in ticks),
    }


def at_rest() -> dict[str, Any]:
    warm, hour, sessions, eligible = _world(bulk=False)
    if sessions != eligible:
        raise RuntimeError(f"warm-up enqueued {sessions} of {eligible} eligible issues")
    # At rest: the ticks before the hour's reconcile starts (it reads every page, over a few
    # ticks, and commits the cursor); the hour's figures include it and the ticks after it.
    started = next(n for n, t in enumerate(hour) if t.requests != 1 or any("ETAG" in w for w in t.writes))
    rest, reconcile = hour[:started], hour[started:]
    beats = heartbeats(warm + rest)[len(warm) :]
    quiet = [t for t, beat in zip(rest, beats, strict=True) if not beat]
    typical = rest[len(rest) // 2]
    dispatcher = Counter[str]()
    for t in hour:
        dispatcher.update(t.dispatcher)
    return {
        "project": PROJECT,
        "limits": {"requests_per_hour": API_KEY_REQUESTS, "complexity_per_hour": API_KEY_COMPLEXITY},
        "warm_up_ticks": len(warm),
        "warm_up_sessions": sessions,
        # The most any poll at rest cost (each figure its own maximum).
        "poll_linear_requests": max(t.requests for t in rest),
        "poll_complexity_points": max(t.points for t in rest),
        "poll_dynamodb_reads": max(t.of(t.poll, DYNAMO_READS) for t in rest),
        # Between the activity log's heartbeats: the heartbeats are counted apart.
        "poll_dynamodb_writes": max(t.of(t.poll, DYNAMO_WRITES) for t in quiet),
        "poll_sqs_sends": max(t.of(t.poll, SQS_SENDS) for t in rest),
        "poll_writes_per_tick_mean": round(statistics.mean(t.of(t.poll, DYNAMO_WRITES) for t in rest), 3),
        "heartbeats_at_rest": sum(beats),
        "heartbeat_writes_per_hour": round(2 * sum(beats) * 60 / len(rest), 1),
        "typical_poll_aws_calls": dict(sorted(typical.poll.items())),
        "rest": _per_tick(rest),
        "reconcile_and_after": _per_tick(reconcile),
        "hour": _per_tick(hour),
        "reconcile_every_min": DEFAULT_RECONCILE_EVERY.total_seconds() / 60,
        "dispatcher_per_tick": {op: n / len(hour) for op, n in sorted(dispatcher.items())},
        "ratelimited": sum(t.ratelimited for t in warm + hour),
    }


def bulk() -> dict[str, Any]:
    """Every issue stamped in one second: the overlap holds more than a page."""
    _, ticks, sessions, eligible = _world(bulk=True)
    figures = _per_tick(ticks)
    return {
        "bulk_sessions": sessions,
        "bulk_eligible": eligible,
        "bulk": figures,
        "bulk_poll_writes_per_tick_max": figures["writes_per_tick"][1],
    }


def run() -> dict[str, Any]:
    return {**at_rest(), **bulk()}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
