"""When a failing project may be polled again: exponential, capped, jittered, after any server hint."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

BASE = timedelta(minutes=5)
CAP = timedelta(hours=1)
JITTER = 0.2  # the delay is drawn from [80 %, 100 %] of the exponential step


def backoff_delay(failures: int, rng: Callable[[], float] = random.random) -> timedelta:
    """min(5 min * 2^(failures-1), 1 h), less up to 20 % jitter so failing projects spread out."""
    step: timedelta = min(BASE * 2 ** min(max(failures - 1, 0), 16), CAP)  # no overflow
    return step * (1 - JITTER * rng())


def backoff_until(
    now: datetime,
    failures: int,
    hint: datetime | None = None,
    rng: Callable[[], float] = random.random,
) -> datetime:
    """max(server hint, now + backoff_delay): a rate-limit reset is always honoured."""
    until = now + backoff_delay(failures, rng)
    return max(until, hint) if hint is not None else until
