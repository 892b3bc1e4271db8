"""The built artifacts run: each handler `sam build` produced, in Python 3.12, with only the built
function, the layer built for this machine's processor and boto3 (what Lambda's runtime brings)
on its path.

This proves what the unit and integration tests cannot: that `layers/intake/requirements.txt`
is complete and the layer holds the package, since those tests run with the development venv.
The handlers talk to moto's server and GitHub's stand-in, both on loopback. The tests run in
order, as one journey: the project the API creates is the one the poller polls.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from intake_dev.fake_github import FakeGitHub
from intake_dev.sample_repo import load_sample
from intake_dev.template import REPO_ROOT, create_resources

BUILD = REPO_ROOT / ".aws-sam" / "build"
RUNTIME = REPO_ROOT / ".aws-sam" / "lambda-runtime"
# sam build builds the layer for arm64 and for x86_64; this machine can run only its own.
# (tests/built/test_built_layers.py shows the other holds the same, compiled for its machine.)
LAYER = BUILD / ("SharedLayerArm64" if platform.machine() == "aarch64" else "SharedLayerX86")
# The interpreter `make built` used (make test passes it), else pyenv's 3.12.
_FOUND = os.environ.get("INTAKE_PY312") or next(
    iter(sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))), None
)
PYTHON312 = Path(_FOUND) if _FOUND else None
RUNNER = Path(__file__).with_name("run_built.py")

pytestmark = pytest.mark.timeout(300)


class Built:
    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env = env
        self.tmp = tmp

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        """Call the built `function` with `event`; its answer and the files it imported."""
        event_path, answer_path = self.tmp / f"{function}-event.json", self.tmp / f"{function}-answer.json"
        event_path.write_text(json.dumps(event))
        assert PYTHON312 is not None
        run = subprocess.run(
            [
                str(PYTHON312),
                "-S",
                # No bytecode written: Lambda's /var/task and /opt are read-only, and the built
                # layers stay as sam build left them for test_built_layers.py.
                "-B",
                str(RUNNER),
                str(BUILD / function),
                str(LAYER / "python"),
                str(RUNTIME),
                str(event_path),
                str(answer_path),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env,
            cwd=self.tmp,
        )
        assert run.returncode == 0, f"{function} failed:\n{run.stderr[-4000:]}"
        result: dict[str, Any] = json.loads(answer_path.read_text())
        result["log"] = run.stdout + run.stderr
        return result


@pytest.fixture(scope="module")
def aws_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def built(aws_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    assert PYTHON312 is not None, "Python 3.12 (pyenv) is needed: it is Lambda's runtime"
    assert LAYER.exists() and RUNTIME.exists(), "run make built first (make test does)"
    with FakeGitHub() as github:
        load_sample(github)
        dynamodb = boto3.client("dynamodb", endpoint_url=aws_server)
        sqs = boto3.client("sqs", endpoint_url=aws_server)
        names = create_resources(dynamodb, sqs)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_ENDPOINT_URL": aws_server,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "TABLE_NAME": names["table_name"],
            "ACTIVITY_TABLE_NAME": names["activity_table_name"],
            "QUEUE_URL": names["queue_url"],
            "GITHUB_API_URL": str(github.base_url),
            "GITHUB_TOKEN": "built-check-token",
            "POWERTOOLS_SERVICE_NAME": "tracker-intake",
            "POWERTOOLS_METRICS_NAMESPACE": "TrackerIntakeBuilt",
            "API_AUTH": "NONE",
        }
        yield Built(env, tmp_path_factory.mktemp("built"))


def _api_event(method: str, path: str, body: Any = None) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((REPO_ROOT / "events" / "api.json").read_text())
    event.update(httpMethod=method, path=path, resource=path, body=json.dumps(body) if body is not None else None)
    event["headers"] = {**(event.get("headers") or {}), "Content-Type": "application/json"}
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    event["requestContext"].update(httpMethod=method, resourcePath=path)
    return event


def test_the_built_api_creates_a_project_and_imports_only_what_was_built(built: Built) -> None:
    # WHEN the built API creates a project with intake on (the sample repository, label agent)
    body = {
        "id": "demo",
        "gitOrigin": "git@github.com:acme/widgets.git",
        "trackerIntake": {"enabled": True, "labels": ["agent"], "backlog": "all"},
    }
    result = built.invoke("ApiFunction", _api_event("POST", "/projects", body))
    # THEN it answers 201
    assert result["answer"]["statusCode"] == 201, result["answer"]
    # AND every module it imported came from the build, boto3's runtime, or the standard library
    allowed = (str(BUILD), str(RUNTIME), str(Path(str(PYTHON312)).parents[1] / "lib" / "python3.12"))
    strays = [m for m in result["modules"] if not m.startswith(allowed) or "site-packages" in m]
    strays = [m for m in strays if m != str(RUNNER)]
    assert strays == []


def test_the_built_api_previews_the_rule_with_its_lazily_imported_github_code(built: Built) -> None:
    # WHEN the built API previews the project's stored rule (the preview code loads on first use)
    result = built.invoke("ApiFunction", _api_event("POST", "/projects/demo/preview", {}))
    # THEN it answers with the issues the rule takes, read from GitHub's stand-in
    answer = result["answer"]
    assert answer["statusCode"] == 200, answer
    assert json.loads(answer["body"])["eligible"]


def test_the_built_poller_starts_sessions_then_answers_not_modified(built: Built) -> None:
    # GIVEN the project created above WHEN the built poller polls it twice
    first = built.invoke("PollerFunction", {"projectId": "demo"})["answer"]
    second = built.invoke("PollerFunction", {"projectId": "demo"})["answer"]
    # THEN the first claims the eligible issues, and the second is a 304 walk that claims none
    assert first["result"] == "changed" and first["newSessions"], first
    assert second["result"] == "not_modified" and not second["newSessions"], second


def test_the_built_launcher_launches_what_the_poller_queued(built: Built) -> None:
    # GIVEN the session requests the poller queued
    sqs = boto3.client("sqs", endpoint_url=built.env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=built.env["QUEUE_URL"], MaxNumberOfMessages=10)["Messages"]
    assert messages
    # (as SQS hands them to Lambda: the shape of events/launcher.json, these messages' ids and bodies)
    (template,) = json.loads((REPO_ROOT / "events" / "launcher.json").read_text())["Records"]
    records = [
        {
            **template,
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "md5OfBody": m["MD5OfBody"],
        }
        for m in messages
    ]
    # WHEN the built launcher takes them (the log backend)
    result = built.invoke("LauncherFunction", {"Records": records})
    # THEN none is reported failed
    assert result["answer"] == {"batchItemFailures": []}, result["log"][-3000:]


def test_the_built_dispatcher_runs_a_tick(built: Built) -> None:
    # WHEN the built dispatcher ticks (its Lambda invoke of the poller goes to moto, which has
    # no such function: the tick reports it, as it would a failed invoke)
    env = {**built.env, "POLLER_FUNCTION_NAME": "not-deployed-here"}
    answer = Built(env, built.tmp).invoke("DispatcherFunction", {})["answer"]
    # THEN the tick ran to its summary: the one enabled project was due
    assert answer["dispatched"] + answer["failedInvoke"] == 1, answer


def test_the_built_layer_carries_the_tracer_for_when_tracing_is_on(built: Built) -> None:
    # WHEN the built poller is called with tracing Active (outside Lambda, Powertools' Tracer
    # records nothing, but the handler is wrapped, which needs X-Ray's SDK from the layer)
    env = {**built.env, "INTAKE_TRACING": "Active"}
    result = Built(env, built.tmp).invoke("PollerFunction", {"projectId": "demo"})
    # THEN it answers, having imported X-Ray's SDK from the built layer
    assert result["answer"]["result"] in ("not_modified", "changed"), result["answer"]
    xray = [m for m in result["modules"] if "/aws_xray_sdk/" in m]
    assert xray and all(m.startswith(str(LAYER)) for m in xray)
