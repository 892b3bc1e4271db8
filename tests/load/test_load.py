"""Load: many projects, each with a backlog of open issues, through the real handlers at scale.

The real dispatcher and poller handlers (in-process invoker) run against moto's threaded
server on 127.0.0.1 (boto3 clients with `endpoint_url`) and the loopback GitHub stand-in.
Ticks run until the backlog is drained; then the totals are checked: one message per eligible
issue, none for an ineligible one, no issue twice, and no poll over its project's cap.

`make test` runs it scaled down (the default size below); `make load` runs it at full size:

    INTAKE_LOAD_PROJECTS=1000 INTAKE_LOAD_ISSUES=100 INTAKE_LOAD_PARTITION_QUERY=1 \
        INTAKE_LOAD_PROGRESS=1 pytest tests/load/test_load.py --timeout=0

A consumer thread drains the queue while the ticks run, as the launcher would. Deleted
messages leave moto's FIFO deduplication window, so a second send of an issue would show up
as a second message here: the no-duplicates check tests the claim protocol, not SQS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import boto3
import pytest
from botocore.config import Config
from harness import TOKEN, Pipeline

from intake_dev.fake_github import FakeGitHub
from intake_dev.invoker import InProcessInvoker
from intake_dev.template import create_resources
from tracker_intake.adapters.github import GitHubTracker
from tracker_intake.adapters.github_token import token_key
from tracker_intake.domain.dispatch import DispatchContext
from tracker_intake.domain.poll import PollContext
from tracker_intake.domain.session import SessionRequest

PROJECTS = int(os.environ.get("INTAKE_LOAD_PROJECTS", "50"))
ISSUES = int(os.environ.get("INTAKE_LOAD_ISSUES", "30"))
# Concurrent pollers per tick (the dispatcher's thread pool); the template default is 32.
CONCURRENCY = int(os.environ.get("INTAKE_LOAD_CONCURRENCY", "8"))
CAPS = (10, 25, 50)  # maxSessionsPerPoll, by project, so the cap check sees more than one value
LABEL = "agent"

# moto 5 sorts the whole table on every Query: at full size the run needs the server's
# --partition-query option (see moto_server.py), which `make load` turns on.
PARTITION_QUERY = os.environ.get("INTAKE_LOAD_PARTITION_QUERY") == "1"
PROGRESS = os.environ.get("INTAKE_LOAD_PROGRESS") == "1"  # a line per tick (`make load`)
MOTO_SERVER = Path(__file__).with_name("moto_server.py")


# --- the workload -------------------------------------------------------------------------


@dataclass
class SeededProject:
    project_id: str
    repo: str
    cap: int
    eligible: set[str] = field(default_factory=set)
    ineligible: set[str] = field(default_factory=set)
    listed: int = 0  # open items GitHub lists for the project's label query (pull requests included)

    @property
    def pages_when_quiet(self) -> int:
        """Requests of a steady-state poll: each page of 100, and the page after a full last one."""
        return self.listed // 100 + 1


def seed_project(github: FakeGitHub, index: int, issues: int) -> SeededProject:
    """`issues` open issues: some eligible, the rest pull requests, excluded or not matching.

    Which issue is which is decided here, so the expected totals do not come from the code
    under test.
    """
    owner, name = f"org{index % 37}", f"repo-{index:05d}"
    seeded = SeededProject(f"load-{index:05d}", f"{owner}/{name}", CAPS[index % len(CAPS)])
    repo = github.add_repo(owner, name)
    kinds = ("pull_request", "excluded", "other_label", "no_label")
    for n in range(1, issues + 1):
        # Roughly one in four is ineligible, in a pattern that shifts from project to project.
        kind = kinds[(n + index) % 4] if (n * 7 + index) % 4 == 0 else "eligible"
        canonical = f"github:{owner}/{name}#{n}"
        if kind in ("eligible", "pull_request", "excluded"):
            seeded.listed += 1  # labelled `agent`: GitHub lists it, the poller sorts it out
        if kind == "eligible":
            labels = [LABEL] if n % 3 else ["Agent", "bug"]  # labels match case-insensitively
            repo.add_issue(f"issue {n}", labels=labels, assignees=["octocat"] if n % 5 == 0 else [])
            seeded.eligible.add(canonical)
            continue
        if kind == "pull_request":
            repo.add_issue(f"pr {n}", labels=[LABEL], pull_request=True)
        elif kind == "excluded":
            repo.add_issue(f"busy {n}", labels=[LABEL, "in-progress" if n % 2 else "in-review"])
        elif kind == "other_label":
            repo.add_issue(f"docs {n}", labels=["documentation"])
        else:
            repo.add_issue(f"unlabelled {n}")
        seeded.ineligible.add(canonical)
    return seeded


# --- moto's threaded server and the pipeline on it ----------------------------------------


@dataclass
class MotoServer:
    endpoint: str
    pid: int

    def cpu_seconds(self) -> float | None:
        """User + system CPU the server process has used so far (Linux only)."""
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoServer]:
    """ThreadedMotoServer on 127.0.0.1 (a free port), in a child process."""
    child = subprocess.Popen(
        [sys.executable, str(MOTO_SERVER), *(["--partition-query"] if PARTITION_QUERY else [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        yield MotoServer(f"http://127.0.0.1:{port}", child.pid)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _client(service: Literal["dynamodb", "sqs"], endpoint: str) -> Any:
    config = Config(
        max_pool_connections=2 * CONCURRENCY + 4,
        connect_timeout=10,
        read_timeout=60,
        retries={"mode": "standard", "max_attempts": 3},
    )
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", config=config)


class LoadPipeline(Pipeline):
    """The harness's pipeline with a wider dispatcher, patient timeouts, and every poll recorded."""

    def __init__(self, aws: dict[str, Any], github: FakeGitHub) -> None:
        self.polls: list[dict[str, Any]] = []
        super().__init__(aws, github)
        # This test is about claims under load, unpaced, with the clock standing still within a
        # tick: GitHub's per-minute secondary limit would refuse the full size's 1,000+ requests a
        # tick. Pacing within that limit is tested in tests/integration/test_github_limits.py.
        github.secondary_points_per_minute = 10**9

    def restart(self, *, fresh_modules: bool = False) -> None:
        super().restart(fresh_modules=fresh_modules)
        self.dispatcher.use(
            DispatchContext(
                store=self.store,
                budgets=self.store,
                invoker=InProcessInvoker(self.poll_event),
                clock=self.clock,
                token_key=token_key(TOKEN),
                max_concurrency=CONCURRENCY,
                # Unpaced: this test is about claims under load, and its ticks do not wait a
                # minute each (pacing has tests/integration/test_github_limits.py).
                requests_per_minute=None,
            )
        )

    def poll_context(self) -> PollContext:
        # A loaded single process can take more than the harness's 5 s to answer.
        tracker = GitHubTracker(self.github.base_url, TOKEN, timeout=(10.0, 60.0))
        return replace(super().poll_context(), tracker=tracker)

    def poll_event(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = super().poll_event(event)
        self.polls.append(result)  # list.append is atomic; pollers run on the dispatcher's threads
        return result


class QueueConsumer:
    """Receives and deletes launch-queue messages on its own thread, as the launcher would."""

    def __init__(self, endpoint: str, queue_url: str) -> None:
        self.sqs = _client("sqs", endpoint)
        self.queue_url = queue_url
        self.received: list[SessionRequest] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-consumer", daemon=True)

    def __enter__(self) -> QueueConsumer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=120)

    def _run(self) -> None:
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=600)
            messages = got.get("Messages", [])
            if messages:
                self.received.extend(SessionRequest.model_validate_json(m["Body"]) for m in messages)
                entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
                self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if len(messages) < 10:
                if self._stop.is_set() and not messages:
                    return  # stopped, and the queue is empty
                # Let a few messages gather: one receive per message would double moto's load.
                time.sleep(0.2)


