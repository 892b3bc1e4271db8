"""Faults injected on demand: what a client meets when Linear, or the front end before it, fails.

Linear's GraphQL page asks clients to "Monitor HTTP status codes for server errors (5xx)"
(https://linear.app/developers/graphql, "Error handling"); it does not show their bodies. The
stand-in answers a 500 in GraphQL's error format, a 502 or 503 with an HTML page as a proxy
would, and a reset connection with no answer at all (`requests` raises `ConnectionError`).
A faulted request spends no rate limit and carries no rate-limit headers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .wire import Response

FAULT_STATUSES = (500, 502, 503, 504)


@dataclass
class _Fault:
    kind: str  # "status" or "reset"
    status: int = 0


class Faults:
    """The faults waiting for the next requests, first injected first fired."""

    def __init__(self) -> None:
        self._queue: list[_Fault] = []

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """Answer the next `n` requests (GraphQL or OAuth) with `status`."""
        if status not in FAULT_STATUSES:
            raise ValueError(f"status must be one of {FAULT_STATUSES}")
        self._queue.extend(_Fault("status", status) for _ in range(n))

    def reset_next(self, n: int = 1) -> None:
        """Reset the connection of the next `n` requests without answering."""
        self._queue.extend(_Fault("reset") for _ in range(n))

    def clear(self) -> None:
        self._queue.clear()

    def take(self) -> Response | None:
        if not self._queue:
            return None
        fault = self._queue.pop(0)
        if fault.kind == "reset":
            return Response(0, reset=True)
        return _status_answer(fault.status)


def _status_answer(status: int) -> Response:
    if status == 500:
        body = {"errors": [{"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}
        return Response(status, json.dumps(body).encode(), {"Content-Type": "application/json; charset=utf-8"})
    reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}[status]
    page = f"<html><head><title>{status} {reason}</title></head><body><h1>{status} {reason}</h1></body></html>"
    return Response(status, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
