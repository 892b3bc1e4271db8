"""(h) How long a warm steady-state poll and a dispatcher tick run: what Lambda bills per invocation.

- **Poll**: the steady-state poll of (a) (the real poller handler and its composition root's
  ports, on moto in-process and the loopback GitHub stand-in; one page answering 304), invoked
  POLLS times once settled, each invocation timed.
- **Tick**: the real dispatcher handler over FLEET projects (the README's fleet), each polled
  before (its last walk read one page), with its composition root's ports: DynamoStore on moto
  and the real LambdaInvoker on moto's Lambda without Docker (an Event invoke answers 202 and
  runs nothing). Its clock moves a minute a tick, as the schedule does; TICKS ticks are timed.

Both run with the template's logging (INFO) and metrics on, their output discarded. Besides each
invocation's wall time, two parts of it are measured that a deployment spends elsewhere:

- the time each AWS request spends inside moto (a `before-send` handler either side of moto's):
  DynamoDB and Lambda answer over the network instead, in a few milliseconds each;
- the poll's GitHub request (the tracker port, timed): the stand-in answers on loopback;
  api.github.com answers over the internet.

`*_without_services_ms` is the wall time less those: the handler, Powertools, the domain, the
adapters, and botocore's and requests' own work (serialising, signing, parsing). The tick runs
32 invokes at a time on threads, so its figure is CPU time (process, all threads) less moto's.
Counts are exact; times are medians over the invocations, with their min and max.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import statistics
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from intake_dev.call_counter import CallCounter
from intake_dev.clock import FixedClock
from intake_dev.functions import LocalLambdaContext, load_handler, quiet_handler_logs
from tracker_intake.adapters.dynamodb import DynamoProjects, DynamoStore
from tracker_intake.adapters.invoker import LambdaInvoker
from tracker_intake.adapters.sqs import SqsSessionQueue
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.poll import PollContext
from tracker_intake.domain.ports import Credentials, Resolved
from tracker_intake.domain.records import PollState, ProjectRecord
from tracker_intake.domain.sync import ChangeFeed
from tracker_intake.domain.tracker import DEFAULT_PAGE_CAP, CachedPage, IssueQuery, Page, Retries, Tracker
from tracker_intake.settings import DispatcherSettings
from tracker_intake.wiring import build_dispatch_context

from .common import LABEL, TOKEN, moto_account
from .steady_state import PROJECT, settled_poller

# Counts: what the figures' arithmetic multiplies (the times are reported, not targeted).
TARGETS = {"poll_github_requests": 1, "poll_aws_requests": 2, "tick_invokes": 100}
POLLS = 200
FLEET = 100
TICKS = 30
WARM_UP_TICKS = 2  # the first builds the clients; a warm container's ticks are what repeat


@dataclass
class ServiceTime:
    """Time AWS requests spend inside moto: wall and the calling thread's CPU, summed."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    requests: int = 0
    _started: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, client: Any) -> None:
        # moto answers in a `before-send` handler: one registered first and one registered last
        # run on either side of it.
        client.meta.events.register_first("before-send", self._enter)
        client.meta.events.register_last("before-send", self._leave)

    def _enter(self, **_: Any) -> None:
        self._started.at = (time.perf_counter(), time.thread_time())

    def _leave(self, **_: Any) -> None:
        wall, cpu = self._started.at
        with self._lock:
            self.wall_s += time.perf_counter() - wall
            self.cpu_s += time.thread_time() - cpu
            self.requests += 1

    def reset(self) -> None:
        with self._lock:
            self.wall_s, self.cpu_s, self.requests = 0.0, 0.0, 0


class TimedTracker:
    """The `Tracker` port, with the time spent waiting on each page summed (the GitHub request)."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.seconds = 0.0

    def pages(
        self,
        query: IssueQuery,
        cache: Mapping[str, CachedPage],
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
    ) -> Iterator[Page]:
        walk = self.tracker.pages(query, cache, page_cap, retries)
        while True:
            started = time.perf_counter()
            page = next(walk, None)
            self.seconds += time.perf_counter() - started
            if page is None:
                return
            yield page


class TimedCredentials:
    """The `Credentials` port, each resolved tracker timed: the poll resolves its project's
    credential (the default included) and polls with its tracker, not the context's."""

    def __init__(self, credentials: Credentials, timed: TimedTracker) -> None:
        self.credentials = credentials
        self.timed = timed

    def for_project(self, record: ProjectRecord, *, remember: bool = True) -> Resolved:
        resolved = self.credentials.for_project(record, remember=remember)
        assert not isinstance(resolved.tracker, ChangeFeed), "the timed poll is a GitHub project's"
        self.timed.tracker = resolved.tracker
        return dataclasses.replace(resolved, tracker=self.timed)

    def key_for(self, record: ProjectRecord) -> str:
        return self.credentials.key_for(record)

    def forget_installation(self, record: ProjectRecord) -> None:
        self.credentials.forget_installation(record)


@contextlib.contextmanager
def as_deployed(handler: Any) -> Iterator[None]:
    """The handler logging at the template's level (INFO) and printing its metrics (EMF), as in
    Lambda, its output discarded. (The benchmarks' moto account turns both down.)"""
    disabled, level = os.environ.get("POWERTOOLS_METRICS_DISABLED"), handler.logger.log_level
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"
    handler.logger.setLevel("INFO")
    try:
        with contextlib.redirect_stdout(io.StringIO()), quiet_handler_logs(), warnings.catch_warnings():
            # A 304 poll records no metric, and Powertools says so on every flush.
            warnings.filterwarnings("ignore", "No application metrics to publish")
            yield
    finally:
        handler.logger.setLevel(level)
        if disabled is None:
            os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
        else:
            os.environ["POWERTOOLS_METRICS_DISABLED"] = disabled


