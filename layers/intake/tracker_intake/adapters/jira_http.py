"""Jira Cloud's REST API v3, as the Jira adapters share it: the site (or the cloudId URL), the
credential, the rate-limit headers, and every failure translated into a typed `TrackerError`.

Jira Cloud (https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/,
/oauth-2-3lo-apps/, /rate-limiting/):
- an API token is sent with its user's email as HTTP Basic, against `https://<site>`; a scoped
  token, a service account or an OAuth 2.0 (3LO) app sends `Bearer` against
  `https://api.atlassian.com/ex/jira/<cloudId>`, and a 3LO app refreshes its access token with
  a rotating refresh token at `https://auth.atlassian.com/oauth/token`;
- throttling is a 429 with `Retry-After` (seconds), `X-RateLimit-Limit`, `X-RateLimit-Remaining`,
  `X-RateLimit-Reset` (ISO 8601) and `RateLimit-Reason`; the credential waits until then.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

import requests

from tracker_intake.adapters.github import send
from tracker_intake.adapters.http_common import header_int, retried
from tracker_intake.adapters.oauth import OAuthApp
from tracker_intake.domain.errors import (
    AuthFailed,
    BadTrackerResponse,
    PrimaryRateLimited,
    RepoNotFound,
    TrackerError,
    TrackerUnavailable,
)
from tracker_intake.domain.ports import Clock
from tracker_intake.domain.tracker import RateLimit, Retries

logger = logging.getLogger(__name__)

JIRA_TOKEN_URL = "https://auth.atlassian.com/oauth/token"  # noqa: S105 (an endpoint, not a secret)
RETRYABLE_STATUSES = frozenset({502, 503, 504})
# Throttled without a hint: wait a minute (the next tick) rather than hammer Jira.
THROTTLED_FALLBACK_WAIT = timedelta(seconds=60)
# A 429 asking for no more than this (seconds) is a burst limit's, retried within the poll.
BURST_RETRY_AFTER = 5
_MESSAGE_CAP = 200


class JiraAuth(Protocol):
    def header(self) -> str: ...

    def refresh(self) -> bool: ...


@dataclass(frozen=True)
class ApiToken:
    """An API token with its user's email: HTTP Basic, never refreshed."""

    email: str
    token: str

    def header(self) -> str:
        raw = f"{self.email}:{self.token}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def refresh(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"ApiToken({self.email!r}, ***)"


