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
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import socket
import string
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from tracker_intake.domain.issue import label_names

DOCS = "https://docs.github.com/rest/issues/issues#list-repository-issues"
USER_DOCS = "https://docs.github.com/rest/users/users#get-the-authenticated-user"
COMMENTS_DOCS = "https://docs.github.com/rest/issues/comments#create-an-issue-comment"
LIST_COMMENTS_DOCS = "https://docs.github.com/rest/issues/comments#list-issue-comments"
REACTIONS_DOCS = "https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue"
LABELS_DOCS = "https://docs.github.com/rest/issues/labels#add-labels-to-an-issue"
CREATE_ISSUE_DOCS = "https://docs.github.com/rest/issues/issues#create-an-issue"
UPDATE_ISSUE_DOCS = "https://docs.github.com/rest/issues/issues#update-an-issue"
ISSUE_STATES = ("open", "closed")
LOCKING_DOCS = "https://docs.github.com/communities/moderating-comments-and-conversations/locking-conversations"
PERMISSION_DOCS = "https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user"
PERMISSION_REFUSED = "Must have push access to view collaborator permission."
# A role's base permission, as `permission` reports it (GitHub maps maintain to write, triage to read).
BASE_PERMISSIONS = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}
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
FIRST_REPO_ID = 700_000_001
# What the stand-in answers: (method, route kind); anything else is a 404.
ENDPOINTS = frozenset(
    {
        ("GET", "repo"),
        ("GET", "issues"),
        ("GET", "issue"),
        ("GET", "issue_comments"),
        ("GET", "collaborator_permission"),
        ("POST", "issues"),
        ("PATCH", "issue"),
        ("POST", "issue_comments"),
        ("POST", "issue_reactions"),
        ("POST", "issue_labels"),
    }
)
# A POST to these generates content, for the content-creation limit (an issue opened included).
CONTENT_KINDS = frozenset({"issues", "issue_comments", "issue_reactions", "issue_labels"})
# GitHub Apps: a JWT may be used for ten minutes at most; an installation token for an hour.
JWT_MAX_SECONDS = 600
JWT_LEEWAY_SECONDS = 60  # the clock drift the stand-in forgives
INSTALLATION_TOKEN_SECONDS = 3600
JWT_UNREADABLE = "A JSON web token could not be decoded"
JWT_EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"
JWT_EXPIRED = (
    "'Expiration time' claim ('exp') must be a numeric value "
    "representing the future time at which the assertion expires"
)
JWT_BAD_IAT = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
_EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

REACTION_CONTENTS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
# Who writes when a plain token does not say: the stand-in's tokens belong to this collaborator.
DEFAULT_LOGIN = "intake-bot"
# An installation's permissions unless `add_installation` says otherwise (reading issues only).
READ_ISSUES = {"issues": "read", "metadata": "read"}
# GitHub answers an app that comments on a locked issue so (write access lets people comment,
# an integration's issues: write does not).
LOCKED_COMMENT = "Unable to create comment because issue is locked."
# GitHub documents that reactions on a locked conversation are disabled for everyone, but not
# the REST answer's words: these are the stand-in's.
LOCKED_REACTION = "Unable to create reaction because issue is locked."

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
PRIMARY_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"

# In a fault's `message` or `body`: the token (or JWT) the faulted request carried, echoed back
# as a misbehaving proxy, or GitHub quoting what it refused, might.
ECHO_CREDENTIAL = "{credential}"

