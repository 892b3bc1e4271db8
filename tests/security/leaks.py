"""Looking for secrets where they must never be: every log record, printed line and answer.

A secret counts as leaked if it shows up whole, in an obvious encoding (base64, base64url,
hex, percent-encoding, reversed), or as any 16-character piece of it (a truncated or
partly masked copy is still a leak).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

FRAGMENT = 16


def forms(secret: str) -> list[str]:
    raw = secret.encode()
    found = {
        secret,
        secret[::-1],
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
        raw.hex().upper(),
        quote(secret, safe=""),
        json.dumps(secret)[1:-1],
    }
    found.update(secret[i : i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1))
    return sorted(found, key=len, reverse=True)


def leaks(secrets: dict[str, str], texts: Iterable[str]) -> list[str]:
    """'<secret name> as <form> in <where>' for every hit, or an empty list."""
    hits = []
    patterns = {name: forms(secret) for name, secret in secrets.items()}
    for text in texts:
        for name, candidates in patterns.items():
            for form in candidates:
                if form in text:
                    at = text.index(form)
                    hits.append(f"{name} as {form!r} in ...{text[max(0, at - 80) : at + len(form) + 40]!r}...")
                    break
    return hits


class LogSink(logging.Handler):
    """Every record, whatever logger it came through, as text: message, extras, traceback, and
    the JSON line Powertools would print for it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self._plain = logging.Formatter("%(levelname)s %(name)s %(message)s")
        self._json: list[logging.Formatter] = []

    def use_formatter(self, formatter: logging.Formatter | None) -> None:
        if formatter is not None and formatter not in self._json:
            self._json.append(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        lines = [self._plain.format(record), json.dumps(record.__dict__, default=str)]
        if record.exc_info:
            lines.append(self._plain.formatException(record.exc_info))
        for formatter in self._json:
            lines.append(formatter.format(record))
        self.lines.extend(lines)


@contextmanager
def capturing_logs(*powertools_loggers: Any) -> Iterator[LogSink]:
    """Attach a LogSink to the root logger and every named logger that does not propagate."""
    sink = LogSink()
    for logger in powertools_loggers:
        sink.use_formatter(getattr(logger, "registered_formatter", None))
    names = [None, "tracker-intake", "tracker_intake"]
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(sink)
    logging.getLogger("tracker_intake").setLevel(logging.DEBUG)
    try:
        yield sink
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(sink)
            logger.setLevel(level)
