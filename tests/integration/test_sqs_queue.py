"""The launch queue: SqsSessionQueue on moto and MemoryQueue behave alike (FIFO group and dedup ids)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from fakes import MemoryQueue

from tracker_intake.adapters.sqs import SqsSessionQueue
from tracker_intake.domain.errors import QueueUnavailable
from tracker_intake.domain.issue import Issue
from tracker_intake.domain.session import SessionRequest

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def request(number: int = 7, project_id: str = "app", generation: int = 1) -> SessionRequest:
    issue = Issue("Acme", "App", number, f"Issue {number}", f"https://github.com/Acme/App/issues/{number}")
    return SessionRequest.for_issue(project_id, issue, NOW, generation)


class Received:
    """What a consumer of the queue gets: bodies, group ids and deduplication ids."""

    def __init__(self, queue: MemoryQueue | SqsSessionQueue, aws: dict[str, Any] | None) -> None:
        self.queue = queue
        self.aws = aws

    def messages(self) -> list[tuple[dict[str, Any], str, str]]:
        if isinstance(self.queue, MemoryQueue):
            return [(json.loads(m.body), m.group_id, m.deduplication_id) for m in self.queue.sent]
        assert self.aws is not None
        got = self.aws["sqs"].receive_message(
            QueueUrl=self.aws["queue_url"],
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["MessageGroupId", "MessageDeduplicationId"],
        )
        return [
            (
                json.loads(m["Body"]),
                m["Attributes"]["MessageGroupId"],
                m["Attributes"]["MessageDeduplicationId"],
            )
            for m in got.get("Messages", [])
        ]


@pytest.fixture(params=["memory", "sqs"])
def received(request: pytest.FixtureRequest) -> Iterator[Received]:
    if request.param == "memory":
        yield Received(MemoryQueue(), None)
    else:
        aws = request.getfixturevalue("aws")
        yield Received(SqsSessionQueue(aws["queue_url"], aws["sqs"]), aws)


def test_a_request_goes_out_grouped_by_project_and_deduplicated_by_issue(received: Received) -> None:
    # GIVEN a session request for github:Acme/App#7
    sent = request()
    # WHEN it is sent
    received.queue.send(sent)
    # THEN the body is the request's JSON, the group is the project, the dedup id sha256 of the lower-cased id
    ((body, group, dedup),) = received.messages()
    assert body == json.loads(sent.to_json())
    assert group == "app"
    assert dedup == hashlib.sha256(b"github:acme/app#7").hexdigest()


def test_sending_the_same_issue_twice_leaves_one_message(received: Received) -> None:
    # GIVEN a request already sent (a poller crashed before marking the claim enqueued)
    received.queue.send(request())
    # WHEN the next poll re-sends it
    received.queue.send(request())
    # THEN the queue holds one message
    assert len(received.messages()) == 1


def test_a_new_generation_of_a_released_issue_is_not_deduplicated(received: Received) -> None:
    # GIVEN an issue's first session request
    received.queue.send(request())
    # WHEN it is released and taken again (generation 2) within the dedup window
    received.queue.send(request(generation=2))
    # THEN both requests are on the queue
    assert len(received.messages()) == 2


def test_a_queue_that_does_not_exist_raises_queue_unavailable(aws: dict[str, Any]) -> None:
    # GIVEN a queue URL nobody created
    queue = SqsSessionQueue(aws["queue_url"].replace("intake-launch", "gone"), aws["sqs"])
    # WHEN a request is sent THEN QueueUnavailable, chained to the SDK error
    with pytest.raises(QueueUnavailable) as raised:
        queue.send(request())
    assert raised.value.__cause__ is not None


def test_a_throttled_send_raises_queue_unavailable() -> None:
    # GIVEN SQS answering with a throttling error
    client = boto3.client("sqs", region_name="us-east-1")
    queue = SqsSessionQueue("https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo", client)
    with Stubber(client) as stub:
        stub.add_client_error("send_message", service_error_code="RequestThrottled", http_status_code=403)
        # WHEN a request is sent THEN QueueUnavailable
        with pytest.raises(QueueUnavailable):
            queue.send(request())


def test_the_memory_queue_can_fail_after_accepting_a_message() -> None:
    # GIVEN a fake queue told to lose the response of the next send
    queue = MemoryQueue()
    queue.fail_next(after_send=True)
    # WHEN a request is sent
    with pytest.raises(QueueUnavailable):
        queue.send(request())
    # THEN the caller saw an error but the message is on the queue, as after a lost SQS response
    assert [m.issue_id for m in queue.messages] == ["github:Acme/App#7"]
