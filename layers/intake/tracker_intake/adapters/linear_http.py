"""Linear's GraphQL endpoint, as the Linear adapters share it: one POST per query, its
credential, its rate-limit headers, and every failure translated into a typed `TrackerError`.

Linear (https://linear.app/developers/graphql, /rate-limiting, /oauth-2-0-authentication):
- one endpoint, `POST https://api.linear.app/graphql`, JSON `{query, variables}`;
- a personal API key is sent as `Authorization: <key>`, an OAuth access token as
  `Authorization: Bearer <token>`;
- every answer carries the credential's two leaky buckets, requests an hour and complexity
  points an hour (`X-RateLimit-Requests-*`, `X-RateLimit-Complexity-*`: `-Limit`, `-Remaining`,
  `-Reset`), and the query's own cost (`X-Complexity`);
- being throttled is a GraphQL error whose `extensions.code` is `RATELIMITED`, often with HTTP
  400 (not 429): the credential waits for the bucket's reset.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import requests

from tracker_intake.adapters.github import send
from tracker_intake.adapters.http_common import header_int, retried
from tracker_intake.domain.errors import (
    AuthFailed,
    BadTrackerResponse,
    PrimaryRateLimited,
    TrackerError,
    TrackerUnavailable,
)
from tracker_intake.domain.ports import Clock
from tracker_intake.domain.tracker import Allowance, RateLimit, Retries, binding_limit

logger = logging.getLogger(__name__)

LINEAR_GRAPHQL_URL = "https://api.linear.app/graphql"
RETRYABLE_STATUSES = frozenset({502, 503, 504})
# Throttled: wait at least a minute (the next tick) rather than hammer Linear.
RATELIMITED_FALLBACK_WAIT = timedelta(seconds=60)
_MESSAGE_CAP = 200


class LinearAuth(Protocol):
    """The `Authorization` header for Linear, and a way to get a fresh one after a refusal."""

    def header(self) -> str: ...

    def refresh(self) -> bool:
        """Get a fresh credential; False when there is none to get (an API key)."""
        ...


@dataclass(frozen=True)
class ApiKey:
    """A personal API key: sent as is, `Authorization: <key>`; never refreshed."""

    key: str

    def header(self) -> str:
        return self.key

    def refresh(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "ApiKey(***)"


@dataclass(frozen=True)
class Answer:
    """A query's `data`, and the credential's budget as the answer's headers said it."""

    data: Mapping[str, Any]
    rate: RateLimit
    complexity: int | None


class LinearClient:
    """Sends GraphQL documents to Linear with one credential, over one `requests.Session`."""

    def __init__(
        self,
        url: str,
        auth: LinearAuth,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (3.05, 10.0),
        clock: Clock | None = None,
        user_agent: str = "tracker-intake",
    ) -> None:
        self.url = url
        self._auth = auth
        self._session = session or requests.Session()
        self._timeout = timeout
        self._clock = clock
        self._user_agent = user_agent

    def __repr__(self) -> str:  # never show the credential
        return f"LinearClient({self.url!r}, auth={self._auth!r})"

    def query(self, document: str, variables: Mapping[str, Any], where: str, retries: Retries | None = None) -> Answer:
        """The answer's data; a failure worth retrying is sent again while `retries` allows.

        Queries only: a mutation is sent once (`mutate`), since a retry could write twice.
        """
        return retried(lambda: self._send(document, variables, where), where, retries)

    def mutate(self, document: str, variables: Mapping[str, Any], where: str) -> Answer:
        return self._send(document, variables, where)

    def _send(self, document: str, variables: Mapping[str, Any], where: str) -> Answer:
        response = self._post(document, variables, where, self._auth.header())
        if _unauthenticated(response) and self._auth.refresh():
            logger.info("linear refused the credential for %s: trying once more with a fresh one", where)
            response = self._post(document, variables, where, self._auth.header())
        return self._answer(response, where)

    def _post(self, document: str, variables: Mapping[str, Any], where: str, header: str) -> requests.Response:
        headers = {
            "Authorization": header,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": self._user_agent,
        }
        return send(
            self._session,
            "POST",
            self.url,
            headers=headers,
            timeout=self._timeout,
            where=where,
            json={"query": document, "variables": dict(variables)},
        )

    def _answer(self, response: requests.Response, where: str) -> Answer:
        now = self._now()
        complexity = header_int(response.headers.get("x-complexity"))
        rate = rate_of(response.headers, complexity, now)
        body = _body(response)
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            raise self._error(response, errors, where, now)
        if response.status_code >= 500:
            raise TrackerUnavailable(
                f"Linear is unavailable ({response.status_code}) for {where}",
                retryable=response.status_code in RETRYABLE_STATUSES,
            )
        if response.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            status = response.status_code
            raise BadTrackerResponse(f"Linear answered {status} for {where}, which intake does not expect")
        return Answer(body["data"], rate, complexity)

    def _error(self, response: requests.Response, errors: Any, where: str, now: datetime) -> TrackerError:
        codes = _codes(errors)
        said = _message(errors)
        if "RATELIMITED" in codes:
            reset = _throttled_until(response.headers, header_int(response.headers.get("x-complexity")), now)
            return PrimaryRateLimited(reset, f"Linear rate-limited the credential until {reset:%H:%M:%S} UTC: {said}")
        if response.status_code == 401 or "AUTHENTICATION_ERROR" in codes:
            return AuthFailed(f"Linear refused the credential for {where} ({response.status_code}: {said})")
        if response.status_code == 403 or "FORBIDDEN" in codes:
            return AuthFailed(f"Linear refused access to {where} ({response.status_code}: {said})")
        if response.status_code >= 500:
            return TrackerUnavailable(
                f"Linear is unavailable ({response.status_code}) for {where}: {said}",
                retryable=response.status_code in RETRYABLE_STATUSES,
            )
        return BadTrackerResponse(f"Linear refused the query for {where} ({response.status_code}: {said})")

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)


