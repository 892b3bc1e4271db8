"""(a) What one steady-state poll of a one-page project costs: GitHub, rate limit, DynamoDB, SQS.

The real poller handler with the ports its own composition root builds from the environment
(wiring.build_poll_context), on moto in-process and the loopback GitHub stand-in. The project
is polled until its backlog is enqueued and a poll has answered 304; the poll after that is the
one measured. Then an hour at rest, a poll a minute on a clock the bench moves: what the
activity log's heartbeat writes (docs/design.md, "The activity log").
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from intake_dev.call_counter import CallCounter
from intake_dev.clock import FixedClock
from intake_dev.fake_github import FakeGitHub, FakeRepo
from intake_dev.functions import LocalLambdaContext, load_handler
from tracker_intake.adapters.dynamodb import DynamoProjects, DynamoStore
from tracker_intake.adapters.sqs import SqsSessionQueue
from tracker_intake.domain.clock import SystemClock
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.poll import PollContext
from tracker_intake.domain.records import PRIMARY_COST_HISTORY
from tracker_intake.settings import PollerSettings
from tracker_intake.wiring import build_poll_context

from .common import LABEL, TOKEN, add_issues, moto_account

# Two reads: the project's one Query, and the credential's pause (a GetItem of a small item,
# eventually consistent), read before the first request so a pause recorded by any poller holds.
TARGETS = {
    "github_requests": 1,
    "rate_limit_units": 0,
    "dynamodb_reads": 2,
    "dynamodb_writes": 0,
    "sqs_sends": 0,
    # Members cost nothing more at rest, one question each while settling, none while kept.
    "member_steady_github_requests": 1,
    "member_steady_permission_requests": 0,
    "member_warm_up_permission_requests": 5,
    "member_kept_new_issue_permission_requests": 0,
    # An hour at rest, a poll a minute: a heartbeat every 10 minutes, each the project's
    # UpdateItem (checkedAt) and the activity log's PutItem.
    "hour_at_rest_dynamodb_writes": 12,
    "hour_at_rest_sqs_sends": 0,
}
WARM_UP_POLLS = 10
PROJECT = "one page: 41 open issues (20 eligible, 20 excluded, 1 pull request), default cap 10"


@dataclass
class SettledPoller:
    """A poller whose project's backlog is enqueued: each further `poll()` is a steady-state one."""

    poller: Any  # the handler module, with `context` in use
    context: PollContext
    github: FakeGitHub
    counter: CallCounter
    warm_up: list[dict[str, Any]]
    repo: FakeRepo
    # Members' write checks GitHub was asked while the backlog was enqueued.
    warm_up_permission_requests: int = 0

    def poll(self) -> dict[str, Any]:
        result: dict[str, Any] = self.poller.lambda_handler({"projectId": "widgets"}, LocalLambdaContext())
        return result


# The members variant: the 20 eligible issues written by 5 organisation members (4 issues each),
# 4 of whom may write to the repository and 1 may only read (GitHub's `MEMBER` says neither).
MEMBERS = {"ana": "write", "bo": "maintain", "cy": "admin", "di": "write", "ed": "read"}
MEMBERS_PROJECT = "the same page, its eligible issues by 5 MEMBERs (4 may write, 1 read-only)"


def _by_members(repo: FakeRepo) -> int:
    """Make the eligible issues (the even numbers, as `add_issues` made them) the members', in
    turn; the number that may start a session."""
    logins = sorted(MEMBERS)
    for login, role in MEMBERS.items():
        repo.set_permission(login, role)
    starting = 0
    for n, number in enumerate(range(2, 41, 2)):
        login = logins[n % len(logins)]
        repo.update_issue(number, user=login, author_association="MEMBER")
        starting += MEMBERS[login] != "read"
    return starting


