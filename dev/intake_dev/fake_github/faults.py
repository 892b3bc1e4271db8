"""Faults injected on demand: GitHub's refusals, its front end's blips, answers it should never give."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from .base import _StandIn
from .limits import SECONDARY_MESSAGE, _Bucket
from .wire import DOCS, _int, _json, _json_type, _not_found, _Response

if TYPE_CHECKING:
    from .repos import FakeRepo

FAULTS = (
    "primary_rate_limit",  # 403 (or status=429), x-ratelimit-remaining: 0; reset_in=seconds
    "secondary_rate_limit_seconds",  # 403 (or status=429), retry-after: <seconds=60>
    "secondary_rate_limit_date",  # 403 (or status=429), retry-after: <HTTP-date seconds ahead>
    "secondary_rate_limit_message",  # 403 naming the secondary limit, no retry-after
    "unauthorized",  # 401 Bad credentials
    "forbidden",  # 403 without any rate-limit sign
    "not_found",  # 404
    "gone",  # 410
    "server_error",  # 500
    "bad_gateway",  # 502
    "service_unavailable",  # 503, GitHub's front end: no server available
    "gateway_timeout",  # 504, GitHub's front end: no answer in time
    "connection_reset",  # no answer at all: the connection is reset (requests raises ConnectionError)
    "status",  # any answer: status=..., body=..., headers={...}, rate_headers=False drops x-ratelimit-*
    "slow",  # sleeps `seconds` (default 2) before answering normally
    "malformed_json",  # 200 with a body that is not JSON (or body=... of your choosing)
    "not_modified_without_etag",  # 304 with no ETag header, whatever was asked
    "vanish_after_first_page",  # serves page 1, then closes issues (mode="rest" or "served")
)
# What `outage` fails requests with unless told otherwise, in turn: a blip as GitHub has them.
OUTAGE_KINDS = ("bad_gateway", "server_error", "connection_reset")
# GitHub's front end, in its own words (seen in the wild; GitHub documents only that a request
# it takes more than 10 seconds over ends in "a timeout response",
# https://docs.github.com/rest/using-the-rest-api/troubleshooting-the-rest-api#timeouts).
UNAVAILABLE_MESSAGE = (
    "No server is currently available to service your request. Sorry about that. "
    "Please try resubmitting your request and contact us if the problem persists."
)
TIMEOUT_MESSAGE = (
    "We couldn't respond to your request in time. Sorry about that. "
    "Please try resubmitting your request and contact us if the problem persists."
)
# In a fault's `message` or `body`: the token (or JWT) the faulted request carried, echoed back
# as a misbehaving proxy, or GitHub quoting what it refused, might.
ECHO_CREDENTIAL = "{credential}"


@dataclass
class _Fault:
    kind: str
    repo: str | None
    times: int | None
    page: int | None
    params: dict[str, Any]
    method: str | None = None  # "POST": only writes match
    until: float | None = None  # an outage: matches until the stand-in's clock reaches it
    kinds: tuple[str, ...] = ()  # an outage: the kinds it answers with, in turn
    fired: int = 0


class _Faults(_StandIn):
    """The faults waiting for requests, and the answers they give."""

    _faults: list[_Fault]

    def _init_faults(self) -> None:
        self._faults = []

    def inject(
        self,
        fault: str,
        *,
        repo: str | None = None,
        times: int | None = 1,
        page: int | None = None,
        method: str | None = None,
        **params: Any,
    ) -> None:
        """Make the next `times` matching requests fail (`times=None`: until `clear_faults`).

        `repo` ("owner/name"), `page` and `method` ("POST": writes only, so a poller's GETs
        pass) narrow which requests match. Faults fire in the order they were injected.
        `ECHO_CREDENTIAL` in a `message` or `body` is replaced by the token the request carried.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        with self._lock:
            scope = repo.casefold() if repo else None
            self._faults.append(_Fault(fault, scope, times, page, params, method.upper() if method else None))

    def outage(
        self,
        until: float,
        kinds: Iterable[str] = OUTAGE_KINDS,
        *,
        repo: str | None = None,
        method: str | None = None,
        **params: Any,
    ) -> None:
        """Fail every matching request until the stand-in's clock reaches `until` (epoch seconds).

        The requests get `kinds` in turn (the first request the first kind, and so on, round
        and round); `params` go to each, as `inject`'s do. `repo` and `method` narrow it as they
        do `inject`. A request that arrives at `until` or later gets through; `clear_faults` ends
        the outage early. Faults injected before it fire first; those injected after it wait for
        it to end.
        """
        chosen = tuple(kinds)
        unknown = [kind for kind in chosen if kind not in FAULTS]
        if not chosen or unknown:
            raise ValueError(f"outage kinds must be some of: {', '.join(FAULTS)}; got {list(chosen)!r}")
        with self._lock:
            scope = repo.casefold() if repo else None
            fault = _Fault(chosen[0], scope, None, None, params, method.upper() if method else None, until, chosen)
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, repo: FakeRepo | None, query: Mapping[str, str], method: str) -> _Fault | None:
        """The fault this request meets, if any (an outage's with this request's kind)."""
        page = _int(query.get("page"), 1)
        now = self.clock()
        for fault in list(self._faults):
            if fault.until is not None and now >= fault.until:
                self._faults.remove(fault)  # the outage is over
                continue
            if fault.repo is not None and (repo is None or repo.full_name.casefold() != fault.repo):
                continue
            if fault.page is not None and fault.page != page:
                continue
            if fault.method is not None and fault.method != method:
                continue
            kind = fault.kinds[fault.fired % len(fault.kinds)] if fault.kinds else fault.kind
            if kind == "vanish_after_first_page" and method != "GET":
                continue  # it changes a listing; a write has none
            fault.fired += 1
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
            return replace(fault, kind=kind) if fault.kinds else fault
        return None

    def _fault_response(
        self, fault: _Fault, bucket: _Bucket, rate: dict[str, str], token: str | None = None
    ) -> _Response:
        """The answer `fault` gives instead of the stand-in's own (see `FAULTS`)."""
        params = _echoing(fault.params, token or "")
        answer = (
            self._rate_limit_fault(fault.kind, params, bucket, rate)
            or _refusal_fault(fault.kind, params, rate)
            or _front_end_fault(fault.kind, rate)
            or _odd_answer_fault(fault.kind, params, rate)
        )
        if answer is None:
            raise AssertionError(f"unhandled fault {fault.kind}")
        return answer

    def _rate_limit_fault(
        self, kind: str, params: Mapping[str, Any], bucket: _Bucket, rate: dict[str, str]
    ) -> _Response | None:
        """GitHub's primary and secondary rate-limit answers, 403 unless `status` says 429."""
        status = int(params.get("status", 403))
        secondary = SECONDARY_MESSAGE
        match kind:
            case "primary_rate_limit":
                reset = int(self.clock()) + int(params.get("reset_in", 600))
                limited = {**rate, "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}
                limited["x-ratelimit-used"] = str(bucket.limit)
                return _json(
                    status,
                    {"message": "API rate limit exceeded for user ID 1.", "documentation_url": DOCS},
                    limited,
                )
            case "secondary_rate_limit_seconds":
                headers = {**rate, "retry-after": str(int(params.get("seconds", 60)))}
                return _json(status, {"message": secondary, "documentation_url": DOCS}, headers)
            case "secondary_rate_limit_date":
                now = datetime.fromtimestamp(self.clock(), UTC)
                at = params.get("at") or now + timedelta(seconds=int(params.get("seconds", 90)))
                headers = {**rate, "retry-after": format_datetime(at.astimezone(UTC), usegmt=True)}
                return _json(status, {"message": secondary, "documentation_url": DOCS}, headers)
            case "secondary_rate_limit_message":
                message = params.get("message", secondary)
                return _json(status, {"message": message, "documentation_url": DOCS}, rate)
        return None


def _refusal_fault(kind: str, params: Mapping[str, Any], rate: dict[str, str]) -> _Response | None:
    """The API refusing the request: a 401, a 403 without any rate-limit sign, a 404, a 410."""
    match kind:
        case "unauthorized":
            return _json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        case "forbidden":
            message = params.get("message", "Resource not accessible by personal access token")
            return _json(403, {"message": message, "documentation_url": DOCS}, rate)
        case "not_found":
            return _json(404, _not_found(), rate)
        case "gone":
            return _json(410, {"message": "Issues are disabled for this repo", "documentation_url": DOCS}, rate)
    return None


def _front_end_fault(kind: str, rate: dict[str, str]) -> _Response | None:
    """A blip: the API's 500, or its front end's 502, 503, 504 or reset (no rate headers, nothing spent)."""
    match kind:
        case "server_error":
            return _json(500, {"message": "Server Error"}, rate)
        case "bad_gateway":
            return _Response(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", {"Content-Type": "text/html"})
        case "service_unavailable":
            return _json(503, {"message": UNAVAILABLE_MESSAGE})
        case "gateway_timeout":
            return _json(504, {"message": TIMEOUT_MESSAGE})
        case "connection_reset":
            return _Response(0, reset=True)
    return None


def _odd_answer_fault(kind: str, params: Mapping[str, Any], rate: dict[str, str]) -> _Response | None:
    """Answers GitHub should never give (a cut-off body, a 304 without its ETag), or any answer at all."""
    match kind:
        case "malformed_json":
            body = params.get("body", '[{"number": 1, "title": "cut off')
            return _Response(200, str(body).encode(), {**_json_type(), **rate})
        case "not_modified_without_etag":
            return _Response(304, b"", dict(rate))
        case "status":
            raw = params.get("body", {"message": "fault"})
            payload = raw.encode() if isinstance(raw, str) else json.dumps(raw).encode()
            return _Response(
                int(params.get("status", 500)),
                payload,
                {**_json_type(), **(rate if params.get("rate_headers", True) else {}), **params.get("headers", {})},
            )
    return None


def _echoing(value: Any, token: str) -> Any:
    """`value` with every ECHO_CREDENTIAL in its strings replaced by `token`."""
    if isinstance(value, str):
        return value.replace(ECHO_CREDENTIAL, token)
    if isinstance(value, dict):
        return {key: _echoing(item, token) for key, item in value.items()}
    if isinstance(value, list):
        return [_echoing(item, token) for item in value]
    return value
