"""(g) What a changed page costs in DynamoDB: read before write, refused conditional writes apart.

The real poller handler with the ports its own composition root builds (wiring.build_poll_context),
on moto in-process and the loopback GitHub stand-in, as (a). Every DynamoDB request is counted by
name (botocore `before-call`), and a conditional write DynamoDB refused
(`ConditionalCheckFailedException`, billed as a write all the same) is counted on its own.

- (a) one new issue beside K issues that are already sessions on its page, K = 0, 50, 99: the
  polls that turn the new issue into a session, from the tick it appears to the first 304.
- (b) a backlog of 100 and of 1,000 eligible issues drained at `maxSessionsPerPoll` 10.
- (c) steady state: one poll of a settled one-page project.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from typing import Any

from intake_dev.call_counter import CallCounter
from intake_dev.fake_github import FakeGitHub
from intake_dev.functions import LocalLambdaContext, load_handler
from tracker_intake.adapters.dynamodb import DynamoProjects, DynamoStore
from tracker_intake.domain.clock import SystemClock
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.records import PRIMARY_COST_HISTORY
from tracker_intake.settings import PollerSettings
from tracker_intake.wiring import build_poll_context

from .common import LABEL, TOKEN, moto_account

# (a), the poll that enqueues the new issue: 1 Query + 1 BatchGetItem + 2 DynamoDB writes per
# new issue (claim, enqueued; the third request is SQS's send) + 1 ETag commit per changed page.
# The credential check (a GetItem) and the poll-state write (lastChangeAt) come on top, the same
# for every K; a page made exactly full also commits the (empty) page after it. BENCHMARKS.md.
TARGETS = {
    "a_claim_path_same_for_every_k": True,
    "a_refused_writes": 0,
    "b_refused_writes": 0,
    "b_growth_1000_over_100": "<= 12",
    "c_dynamodb_writes": 0,
}


class EtagCommits:
    """Tells a PutItem of a cached page (an ETag commit) from a PutItem of a claim."""

    def __init__(self, client: Any) -> None:
        self.count = 0
        client.meta.events.register("provide-client-params.dynamodb.PutItem", self._seen)

    def _seen(self, params: dict[str, Any], **_: Any) -> None:
        if str(params.get("Item", {}).get("sk", {}).get("S", "")).startswith("ETAG#"):
            self.count += 1


class Refusals:
    """Counts the conditional writes DynamoDB refused, from botocore's `after-call` events."""

    def __init__(self, client: Any) -> None:
        self.count = 0
        self._lock = threading.Lock()
        client.meta.events.register("after-call.dynamodb", self._seen)

    def _seen(self, parsed: dict[str, Any], **_: Any) -> None:
        if parsed.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            with self._lock:
                self.count += 1


class World:
    """One project on the stand-in, the real poller handler, counters on its DynamoDB client."""

    def __init__(self, github: FakeGitHub, aws: Any, cap: int) -> None:
        self.repo = github.add_repo("acme", "widgets")
        intake = {"enabled": True, "repo": "acme/widgets", "labels": [LABEL], "maxSessionsPerPoll": cap}
        config = ProjectConfig.model_validate({"trackerIntake": intake})
        DynamoStore(aws.table_name, client=aws.dynamodb).create_project("widgets", config, SystemClock().now())
        os.environ.update(
            TABLE_NAME=aws.table_name,
            ACTIVITY_TABLE_NAME=aws.activity_table_name,
            QUEUE_URL=aws.queue_url,
            GITHUB_API_URL=github.base_url,
            GITHUB_TOKEN=TOKEN,
        )
        context = build_poll_context(PollerSettings.from_env())
        assert isinstance(context.store, DynamoProjects)
        self.counter = CallCounter()
        self.counter.attach(context.store.table.client)
        self.refusals = Refusals(context.store.table.client)
        self.etag_commits = EtagCommits(context.store.table.client)
        self.poller = load_handler("poller", fresh=True)
        self.poller.use(context)

    def poll(self) -> dict[str, Any]:
        result: dict[str, Any] = self.poller.lambda_handler({"projectId": "widgets"}, LocalLambdaContext())
        return result

    def until_not_modified(self, limit: int = 500) -> tuple[int, int]:
        """Poll until a poll answers 304 throughout; (polls, sessions) it took."""
        sessions = 0
        for polls in range(1, limit + 1):
            result = self.poll()
            sessions += len(result["newSessions"])
            if result["result"] == "not_modified":
                return polls, sessions
        raise RuntimeError(f"not settled after {limit} polls")

    def reset(self) -> None:
        self.counter.reset()
        self.refusals.count = 0
        self.etag_commits.count = 0

    def dynamodb(self) -> dict[str, int]:
        """DynamoDB requests by operation, a PutItem of a cached page shown as `PutItem (ETag)`."""
        calls = {op: n for op, n in sorted(self.counter.calls.items()) if op not in ("SendMessage",)}
        if self.etag_commits.count:
            calls["PutItem"] -= self.etag_commits.count
            calls["PutItem (ETag)"] = self.etag_commits.count
        return {op: n for op, n in calls.items() if n}


