"""What a handler's cold start loads: what its own requests need, and nothing another function needs."""

from __future__ import annotations

import os
import subprocess
import sys

from intake_dev.template import REPO_ROOT

OTHER_FUNCTIONS_DOMAIN = tuple(f"tracker_intake.domain.{name}" for name in ("poll", "dispatch", "launch"))


def cold_start(handler: str, probe: str) -> list[str]:
    """Run `import app` and then `probe` in a fresh process, from the handler's folder as Lambda
    does; the words `probe` prints."""
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    run = subprocess.run(
        [sys.executable, "-c", f"import sys, app\n{probe}"],
        cwd=REPO_ROOT / "functions" / handler,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


def test_the_api_cold_start_imports_no_module_of_the_poller_dispatcher_or_launcher() -> None:
    # GIVEN the API's module, imported in a fresh process as Lambda imports it
    # WHEN its cold start has run
    loaded = cold_start("api", "print(*sorted(m for m in sys.modules if m.startswith('tracker_intake.')))")
    # THEN it has its routes, but none of the other functions' domain modules
    assert "tracker_intake.api.routes" in loaded
    assert [m for m in loaded if m in OTHER_FUNCTIONS_DOMAIN] == []


BUILT_MODELS = """
from pydantic import BaseModel
from tracker_intake.api import models
from tracker_intake.domain import config, session
print(*(
    f"{module.__name__}.{name}"
    for module in (models, config, session)
    for name, value in vars(module).items()
    if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module.__name__
    and value.__pydantic_complete__
))
"""


def test_the_api_cold_start_builds_no_request_or_response_model_before_a_request_uses_it() -> None:
    # GIVEN the API's module, imported in a fresh process as Lambda imports it
    # WHEN its cold start has run, and no request has been answered yet
    built = cold_start("api", BUILT_MODELS)
    # THEN no config, API or session-request model has built its validator yet: each is built
    # by the first request that uses it (pydantic's defer_build)
    assert built == []
