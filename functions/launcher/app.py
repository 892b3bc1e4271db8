"""LauncherFunction: each queued session request becomes one worker session (SQS batch consumer)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from tracker_intake.domain.acknowledge import AckOutcome, AckReport
from tracker_intake.domain.errors import AckDeferred, IntakeError
from tracker_intake.domain.launch import LaunchContext, LaunchReport, launch_session
from tracker_intake.domain.session import SessionRequest
from tracker_intake.observability import record_ack, record_launch
from tracker_intake.settings import LauncherSettings
from tracker_intake.tracing import traced
from tracker_intake.wiring import Ports, build_launch_context

# A write's worst case (connect 3 s, read 10 s, once more after a 401) and a margin.
WRITE_RESERVE = timedelta(seconds=15)
# How early a parked request comes back for its write slot: more than SQS's and Lambda's
# latency in giving it back, less than the acknowledgement's MAX_WAIT (5 s).
EARLY_FOR_SLOT = 2

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


def record_handler(record: SessionRequestRecord, lambda_context: LambdaContext | None = None) -> None:
    context = ports()
    request = record.body
    deliveries = int(record.attributes.ApproximateReceiveCount)
    redelivery = context.redelivery
    # A request parked while its acknowledgement waits: its launch was reported already.
    parked = redelivery is not None and redelivery.parked(record.attributes.MessageGroupId or "")
    try:
        launch_session(
            request,
            context,
            _unreported if parked else report,
            report_ack,
            last_delivery=deliveries >= context.max_receives,
            deadline=_deadline(context, lambda_context),
        )
    except AckDeferred as deferred:
        # The session is launched; only its acknowledgement waits.
        if redelivery is None:
            raise
        if not parked:
            report_ack(AckReport(AckOutcome.DEFERRED, request.project_id, request.issue_id, request.acknowledge))
            try:
                # Out of the project's message group (FIFO would hold the project's next launches
                # behind it until then): this message is done, the parked one waits alone.
                redelivery.park(request, deferred.until)
                logger.info("acknowledgement parked", extra={"issue_id": request.issue_id, "reason": str(deferred)})
                return
            except IntakeError as e:  # wait in the project's group, then
                logger.warning("could not park the acknowledgement", extra={"reason": str(e)})
        # Delivered again when it can be written, rather than after the visibility timeout:
        # EARLY_FOR_SLOT seconds early for a kept slot (the launcher waits out the rest; late, the
        # slot would be lost and another taken), no earlier than a retry's time.
        wait = (deferred.until - context.clock.now()).total_seconds()
        seconds = math.floor(wait) - EARLY_FOR_SLOT if deferred.at_slot else math.ceil(wait)
        try:
            redelivery.delay(record.receiptHandle, max(seconds, 0))
        except IntakeError as e:  # the visibility timeout brings it back all the same
            logger.warning("could not set the redelivery time", extra={"reason": str(e)})
        raise


def _deadline(context: LaunchContext, lambda_context: LambdaContext | None) -> datetime | None:
    """Past it, an acknowledgement must not wait for its slot: the invocation's end, less what a
    write and the records after it may take."""
    if lambda_context is None:
        return None
    remaining = timedelta(milliseconds=lambda_context.get_remaining_time_in_millis())
    return context.clock.now() + remaining - WRITE_RESERVE


def _unreported(result: LaunchReport) -> None:
    """A parked request's launch outcome (a duplicate of its launch): not counted again."""


@traced
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