@dataclass(frozen=True)
class BearerToken:
    """A scoped API token or a service account's: `Bearer`, never refreshed."""

    token: str

    def header(self) -> str:
        return f"Bearer {self.token}"

    def refresh(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "BearerToken(***)"


# An OAuth 2.0 (3LO) app: the same refresh as Linear's (form-encoded `refresh_token` grant, the
# refresh token rotated), against Atlassian's token endpoint.
JiraOAuthApp = OAuthApp


@dataclass(frozen=True)
class Answer:
    data: Any
    rate: RateLimit


class JiraClient:
    """Sends requests to one Jira Cloud site (or its cloudId URL) with one credential."""

    def __init__(
        self,
        base_url: str,
        auth: JiraAuth,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (3.05, 10.0),
        clock: Clock | None = None,
        user_agent: str = "tracker-intake",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = auth
        self._session = session or requests.Session()
        self._timeout = timeout
        self._clock = clock
        self._user_agent = user_agent

    def __repr__(self) -> str:  # never show the credential
        return f"JiraClient({self.base_url!r}, auth={self._auth!r})"

    @property
    def identity(self) -> str:
        """Who asks, and where, as a digest (never the credential): what the user's zone is kept by."""
        return hashlib.sha256(f"{self.base_url}\n{self._auth.header()}".encode()).hexdigest()

    def call(
        self,
        method: str,
        path: str,
        where: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        retries: Retries | None = None,
    ) -> Answer:
        """The answer's JSON body (None for a 204). A read that failed in passing is sent again
        while `retries` allows; a write (`retries` None) is sent once."""
        return retried(lambda: self._send(method, path, where, json, params), where, retries)

    def _send(self, method: str, path: str, where: str, body: Any, params: Mapping[str, str] | None) -> Answer:
        response = self._request(method, path, where, body, params)
        if response.status_code == 401 and self._auth.refresh():
            logger.info("jira refused the credential for %s: trying once more with a fresh one", where)
            response = self._request(method, path, where, body, params)
        return self._answer(response, where)

    def _request(
        self, method: str, path: str, where: str, body: Any, params: Mapping[str, str] | None
    ) -> requests.Response:
        url = f"{self.base_url}{path}"
        if params:
            url += "?" + urlencode(dict(params))
        headers = {
            "Authorization": self._auth.header(),
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": self._user_agent,
        }
        return send(self._session, method, url, headers=headers, timeout=self._timeout, where=where, json=body)

    def _answer(self, response: requests.Response, where: str) -> Answer:
        now = self._now()
        rate = rate_of(response.headers, now)
        status = response.status_code
        if status in (200, 201, 204):
            if status == 204 or not response.content:
                return Answer(None, rate)
            try:
                return Answer(response.json(), rate)
            except ValueError as e:
                raise BadTrackerResponse(f"Jira's answer for {where} is not JSON") from e
        raise self._error(response, where, now)

    def _error(self, response: requests.Response, where: str, now: datetime) -> TrackerError:
        status = response.status_code
        said = jira_message(response)
        if status == 429:
            return throttled(response.headers, now)
        if status in (401, 403):
            return AuthFailed(f"Jira refused the credential for {where} ({status}: {said})")
        if status == 404:
            return RepoNotFound(f"{where} not found or not visible to this credential (404: {said})")
        if status >= 500:
            # Atlassian: "a 503 response may be returned when a resource limit has been reached",
            # with a Retry-After the poll's retry honours (it does not send again any sooner).
            after = header_int(response.headers.get("Retry-After"))
            return TrackerUnavailable(
                f"Jira is unavailable ({status}) for {where}",
                retryable=status in RETRYABLE_STATUSES,
                retry_at=None if after is None else now + timedelta(seconds=after),
            )
        if status == 400 and "does not exist" in said:
            # Jira's answer to a JQL naming a project it does not know, or the credential cannot see.
            return RepoNotFound(f"{where}: {said}")
        return BadTrackerResponse(f"Jira answered {status} for {where}, which intake does not expect: {said}")

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)


def rate_of(headers: Mapping[str, str], now: datetime) -> RateLimit:
    """The credential's budget as the answer says it: an app's hourly points quota
    (`points_quota`), else `X-RateLimit-*` when Jira sends them (a window: what is left until
    the reset)."""
    quota = points_quota(headers, now)
    if quota.known:
        return quota
    remaining, limit = header_int(headers.get("X-RateLimit-Remaining")), header_int(headers.get("X-RateLimit-Limit"))
    reset = _iso(headers.get("X-RateLimit-Reset"))
    if remaining is None or reset is None:
        return RateLimit()
    return RateLimit(remaining, reset, "jira", limit)


def points_quota(headers: Mapping[str, str], now: datetime) -> RateLimit:
    """An OAuth 2.0 (3LO) app's hourly points, from the draft RateLimit headers Jira sends on
    quota traffic (`Beta-RateLimit: "tenant-app-quota";r=17842;t=2107` and
    `Beta-RateLimit-Policy: "tenant-app-quota";q=100100;w=3600`: the points left, the seconds
    to the reset, the quota; draft-ietf-httpapi-ratelimit-headers), as a window the dispatcher
    paces as it paces GitHub's: what is left spread over the ticks until the reset. Of several
    policies, the one with the fewest points left binds. A request is budgeted as one point
    (a search that finds nothing costs Jira one); one that returns issues costs more, which
    the next answer's `r` shows, so each tick is paced on what is really left.
    `X-RateLimit-NearLimit` (under 20 % left) says less than `r`, and is not needed beside it."""
    left = _policies(headers.get("Beta-RateLimit"), "r")
    if not left:
        return RateLimit()
    name, remaining = min(left.items(), key=lambda item: item[1])
    reset = _policies(headers.get("Beta-RateLimit"), "t").get(name)
    if reset is None:
        return RateLimit()
    quota = _policies(headers.get("Beta-RateLimit-Policy"), "q").get(name)
    return RateLimit(remaining, now + timedelta(seconds=reset), f"jira-points ({name})", quota)


def _policies(value: str | None, parameter: str) -> dict[str, int]:
    """One integer parameter of each item of a structured-field list such as
    `"tenant-app-quota";r=17842;t=2107, "global-app-quota";r=64000;t=2107`, by policy name
    (RFC 8941 items: a string, then `;key=value` parameters). Items that do not parse are skipped."""
    found: dict[str, int] = {}
    for item in (value or "").split(","):
        name, *parameters = (part.strip() for part in item.split(";"))
        for parameter_text in parameters:
            key, _, number = parameter_text.partition("=")
            if key == parameter and number.isdigit() and name:
                found[name.strip('"')] = int(number)
    return found


def throttled(headers: Mapping[str, str], now: datetime) -> TrackerError:
    """A 429. Jira's burst limits are per second: a short `Retry-After` (a few seconds) is a
    failure in passing, sent again within the poll after its pause, so the credential is not
    stopped for a minute and the polls that meet it in every tick are not always the same ones.
    A longer one (a points quota, a per-issue write limit) pauses the credential until then."""
    reason = headers.get("RateLimit-Reason") or "rate limit"
    after = header_int(headers.get("Retry-After"))
    if after is not None and after <= BURST_RETRY_AFTER:
        return TrackerUnavailable(
            f"Jira's burst limit ({reason}): retry after {after} s",
            retryable=True,
            retry_at=now + timedelta(seconds=after),
        )
    until = throttled_until(headers, now)
    return PrimaryRateLimited(until, f"Jira throttled the credential ({reason}) until {until:%H:%M:%S} UTC")


def throttled_until(headers: Mapping[str, str], now: datetime) -> datetime:
    """The later of `Retry-After` and `X-RateLimit-Reset`, at least a minute away."""
    waits = [now + THROTTLED_FALLBACK_WAIT]
    after = header_int(headers.get("Retry-After"))
    if after is not None:
        waits.append(now + timedelta(seconds=after))
    reset = _iso(headers.get("X-RateLimit-Reset"))
    if reset is not None:
        waits.append(reset)
    return max(waits)


def jira_message(response: requests.Response) -> str:
    """Jira's error sentences (`errorMessages`, `errors`), cut short."""
    try:
        body = response.json()
    except ValueError:
        return "no message"
    if not isinstance(body, dict):
        return "no message"
    messages = [m for m in body.get("errorMessages") or [] if isinstance(m, str)]
    errors = body.get("errors")
    if isinstance(errors, dict):
        messages += [f"{k}: {v}" for k, v in errors.items() if isinstance(v, str)]
    return "; ".join(messages)[:_MESSAGE_CAP] or "no message"


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