# --- the run ------------------------------------------------------------------------------


@dataclass
class LoadRun:
    projects: list[SeededProject]
    polls: list[dict[str, Any]]
    ticks: list[dict[str, Any]]
    messages: list[SessionRequest]
    sqs_sends: int
    aws_calls: Counter[str]
    github_requests: int
    quiet_tick_statuses: Counter[int]
    seconds: float
    cpu_seconds: float
    server_cpu_seconds: float | None

    @property
    def eligible(self) -> set[str]:
        return set().union(*(p.eligible for p in self.projects))

    @property
    def ineligible(self) -> set[str]:
        return set().union(*(p.ineligible for p in self.projects))

    def summary(self) -> str:
        server = f"{self.server_cpu_seconds:.0f}" if self.server_cpu_seconds is not None else "?"
        return (
            f"load: {len(self.projects)} projects x {ISSUES} open issues, {len(self.eligible)} eligible -> "
            f"{len(self.messages)} messages; {len(self.ticks)} ticks, {len(self.polls)} polls, "
            f"{self.github_requests} GitHub requests, {self.aws_calls.total()} AWS calls "
            f"({', '.join(f'{op} {n}' for op, n in self.aws_calls.most_common())}); concurrency {CONCURRENCY}; "
            f"{self.seconds:.1f} s wall (CPU: {self.cpu_seconds:.0f} s test process, {server} s moto server)"
        )


def run_ticks(
    pipe: LoadPipeline, github: FakeGitHub, limit: int, progress: Callable[[str], None]
) -> tuple[list[dict[str, Any]], Counter[int]]:
    """Tick until a tick enqueues nothing (the backlog is drained) or `limit` ticks ran.

    Returns every tick's summary and the GitHub answers of the last tick, by status.
    """
    ticks: list[dict[str, Any]] = []
    last: Counter[int] = Counter()
    started = time.perf_counter()
    while len(ticks) < limit:
        before = len(pipe.polls)
        github.clear_requests()
        ticks.append(pipe.tick())
        pipe.clock.advance(60)
        last = Counter(r.status for r in github.requests)
        new = sum(len(poll["newSessions"]) for poll in pipe.polls[before:])
        elapsed = time.perf_counter() - started
        progress(f"tick {len(ticks)}: {len(pipe.polls) - before} polls, {new} new sessions, {elapsed:.0f} s")
        if not new:
            break
    return ticks, last


