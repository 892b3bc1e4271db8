"""The stand-in itself: `FakeLinear`, a GraphQL server on loopback serving the workspace."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    execute,
    get_operation_ast,
    parse,
    validate,
)

from .api import Context, schema
from .auth import Credentials, Identity, OAuthApp, OAuthTokens, app_user_email, authentication_error
from .complexity import complexity
from .faults import Faults
from .filters import FilterError
from .limits import (
    API_KEY_COMPLEXITY,
    API_KEY_REQUESTS,
    MAX_COMPLEXITY,
    OAUTH_COMPLEXITY,
    OAUTH_REQUESTS,
    Budget,
    new_budget,
    ratelimited_error,
    too_complex_error,
)
from .wire import Response, Server, json_response, write
from .workspace import User
from .writes import WriteError, Writes

GRAPHQL_PATH = "/graphql"
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret
DEFAULT_USER = "api-user@example.com"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in received, as a pacing test reads it. Header names are lower-cased
    and `authorization` is redacted: the log never holds a secret."""

    at: float  # the stand-in's time (epoch seconds) when it arrived
    method: str
    path: str
    status: int  # 0: the connection was reset
    credential: str | None  # "api_key:<sha256 prefix>", "oauth:<sha256 prefix>", None when refused
    bucket: str | None  # whose budget it spent: "api_key:<user id>" or "oauth:<user id>"
    operation_name: str | None
    root_fields: tuple[str, ...]
    complexity: int | None
    headers: dict[str, str]  # what the client sent
    response_headers: dict[str, str]  # what the stand-in answered
    rate_limited: bool = False  # refused with RATELIMITED
    fault: bool = False  # answered by an injected fault

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class _Exchange:
    """What the log keeps of a request while it is answered."""

    credential: str | None = None
    bucket: str | None = None
    operation_name: str | None = None
    root_fields: tuple[str, ...] = ()
    complexity: int | None = None
    rate_limited: bool = False
    fault: bool = False


