"""The `Invoker` port run in this process: the local stack's and the tests' stand-in for Lambda Invoke."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tracker_intake.adapters.invoker import poller_event
from tracker_intake.domain.errors import InvokeFailed


class InProcessInvoker:
    """`Invoker` that runs the poll right here, synchronously (tests and the local stack).

    Whatever the poll raises becomes InvokeFailed, as a failed async invoke would: the dispatcher
    counts it and goes on with the other projects.
    """

    def __init__(self, poll: Callable[[dict[str, Any]], object]) -> None:
        self.poll = poll  # takes the poller's event, as the handler does
        self.invoked: list[str] = []

    def invoke_poller(self, project_id: str, max_requests: int | None = None, max_retries: int | None = None) -> None:
        self.invoked.append(project_id)
        try:
            self.poll(poller_event(project_id, max_requests, max_retries))
        except Exception as e:
            raise InvokeFailed(f"poll of {project_id!r} raised {type(e).__name__}: {e}") from e
