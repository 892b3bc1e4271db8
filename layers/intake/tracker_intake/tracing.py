"""Tracing costs nothing unless it is on.

`traced` wraps a handler in Powertools' Tracer only when the Tracing parameter is Active
(`INTAKE_TRACING`); otherwise nothing of X-Ray is imported. A module of its own, with no
imports of the service's, so a handler's cold start pays only for what it uses.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

H = TypeVar("H", bound=Callable[..., Any])


def tracing_on() -> bool:
    return os.environ.get("INTAKE_TRACING", "Disabled") == "Active"


def traced(handler: H) -> H:
    """`handler`, captured by Powertools' Tracer when tracing is on (botocore and requests are
    patched by it then); `handler` itself when off."""
    if not tracing_on():
        return handler
    from aws_lambda_powertools import Tracer

    return cast(H, Tracer().capture_lambda_handler(handler))
