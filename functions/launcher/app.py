"""LauncherFunction: each queued session request becomes one worker session (SQS batch consumer)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from tracker_intake.domain.acknowledge import AckReport
from tracker_intake.domain.errors import IntakeError
from tracker_intake.domain.launch import (
    LaunchContext,
    LaunchReport,
    LaunchResult,
    Redeliver,
    Retry,
    delivery_from,
    launch_session,
)
from tracker_intake.domain.ports import Redelivery
from tracker_intake.domain.session import SessionRequest
from tracker_intake.observability import record_ack, record_launch
from tracker_intake.settings import LauncherSettings
from tracker_intake.tracing import traced
from tracker_intake.wiring import Ports, build_launch_context

logger = Logger()
metrics = Metrics()


class SessionRequestRecord(SqsRecordModel):
    """An SQS record whose body is a session request: parsed here, at the edge.

    A body that is not one fails validation, so its record is reported failed and, after the
    queue's retries, ends in the dead-letter queue, where an operator can read it.
    """

    body: Json[SessionRequest]  # type: ignore[assignment]


# Failed records are reported, never raised: a failed message returns to the queue on its own.
# The queue is FIFO (grouped by project), but order within a group does not matter here: each
# message is one issue's session, and the claim's conditional transitions make each launch
# independent and idempotent. So the plain BatchProcessor goes on past a failed record rather
# than failing the rest of its group (SqsFifoPartialProcessor would), and one backend error does
# not hold up the other issues of a project.
processor = BatchProcessor(event_type=EventType.SQS, model=SessionRequestRecord, raise_on_entire_batch_failure=False)

ports: Ports[LaunchContext] = Ports(lambda: build_launch_context(LauncherSettings.from_env()))
use = ports.use  # tests and the local stack pass their own ports


def report(result: LaunchReport) -> None:
    record_launch(metrics, logger, result)


def report_ack(result: AckReport) -> None:
    record_ack(metrics, logger, result)


class AcknowledgementWaits(Exception):
    """Fails a launched request's record: SQS delivers it again when its acknowledgement can be written."""


def record_handler(record: SessionRequestRecord, lambda_context: LambdaContext | None = None) -> None:
    context = ports()
    attributes = record.attributes
    delivery = delivery_from(
        context,
        receive_count=int(attributes.ApproximateReceiveCount),
        message_group=attributes.MessageGroupId or "",
        time_left=_time_left(lambda_context),
    )
    result = launch_session(record.body, context, delivery)
    _report(result)
    if isinstance(result, Retry):
        raise result.error
    if isinstance(result, Redeliver):
        _redeliver(result, record, context.redelivery)


def _report(result: LaunchResult) -> None:
    if result.launch is not None:
        report(result.launch)
    if result.ack is not None:
        report_ack(result.ack)


def _redeliver(result: Redeliver, record: SessionRequestRecord, redelivery: Redelivery | None) -> None:
    """Park the request (this message is then done), or fail this message, hidden until its time."""
    if result.park and redelivery is not None:
        try:
            # Out of the project's message group (FIFO would hold the project's next launches
            # behind it until then): this message is done, the parked one waits alone.
            redelivery.park(record.body, result.deferred.until)
            logger.info(
                "acknowledgement parked", extra={"issue_id": record.body.issue_id, "reason": result.deferred.reason}
            )
            return
        except IntakeError as e:  # wait in the project's group, then
            logger.warning("could not park the acknowledgement", extra={"reason": str(e)})
    if result.hidden_for is not None and redelivery is not None:
        try:
            redelivery.delay(record.receiptHandle, result.hidden_for)
        except IntakeError as e:  # the visibility timeout brings it back all the same
            logger.warning("could not set the redelivery time", extra={"reason": str(e)})
    raise AcknowledgementWaits(result.deferred.reason)


def _time_left(lambda_context: LambdaContext | None) -> timedelta | None:
    if lambda_context is None:
        return None
    return timedelta(milliseconds=lambda_context.get_remaining_time_in_millis())


@traced
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
