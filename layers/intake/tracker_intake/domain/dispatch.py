"""One tick: every intake-enabled project not in backoff gets one poll, unless the token is spent."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from .errors import IntakeError
from .ports import Clock, Invoker, ProjectStore, TokenBudgets

log = logging.getLogger(__name__)


@dataclass
class DispatchSummary:
    dispatched: int = 0
    skipped_backoff: int = 0
    skipped_budget: int = 0
    failed_invoke: int = 0
    failed_projects: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "dispatched": self.dispatched,
            "skippedBackoff": self.skipped_backoff,
            "skippedBudget": self.skipped_budget,
            "failedInvoke": self.failed_invoke,
            "failedProjects": self.failed_projects[:50],
            "error": self.error,
        }


def dispatch(
    store: ProjectStore,
    budgets: TokenBudgets,
    invoker: Invoker,
    clock: Clock,
    token_key: str,
    max_concurrency: int = 32,
) -> DispatchSummary:
    """Read the sparse index afresh (config changes apply on the next tick) and fan out."""
    summary = DispatchSummary()
    lock = threading.Lock()
    now = clock.now()

    def invoke(project_id: str) -> None:
        try:
            invoker.invoke_poller(project_id)
        except IntakeError as e:
            log.warning("invoke failed", extra={"project_id": project_id, "error_kind": e.kind})
            with lock:
                summary.failed_invoke += 1
                summary.failed_projects.append(project_id)
        else:
            with lock:
                summary.dispatched += 1

    try:
        budget = budgets.get_budget(token_key)
        spent = budget is not None and budget.exhausted(now)
        with ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="dispatch") as pool:
            pending: list[Future[None]] = []
            for record in store.intake_enabled():
                if spent:
                    summary.skipped_budget += 1
                elif record.poll.backoff_until is not None and record.poll.backoff_until > now:
                    summary.skipped_backoff += 1
                else:
                    pending.append(pool.submit(invoke, record.project_id))
            for future in pending:
                future.result()
    except IntakeError as e:  # the index could not be read: this tick does nothing, the next retries
        summary.error = f"{e.kind}: {e}"
        log.error("dispatch failed", extra={"error_kind": e.kind})
    return summary
