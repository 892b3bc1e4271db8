"""A loopback stand-in for Jira Cloud's REST API v3, written from Atlassian's developer documentation.

Test and demo support only (it is not in the Lambda layer). It is a real HTTP server
(ThreadingHTTPServer) on 127.0.0.1, so the adapter under test does real sockets, headers and timeouts:

    with FakeJira(search_lag_seconds=5) as jira:
        jira.add_project("PROJ")
        ana = jira.add_user("ana@acme.test")
        jira.add_api_token("ana@acme.test", "api-token")
        issue = jira.add_issue("PROJ", "Crash on start", labels=["agent"], reporter=ana)
        # point the adapter at jira.base_url (the site) or jira.api_url (/ex/jira/{cloudId})

What it serves, as Atlassian documents it (each module names its pages):
- `GET|POST /rest/api/3/search/jql` with `nextPageToken` pages and no `total`; the removed
  `/rest/api/3/search` answers 410 (`search`);
- the JQL subset the adapter sends, tokenized, parsed and checked; an unknown field, operator or
  value, or a syntax error, is a 400 in Jira's shape (`jql`, `fields`);
- issues, comments (ADF bodies) and label edits, `myself`, `project/{key}`, `/_edge/tenant_info`
  (`render`, `writes`, `server`);
- Basic `email:api_token` on the site, Basic scoped tokens and OAuth 2.0 (3LO) Bearer tokens on
  `/ex/jira/{cloudId}/...`, rotating refresh tokens at `POST /oauth/token` (`auth`);
- burst, per-issue write and hourly points limits answering 429 with `Retry-After`,
  `X-RateLimit-*` and `RateLimit-Reason` (`limits`); 5xx and resets on demand (`faults`);
- search lag, moves between projects (the key changes, the id stays, the old key resolves), and
  the time zone of each user's profile (`workspace`);
- a request log (`requests`): time, credential fingerprint, budget, method, path, JQL, status,
  request and response headers (the `authorization` value redacted), throttled or not.

Its clock (`clock`, epoch seconds, plus `advance`) drives `created`/`updated` (milliseconds), token
expiry, search lag and the limits' windows, so a test's simulated time works as Jira's does.
"""

from .auth import OAuthTokens
from .jql import JqlError, parse
from .server import FakeJira, RecordedRequest
from .workspace import ACCOUNT_TYPES, IssueSnapshot, adf_text, jira_datetime

__all__ = [
    "ACCOUNT_TYPES",
    "FakeJira",
    "IssueSnapshot",
    "JqlError",
    "OAuthTokens",
    "RecordedRequest",
    "adf_text",
    "jira_datetime",
    "parse",
]
