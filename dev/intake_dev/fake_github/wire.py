"""The stand-in's HTTP server, and the shapes GitHub's answers share (JSON bodies, users, times)."""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import FakeGitHub

# The documentation page each endpoint's answers name.
DOCS = "https://docs.github.com/rest/issues/issues#list-repository-issues"
USER_DOCS = "https://docs.github.com/rest/users/users#get-the-authenticated-user"
COMMENTS_DOCS = "https://docs.github.com/rest/issues/comments#create-an-issue-comment"
LIST_COMMENTS_DOCS = "https://docs.github.com/rest/issues/comments#list-issue-comments"
REACTIONS_DOCS = "https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue"
LABELS_DOCS = "https://docs.github.com/rest/issues/labels#add-labels-to-an-issue"
CREATE_ISSUE_DOCS = "https://docs.github.com/rest/issues/issues#create-an-issue"
UPDATE_ISSUE_DOCS = "https://docs.github.com/rest/issues/issues#update-an-issue"


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    primary_limited: bool = False  # the stand-in's own primary window refused it
    reset: bool = False  # no answer: the connection is reset instead


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


def _json(status: int, payload: Any, extra: Mapping[str, str] | None = None) -> _Response:
    return _Response(status, json.dumps(payload, ensure_ascii=False).encode(), {**_json_type(), **(extra or {})})


def _json_type() -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8"}


def _not_found() -> dict[str, str]:
    return {"message": "Not Found", "documentation_url": DOCS, "status": "404"}


def _bad_credentials() -> _Response:
    return _json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})


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


def _endpoint_docs(method: str, kind: str) -> str:
    if (method, kind) == ("POST", "issues"):
        return CREATE_ISSUE_DOCS
    if (method, kind) == ("PATCH", "issue"):
        return UPDATE_ISSUE_DOCS
    if kind == "issue_comments":
        return COMMENTS_DOCS if method == "POST" else LIST_COMMENTS_DOCS
    return {"issue_reactions": REACTIONS_DOCS, "issue_labels": LABELS_DOCS}.get(kind, DOCS)


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
