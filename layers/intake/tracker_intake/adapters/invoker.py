"""How the dispatcher starts a poll: Lambda's asynchronous invoke of the poller function."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..domain.errors import InvokeFailed

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

_ACCEPTED = 202  # what an InvocationType=Event call answers when Lambda queued the event
_CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=5, retries={"mode": "standard", "max_attempts": 2})


def poller_event(project_id: str, max_requests: int | None = None, max_retries: int | None = None) -> dict[str, Any]:
    """The poller's event: the project, and the dispatcher's grant of GitHub requests and retries."""
    event: dict[str, Any] = {"projectId": project_id}
    if max_requests is not None:
        event["maxRequests"] = max_requests
    if max_retries is not None:
        event["maxRetries"] = max_retries
    return event


def poller_payload(project_id: str, max_requests: int | None = None, max_retries: int | None = None) -> bytes:
    return json.dumps(poller_event(project_id, max_requests, max_retries)).encode()


class LambdaInvoker:
    """`Invoker` that queues one asynchronous PollerFunction invocation per project."""

    def __init__(self, function_name: str, client: LambdaClient | None = None) -> None:
        self.function_name = function_name
        self.client: LambdaClient = client or boto3.client("lambda", config=_CLIENT_CONFIG)

    def invoke_poller(self, project_id: str, max_requests: int | None = None, max_retries: int | None = None) -> None:
        try:
            response = self.client.invoke(
                FunctionName=self.function_name,
                InvocationType="Event",
                Payload=poller_payload(project_id, max_requests, max_retries),
            )
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "Unknown")
            raise InvokeFailed(f"invoking the poller for {project_id!r} failed: {code}") from e
        except BotoCoreError as e:
            raise InvokeFailed(f"invoking the poller for {project_id!r} failed: {type(e).__name__}") from e
        status = response.get("StatusCode")
        if status != _ACCEPTED:
            raise InvokeFailed(f"invoking the poller for {project_id!r} answered {status}, not 202")
