"""`intake dashboard`: the dashboard on loopback, its API calls forwarded to the config API.

The built bundle ships in this package (`intake_cli/web/`), so no Node.js is needed to run
it. The browser talks only to this loopback server: the page and its assets are served from the
package, every other request is forwarded to `--api-url`, signed with SigV4 from the user's own
AWS credentials exactly as the CLI signs. No credential reaches the browser, and nothing new is
exposed in AWS. The local stack (`intake local`) serves the same bundle on the API's own port.

Only the dashboard's own page may use it: another site can neither frame it nor send it a
request that is forwarded (see `_refusal`, and `browser_guard` for the headers every answer
carries).
"""

from __future__ import annotations

import argparse
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any, cast
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError

from . import browser_guard
from .api_client import ApiClient, ApiUnreachable, UsageError, client_for

BUNDLE = files("intake_cli") / "web"
_ASSET = re.compile(r"/assets/[A-Za-z0-9._-]+")
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
# What the browser sends that the API reads, and what the API answers that the page reads (the
# dashboard's own header, browser_guard.DASHBOARD_HEADER, is checked here and not forwarded).
_REQUEST_HEADERS = ("Content-Type", "If-Match", "Accept")
_ANSWER_HEADERS = ("Content-Type", "ETag", "Location", "Retry-After", "Allow")
MAX_BODY = 16 * 1024


def static_file(path: str) -> tuple[bytes, str] | None:
    """The page or one of its assets, for a GET of `path` (query dropped); None for anything else."""
    path = path.split("?", 1)[0]
    if path in ("/", "/index.html"):
        name = "index.html"
    elif _ASSET.fullmatch(path) and ".." not in path:
        name = path.lstrip("/")
    else:
        return None
    resource = BUNDLE.joinpath(*name.split("/"))
    if not resource.is_file():
        return None
    suffix = "." + name.rsplit(".", 1)[-1]
    return resource.read_bytes(), _TYPES.get(suffix, "application/octet-stream")


_DOT_SEGMENT = re.compile(r"(^|/)\.{1,2}(/|$)")


def _refusal(target: str, headers: browser_guard.Headers, port: int) -> tuple[int, str] | None:
    """Why this request may not go through the proxy, or None.

    - Only this loopback origin may use it: a page elsewhere (DNS rebinding, a cross-site form
      or link) would otherwise act with the user's AWS identity. `Host` must name loopback and
      this port, an `Origin`, when sent, must be this one, and a `Sec-Fetch-Site`, when sent,
      must say the request is the page's own or the user's (a GET from elsewhere has no Origin).
    - The target is a path on the API: `/`-rooted, not `//` (another host), no `.` or `..`
      segments (out of the stage), no backslash.
    - The body has a plain length, at most 16 KB (no chunked bodies, which would be read as a
      second request).
    """
    foreign = browser_guard.foreign_address(headers, port)
    if foreign is not None:
        return 403, foreign
    if browser_guard.from_another_site(headers):
        return 403, browser_guard.CROSS_SITE_REFUSAL
    path = target.split("?", 1)[0]
    if not path.startswith("/") or path.startswith("//") or "\\" in target or _DOT_SEGMENT.search(unquote(path)):
        return 400, "the request path is not a path on the API"
    if headers.get("Transfer-Encoding") is not None:
        return 411, "send the body with a Content-Length"
    length = headers.get("Content-Length")
    if length is not None and not (length.isdigit() and len(length) < 10):
        return 400, "the Content-Length is not a number"
    if length is not None and int(length) > MAX_BODY:
        return 413, "the body is over 16 KB"
    return None


def bundle_present() -> bool:
    return BUNDLE.joinpath("index.html").is_file()


class _DashboardServer(ThreadingHTTPServer):
    """The loopback server, holding the client its requests are forwarded with."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], client: ApiClient) -> None:
        self.client = client
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _DashboardServer
    protocol_version = "HTTP/1.1"
    server_version = "intake-dashboard"

    def _serve(self) -> None:
        port = cast(tuple[str, int], self.server.server_address)[1]
        refusal = _refusal(self.path, self.headers, port)
        if refusal is not None:
            self._refuse(*refusal)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.command in ("GET", "HEAD"):
            found = static_file(self.path)
            if found is not None:
                self._reply(200, found[1], found[0], {"Cache-Control": "no-cache"})
                return
        # Only the page's own script can add this header: a form or a link cannot.
        if not browser_guard.from_the_dashboard(self.headers):
            self._refuse(403, browser_guard.NO_DASHBOARD_HEADER_REFUSAL)
            return
        self._forward(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    def _forward(self, body: bytes | None) -> None:
        """The request sent on to the API, signed; its answer passed back (502 if none came)."""
        headers = {name: self.headers[name] for name in _REQUEST_HEADERS if self.headers.get(name) is not None}
        try:
            answer = self.server.client.forward(self.command, self.path, body, headers)
        except (ApiUnreachable, UsageError) as e:
            self._reply(502, "application/json", json.dumps({"message": str(e)}).encode(), {})
            return
        except BotoCoreError as e:  # credentials that cannot be loaded or refreshed (SSO expired...)
            message = f"cannot sign the request with your AWS credentials: {type(e).__name__.removesuffix('Error')}"
            self._reply(502, "application/json", json.dumps({"message": message}).encode(), {})
            return
        passed = {name: answer.headers[name] for name in _ANSWER_HEADERS[1:] if name in answer.headers}
        self._reply(answer.status_code, answer.headers.get("Content-Type", "application/json"), answer.content, passed)

    def _refuse(self, status: int, message: str) -> None:
        self._reply(status, "application/json", json.dumps({"message": message}).encode(), {})
        self.close_connection = True

    def _reply(self, status: int, content_type: str, payload: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def end_headers(self) -> None:
        # On every answer, http.server's own errors included.
        for name, value in browser_guard.SECURITY_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_dashboard(client: ApiClient, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    """The dashboard and the forwarding proxy on host:port, in a daemon thread."""
    server = _DashboardServer((host, port), client)
    threading.Thread(target=server.serve_forever, name="intake-dashboard", daemon=True).start()
    return server


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="serve the dashboard on loopback, forwarding to the config API (signed with SigV4)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    parser.add_argument("--port", type=int, default=8765, help="loopback port (default 8765; 0 picks a free one)")
    parser.add_argument(
        "--sign-region",
        metavar="REGION",
        help="sign with SigV4 for this region even if the URL is not an execute-api one (a custom domain)",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        print(f"intake dashboard: --port must be a port number from 0 to 65535, not {args.port}")
        return 2
    if not bundle_present():
        print("intake dashboard: the dashboard bundle is missing from this installation (make dashboard builds it)")
        return 1
    try:
        client = client_for(args)
    except UsageError as e:
        print(f"intake dashboard: {e}")
        return 2
    try:
        server = serve_dashboard(client, "127.0.0.1", args.port)
    except OSError:
        print(f"intake dashboard: cannot start: port {args.port} is in use; choose another with --port")
        return 1
    print(f"dashboard on http://127.0.0.1:{server.server_address[1]}/  (API: {client.base_url}); Ctrl-C stops")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopping")
    finally:
        server.shutdown()
    return 0
