"""What ships: the wheel built from pyproject.toml, installed into a clean virtual environment.

The environment gets the wheel and its runtime dependencies only (no moto, no PyYAML, no test
rigs), the way a user installs `intake`. Its CLI is then run against the config API served on
loopback, and against a port nobody listens on. No network: the wheel is built without build
isolation (hatchling is a dev dependency) and the dependencies come from the wheelhouse
`make install` fills (`.wheelhouse`).
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from intake_dev.functions import load_handler, quiet_handler_logs
from intake_dev.local_api import serve_api
from intake_dev.template import REPO_ROOT
from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.api.routes import ApiContext
from tracker_intake.domain.clock import SystemClock

pytestmark = pytest.mark.timeout(600)

# What only builds, runs locally or tests the service: none of it may be defined or imported in
# the wheel. (`intake_cli.main` names the `intake_dev` package as a string, and imports it only
# when a source checkout provides it.)
DOUBLES = re.compile(
    r"^class (FixedClock|InProcessInvoker|FakeGitHub|FakeRepo|CallCounter|MemoryStore|LocalStack)\b", re.M
)
DEV_IMPORTS = re.compile(r"^\s*(from|import) (moto|yaml|intake_dev)\b", re.M)


def _run(*argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=540, cwd=cwd, check=False)


WHEELHOUSE = REPO_ROOT / ".wheelhouse"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = _run(
        sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
        "--wheel-dir", out, REPO_ROOT,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (path,) = out.glob("tracker_intake-*.whl")
    return path


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean virtual environment with the wheel and its runtime dependencies, nothing else."""
    root = tmp_path_factory.mktemp("venv")
    made = _run(sys.executable, "-m", "venv", root)
    assert made.returncode == 0, made.stderr
    assert any(WHEELHOUSE.glob("*.whl")), f"no wheels in {WHEELHOUSE}: run `make install` (it fills it)"
    installed = _run(
        root / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-index", "--find-links", WHEELHOUSE, wheel
    )
    assert installed.returncode == 0, installed.stderr
    return root


def test_the_wheel_holds_the_service_and_the_cli_and_nothing_that_only_builds_or_tests(wheel: Path) -> None:
    # GIVEN the built wheel
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        sources = {name: archive.read(name).decode() for name in names if name.endswith(".py")}
    # THEN its packages are the service and the user CLI
    packages = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert packages == {"tracker_intake", "intake_cli"}
    # AND no module defines a test double or the stand-in, or imports moto, PyYAML or intake_dev
    doubles = {name: DOUBLES.findall(text) for name, text in sources.items() if DOUBLES.search(text)}
    imports = {name: DEV_IMPORTS.findall(text) for name, text in sources.items() if DEV_IMPORTS.search(text)}
    assert doubles == {} and imports == {}
    assert not any(re.search(r"fake_github|sample_repo|call_counter|moto_partition_query", n) for n in names)


def test_the_installed_cli_answers_help_and_version(venv: Path) -> None:
    # WHEN the installed `intake` is asked for help and its version
    helped = _run(venv / "bin" / "intake", "--help")
    versioned = _run(venv / "bin" / "intake", "--version")
    # THEN both answer; the user's commands are there, the development ones are not
    assert helped.returncode == 0, helped.stderr
    assert all(command in helped.stdout for command in ("project", "sessions", "preview", "dashboard"))
    assert "local" not in helped.stdout.split("positional arguments")[-1].split("options")[0]
    assert versioned.returncode == 0 and versioned.stdout.strip() == "intake 0.1.0"
    # AND the dashboard's bundle came with it (no Node.js needed to run it)
    bundle = _run(
        venv / "bin" / "python", "-c", "from intake_cli.dashboard import bundle_present; print(bundle_present())"
    )
    assert bundle.stdout.strip() == "True", bundle.stderr
    # AND nothing that only the dev extras install is importable there
    for module in ("moto", "yaml", "intake_dev"):
        probe = _run(venv / "bin" / "python", "-c", f"import {module}")
        assert probe.returncode != 0, module


@pytest.fixture
def api(aws: dict[str, Any]) -> Iterator[str]:
    """The real ApiFunction handler on loopback, over moto."""
    module = load_handler("api", fresh=True)
    module.use(ApiContext(store=DynamoStore(aws["table_name"], client=aws["dynamodb"]), clock=SystemClock()))
    with quiet_handler_logs():  # the handler's JSON logs would mix with the test output
        server = serve_api(module.lambda_handler, "127.0.0.1", 0)
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


def test_the_installed_cli_lists_projects_of_a_live_api(venv: Path, api: str) -> None:
    # GIVEN a project created through the installed CLI
    intake = venv / "bin" / "intake"
    created = _run(intake, "--api-url", api, "project", "create", "shipped", "--name", "From the wheel")
    # WHEN the projects are listed
    listed = _run(intake, "--api-url", api, "project", "list")
    # THEN both worked, and the list shows it
    assert created.returncode == 0, created.stdout + created.stderr
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "shipped" in listed.stdout


def test_the_installed_cli_says_in_a_sentence_when_the_api_is_unreachable(venv: Path) -> None:
    # GIVEN a loopback port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # WHEN the installed CLI lists projects there
    answer = _run(venv / "bin" / "intake", "--api-url", f"http://127.0.0.1:{port}", "project", "list")
    # THEN it exits 3 with one sentence, no traceback
    said = (answer.stdout + answer.stderr).strip()
    assert answer.returncode == 3
    assert "Traceback" not in said and len(said.splitlines()) == 1, said
