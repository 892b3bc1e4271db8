"""A loopback stand-in for Linear's GraphQL API, written from Linear's developer documentation.

Test and demo support only (it is not in the Lambda layer). It is a real GraphQL server
(graphql-core) on 127.0.0.1, so the adapter under test does real sockets, headers and timeouts:

    with FakeLinear() as linear:
        linear.add_team("ENG")
        linear.add_user("ana@acme.test", "Ana")
        linear.add_api_key("lin_api_test", user="ana@acme.test")
        issue = linear.add_issue("ENG", "Crash on start", labels=["agent"], creator="ana@acme.test")
        tracker = LinearTracker(linear.url, "lin_api_test")

What it serves, as Linear documents it:
- `POST /graphql` against `schema.graphql`, a subset of Linear's published schema (the same
  names, types, nullability and arguments): `issues`, `issue`, `issueLabels`, `organization`,
  `viewer`, and the mutations `commentCreate`, `reactionCreate`, `issueAddLabel`,
  `issueLabelCreate`. A field or filter outside the subset is a validation error (400).
- Filters (`filters`, https://linear.app/developers/filtering), Relay pages newest first with
  `orderBy: createdAt | updatedAt`, 50 nodes by default and at most 250, archived issues
  hidden unless `includeArchived` (`api`, https://linear.app/developers/pagination).
- Personal API keys (`Authorization: <key>`) and OAuth access tokens (`Bearer`), refresh tokens
  rotated at `POST /oauth/token` (`auth`, https://linear.app/developers/oauth-2-0-authentication).
- Requests and complexity points per hour per user, leaky buckets, the `X-RateLimit-*` and
  `X-Complexity` headers, RATELIMITED, the 10,000-point maximum (`limits`, `complexity`,
  https://linear.app/developers/rate-limiting).
- Writes and what they do to the issue's updatedAt (`writes`); faults on demand (`faults`).
- A request log (`requests`): time, credential fingerprint, budget, operation, root fields,
  complexity, status, request and response headers (the `authorization` value redacted).

Its clock (`clock`, epoch seconds, plus `advance`) drives updatedAt (milliseconds), token
expiry and bucket refills, so a test's simulated time works as Linear's hour does.

The package, a module per concern, each naming the Linear page it follows:

- `server`: `FakeLinear`, which routes each request and keeps the log;
- `workspace`: the organization, teams, users, issues, labels, and the helpers tests build them with;
- `api`: the schema, its resolvers and pages; `filters`: IssueFilter and its comparators;
- `complexity` and `limits`: query complexity and the two budgets; `auth`: keys and OAuth;
- `writes`: comments, reactions, labels; `faults`: injected failures; `wire`: the HTTP server.
"""

from .auth import OAuthTokens
from .server import FakeLinear, RecordedRequest
from .workspace import STATE_TYPES, BotActor, IssueSnapshot, iso_ms

__all__ = ["STATE_TYPES", "BotActor", "FakeLinear", "IssueSnapshot", "OAuthTokens", "RecordedRequest", "iso_ms"]
