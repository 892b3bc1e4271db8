"""What every part of the stand-in shares: its lock, its clocks, its ids, its request log, its writers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .wire import _Server, _user

_EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


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


@dataclass(frozen=True)
class _Writer:
    """Who a write is by: a user behind a plain token, or an installation's bot."""

    login: str
    app_id: str | None = None  # set for an installation token: the app's bot writes

    @property
    def is_bot(self) -> bool:
        return self.app_id is not None


class _StandIn:
    """The state the stand-in's parts share; `FakeGitHub` sets it up."""

    clock: Callable[[], float]
    html_base: str
    prefix: str
    _lock: threading.RLock
    _server: _Server
    _requests: list[RecordedRequest]
    _clock: datetime
    _issue_ids: int
    _write_ids: int

    def _init_shared(self, clock: Callable[[], float], html_base: str, prefix: str) -> None:
        self.clock = clock
        self.html_base = html_base
        # A GitHub Enterprise Server API lives under /api/v3: `prefix="/api/v3"` mimics it.
        self.prefix = prefix.rstrip("/")
        self._lock = threading.RLock()
        self._requests = []
        self._clock = _EPOCH
        self._issue_ids = 1_000_000_000
        self._write_ids = 2_000_000_000  # comments and reactions

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.prefix}"

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