class FakeLinear(Writes):
    """A Linear workspace behind a real GraphQL server on 127.0.0.1. It listens once built;
    `stop()` (or `with`) ends it. `url` is the GraphQL endpoint, `token_url` the OAuth one."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
        url_key: str = "acme",
        org_name: str = "Acme",
        requests_limit: int = API_KEY_REQUESTS,
        complexity_limit: int = API_KEY_COMPLEXITY,
        oauth_requests_limit: int = OAUTH_REQUESTS,
        oauth_complexity_limit: int = OAUTH_COMPLEXITY,
        period_seconds: float = 3600,
        max_complexity: int = MAX_COMPLEXITY,
        max_first: int = 250,
        ratelimited_status: int = 400,
        auth_error_status: int = 401,
        comment_bumps_issue: bool = True,
    ) -> None:
        """Limits are per hour by default (`period_seconds` shortens the window for a test);
        `clock` (epoch seconds) drives updatedAt, token expiry and bucket refills."""
        self._init_workspace(clock, url_key, org_name, comment_bumps_issue)
        self._limits = {
            "api_key": (requests_limit, complexity_limit),
            "oauth": (oauth_requests_limit, oauth_complexity_limit),
        }
        self._period_ms = int(period_seconds * 1000)
        self.max_complexity = max_complexity
        self.max_first = max_first
        self.ratelimited_status = ratelimited_status
        self.auth_error_status = auth_error_status
        self._budgets: dict[str, Budget] = {}
        self._credentials = Credentials()
        self._faults = Faults()
        self._log: list[RecordedRequest] = []
        self._server = Server((host, port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-linear", kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    # --- lifecycle -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The GraphQL endpoint (Linear's is https://api.linear.app/graphql)."""
        return self.base_url + GRAPHQL_PATH

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeLinear:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- credentials -----------------------------------------------------------------

    def add_api_key(self, key: str, user: str | None = None) -> User:
        """A personal API key of `user` (an email; by default a member the stand-in adds)."""
        with self._lock:
            owner = self._member(user)
            self._credentials.api_keys[key] = owner.id
            return owner

    def add_oauth_app(
        self, client_id: str, secret: str, *, user: str | None = None, actor: str = "user"
    ) -> OAuthTokens:
        """An OAuth app, authorized once: the tokens of that authorization. With `actor="app"` the
        app acts as its own app user (`User.app` true), as Linear's `actor=app` does."""
        if actor not in ("user", "app"):
            raise ValueError("actor is user or app")
        with self._lock:
            self._credentials.apps[client_id] = OAuthApp(client_id, secret)
            if actor == "app":
                email = app_user_email(client_id)
                owner = self._user_by_email(email) or self.add_user(email, client_id, app=True)
            else:
                owner = self._member(user)
            return self._credentials.mint(client_id, owner.id, self.now_ms())

    def expire_access_token(self, access_token: str) -> None:
        with self._lock:
            self._credentials.expire(access_token)

    def remaining(self, authorization: str) -> tuple[int, int]:
        """(requests, complexity points) left to the budget this `Authorization` value spends."""
        with self._lock:
            identity = self._credentials.identify(authorization, self.now_ms())
            if identity is None:
                raise KeyError("no such credential")
            budget = self._budget(identity)
            return budget.requests.remaining(), budget.complexity.remaining()

    def set_remaining(self, authorization: str, *, requests: int | None = None, points: int | None = None) -> None:
        """Set what is left in the buckets this `Authorization` value spends (a test's shortcut to a
        spent budget: the buckets then refill at their rate, as Linear's leaky buckets do)."""
        with self._lock:
            identity = self._credentials.identify(authorization, self.now_ms())
            if identity is None:
                raise KeyError("no such credential")
            budget = self._budget(identity)
            if requests is not None:
                budget.requests.level = float(requests)
            if points is not None:
                budget.complexity.level = float(points)

    def _member(self, email: str | None) -> User:
        if email is not None:
            found = self._user_by_email(email)
            if found is None:
                raise KeyError(f"no user {email}; add_user it first")
            return found
        return self._user_by_email(DEFAULT_USER) or self.add_user(DEFAULT_USER, "API user", admin=True)

    def _budget(self, identity: Identity) -> Budget:
        now = self.now_ms()
        budget = self._budgets.get(identity.bucket)
        if budget is None:
            requests, points = self._limits[identity.kind]
            budget = self._budgets[identity.bucket] = new_budget(requests, points, self._period_ms, now)
        budget.refill(now)
        return budget

    # --- faults ----------------------------------------------------------------------

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

    def requests_for(self, authorization: str) -> list[RecordedRequest]:
        """The requests that spent the budget this `Authorization` value spends."""
        with self._lock:
            identity = self._credentials.identify(authorization, self.now_ms())
            bucket = identity.bucket if identity else None
            return [r for r in self._log if bucket is not None and r.bucket == bucket]

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    # --- serving ---------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
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
        if request.method == "POST" and request.path == GRAPHQL_PATH:
            return self._graphql(request, exchange)
        if request.method == "POST" and request.path == TOKEN_PATH:
            status, body = self._credentials.token_endpoint(request.body, request.headers, self.now_ms())
            return json_response(status, body)
        return json_response(404, {"errors": [{"message": f"Cannot {request.method} {request.path}"}]})

    def _graphql(self, request: _Request, exchange: _Exchange) -> Response:
        """A GraphQL request: its credential, its document, its complexity against the budget, its answer."""
        payload = _payload(request.body)
        if payload is None:
            return _request_error("POST body must be JSON with a query string", "BAD_REQUEST")
        identity = self._credentials.identify(request.headers.get("authorization"), self.now_ms())
        if identity is None:
            return json_response(self.auth_error_status, {"errors": [authentication_error()]})
        exchange.credential, exchange.bucket = identity.credential, identity.bucket
        budget = self._budget(identity)
        document, refusal = _document(payload)
        if refusal is not None:
            budget.spend(0)
            refusal.headers.update(budget.headers(None))
            return refusal
        assert document is not None
        return self._execute(document, payload, identity, budget, exchange)

    def _execute(
        self, document: DocumentNode, payload: dict[str, Any], identity: Identity, budget: Budget, exchange: _Exchange
    ) -> Response:
        name, variables = payload.get("operationName"), payload.get("variables") or {}
        operation = get_operation_ast(document, name)
        if operation is None:
            budget.spend(0)
            refusal = _request_error("Unknown or ambiguous operation name", "GRAPHQL_VALIDATION_FAILED")
            refusal.headers.update(budget.headers(None))
            return refusal
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        cost = complexity(schema(), operation, fragments, variables)
        exchange.operation_name = operation.name.value if operation.name else name
        exchange.root_fields, exchange.complexity = _root_fields(operation), cost
        if cost > self.max_complexity:
            budget.spend(0)
            return json_response(400, {"errors": [too_complex_error(cost, self.max_complexity)]}, budget.headers(cost))
        if not budget.affords(cost):
            exchange.rate_limited = True
            return json_response(
                self.ratelimited_status, {"errors": [ratelimited_error(budget, cost)]}, budget.headers(cost)
            )
        budget.spend(cost)
        context = Context(self, identity.user_id, self.now_ms(), self.max_first)
        result = execute(schema(), document, context_value=context, variable_values=variables, operation_name=name)
        assert isinstance(result, ExecutionResult)
        return json_response(_status(result), _result_json(result), budget.headers(cost))