_LABEL_COLORS = {
    "bug": "d73a4a",
    "documentation": "0075ca",
    "duplicate": "cfd3d7",
    "enhancement": "a2eeef",
    "good first issue": "7057ff",
    "help wanted": "008672",
    "in-progress": "fbca04",
    "in-review": "0e8a16",
    "agent": "5319e7",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in received. Header names are lower-cased."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int
    repo: str | None
    url: str
    at: float = 0.0  # the stand-in's clock (epoch seconds) when the request arrived
    # whose limits it counted against: "token:<sha256 prefix>", "installation:<id>", "app:<id>"
    identity: str = "anonymous"
    secondary_limited: bool = False  # refused by the stand-in's own secondary limits
    body: bytes = b""  # what the request carried (a write's JSON)
    primary_limited: bool = False  # refused because its credential's primary window was spent

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


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


@dataclass
class _Bucket:
    limit: int
    remaining: int
    reset: int

    @property
    def used(self) -> int:
        return self.limit - self.remaining


@dataclass(frozen=True)
class _App:
    app_id: str
    public_key: RSAPublicKey


@dataclass(frozen=True)
class _Installation:
    installation_id: int
    app_id: str
    repos: frozenset[str]  # "owner/name", casefolded
    permissions: Mapping[str, str] = field(default_factory=lambda: dict(READ_ISSUES))


@dataclass
class _InstallationToken:
    installation_id: int
    expires_at: float  # the stand-in's clock


@dataclass(frozen=True)
class _Writer:
    """Who a write is by: a user behind a plain token, or an installation's bot."""

    login: str
    app_id: str | None = None  # set for an installation token: the app's bot writes

    @property
    def is_bot(self) -> bool:
        return self.app_id is not None


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    primary_limited: bool = False  # the stand-in's own primary window refused it
    reset: bool = False  # no answer: the connection is reset instead


class FakeRepo:
    """One repository of the stand-in. Mutations are thread-safe and change its ETags."""

    def __init__(
        self,
        github: FakeGitHub,
        owner: str,
        name: str,
        repo_id: int,
        *,
        weak_etags: bool,
        private: bool,
        has_issues: bool,
    ) -> None:
        self._github = github
        self.owner = owner
        self.name = name
        self.repo_id = repo_id
        self.weak_etags = weak_etags
        self.private = private
        self.has_issues = has_issues
        self._issues: dict[int, dict[str, Any]] = {}
        self._labels: dict[str, dict[str, Any]] = {}
        self._comments: dict[int, list[dict[str, Any]]] = {}  # by issue number, oldest first
        self._reactions: dict[int, list[dict[str, Any]]] = {}
        # login (casefolded) -> (role_name, base permission)
        self._roles: dict[str, tuple[str, str]] = {}

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def __repr__(self) -> str:
        return f"FakeRepo({self.full_name!r}, id={self.repo_id}, issues={len(self._issues)})"

    # --- issues ----------------------------------------------------------------------

    def add_issue(
        self,
        title: str,
        *,
        number: int | None = None,
        labels: Iterable[str | Mapping[str, Any]] = (),
        assignees: Iterable[str] = (),
        body: str = "",
        state: str = "open",
        pull_request: bool = False,
        created_at: datetime | None = None,
        user: str = "octocat",
        author_association: str | None = None,
        comments: int = 0,
        labels_as_strings: bool = False,
        locked: bool = False,
    ) -> dict[str, Any]:
        """Add an issue (or a pull request) and return it as GitHub would list it.

        A label given as a string becomes a label object in GitHub's schema; a mapping is
        served exactly as given. `labels_as_strings` serves the names as bare strings.
        `author_association` is served as given (`update_issue` can change it, as GitHub's
        answer changes when the author joins or leaves); by default it is OWNER for the
        repository's owner and COLLABORATOR for anyone else: the stand-in's authors can write
        to the repository unless a test says otherwise. A `locked` issue takes comments only
        from people with write access, and reactions from nobody.
        """
        with self._github._lock:
            if number is None:
                number = max(self._issues, default=0) + 1
            if number in self._issues:
                raise ValueError(f"{self.full_name} already has #{number}")
            created = created_at or self._github._tick()
            self._issues[number] = {
                "number": number,
                "title": title,
                "body": body,
                "state": state,
                "labels": list(labels),
                "labels_as_strings": labels_as_strings,
                "assignees": list(assignees),
                "pull_request": pull_request,
                "created_at": created,
                "updated_at": created,
                "closed_at": created if state == "closed" else None,
                "user": user,
                "author_association": author_association,
                "comments": comments,
                "locked": locked,
                "id": self._github._next_issue_id(),
            }
            return self._render(self._issues[number])

    def update_issue(self, number: int, **changes: Any) -> dict[str, Any]:
        """Change fields (title, body, labels, assignees, state, comments, ...); bumps updated_at."""
        with self._github._lock:
            stored = self._issues[number]
            unknown = set(changes) - set(stored) - {"pull_request"}
            if unknown:
                raise TypeError(f"unknown issue fields: {sorted(unknown)}")
            for key, value in changes.items():
                stored[key] = list(value) if key in ("labels", "assignees") else value
            self._bump(stored)
            if "state" in changes:
                stored["closed_at"] = stored["updated_at"] if changes["state"] == "closed" else None
            return self._render(stored)

    def close_issue(self, number: int) -> dict[str, Any]:
        return self.update_issue(number, state="closed")

    def reopen_issue(self, number: int) -> dict[str, Any]:
        return self.update_issue(number, state="open")

    def delete_issue(self, number: int) -> None:
        """The issue disappears from every list (deleted or transferred)."""
        with self._github._lock:
            del self._issues[number]

    def issue(self, number: int) -> dict[str, Any]:
        with self._github._lock:
            return self._render(self._issues[number])

    def issues(self) -> list[dict[str, Any]]:
        """Every issue and pull request, open or closed, by number."""
        with self._github._lock:
            return [self._render(self._issues[n]) for n in sorted(self._issues)]

    def label(self, name: str, *, color: str | None = None, description: str | None = None) -> dict[str, Any]:
        """The repository's label object for `name` (created on first use, like GitHub's UI)."""
        with self._github._lock:
            key = name.casefold()
            if key not in self._labels:
                digest = hashlib.sha256(f"{self.full_name}:{key}".encode()).hexdigest()
                label_id = int(digest[:8], 16)
                self._labels[key] = {
                    "id": label_id,
                    "node_id": f"LA_kwDO{label_id:010d}",
                    "url": f"{self._api}/labels/{quote(name, safe='')}",
                    "name": name,
                    "color": color or _LABEL_COLORS.get(key, digest[8:14]),
                    "default": key in _LABEL_COLORS and key not in ("agent", "in-progress", "in-review"),
                    "description": description,
                }
            return dict(self._labels[key])

    # --- comments, reactions, labels written to an issue -------------------------------

    def add_comment(self, number: int, body: str, *, user: str = "octocat") -> dict[str, Any]:
        """A comment by `user` on issue `number`, as if written on GitHub; returns it as served."""
        with self._github._lock:
            # Seeded as written earlier: the stand-in's own (advancing) clock, a moment apart each.
            return self._comment(number, body, _Writer(user), at=self._github._tick())

    def comments(self, number: int) -> list[dict[str, Any]]:
        """Issue `number`'s comments as GitHub serves them, oldest first."""
        with self._github._lock:
            return [self._render_comment(number, c) for c in self._comments.get(number, [])]

    def reactions(self, number: int) -> list[dict[str, Any]]:
        """The reactions on issue `number` (not on its comments), oldest first."""
        with self._github._lock:
            return [self._render_reaction(r) for r in self._reactions.get(number, [])]

    def _comment(self, number: int, body: str, writer: _Writer, at: datetime | None = None) -> dict[str, Any]:
        stored = self._issues[number]
        self._bump(stored)
        # Written over HTTP: stamped with the server's clock, as GitHub stamps what is written to
        # it, so a client that lists comments `since` the moment it wrote (by its clock) finds them.
        at = at or datetime.fromtimestamp(self._github.clock(), UTC)
        comment = {"id": self._github._next_write_id(), "body": body, "writer": writer, "at": at}
        self._comments.setdefault(number, []).append(comment)
        stored["comments"] += 1
        return self._render_comment(number, comment)

    def _react(self, number: int, content: str, writer: _Writer) -> tuple[dict[str, Any], bool]:
        """(the reaction, whether it is new): one of each content per user and issue."""
        reactions = self._reactions.setdefault(number, [])
        for reaction in reactions:
            if reaction["content"] == content and reaction["writer"].login.casefold() == writer.login.casefold():
                return self._render_reaction(reaction), False
        # A reaction does not touch the issue's updated_at, so the listing's ETag holds.
        reaction = {"id": self._github._next_write_id(), "content": content, "writer": writer}
        reaction["at"] = datetime.fromtimestamp(self._github.clock(), UTC)
        reactions.append(reaction)
        return self._render_reaction(reaction), True

    def _add_labels(self, number: int, names: list[str]) -> list[dict[str, Any]]:
        """Add `names` to the issue's labels (an empty list removes them all); the issue's labels."""
        stored = self._issues[number]
        have = {name.casefold() for name in label_names(stored["labels"])}
        added = [self.label(name)["name"] for name in names if name.casefold() not in have]
        if not names and stored["labels"]:
            stored["labels"] = []
            self._bump(stored)
        elif added:
            stored["labels"] = [*stored["labels"], *dict.fromkeys(added)]
            self._bump(stored)
        return [self.label(item) if isinstance(item, str) else dict(item) for item in stored["labels"]]

    def _bump(self, stored: dict[str, Any]) -> datetime:
        moment: datetime = max(self._github._tick(), stored["updated_at"] + timedelta(seconds=1))
        stored["updated_at"] = moment
        return moment

    def _render_comment(self, number: int, comment: Mapping[str, Any]) -> dict[str, Any]:
        writer: _Writer = comment["writer"]
        kind = "pull" if self._issues[number]["pull_request"] else "issues"
        if writer.is_bot:
            association = "NONE"
        else:
            association = "OWNER" if writer.login.casefold() == self.owner.casefold() else "COLLABORATOR"
        return {
            "id": comment["id"],
            "node_id": f"IC_kwDO{comment['id']:012d}",
            "url": f"{self._api}/issues/comments/{comment['id']}",
            "html_url": f"{self._github.html_base}/{self.full_name}/{kind}/{number}#issuecomment-{comment['id']}",
            "body": comment["body"],
            "user": self._github._user_of(writer),
            "created_at": _iso(comment["at"]),
            "updated_at": _iso(comment["at"]),
            "issue_url": f"{self._api}/issues/{number}",
            "author_association": association,
            "performed_via_github_app": self._github._app_json(writer.app_id) if writer.app_id else None,
        }

    def _render_reaction(self, reaction: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": reaction["id"],
            "node_id": f"REA_lATO{reaction['id']:012d}",
            "user": self._github._user_of(reaction["writer"]),
            "content": reaction["content"],
            "created_at": _iso(reaction["at"]),
        }

    # --- who may write ----------------------------------------------------------------

    def set_permission(self, login: str, role: str | None, *, base: str | None = None) -> None:
        """`login`'s role on the repository: `admin`, `maintain`, `write`, `triage`, `read`, or a
        custom role named with its `base` (one of those); None takes it away (`none`)."""
        with self._github._lock:
            if role is None:
                self._roles.pop(login.casefold(), None)
                return
            permission = BASE_PERMISSIONS.get(base or role)
            if permission is None:
                raise ValueError(f"{role!r} needs a base role: one of {', '.join(BASE_PERMISSIONS)}")
            self._roles[login.casefold()] = (role, permission)

    def permission_of(self, login: str) -> tuple[str, str]:
        """(role_name, permission) as GitHub answers them for `login`."""
        with self._github._lock:
            if login.casefold() == self.owner.casefold():
                return "admin", "admin"
            return self._roles.get(login.casefold(), ("none", "none"))

    # --- what GitHub would answer ----------------------------------------------------

    @property
    def _api(self) -> str:
        return f"{self._github.base_url}/repos/{self.full_name}"

    def _render(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        number = stored["number"]
        kind = "pull" if stored["pull_request"] else "issues"
        labels: list[Any] = []
        for item in stored["labels"]:
            if isinstance(item, str):
                labels.append(item if stored["labels_as_strings"] else self.label(item))
            else:
                labels.append(dict(item))
        assignees = [_user(login, self._github.base_url) for login in stored["assignees"]]
        issue: dict[str, Any] = {
            "url": f"{self._api}/issues/{number}",
            "repository_url": self._api,
            "labels_url": f"{self._api}/issues/{number}/labels{{/name}}",
            "comments_url": f"{self._api}/issues/{number}/comments",
            "events_url": f"{self._api}/issues/{number}/events",
            "html_url": f"{self._github.html_base}/{self.full_name}/{kind}/{number}",
            "id": stored["id"],
            "node_id": f"I_kwDO{stored['id']:012d}",
            "number": number,
            "title": stored["title"],
            "user": _user(stored["user"], self._github.base_url),
            "labels": labels,
            "state": stored["state"],
            "locked": stored["locked"],
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": None,
            "comments": stored["comments"],
            "created_at": _iso(stored["created_at"]),
            "updated_at": _iso(stored["updated_at"]),
            "closed_at": _iso(stored["closed_at"]) if stored["closed_at"] else None,
            "author_association": self._association(stored),
            "active_lock_reason": None,
            "body": stored["body"] or None,
            "state_reason": "completed" if stored["state"] == "closed" else None,
        }
        if stored["pull_request"]:
            issue["pull_request"] = {
                "url": f"{self._api}/pulls/{number}",
                "html_url": issue["html_url"],
                "diff_url": f"{issue['html_url']}.diff",
                "patch_url": f"{issue['html_url']}.patch",
                "merged_at": None,
            }
        return issue

    def _association(self, stored: Mapping[str, Any]) -> str:
        given = stored["author_association"]
        if given is not None:
            return str(given)
        return "OWNER" if stored["user"] == self.owner else "COLLABORATOR"

    def _listing(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        """The stored issues GitHub would list for `query`, in its order (not yet rendered)."""
        state = query.get("state", "open")
        wanted_labels = [part.strip().casefold() for part in query.get("labels", "").split(",") if part.strip()]
        assignee = query.get("assignee")
        since = _parse_since(query.get("since"))
        rows = []
        for stored in self._issues.values():
            if state != "all" and stored["state"] != (state if state in ("open", "closed") else "open"):
                continue
            have = {name.casefold() for name in label_names(stored["labels"])}
            if any(label not in have for label in wanted_labels):
                continue
            logins = {login.casefold() for login in stored["assignees"]}
            if assignee == "*" and not logins:
                continue
            if assignee == "none" and logins:
                continue
            if assignee not in (None, "", "*", "none") and assignee.casefold() not in logins:
                continue
            if since is not None and stored["updated_at"] < since:
                continue
            rows.append(stored)
        sort = query.get("sort", "created")
        sort_key = {"updated": "updated_at", "comments": "comments"}.get(sort, "created_at")
        descending = query.get("direction", "desc") != "asc"
        rows.sort(key=lambda s: (s[sort_key], s["number"]), reverse=descending)
        return rows


class FakeGitHub:
    """The stand-in server. It listens as soon as it is built; `stop()` (or `with`) ends it."""

    def __init__(
        self,
        per_page_default: int = 30,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        prefix: str = "",
        tokens: Iterable[str] | None = None,
        html_base: str = "https://github.com",
        clock: Callable[[], float] = time.time,
        secondary_points_per_minute: int = SECONDARY_POINTS_PER_MINUTE,
        secondary_concurrency: int = SECONDARY_CONCURRENCY,
        secondary_content_per_minute: int = SECONDARY_CONTENT_PER_MINUTE,
        secondary_content_per_hour: int = SECONDARY_CONTENT_PER_HOUR,
        logins: Mapping[str, str] | None = None,
        read_only_tokens: Iterable[str] = (),
        primary_limit: int = AUTHENTICATED_LIMIT,
        primary_window_seconds: int = RATE_WINDOW_SECONDS,
    ) -> None:
        """`primary_limit` requests per `primary_window_seconds` for each token and installation
        (an anonymous caller keeps 60), on `clock`: a test's small window on its simulated clock
        behaves as GitHub's hour does."""
        if primary_window_seconds <= 0:
            raise ValueError("primary_window_seconds must be positive")
        self.per_page_default = per_page_default
        self.primary_limit = primary_limit
        self.primary_window_seconds = primary_window_seconds
        # A GitHub Enterprise Server API lives under /api/v3: `prefix="/api/v3"` mimics it.
        self.prefix = prefix.rstrip("/")
        # None accepts any token; a set answers 401 "Bad credentials" to every other one.
        self.tokens = None if tokens is None else set(tokens)
        self.html_base = html_base
        self.clock = clock
        self.secondary_points_per_minute = secondary_points_per_minute
        self.secondary_concurrency = secondary_concurrency
        self.secondary_content_per_minute = secondary_content_per_minute
        self.secondary_content_per_hour = secondary_content_per_hour
        # A plain token writes as its login (DEFAULT_LOGIN unless mapped); a read-only one cannot.
        self._logins = dict(logins or {})
        self._read_only = set(read_only_tokens)
        self._points: dict[str, deque[tuple[float, int]]] = {}  # (when, points) per identity
        self._content: dict[str, deque[float]] = {}  # content-generating requests per identity
        self._in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self._lock = threading.RLock()
        self._repos: dict[str, FakeRepo] = {}
        self._repos_by_id: dict[int, FakeRepo] = {}
        self._faults: list[_Fault] = []
        self._requests: list[RecordedRequest] = []
        self._buckets: dict[str, _Bucket] = {}  # each identity's current primary window
        self._limits: dict[str, int] = {}  # an identity's own primary limit, when not the default
        self._apps: dict[str, _App] = {}
        self._installations: dict[int, _Installation] = {}
        self._installation_tokens: dict[str, _InstallationToken] = {}
        self._clock = _EPOCH
        self._issue_ids = 1_000_000_000
        self._write_ids = 2_000_000_000  # comments and reactions
        self._stopping = threading.Event()
        self._server = _Server((host, port), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-github", kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.prefix}"

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()  # wakes any `slow` answer that is still sleeping
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeGitHub:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- repositories ----------------------------------------------------------------

    def add_repo(
        self,
        owner: str,
        name: str,
        repo_id: int | None = None,
        weak_etags: bool = False,
        *,
        private: bool = False,
        has_issues: bool = True,
    ) -> FakeRepo:
        """A repository. `private` ones are visible to any token but not to anonymous calls."""
        with self._lock:
            key = f"{owner}/{name}".casefold()
            if key in self._repos:
                raise ValueError(f"{owner}/{name} exists already")
            repo_id = repo_id or FIRST_REPO_ID + len(self._repos)
            if repo_id in self._repos_by_id:
                raise ValueError(f"repository id {repo_id} is taken")
            repo = FakeRepo(self, owner, name, repo_id, weak_etags=weak_etags, private=private, has_issues=has_issues)
            self._repos[key] = self._repos_by_id[repo_id] = repo
            return repo

    def repo(self, full_name: str) -> FakeRepo:
        with self._lock:
            return self._repos[full_name.casefold()]

    # --- GitHub Apps -----------------------------------------------------------------

    def add_app(self, app_id: str | int, public_key_pem: str | bytes) -> None:
        """A GitHub App: JWTs whose `iss` is `app_id` must verify with this RSA public key."""
        pem = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
        key = serialization.load_pem_public_key(pem)
        if not isinstance(key, RSAPublicKey):
            raise ValueError("a GitHub App's key is an RSA key")
        with self._lock:
            self._apps[str(app_id)] = _App(str(app_id), key)

    def add_installation(
        self,
        app_id: str | int,
        installation_id: int,
        repos: Iterable[str],
        limit: int | None = None,
        *,
        permissions: Mapping[str, str] | None = None,
    ) -> None:
        """The app installed on `repos` ("owner/name"), its tokens `limit` requests a window
        (default `primary_limit`); its first window opens at its tokens' first request.

        `permissions` (default `READ_ISSUES`) are served with the installation and its tokens;
        writing to an issue needs `{"issues": "write"}`.
        """
        with self._lock:
            if str(app_id) not in self._apps:
                raise ValueError(f"no app {app_id}: add_app first")
            if installation_id in self._installations:
                raise ValueError(f"installation {installation_id} exists already")
            covered = frozenset(name.casefold() for name in repos)
            granted = dict(permissions if permissions is not None else READ_ISSUES)
            self._installations[installation_id] = _Installation(installation_id, str(app_id), covered, granted)
            identity = _installation_identity(installation_id)
            self._limits[identity] = limit if limit is not None else self.primary_limit
            self._buckets.pop(identity, None)

    def set_installation_repos(self, installation_id: int, repos: Iterable[str]) -> None:
        """The installation now covers `repos` only; its tokens, minted or not, follow at once."""
        with self._lock:
            covered = frozenset(name.casefold() for name in repos)
            self._installations[installation_id] = replace(self._installations[installation_id], repos=covered)

    def set_installation_permissions(self, installation_id: int, permissions: Mapping[str, str]) -> None:
        """The installation's permissions change (the owner accepted new ones); its tokens follow at once."""
        with self._lock:
            granted = dict(permissions)
            self._installations[installation_id] = replace(self._installations[installation_id], permissions=granted)

    def uninstall(self, installation_id: int) -> None:
        """The app uninstalled: lookups and mints no longer find the installation, its tokens are 401."""
        with self._lock:
            del self._installations[installation_id]
            for token in self._installation_tokens.values():
                if token.installation_id == installation_id:
                    token.expires_at = min(token.expires_at, self.clock())

    def expire_installation_tokens(self) -> None:
        """Every installation token minted so far is expired from now on (401 Bad credentials)."""
        with self._lock:
            for token in self._installation_tokens.values():
                token.expires_at = min(token.expires_at, self.clock())

    def issued_installation_tokens(self) -> list[str]:
        """Every installation token minted so far, expired or not (what leak checks look for)."""
        with self._lock:
            return list(self._installation_tokens)

    def set_installation_rate_limit(self, installation_id: int, *, remaining: int, reset_in: int | None = None) -> None:
        """Set an installation's current window (see `set_rate_limit`); at 0 its tokens get
        GitHub's primary-limit 403 until it resets."""
        with self._lock:
            self._set_window(_installation_identity(installation_id), remaining, None, reset_in)

    def installation_rate_remaining(self, installation_id: int) -> int:
        with self._lock:
            return self._peek(_installation_identity(installation_id)).remaining

    # --- who writes ------------------------------------------------------------------

    def set_login(self, token: str, login: str) -> None:
        """What `token` writes as (a plain token writes as DEFAULT_LOGIN unless mapped)."""
        with self._lock:
            self._logins[token] = login

    def set_read_only(self, token: str, read_only: bool = True) -> None:
        """A read-only token reads as before; its writes are GitHub's 403 for a token without access."""
        with self._lock:
            if read_only:
                self._read_only.add(token)
            else:
                self._read_only.discard(token)

    # --- faults ----------------------------------------------------------------------

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

    # --- rate limits -----------------------------------------------------------------

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

    # --- the request log -------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, full_name: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self._requests if r.repo and r.repo.casefold() == full_name.casefold()]

    def writes(self, full_name: str | None = None) -> list[RecordedRequest]:
        """Every request but GETs and HEADs (a token mint included), of one repository if named."""
        with self._lock:
            chosen = self._requests if full_name is None else self.requests_for(full_name)
            return [r for r in chosen if r.method not in ("GET", "HEAD")]

    def permission_requests(self, full_name: str | None = None) -> list[RecordedRequest]:
        """Every request for a collaborator's permission (of one repository, if named)."""
        with self._lock:
            chosen = self._requests if full_name is None else self.requests_for(full_name)
            return [r for r in chosen if r.path.rstrip("/").endswith("/permission")]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # --- serving ---------------------------------------------------------------------

    def _tick(self) -> datetime:
        self._clock += timedelta(minutes=1)
        return self._clock

    def _next_issue_id(self) -> int:
        self._issue_ids += 1
        return self._issue_ids

    def _next_write_id(self) -> int:
        self._write_ids += 1
        return self._write_ids

    def _user_of(self, writer: _Writer) -> dict[str, Any]:
        if not writer.is_bot:
            return _user(writer.login, self.base_url)
        return {
            **_user(writer.login, self.base_url),
            "type": "Bot",
            "html_url": f"https://github.com/apps/app-{writer.app_id}",
        }

    def _app_json(self, app_id: str) -> dict[str, Any]:
        return {"id": int(app_id) if app_id.isdigit() else app_id, "slug": f"app-{app_id}", "name": f"app-{app_id}"}

    def _writer(self, token: str | None) -> _Writer:
        issued = self._installation_tokens.get(token) if token is not None else None
        if issued is not None:
            installation = self._installations.get(issued.installation_id)
            app_id = installation.app_id if installation is not None else "0"
            return _Writer(f"app-{app_id}[bot]", app_id)
        return _Writer(self._logins.get(token or "", DEFAULT_LOGIN))

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        path = split.path
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in handler.headers.items()}
        body = handler.rfile.read(max(_int(headers.get("content-length"), 0), 0))
        method = handler.command
        with self._lock:
            identity = self._identity_of(_token(headers.get("authorization"))[0])
            kind, repo, _ = self._route(path)
            fault = self._take_fault(repo, query, method)
            in_flight = self._in_flight[identity] = self._in_flight.get(identity, 0) + 1
            self.max_in_flight[identity] = max(self.max_in_flight.get(identity, 0), in_flight)
        try:
            if fault is not None and fault.kind == "slow":
                self._stopping.wait(float(fault.params.get("seconds", 2.0)))
                fault = None
            with self._lock:
                at = self.clock()
                points = WRITE_POINTS if method in WRITE_METHODS and kind != "access_tokens" else 1
                content = method == "POST" and kind in CONTENT_KINDS
                limited = self._secondary_limit(identity, in_flight, at, points, content)
                if limited is not None:  # GitHub's refusal carries the primary window too; spends none of it
                    limited.headers.update(_rate_headers(self._window(identity)))
                response = limited or self._respond(
                    method, path, split.query, query, headers, identity, repo, fault, body
                )
                if content and limited is None and 200 <= response.status < 300:
                    self._content.setdefault(identity, deque()).append(at)
                self._requests.append(
                    RecordedRequest(
                        method=method,
                        path=path,
                        query=query,
                        headers=headers,
                        status=response.status,
                        repo=repo.full_name if repo else None,
                        url=f"http://{headers.get('host', '')}{handler.path}",
                        at=at,
                        identity=identity,
                        secondary_limited=limited is not None,
                        body=body,
                        primary_limited=response.primary_limited,
                    )
                )
            if response.reset:
                self._server.reset(handler.connection)
                handler.close_connection = True
                return
            _write(handler, response)
        finally:
            with self._lock:
                self._in_flight[identity] -= 1

    def _identity_of(self, token: str | None) -> str:
        """Whose limits a request counts against: an installation's, an app's (a JWT), a token's."""
        issued = self._installation_tokens.get(token) if token is not None else None
        if issued is not None:
            return _installation_identity(issued.installation_id)
        issuer = _jwt_issuer(token)
        return f"app:{issuer}" if issuer is not None else _identity(token)

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

    def _route(self, path: str) -> tuple[str, FakeRepo | None, int | None]:
        """(what is asked, which repository, which issue number)."""
        if self.prefix:
            if not path.startswith(self.prefix + "/"):
                return "unknown", None, None
            path = path[len(self.prefix) :]
        parts = [unquote(p) for p in path.strip("/").split("/")]
        repo: FakeRepo | None = None
        rest: list[str] = []
        if parts[:1] == ["repos"] and len(parts) >= 3:
            repo = self._repos.get(f"{parts[1]}/{parts[2]}".casefold())
            rest = parts[3:]
            missing = "missing-repo"
        elif parts[:1] == ["repositories"] and len(parts) >= 2 and parts[1].isdigit():
            repo = self._repos_by_id.get(int(parts[1]))
            rest = parts[2:]
            missing = "missing-repo"
        elif parts == ["rate_limit"]:
            return "rate_limit", None, None
        elif parts == ["user"]:
            return "user", None, None
        elif len(parts) == 4 and parts[:2] == ["app", "installations"] and parts[3] == "access_tokens":
            return "access_tokens", None, int(parts[2]) if parts[2].isdigit() else None
        else:
            return "unknown", None, None
        if parts[0] == "repos" and rest == ["installation"]:
            return "installation", repo, None  # the app's question, whether the stand-in has the repo or not
        if repo is None:
            return missing, None, None
        if not rest:
            return "repo", repo, None
        if rest == ["issues"]:
            return "issues", repo, None
        if len(rest) == 3 and rest[0] == "collaborators" and rest[2] == "permission":
            return "collaborator_permission", repo, None
        if len(rest) == 2 and rest[0] == "issues" and rest[1].isdigit():
            return "issue", repo, int(rest[1])
        if (
            len(rest) == 3
            and rest[0] == "issues"
            and rest[1].isdigit()
            and rest[2] in ("comments", "reactions", "labels")
        ):
            return f"issue_{rest[2]}", repo, int(rest[1])
        return "unknown", repo, None

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

    def _respond(
        self,
        method: str,
        path: str,
        raw_query: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        identity: str,
        repo: FakeRepo | None,
        fault: _Fault | None,
        body: bytes = b"",
    ) -> _Response:
        if not headers.get("user-agent"):
            return _json(
                403,
                {
                    "message": "Request forbidden by administrative rules. "
                    "Please make sure your request has a User-Agent header "
                    "(https://docs.github.com/rest/overview/resources-in-the-rest-api#user-agent-required)."
                },
            )
        token, auth_ok = _token(headers.get("authorization"))
        kind, _, number = self._route(path)
        if auth_ok and kind in ("installation", "access_tokens"):
            return self._as_app(method, kind, path, token, number, fault)
        issued = self._installation_tokens.get(token) if token is not None else None
        if issued is not None:
            auth_ok = issued.expires_at > self.clock()
        elif token is not None and _jwt_issuer(token) is not None:
            auth_ok = False  # a JWT is for the app's own endpoints only
        elif token is not None and self.tokens is not None:
            auth_ok = token in self.tokens
        if not auth_ok:
            return _bad_credentials()
        bucket = self._window(identity)
        rate = _rate_headers(bucket)
        writing = method in WRITE_METHODS and (method, kind) in ENDPOINTS
        docs = _endpoint_docs(method, kind)

        if kind == "rate_limit":
            core = {
                "limit": bucket.limit,
                "remaining": bucket.remaining,
                "reset": bucket.reset,
                "used": bucket.used,
            }
            return _json(200, {"resources": {"core": core}, "rate": core}, rate)
        if writing and token is None:
            return self._spend(bucket, _json(401, {"message": "Requires authentication", "documentation_url": docs}))
        if fault is not None and fault.kind != "vanish_after_first_page":
            return self._fault_response(fault, bucket, rate, token)
        if bucket.remaining <= 0:
            return self._primary_refusal(identity, token, rate)
        if kind == "user" and issued is not None:
            return self._spend(
                bucket,
                _json(403, {"message": "Resource not accessible by integration", "documentation_url": USER_DOCS}),
            )
        if (method, kind) not in ENDPOINTS:
            return self._spend(bucket, _json(404, _not_found()))
        if repo is None or (repo.private and token is None):
            return self._spend(bucket, _json(404, _not_found()))
        if issued is not None and repo.full_name.casefold() not in self._installations[issued.installation_id].repos:
            return self._spend(bucket, _json(404, _not_found()))  # GitHub hides what an installation cannot see
        if kind == "repo":
            return self._spend(bucket, _json(200, _repo_json(repo, self.base_url)))
        if kind == "collaborator_permission":
            return self._spend(bucket, self._collaborator_permission(repo, path, token, issued))
        if writing:
            refusal = self._write_refusal(token, issued, docs)
            if refusal is not None:
                return self._spend(bucket, refusal)
        if not repo.has_issues:
            return self._spend(
                bucket,
                _json(410, {"message": "Issues are disabled for this repo", "documentation_url": docs}),
            )
        if kind == "issues" and method == "POST":
            return self._spend(bucket, self._open_issue(repo, body, self._writer(token)))
        if kind == "issues":
            return self._issues_page(repo, raw_query, query, headers, identity, bucket, fault)
        assert number is not None
        if number not in repo._issues:
            return self._spend(bucket, _json(404, _not_found()))
        if kind == "issue" and method == "PATCH":
            return self._spend(bucket, self._edit_issue(repo, number, body))
        if kind == "issue":
            return self._spend(bucket, _json(200, repo._render(repo._issues[number])))
        if method == "GET":
            return self._comments_page(repo, number, raw_query, query, headers, identity, bucket)
        return self._spend(bucket, self._write_to_issue(kind, repo, number, body, self._writer(token), docs))

    def _collaborator_permission(
        self, repo: FakeRepo, path: str, token: str | None, issued: _InstallationToken | None
    ) -> _Response:
        """GitHub's answer on one login's permission; its 403 to a credential whose user cannot push."""
        if issued is None and (token is None or token in self._read_only):
            return _json(403, {"message": PERMISSION_REFUSED, "documentation_url": PERMISSION_DOCS, "status": "403"})
        login = unquote(path.rstrip("/").split("/")[-2])
        role, permission = repo.permission_of(login)
        level = ("read", "triage", "write", "maintain", "admin")
        held = level.index(role) if role in level else level.index(permission) if permission != "none" else -1
        user = {
            **_user(login, self.base_url),
            "permissions": {
                "admin": held >= 4,
                "maintain": held >= 3,
                "push": held >= 2,
                "triage": held >= 1,
                "pull": held >= 0,
            },
            "role_name": role,
        }
        return _json(200, {"permission": permission, "role_name": role, "user": user})

    def _primary_refusal(self, identity: str, token: str | None, rate: dict[str, str]) -> _Response:
        """GitHub's answer once the window is spent: 403, remaining 0, the window's reset; it spends nothing.

        GitHub documents "403 or 429"; the stand-in answers 403 (the `primary_rate_limit` fault
        takes `status=429`). It refuses a conditional request too: GitHub documents no exemption
        for one once the limit is spent (see the module's docstring).
        """
        if identity.startswith("installation:"):
            who = identity.replace("installation:", "installation ID ") + "."
        elif token is None:
            who = (
                "127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. "
                "Check out the documentation for more details.)"
            )
        else:
            who = f"user ID {_user(self._writer(token).login, self.base_url)['id']}."
        refusal = _json(403, {"message": f"API rate limit exceeded for {who}", "documentation_url": PRIMARY_DOCS}, rate)
        refusal.primary_limited = True
        return refusal

    def _write_refusal(self, token: str | None, issued: _InstallationToken | None, docs: str) -> _Response | None:
        """GitHub's 403 for a credential that may read the repository but not write to its issues."""
        if issued is not None:
            installation = self._installations[issued.installation_id]
            if installation.permissions.get("issues") != "write":
                return _json(
                    403,
                    {"message": "Resource not accessible by integration", "documentation_url": docs, "status": "403"},
                )
        elif token in self._read_only:
            return _json(
                403,
                {
                    "message": "Resource not accessible by personal access token",
                    "documentation_url": docs,
                    "status": "403",
                },
            )
        return None

    def _write_to_issue(
        self, kind: str, repo: FakeRepo, number: int, raw: bytes, writer: _Writer, docs: str
    ) -> _Response:
        """A comment, a reaction or labels written to an existing issue, validated as GitHub does."""
        try:
            payload = json.loads(raw) if raw.strip() else None
        except ValueError:
            return _json(400, {"message": "Problems parsing JSON", "documentation_url": docs, "status": "400"})
        locked = repo._issues[number]["locked"]
        if kind == "issue_comments":
            text = payload.get("body") if isinstance(payload, dict) else None
            if not isinstance(text, str) or not text:
                return _invalid("IssueComment", "body", docs)
            if locked and writer.is_bot:
                return _json(403, {"message": LOCKED_COMMENT, "documentation_url": LOCKING_DOCS})
            comment = repo._comment(number, text, writer)
            return _json(201, comment, {"Location": comment["url"]})
        if kind == "issue_reactions":
            content = payload.get("content") if isinstance(payload, dict) else None
            if content not in REACTION_CONTENTS:
                return _invalid("Reaction", "content", docs)
            if locked:
                return _json(403, {"message": LOCKED_REACTION, "documentation_url": LOCKING_DOCS})
            reaction, created = repo._react(number, str(content), writer)
            return _json(201 if created else 200, reaction)
        names = _label_names_given(payload)
        if names is None:
            return _invalid("Label", "labels", docs)
        return _json(200, repo._add_labels(number, names))

    def _open_issue(self, repo: FakeRepo, raw: bytes, writer: _Writer) -> _Response:
        """Create an issue as GitHub does (CREATE_ISSUE_DOCS): `title` is required; the writer is its author."""
        payload = _parsed(raw)
        if not isinstance(payload, dict):
            return _unparsable(CREATE_ISSUE_DOCS)
        fields = _issue_fields(payload, CREATE_ISSUE_DOCS)
        if isinstance(fields, _Response):
            return fields
        if "title" not in fields:
            return _invalid("Issue", "title", CREATE_ISSUE_DOCS)
        labels = [repo.label(name)["name"] for name in fields.get("labels", [])]
        issue = repo.add_issue(
            str(fields["title"]),
            labels=dict.fromkeys(labels),
            assignees=fields.get("assignees", []),
            body=str(fields.get("body") or ""),
            # GitHub's moment, not the stand-in's simulated `_tick`: a poll compares it with its own.
            created_at=datetime.fromtimestamp(self.clock(), UTC),
            user=writer.login,
        )
        return _json(201, issue, {"Location": issue["url"]})

    def _edit_issue(self, repo: FakeRepo, number: int, raw: bytes) -> _Response:
        """Update an issue as GitHub does (UPDATE_ISSUE_DOCS): only the fields sent change."""
        payload = _parsed(raw)
        if not isinstance(payload, dict):
            return _unparsable(UPDATE_ISSUE_DOCS)
        fields = _issue_fields(payload, UPDATE_ISSUE_DOCS)
        if isinstance(fields, _Response):
            return fields
        if "labels" in fields:
            fields["labels"] = list(dict.fromkeys(repo.label(name)["name"] for name in fields["labels"]))
        if "body" in fields:
            fields["body"] = fields["body"] or ""
        return _json(200, repo.update_issue(number, **fields) if fields else repo._render(repo._issues[number]))

    def _as_app(
        self, method: str, kind: str, path: str, token: str | None, installation_id: int | None, fault: _Fault | None
    ) -> _Response:
        """The app's own endpoints, which take its JWT and nothing else."""
        app, refusal = self._verify_jwt(token)
        if app is None:
            return _json(401, {"message": refusal, "documentation_url": "https://docs.github.com/rest"})
        if fault is not None and fault.kind != "vanish_after_first_page":
            return self._fault_response(fault, self._window(f"app:{app.app_id}"), {}, token)
        if kind == "installation":
            if method != "GET":
                return _json(404, _not_found())
            parts = [unquote(p) for p in path[len(self.prefix) :].strip("/").split("/")]
            owner, name = parts[1], parts[2]
            for covering in self._installations.values():
                if covering.app_id == app.app_id and f"{owner}/{name}".casefold() in covering.repos:
                    return _json(200, self._installation_json(covering, owner))
            return _json(404, _not_found())
        installation = self._installations.get(installation_id) if installation_id is not None else None
        if method != "POST" or installation is None or installation.app_id != app.app_id:
            return _json(404, _not_found())
        value = "ghs_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))
        expires_at = self.clock() + INSTALLATION_TOKEN_SECONDS
        self._installation_tokens[value] = _InstallationToken(installation.installation_id, expires_at)
        body = {
            "token": value,
            "expires_at": _iso(datetime.fromtimestamp(expires_at, UTC)),
            "permissions": dict(installation.permissions),
            "repository_selection": "selected",
        }
        return _json(201, body)

    def _verify_jwt(self, token: str | None) -> tuple[_App | None, str]:
        """(the app, "") for a JWT GitHub would take, else (None, GitHub's reason)."""
        issuer = _jwt_issuer(token)
        app = self._apps.get(issuer) if issuer is not None else None
        if token is None or app is None:
            return None, JWT_UNREADABLE
        try:
            claims = jwt.decode(
                token,
                app.public_key,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            return None, JWT_UNREADABLE
        now = self.clock()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or iat > now + JWT_LEEWAY_SECONDS:
            return None, JWT_BAD_IAT
        if not isinstance(exp, int | float) or exp <= now:
            return None, JWT_EXPIRED
        if exp - now > JWT_MAX_SECONDS + JWT_LEEWAY_SECONDS or exp - iat > JWT_MAX_SECONDS + JWT_LEEWAY_SECONDS:
            return None, JWT_EXP_TOO_FAR
        return app, ""

    def _installation_json(self, installation: _Installation, owner: str) -> dict[str, Any]:
        app_id: int | str = int(installation.app_id) if installation.app_id.isdigit() else installation.app_id
        return {
            "id": installation.installation_id,
            "app_id": app_id,
            "app_slug": f"app-{installation.app_id}",
            "target_type": "Organization",
            "account": _user(owner, self.base_url),
            "repository_selection": "selected",
            "access_tokens_url": f"{self.base_url}/app/installations/{installation.installation_id}/access_tokens",
            "repositories_url": f"{self.base_url}/installation/repositories",
            "permissions": dict(installation.permissions),
            "events": [],
            "suspended_at": None,
        }

    def _issues_page(
        self,
        repo: FakeRepo,
        raw_query: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        identity: str,
        bucket: _Bucket,
        fault: _Fault | None,
    ) -> _Response:
        per_page = min(max(_int(query.get("per_page"), self.per_page_default), 1), 100)
        page = max(_int(query.get("page"), 1), 1)
        listing = repo._listing(query)
        last = max((len(listing) + per_page - 1) // per_page, 1)
        rows = [repo._render(stored) for stored in listing[(page - 1) * per_page : page * per_page]]
        link = self._link(repo, raw_query, page, last)
        body = json.dumps(rows, ensure_ascii=False).encode()
        etag = _etag(repo, body, identity)
        out = {"ETag": etag, **({"Link": link} if link else {})}
        if fault is not None:  # vanish_after_first_page: answer this page, then change the repo
            served = {row["number"] for row in rows}
            everything = {row["number"] for row in listing}
            closing = served if fault.params.get("mode", "rest") == "served" else everything - served
            for number in closing:
                repo._issues[number]["state"] = "closed"
                repo._issues[number]["updated_at"] = self._tick()
        return self._conditional(body, out, headers, identity, bucket)

    def _comments_page(
        self,
        repo: FakeRepo,
        number: int,
        raw_query: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        identity: str,
        bucket: _Bucket,
    ) -> _Response:
        """One page of an issue's comments: ascending by id, `since` on updated_at, `Link`s and ETag."""
        per_page = min(max(_int(query.get("per_page"), 30), 1), 100)
        page = max(_int(query.get("page"), 1), 1)
        since = _parse_since(query.get("since"))
        listing = [c for c in repo._comments.get(number, []) if since is None or c["at"] >= since]
        last = max((len(listing) + per_page - 1) // per_page, 1)
        rows = [repo._render_comment(number, c) for c in listing[(page - 1) * per_page : page * per_page]]
        link = self._link(repo, raw_query, page, last, f"issues/{number}/comments")
        body = json.dumps(rows, ensure_ascii=False).encode()
        out = {"ETag": _etag(repo, body, identity), **({"Link": link} if link else {})}
        return self._conditional(body, out, headers, identity, bucket)

    def _conditional(
        self, body: bytes, out: dict[str, str], headers: Mapping[str, str], identity: str, bucket: _Bucket
    ) -> _Response:
        """A listing's 200, or its 304 when If-None-Match names its ETag."""
        if _etag_matches(headers.get("if-none-match"), out["ETag"]):
            if identity == "anonymous":  # only an authorized 304 is free of the primary limit
                return self._spend(bucket, _Response(304, b"", out))
            return _Response(304, b"", {**_rate_headers(bucket), **out})
        return self._spend(bucket, _Response(200, body, {**_json_type(), **out}))

    def _link(self, repo: FakeRepo, raw_query: str, page: int, last: int, listing: str = "issues") -> str:
        if last <= 1:
            return ""
        kept = [part for part in raw_query.split("&") if part and not part.startswith("page=")]

        def url(n: int) -> str:
            return f"{self.base_url}/repositories/{repo.repo_id}/{listing}?" + "&".join([*kept, f"page={n}"])

        links = []
        if page > 1:
            links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
        if page < last:
            links.append(f'<{url(page + 1)}>; rel="next"')
            links.append(f'<{url(last)}>; rel="last"')
        if page > 1:
            links.append(f'<{url(1)}>; rel="first"')
        return ", ".join(links)

    def _spend(self, bucket: _Bucket, response: _Response) -> _Response:
        bucket.remaining = max(bucket.remaining - 1, 0)
        response.headers.update(_rate_headers(bucket))
        return response

    def _fault_response(
        self, fault: _Fault, bucket: _Bucket, rate: dict[str, str], token: str | None = None
    ) -> _Response:
        params = _echoing(fault.params, token or "")
        status = int(params.get("status", 403))
        secondary = SECONDARY_MESSAGE
        match fault.kind:
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
            case "unauthorized":
                return _json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
            case "forbidden":
                message = params.get("message", "Resource not accessible by personal access token")
                return _json(403, {"message": message, "documentation_url": DOCS}, rate)
            case "not_found":
                return _json(404, _not_found(), rate)
            case "gone":
                return _json(410, {"message": "Issues are disabled for this repo", "documentation_url": DOCS}, rate)
            case "server_error":
                return _json(500, {"message": "Server Error"}, rate)
            case "bad_gateway":
                return _Response(
                    502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", {"Content-Type": "text/html"}
                )
            case "service_unavailable":  # GitHub's front end: no rate headers, nothing spent
                return _json(503, {"message": UNAVAILABLE_MESSAGE})
            case "gateway_timeout":
                return _json(504, {"message": TIMEOUT_MESSAGE})
            case "connection_reset":
                return _Response(0, reset=True)
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
        raise AssertionError(f"unhandled fault {fault.kind}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: dozens of pollers connecting at once overflowed it, and
    # a connect dropped by the kernel then timed out as "GitHub did not answer in time".
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: FakeGitHub) -> None:
        self.fake = fake
        self._resetting: set[socket.socket] = set()
        self._resetting_lock = threading.Lock()
        super().__init__(address, handler)

    def reset(self, connection: socket.socket) -> None:
        """End `connection` with a TCP reset, and no answer, once its handler returns."""
        # SO_LINGER on with a zero timeout: close() sends RST instead of FIN.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self._resetting_lock:
            self._resetting.add(connection)

    def shutdown_request(self, request: Any) -> None:
        with self._resetting_lock:
            resetting = request in self._resetting
            self._resetting.discard(request)
        if resetting:
            self.close_request(request)  # no shutdown(SHUT_WR) first: that would send a FIN
        else:
            super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 30  # drop idle keep-alive connections eventually
    # Headers and body go out in two writes: with Nagle on, a keep-alive client's delayed ACK
    # holds every answer back ~40 ms.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request log (`FakeGitHub.requests`) is the record."""


# --- helpers -------------------------------------------------------------------------


def _write(handler: BaseHTTPRequestHandler, response: _Response) -> None:
    try:
        handler.send_response(response.status)
        for name, value in response.headers.items():
            handler.send_header(name, value)
        if response.status != 304:
            handler.send_header("Content-Length", str(len(response.body)))
        handler.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
        handler.send_header("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
        handler.end_headers()
        if response.status != 304:
            handler.wfile.write(response.body)
        handler.wfile.flush()
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True  # the client gave up (a `slow` fault past its timeout)


def _echoing(value: Any, token: str) -> Any:
    """`value` with every ECHO_CREDENTIAL in its strings replaced by `token`."""
    if isinstance(value, str):
        return value.replace(ECHO_CREDENTIAL, token)
    if isinstance(value, dict):
        return {key: _echoing(item, token) for key, item in value.items()}
    if isinstance(value, list):
        return [_echoing(item, token) for item in value]
    return value


def _json(status: int, payload: Any, extra: Mapping[str, str] | None = None) -> _Response:
    return _Response(status, json.dumps(payload, ensure_ascii=False).encode(), {**_json_type(), **(extra or {})})


def _json_type() -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8"}


def _not_found() -> dict[str, str]:
    return {"message": "Not Found", "documentation_url": DOCS, "status": "404"}


def _rate_headers(bucket: _Bucket) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(bucket.limit),
        "x-ratelimit-remaining": str(bucket.remaining),
        "x-ratelimit-reset": str(bucket.reset),
        "x-ratelimit-used": str(bucket.used),
        "x-ratelimit-resource": "core",
    }


def _token(authorization: str | None) -> tuple[str | None, bool]:
    """(token, well-formed). GitHub takes `Bearer <t>` and the older `token <t>`."""
    if authorization is None:
        return None, True
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() not in ("bearer", "token") or not value.strip():
        return None, False
    return value.strip(), True


def _identity(token: str | None) -> str:
    return "anonymous" if token is None else "token:" + hashlib.sha256(token.encode()).hexdigest()[:16]


def _installation_identity(installation_id: int) -> str:
    return f"installation:{installation_id}"


def _jwt_issuer(token: str | None) -> str | None:
    """The `iss` of something shaped like a JWT (unverified), else None."""
    if token is None or token.count(".") != 2:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss")
    return str(issuer) if isinstance(issuer, str | int) and not isinstance(issuer, bool) else None


def _etag(repo: FakeRepo, body: bytes, identity: str) -> str:
    """The body and the credential, never the Link header: GitHub's ETags work that way."""
    digest = hashlib.sha256(body + identity.encode()).hexdigest()
    return f'W/"{digest}"' if repo.weak_etags else f'"{digest}"'


def _endpoint_docs(method: str, kind: str) -> str:
    if (method, kind) == ("POST", "issues"):
        return CREATE_ISSUE_DOCS
    if (method, kind) == ("PATCH", "issue"):
        return UPDATE_ISSUE_DOCS
    if kind == "issue_comments":
        return COMMENTS_DOCS if method == "POST" else LIST_COMMENTS_DOCS
    return {"issue_reactions": REACTIONS_DOCS, "issue_labels": LABELS_DOCS}.get(kind, DOCS)


def _invalid(resource: str, name: str, docs: str) -> _Response:
    """GitHub's 422 for a write whose field is missing or not one it takes."""
    error = {"resource": resource, "code": "invalid", "field": name}
    return _json(422, {"message": "Validation Failed", "errors": [error], "documentation_url": docs, "status": "422"})


def _label_names_given(payload: Any) -> list[str] | None:
    """The names an add-labels body carries, in any form GitHub takes, or None if it is not one.

    GitHub takes `{"labels": [...]}`, a bare array, either with names or `{"name": ...}`
    objects, and a single name as a string.
    """
    if isinstance(payload, str):
        return [payload] if payload else None
    given = payload.get("labels") if isinstance(payload, dict) else payload
    if isinstance(given, str):
        given = [given]
    if not isinstance(given, list):
        return None
    names = [item.get("name") if isinstance(item, dict) else item for item in given]
    if not all(isinstance(name, str) and name for name in names):
        return None
    return [str(name) for name in names]


_NOT_JSON = object()


def _parsed(raw: bytes) -> Any:
    """The JSON body (an empty one is `{}`), `_NOT_JSON` when it is not JSON."""
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError:
        return _NOT_JSON


def _unparsable(docs: str) -> _Response:
    return _json(400, {"message": "Problems parsing JSON", "documentation_url": docs, "status": "400"})


def _issue_fields(payload: Mapping[str, Any], docs: str) -> dict[str, Any] | _Response:
    """The issue fields a create or update body sets, checked as GitHub's schema types them (a 422
    naming the first that is not); the fields GitHub takes and the stand-in does not serve
    (`milestone`, `type`...) are ignored."""
    fields: dict[str, Any] = {}
    checks: dict[str, Callable[[Any], bool]] = {
        # GitHub's schema: a string or an integer, never empty.
        "title": lambda v: (isinstance(v, str) and bool(v.strip())) or (isinstance(v, int) and not isinstance(v, bool)),
        "body": lambda v: v is None or isinstance(v, str),
        "state": lambda v: v in ISSUE_STATES,
        "assignees": lambda v: isinstance(v, list) and all(isinstance(a, str) and a for a in v),
        "labels": lambda v: isinstance(v, list) and _label_names_given(v) is not None,
    }
    for name, valid in checks.items():
        if name not in payload:
            continue
        value = payload[name]
        if not valid(value):
            return _invalid("Issue", name, docs)
        fields[name] = _label_names_given(value) if name == "labels" else value
    if "title" in fields:
        fields["title"] = str(fields["title"])
    return fields


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


def _bad_credentials() -> _Response:
    return _json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison, which is what If-None-Match uses."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(candidate.strip().removeprefix("W/") == opaque for candidate in if_none_match.split(","))


def _user(login: str, base_url: str) -> dict[str, Any]:
    user_id = int(hashlib.sha256(login.casefold().encode()).hexdigest()[:7], 16)
    return {
        "login": login,
        "id": user_id,
        "node_id": f"U_kgDO{user_id:08d}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "url": f"{base_url}/users/{login}",
        "html_url": f"https://github.com/{login}",
        "type": "User",
        "site_admin": False,
    }


def _repo_json(repo: FakeRepo, base_url: str) -> dict[str, Any]:
    open_count = sum(1 for s in repo._issues.values() if s["state"] == "open")
    return {
        "id": repo.repo_id,
        "node_id": f"R_kgDO{repo.repo_id}",
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": _user(repo.owner, base_url),
        "html_url": f"https://github.com/{repo.full_name}",
        "url": f"{base_url}/repos/{repo.full_name}",
        "has_issues": repo.has_issues,
        "open_issues_count": open_count,
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
