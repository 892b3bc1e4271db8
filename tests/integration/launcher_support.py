"""A session backend on loopback that answers from a script, and SQS events for the launcher."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

from api_support import claim, load_event

from intake_dev.functions import LocalLambdaContext, load_handler
from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.adapters.webhook import WebhookLauncher
from tracker_intake.domain.clock import SystemClock
from tracker_intake.domain.launch import LaunchContext
from tracker_intake.domain.records import ClaimStatus


@dataclass(frozen=True)
class Reply:
    status: int = 201
    body: dict[str, Any] | None = None
    delay: float = 0.0


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class SessionBackend:
    """Answers each POST with the next scripted reply (the last one repeats) and keeps what it got."""

    script: list[Reply] = field(default_factory=lambda: [Reply(201, {"sessionId": "sess-1"})])
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def next_reply(self) -> Reply:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


@contextmanager
def session_backend(*script: Reply) -> Iterator[SessionBackend]:
    backend = SessionBackend(list(script)) if script else SessionBackend()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                backend.received.append(Received(dict(self.headers.items()), body))
                reply = backend.next_reply()
            time.sleep(reply.delay)
            payload = json.dumps(reply.body).encode() if reply.body is not None else b""
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the launcher gave up waiting (the timeout case)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    backend.url = f"http://127.0.0.1:{server.server_address[1]}/sessions"
    try:
        yield backend
    finally:
        server.shutdown()
        server.server_close()


def sqs_event(*bodies: str) -> dict[str, Any]:
    """events/launcher.json with one record per body (message ids 0, 1, ...)."""
    template = load_event("launcher.json")["Records"][0]
    records = []
    for i, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record.update(messageId=f"message-{i}", body=body)
        records.append(record)
    return {"Records": records}


def sample_body() -> str:
    """The session request of events/launcher.json."""
    body: str = load_event("launcher.json")["Records"][0]["body"]
    return body


SECRET = "whsec_launcherTestSecret0123456789"
ISSUE = "github:acme/app#42"


class Launcher:
    """The launcher handler wired to the moto ledger and a loopback backend."""

    def __init__(self, aws: dict[str, Any], backend: SessionBackend, read_timeout: float = 5.0) -> None:
        self.store = DynamoStore(aws["table_name"], client=aws["dynamodb"])
        self.store.put_claim(claim(status=ClaimStatus.ENQUEUED))
        self.module: ModuleType = load_handler("launcher", fresh=True)
        webhook = WebhookLauncher(backend.url, SECRET, timeout=(1.0, read_timeout))
        self.module.use(LaunchContext(ledger=self.store, launcher=webhook, clock=SystemClock()))

    def deliver(self, body: str | None = None) -> list[str]:
        """One SQS batch with the request; returns the message ids reported as failed."""
        response = self.module.lambda_handler(sqs_event(body or sample_body()), LocalLambdaContext())
        return [item["itemIdentifier"] for item in response["batchItemFailures"]]

    @property
    def claim(self) -> Any:
        return self.store.get_claim(ISSUE)