@contextmanager
def settled_poller(
    wrap: Callable[[PollContext], PollContext] = lambda context: context, *, members: bool = False
) -> Iterator[SettledPoller]:
    """The project of PROJECT (of MEMBERS_PROJECT with `members`), polled until it is settled.
    `wrap` may wrap the context's ports (to time them) before the handler is given it."""
    with FakeGitHub() as github, moto_account() as aws:
        repo = github.add_repo("acme", "widgets")
        eligible = add_issues(repo, 40, eligible_every=2)  # one page of 40 issues, 20 eligible
        repo.add_issue("a pull request", labels=[LABEL], pull_request=True)
        if members:
            eligible = _by_members(repo)
        intake = {"enabled": True, "repo": "acme/widgets", "labels": [LABEL]}
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
        assert isinstance(context.store, DynamoProjects) and isinstance(context.queue, SqsSessionQueue)
        counter = CallCounter()
        counter.attach(context.store.table.client)
        counter.attach(context.queue.client)
        context = wrap(context)
        poller = load_handler("poller", fresh=True)
        poller.use(context)
        settled = SettledPoller(poller, context, github, counter, [], repo)

        warm_up = settled.warm_up
        warm_up.append(settled.poll())
        while warm_up[-1]["result"] != "not_modified" and len(warm_up) < WARM_UP_POLLS:
            warm_up.append(settled.poll())
        # The 304s after the last change write the project's recent costs until they are all
        # zeros (PRIMARY_COST_HISTORY polls); then it is at rest.
        for _ in range(PRIMARY_COST_HISTORY):
            warm_up.append(settled.poll())
        enqueued = sum(len(p["newSessions"]) for p in warm_up)
        if enqueued != eligible:
            raise RuntimeError(f"warm-up enqueued {enqueued} of {eligible} eligible issues")
        settled.warm_up_permission_requests = len(github.permission_requests())
        github.clear_requests()
        counter.reset()
        yield settled


def members() -> dict[str, Any]:
    """The members variant: what the write checks cost while settling, and at rest."""
    with settled_poller(members=True) as settled:
        github = settled.github
        measured = settled.poll()
        steady = {
            "member_steady_github_requests": len(github.requests),
            "member_steady_permission_requests": len(github.permission_requests()),
            "member_steady_result": measured["result"],
        }
        # A new issue by a member whose answer is kept (asked minutes ago): no question again.
        github.clear_requests()
        settled.repo.add_issue("a new one", labels=[LABEL], user="ana", author_association="MEMBER")
        taken = settled.poll()
        return {
            **steady,
            "member_warm_up_permission_requests": settled.warm_up_permission_requests,
            "member_warm_up_sessions": sum(len(p["newSessions"]) for p in settled.warm_up),
            "member_warm_up_polls": len(settled.warm_up),
            "member_kept_new_issue_permission_requests": len(github.permission_requests()),
            "member_kept_new_issue_sessions": len(taken["newSessions"]),
            "members_project": MEMBERS_PROJECT,
        }


def run() -> dict[str, Any]:
    return {**owners(), **members(), **hour_at_rest()}


def hour_at_rest() -> dict[str, Any]:
    """Sixty polls a minute apart after settling: the heartbeat's writes over an hour at rest."""
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    with settled_poller(lambda context: replace(context, clock=clock)) as settled:
        counter = settled.counter
        writes_at: list[int] = []
        for minute in range(1, 61):
            clock.advance(60)
            before = counter.dynamodb_writes
            assert settled.poll()["result"] == "not_modified"
            if counter.dynamodb_writes > before:
                writes_at.append(minute)
        return {
            "hour_at_rest_dynamodb_writes": counter.dynamodb_writes,
            "hour_at_rest_sqs_sends": counter.sqs_sends,
            "hour_at_rest_writes_by_operation": {op: counter.calls[op] for op in ("PutItem", "UpdateItem")},
            "hour_at_rest_minutes_written": writes_at,
        }


def owners() -> dict[str, Any]:
    with settled_poller() as settled:
        github, counter = settled.github, settled.counter
        remaining = github.rate_remaining(TOKEN)
        measured = settled.poll()
        requests = github.requests
        return {
            "github_requests": len(requests),
            "rate_limit_units": remaining - github.rate_remaining(TOKEN),
            "dynamodb_reads": counter.dynamodb_reads,
            "dynamodb_writes": counter.dynamodb_writes,
            "sqs_sends": counter.sqs_sends,
            "github_statuses": [r.status for r in requests],
            "aws_calls": dict(sorted(counter.calls.items())),
            "poll_result": measured["result"],
            "warm_up_polls": len(settled.warm_up),
            "project": PROJECT,
            "path": "poller handler (functions/poller/app.py) with wiring.build_poll_context ports; "
            "moto in-process; loopback GitHub stand-in",
        }
