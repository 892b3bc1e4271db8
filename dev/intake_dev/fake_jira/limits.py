"""Rate limits as Atlassian documents them for Jira Cloud
(https://developer.atlassian.com/cloud/jira/platform/rate-limiting/, and its companion
https://developer.atlassian.com/cloud/jira/platform/build-an-app-that-respects-rate-limits/).

Three independent limits, each answering 429 with a `RateLimit-Reason` (before 2026 the page listed
only `jira-cost-based` and `jira-quota-based`, JRACLOUD-69262 quoting it):

- `jira-burst-based`: requests per second to one endpoint with one HTTP method, for the whole
  tenant ("One tenant, one endpoint, one HTTP method"). Every credential kind is subject to it.
- `jira-per-issue-on-write`: writes to one issue in a short window ("One issue").
- `jira-quota-tenant-based` (the per-tenant pool, "Tier 2") and, for an app's one pool shared by
  all its tenants ("Tier 1 Global Pool", https://www.atlassian.com/blog/platform/evolving-api-rate-limits),
  a global reason: the hourly points quota that applies to Forge, Connect and OAuth 2.0 (3LO) apps
  since 2 March 2026. "API token-based traffic is not affected by this change". "Each request
  starts with a base cost of 1 point, and additional points are added for each object involved.
  Write requests are charged only the base cost": the stand-in charges 1 + 1 per issue, comment,
  user or project a read returns. The window is the clock hour: developers report "a
  refreshed-once-per-hour token bucket" of 65,000 points for the global pool (CHANGE-2958, as
  quoted in https://community.developer.atlassian.com/t/2026-point-based-rate-limits/97828) and
  a reset on the hour in the headers. Only `jira-quota-tenant-based` was seen in real headers,
  so it is the default `quota_reason`.

429 headers ("Rate limit responses"): `Retry-After` (seconds to wait), `X-RateLimit-Limit`,
`X-RateLimit-Remaining`, `X-RateLimit-Reset` ("the timestamp (in ISO 8601 format) when the rate
limit will reset, calculated as the request timestamp plus the Retry-After period ... in the
format: yyyy-MM-ddTHH:mmZ", so minute resolution, truncated: prefer `Retry-After`) and
`RateLimit-Reason`. `X-RateLimit-NearLimit: true` rides on an answer when less than 20% of the
quota remains. On quota traffic Jira also sends the IETF draft's structured headers under a
`Beta-` prefix (draft-ietf-httpapi-ratelimit-headers; seen in real answers as
`Beta-RateLimit-Policy: "tenant-app-quota";q=100100;w=3600` and
`Beta-RateLimit: "tenant-app-quota";r=17842;t=2107`, quoted in the community thread above): the
quota, its window, what is left and the seconds to the reset, on every answer. The stand-in sends
both on every answered request of an OAuth app, the policy named for `quota_reason`. The
per-second and per-issue figures could not be read from the pages, so they
are the stand-in's defaults, configurable on `FakeJira`: burst 100 GET / 100 POST / 50 PUT / 50
DELETE per second, per issue 20 writes per 2 seconds and 100 per 30 seconds; the quota is 65,000
points an hour per OAuth app. The 429 body is Jira's error collection (the page shows none). A
refused request spends nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

BURST_PER_SECOND = {"GET": 100, "POST": 100, "PUT": 50, "DELETE": 50}
ISSUE_WRITE_WINDOWS = ((20, 2.0), (100, 30.0))  # (writes, seconds)
OAUTH_POINTS_PER_HOUR = 65_000
NEAR_LIMIT_FRACTION = 0.2
# The draft header's policy name for each quota reason (the tenant's pool, or the app's global one).
QUOTA_POLICIES = {"jira-quota-tenant-based": "tenant-app-quota", "jira-quota-global-based": "global-app-quota"}


@dataclass(frozen=True)
class Throttle:
    """A refusal: why, and what the headers say."""

    reason: str
    limit: int
    remaining: int
    retry_after: int  # seconds

    def headers(self, now: float) -> dict[str, str]:
        reset = datetime.fromtimestamp(now + self.retry_after, tz=UTC)
        return {
            "Retry-After": str(self.retry_after),
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
            "RateLimit-Reason": self.reason,
        }


@dataclass
class FixedWindow:
    """At most `limit` events per `seconds`, in windows aligned to the epoch."""

    limit: int
    seconds: float
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (window index, count)

    def _count(self, key: str, now: float) -> tuple[int, int]:
        window = math.floor(now / self.seconds)
        seen_window, count = self.counts.get(key, (window, 0))
        return window, count if seen_window == window else 0

    def refusal(self, key: str, now: float, reason: str) -> Throttle | None:
        window, count = self._count(key, now)
        if count < self.limit:
            return None
        retry_after = max(1, math.ceil((window + 1) * self.seconds - now))
        return Throttle(reason, self.limit, 0, retry_after)

    def spend(self, key: str, now: float, amount: int = 1) -> None:
        window, count = self._count(key, now)
        self.counts[key] = (window, count + amount)

    def remaining(self, key: str, now: float) -> int:
        return max(0, self.limit - self._count(key, now)[1])

    def reset_in(self, now: float) -> int:
        """Whole seconds until the current window ends (at least 1)."""
        return max(1, math.ceil((math.floor(now / self.seconds) + 1) * self.seconds - now))

    def set_remaining(self, key: str, now: float, remaining: int) -> None:
        window = math.floor(now / self.seconds)
        self.counts[key] = (window, max(0, self.limit - remaining))


class Limits:
    """The three limits of one site."""

    def __init__(
        self,
        burst: dict[str, int],
        issue_writes: tuple[tuple[int, float], ...],
        points_per_hour: int,
        quota_reason: str = "jira-quota-tenant-based",
    ) -> None:
        self.burst = {method: FixedWindow(limit, 1.0) for method, limit in burst.items()}
        self.issue_writes = [FixedWindow(limit, seconds) for limit, seconds in issue_writes]
        self.points = FixedWindow(points_per_hour, 3600.0)
        self.quota_reason = quota_reason

    def admit(
        self, method: str, endpoint: str, bucket: str | None, issue_id: str | None, now: float
    ) -> Throttle | None:
        """The refusal this request meets, or None once it has spent what it costs up front."""
        burst = self.burst.get(method)
        refusal = burst.refusal(endpoint, now, "jira-burst-based") if burst else None
        if refusal is None and issue_id is not None:
            refusal = next(
                (r for w in self.issue_writes if (r := w.refusal(issue_id, now, "jira-per-issue-on-write"))), None
            )
        if refusal is None and bucket is not None:
            refusal = self.points.refusal(bucket, now, self.quota_reason)
        if refusal is not None:
            return refusal
        if burst:
            burst.spend(endpoint, now)
        for window in self.issue_writes if issue_id is not None else ():
            window.spend(issue_id or "", now)
        return None

    def charge(self, bucket: str | None, points: int, now: float) -> dict[str, str]:
        """Charge an answered request's points to an OAuth app's quota; the headers it then carries."""
        if bucket is None:
            return {}
        self.points.spend(bucket, now, points)
        left = self.points.remaining(bucket, now)
        policy = QUOTA_POLICIES.get(self.quota_reason, "global-app-quota")
        headers = {
            "Beta-RateLimit-Policy": f'"{policy}";q={self.points.limit};w={int(self.points.seconds)}',
            "Beta-RateLimit": f'"{policy}";r={left};t={self.points.reset_in(now)}',
        }
        if left < self.points.limit * NEAR_LIMIT_FRACTION:
            headers["X-RateLimit-NearLimit"] = "true"
        return headers
