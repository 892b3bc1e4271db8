"""Faults injected on demand: what a client meets when Jira, or the edge before it, fails.

Atlassian's rate-limiting page says "Some transient 5XX errors are accompanied by a Retry-After
header. For example, a 503 response may be returned when a resource limit has been reached"
(https://developer.atlassian.com/cloud/jira/platform/rate-limiting/). The stand-in answers a 500
with Jira's error collection, a 503 with that `Retry-After` (`retry_after`, default 5 seconds; the
page gives no figure), a 502 or 504 with an HTML page as the edge proxy would, and a reset
connection with no answer at all (`requests` raises `ConnectionError`). A faulted request spends no
rate limit and carries no rate-limit headers.
"""

from __future__ import annotations

from dataclasses import dataclass

from .wire import Response, error_response

FAULT_STATUSES = (500, 502, 503, 504)


@dataclass
class _Fault:
    kind: str  # "status" or "reset"
    status: int = 0


class Faults:
    """The faults waiting for the next requests, first injected first fired."""

    def __init__(self, retry_after: int = 5) -> None:
        self._queue: list[_Fault] = []
        self.retry_after = retry_after

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        if status not in FAULT_STATUSES:
            raise ValueError(f"status must be one of {FAULT_STATUSES}")
        self._queue.extend(_Fault("status", status) for _ in range(n))

    def reset_next(self, n: int = 1) -> None:
        self._queue.extend(_Fault("reset") for _ in range(n))

    def clear(self) -> None:
        self._queue.clear()

    def take(self) -> Response | None:
        if not self._queue:
            return None
        fault = self._queue.pop(0)
        if fault.kind == "reset":
            return Response(0, reset=True)
        return self._answer(fault.status)

    def _answer(self, status: int) -> Response:
        if status == 500:
            return error_response(500, ["Internal server error"])
        if status == 503:
            response = error_response(503, ["Service Unavailable"])
            response.headers["Retry-After"] = str(self.retry_after)
            return response
        reason = {502: "Bad Gateway", 504: "Gateway Timeout"}[status]
        page = f"<html><head><title>{status} {reason}</title></head><body><h1>{status} {reason}</h1></body></html>"
        return Response(status, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