def report(request: pytest.FixtureRequest, line: str) -> None:
    """A line on the terminal even while pytest captures output."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n" + line, flush=True)


@pytest.fixture(scope="module")
def load_run(moto_server: MotoServer, request: pytest.FixtureRequest) -> Iterator[LoadRun]:
    endpoint = moto_server.endpoint
    dynamodb, sqs = _client("dynamodb", endpoint), _client("sqs", endpoint)
    names = create_resources(dynamodb, sqs, prefix="load")
    with FakeGitHub() as github:
        github.set_rate_limit(TOKEN, remaining=10_000_000)  # the budget is not what is under test
        projects = [seed_project(github, i, ISSUES) for i in range(PROJECTS)]
        pipe = LoadPipeline({"dynamodb": dynamodb, "sqs": sqs, **names}, github)
        for project in projects:
            pipe.create_project(project.project_id, repo=project.repo, labels=[LABEL], maxSessionsPerPoll=project.cap)
        pipe.counter.reset()

        # Enough ticks for the largest backlog at the smallest cap, and one more to be quiet.
        limit = max(-(-len(p.eligible) // p.cap) for p in projects) + 2
        server_cpu = moto_server.cpu_seconds()
        cpu, started = time.process_time(), time.perf_counter()
        with QueueConsumer(endpoint, names["queue_url"]) as consumer:
            ticks, quiet = run_ticks(pipe, github, limit, lambda line: report(request, line) if PROGRESS else None)
        server_after = moto_server.cpu_seconds()
        run = LoadRun(
            projects=projects,
            polls=pipe.polls,
            ticks=ticks,
            messages=consumer.received,
            sqs_sends=pipe.counter.sqs_sends,
            aws_calls=Counter(pipe.counter.calls),
            github_requests=sum(p["pages"] for p in pipe.polls),
            quiet_tick_statuses=quiet,
            seconds=time.perf_counter() - started,
            cpu_seconds=time.process_time() - cpu,
            server_cpu_seconds=None if server_cpu is None or server_after is None else server_after - server_cpu,
        )
    report(request, run.summary())
    yield run


# --- the checks -----------------------------------------------------------------------------


def test_every_eligible_issue_is_on_the_queue(load_run: LoadRun) -> None:
    # GIVEN the backlog drained by ticks of the real handlers
    # WHEN the queue's messages are gathered
    enqueued = {m.issue_id for m in load_run.messages}
    # THEN every eligible issue of every project is among them
    assert enqueued >= load_run.eligible
    assert len(load_run.messages) == len(load_run.eligible)


def test_no_ineligible_issue_is_enqueued(load_run: LoadRun) -> None:
    # GIVEN pull requests, excluded and non-matching issues in every repository
    # WHEN the queue's messages are gathered
    enqueued = {m.issue_id for m in load_run.messages}
    # THEN none of them is there
    assert not enqueued & load_run.ineligible


def test_no_issue_is_enqueued_twice(load_run: LoadRun) -> None:
    # GIVEN every poll of every tick
    # WHEN the messages and the sends are counted by issue
    per_issue = Counter(m.issue_id for m in load_run.messages)
    # THEN each issue is on the queue once, and was sent once
    assert per_issue.most_common(1)[0][1] == 1
    assert load_run.sqs_sends == len(load_run.eligible)


def test_no_poll_goes_over_its_projects_cap(load_run: LoadRun) -> None:
    # GIVEN each project's maxSessionsPerPoll
    caps = {p.project_id: p.cap for p in load_run.projects}
    # WHEN every poll's new sessions are counted
    over = [p for p in load_run.polls if len(p["newSessions"]) > caps[p["projectId"]]]
    # THEN none went over, and the backlog took the polls the caps imply
    assert over == []
    busiest = max(-(-len(p.eligible) // p.cap) for p in load_run.projects)
    assert len(load_run.ticks) == busiest + 1


def test_every_poll_succeeded_and_every_project_was_dispatched_each_tick(load_run: LoadRun) -> None:
    # GIVEN no injected faults
    # WHEN the ticks' summaries and the polls' results are read
    results = Counter(p["result"] for p in load_run.polls)
    # THEN every project was polled every tick, and no poll failed
    assert all(t["dispatched"] == len(load_run.projects) and t["failedInvoke"] == 0 for t in load_run.ticks)
    assert set(results) <= {"changed", "not_modified"}
    assert len(load_run.polls) == len(load_run.projects) * len(load_run.ticks)


def test_the_quiet_tick_is_answered_304_for_every_project(load_run: LoadRun) -> None:
    # GIVEN the backlog drained
    # WHEN the last tick's GitHub requests are read
    statuses = load_run.quiet_tick_statuses
    # THEN each project cost one conditional request a page, and one for the (empty) page after
    # an exactly full last page, every one answered 304
    assert statuses == Counter({304: sum(p.pages_when_quiet for p in load_run.projects)})
