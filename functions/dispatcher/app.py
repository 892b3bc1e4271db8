"""DispatcherFunction: every tick, one asynchronous poll per intake-enabled project."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from tracker_intake.domain.dispatch import DispatchContext, dispatch
from tracker_intake.observability import record_dispatch
from tracker_intake.settings import DispatcherSettings
from tracker_intake.tracing import traced
from tracker_intake.wiring import Ports, build_dispatch_context

logger = Logger()


def scheduled_time(event: dict[str, Any]) -> datetime | None:
    """The schedule's own time of this tick (EventBridge's `time`), if the event has one."""
    value = event.get("time") if isinstance(event, dict) else None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


metrics = Metrics()

ports: Ports[DispatchContext] = Ports(lambda: build_dispatch_context(DispatcherSettings.from_env()))
use = ports.use  # tests and the local stack pass their own ports


@traced
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = ports()
    summary = dispatch(deps, scheduled=scheduled_time(event))
    record_dispatch(metrics, summary)
    logger.info("tick dispatched", extra=summary.as_dict())
    return summary.as_dict()
