"""What moto in-process lacks to behave like the services: per-request atomicity, FIFO dedup.

Shared by the tests, the reliability suite and the local stack, so there is one of each.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

# SQS FIFO drops a message whose deduplication id it accepted within the last five minutes.
FIFO_DEDUP_WINDOW = timedelta(minutes=5)

# moto answers each call in the calling thread, and its DynamoDB backend takes no lock: two
# threads can both pass `attribute_not_exists(pk)` on the same item. DynamoDB itself applies each
# conditional write atomically. `atomic_calls` gives back that guarantee and nothing more
# (callers still interleave between calls): one lock around every request of the client.
_MOTO_LOCK = threading.RLock()


def atomic_calls(client: Any, lock: threading.RLock | None = None) -> Any:
    """Make each request through `client` atomic (under `lock`, default one process-wide lock).

    Wraps the whole request, hooks included, so an exception raised by a hook (a simulated crash)
    still releases the lock.
    """
    held = lock or _MOTO_LOCK
    send = client._make_api_call
    if getattr(send, "atomic", False):
        return client

    def one_at_a_time(*args: Any, **kwargs: Any) -> Any:
        with held:
            return send(*args, **kwargs)

    one_at_a_time.atomic = True  # type: ignore[attr-defined]
    setattr(client, "_make_api_call", one_at_a_time)  # noqa: B010
    return client


def sqs_record(message: Mapping[str, Any], queue_url: str, region: str | None = None) -> dict[str, Any]:
    """The record Lambda's SQS integration hands the launcher for a received `message`."""
    region = region or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    name = queue_url.rsplit("/", 1)[-1]
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", "0"),
            "MessageGroupId": attributes.get("MessageGroupId", ""),
            "MessageDeduplicationId": attributes.get("MessageDeduplicationId", ""),
            "SequenceNumber": attributes.get("SequenceNumber", "0"),
            "SenderId": attributes.get("SenderId", "poller"),
            "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", "0"),
        },
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{region}:123456789012:{name}",
        "awsRegion": region,
    }


def redeliver_in_flight(region: str | None = None) -> int:
    """Make every message the embedded SQS holds in flight visible now; how many were.

    For a restart with kept state: the consumer that received them is gone, so no one will
    delete them or change their visibility, and SQS would hide them (and, on a FIFO queue, every
    later message of their group) until their visibility timeout ends. The API cannot do this:
    `ChangeMessageVisibility` needs a receipt handle, and moto draws a new random one at every
    receive, so the old process's handles (and the replay's, whose answers nobody reads) are
    not to be had. moto's backend holds the messages themselves; this reaches into it.
    """
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[DEFAULT_ACCOUNT_ID][region or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")]
    released = 0
    for queue in backend.queues.values():
        for message in queue._messages:
            if not message.visible:
                message.visible_at = 0.0
                released += 1
        queue.pending_messages.clear()  # what holds a FIFO group back
    return released
