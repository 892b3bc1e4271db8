"""DispatcherFunction: every tick, one asynchronous poll per intake-enabled project."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from tracker_intake.domain.dispatch import dispatch
from tracker_intake.observability import record_dispatch
from tracker_intake.settings import DispatcherSettings
from tracker_intake.wiring import DispatchContext, build_dispatch_context

logger = Logger()
metrics = Metrics()

_context: DispatchContext | None = None


def use(context: DispatchContext | None) -> None:
    """Replace the ports (tests and the local stack); None rebuilds them from the environment."""
    global _context
    _context = context


def _ports() -> DispatchContext:
    global _context
    if _context is None:
        _context = build_dispatch_context(DispatcherSettings.from_env())
    return _context


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ports = _ports()
    summary = dispatch(ports.store, ports.budgets, ports.invoker, ports.clock, ports.token_key, ports.max_concurrency)
    record_dispatch(metrics, summary)
    logger.info("tick dispatched", extra=summary.as_dict())
    return summary.as_dict()
