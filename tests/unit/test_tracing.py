"""Tracing costs nothing unless it is on: no X-Ray import, the handler itself."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from intake_dev.template import REPO_ROOT
from tracker_intake.tracing import traced

PROBE = "import sys, app; print(any(m.startswith('aws_xray_sdk') for m in sys.modules))"


def handler(event: dict[str, object], context: object) -> dict[str, object]:
    return {"ok": True}


def test_off_the_handler_is_returned_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTAKE_TRACING", raising=False)
    assert traced(handler) is handler


@pytest.mark.parametrize(("tracing", "imported"), [("Disabled", "False"), ("Active", "True")])
def test_a_cold_start_imports_x_ray_only_when_tracing_is_active(tracing: str, imported: str) -> None:
    # GIVEN the poller's module, imported as Lambda imports it, with INTAKE_TRACING set
    env = {**os.environ, "INTAKE_TRACING": tracing, "AWS_DEFAULT_REGION": "us-east-1"}
    # WHEN it is imported in a fresh process
    run = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT / "functions" / "poller",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # THEN X-Ray's SDK (the tracer's cost) is imported only when tracing is Active
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [imported]
