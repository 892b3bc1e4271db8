"""What the Linear and Jira clients share: a read sent again while the poll allows, and a
header read as a number."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from tracker_intake.domain.errors import TrackerUnavailable
from tracker_intake.domain.tracker import Retries

logger = logging.getLogger(__name__)

T = TypeVar("T")


def retried(send: Callable[[], T], where: str, retries: Retries | None) -> T:
    """`send()`, sent again after a failure in passing (a 502, 503 or 504, a reset, a timeout)
    while `retries` allows: a read, which a retry cannot do twice. The last answer is the caller's."""
    attempt = 1
    while True:
        try:
            return send()
        except TrackerUnavailable as e:
            if not (e.retryable and retries is not None and retries.allow(e, attempt)):
                raise
        attempt += 1
        logger.info("retrying %s after a transient failure (attempt %d)", where, attempt)


def header_int(value: str | None) -> int | None:
    """A header's number (`12`, `12.0`), or None when it is absent or not one."""
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None
