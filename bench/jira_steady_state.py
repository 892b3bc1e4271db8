"""(o) What a Jira Cloud project costs per tick at rest: Jira requests (searches), DynamoDB reads
and writes, SQS sends; the hour's reconcile included.

The real dispatcher and poller handlers (tests/harness.py `Pipeline`: each handler with its
composition root's ports) on moto in-process and the loopback Jira stand-in
(`dev/intake_dev/fake_jira`) with a search lag of 60 s, the clocks simulated and ticks a minute
apart. Requests, their JQL and 429s come from the stand-in's request log; AWS calls are counted
by botocore events and told apart by thread, as in (l) (bench/linear_steady_state.py, whose
tracer this reuses).

- at rest: project PROJ on site acme.atlassian.net, 41 open issues labelled `agent`, updated a
  minute apart a day ago (20 eligible, 20 excluded by `in-progress`, 1 reported by a Jira Service
  Management customer); the token's user in Europe/Berlin (JQL dates are in the user's zone);
  rule `{"provider": "jira", "site": "acme.atlassian.net", "project": "PROJ", "labels": ["agent"]}`.
  Ticked until the backlog is enqueued and the overlap has settled, then 60 more ticks are
  measured, one each: an hour, so the hourly reconcile is in it.
- bulk: 101 such issues (50 eligible), every one stamped in the same second (a bulk edit):
  more than two pages of 50 inside the watermark's overlap.
"""

from __future__ import annotations

import statistics
import sys
from collections import Counter
from datetime import timedelta
from typing import Any

from intake_dev.call_counter import DYNAMO_READS, DYNAMO_WRITES, SQS_SENDS
from intake_dev.fake_github import FakeGitHub
from intake_dev.fake_jira import FakeJira
from intake_dev.template import REPO_ROOT
from tracker_intake.domain.records import PRIMARY_COST_HISTORY
from tracker_intake.domain.sync import DEFAULT_RECONCILE_EVERY

from .common import LABEL, moto_account
from .linear_steady_state import TickCost, Tracer, heartbeats

sys.path.insert(0, str(REPO_ROOT / "tests"))
from harness import JIRA_TOKEN, Pipeline

TARGETS = {
    "poll_jira_requests": 1,
    "poll_dynamodb_reads": 2,
    "poll_dynamodb_writes": 0,
    "poll_sqs_sends": 0,
    "throttled": 0,
    "bulk_poll_writes_at_rest_max": 0,
}
SITE = "acme.atlassian.net"
PROJECT_KEY = "PROJ"
MEMBER, CUSTOMER = "mia@acme.test", "carl@customer.test"
RULE = {"provider": "jira", "site": SITE, "project": PROJECT_KEY, "labels": [LABEL]}
SEARCH_LAG_S = 60
WARM_UP_TICKS = 15  # the overlap is re-read for 10 minutes after the watermark moves
HOUR_TICKS = 60
BULK_TICKS = 20
PROJECT = (
    "project PROJ: 41 open issues labelled agent, a minute apart (20 eligible, 20 excluded by in-progress, "
    "1 by a JSM customer); rule provider jira, site acme.atlassian.net, project PROJ, labels [agent]; "
    "search lag 60 s"
)


def _site(jira: FakeJira, pipe: Pipeline, *, issues: int, bulk: bool) -> int:
    """The project's issues; the number a session may start for."""
    jira.add_project(PROJECT_KEY)
    jira.add_user(JIRA_TOKEN[0], time_zone="Europe/Berlin")
    jira.add_user(MEMBER)
    jira.add_user(CUSTOMER, "customer")
    jira.add_api_token(*JIRA_TOKEN)
    start = pipe.clock.now() - timedelta(days=1)
    for n in range(issues):
        at = start if bulk else start + timedelta(minutes=n)
        if n == issues - 1:
            jira.add_issue(PROJECT_KEY, "by a customer", labels=[LABEL], reporter=CUSTOMER, at=at)
        elif n % 2:
            jira.add_issue(
                PROJECT_KEY, f"issue {n} (in progress)", labels=[LABEL, "in-progress"], reporter=MEMBER, at=at
            )
        else:
            jira.add_issue(PROJECT_KEY, f"issue {n}", labels=[LABEL], reporter=MEMBER, at=at)
    return (issues - 1 + 1) // 2


def _tick(pipe: Pipeline, jira: FakeJira, tracer: Tracer) -> tuple[TickCost, list[str]]:
    """One tick's cost, and the JQL of its searches."""
    jira.clear_requests()
    tracer.tick = cost = TickCost()
    pipe.tick()
    log = jira.requests
    cost.requests = len(log)
    cost.ratelimited = sum(1 for r in log if r.throttled)
    pipe.clock.advance(60)
    return cost, [r.jql or "" for r in log if r.path.endswith("/search/jql")]


def _world(*, issues: int, bulk: bool, ticks: int) -> tuple[list[TickCost], list[TickCost], list[list[str]], int, int]:
    """`WARM_UP_TICKS`, then the measured ticks: both, the measured ticks' JQL, sessions, eligible."""
    with moto_account() as aws, FakeGitHub() as github, FakeJira(search_lag_seconds=SEARCH_LAG_S) as jira:
        names = {
            "dynamodb": aws.dynamodb,
            "sqs": aws.sqs,
            "table_name": aws.table_name,
            "activity_table_name": aws.activity_table_name,
            "queue_url": aws.queue_url,
        }
        pipe = Pipeline(names, github, jira=jira)
        eligible = _site(jira, pipe, issues=issues, bulk=bulk)
        pipe.clock.advance(SEARCH_LAG_S + 1)
        pipe.create_project("proj", **RULE)
        tracer = Tracer(aws.dynamodb, aws.sqs)
        warm = [_tick(pipe, jira, tracer)[0] for _ in range(WARM_UP_TICKS)]
        measured, jqls = [], []
        for _ in range(ticks):
            cost, jql = _tick(pipe, jira, tracer)
            measured.append(cost)
            jqls.append(jql)
        tracer.tick = TickCost()  # draining the queue is not the last tick's
        sessions = len(pipe.drain())
    return warm, measured, jqls, sessions, eligible


