"""The config API on loopback: each HTTP request becomes an API Gateway REST proxy event.

`sam local start-api` without containers: the real ApiFunction handler answers, and its
proxy response becomes the HTTP response. The path is handed over still percent-encoded,
as API Gateway (REST) does, and `pathParameters` is left to the handler's own router.

It also serves the dashboard (`static`), so it guards it as `intake dashboard` does: every answer
carries the dashboard's security headers, and a browser's request from another site is refused
(`guard`).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from intake_cli import browser_guard

from .functions import LocalLambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
# The page or asset for a GET path (bytes, content type), or None to let the API answer.
Static = Callable[[str], tuple[bytes, str] | None]

# API Gateway's own payload limit; the handler applies its smaller one.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
STAGE = "local"
_BAD_GATEWAY = json.dumps({"message": "Internal server error"})
# Headers this server sets itself, whatever the handler answers.
_SET_HERE = {"content-length", "connection", "transfer-encoding", *map(str.lower, browser_guard.SECURITY_HEADERS)}

logger = logging.getLogger(__name__)


def proxy_event(method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> dict[str, Any]:
    """The REST (v1) proxy event API Gateway would build for this request."""
    split = urlsplit(target)
    query = parse_qsl(split.query, keep_blank_values=True)
    multi_headers = _multi(headers)
    multi_query = _multi(query)
    try:
        text, encoded = body.decode(), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    path = _without_stage(split.path or "/")
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(datetime.now(UTC).timestamp() * 1000),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": multi_headers.get("User-Agent", [""])[-1]},
            "protocol": "HTTP/1.1",
        },
        "body": text if body else None,
        "isBase64Encoded": encoded,
    }


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Each name's values, in order (API Gateway's multi-value form)."""
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    return values


def _without_stage(path: str) -> str:
    """As on API Gateway, the stage may lead the path (the OpenAPI document's server is `/local`):
    `/local/projects` and `/projects` are the same resource here."""
    if path == f"/{STAGE}" or path.startswith(f"/{STAGE}/"):
        return path[len(STAGE) + 1 :] or "/"
    return path


def guard(headers: browser_guard.Headers, static: bool, address: tuple[str, int] | None = None) -> str | None:
    """Why this request is refused, or None: the dashboard's rules, loose enough for the CLI.

    A request another site's page made (its Sec-Fetch-Site says so) is refused, page and API
    alike. A request with a browser's marks (an `Origin` or a `Sec-Fetch-*` header) must name
    this server's own address (`address`: the host it listens on and its port) in `Host`, and
    in `Origin` when it sends one, as `intake dashboard` asks: a page whose name was made to
    resolve to loopback (DNS rebinding) is same-origin to the browser, and only `Host` tells it
    apart. And such a request, when it is an API call, needs the dashboard's header. The CLI
    (`intake --api-url`), curl and the tests call this API as they would call API Gateway, with
    no browser's marks, and are asked for none of this. A modern browser marks every request
    with Sec-Fetch-*, an older one at least a cross-site POST with `Origin`; what neither marks
    is an old browser's cross-site GET, a read whose answer the page cannot see. The deployed
    API needs none of this: it takes only SigV4-signed calls.
    """
    if browser_guard.from_another_site(headers):
        return browser_guard.CROSS_SITE_REFUSAL
    if not browser_guard.from_a_browser(headers):
        return None
    if address is not None:
        host, port = address
        foreign = browser_guard.foreign_address(headers, port, (*browser_guard.LOOPBACK_HOSTS, host))
        if foreign is not None:
            return foreign
    if not static and not browser_guard.from_the_dashboard(headers):
        return browser_guard.NO_DASHBOARD_HEADER_REFUSAL
    return None


class _ApiServer(ThreadingHTTPServer):
    """The loopback server, holding what its requests are served with."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: Handler, static: Static | None) -> None:
        self.handler = handler
        self.static = static
        self.host = address[0]
        super().__init__(address, _ProxyRequestHandler)


class _ProxyRequestHandler(BaseHTTPRequestHandler):
    server: _ApiServer
    protocol_version = "HTTP/1.1"
    server_version = "intake-local-api"

    def _serve(self) -> None:
        static = self.server.static
        found = static(self.path) if static is not None and self.command in ("GET", "HEAD") else None
        port = cast(tuple[str, int], self.server.server_address)[1]
        refusal = guard(self.headers, static=found is not None, address=(self.server.host, port))
        if refusal is not None:
            self._refuse(403, refusal)
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            self._refuse(413, "payload too large")
            return
        body = self.rfile.read(length) if length else b""
        if found is not None:
            self._reply(200, {"Content-Type": [found[1]], "Cache-Control": ["no-cache"]}, found[0])
            return
        self._invoke(body)

    def _invoke(self, body: bytes) -> None:
        """The request as API Gateway's proxy event to the handler; its answer sent back."""
        event = proxy_event(self.command, self.path, list(self.headers.items()), body)
        try:
            answer = self.server.handler(event, LocalLambdaContext(function_name="local-api"))
        except Exception:  # a crashed Lambda is API Gateway's 502, logged in full
            logger.exception("the API handler failed on %s %s", self.command, self.path)
            self._reply(502, {"Content-Type": ["application/json"]}, _BAD_GATEWAY)
            return
        raw = answer.get("body") or ""
        payload = base64.b64decode(raw) if answer.get("isBase64Encoded") else str(raw).encode()
        self._reply(int(answer.get("statusCode", 200)), _answer_headers(answer), payload)

    def _refuse(self, status: int, message: str) -> None:
        """Answered before the body is read, so the connection cannot be reused."""
        self._reply(status, {"Content-Type": ["application/json"]}, json.dumps({"message": message}))
        self.close_connection = True

    def _reply(self, status: int, headers: dict[str, list[str]], payload: bytes | str) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        self.send_response(status)
        for name, values in headers.items():
            if name.lower() in _SET_HERE:
                continue
            for value in values:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def end_headers(self) -> None:
        # On every answer, http.server's own errors included.
        for name, value in browser_guard.SECURITY_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, ...) reaches the handler too, which answers 405
        # as API Gateway's proxy would; http.server's own answer is 501, a server error.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the handler's own logs say what happened."""


def _answer_headers(answer: dict[str, Any]) -> dict[str, list[str]]:
    """A proxy answer's headers and multi-value headers, as lists of values (the latter win)."""
    headers: dict[str, list[str]] = {k: [str(v)] for k, v in (answer.get("headers") or {}).items()}
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        headers[name] = [str(v) for v in values]
    return headers


def serve_api(
    handler: Handler, host: str = "127.0.0.1", port: int = 3000, static: Static | None = None
) -> ThreadingHTTPServer:
    """Serve `handler` (an API Gateway proxy handler) on host:port, in a daemon thread.

    Port 0 picks a free port (see `server.server_address`); `server.shutdown()` stops it.
    `static` answers the GETs it knows (the dashboard's page and assets) before the API does.
    """
    server = _ApiServer((host, port), handler, static)
    thread = threading.Thread(target=server.serve_forever, name=f"intake-api-{port}", daemon=True)
    thread.start()
    return server