def spread(name: str, samples: list[float]) -> dict[str, Any]:
    """`name`: the median in ms; `name_range`: the smallest and the largest."""
    ms = [s * 1000 for s in samples]
    return {name: round(statistics.median(ms), 2), f"{name}_range": [round(min(ms), 2), round(max(ms), 2)]}


def measure_poll() -> dict[str, Any]:
    moto = ServiceTime()
    tracker: TimedTracker | None = None

    def timed(context: PollContext) -> PollContext:
        nonlocal tracker
        assert isinstance(context.store, DynamoProjects) and isinstance(context.queue, SqsSessionQueue)
        moto.attach(context.store.table.client)
        moto.attach(context.queue.client)
        assert not isinstance(context.tracker, ChangeFeed), "the timed poll is a GitHub project's"
        tracker = TimedTracker(context.tracker)
        credentials = TimedCredentials(context.credentials, tracker) if context.credentials is not None else None
        return replace(context, tracker=tracker, credentials=credentials)

    with settled_poller(timed) as settled, as_deployed(settled.poller):
        assert tracker is not None
        walls, services, github, without = [], [], [], []
        for _ in range(POLLS):
            moto.reset()
            tracker.seconds = 0.0
            started = time.perf_counter()
            result = settled.poll()
            wall = time.perf_counter() - started
            if result["result"] != "not_modified":
                raise RuntimeError(f"a settled poll answered {result['result']}")
            walls.append(wall)
            services.append(moto.wall_s)
            github.append(tracker.seconds)
            without.append(wall - moto.wall_s - tracker.seconds)
        calls = settled.counter.calls
        requests = settled.github.requests
    return {
        **spread("poll_ms", walls),
        **spread("poll_moto_ms", services),
        **spread("poll_github_loopback_ms", github),
        **spread("poll_without_services_ms", without),
        "poll_github_requests": len(requests) // POLLS,
        "poll_github_statuses": sorted({r.status for r in requests}),
        "poll_aws_requests": calls.total() // POLLS,
        "poll_aws_calls": {op: n // POLLS for op, n in sorted(calls.items())},
        "polls": POLLS,
    }


def measure_tick() -> dict[str, Any]:
    clock = FixedClock()
    moto = ServiceTime()
    # moto's Lambda without Docker: an Event invoke answers 202 and runs nothing.
    with moto_account(config={"lambda": {"use_docker": False}}) as aws:
        store = DynamoStore(aws.table_name, client=aws.dynamodb)
        for i in range(FLEET):
            project = f"p-{i:03d}"
            intake = {"enabled": True, "repo": f"acme/repo-{i:03d}", "labels": [LABEL]}
            store.create_project(project, ProjectConfig.model_validate({"trackerIntake": intake}), clock.now())
            store.save_poll_state(project, PollState(pages_read=1))  # polled before: one page
        os.environ.update(TABLE_NAME=aws.table_name, POLLER_FUNCTION_NAME="intake-poller")
        context = build_dispatch_context(DispatcherSettings.from_env(), token=TOKEN, clock=clock)
        assert isinstance(context.store, DynamoProjects) and isinstance(context.invoker, LambdaInvoker)
        counter = CallCounter(context.store.table.client, context.invoker.client)
        moto.attach(context.store.table.client)
        moto.attach(context.invoker.client)
        dispatcher = load_handler("dispatcher", fresh=True)
        dispatcher.use(context)

        walls, cpus, without = [], [], []
        with as_deployed(dispatcher):
            for tick in range(WARM_UP_TICKS + TICKS):
                clock.advance(60)
                moto.reset()
                counter.reset()
                event = {"time": clock.now().isoformat()}
                started, cpu = time.perf_counter(), time.process_time()
                summary = dispatcher.lambda_handler(event, LocalLambdaContext(timeout_s=60))
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu
                if summary["dispatched"] != FLEET or summary["error"]:
                    raise RuntimeError(f"a tick dispatched {summary['dispatched']} of {FLEET}: {summary['error']}")
                if tick >= WARM_UP_TICKS:
                    walls.append(wall)
                    cpus.append(cpu)
                    without.append(cpu - moto.cpu_s)
        calls = counter.calls
    return {
        **spread("tick_ms", walls),
        **spread("tick_cpu_ms", cpus),
        **spread("tick_without_services_cpu_ms", without),
        "tick_invokes": calls["Invoke"],
        "tick_dynamodb_requests": calls.total() - calls["Invoke"],
        "tick_aws_calls": dict(sorted(calls.items())),
        "ticks": TICKS,
        "fleet": FLEET,
        "concurrency": context.max_concurrency,
        "clock_step": str(timedelta(seconds=60)),
    }


def run() -> dict[str, Any]:
    figures = {**measure_poll(), **measure_tick()}
    figures["path"] = (
        f"poll: (a)'s settled poller ({PROJECT}), {POLLS} warm invocations; tick: dispatcher handler with "
        f"build_dispatch_context ports over {FLEET} projects polled before, moto's Lambda without Docker, "
        f"{TICKS} ticks after {WARM_UP_TICKS}; moto in-process, GitHub stand-in on loopback; INFO logs and "
        "metrics on, output discarded"
    )
    return figures
