"""(c) Dispatcher fan-out: one tick over 10,000 due projects, each invoke taking 20 ms.

The product paces every credential (600 requests a minute by default), so 10,000 projects on
one credential take 17 ticks to poll once; a fan-out of them all in one tick needs them spread
over enough credentials. Here: 20 installations of a GitHub App, 500 one-page projects each
(polled before, so each poll is granted one request). The target is a count (every project
dispatched by the one tick); the times are reported, not targeted, as they depend on the machine.

The real dispatcher handler (functions/dispatcher/app.py) hands each project to an invoker
that sleeps 20 ms, standing in for Lambda's asynchronous Invoke, with the template's
concurrency (the DISPATCH_CONCURRENCY default). Two ticks are timed:

- `wall_s`: the fan-out. The store is the real DynamoStore on moto, but the sparse index is
  served from the records the adapter read from moto just before (`index_read_s`): moto
  serialises a 1 MB Query page in seconds where DynamoDB takes tens of milliseconds, and that
  would be moto's time, not the dispatcher's.
- `end_to_end_wall_s`: the same tick with the index read from moto during the tick.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from intake_dev.clock import FixedClock
from intake_dev.functions import LocalLambdaContext, load_handler
from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.adapters.github_token import token_key
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.dispatch import DispatchContext
from tracker_intake.domain.ports import Resolved
from tracker_intake.domain.records import PollState, ProjectRecord
from tracker_intake.settings import DispatcherSettings

from .common import LABEL, TOKEN, moto_account

PROJECTS = 10_000
INSTALLATIONS = 20
INVOKE_SECONDS = 0.020
TARGETS = {"dispatched_in_one_tick": PROJECTS, "end_to_end_dispatched_in_one_tick": PROJECTS}


class Installations:
    """`Credentials` for the dispatcher: each project's budget is one of 20 app installations
    (by its owner), as `Credentials.key_for` names them; the dispatcher never resolves a token."""

    def key_for(self, record: ProjectRecord) -> str:
        intake = record.config.tracker_intake
        owner = (intake.repo or "org0/").split("/")[0] if intake is not None else "org0"
        return f"app-1-{int(owner.removeprefix('org')) % INSTALLATIONS}"

    def for_project(self, record: ProjectRecord, *, remember: bool = True) -> Resolved:
        raise AssertionError("the dispatcher only asks for keys")

    def forget_installation(self, record: ProjectRecord) -> None:
        raise AssertionError("the dispatcher only asks for keys")


class IndexInMemory(DynamoStore):
    """The DynamoStore, with the sparse index served from records read from it beforehand."""

    def __init__(self, store: DynamoStore, records: list[ProjectRecord]) -> None:
        super().__init__(store.table_name, client=store.client)
        self.records = records

    def intake_enabled(self) -> Iterator[ProjectRecord]:
        return iter(self.records)


class SlowInvoker:
    """`Invoker` that takes 20 ms per call, as an asynchronous Lambda Invoke might."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.invoked = 0
        self._lock = threading.Lock()

    def invoke_poller(self, project_id: str, max_requests: int | None = None, max_retries: int | None = None) -> None:
        time.sleep(self.seconds)
        with self._lock:
            self.invoked += 1


def run() -> dict[str, Any]:
    concurrency = DispatcherSettings.model_fields["max_concurrency"].default
    with moto_account() as aws:
        store = DynamoStore(aws.table_name, client=aws.dynamodb)
        now = datetime.now(UTC)
        for i in range(PROJECTS):
            intake = {"enabled": True, "repo": f"org{i % 100}/repo-{i:05d}", "labels": [LABEL]}
            store.create_project(f"p-{i:05d}", ProjectConfig.model_validate({"trackerIntake": intake}), now)
            store.save_poll_state(f"p-{i:05d}", PollState(pages_read=1, primary_costs=(0,)))  # polled before

        started = time.perf_counter()
        records = list(store.intake_enabled())
        index_read_s = time.perf_counter() - started

        clock = FixedClock(now)

        def tick(store: DynamoStore) -> tuple[float, dict[str, Any], int]:
            clock.advance(60)  # a minute after the last: each credential's minute is whole again
            invoker = SlowInvoker(INVOKE_SECONDS)
            dispatcher = load_handler("dispatcher", fresh=True)
            dispatcher.use(
                DispatchContext(
                    store, store, invoker, clock, token_key(TOKEN), concurrency, credentials=Installations()
                )
            )
            started = time.perf_counter()
            summary: dict[str, Any] = dispatcher.lambda_handler({}, LocalLambdaContext(timeout_s=60))
            return time.perf_counter() - started, summary, invoker.invoked

        wall_s, summary, invoked = tick(IndexInMemory(store, records))
        end_to_end_s, end_to_end, end_to_end_invoked = tick(store)
    return {
        "dispatched_in_one_tick": min(summary["dispatched"], invoked),
        "end_to_end_dispatched_in_one_tick": min(end_to_end["dispatched"], end_to_end_invoked),
        "deferred": summary["deferred"] + end_to_end["deferred"],
        "projects": len(records),
        "credentials": INSTALLATIONS,
        "wall_s": round(wall_s, 2),
        "invokes_per_s": round(PROJECTS / wall_s, 1),
        "index_read_s": round(index_read_s, 2),
        "end_to_end_wall_s": round(end_to_end_s, 2),
        "invoke_ms": INVOKE_SECONDS * 1000,
        "concurrency": concurrency,
        "floor_s": round(PROJECTS * INVOKE_SECONDS / concurrency, 2),
        "path": "dispatcher handler (functions/dispatcher/app.py), DynamoStore on moto in-process, a 20 ms "
        "invoker; wall_s with the index pre-read from moto, end_to_end_wall_s with it read during the tick",
    }