def new_issue_beside(taken: int) -> dict[str, Any]:
    with FakeGitHub() as github, moto_account() as aws:
        world = World(github, aws, cap=100)
        for n in range(taken):
            world.repo.add_issue(f"issue {n}", labels=[LABEL])
        world.until_not_modified()
        world.reset()
        world.repo.add_issue("the new one", labels=[LABEL])
        result = world.poll()  # the tick it appears on
        calls = world.dynamodb()
        refused = world.refusals.count
        world.reset()
        after = world.poll()  # the next tick
        claim_path = {op: n for op, n in calls.items() if op != "PutItem (ETag)"}
        return {
            "taken": taken,
            "sessions": len(result["newSessions"]),
            "dynamodb_requests": sum(calls.values()),
            "by_operation": calls,
            "claim_path": claim_path,
            "refused_writes": refused,
            "next_poll": {"result": after["result"], "by_operation": world.dynamodb()},
        }


def drain(backlog: int) -> dict[str, Any]:
    with FakeGitHub() as github, moto_account() as aws:
        world = World(github, aws, cap=10)
        for n in range(backlog):
            world.repo.add_issue(f"issue {n}", labels=[LABEL])
        polls, sessions = world.until_not_modified(limit=backlog // 10 + 20)
        calls = world.dynamodb()
        return {
            "backlog": backlog,
            "polls": polls,
            "sessions": sessions,
            "dynamodb_requests": sum(calls.values()),
            "by_operation": calls,
            "refused_writes": world.refusals.count,
        }


def steady() -> dict[str, Any]:
    with FakeGitHub() as github, moto_account() as aws:
        world = World(github, aws, cap=100)
        for n in range(40):
            world.repo.add_issue(f"issue {n}", labels=[LABEL])
        world.until_not_modified()
        for _ in range(PRIMARY_COST_HISTORY):  # its recent costs fill with zeros: then at rest
            world.poll()
        world.reset()
        world.poll()
        calls: Counter[str] = Counter(world.dynamodb())
        writes = sum(n for op, n in calls.items() if op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"))
        return {"by_operation": dict(calls), "dynamodb_writes": writes, "dynamodb_reads": sum(calls.values()) - writes}


def run() -> dict[str, Any]:
    a = [new_issue_beside(k) for k in (0, 50, 99)]
    b = [drain(100), drain(1000)]
    c = steady()
    return {
        "a": a,
        "a_claim_path_same_for_every_k": len({tuple(sorted(r["claim_path"].items())) for r in a}) == 1
        and all(r["sessions"] == 1 for r in a),
        "a_refused_writes": sum(r["refused_writes"] for r in a),
        "b": b,
        "b_refused_writes": sum(r["refused_writes"] for r in b),
        "b_growth_1000_over_100": round(b[1]["dynamodb_requests"] / b[0]["dynamodb_requests"], 2),
        "c": c,
        "c_dynamodb_writes": c["dynamodb_writes"],
        "c_dynamodb_reads": c["dynamodb_reads"],
    }
