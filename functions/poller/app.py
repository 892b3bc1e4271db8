"""PollerFunction: one poll of one project, invoked asynchronously by the dispatcher."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tracker_intake.domain.poll import PollContext, PollResult, poll_project
from tracker_intake.observability import record_poll, record_poll_counts
from tracker_intake.settings import PollerSettings
from tracker_intake.tracing import traced
from tracker_intake.wiring import Ports, build_poll_context

logger = Logger()
metrics = Metrics()
# Stop claiming this long before the Lambda timeout, so no claim outlives its poller.
SAFETY_MARGIN = timedelta(seconds=5)


class PollRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    project_id: str = Field(alias="projectId", min_length=1, max_length=64)
    # The dispatcher's grant: GitHub requests this poll may make (absent: up to the page cap).
    max_requests: int | None = Field(default=None, alias="maxRequests", ge=1, le=5000)
    # Of the requests that fail in passing (a 502, a reset), how many may be sent again.
    max_retries: int | None = Field(default=None, alias="maxRetries", ge=0, le=10)


ports: Ports[PollContext] = Ports(lambda: build_poll_context(PollerSettings.from_env()))
use = ports.use  # tests and the local stack pass their own ports


@traced
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = PollRequest.model_validate(event)
    except ValidationError as e:
        logger.error("bad poll event", extra={"errors": e.errors(include_input=False)})
        return {"error": "the event needs a projectId"}
    logger.append_keys(project_id=request.project_id)
    deps = ports()
    remaining = timedelta(milliseconds=context.get_remaining_time_in_millis())
    deadline = deps.clock.now() + remaining - SAFETY_MARGIN
    outcome = poll_project(
        deps,
        request.project_id,
        deadline=deadline,
        max_requests=request.max_requests,
        max_retries=request.max_retries,
    )
    record_poll(metrics, outcome)
    record_poll_counts(metrics, outcome)
    summary = {
        "projectId": outcome.project_id,
        "result": outcome.result.value,
        "pages": outcome.pages,
        "pagesNotModified": outcome.pages_not_modified,
        "retries": outcome.retries,
        "writeChecks": outcome.write_checks,
        "membersWithoutWrite": outcome.members_without_write,
        "writesUnchecked": outcome.writes_unchecked,
        "newSessions": outcome.new_sessions,
        "claimsRecovered": outcome.claims_recovered,
        "heldBack": outcome.held_back,
        "backlogRecorded": outcome.backlog_recorded,
        "backlogDone": outcome.backlog_done,
        "truncated": outcome.truncated,
        "errorKind": outcome.error_kind,
        "error": outcome.error,
        "transient": outcome.transient,
        "backoffUntil": outcome.backoff_until.isoformat() if outcome.backoff_until else None,
    }
    # A steady-state poll logs at DEBUG: CloudWatch Logs ingestion is the largest cost at scale.
    log = logger.debug if outcome.result is PollResult.NOT_MODIFIED else logger.info
    log("poll finished", extra=summary)
    return summary