def _per_tick(ticks: list[TickCost]) -> dict[str, Any]:
    def spread(values: list[int]) -> list[int]:
        return [min(values), max(values)] if values else []

    reads = [t.of(t.poll, DYNAMO_READS) for t in ticks]
    writes = [t.of(t.poll, DYNAMO_WRITES) for t in ticks]
    return {
        "ticks": len(ticks),
        "jira_requests": sum(t.requests for t in ticks),
        "poll_dynamodb_reads": sum(reads),
        "poll_dynamodb_writes": sum(writes),
        "poll_sqs_sends": sum(t.of(t.poll, SQS_SENDS) for t in ticks),
        "requests_per_tick": spread([t.requests for t in ticks]),
        "reads_per_tick": spread(reads),
        "writes_per_tick": spread(writes),
        "poll_writes_by_item": dict(sorted(Counter(w for t in ticks for w in t.writes).items())),
        "ticks_whose_poll_wrote": sum(1 for w in writes if w),
        "throttled": sum(t.ratelimited for t in ticks),
    }


def _incremental(jqls: list[str]) -> bool:
    return all("updated >=" in q for q in jqls)


def at_rest() -> dict[str, Any]:
    warm, hour, jqls, sessions, eligible = _world(issues=41, bulk=False, ticks=HOUR_TICKS)
    if sessions != eligible:
        raise RuntimeError(f"warm-up enqueued {sessions} of {eligible} eligible issues")
    # At rest: the ticks before the hour's reconcile (a search without `updated >=`) starts.
    started = next((n for n, q in enumerate(jqls) if not _incremental(q)), len(hour))
    rest, reconcile = hour[:started], hour[started:]
    beats = heartbeats(warm + rest)[len(warm) :]
    quiet = [t for t, beat in zip(rest, beats, strict=True) if not beat]
    typical = rest[len(rest) // 2]
    dispatcher = Counter[str]()
    for t in hour:
        dispatcher.update(t.dispatcher)
    return {
        "project": PROJECT,
        "search_lag_s": SEARCH_LAG_S,
        "warm_up_ticks": len(warm),
        "warm_up_sessions": sessions,
        "warm_up_requests": sum(t.requests for t in warm),
        "warm_up_requests_per_tick": [t.requests for t in warm],
        "warm_up_poll_writes_per_tick": [t.of(t.poll, DYNAMO_WRITES) for t in warm],
        "poll_jira_requests": max(t.requests for t in rest),
        "poll_dynamodb_reads": max(t.of(t.poll, DYNAMO_READS) for t in rest),
        # Between the activity log's heartbeats: the heartbeats are counted apart.
        "poll_dynamodb_writes": max(t.of(t.poll, DYNAMO_WRITES) for t in quiet),
        "poll_sqs_sends": max(t.of(t.poll, SQS_SENDS) for t in rest),
        "poll_writes_per_tick_mean": round(statistics.mean(t.of(t.poll, DYNAMO_WRITES) for t in rest), 3),
        "heartbeats_at_rest": sum(beats),
        "heartbeat_writes_per_hour": round(2 * sum(beats) * 60 / len(rest), 1),
        "rest_jql_example": jqls[len(rest) // 2],
        "typical_poll_aws_calls": dict(sorted(typical.poll.items())),
        "rest": _per_tick(rest),
        "reconcile_started_at_measured_tick": started,
        "reconcile_jql": jqls[started] if started < len(jqls) else None,
        "reconcile_and_after": _per_tick(reconcile),
        "hour": _per_tick(hour),
        "reconcile_every_min": DEFAULT_RECONCILE_EVERY.total_seconds() / 60,
        "dispatcher_per_tick": {op: n / len(hour) for op, n in sorted(dispatcher.items())},
        "throttled": sum(t.ratelimited for t in warm + hour),
    }


def bulk() -> dict[str, Any]:
    """101 issues stamped in one second: the overlap holds more than two pages."""
    warm, ticks, jqls, sessions, eligible = _world(issues=101, bulk=True, ticks=BULK_TICKS)
    figures = _per_tick(ticks)
    beats = heartbeats(warm + ticks)[len(warm) :]
    settled = [t for t, beat in list(zip(ticks, beats, strict=True))[PRIMARY_COST_HISTORY:] if not beat]
    return {
        "bulk_sessions": sessions,
        "bulk_eligible": eligible,
        "bulk": figures,
        "bulk_requests_per_tick": [t.requests for t in ticks],
        "bulk_requests_per_tick_mean": round(statistics.mean(t.requests for t in ticks), 2),
        "bulk_incremental_ticks": sum(1 for q in jqls if _incremental(q)),
        "bulk_poll_writes_per_tick_max": figures["writes_per_tick"][1],
        "bulk_poll_writes_per_tick": [t.of(t.poll, DYNAMO_WRITES) for t in ticks],
        # At rest: once the project's record of a poll's cost has followed the searches down to
        # one a poll (its last `PRIMARY_COST_HISTORY` polls), no poll writes but the heartbeat.
        "bulk_poll_writes_at_rest_max": max(t.of(t.poll, DYNAMO_WRITES) for t in settled),
        "bulk_heartbeats": sum(beats[PRIMARY_COST_HISTORY:]),
    }


def run() -> dict[str, Any]:
    return {**at_rest(), **bulk()}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
