"""The stand-in's HTTP server (ThreadingHTTPServer on loopback) and the shape of its answers."""

from __future__ import annotations

import json
import socket
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # no answer: the connection is reset instead


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status,
        json.dumps(payload, ensure_ascii=False).encode(),
        {"Content-Type": "application/json;charset=UTF-8", **(headers or {})},
    )


def error_response(status: int, messages: list[str], errors: dict[str, str] | None = None) -> Response:
    """Jira's ErrorCollection: `{"errorMessages": [...], "errors": {...}}`."""
    return json_response(status, {"errorMessages": messages, "errors": errors or {}})


class Site(Protocol):
    def handle(self, handler: BaseHTTPRequestHandler) -> None: ...


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], site: Site) -> None:
        self.site = site
        self._resetting: set[socket.socket] = set()
        self._resetting_lock = threading.Lock()
        super().__init__(address, Handler)

    def reset(self, connection: socket.socket) -> None:
        """End `connection` with a TCP reset once its handler returns (SO_LINGER 0: RST, not FIN)."""
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self._resetting_lock:
            self._resetting.add(connection)

    def shutdown_request(self, request: Any) -> None:
        with self._resetting_lock:
            resetting = request in self._resetting
            self._resetting.discard(request)
        if resetting:
            self.close_request(request)
        else:
            super().shutdown_request(request)


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"
    timeout = 30
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.server.site.handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request log (`FakeJira.requests`) is the record."""


def write(handler: BaseHTTPRequestHandler, response: Response) -> None:
    try:
        handler.send_response(response.status)
        for name, value in response.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(response.body)))
        handler.end_headers()
        handler.wfile.write(response.body)
        handler.wfile.flush()
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True
