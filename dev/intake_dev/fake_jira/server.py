"""The stand-in itself: `FakeJira`, a Jira Cloud site behind a real HTTP server on loopback.

Routes (each module names the Atlassian page it follows), served both on the site's URL and under
the API gateway's `/ex/jira/{cloudId}` prefix:

- `GET /_edge/tenant_info` -> `{"cloudId": ...}`, no credential
  (https://support.atlassian.com/jira/kb/retrieve-my-atlassian-sites-cloud-id/);
- `POST /oauth/token` (auth.atlassian.com's token endpoint, `auth`);
- `GET|POST /rest/api/3/search/jql` (`search`); `/rest/api/3/search` and `/rest/api/2/search`: 410;
- `GET|PUT /rest/api/3/issue/{issueIdOrKey}`, `GET|POST .../comment` (`writes`);
- `GET /rest/api/3/myself` ("Get current user", the credential check) and
  `GET /rest/api/3/project/{projectIdOrKey}` ("Get project": 404 `No project could be found with
  key 'X'.` for a project the credential cannot see);
- anything else: 404 in Jira's error collection.
"""

from __future__ import annotations

import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlsplit

from .auth import Credentials, Identity, OAuthTokens, refused
from .faults import Faults
from .fields import Searcher
from .limits import BURST_PER_SECOND, ISSUE_WRITE_WINDOWS, OAUTH_POINTS_PER_HOUR, Limits, Throttle
from .render import ISSUE_FIELDS, View, issue, project, user, wanted_fields
from .search import MAX_RESULTS_IDS_ONLY, MAX_RESULTS_WITH_FIELDS, Pages, read_request, removed
from .wire import Response, Server, error_response, json_response, write
from .workspace import Issue
from .writes import Writes

GATEWAY = re.compile(r"^/ex/jira/(?P<cloud_id>[^/]+)(?P<rest>/.*)$")
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret
TENANT_INFO_PATH = "/_edge/tenant_info"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern), name)
    for method, pattern, name in [
        ("GET", r"^/rest/api/3/search/jql$", "search"),
        ("POST", r"^/rest/api/3/search/jql$", "search"),
        ("GET", r"^/rest/api/3/issue/(?P<issue>[^/]+)$", "get_issue"),
        ("PUT", r"^/rest/api/3/issue/(?P<issue>[^/]+)$", "edit_issue"),
        ("GET", r"^/rest/api/3/issue/(?P<issue>[^/]+)/comment$", "list_comments"),
        ("POST", r"^/rest/api/3/issue/(?P<issue>[^/]+)/comment$", "add_comment"),
        ("GET", r"^/rest/api/3/myself$", "myself"),
        ("GET", r"^/rest/api/3/project/(?P<project>[^/]+)$", "get_project"),
    ]
]
_REMOVED = re.compile(r"^/rest/api/(2|3|latest)/search$")
_WRITES = ("edit_issue", "add_comment")
_ENDPOINTS = {
    "search": "/rest/api/3/search/jql",
    "get_issue": "/rest/api/3/issue/{issueIdOrKey}",
    "edit_issue": "/rest/api/3/issue/{issueIdOrKey}",
    "list_comments": "/rest/api/3/issue/{issueIdOrKey}/comment",
    "add_comment": "/rest/api/3/issue/{issueIdOrKey}/comment",
    "myself": "/rest/api/3/myself",
    "get_project": "/rest/api/3/project/{projectIdOrKey}",
}
_NO_ISSUE = "Issue does not exist or you do not have permission to see it."


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in received. Header names are lower-cased and `authorization` is
    redacted: the log never holds a secret, only the credential's fingerprint."""

    at: float  # the stand-in's time (epoch seconds) when it arrived
    method: str
    path: str
    status: int  # 0: the connection was reset
    credential: str | None  # "api_token:<sha256 prefix>", "scoped_token:...", "oauth:..."; None when refused
    bucket: str | None  # whose points quota it spent ("oauth:<client id>"), or whose requests they were
    jql: str | None
    headers: dict[str, str]
    response_headers: dict[str, str]
    throttled: bool = False  # answered 429
    reason: str | None = None  # RateLimit-Reason of a 429
    fault: bool = False  # answered by an injected fault

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class _Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    gateway: bool = False
    api_base: str = ""


