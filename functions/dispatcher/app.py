"""DispatcherFunction: every tick, one asynchronous poll per intake-enabled project."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from tracker_intake.domain.dispatch import dispatch
from tracker_intake.observability import record_dispatch
from tracker_intake.settings import DispatcherSettings
from tracker_intake.wiring import DispatchContext, Ports, build_dispatch_context

logger = Logger()
metrics = Metrics()

ports: Ports[DispatchContext] = Ports(lambda: build_dispatch_context(DispatcherSettings.from_env()))
use = ports.use  # tests and the local stack pass their own ports


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = ports()
    summary = dispatch(deps)
    record_dispatch(metrics, summary)
    logger.info("tick dispatched", extra=summary.as_dict())
    return summary.as_dict()
