"""The stand-in itself: `FakeGitHub`, which serves each request through the parts it is made of."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlsplit

from .apps import _InstallationToken, _jwt_issuer
from .base import RecordedRequest
from .faults import _Fault
from .limits import (
    AUTHENTICATED_LIMIT,
    CONTENT_KINDS,
    RATE_WINDOW_SECONDS,
    SECONDARY_CONCURRENCY,
    SECONDARY_CONTENT_PER_HOUR,
    SECONDARY_CONTENT_PER_MINUTE,
    SECONDARY_POINTS_PER_MINUTE,
    WRITE_METHODS,
    WRITE_POINTS,
    _Bucket,
    _rate_headers,
)
from .pages import _IssuePages
from .repos import FakeRepo, _repo_json
from .wire import (
    USER_DOCS,
    _bad_credentials,
    _endpoint_docs,
    _Handler,
    _int,
    _json,
    _not_found,
    _Response,
    _Server,
    _token,
    _write,
)
from .writes import _Writes

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


@dataclass(frozen=True)
class _Request:
    """One request as it arrived. Header names are lower-cased."""

    method: str
    path: str
    raw_query: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    url: str


@dataclass(frozen=True)
class _Call:
    """A request to the API once its credential has passed: what it asks, as whom, on which window."""

    request: _Request
    kind: str
    number: int | None
    token: str | None
    issued: _InstallationToken | None
    identity: str
    bucket: _Bucket
    repo: FakeRepo | None
    fault: _Fault | None

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def writing(self) -> bool:
        return self.method in WRITE_METHODS and (self.method, self.kind) in ENDPOINTS

    @property
    def docs(self) -> str:
        return _endpoint_docs(self.method, self.kind)


class FakeGitHub(_IssuePages, _Writes):
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
        self._init_shared(clock, html_base, prefix)
        self._init_limits(
            primary_limit,
            primary_window_seconds,
            secondary_points_per_minute,
            secondary_concurrency,
            secondary_content_per_minute,
            secondary_content_per_hour,
        )
        self._init_faults()
        self._init_apps()
        self._init_writes(logins, read_only_tokens)
        self.per_page_default = per_page_default
        # None accepts any token; a set answers 401 "Bad credentials" to every other one.
        self.tokens = None if tokens is None else set(tokens)
        self._repos: dict[str, FakeRepo] = {}
        self._repos_by_id: dict[int, FakeRepo] = {}
        self._stopping = threading.Event()
        self._server = _Server((host, port), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-github", kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

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

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        request = _read(handler)
        with self._lock:
            identity = self._identity_of(_token(request.headers.get("authorization"))[0])
            kind, repo, _ = self._route(request.path)
            fault = self._take_fault(repo, request.query, request.method)
            in_flight = self._in_flight[identity] = self._in_flight.get(identity, 0) + 1
            self.max_in_flight[identity] = max(self.max_in_flight.get(identity, 0), in_flight)
        try:
            if fault is not None and fault.kind == "slow":
                self._stopping.wait(float(fault.params.get("seconds", 2.0)))
                fault = None
            with self._lock:
                response = self._answer(request, identity, kind, repo, fault, in_flight)
            if response.reset:
                self._server.reset(handler.connection)
                handler.close_connection = True
                return
            _write(handler, response)
        finally:
            with self._lock:
                self._in_flight[identity] -= 1

    def _answer(
        self, request: _Request, identity: str, kind: str, repo: FakeRepo | None, fault: _Fault | None, in_flight: int
    ) -> _Response:
        """The answer within the secondary limits (content created counted toward them), logged."""
        at = self.clock()
        points = WRITE_POINTS if request.method in WRITE_METHODS and kind != "access_tokens" else 1
        content = request.method == "POST" and kind in CONTENT_KINDS
        limited = self._secondary_limit(identity, in_flight, at, points, content)
        if limited is not None:  # GitHub's refusal carries the primary window too; spends none of it
            limited.headers.update(_rate_headers(self._window(identity)))
        response = limited or self._respond(request, identity, repo, fault)
        if content and limited is None and 200 <= response.status < 300:
            self._content.setdefault(identity, deque()).append(at)
        self._requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=request.query,
                headers=request.headers,
                status=response.status,
                repo=repo.full_name if repo else None,
                url=request.url,
                at=at,
                identity=identity,
                secondary_limited=limited is not None,
                body=request.body,
                primary_limited=response.primary_limited,
            )
        )
        return response

    def _route(self, path: str) -> tuple[str, FakeRepo | None, int | None]:
        """(what is asked, which repository, which issue number)."""
        if self.prefix:
            if not path.startswith(self.prefix + "/"):
                return "unknown", None, None
            path = path[len(self.prefix) :]
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:1] == ["repos"] and len(parts) >= 3:
            repo = self._repos.get(f"{parts[1]}/{parts[2]}".casefold())
            if parts[3:] == ["installation"]:
                return "installation", repo, None  # the app's question, whether the stand-in has the repo or not
            return _repo_route(repo, parts[3:])
        if parts[:1] == ["repositories"] and len(parts) >= 2 and parts[1].isdigit():
            return _repo_route(self._repos_by_id.get(int(parts[1])), parts[2:])
        return _account_route(parts)

    def _respond(self, request: _Request, identity: str, repo: FakeRepo | None, fault: _Fault | None) -> _Response:
        """GitHub's answer to a request within the secondary limits."""
        if not request.headers.get("user-agent"):
            return _user_agent_required()
        token, well_formed = _token(request.headers.get("authorization"))
        kind, _, number = self._route(request.path)
        if well_formed and kind in ("installation", "access_tokens"):
            return self._as_app(request.method, kind, request.path, token, number, fault)
        issued = self._installation_tokens.get(token) if token is not None else None
        if not self._authenticated(token, issued, well_formed):
            return _bad_credentials()
        call = _Call(request, kind, number, token, issued, identity, self._window(identity), repo, fault)
        if kind == "rate_limit":
            return _rate_limit_status(call.bucket)
        return self._refusal(call) or self._serve_repo(call)

    def _authenticated(self, token: str | None, issued: _InstallationToken | None, well_formed: bool) -> bool:
        """Whether GitHub takes the credential: an installation token until it expires, any token
        but a JWT (which is for the app's own endpoints only), only those listed when `tokens` is
        set, no token at all; nothing that is not a well-formed `Authorization`."""
        if issued is not None:
            return issued.expires_at > self.clock()
        if token is not None and _jwt_issuer(token) is not None:
            return False
        if token is not None and self.tokens is not None:
            return token in self.tokens
        return well_formed

    def _refusal(self, call: _Call) -> _Response | None:
        """A refusal before any repository answers: a write without a token, an injected fault, a
        spent primary window, an installation asking for its user, or a 404 for what is not served
        or not visible to the credential."""
        bucket, rate = call.bucket, _rate_headers(call.bucket)
        if call.writing and call.token is None:
            return self._spend(
                bucket, _json(401, {"message": "Requires authentication", "documentation_url": call.docs})
            )
        if call.fault is not None and call.fault.kind != "vanish_after_first_page":
            return self._fault_response(call.fault, bucket, rate, call.token)
        if bucket.remaining <= 0:
            login = self._writer(call.token).login if call.token is not None else None
            return self._primary_refusal(call.identity, login, rate)
        if call.kind == "user" and call.issued is not None:
            return self._spend(
                bucket,
                _json(403, {"message": "Resource not accessible by integration", "documentation_url": USER_DOCS}),
            )
        if not self._visible(call):
            return self._spend(bucket, _json(404, _not_found()))
        return None

    def _visible(self, call: _Call) -> bool:
        """Whether the stand-in serves the endpoint and the credential may see the repository:
        GitHub hides a private one from anonymous callers, and what an installation cannot see."""
        if (call.method, call.kind) not in ENDPOINTS:
            return False
        repo = call.repo
        if repo is None or (repo.private and call.token is None):
            return False
        return (
            call.issued is None or repo.full_name.casefold() in self._installations[call.issued.installation_id].repos
        )

    def _serve_repo(self, call: _Call) -> _Response:
        """A visible repository's answer: itself, a login's permission, or its issues (410 when
        it has none), a write refused when the credential may not write."""
        repo, bucket = call.repo, call.bucket
        assert repo is not None  # _refusal answered for a missing one
        if call.kind == "repo":
            return self._spend(bucket, _json(200, _repo_json(repo, self.base_url)))
        if call.kind == "collaborator_permission":
            return self._spend(bucket, self._collaborator_permission(repo, call.request.path, call.token, call.issued))
        if call.writing:
            refusal = self._write_refusal(call.token, call.issued, call.docs)
            if refusal is not None:
                return self._spend(bucket, refusal)
        if not repo.has_issues:
            return self._spend(
                bucket,
                _json(410, {"message": "Issues are disabled for this repo", "documentation_url": call.docs}),
            )
        if call.kind == "issues":
            return self._serve_issues(call, repo)
        return self._serve_issue(call, repo)

    def _serve_issues(self, call: _Call, repo: FakeRepo) -> _Response:
        """A page of the issue listing, or an issue opened."""
        request = call.request
        if call.method == "POST":
            return self._spend(call.bucket, self._open_issue(repo, request.body, self._writer(call.token)))
        return self._issues_page(
            repo, request.raw_query, request.query, request.headers, call.identity, call.bucket, call.fault
        )

    def _serve_issue(self, call: _Call, repo: FakeRepo) -> _Response:
        """One issue read or edited, its comments listed, or a comment, a reaction or labels written to it."""
        number, bucket, request = call.number, call.bucket, call.request
        assert number is not None
        if number not in repo._issues:
            return self._spend(bucket, _json(404, _not_found()))
        if call.kind == "issue" and call.method == "PATCH":
            return self._spend(bucket, self._edit_issue(repo, number, request.body))
        if call.kind == "issue":
            return self._spend(bucket, _json(200, repo._render(repo._issues[number])))
        if call.method == "GET":
            return self._comments_page(
                repo, number, request.raw_query, request.query, request.headers, call.identity, bucket
            )
        writer = self._writer(call.token)
        return self._spend(bucket, self._write_to_issue(call.kind, repo, number, request.body, writer, call.docs))


