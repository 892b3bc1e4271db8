"""Loads the real Lambda handlers (functions/<name>/app.py) in-process, with a stand-in context.

This is how the local stack and the tests run the same handler code that `sam deploy` ships,
without containers: each app.py is loaded under its own module name.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType

from .template import REPO_ROOT

FUNCTIONS = REPO_ROOT / "functions"


def load_handler(name: str, *, fresh: bool = False) -> ModuleType:
    """The module of functions/<name>/app.py. `fresh` loads a new copy (a Lambda cold start)."""
    module_name = f"intake_function_{name}"
    if not fresh and module_name in sys.modules:
        return sys.modules[module_name]
    path = FUNCTIONS / name / "app.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"no handler at {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class LocalLambdaContext:
    """What Powertools and the handlers read from a Lambda context."""

    function_name: str = "local"
    memory_limit_in_mb: int = 256
    timeout_s: float = 30.0
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._started)) * 1000))


@contextlib.contextmanager
def quiet_handler_logs() -> Iterator[None]:
    """The handlers' JSON logs (stdout, as in Lambda) go nowhere while this lasts, then back.

    Assigned, not setStream: that would flush a stream an earlier test may have closed.
    """
    streams = [h for h in logging.getLogger("tracker-intake").handlers if isinstance(h, logging.StreamHandler)]
    originals = [h.stream for h in streams]
    for handler in streams:
        handler.stream = io.StringIO()
    try:
        yield
    finally:
        for handler, original in zip(streams, originals, strict=True):
            handler.stream = original
