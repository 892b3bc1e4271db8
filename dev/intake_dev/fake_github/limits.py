"""GitHub's rate limits as the stand-in keeps them: the primary window per credential, and the
secondary limits (points per minute, requests in flight, content created per minute and hour)
(https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from .base import _StandIn
from .wire import _identity, _json, _Response, _user

AUTHENTICATED_LIMIT = 5000
ANONYMOUS_LIMIT = 60
RATE_WINDOW_SECONDS = 3600
# GitHub: "No more than 900 points per minute are allowed for REST API endpoints", a GET or
# HEAD costing 1; "No more than 100 concurrent requests are allowed".
SECONDARY_POINTS_PER_MINUTE = 900
SECONDARY_CONCURRENCY = 100
SECONDARY_WINDOW_SECONDS = 60
# "Most REST API POST, PATCH, PUT, or DELETE requests" cost 5 points. GitHub does not publish
# the token mint's cost; the stand-in keeps charging it 1.
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
WRITE_POINTS = 5
# "No more than 80 content-generating requests per minute and no more than 500
# content-generating requests per hour"; here a comment, a reaction or a label added.
SECONDARY_CONTENT_PER_MINUTE = 80
SECONDARY_CONTENT_PER_HOUR = 500
CONTENT_HOUR_SECONDS = 3600
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID 0000:FAKE."
)
# A POST to these generates content, for the content-creation limit (an issue opened included).
CONTENT_KINDS = frozenset({"issues", "issue_comments", "issue_reactions", "issue_labels"})
PRIMARY_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"


@dataclass
class _Bucket:
    limit: int
    remaining: int
    reset: int

    @property
    def used(self) -> int:
        return self.limit - self.remaining


class _RateLimits(_StandIn):
    """Each credential's primary window and its secondary limits."""

    primary_limit: int
    primary_window_seconds: int
    secondary_points_per_minute: int
    secondary_concurrency: int
    secondary_content_per_minute: int
    secondary_content_per_hour: int
    max_in_flight: dict[str, int]
    _points: dict[str, deque[tuple[float, int]]]
    _content: dict[str, deque[float]]
    _in_flight: dict[str, int]
    _buckets: dict[str, _Bucket]
    _limits: dict[str, int]

    def _init_limits(
        self,
        primary_limit: int,
        primary_window_seconds: int,
        secondary_points_per_minute: int,
        secondary_concurrency: int,
        secondary_content_per_minute: int,
        secondary_content_per_hour: int,
    ) -> None:
        if primary_window_seconds <= 0:
            raise ValueError("primary_window_seconds must be positive")
        self.primary_limit = primary_limit
        self.primary_window_seconds = primary_window_seconds
        self.secondary_points_per_minute = secondary_points_per_minute
        self.secondary_concurrency = secondary_concurrency
        self.secondary_content_per_minute = secondary_content_per_minute
        self.secondary_content_per_hour = secondary_content_per_hour
        self._points = {}  # (when, points) per identity
        self._content = {}  # content-generating requests per identity
        self._in_flight = {}
        self.max_in_flight = {}
        self._buckets = {}  # each identity's current primary window
        self._limits = {}  # an identity's own primary limit, when not the default

    def set_rate_limit(
        self,
        token: str | None,
        *,
        remaining: int,
        limit: int | None = None,
        reset_in: int | None = None,
    ) -> None:
        """Set a token's current window (None: anonymous): `remaining` requests until `reset_in`
        seconds from now (default: a whole window). `limit` (default: the larger of its limit and
        `remaining`) is its limit from now on, in later windows too. At 0 every call but
        `GET /rate_limit` gets GitHub's primary-limit 403 until the reset."""
        with self._lock:
            self._set_window(_identity(token), remaining, limit, reset_in)

    def rate_remaining(self, token: str | None) -> int:
        """What the token has left now (its whole limit when no window is open; none is opened)."""
        with self._lock:
            return self._peek(_identity(token)).remaining

    def primary_refusals(self) -> int:
        """How many requests the stand-in's own primary windows refused so far (not injected faults)."""
        with self._lock:
            return sum(1 for r in self._requests if r.primary_limited)

    def _limit_of(self, identity: str) -> int:
        if identity in self._limits:
            return self._limits[identity]
        return ANONYMOUS_LIMIT if identity == "anonymous" else self.primary_limit

    def _set_window(self, identity: str, remaining: int, limit: int | None, reset_in: int | None) -> None:
        limit = limit if limit is not None else max(self._limit_of(identity), remaining)
        self._limits[identity] = limit
        window = self.primary_window_seconds if reset_in is None else reset_in
        self._buckets[identity] = _Bucket(limit, remaining, int(self.clock()) + window)

    def _peek(self, identity: str) -> _Bucket:
        """`identity`'s window as it stands now, without opening one (a full one if none is open)."""
        now = int(self.clock())
        bucket = self._buckets.get(identity)
        if bucket is None or bucket.reset <= now:
            limit = self._limit_of(identity)
            return _Bucket(limit, limit, now + self.primary_window_seconds)
        return bucket

    def _window(self, identity: str) -> _Bucket:
        """`identity`'s current window; its first request, or the first once the reset has come,
        opens a full one that ends `primary_window_seconds` later."""
        now = int(self.clock())
        bucket = self._buckets.get(identity)
        if bucket is None or bucket.reset <= now:
            bucket = self._buckets[identity] = self._peek(identity)
        return bucket

    def _spend(self, bucket: _Bucket, response: _Response) -> _Response:
        bucket.remaining = max(bucket.remaining - 1, 0)
        response.headers.update(_rate_headers(bucket))
        return response

    def _primary_refusal(self, identity: str, login: str | None, rate: dict[str, str]) -> _Response:
        """GitHub's answer once the window is spent: 403, remaining 0, the window's reset; it spends nothing.

        GitHub documents "403 or 429"; the stand-in answers 403 (the `primary_rate_limit` fault
        takes `status=429`). It refuses a conditional request too: GitHub documents no exemption
        for one once the limit is spent (see the package's docstring). `login` is who a plain
        token writes as; None for an anonymous caller.
        """
        if identity.startswith("installation:"):
            who = identity.replace("installation:", "installation ID ") + "."
        elif login is None:
            who = (
                "127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. "
                "Check out the documentation for more details.)"
            )
        else:
            who = f"user ID {_user(login, self.base_url)['id']}."
        refusal = _json(403, {"message": f"API rate limit exceeded for {who}", "documentation_url": PRIMARY_DOCS}, rate)
        refusal.primary_limited = True
        return refusal

    def _secondary_limit(self, identity: str, in_flight: int, at: float, cost: int, content: bool) -> _Response | None:
        """GitHub's secondary limits for this credential, or None when the request may go on.

        Every request served costs its points (a GET 1, a 304 included; a write 5); a refused one
        costs none here. A content-generating request must also fit the content-creation limits.
        """
        points = self._points.setdefault(identity, deque())
        while points and points[0][0] <= at - SECONDARY_WINDOW_SECONDS:
            points.popleft()
        spent = sum(points_of for _, points_of in points)
        if in_flight > self.secondary_concurrency or spent + cost > self.secondary_points_per_minute:
            return _secondary_refusal(SECONDARY_WINDOW_SECONDS)
        if content:
            wait = self._content_wait(identity, at)
            if wait > 0:
                return _secondary_refusal(wait)
        points.append((at, cost))
        return None

    def _content_wait(self, identity: str, at: float) -> int:
        """Seconds until `identity` may create content again, 0 if it may now."""
        # Filtered and sorted rather than popped from the left: a simulation's clock may hand the
        # stand-in requests out of order (two launchers' writes a second apart, run one after the other).
        kept = sorted(t for t in self._content.get(identity, ()) if t > at - CONTENT_HOUR_SECONDS)
        created = self._content[identity] = deque(kept)
        last_minute = [t for t in created if t > at - SECONDARY_WINDOW_SECONDS]
        waits = [0.0]
        per_minute, per_hour = self.secondary_content_per_minute, self.secondary_content_per_hour
        if len(last_minute) >= per_minute:
            waits.append(last_minute[-per_minute] + SECONDARY_WINDOW_SECONDS - at if per_minute > 0 else 60)
        if len(created) >= per_hour:
            waits.append(created[-per_hour] + CONTENT_HOUR_SECONDS - at if per_hour > 0 else 3600)
        return math.ceil(max(waits))

    def secondary_refusals(self) -> int:
        """How many requests the stand-in's secondary limits refused so far."""
        with self._lock:
            return sum(1 for r in self._requests if r.secondary_limited)


def _rate_headers(bucket: _Bucket) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(bucket.limit),
        "x-ratelimit-remaining": str(bucket.remaining),
        "x-ratelimit-reset": str(bucket.reset),
        "x-ratelimit-used": str(bucket.used),
        "x-ratelimit-resource": "core",
    }


def _secondary_refusal(retry_after: int) -> _Response:
    return _json(
        403,
        {
            "message": SECONDARY_MESSAGE,
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
            "#about-secondary-rate-limits",
        },
        {"retry-after": str(max(retry_after, 1))},
    )
