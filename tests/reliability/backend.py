"""A loopback session backend: receives the launcher's signed webhook POSTs and counts them.

It behaves as docs/design.md asks of a backend: it checks the HMAC signature, and it is idempotent
on `Idempotency-Key` (a repeated key answers with the session it already started). Faults:
an error status, or a slow answer that starts the session and then outlives the launcher's
timeout (the answer is lost, the session is not).
"""

from __future__ import annotations

import hmac
import json
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from tracker_intake.adapters.webhook import IDEMPOTENCY_HEADER
from tracker_intake.domain.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, launch_signature


@dataclass(frozen=True)
class BackendCall:
    issue_id: str
    project_id: str
    idempotency_key: str
    signature_ok: bool
    status: int


@dataclass
class _Answer:
    kind: str  # "status" | "slow"
    issue_id: str | None
    times: int
    status: int = 500
    seconds: float = 1.0
    body: str = ""


class SessionBackend:
    """The webhook receiver. `url` is what the launcher posts to."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.calls: list[BackendCall] = []
        self.sessions: dict[str, str] = {}  # idempotency key -> session id
        self._answers: list[_Answer] = []
        self.faults_fired = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="session-backend", kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/sessions"

    def __enter__(self) -> SessionBackend:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- faults -------------------------------------------------------------------------

    def answer_status(self, status: int, *, issue_id: str | None = None, times: int = 1, body: str = "") -> None:
        with self._lock:
            self._answers.append(_Answer("status", issue_id, times, status=status, body=body))

    def answer_slowly(self, seconds: float, *, issue_id: str | None = None, times: int = 1) -> None:
        """Start the session, then answer only after `seconds` (past the launcher's timeout)."""
        with self._lock:
            self._answers.append(_Answer("slow", issue_id, times, seconds=seconds))

    @property
    def faults_pending(self) -> int:
        with self._lock:
            return sum(a.times for a in self._answers)

    # --- what it saw --------------------------------------------------------------------

    def calls_per_issue(self) -> Counter[str]:
        with self._lock:
            return Counter(call.issue_id for call in self.calls)

    def sessions_per_issue(self) -> Counter[str]:
        """Sessions actually started: distinct idempotency keys per issue."""
        with self._lock:
            keys = {(call.issue_id, call.idempotency_key) for call in self.calls if call.status < 300}
        return Counter(issue for issue, _ in keys)

    def keys_per_issue(self) -> dict[str, set[str]]:
        with self._lock:
            out: dict[str, set[str]] = {}
            for call in self.calls:
                out.setdefault(call.issue_id, set()).add(call.idempotency_key)
            return out

    # --- serving ------------------------------------------------------------------------

    def _take_answer(self, issue_id: str) -> _Answer | None:
        for answer in self._answers:
            if answer.issue_id in (None, issue_id):
                answer.times -= 1
                self.faults_fired += 1
                if answer.times <= 0:
                    self._answers.remove(answer)
                return answer
        return None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", "0"))
        raw = handler.rfile.read(length)
        body: dict[str, Any] = json.loads(raw)
        key = handler.headers.get(IDEMPOTENCY_HEADER, "")
        expected = launch_signature(self.secret, handler.headers.get(TIMESTAMP_HEADER, ""), raw)
        signature_ok = hmac.compare_digest(handler.headers.get(SIGNATURE_HEADER, ""), expected)
        issue_id, project_id = str(body.get("issueId")), str(body.get("projectId"))
        with self._lock:
            answer = self._take_answer(issue_id) if signature_ok else None
            status = 401 if not signature_ok else (answer.status if answer and answer.kind == "status" else 201)
            if status < 300:
                session = self.sessions.setdefault(key, f"session-{len(self.sessions) + 1}")
            self.calls.append(BackendCall(issue_id, project_id, key, signature_ok, status))
        if answer is not None and answer.kind == "slow":
            self._stopping.wait(answer.seconds)
        payload = (
            json.dumps({"sessionId": session}).encode()
            if status < 300
            else (answer.body if answer is not None and answer.body else json.dumps({"error": status})).encode()
        )
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the launcher gave up waiting (a slow answer)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], backend: SessionBackend
    ) -> None:
        self.backend = backend
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 30
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall per keep-alive answer

    def do_POST(self) -> None:
        self.server.backend._handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: `SessionBackend.calls` is the record."""
