"""Rate limits as Linear documents them (https://linear.app/developers/rate-limiting).

- Two budgets per credential's user, each a leaky bucket "refilled with a constant rate of
  LIMIT_AMOUNT / LIMIT_PERIOD": requests per hour (one per request) and complexity points per
  hour (each query's complexity). An API key's requests count against its user, "which means all
  requests by the same user share the same quota even when using different API keys"; an OAuth
  token's against its "User (or App User)". The page's limits (as a late-2025 copy of it states
  them; Linear says they evolve): 1,500 requests and 250,000 points an hour for an API key,
  1,200 and 200,000 for an OAuth app, all four configurable here.
- Every answer to an authenticated request carries `X-RateLimit-Requests-Limit`, `-Remaining`,
  `-Reset`, `X-RateLimit-Complexity-Limit`, `-Remaining`, `-Reset` and `X-Complexity` ("the
  complexity of the query"); the resets are "the time at which the current rate limit window
  resets in UTC epoch milliseconds", for a leaky bucket the moment it is full again.
- "We also enforce a maximum complexity of a single query at any time to 10,000 points. Your
  query will always get rejected if it exceeds that."
- Once a bucket cannot pay for a request, the answer is an error "containing the RATELIMITED
  error code" (`{"errors": [{"message": ..., "extensions": {"code": "RATELIMITED", ...}}]}`,
  "Handling rate limit errors"). The page gives no HTTP status; the stand-in answers 400 (what
  integrators report Linear sends, `extensions.statusCode` 429) unless `ratelimited_status` says
  otherwise. A refused request spends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RATE_LIMIT_DOCS = "https://linear.app/developers/rate-limiting"
API_KEY_REQUESTS, API_KEY_COMPLEXITY = 1_500, 250_000
OAUTH_REQUESTS, OAUTH_COMPLEXITY = 1_200, 200_000
PERIOD_MS = 3_600_000
MAX_COMPLEXITY = 10_000


@dataclass
class LeakyBucket:
    """Tokens up to `limit`, refilled continuously at `limit / period_ms` per millisecond."""

    limit: int
    period_ms: int
    level: float
    updated_ms: int

    def refill(self, now_ms: int) -> None:
        elapsed = max(0, now_ms - self.updated_ms)
        self.level = min(float(self.limit), self.level + elapsed * self.limit / self.period_ms)
        self.updated_ms = max(self.updated_ms, now_ms)

    def remaining(self) -> int:
        return int(self.level)

    def reset_ms(self) -> int:
        """When the bucket is full again, epoch milliseconds."""
        missing = self.limit - self.level
        return self.updated_ms + -(-int(missing * self.period_ms) // self.limit)


@dataclass
class Budget:
    """One user's two buckets for one kind of credential."""

    requests: LeakyBucket
    complexity: LeakyBucket

    def refill(self, now_ms: int) -> None:
        self.requests.refill(now_ms)
        self.complexity.refill(now_ms)

    def affords(self, cost: int) -> bool:
        return self.requests.level >= 1 and self.complexity.level >= cost

    def spend(self, cost: int) -> None:
        self.requests.level -= 1
        self.complexity.level -= cost

    def headers(self, cost: int | None) -> dict[str, str]:
        headers = {
            "X-RateLimit-Requests-Limit": str(self.requests.limit),
            "X-RateLimit-Requests-Remaining": str(self.requests.remaining()),
            "X-RateLimit-Requests-Reset": str(self.requests.reset_ms()),
            "X-RateLimit-Complexity-Limit": str(self.complexity.limit),
            "X-RateLimit-Complexity-Remaining": str(self.complexity.remaining()),
            "X-RateLimit-Complexity-Reset": str(self.complexity.reset_ms()),
        }
        if cost is not None:
            headers["X-Complexity"] = str(cost)
        return headers


def new_budget(requests: int, complexity: int, period_ms: int, now_ms: int) -> Budget:
    return Budget(
        LeakyBucket(requests, period_ms, float(requests), now_ms),
        LeakyBucket(complexity, period_ms, float(complexity), now_ms),
    )


def ratelimited_error(budget: Budget, cost: int) -> dict[str, Any]:
    """The GraphQL error of a spent budget, with the RATELIMITED code."""
    which = "requests" if budget.requests.level < 1 else "complexity"
    limit = budget.requests.limit if which == "requests" else budget.complexity.limit
    message = f"Rate limit exceeded: the {which} budget of {limit} per hour is spent" + (
        "" if which == "requests" else f" (this query needs {cost} points)"
    )
    return {
        "message": message,
        "extensions": {
            "code": "RATELIMITED",
            "type": "ratelimited",
            "statusCode": 429,
            "userError": True,
            "userPresentableMessage": "Rate limit exceeded. Please try again later.",
        },
    }


def too_complex_error(cost: int, maximum: int) -> dict[str, Any]:
    """A single query over the maximum complexity; the page does not show its shape."""
    return {
        "message": f"Query too complex: its complexity is {cost}, the maximum is {maximum}",
        "extensions": {
            "code": "QUERY_TOO_COMPLEX",
            "type": "invalid input",
            "statusCode": 400,
            "userError": True,
            "complexity": cost,
            "maximumComplexity": maximum,
        },
    }
