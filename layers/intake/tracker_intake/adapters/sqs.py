"""The launch queue (SQS FIFO): one group per project, deduplicated on the issue's canonical id."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..domain.errors import QueueUnavailable
from ..domain.issue import dedupe_key, deduplication_id
from ..domain.session import SessionRequest

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_VISIBILITY_SECONDS = 43_200
# The message group of a request parked while its acknowledgement waits: its own, per issue and
# generation. A project id never holds '#', so no project's group can be taken for one.
PARKED_GROUP_PREFIX = "ack#"
_CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})


class SqsSessionQueue:
    """`SessionQueue` on SQS FIFO. A re-send within five minutes (after a crash) is dropped by SQS."""

    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self.queue_url = queue_url
        self.client: SQSClient = client or boto3.client("sqs", config=_CLIENT_CONFIG)

    def send(self, request: SessionRequest) -> None:
        # Per-project ordering; projects never hold each other up.
        self._send(request, request.project_id, deduplication_id(request.issue_id, request.generation))

    def park(self, request: SessionRequest, until: datetime) -> None:
        """Send the request again in a message group of its own, so that waiting for its
        acknowledgement (until `until`) holds up none of its project's launches.

        Deduplicated on the issue, its generation and `until`: two deliveries that park the same
        wait send one message.
        """
        issue = dedupe_key(request.issue_id)
        group = f"{PARKED_GROUP_PREFIX}{hashlib.sha256(issue.encode()).hexdigest()[:40]}#{request.generation}"
        dedup = hashlib.sha256(f"{issue}|{request.generation}|{until.isoformat()}".encode()).hexdigest()
        self._send(request, group, "ack-" + dedup[:60])

    @staticmethod
    def parked(message_group_id: str) -> bool:
        """Whether a message's group is a parked acknowledgement's (not a project's)."""
        return message_group_id.startswith(PARKED_GROUP_PREFIX)

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """Deliver a received message again in `seconds` (0 to 43,200: SQS's bounds), not after
        the queue's visibility timeout."""
        with _translated("change visibility"):
            self.client.change_message_visibility(
                QueueUrl=self.queue_url,
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=max(0, min(seconds, MAX_VISIBILITY_SECONDS)),
            )

    def _send(self, request: SessionRequest, group: str, deduplication: str) -> None:
        with _translated("send"):
            self.client.send_message(
                QueueUrl=self.queue_url,
                MessageBody=request.to_json(),
                MessageGroupId=group,
                MessageDeduplicationId=deduplication,
            )


@contextmanager
def _translated(action: str) -> Iterator[None]:
    """An SQS failure leaves as QueueUnavailable, naming the action and AWS's error code."""
    try:
        yield
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "Unknown")
        raise QueueUnavailable(f"SQS {action} failed: {code}") from e
    except BotoCoreError as e:
        raise QueueUnavailable(f"SQS {action} failed: {type(e).__name__}") from e
