"""The local stack end to end: moto's server, the real handlers, the GitHub stand-in, the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
import requests
from test_local_restart import Run

from intake_cli.main import main as intake
from intake_dev.fake_github import FakeGitHub
from intake_dev.local import LocalOptions, LocalStack, running
from intake_dev.template import load_template
from tracker_intake.domain.signing import report_signature


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    options = LocalOptions(port=0, aws_port=0, offline=True, log_file=tmp_path / "local.log")
    lines: list[str] = []
    with running(options, say=lines.append) as local:
        local.lines = lines  # type: ignore[attr-defined]
        yield local


def _cli(stack: LocalStack, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = intake(["--api-url", stack.api_url, *args])
    return code, capsys.readouterr().out


def test_local_stack_turns_sample_issues_into_sessions_once_each(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = stack.sample
    # GIVEN a project created and configured through the CLI against the local API
    assert (
        _cli(stack, capsys, "project", "create", "widgets", "--git-origin", f"https://github.com/{repo.full_name}")[0]
        == 0
    )
    code, _ = _cli(
        stack,
        capsys,
        "project",
        "set-config",
        "widgets",
        "--tracker-intake",
        "--tracker-label",
        "agent",
        "--tracker-backlog",
        "all",
    )
    assert code == 0

    # WHEN the first tick runs
    first = stack.tick()
    # THEN every eligible sample issue became a session, and was launched
    assert first.new_sessions, "the sample has eligible issues"
    assert sorted(first.launched) == sorted(first.new_sessions)
    code, out = _cli(stack, capsys, "sessions", "list", "widgets", "--json")
    assert code == 0
    ledger = json.loads(out)
    items = ledger["items"] if isinstance(ledger, dict) else ledger
    assert sorted(i["issueId"] for i in items) == sorted(first.new_sessions)
    assert {i["status"] for i in items} == {"launched"}

    # WHEN a second tick runs with nothing changed
    stack.github.clear_requests()
    second = stack.tick()
    # THEN GitHub answered only 304s and nothing new started
    assert {r.status for r in stack.github.requests_for(repo.full_name)} == {304}
    assert second.new_sessions == [] and second.launched == []

    # WHEN a new matching issue appears
    issue = repo.add_issue("new bug", labels=["agent"])
    third = stack.tick()
    # THEN exactly one new session starts, for it
    assert third.new_sessions == [f"github:{repo.full_name}#{issue['number']}"]

    # WHEN a claim is released through the API
    released = first.new_sessions[0]
    encoded = quote(released, safe="")
    answer = requests.delete(f"{stack.api_url}/projects/widgets/sessions/{encoded}", timeout=10)
    assert answer.status_code == 200, answer.text
    fourth = stack.tick()
    # THEN that issue (and only it) is taken again
    assert fourth.new_sessions == [released]

    # WHEN the stack's handlers restart (cold start) and tick again
    stack._load_handlers()
    fifth = stack.tick()
    # THEN nothing is duplicated
    assert fifth.new_sessions == [] and fifth.launched == []
    got = stack.sqs.receive_message(QueueUrl=stack.resources["queue_url"], MaxNumberOfMessages=10)
    assert got.get("Messages", []) == []


def test_progress_lines_read_as_the_story(stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a configured project
    _cli(stack, capsys, "project", "create", "widgets", "--git-origin", f"git@github.com:{stack.sample.full_name}.git")
    _cli(
        stack,
        capsys,
        "project",
        "set-config",
        "widgets",
        "--tracker-intake",
        "--tracker-label",
        "agent",
        "--tracker-backlog",
        "all",
    )
    # WHEN two ticks run
    stack.tick()
    stack.tick()
    # THEN the progress says what happened, one line per tick
    lines: list[str] = stack.lines  # type: ignore[attr-defined]
    ticks = [line for line in lines if line.startswith("tick ")]
    assert ticks[0].startswith("tick 1: 1 project polled, 0 not modified, 1 changed -> ")
    assert ticks[1] == "tick 2: 1 project polled, 1 not modified, 0 changed"


def test_switching_intake_on_records_the_samples_backlog_until_all_is_asked_for(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    origin = f"https://github.com/{stack.sample.full_name}"
    # GIVEN a project switched on through the CLI without saying what to do with the backlog
    assert _cli(stack, capsys, "project", "create", "widgets", "--git-origin", origin)[0] == 0
    assert (
        _cli(stack, capsys, "project", "set-config", "widgets", "--tracker-intake", "--tracker-label", "agent")[0] == 0
    )
    # WHEN a tick runs
    first = stack.tick()
    # THEN no session starts: the sample's matching issues are listed as backlog
    assert first.new_sessions == []
    code, out = _cli(stack, capsys, "sessions", "list", "widgets", "--json")
    items = json.loads(out)
    assert code == 0 and items and {i["status"] for i in items} == {"backlog"}
    # AND WHEN `all` is asked for explicitly, and the next tick runs
    assert _cli(stack, capsys, "project", "set-config", "widgets", "--tracker-backlog", "all")[0] == 0
    second = stack.tick()
    # THEN exactly the backlog starts on that tick, the member's issue included: the tick's grant
    # (one page) had no room to ask GitHub whether the member may write, so the check took one
    # of the retries the dispatcher grants from the credential's spare minute
    assert sorted(second.new_sessions) == sorted(i["issueId"] for i in items)
    assert sorted(second.launched) == sorted(second.new_sessions)


def test_the_cli_s_acknowledge_choice_comments_once_on_each_launched_issue(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a project switched on through the CLI, asking for a comment on each launched issue
    origin = f"https://github.com/{stack.sample.full_name}"
    assert _cli(stack, capsys, "project", "create", "widgets", "--git-origin", origin)[0] == 0
    args = ["--tracker-intake", "--tracker-label", "agent", "--tracker-backlog", "all"]
    args += ["--tracker-acknowledge", "comment"]
    assert _cli(stack, capsys, "project", "set-config", "widgets", *args)[0] == 0
    # WHEN two ticks run
    first = stack.tick()
    second = stack.tick()
    # THEN each launched issue has exactly one comment, the tick said so, and the second tick wrote nothing
    assert first.launched and second.launched == []
    lines: list[str] = stack.lines  # type: ignore[attr-defined]
    for issue_id in first.launched:
        number = int(issue_id.rpartition("#")[2])
        comments = stack.sample.comments(number)
        assert len(comments) == 1 and f"tracker-intake:ack {issue_id} generation=1" in comments[0]["body"]
        said = f"  session started for {issue_id} (comment on the issue: done, {comments[0]['html_url']})"
        assert said in lines
        # AND the CLI shows it on the session
        code, out = _cli(stack, capsys, "sessions", "show", "widgets", issue_id)
        assert code == 0 and f"on the issue    comment done {comments[0]['html_url']}" in out.splitlines()


def test_offline_demo_exits_zero_after_checking_every_step(capsys: pytest.CaptureFixture[str]) -> None:
    saved = dict(os.environ)
    try:
        # GIVEN a fresh machine state WHEN the demo runs
        code = intake(["demo"])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    out = capsys.readouterr().out
    # THEN it exits 0 and its output tells the story
    assert code == 0, out
    assert "every step did what it claims" in out
    assert "FAIL" not in out


def test_local_stack_github_requests_per_minute_flag_defers_projects_beyond_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the local stack started as `intake local --offline --github-requests-per-minute 1`
    options = LocalOptions(
        port=0, aws_port=0, offline=True, log_file=tmp_path / "local.log", github_requests_per_minute=1
    )
    lines: list[str] = []
    with running(options, say=lines.append) as stack:
        origin = f"https://github.com/{stack.sample.full_name}"
        for name in ("one", "two"):
            assert _cli(stack, capsys, "project", "create", name, "--git-origin", origin)[0] == 0
            assert (
                _cli(
                    stack,
                    capsys,
                    "project",
                    "set-config",
                    name,
                    "--tracker-intake",
                    "--tracker-label",
                    "agent",
                    "--tracker-backlog",
                    "all",
                )[0]
                == 0
            )
        # WHEN a tick runs
        report = stack.tick()
        code, out = _cli(stack, capsys, "project", "show", "two", "--json")
    # THEN one project was polled, the other deferred, and both the terminal and the API say so
    assert len(report.polls) == 1 and report.dispatch["deferred"] == 1
    assert any("1 deferred: over their credential's budget of 1 requests a minute" in line for line in lines), lines
    assert code == 0 and json.loads(out)["intake"]["deferredSince"] is not None


@pytest.mark.parametrize("value", ["0", "-5", "5001"])
def test_local_refuses_a_request_budget_out_of_range_with_a_sentence(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN `intake local` is given a budget it cannot use
    code = intake(["local", "--offline", "--github-requests-per-minute", value])
    # THEN it says so in one sentence and exits 2, starting nothing
    out = capsys.readouterr().out
    assert code == 2
    assert out.strip() == "intake local: --github-requests-per-minute must be between 1 and 5000"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--port", "99999"], "--port must be a port number from 0 (any free port) to 65535, not 99999"),
        (["--aws-port", "99999"], "--aws-port must be a port number from 0 (any free port) to 65535, not 99999"),
        (["--interval", "0"], "--interval must be at least 1 second, not 0"),
        (["--interval", "-5"], "--interval must be at least 1 second, not -5"),
        (
            ["--container-address", "gateway"],
            "--container-address must be an IPv4 address such as 172.17.0.1, not 'gateway'",
        ),
        (
            ["--container-address", "127.0.0.1"],
            "--container-address must be one address containers reach this machine by, not loopback or 0.0.0.0",
        ),
        (
            ["--container-address", "0.0.0.0"],
            "--container-address must be one address containers reach this machine by, not loopback or 0.0.0.0",
        ),
    ],
)
def test_local_refuses_ports_and_intervals_that_cannot_work(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN `intake local` is started with the option THEN one sentence and exit 2, nothing started
    code = intake(["local", "--offline", *argv])
    assert code == 2
    assert capsys.readouterr().out.strip() == f"intake local: {said}"


def test_local_says_which_port_is_busy_and_exits(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN something listening on a loopback port
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # WHEN `intake local` is asked to put its embedded AWS there
        code = intake(["local", "--offline", "--port", "0", "--aws-port", str(port)])
    # THEN it names the port in one sentence and exits 1 rather than hanging
    out = capsys.readouterr().out.strip()
    assert code == 1
    assert out == f"intake local: cannot start: --aws-port {port} is in use; choose another with --aws-port"


@pytest.mark.parametrize(
    ("status", "expected"),
    [(500, "failed; SQS will retry it"), (422, "refused for good")],
)
def test_a_failing_session_backend_shows_on_the_terminal_as_a_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], status: int, expected: str
) -> None:
    # GIVEN a session backend on loopback that answers every launch with `status`
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Backend(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"message": "no capacity"}')

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    webhook = f"http://127.0.0.1:{server.server_address[1]}/sessions"
    options = LocalOptions(port=0, aws_port=0, offline=True, log_file=tmp_path / "local.log", session_webhook=webhook)
    lines: list[str] = []
    try:
        with running(options, say=lines.append) as stack:
            origin = f"https://github.com/{stack.sample.full_name}"
            assert _cli(stack, capsys, "project", "create", "widgets", "--git-origin", origin)[0] == 0
            configured = _cli(
                stack,
                capsys,
                "project",
                "set-config",
                "widgets",
                "--tracker-intake",
                "--tracker-label",
                "agent",
                "--tracker-backlog",
                "all",
            )
            assert configured[0] == 0
            # WHEN a tick enqueues the sample's issues and the launcher meets the backend
            report = stack.tick()
    finally:
        server.shutdown()
    # THEN nothing is reported started, and each failure is one line on the terminal
    assert report.new_sessions and report.launched == []
    failures = [line for line in lines if line.startswith("launch of ")]
    assert failures and all(expected in line for line in failures), lines


def test_the_local_api_answers_under_the_stage_its_openapi_document_names(stack: LocalStack) -> None:
    # GIVEN the OpenAPI document's server, as a client of the document reads it
    server = requests.get(f"{stack.api_url}/openapi.json", timeout=10).json()["servers"][0]["url"]
    # WHEN the projects are listed under it, and at the root
    staged = requests.get(f"{stack.api_url}{server}/projects", timeout=10)
    root = requests.get(f"{stack.api_url}/projects", timeout=10)
    # THEN both reach the API (API Gateway puts the stage first in the path; the local stack too)
    assert server == "/local"
    assert staged.status_code == root.status_code == 200


def test_the_local_api_document_claims_no_signature_it_does_not_check(stack: LocalStack) -> None:
    # GIVEN the local stack, which checks no SigV4 signature (but does check a status report's)
    # WHEN its OpenAPI document is read, and a request is made without any signature
    document = requests.get(f"{stack.api_url}/openapi.json", timeout=10).json()
    unsigned = requests.get(f"{stack.api_url}/projects", timeout=10)
    # THEN the document declares no SigV4, which is how the API behaves here; only the status
    # report asks for the webhook key's signature, which the local stack checks as deployed
    assert "security" not in document
    assert set(document["components"]["securitySchemes"]) == {"intakeSignature", "intakeTimestamp"}
    secured = [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "security" in operation
    ]
    assert secured == ["POST /sessions/{issueId}/status"]
    assert unsigned.status_code == 200


def test_the_local_stack_takes_status_reports_signed_with_its_webhook_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN `intake local --offline --webhook-secret KEY`, with a project whose issues became sessions
    key = "e2e-webhook-secret"
    options = LocalOptions(port=0, aws_port=0, offline=True, log_file=tmp_path / "local.log", webhook_secret=key)
    with running(options) as stack:
        origin = f"https://github.com/{stack.sample.full_name}"
        assert _cli(stack, capsys, "project", "create", "widgets", "--git-origin", origin)[0] == 0
        _cli(
            stack,
            capsys,
            "project",
            "set-config",
            "widgets",
            "--tracker-intake",
            "--tracker-label",
            "agent",
            "--tracker-backlog",
            "all",
        )
        issue = stack.tick().launched[0]
        url = f"{stack.api_url}/sessions/{quote(issue, safe='')}/status"
        pr = f"https://github.com/{stack.sample.full_name}/pull/9"
        body = json.dumps({"status": "pr_open", "prUrl": pr, "generation": 1})

        def post(signing_key: str) -> requests.Response:
            stamp = str(int(time.time()))
            signature = report_signature(signing_key, stamp, "POST", issue, body.encode())
            headers = {"Content-Type": "application/json", "X-Intake-Timestamp": stamp, "X-Intake-Signature": signature}
            return requests.post(url, data=body, headers=headers, timeout=10)

        # WHEN the backend reports a PR, signed with another key, then with the stack's
        refused = post("local-webhook-secret")
        accepted = post(key)
        # THEN the first is 401 and the second kept: the CLI lists the session as pr_open
        assert refused.status_code == 401, refused.text
        assert accepted.status_code == 200, accepted.text
        code, out = _cli(stack, capsys, "sessions", "list", "widgets", "--json")
        listed = {s["issueId"]: s for s in json.loads(out)}
        assert code == 0 and listed[issue]["sessionStatus"] == "pr_open"
        assert [h["status"] for h in listed[issue]["statusHistory"]] == ["pr_open"]


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "BREW"])
def test_the_local_api_answers_405_to_a_method_no_path_takes(stack: LocalStack, method: str) -> None:
    # GIVEN the local stack's API
    # WHEN a method no route takes is sent to a project path
    answer = requests.request(method, f"{stack.api_url}/projects/demo", timeout=10)
    # THEN 405 with the API's error body, as API Gateway's proxy gives it (not http.server's 501)
    assert answer.status_code == 405
    assert answer.json()["errors"][0]["field"] == "method"


def test_the_missing_token_warning_is_said_once_against_github(tmp_path: Path) -> None:
    # GIVEN `intake local` as a user runs it, without GITHUB_TOKEN, polling GitHub itself (the
    # default URL; no project, so nothing is asked of it)
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"}
    run = Run(tmp_path / "state", tmp_path / "local.log", tmp_path / "out", "--interval", "1", env=env)
    # WHEN it has ticked once (every handler has read the token by then)
    try:
        run.wait_for(r"tick 1:", timeout=90)
    finally:
        run.stop(signal.SIGINT)
    # THEN the terminal says it once, in the stack's words; the handlers' own line is in the log
    terminal = run.text()
    assert terminal.count("warning: GITHUB_TOKEN is not set; GitHub allows 60 unauthenticated") == 1, terminal
    assert "no GitHub token" in (tmp_path / "local.log").read_text()


def test_no_missing_token_warning_against_a_loopback_stand_in(tmp_path: Path, github: FakeGitHub) -> None:
    # GIVEN `intake local` without GITHUB_TOKEN, pointed at a GitHub stand-in on loopback
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"}
    run = Run(tmp_path / "state", tmp_path / "local.log", tmp_path / "out", "--github-url", github.base_url, env=env)
    # WHEN it has ticked once
    try:
        run.wait_for(r"tick 1:", timeout=90)
    finally:
        run.stop(signal.SIGINT)
    # THEN nothing warns of GitHub's unauthenticated rate limit, which the stand-in does not have
    terminal = run.text()
    assert "unauthenticated requests" not in terminal, terminal
    assert f"polling GitHub at {github.base_url}" in terminal


def test_a_failed_poll_is_counted_as_failed_in_the_tick_line(tmp_path: Path) -> None:
    # GIVEN `intake local --offline` with a project whose repository the stand-in does not have
    run = Run(tmp_path / "state", tmp_path / "local.log", tmp_path / "out")
    try:
        api = run.wait_for(r"config API on (http://127\.0\.0\.1:\d+)").group(1)
        created = requests.post(
            f"{api}/projects",
            json={
                "id": "ghost",
                "gitOrigin": "https://github.com/acme/ghost",
                "trackerIntake": {"enabled": True, "labels": ["agent"]},
            },
            timeout=10,
        )
        assert created.status_code == 201, created.text
        # WHEN its poll fails
        line = run.wait_for(r"(?m)^tick \d+: 1 project polled.*$", timeout=90).group(0)
    finally:
        run.stop(signal.SIGINT)
    # THEN the tick line counts it as failed, with the project and the reason
    assert line.endswith(": 1 project polled, 0 not modified, 0 changed, 1 failed (ghost: repository not found)"), line


def test_local_help_says_what_the_log_file_holds_and_its_default() -> None:
    # GIVEN `intake local --help` as a user runs it
    # WHEN it is read
    shown = subprocess.run(
        [sys.executable, "-m", "intake_cli.main", "local", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "400"},  # argparse wraps at hyphens otherwise
    )
    # THEN --log-file has a help text: what is written there, and the default
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert "--log-file FILE where the handlers' logs" in text, text
    assert "(default .intake-local/intake-local.log)" in text.rsplit("--log-file FILE", 1)[1], text


def test_local_writes_the_env_vars_file_sam_local_invoke_needs(stack: LocalStack) -> None:
    # GIVEN the local stack started (no container address), with the stand-in's token
    # WHEN `sam local invoke --env-vars` would read the file it wrote
    written = json.loads(stack.sam_env_file.read_text())["Parameters"]

    # THEN every function is pointed at this stack: its embedded AWS, table, queue and GitHub
    assert written["AWS_ENDPOINT_URL"] == stack.aws_endpoint
    assert written["TABLE_NAME"] == stack.resources["table_name"]
    assert written["QUEUE_URL"] == stack.resources["queue_url"]
    assert written["GITHUB_API_URL"] == stack.github.base_url
    # AND the token reaches a container as deployed, through a secret, never in the file itself
    token = os.environ["GITHUB_TOKEN"]
    assert token not in stack.sam_env_file.read_text()
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=written["GITHUB_TOKEN_SECRET_ARN"])
    assert secret["SecretString"] == token
    # AND each name is one the template declares, since SAM overrides no other
    declared = set(_declared_variables())
    assert set(written) <= declared, set(written) - declared


def _declared_variables() -> Iterator[str]:
    """The environment variables template.yaml declares, in Globals or on any function."""
    template = load_template()
    yield from template["Globals"]["Function"]["Environment"]["Variables"]
    for body in template["Resources"].values():
        if body["Type"] == "AWS::Serverless::Function":
            yield from body["Properties"].get("Environment", {}).get("Variables", {})


def _rsa_key_file(folder: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = folder / "app.private-key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    return path


def test_local_stack_polls_as_a_github_app_when_given_its_key(tmp_path: Path) -> None:
    # GIVEN `intake local --offline --github-app-id 4242 --github-app-key FILE --github-app-installation 77`
    key = _rsa_key_file(tmp_path)
    options = LocalOptions(
        port=0,
        aws_port=0,
        offline=True,
        log_file=tmp_path / "local.log",
        github_app_id="4242",
        github_app_key=key,
        github_app_installation=77,
    )
    with running(options) as stack:
        repo = stack.sample
        created = requests.post(
            f"{stack.api_url}/projects",
            json={
                "id": "widgets",
                "gitOrigin": f"https://github.com/{repo.full_name}",
                "trackerIntake": {"enabled": True, "labels": ["agent"], "backlog": "all"},
            },
            timeout=10,
        )
        assert created.status_code == 201, created.text

        # WHEN two ticks run
        first = stack.tick()
        second = stack.tick()

        # THEN the sample's issues became sessions, listed with the installation's token: the
        # installation was looked up and a token minted once (JWTs the stand-in verified), and
        # the second tick cost one 304 on the installation's own budget
        assert first.new_sessions and sorted(first.launched) == sorted(first.new_sessions)
        assert second.new_sessions == []
        requests_made = stack.github.requests
        app_calls = [(r.method, r.path, r.status) for r in requests_made if r.identity == "app:4242"]
        assert app_calls == [
            ("GET", f"/repos/{repo.full_name}/installation", 200),
            ("POST", "/app/installations/77/access_tokens", 201),
        ]
        listings = [r for r in requests_made if r.repo == repo.full_name and r.path.endswith("/issues")]
        assert {r.identity for r in listings} == {"installation:77"}
        assert listings[-1].status == 304
        assert not any(r.path == "/user" for r in requests_made)
        # AND the installation is kept on the project, and the key never reached the disk
        project = requests.get(f"{stack.api_url}/projects/widgets", timeout=10).json()
        assert project["intake"]["state"] == "ok"
        assert key.read_text() not in stack.sam_env_file.read_text()


@pytest.mark.parametrize("url", ["http://sessions.example.com/start", "http://127.0.0.1.example.com/", "ftp://x/"])
def test_local_refuses_a_session_webhook_that_is_neither_https_nor_loopback(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a session webhook over plain http to another machine (or not http at all)
    # WHEN `intake local` is started with it THEN one sentence, exit 2, and nothing starts
    code = intake(["local", "--offline", "--session-webhook", url])
    out = capsys.readouterr().out.strip()
    assert code == 2
    assert out == (
        "intake local: --session-webhook must be an https:// URL, or http:// to a loopback address "
        "(127.0.0.1, localhost)"
    ), out


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--github-app-id", "12"], "--github-app-id and --github-app-key go together"),
        (["--github-app-id", "twelve", "--github-app-key", "KEY"], "--github-app-id: 'twelve' is not a GitHub App id"),
        (
            ["--github-app-id", "12", "--github-app-key", "NOT_PEM"],
            "--github-app-key: NOT_PEM is not a PEM private key",
        ),
    ],
)
def test_local_refuses_a_github_app_it_cannot_use(
    argv: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a real key file, and a file that is not one
    files = {"KEY": str(_rsa_key_file(tmp_path)), "NOT_PEM": str(tmp_path / "notes.txt")}
    (tmp_path / "notes.txt").write_text("not a key")
    argv = [files.get(a, a) for a in argv]
    said = said.replace("NOT_PEM", files["NOT_PEM"])
    # WHEN `intake local` is started with them THEN one sentence, exit 2, and no key material shown
    code = intake(["local", "--offline", *argv])
    out = capsys.readouterr().out.strip()
    assert code == 2
    assert out.startswith(f"intake local: {said}"), out


def test_two_deliveries_of_one_issue_in_one_batch_are_said_each_as_what_it_was(tmp_path: Path) -> None:
    # GIVEN the local stack with widgets launching its backlog, and the launcher's records seen
    lines: list[str] = []
    options = LocalOptions(port=0, aws_port=0, offline=True, log_file=tmp_path / "local.log")
    with running(options, say=lines.append) as stack:
        rule = {"enabled": True, "labels": ["agent"], "backlog": "all"}
        body = {"id": "widgets", "gitOrigin": "https://github.com/acme/widgets", "trackerIntake": rule}
        assert requests.post(f"{stack.api_url}/projects", json=body, timeout=10).status_code == 201
        seen: list[dict[str, Any]] = []
        handler = stack.launcher.lambda_handler

        def spy(event: dict[str, Any], context: Any) -> Any:
            seen.extend(event["Records"])
            return handler(event, context)

        stack.launcher.lambda_handler = spy  # type: ignore[attr-defined]
        issue = "github:acme/widgets#1"
        assert issue in stack.tick().launched, lines
        first = next(r for r in seen if json.loads(r["body"])["issueId"] == issue)
        # WHEN the issue is released, and its first generation's request comes back (as a restart's
        # replay brings every request back) into the batch that carries the new generation's
        path = f"{stack.api_url}/projects/widgets/sessions/{quote(issue, safe='')}"
        assert requests.delete(path, timeout=10).status_code == 200
        stack.sqs.send_message(
            QueueUrl=stack.resources["queue_url"],
            MessageBody=first["body"],
            MessageGroupId="widgets",
            MessageDeduplicationId="replayed-generation-1",
        )
        lines.clear()
        second = stack.tick()
        # THEN one session is said started (generation 2), and the replayed request as a duplicate
        assert second.launched == [issue], lines
        assert [line for line in lines if "session started for" in line] == [f"  session started for {issue}"]
        assert any(line.strip().startswith(f"duplicate delivery of {issue}") for line in lines), lines
