"""ApiFunction: project CRUD, intake config and the session ledger (API Gateway REST, IAM auth)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from tracker_intake.api import ApiContext, build_api, resolve
from tracker_intake.settings import ApiSettings
from tracker_intake.tracing import traced
from tracker_intake.wiring import Ports, build_api_context

logger = Logger()

ports: Ports[ApiContext] = Ports(lambda: build_api_context(ApiSettings.from_env()))
use = ports.use  # tests and the local stack pass their own ports


app = build_api(ports)


@traced
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
