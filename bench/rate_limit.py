"""(b) Primary rate-limit units: intake (ETags, 304s) against a naive poller, same world, same run.

1,000 projects, 60 ticks, 1 % of the projects change before every tick after the first (a new
issue, eligible or not, an issue closed, a title edited), by a fixed plan. Each tick every project is polled
twice: once by intake's own poll (domain `poll_project` with the real adapters: DynamoStore and
the SQS queue on moto in-process, GitHubTracker on the loopback stand-in) and once by a naive
poller that re-lists every page without `If-None-Match` (the same GitHubTracker, never given a
cached ETag), each on its own token. A unit is what the stand-in's `x-ratelimit-remaining`
counter consumed: a 200 costs 1, a 304 costs 0, as on GitHub.
"""

from __future__ import annotations

import os
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from multiprocessing import get_context
from typing import Any

from intake_dev.clock import FixedClock
from intake_dev.fake_github import FakeGitHub, FakeRepo
from intake_dev.moto_partition_query import partition_query
from intake_dev.template import queue_attributes
from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.adapters.github import GitHubTracker
from tracker_intake.adapters.sqs import SqsSessionQueue
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.poll import PollResult, poll_project
from tracker_intake.domain.tracker import IssueQuery
from tracker_intake.settings import PollerSettings
from tracker_intake.wiring import build_poll_context

from .common import LABEL, NAIVE_TOKEN, TOKEN, add_issues, fake_aws_env, moto_account

TARGETS = {"ratio_vs_naive": "<= 0.05"}
PROJECTS = 1000
TICKS = 60
CHURN = 0.01
TWO_PAGE_EVERY = 20  # one project in 20 has 150 open issues (two pages of 100)
SEED = 7
WORKERS = 2  # processes; the figures do not depend on it, only the wall time does


@dataclass(frozen=True)
class Change:
    """One repository changing before one tick. `kind` and `pick` are uniform draws in [0, 1)."""

    tick: int
    project: int
    kind: float
    pick: float


def churn_plan(projects: int, ticks: int) -> list[Change]:
    """1 % of the projects change before every tick after the first, the same in every run."""
    rng = random.Random(SEED)
    per_tick = max(1, round(projects * CHURN))
    return [
        Change(tick, project, rng.random(), rng.random())
        for tick in range(1, ticks)
        for project in sorted(rng.sample(range(projects), per_tick))
    ]


def seed_repo(github: FakeGitHub, index: int) -> FakeRepo:
    """Mostly one page (5 to 24 open issues); one repository in 20 has two pages (150)."""
    repo = github.add_repo(f"org{index % 50}", f"svc-{index:04d}")
    if index % TWO_PAGE_EVERY == 0:
        add_issues(repo, 150, eligible_every=50)
    else:
        add_issues(repo, 5 + index % 20, eligible_every=5)
    return repo


def apply(change: Change, repo: FakeRepo) -> None:
    """A new issue (eligible or not), an issue closed, or a title edited."""
    open_numbers = [i["number"] for i in repo.issues() if i["state"] == "open"]
    if change.kind < 0.4 or not open_numbers:
        repo.add_issue(f"new in tick {change.tick}", labels=[LABEL])
    elif change.kind < 0.6:
        repo.add_issue(f"new, being worked on, tick {change.tick}", labels=[LABEL, "in-progress"])
    elif change.kind < 0.8:
        repo.close_issue(open_numbers[int(change.pick * len(open_numbers))])
    else:
        repo.update_issue(open_numbers[int(change.pick * len(open_numbers))], title=f"edited in tick {change.tick}")


