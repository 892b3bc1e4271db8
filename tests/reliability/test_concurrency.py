"""Concurrency: eight pollers on one project at once, and two dispatcher ticks that overlap, each
with the subject on GitHub, on Linear and on Jira (the `world` fixture's trackers).

Each concurrent poll gets its own adapters and boto3 clients (a container of its own) and runs
`poll_project`, the poller handler's one call: Powertools metrics are process-wide, and in AWS
every container runs one invocation at a time, so the handlers themselves are not run in
parallel threads. DynamoDB's per-request atomicity is restored over moto (see World.__init__).
After the race, one ordinary tick (the stated bound) and the same invariants as the matrix.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import pytest
from reliability.matrix import Case, Checks, check_invariants, check_settled
from reliability.subjects import TRACKERS
from reliability.world import HEALTHY, SUBJECT, SUITE, LambdaLoopback, World

from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.adapters.invoker import LambdaInvoker
from tracker_intake.domain.dispatch import DispatchContext, dispatch
from tracker_intake.domain.poll import poll_project

POLLERS = 8
LAMBDA_TIMEOUT = timedelta(seconds=25)  # what the poller handler leaves itself (60 s less margins)


def fresh_poll(world: World, project_id: str) -> None:
    """One poller container: new clients, new adapters, one poll."""
    ctx = world.poll_context(dynamodb=world.poller_client("dynamodb"), sqs=world.poller_client("sqs"))
    outcome = poll_project(ctx, project_id, deadline=world.clock.now() + LAMBDA_TIMEOUT)
    result = {"result": outcome.result.value, "errorKind": outcome.error_kind, "newSessions": outcome.new_sessions}
    world.record_poll(project_id, result)


def run_together(world: World, targets: list[Callable[[], None]]) -> None:
    """Start every target at the same moment; any exception is recorded as unexpected."""
    barrier = threading.Barrier(len(targets))

    def run(target: Callable[[], None]) -> None:
        barrier.wait()
        try:
            target()
        except Exception as e:  # noqa: BLE001  # recorded: fails the "no unexpected exception" check
            world.unexpected.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a concurrent poll hung"


def finish(world: World, case: Case, first: str) -> None:
    """The stated bound (one probe tick), then the matrix's invariants and the settled checks."""
    probe_issue = world.add_issue(HEALTHY, "arrived after the race")
    world.step("probe")
    case_id = case.id_for(world.subject.provider)
    checks = Checks(case_id)
    check_invariants(world, case, checks, first=first, probe_issue=probe_issue)
    check_settled(world, checks)
    SUITE.record(case_id, 0, checks.passed, world.steps, 1)


@pytest.mark.parametrize("world", TRACKERS, indirect=True)
def test_eight_pollers_on_one_project_enqueue_and_launch_each_issue_once(world: World) -> None:
    # GIVEN the subject (on each tracker) with 12 eligible issues on two or more pages and a cap
    # that lets one poll take them all, and the healthy project beside it
    world.seed(max_sessions_per_poll=20)
    for n in range(8):
        world.add_issue(SUBJECT, f"more work {n}")
    # WHEN eight pollers, each in its own container, poll the subject at the same moment (and
    # one more polls the healthy project), then one ordinary tick follows
    world.begin("race")
    run_together(world, [lambda: fresh_poll(world, SUBJECT)] * POLLERS + [lambda: fresh_poll(world, HEALTHY)])
    world.pump()
    world.sync()
    # THEN every invariant holds: one message, one session per issue, nothing for the rest
    polls = world.results_for(SUBJECT, "race")
    assert len(polls) == POLLERS
    claimed = [issue for poll in polls for issue in poll["newSessions"]]
    assert sorted(claimed) == sorted(set(claimed)), "two pollers claimed the same issue"
    finish(world, Case("concurrency-8-pollers-one-project", "concurrency", lambda w: None, "ok"), "race")


@pytest.mark.parametrize("world", TRACKERS, indirect=True)
def test_two_overlapping_dispatcher_ticks_enqueue_and_launch_each_issue_once(world: World) -> None:
    # GIVEN both projects, and two dispatchers whose pollers run in containers of their own
    world.seed()

    def tick() -> None:
        client = boto3.client("lambda")
        LambdaLoopback(lambda project_id, _grant, _retries: fresh_poll(world, project_id)).attach(client)
        dynamodb = world.poller_client("dynamodb")
        store = DynamoStore(world.aws["table_name"], client=dynamodb)
        ctx = DispatchContext(
            store,
            store,
            LambdaInvoker("PollerFunction", client=client),
            world.clock,
            world.token_key,
            # Each project's budget is its own credential's (a Linear subject's is its key's).
            credentials=world.dispatch_context(dynamodb).credentials,
        )
        # Unpaced: with pacing, the tick that loses the race for the credential's pace item
        # dispatches nothing (tests/unit/test_dispatch.py), and this test wants both to poll.
        summary = dispatch(replace(ctx, max_concurrency=4, requests_per_minute=None))
        ticks.append(summary.as_dict())

    ticks: list[dict[str, Any]] = []
    # WHEN two ticks run at the same moment (so each project is polled twice, concurrently)
    world.begin("overlap")
    run_together(world, [tick, tick])
    world.pump()
    world.sync()
    # THEN both ticks dispatched both projects, and every invariant holds
    assert [t["dispatched"] for t in ticks] == [2, 2], ticks
    assert len(world.results_for(SUBJECT, "overlap")) == 2
    finish(world, Case("concurrency-overlapping-ticks", "concurrency", lambda w: None, "ok"), "overlap")