@dataclass
class _Exchange:
    identity: Identity | None = None
    jql: str | None = None
    throttled: bool = False
    reason: str | None = None
    fault: bool = False
    params: dict[str, str] = field(default_factory=dict)


class FakeJira(Writes):
    """A Jira Cloud site on 127.0.0.1. It listens once built; `stop()` (or `with`) ends it.
    `base_url` is the site (`https://<site>.atlassian.net`), `api_url` the API gateway's base for
    this site (`https://api.atlassian.com/ex/jira/{cloudId}`), `token_url` the OAuth token endpoint."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        search_lag_seconds: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        cloud_id: str | None = None,
        burst_per_second: dict[str, int] | None = None,
        issue_write_windows: tuple[tuple[int, float], ...] = ISSUE_WRITE_WINDOWS,
        oauth_points_per_hour: int = OAUTH_POINTS_PER_HOUR,
        quota_reason: str = "jira-quota-tenant-based",
        max_results_with_fields: int = MAX_RESULTS_WITH_FIELDS,
        max_results_ids_only: int = MAX_RESULTS_IDS_ONLY,
        full_last_page_is_last: bool = True,
        labels_case_sensitive: bool = False,
        comment_bumps_updated: bool = True,
        retry_after_503: int = 5,
    ) -> None:
        """`clock` (epoch seconds) drives `created`/`updated`, token expiry, search lag and the
        limits' windows; every limit and page size is configurable (see `limits`, `search`)."""
        self._init_workspace(clock, search_lag_seconds)
        self.cloud_id = cloud_id or str(uuid.uuid5(uuid.NAMESPACE_URL, "fake-jira"))
        self.labels_case_sensitive = labels_case_sensitive
        self.comment_bumps_updated = comment_bumps_updated
        self._limits = Limits(
            burst_per_second or dict(BURST_PER_SECOND), issue_write_windows, oauth_points_per_hour, quota_reason
        )
        self._pages = Pages(max_results_with_fields, max_results_ids_only, full_last_page_is_last)
        self._credentials = Credentials()
        # `throttle_for`: every request answered 429 until then, for this reason.
        self._throttled_until: tuple[float, str] = (0.0, "")
        self._faults = Faults(retry_after_503)
        self._log: list[RecordedRequest] = []
        self._server = Server((host, port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-jira", kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    # --- lifecycle -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The site's URL, where the adapter is pointed (Jira's is `https://<site>.atlassian.net`)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """The API gateway's base for this site (`https://api.atlassian.com/ex/jira/{cloudId}`)."""
        return f"{self.base_url}/ex/jira/{self.cloud_id}"

    @property
    def token_url(self) -> str:
        """The OAuth token endpoint (`https://auth.atlassian.com/oauth/token`)."""
        return self.base_url + TOKEN_PATH

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeJira:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- credentials -----------------------------------------------------------------

    def add_api_token(self, email: str, token: str, *, scoped: bool = False) -> str:
        """An API token of the user `email` (add_user it first); returns its accountId. A classic
        token works with Basic auth on `base_url`, a scoped one (`scoped=True`) on `api_url`."""
        with self._lock:
            owner = self.user_by_email(email)
            if owner is None:
                raise KeyError(f"no user {email}; add_user it first")
            self._credentials.add_api_token(token, owner.account_id, email, scoped)
            return owner.account_id

    def add_oauth_app(self, client_id: str, client_secret: str, *, user: str) -> OAuthTokens:
        """An OAuth 2.0 (3LO) app that `user` (an email or accountId) has authorized with
        `offline_access`: the tokens of that authorization."""
        with self._lock:
            account = self._account(user)
            assert account is not None
            self._credentials.apps[client_id] = client_secret
            return self._credentials.mint(client_id, account, self.now_ms())

    def expire_access_token(self, access_token: str) -> None:
        with self._lock:
            self._credentials.expire(access_token)

    def set_remaining(self, client_id: str, points: int) -> None:
        """Leave `points` of an OAuth app's hourly quota for the current hour (a spent budget)."""
        with self._lock:
            self._limits.points.set_remaining(f"oauth:{client_id}", self.now(), points)

    def remaining(self, client_id: str) -> int:
        with self._lock:
            return self._limits.points.remaining(f"oauth:{client_id}", self.now())

    # --- faults ----------------------------------------------------------------------

    def throttle_for(self, seconds: float, reason: str = "jira-burst-based") -> None:
        """Answer every request with Jira's 429 until the stand-in's clock is `seconds` on: a
        test's shortcut to a spent limit (the burst limit's, by default), with the headers
        Atlassian documents (https://developer.atlassian.com/cloud/jira/platform/rate-limiting/)."""
        with self._lock:
            self._throttled_until = (self.now() + seconds, reason)

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """Answer the next `n` requests with `status` (500, 502, 503 or 504)."""
        with self._lock:
            self._faults.fail_next(n, status)

    def reset_next(self, n: int = 1) -> None:
        """Reset the connection of the next `n` requests without an answer."""
        with self._lock:
            self._faults.reset_next(n)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # --- the request log -------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, oldest first."""
        with self._lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    # --- serving ---------------------------------------------------------------------

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        request = _read(handler)
        with self._lock:
            exchange = _Exchange()
            response = self._answer(request, exchange)
            self._log.append(_record(self.now(), request, response, exchange))
        if response.reset:
            self._server.reset(handler.connection)
            handler.close_connection = True
            return
        write(handler, response)

    def _answer(self, request: _Request, exchange: _Exchange) -> Response:
        fault = self._faults.take()
        if fault is not None:
            exchange.fault = True
            return fault
        if request.path == TENANT_INFO_PATH and request.method == "GET":
            return json_response(200, {"cloudId": self.cloud_id})
        if request.path == TOKEN_PATH and request.method == "POST":
            return self._credentials.token_endpoint(
                request.body, request.headers.get("content-type", ""), self.now_ms()
            )
        gateway = GATEWAY.match(request.path)
        if gateway is not None:
            if gateway["cloud_id"] != self.cloud_id:
                return json_response(404, {"code": 404, "message": "Not Found"})
            request.path, request.gateway, request.api_base = gateway["rest"], True, self.api_url
        else:
            request.api_base = self.base_url
        return self._api(request, exchange)

    def _api(self, request: _Request, exchange: _Exchange) -> Response:
        if _REMOVED.match(request.path):
            return removed()
        route = _route(request)
        if route is None:
            return error_response(404, [f"null for uri: {request.api_base}{request.path}"])
        name, params = route
        exchange.params = params
        identity = self._credentials.identify(request.headers.get("authorization"), request.gateway, self.now_ms())
        if identity is None:
            return refused(request.gateway)
        exchange.identity = identity
        quota = identity.bucket if identity.kind == "oauth" else None
        return self._limited(name, request, exchange, quota)

    def _limited(self, name: str, request: _Request, exchange: _Exchange, quota: str | None) -> Response:
        now = self.now()
        until, reason = self._throttled_until
        if now < until:
            exchange.throttled, exchange.reason = True, reason
            refusal = error_response(429, ["Rate limit exceeded."])
            refusal.headers.update(Throttle(reason, 0, 0, math.ceil(until - now)).headers(now))
            return refusal
        found = self.find_issue(exchange.params["issue"]) if "issue" in exchange.params else None
        write_to = found.current.id if found is not None and name in _WRITES else None
        endpoint = f"{request.method} {_ENDPOINTS[name]}"
        throttle = self._limits.admit(request.method, endpoint, quota, write_to, now)
        if throttle is not None:
            exchange.throttled, exchange.reason = True, throttle.reason
            refusal = error_response(429, ["Rate limit exceeded."])
            refusal.headers.update(throttle.headers(now))
            return refusal
        response, objects = self._operation(name, request, exchange, found)
        charged = 1 if name in _WRITES else 1 + objects
        response.headers.update(self._limits.charge(quota, charged, now))
        return response

    def _operation(
        self, name: str, request: _Request, exchange: _Exchange, found: Issue | None
    ) -> tuple[Response, int]:
        assert exchange.identity is not None
        view = self._view(request, exchange.identity)
        if name == "search":
            return self._search(request, exchange, view)
        if name == "myself":
            return json_response(200, user(view, exchange.identity.account_id)), 1
        if name == "get_project":
            return self._get_project(exchange.params["project"], view), 1
        if found is None:
            return error_response(404, [_NO_ISSUE]), 0
        return self._issue_operation(name, request, exchange.identity, found, view)

    def _issue_operation(
        self, name: str, request: _Request, identity: Identity, found: Issue, view: View
    ) -> tuple[Response, int]:
        if name == "get_issue":
            return _get_issue(request, found, view), 1
        if name == "edit_issue":
            return self.edit_issue(found, request.body), 0
        if name == "add_comment":
            return self.add_comment(found, request.body, identity.account_id, view), 0
        return self.list_comments(found, request.query, view)

    def _search(self, request: _Request, exchange: _Exchange, view: View) -> tuple[Response, int]:
        parsed = read_request(request.method, request.query, request.body)
        if isinstance(parsed, Response):
            return parsed, 0
        exchange.jql = parsed.jql
        now_ms = self.now_ms()
        searcher = Searcher(
            tuple(self.projects.values()), tuple(self.users.values()), view.zone, now_ms, self.labels_case_sensitive
        )
        seen = (
            i.current if i.current.id in parsed.reconcile else self.indexed(i, now_ms) for i in self.issues.values()
        )
        candidates = [s for s in seen if s is not None]
        return self._pages.search(parsed, searcher, candidates, view)

    def _get_project(self, key: str, view: View) -> Response:
        found = self.projects.get(key) or self.project_by_key(key)
        if found is None:
            return error_response(404, [f"No project could be found with key '{key}'."])
        return json_response(200, project(view, found))

    def _view(self, request: _Request, identity: Identity) -> View:
        zone = self.users[identity.account_id].time_zone
        return View(request.api_base, zone, self.users, self.projects)


def _get_issue(request: _Request, found: Issue, view: View) -> Response:
    """`GET /issue/{issueIdOrKey}`: the live issue (no search lag), every field unless `fields` names some."""
    requested = [f for v in parse_qs(request.query).get("fields", []) for f in v.split(",") if f]
    return json_response(200, issue(view, found.current, wanted_fields(requested) or ISSUE_FIELDS))


def _route(request: _Request) -> tuple[str, dict[str, str]] | None:
    for method, pattern, name in _ROUTES:
        match = pattern.match(request.path)
        if match is not None and method == request.method:
            return name, {k: unquote(v) for k, v in match.groupdict().items()}
    return None


def _read(handler: BaseHTTPRequestHandler) -> _Request:
    headers = {k.lower(): v for k, v in handler.headers.items()}
    try:
        length = max(int(headers.get("content-length", "0")), 0)
    except ValueError:
        length = 0
    url = urlsplit(handler.path)
    return _Request(handler.command, url.path, url.query, headers, handler.rfile.read(length))


def _record(at: float, request: _Request, response: Response, exchange: _Exchange) -> RecordedRequest:
    headers = dict(request.headers)
    if "authorization" in headers:
        headers["authorization"] = "<redacted>"
    identity = exchange.identity
    return RecordedRequest(
        at=at,
        method=request.method,
        path=request.path if not request.gateway else f"/ex/jira/{{cloudId}}{request.path}",
        status=0 if response.reset else response.status,
        credential=identity.credential if identity else None,
        bucket=identity.bucket if identity else None,
        jql=exchange.jql,
        headers=headers,
        response_headers=dict(response.headers),
        throttled=exchange.throttled,
        reason=exchange.reason,
        fault=exchange.fault,
    )