def _read(handler: BaseHTTPRequestHandler) -> _Request:
    headers = {k.lower(): v for k, v in handler.headers.items()}
    try:
        length = max(int(headers.get("content-length", "0")), 0)
    except ValueError:
        length = 0
    return _Request(handler.command, urlsplit(handler.path).path, headers, handler.rfile.read(length))


def _payload(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return None
    if not isinstance(payload.get("variables") or {}, dict):
        return None
    return payload


def _document(payload: dict[str, Any]) -> tuple[DocumentNode | None, Response | None]:
    """The parsed, validated document, or the 400 a GraphQL server answers to a bad one."""
    try:
        document = parse(payload["query"])
    except GraphQLError as e:
        return None, _request_error(e.message, "GRAPHQL_PARSE_FAILED", e.formatted.get("locations"))
    errors = validate(schema(), document)
    if errors:
        return None, json_response(400, {"errors": [_graphql_error(e, "GRAPHQL_VALIDATION_FAILED") for e in errors]})
    return document, None


def _request_error(message: str, code: str, locations: Any = None) -> Response:
    error: dict[str, Any] = {"message": message, "extensions": {"code": code, "type": "graphql error"}}
    if locations:
        error["locations"] = locations
    return json_response(400, {"errors": [error]})


def _graphql_error(error: GraphQLError, code: str | None = None) -> dict[str, Any]:
    formatted = dict(error.formatted)
    original = error.original_error
    if isinstance(original, (WriteError, FilterError)):
        formatted["extensions"] = {
            "code": original.code,
            "type": "invalid input",
            "userError": True,
            "userPresentableMessage": str(original),
        }
    elif code is not None:
        formatted["extensions"] = {"code": code, "type": "graphql error"}
    elif original is not None:
        formatted["extensions"] = {"code": "INTERNAL_SERVER_ERROR", "type": "internal error"}
    return formatted


def _status(result: ExecutionResult) -> int:
    """400 when the request never ran (its variables did not fit), 200 otherwise, errors or not."""
    if result.data is None and result.errors and all(e.path is None for e in result.errors):
        return 400
    return 200


def _result_json(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [_graphql_error(e) for e in result.errors]
    return body


def _root_fields(operation: OperationDefinitionNode) -> tuple[str, ...]:
    return tuple(s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode))


def _record(at: float, request: _Request, response: Response, exchange: _Exchange) -> RecordedRequest:
    headers = dict(request.headers)
    if "authorization" in headers:
        headers["authorization"] = "<redacted>"
    return RecordedRequest(
        at=at,
        method=request.method,
        path=request.path,
        status=0 if response.reset else response.status,
        credential=exchange.credential,
        bucket=exchange.bucket,
        operation_name=exchange.operation_name,
        root_fields=exchange.root_fields,
        complexity=exchange.complexity,
        headers=headers,
        response_headers=dict(response.headers),
        rate_limited=exchange.rate_limited,
        fault=exchange.fault,
    )