def run_shard(
    shard: int, shards: int, projects: int, ticks: int, plan: list[Change]
) -> tuple[list[tuple[int, int]], dict[str, int]]:
    """Every tick for the projects `shard`, `shard + shards`, ...: (intake's units, the naive
    poller's units) per tick, and how the polls ended."""
    fake_aws_env()
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    # The stand-in on the bench's clock: a tick is a minute for GitHub's rolling minute too (on
    # the wall clock, several ticks ran within one and the naive poller met the secondary limit).
    with (
        FakeGitHub(clock=lambda: clock.now().timestamp()) as github,
        moto_account() as aws,
        partition_query(),
    ):
        github.set_rate_limit(TOKEN, remaining=10_000_000)
        github.set_rate_limit(NAIVE_TOKEN, remaining=10_000_000)
        store = DynamoStore(aws.table_name, client=aws.dynamodb)
        repos: dict[int, FakeRepo] = {}
        for index in range(shard, projects, shards):
            repos[index] = repo = seed_repo(github, index)
            config = {"trackerIntake": {"enabled": True, "repo": repo.full_name, "labels": [LABEL]}}
            store.create_project(project_id(index), ProjectConfig.model_validate(config), clock.now())
        settings = PollerSettings.from_env(
            {
                "TABLE_NAME": aws.table_name,
                "ACTIVITY_TABLE_NAME": aws.activity_table_name,
                "QUEUE_URL": aws.queue_url,
                "GITHUB_API_URL": github.base_url,
            }
        )
        context = build_poll_context(
            settings, dynamodb=aws.dynamodb, sqs=aws.sqs, token=TOKEN, clock=clock, rng=lambda: 0.0
        )
        naive = GitHubTracker(github.base_url, NAIVE_TOKEN)
        queries = {i: IssueQuery(repo.owner, repo.name, (LABEL,), None) for i, repo in repos.items()}
        fifo = queue_attributes("LaunchQueue")
        per_tick: list[tuple[int, int]] = []
        results: dict[str, int] = {}
        for tick in range(ticks):
            for change in plan:
                if change.tick == tick and change.project in repos:
                    apply(change, repos[change.project])
            ours, theirs = github.rate_remaining(TOKEN), github.rate_remaining(NAIVE_TOKEN)
            for index in repos:
                outcome = poll_project(context, project_id(index))
                results[outcome.result.value] = results.get(outcome.result.value, 0) + 1
                for _page in naive.pages(queries[index], {}):
                    pass
            per_tick.append((ours - github.rate_remaining(TOKEN), theirs - github.rate_remaining(NAIVE_TOKEN)))
            # moto's FIFO send slows with the queue's length (and PurgeQueue waits 60 s): the next
            # tick sends to a fresh queue.
            queue = aws.sqs.create_queue(QueueName=f"bench-launch-{tick}.fifo", Attributes=fifo)["QueueUrl"]
            context = replace(context, queue=SqsSessionQueue(queue, client=aws.sqs))
            clock.advance(60)
    return per_tick, results


def project_id(index: int) -> str:
    return f"svc-{index:04d}"


def run(projects: int = PROJECTS, ticks: int = TICKS, workers: int = WORKERS) -> dict[str, Any]:
    plan = churn_plan(projects, ticks)
    shards = max(1, min(workers, os.cpu_count() or 1))
    with ProcessPoolExecutor(max_workers=shards, mp_context=get_context("spawn")) as pool:
        jobs = [pool.submit(run_shard, shard, shards, projects, ticks, plan) for shard in range(shards)]
        done = [job.result() for job in jobs]
    per_tick = [(sum(d[0][t][0] for d in done), sum(d[0][t][1] for d in done)) for t in range(ticks)]
    results: dict[str, int] = {}
    for _, shard_results in done:
        for key, count in shard_results.items():
            results[key] = results.get(key, 0) + count
    units, naive_units = sum(u for u, _ in per_tick), sum(n for _, n in per_tick)
    steady, steady_naive = sum(u for u, _ in per_tick[1:]), sum(n for _, n in per_tick[1:])
    failed = {k: v for k, v in results.items() if k not in (PollResult.CHANGED, PollResult.NOT_MODIFIED)}
    if failed:
        raise RuntimeError(f"polls failed: {failed}")
    return {
        "units": units,
        "naive_units": naive_units,
        "ratio_vs_naive": round(units / naive_units, 4),
        "first_tick_units": per_tick[0][0],
        "first_tick_naive_units": per_tick[0][1],
        "steady_units": steady,
        "steady_naive_units": steady_naive,
        "steady_ratio_vs_naive": round(steady / steady_naive, 4),
        "projects": projects,
        "ticks": ticks,
        "churn_per_tick": CHURN,
        "changes": len(plan),
        "poll_results": results,
        "worker_processes": shards,
        "path": "domain poll_project with the real adapters (DynamoStore and SqsSessionQueue on moto in-process, "
        "with intake_dev.moto_partition_query; GitHubTracker on the loopback stand-in); no dispatcher or "
        "handler layer. The projects are split over worker processes (one moto and one stand-in each); "
        "units are summed over them",
    }
