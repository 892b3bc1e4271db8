"""Starting a poll: the Lambda async invoke and the in-process invoker, each failing as InvokeFailed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from intake_dev.invoker import InProcessInvoker
from tracker_intake.adapters.invoker import LambdaInvoker, poller_payload
from tracker_intake.domain.errors import InvokeFailed, StoreUnavailable


def test_the_lambda_invoker_queues_an_async_invoke_with_the_project_id() -> None:
    # GIVEN Lambda accepting an Event invocation of the poller with {"projectId": "app"}
    client = boto3.client("lambda", region_name="us-east-1")
    invoker = LambdaInvoker("intake-poller", client)
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {"FunctionName": "intake-poller", "InvocationType": "Event", "Payload": b'{"projectId": "app"}'},
        )
        # WHEN the dispatcher invokes the poller for the project
        invoker.invoke_poller("app")
        # THEN exactly that call was made
        stub.assert_no_pending_responses()


def test_invoking_a_function_that_does_not_exist_raises_invoke_failed(aws: dict[str, Any]) -> None:
    # GIVEN moto with no poller function deployed
    invoker = LambdaInvoker("no-such-poller", boto3.client("lambda"))
    # WHEN a poll is invoked THEN InvokeFailed, chained to the SDK error
    with pytest.raises(InvokeFailed) as raised:
        invoker.invoke_poller("app")
    assert raised.value.__cause__ is not None


def test_an_invoke_answered_with_anything_but_202_raises_invoke_failed() -> None:
    # GIVEN Lambda answering an Event invocation with 200 (it ran synchronously, not queued)
    client = boto3.client("lambda", region_name="us-east-1")
    invoker = LambdaInvoker("intake-poller", client)
    with Stubber(client) as stub:
        stub.add_response("invoke", {"StatusCode": 200})
        # WHEN a poll is invoked THEN InvokeFailed
        with pytest.raises(InvokeFailed):
            invoker.invoke_poller("app")


def test_a_throttled_invoke_raises_invoke_failed() -> None:
    # GIVEN Lambda refusing the invocation (too many requests)
    client = boto3.client("lambda", region_name="us-east-1")
    invoker = LambdaInvoker("intake-poller", client)
    with Stubber(client) as stub:
        stub.add_client_error("invoke", service_error_code="TooManyRequestsException", http_status_code=429)
        # WHEN a poll is invoked THEN InvokeFailed
        with pytest.raises(InvokeFailed):
            invoker.invoke_poller("app")


def test_the_in_process_invoker_runs_the_poll_now_with_the_pollers_event() -> None:
    # GIVEN an in-process invoker around a poll function
    polled: list[dict[str, Any]] = []
    invoker = InProcessInvoker(polled.append)
    # WHEN two polls are invoked, one with a grant of requests
    invoker.invoke_poller("app")
    invoker.invoke_poller("other", 3)
    # THEN both ran, synchronously, in order, each with the event the poller handler reads
    assert polled == [{"projectId": "app"}, {"projectId": "other", "maxRequests": 3}]
    assert invoker.invoked == ["app", "other"]


def test_a_poll_that_raises_becomes_invoke_failed_in_process() -> None:
    # GIVEN a poll function that fails
    def poll(event: dict[str, Any]) -> None:
        raise StoreUnavailable(f"table down while polling {event['projectId']}")

    invoker = InProcessInvoker(poll)
    # WHEN it is invoked THEN the dispatcher sees InvokeFailed, chained to the poll's error
    with pytest.raises(InvokeFailed) as raised:
        invoker.invoke_poller("app")
    assert isinstance(raised.value.__cause__, StoreUnavailable)


def test_the_payload_is_the_json_the_poller_handler_reads() -> None:
    # GIVEN the poller's sample invoke event (the one `sam local invoke` uses)
    sample = Path(__file__).resolve().parents[2] / "events" / "poller.json"
    # WHEN the invoker builds a payload for the same project THEN it has the same shape
    expected = json.loads(sample.read_text())
    assert json.loads(poller_payload(expected["projectId"])) == expected
