"""A loopback stand-in for GitHub's issues API, written from GitHub's documented behaviour.

Test and demo support only (it is not in the Lambda layer). It is a real HTTP server on
127.0.0.1, so the adapter under test does real sockets, real headers and real timeouts:

    with FakeGitHub() as github:
        repo = github.add_repo("acme", "widgets")
        repo.add_issue("Crash on start", labels=["agent", "bug"])
        tracker = GitHubTracker(github.base_url, "t0ken")

What it serves, as GitHub does:
- `GET /repos/{owner}/{repo}/issues` and `GET /repositories/{id}/issues` with the filters
  `state`, `labels` (comma-separated, all must match, case-insensitive), `assignee` (a login,
  `*` or `none`), `since`, `sort`, `direction`, `per_page` (default 30, at most 100), `page`.
  Pull requests are part of the list, with a `pull_request` key.
- `Link` headers with absolute `{base}/repositories/<id>/issues?...&page=N` URLs.
- ETags (strong, or weak `W/"..."` per repository) over the body only, varying with the token
  (GitHub answers `Vary: Authorization`); the `Link` header is not part of them, so a page's
  next link can change while its ETag does not (docs: "Use conditional requests if
  appropriate", https://docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api).
- A 304 to an authorized conditional request costs no primary rate limit; an anonymous one does
  (https://docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate).
- The primary limit per credential (a token, an installation; 60 without one), from the
  stand-in's own clock (https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api):
  - a window of `primary_window_seconds` (default an hour) opens at the credential's first
    request with `primary_limit` requests (default 5,000); `x-ratelimit-reset` is its end in
    epoch seconds, and once the clock reaches it the next request opens a new, full window;
  - every answer of the API carries `x-ratelimit-limit`, `-remaining`, `-used`, `-reset` and
    `-resource: core` (not those GitHub's front end gives instead: the `bad_gateway`,
    `service_unavailable` and `gateway_timeout` faults, a `connection_reset`; nor a 401 "Bad
    credentials", nor a refusal for a missing User-Agent);
  - every answer it counts spends one request (a 200, a 201, a 404, a 422, ...); an authorized
    304 spends none, an anonymous one does; the stand-in's injected faults spend none;
  - once the window is spent, every request of the credential but `GET /rate_limit` is refused
    as GitHub documents: 403, `x-ratelimit-remaining: 0`, the window's reset, "API rate limit
    exceeded for ..." (`primary_refusals` counts them). A conditional request is refused too,
    whether its ETag still matches or not: GitHub documents that a 304 does not count against
    the limit, not that a conditional request is answered once the limit is spent; it says
    "If the `x-ratelimit-remaining` header is `0`, you should not make another request until
    after the time specified by the `x-ratelimit-reset` header"
    (https://docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api,
    "Use conditional requests" and "Handle rate limit errors appropriately").
  `set_rate_limit` and `set_installation_rate_limit` set a credential's current window.
- Secondary limits per token: points per rolling minute, one per GET, a 304 included (GitHub
  documents no exemption), five per write; requests in flight at once; and content-generating
  requests (comments, reactions, labels answered 2xx) per minute and per hour. Over any, 403
  with `retry-after` and GitHub's secondary-limit message
  (https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits).
- Writes to an issue, each needing a token that may write (401 "Requires authentication"
  without one; 403 "Resource not accessible by integration" for an installation without
  `issues: write`, "... by personal access token" for a `read_only_tokens` one), 404 for an
  unknown issue, 410 when the repository has no issues, 422 "Validation Failed" for a body
  GitHub would not take, 400 for one that is not JSON:
  - `POST /repos/{owner}/{repo}/issues/{n}/comments` `{"body": ...}`: 201 with the comment and
    a `Location`; it bumps the issue's `comments` and `updated_at` (so the listing's ETag
    changes). On a `locked` issue people with write access may comment, an app may not (403)
    (https://docs.github.com/rest/issues/comments#create-an-issue-comment,
    https://docs.github.com/communities/moderating-comments-and-conversations/locking-conversations).
  - `POST /repos/{owner}/{repo}/issues/{n}/reactions` `{"content": "eyes"}`: 201 with the
    reaction, 200 with the existing one when the user already reacted so; none on a locked
    issue (https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue).
  - `POST /repos/{owner}/{repo}/issues/{n}/labels` `{"labels": [...]}` (or a bare array, or one
    name): 200 with the issue's labels; a label the repository lacks is created, one already
    on the issue is no error, an empty list removes them all, and a change bumps `updated_at`
    (https://docs.github.com/rest/issues/labels#add-labels-to-an-issue).
  - `POST /repos/{owner}/{repo}/issues` `{"title": ..., "body", "labels", "assignees"}`: 201
    with the new issue and its `Location`; its author is the writing token's user, its
    `author_association` derived as `add_issue`'s is; labels the repository lacks are created
    (https://docs.github.com/rest/issues/issues#create-an-issue).
  - `PATCH /repos/{owner}/{repo}/issues/{n}` with any of `state` (`open`, `closed`), `title`,
    `body`, `labels` and `assignees` (each list replacing the issue's): 200 with the issue
    (https://docs.github.com/rest/issues/issues#update-an-issue).
  Either changes the issue listing's body, so its ETag, and the next poll sees the issue.
  A plain token writes as `intake-bot` (`logins`, `set_login` name others), an installation
  token as its app's bot `app-<app_id>[bot]`.
- `GET /repos/{owner}/{repo}/issues/{n}/comments` with `since`, `per_page`, `page`, ascending by
  id, with `Link`s and ETags as the issue listing has
  (https://docs.github.com/rest/issues/comments#list-issue-comments).
- `GET /repos/{owner}/{repo}/collaborators/{username}/permission`, "Get repository permissions
  for a user" (https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user):
  200 with `permission`, the legacy base role (`admin`, `write`, `read` or `none`: `maintain` is
  mapped to `write`, `triage` to `read`), `role_name` (the role itself, a custom one included) and
  the `user` with its `permissions` hash; rate-limit headers and a primary point, as every
  answer. `FakeRepo.set_permission` sets a login's role; the owner is `admin`, anyone else `none`
  (a non-collaborator: `none` is one of the documented values; its `role_name` here is the
  stand-in's own choice). A credential that may not ask gets GitHub's 403 "Must have push access
  to view collaborator permission." (what GitHub answers a token whose user cannot push): an
  anonymous caller or a `read_only_tokens` one; an installation token may (Metadata: read).
- GitHub Apps (`add_app`, `add_installation`): `GET /repos/{owner}/{repo}/installation` and
  `POST /app/installations/{id}/access_tokens` take only a JWT signed RS256 with the app's key,
  with `iss`, `iat` and an `exp` at most ten minutes ahead; anything else is a 401 in GitHub's
  words. An installation token lasts an hour (`expire_installation_tokens` ends them early),
  sees only its installation's repositories (others are a 404; `set_installation_repos` changes
  them, `uninstall` ends the installation and its tokens), counts against its
  installation's own primary and secondary limits, and is refused `GET /user` (403)
  (https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app).
  Injected faults answer the app's endpoints too, once the JWT has passed. `permissions` on
  `add_installation` are served with the installation and its tokens.
- Faults injected on demand (see `FAULTS` and `inject`; `method="POST"` fails writes only).
  Those of a GitHub blip: `server_error` (500 from the API), `bad_gateway` (502, an HTML page),
  `service_unavailable` (503) and `gateway_timeout` (504) in the words GitHub's front end uses,
  and `connection_reset` (the connection is reset without any answer: `requests` raises
  `ConnectionError`). `outage(until, kinds=...)` fails every request until the stand-in's clock
  reaches `until`, taking `kinds` in turn (by default 502, 500, a reset).
- A log of every request with its body (`requests`, `writes`): `at` (the stand-in's clock),
  `repo`, `identity`, `status` (0 for a reset connection), and whether the stand-in's own
  primary or secondary limit refused it, so a test can read each repository's cadence.

Its clock (`clock`, epoch seconds) can be a test's simulated one, so rolling windows and resets
follow the test's time rather than the wall clock.

The stand-in is one package, a module per concern, each naming the GitHub page it follows:

- `server`: `FakeGitHub`, which routes each request and serves it through the parts below;
- `repos`: `FakeRepo`, a repository's issues, labels, comments, reactions and roles as GitHub renders them;
- `pages`: the issue and comment listings a page at a time, with `Link`s, ETags and 304s;
- `limits`: the primary window per credential and the secondary limits (content creation included);
- `apps`: GitHub Apps, their JWTs, installations and installation tokens;
- `writes`: comments, reactions, labels, issues opened or edited, who writes them and who may;
- `faults`: faults injected on demand;
- `base` and `wire`: the state the parts share, the HTTP server and the shapes of GitHub's answers.
"""

from .apps import JWT_BAD_IAT, JWT_EXP_TOO_FAR, JWT_EXPIRED, JWT_UNREADABLE
from .base import RecordedRequest
from .faults import ECHO_CREDENTIAL, FAULTS, OUTAGE_KINDS
from .repos import FakeRepo
from .server import FakeGitHub
from .writes import DEFAULT_LOGIN, LOCKED_COMMENT, LOCKED_REACTION

__all__ = [
    "DEFAULT_LOGIN",
    "ECHO_CREDENTIAL",
    "FAULTS",
    "JWT_BAD_IAT",
    "JWT_EXPIRED",
    "JWT_EXP_TOO_FAR",
    "JWT_UNREADABLE",
    "LOCKED_COMMENT",
    "LOCKED_REACTION",
    "OUTAGE_KINDS",
    "FakeGitHub",
    "FakeRepo",
    "RecordedRequest",
]
