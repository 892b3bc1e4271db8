"""When a failing project may be polled again: exponential, capped, jittered, after any server hint.

A transient failure (a 5xx, a reset connection, a timeout: `IntakeError.transient`) starts at
45 s less jitter (36-45 s from the poll's start): over before the next tick even for a poll that
started 15 s after its own (EventBridge's delay and a cold start), so a blip costs one tick.
Anything else (bad credentials, a repository not found, an unreadable answer) starts at five
minutes. Both double on each
consecutive failure up to the hour.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

BASE = timedelta(minutes=5)
TRANSIENT_BASE = timedelta(seconds=45)
CAP = timedelta(hours=1)
JITTER = 0.2  # the delay is drawn from [80 %, 100 %] of the exponential step


def backoff_delay(failures: int, rng: Callable[[], float] = random.random, *, transient: bool = False) -> timedelta:
    """min(base * 2^(failures-1), 1 h), less up to 20 % jitter so failing projects spread out.

    The base is 45 s after a transient failure (the next tick), five minutes after any other.
    """
    base = TRANSIENT_BASE if transient else BASE
    step: timedelta = min(base * 2 ** min(max(failures - 1, 0), 16), CAP)  # no overflow
    return step * (1 - JITTER * rng())


def backoff_until(
    now: datetime,
    failures: int,
    hint: datetime | None = None,
    rng: Callable[[], float] = random.random,
    *,
    transient: bool = False,
) -> datetime:
    """max(server hint, now + backoff_delay): a rate-limit reset is always honoured."""
    until = now + backoff_delay(failures, rng, transient=transient)
    return max(until, hint) if hint is not None else until