def rate_of(headers: Mapping[str, str], complexity: int | None, now: datetime) -> RateLimit:
    """The credential's two buckets, as one budget of requests of this query's cost."""
    return binding_limit(
        (
            _allowance("linear-requests", headers, "requests", 1),
            _allowance("linear-complexity", headers, "complexity", complexity or 1),
        ),
        now,
    )


def _allowance(name: str, headers: Mapping[str, str], family: str, cost: int) -> Allowance:
    prefix = f"x-ratelimit-{family}"
    return Allowance(
        name,
        header_int(headers.get(f"{prefix}-remaining")),
        _epoch(headers.get(f"{prefix}-reset")),
        header_int(headers.get(f"{prefix}-limit")),
        cost,
        leaky=True,
    )


def _throttled_until(headers: Mapping[str, str], cost: int | None, now: datetime) -> datetime:
    """When the query fits again: Linear's buckets leak back `limit` an hour, so a spent one holds
    another request (or this query's points) a few seconds later, not at its reset (when it is
    full). At least the next tick: the dispatcher paces the credential from there."""
    waits = [RATELIMITED_FALLBACK_WAIT]
    for family, needed in (("requests", 1), ("complexity", cost or 1)):
        remaining = header_int(headers.get(f"x-ratelimit-{family}-remaining"))
        limit = header_int(headers.get(f"x-ratelimit-{family}-limit"))
        if remaining is not None and limit and remaining < needed:
            waits.append(timedelta(hours=(needed - remaining) / limit))
    return now + max(waits)


def _unauthenticated(response: requests.Response) -> bool:
    if response.status_code == 401:
        return True
    body = _body(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    return bool(errors) and "AUTHENTICATION_ERROR" in _codes(errors)


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _codes(errors: Any) -> set[str]:
    codes = set()
    for error in errors if isinstance(errors, list) else []:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        if isinstance(code, str):
            codes.add(code)
    return codes


def _message(errors: Any) -> str:
    first = errors[0] if isinstance(errors, list) and errors else {}
    message = first.get("message") if isinstance(first, dict) else None
    return json.dumps(message)[1:-1][:_MESSAGE_CAP] if isinstance(message, str) else "no message"


def _epoch(value: str | None) -> datetime | None:
    """A reset as Linear sends it: epoch milliseconds (seconds, too, read by their size)."""
    number = header_int(value)
    if number is None or number <= 0:
        return None
    return datetime.fromtimestamp(number / 1000 if number > 10**11 else number, UTC)
