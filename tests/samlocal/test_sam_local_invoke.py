"""`sam local invoke` really runs the built functions in containers, against `intake local`.

As a user tries the functions: `intake local --offline --container-address GATEWAY` serves the
embedded AWS (moto) and the GitHub stand-in, and writes the `--env-vars` file; `sam local invoke`
then runs the poller, the launcher and the API from `sam build`'s output, each in a container,
with their `events/`-style payloads. The container engine is Debian's podman (see engine.py).

Honest limits: the base image is a stand-in built here (Debian with CPython 3.12 and AWS's
runtime interface client), not Amazon Linux; SAM adds its own emulator and the layer on top as
it does with the real image. The build is x86_64, this machine's architecture.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from engine import Engine, missing_tools, podman_engine

from intake_dev.moto_rigs import sqs_record
from intake_dev.template import REPO_ROOT

pytestmark = pytest.mark.timeout(600)

TEMPLATE = REPO_ROOT / ".aws-sam" / "build" / "template.yaml"
SAM = REPO_ROOT / ".tools" / "bin" / "sam"
_FOUND = os.environ.get("INTAKE_PY312") or next(
    iter(sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))), None
)
PYTHON312 = Path(_FOUND) if _FOUND else None
# Lambda's name for this machine's processor (the template's Architecture parameter).
HOST_ARCHITECTURE = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine()]


@dataclass
class Invoked:
    answer: dict[str, Any]
    output: str  # what SAM and the function printed besides the answer


@dataclass
class Rig:
    engine: Engine
    env_vars: Path
    api_url: str
    aws_endpoint: str  # the embedded AWS, on loopback
    tmp: Path

    def invoke(self, function: str, event: dict[str, Any]) -> Invoked:
        """`sam local invoke FUNCTION` with EVENT and the local stack's env-vars file."""
        event_file = self.tmp / f"{function}-{time.monotonic_ns()}.json"
        event_file.write_text(json.dumps(event))
        run = subprocess.run(
            [
                str(SAM),
                "local",
                "invoke",
                function,
                "--template",
                str(TEMPLATE),
                "--event",
                str(event_file),
                "--env-vars",
                str(self.env_vars),
                "--invoke-image",
                self.engine.image,
                "--skip-pull-image",
                # This machine's processor: the function, its layer and SAM's emulator all x86_64.
                "--parameter-overrides",
                f"Architecture={HOST_ARCHITECTURE}",
            ],
            env={
                **self.engine.env,
                "SAM_CLI_TELEMETRY": "0",
                # SAM's own AWS calls at start (credentials, STS) are answered by moto, locally.
                "AWS_ENDPOINT_URL": self.aws_endpoint,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": "us-east-1",
            },
            capture_output=True,
            text=True,
            timeout=300,
            cwd=REPO_ROOT,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        # The function's answer is the last line SAM prints on stdout.
        return Invoked(json.loads(run.stdout.strip().splitlines()[-1]), run.stderr)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    missing = missing_tools()
    assert not missing, f"`make samlocal-deps` installs {', '.join(missing)} (apt)"
    assert PYTHON312 is not None, "the stand-in base image needs Python 3.12 (pyenv install 3.12)"
    assert TEMPLATE.exists(), "run `make built` first (sam build)"
    tmp = tmp_path_factory.mktemp("samlocal")
    with podman_engine(tmp / "engine", PYTHON312) as engine:
        out = tmp / "intake-local.out"
        with out.open("w") as handle:
            local = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "intake_cli.main",
                    "local",
                    "--offline",
                    "--port",
                    "0",
                    "--aws-port",
                    "0",
                    "--interval",
                    "3600",
                    "--state-dir",
                    str(tmp / "state"),
                    "--log-file",
                    str(tmp / "local" / "intake-local.log"),
                    "--container-address",
                    engine.gateway,
                ],
                stdout=handle,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            text = _wait_for(out, local, r"config API on (http://\S+)")
            yield Rig(
                engine=engine,
                env_vars=tmp / "local" / "sam-env.json",
                api_url=re.search(r"config API on (http://\S+)", text).group(1),  # type: ignore[union-attr]
                aws_endpoint=re.search(r"embedded AWS \(moto\) on (http://\S+)", text).group(1),  # type: ignore[union-attr]
                tmp=tmp,
            )
        finally:
            local.terminate()
            local.wait(timeout=30)


def _wait_for(out: Path, process: subprocess.Popen[bytes], pattern: str) -> str:
    deadline = time.monotonic() + 60
    while not re.search(pattern, out.read_text()):
        assert process.poll() is None, out.read_text()
        assert time.monotonic() < deadline, out.read_text()
        time.sleep(0.2)
    return out.read_text()


def _queued(rig: Rig) -> list[dict[str, Any]]:
    env = json.loads(rig.env_vars.read_text())["Parameters"]
    queue_url = env["QUEUE_URL"].replace(rig.engine.gateway, "127.0.0.1")
    sqs = boto3.client(
        "sqs",
        endpoint_url=rig.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])
    return [sqs_record(message, queue_url) for message in got.get("Messages", [])]


def test_sam_local_invoke_runs_poller_launcher_and_api_against_the_local_stack(rig: Rig) -> None:
    # GIVEN a project on the bundled sample repository, intake on for the `agent` label, made
    # through the local stack's API
    created = requests.post(
        f"{rig.api_url}/projects",
        json={"id": "demo", "gitOrigin": "git@github.com:acme/widgets.git"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    configured = requests.put(
        f"{rig.api_url}/projects/demo/config",
        json={
            "gitOrigin": "git@github.com:acme/widgets.git",
            "trackerIntake": {"enabled": True, "labels": ["agent"], "backlog": "all"},
        },
        headers={"If-Match": created.headers["ETag"]},
        timeout=10,
    )
    assert configured.status_code == 200, configured.text

    # WHEN the poller runs in a container, twice
    first = rig.invoke("PollerFunction", {"projectId": "demo"})
    second = rig.invoke("PollerFunction", {"projectId": "demo"})

    # THEN the first poll claims and enqueues the matching issues; the second costs one 304
    assert first.answer["result"] == "changed", first
    assert first.answer["newSessions"], first
    assert all(s.startswith("github:acme/widgets#") for s in first.answer["newSessions"])
    assert second.answer["result"] == "not_modified", second
    assert second.answer["newSessions"] == []

    # WHEN the launcher runs in a container on what the poller queued
    records = _queued(rig)
    assert sorted(json.loads(r["body"])["issueId"] for r in records) == sorted(first.answer["newSessions"])
    launched = rig.invoke("LauncherFunction", {"Records": records})

    # THEN no message of the batch failed, and every claim is now a launched session
    assert launched.answer == {"batchItemFailures": []}, launched
    sessions = requests.get(f"{rig.api_url}/projects/demo/sessions", timeout=10).json()
    statuses = {s["issueId"]: s["status"] for s in sessions["items"]}
    assert statuses == dict.fromkeys(first.answer["newSessions"], "launched")

    # WHEN the API runs in a container with an API Gateway event listing the projects
    listed = rig.invoke("ApiFunction", json.loads((REPO_ROOT / "events" / "api-list-projects.json").read_text()))

    # THEN it answers 200 with the project made above
    assert listed.answer["statusCode"] == 200, listed
    assert [p["id"] for p in json.loads(listed.answer["body"])["items"]] == ["demo"]