def _read(handler: BaseHTTPRequestHandler) -> _Request:
    """The request on `handler`, its body read."""
    split = urlsplit(handler.path)
    query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
    headers = {k.lower(): v for k, v in handler.headers.items()}
    body = handler.rfile.read(max(_int(headers.get("content-length"), 0), 0))
    url = f"http://{headers.get('host', '')}{handler.path}"
    return _Request(handler.command, split.path, split.query, query, headers, body, url)


def _repo_route(repo: FakeRepo | None, rest: list[str]) -> tuple[str, FakeRepo | None, int | None]:
    """What is asked of a repository (`rest`: the path after it)."""
    if repo is None:
        return "missing-repo", None, None
    if not rest:
        return "repo", repo, None
    if rest == ["issues"]:
        return "issues", repo, None
    if len(rest) == 3 and rest[0] == "collaborators" and rest[2] == "permission":
        return "collaborator_permission", repo, None
    if len(rest) == 2 and rest[0] == "issues" and rest[1].isdigit():
        return "issue", repo, int(rest[1])
    if len(rest) == 3 and rest[0] == "issues" and rest[1].isdigit() and rest[2] in ("comments", "reactions", "labels"):
        return f"issue_{rest[2]}", repo, int(rest[1])
    return "unknown", repo, None


def _account_route(parts: list[str]) -> tuple[str, FakeRepo | None, int | None]:
    """What is asked outside any repository: the rate limit, the user, an installation token."""
    if parts == ["rate_limit"]:
        return "rate_limit", None, None
    if parts == ["user"]:
        return "user", None, None
    if len(parts) == 4 and parts[:2] == ["app", "installations"] and parts[3] == "access_tokens":
        return "access_tokens", None, int(parts[2]) if parts[2].isdigit() else None
    return "unknown", None, None


def _user_agent_required() -> _Response:
    return _json(
        403,
        {
            "message": "Request forbidden by administrative rules. "
            "Please make sure your request has a User-Agent header "
            "(https://docs.github.com/rest/overview/resources-in-the-rest-api#user-agent-required)."
        },
    )


def _rate_limit_status(bucket: _Bucket) -> _Response:
    """`GET /rate_limit`: answered even once the window is spent, and spending none of it."""
    core = {"limit": bucket.limit, "remaining": bucket.remaining, "reset": bucket.reset, "used": bucket.used}
    return _json(200, {"resources": {"core": core}, "rate": core}, _rate_headers(bucket))
