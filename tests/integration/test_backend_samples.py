"""The signing samples of docs/how-to/session-backend.md, run as a backend author would run them:
the shell and Python status reports against the API over HTTP on loopback, and the launch check on a request the
launcher really sent. A sample that drifts from what the service accepts fails here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import boto3
import pytest
from api_support import Api, claim
from launcher_support import SECRET, SessionBackend, session_backend

from intake_dev.functions import quiet_handler_logs
from intake_dev.local_api import serve_api
from intake_dev.template import REPO_ROOT
from tracker_intake.adapters.webhook import WebhookLauncher
from tracker_intake.domain.session import SessionIssue, SessionRequest

KEY = "readme-sample-key"
ISSUE = "github:acme/app#15"  # the issue the docs' shell sample reports on
PR = "https://github.com/acme/app/pull/16"


SAMPLES = REPO_ROOT / "docs" / "how-to" / "session-backend.md"


def sample(name: str) -> str:
    """The code block that follows `<!-- sample: NAME -->` on the session backend's page."""
    text = SAMPLES.read_text(encoding="utf-8")
    found = re.search(rf"<!-- sample: {re.escape(name)} -->\n```[a-z]*\n(.*?)\n```", text, re.DOTALL)
    assert found is not None, f"{SAMPLES.name} has no sample {name}"
    return found[1]


def defined(name: str, function: str) -> Callable[..., Any]:
    """The function `function` the docs' Python sample `name` defines."""
    namespace: dict[str, Any] = {}
    exec(compile(sample(name), f"session-backend.md:{name}", "exec"), namespace)
    return cast(Callable[..., Any], namespace[function])


@dataclass
class Served:
    url: str
    api: Api


@pytest.fixture
def served(aws: dict[str, Any]) -> Iterator[Served]:
    """The API on loopback, checking reports with KEY, and a launched session on acme/app#15."""
    arn = boto3.client("secretsmanager").create_secret(Name="intake/readme", SecretString=KEY)["ARN"]
    api = Api(aws, env={"SESSION_WEBHOOK_SECRET_ARN": arn})
    api.store.put_claim(claim(number=15))
    with quiet_handler_logs():
        server = serve_api(api.module.lambda_handler, "127.0.0.1", 0)
        try:
            yield Served(f"http://127.0.0.1:{server.server_address[1]}", api)
        finally:
            server.shutdown()
            server.server_close()


def session_status(api: Api) -> tuple[str | None, str | None]:
    found = api.store.get_claim(ISSUE)
    assert found is not None
    return (found.session_status.value if found.session_status else None), found.pr_url


def test_the_python_report_sample_is_accepted_and_kept(served: Served) -> None:
    # GIVEN the docs' `report` function
    report = defined("report-py", "report")
    # WHEN it reports a PR on the launched session, with the key
    answer = report(served.url, KEY, ISSUE, 1, "pr_open", PR)
    # THEN 200, and the claim keeps the status and the PR
    assert answer.status_code == 200, answer.text
    assert session_status(served.api) == ("pr_open", PR)


def test_the_python_report_sample_for_another_generation_is_refused(served: Served) -> None:
    # GIVEN the docs' `report` function WHEN it reports for a generation the claim has left
    answer = defined("report-py", "report")(served.url, KEY, ISSUE, 2, "merged")
    # THEN 409 at generation, and nothing is kept
    assert answer.status_code == 409, answer.text
    assert session_status(served.api) == (None, None)


@pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("curl")), reason="needs openssl and curl")
def test_the_shell_report_sample_is_accepted_and_kept(served: Served) -> None:
    # GIVEN the docs' shell sample, with the API's URL and the key in its environment
    env = {**os.environ, "API": served.url, "WEBHOOK_KEY": KEY}
    # WHEN bash runs it
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", sample("report-sh")], env=env, capture_output=True)
    # THEN curl got the session back, and the claim keeps the status and the PR
    assert done.returncode == 0, done.stderr.decode()
    assert b'"sessionStatus":"pr_open"' in done.stdout.replace(b" ", b""), done.stdout.decode()
    assert session_status(served.api) == ("pr_open", PR)


def request() -> SessionRequest:
    issue = SessionIssue(number=15, title="Crash", url="https://github.com/acme/app/issues/15")
    return SessionRequest(project_id="demo", issue_id=ISSUE, issue=issue, enqueued_at=claim(number=15).claimed_at)


@pytest.fixture
def backend() -> Iterator[SessionBackend]:
    with session_backend() as running:
        yield running


def test_the_launch_check_sample_accepts_what_the_launcher_sends_and_nothing_else(backend: SessionBackend) -> None:
    # GIVEN the docs' `verified` function, and a launch the launcher really sent
    verified = defined("verify-launch", "verified")
    WebhookLauncher(backend.url, SECRET).launch(request(), "the prompt")
    (got,) = backend.received
    stamp, signature = got.headers["X-Intake-Timestamp"], got.headers["X-Intake-Signature"]
    # WHEN the backend checks it THEN it holds
    assert verified(got.body, stamp, signature, SECRET)
    # AND another body, another time, another key, or a stale request does not
    assert not verified(got.body + b" ", stamp, signature, SECRET)
    assert not verified(got.body, str(int(stamp) + 1), signature, SECRET)
    assert not verified(got.body, stamp, signature, "another key")
    assert not verified(got.body, stamp, signature, SECRET, max_age=-1)


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [("\u00b2", "sha256=00"), ("1e9", "sha256=00"), ("", "sha256=00"), ("1", "sha256=\u00e9"), ("1", "")],
    ids=["a unicode digit", "not digits", "empty", "a non-ASCII signature", "no signature"],
)
def test_the_launch_check_sample_answers_false_to_crafted_headers_never_raises(timestamp: str, signature: str) -> None:
    # GIVEN headers no launcher sends, as anyone may send them to a backend
    # WHEN the docs' check reads them THEN it says False: a backend copied from it never fails
    assert defined("verify-launch", "verified")(b"{}", timestamp, signature, SECRET) is False


def test_the_launch_check_sample_refuses_a_request_signed_over_six_minutes_ago(backend: SessionBackend) -> None:
    # GIVEN a launch the launcher sent with its clock six minutes behind (a capture replayed late)
    late = WebhookLauncher(backend.url, SECRET, clock=lambda: time.time() - 360)
    late.launch(request(), "the prompt")
    (got,) = backend.received
    # WHEN the docs' check reads it THEN it is refused, though its signature is the key's
    assert not defined("verify-launch", "verified")(
        got.body, got.headers["X-Intake-Timestamp"], got.headers["X-Intake-Signature"], SECRET
    )
