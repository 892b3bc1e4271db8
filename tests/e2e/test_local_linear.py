"""The local stack end to end with a Linear project: `intake local --offline` serves the sample
workspace (acme, team ENG) on the Linear stand-in; the real handlers poll it, the CLI reads it."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from test_local_restart import Run

from intake_cli.main import main as intake
from intake_dev.fake_linear import FakeLinear
from intake_dev.local import LocalOptions, LocalStack, running
from intake_dev.sample_workspace import SAMPLE_KEY, SampleWorkspace

PROJECT = "widgets-eng"
RULE = {"enabled": True, "provider": "linear", "team": "ENG", "labels": ["agent"], "backlog": "all"}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    """`intake local --offline` without LINEAR_API_KEY, its terminal lines as `stack.lines`."""
    env = {k: v for k, v in os.environ.items() if k != "LINEAR_API_KEY"}
    options = LocalOptions(port=0, aws_port=0, offline=True, log_file=tmp_path / "local.log")
    lines: list[str] = []
    with running(options, say=lines.append, env=env) as local:
        local.lines = lines  # type: ignore[attr-defined]
        yield local


def _create(stack: LocalStack, project: str = PROJECT, **rule: Any) -> None:
    body = {"id": project, "gitOrigin": "git@github.com:acme/widgets.git", "trackerIntake": {**RULE, **rule}}
    answer = requests.post(f"{stack.api_url}/projects", json=body, timeout=10)
    assert answer.status_code == 201, answer.text


def _cli(stack: LocalStack, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = intake(["--api-url", stack.api_url, *args])
    return code, capsys.readouterr().out


def _sample(stack: LocalStack) -> SampleWorkspace:
    sample: SampleWorkspace = stack.linear_sample
    return sample


def test_offline_serves_the_sample_workspace_and_sets_its_key(stack: LocalStack) -> None:
    # GIVEN `intake local --offline` started without LINEAR_API_KEY
    lines: list[str] = stack.lines  # type: ignore[attr-defined]
    # THEN the GitHub lines come first as before, then one line for the Linear stand-in
    assert lines[1].startswith("offline GitHub stand-in on http://127.0.0.1:")
    assert lines[2] == (
        f"offline Linear stand-in on {stack.linear.url} serving acme/ENG (LINEAR_API_KEY set to its sample key)"
    )
    # AND the handlers are pointed at it, with the sample's key
    assert os.environ["LINEAR_API_URL"] == stack.linear.url
    assert os.environ["LINEAR_API_KEY"] == SAMPLE_KEY


def test_a_linear_project_becomes_one_session_per_eligible_issue_then_costs_one_request_a_tick(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = _sample(stack)
    eligible = sample.eligible()
    guests = [sample.canonical_id(issue) for issue in sample.by_guests()]
    assert len(eligible) == 3 and len(guests) == 1, "the sample has issues of both kinds"
    # GIVEN a Linear project on team ENG and the label `agent`, created through the API
    _create(stack)

    # WHEN the first tick runs
    first = stack.tick()
    # THEN each open issue labelled `agent` by a member became a session and was launched; the guest's did not
    assert sorted(first.new_sessions) == sorted(eligible)
    assert sorted(first.launched) == sorted(eligible)
    assert not set(guests) & set(first.new_sessions)
    # AND the terminal names each with its identifier
    lines: list[str] = stack.lines  # type: ignore[attr-defined]
    for issue in sample.issues:
        if sample.canonical_id(issue) in eligible:
            assert f"  session started for {sample.canonical_id(issue)} ({issue.identifier})" in lines
    # AND the ledger holds them, with the identifiers a person reads
    code, out = _cli(stack, capsys, "sessions", "list", PROJECT, "--json")
    assert code == 0
    items = json.loads(out)
    assert {i["issueId"]: i["identifier"] for i in items} == {
        sample.canonical_id(i): i.identifier for i in sample.issues if sample.canonical_id(i) in eligible
    }
    assert {i["status"] for i in items} == {"launched"}

    # WHEN a second tick runs with nothing changed
    stack.linear.clear_requests()
    stack.github.clear_requests()
    second = stack.tick()
    # THEN the poll made one request to the Linear stand-in (none to GitHub) and started nothing
    assert len(stack.linear.requests) == 1, stack.linear.requests
    assert stack.linear.requests[0].status == 200
    assert stack.github.requests == []
    assert second.new_sessions == [] and second.launched == []

    # WHEN a member opens a new issue labelled `agent`
    new = stack.linear.add_issue("ENG", "Widgets leak file handles", labels=["agent"], creator="ana@acme.test")
    third = stack.tick()
    # THEN exactly one new session starts, for it
    assert third.new_sessions == [sample.canonical_id(new)]
    assert third.launched == [sample.canonical_id(new)]
    assert f"  session started for {sample.canonical_id(new)} ({new.identifier})" in lines


def test_a_team_move_starts_nothing_new(stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    sample = _sample(stack)
    # GIVEN a Linear project whose first tick launched the sample's eligible issues
    _create(stack)
    launched = stack.tick().launched
    issue = next(i for i in sample.issues if sample.canonical_id(i) in launched)
    stack.linear.add_team("OPS", "Operations")

    # WHEN one of them moves to another team, and a tick runs
    moved = stack.linear.move_issue(issue.id, "OPS")
    away = stack.tick()
    # THEN nothing starts
    assert moved.identifier.startswith("OPS-")
    assert away.new_sessions == [] and away.launched == []

    # WHEN it moves back into ENG with a new identifier, and a tick runs
    back = stack.linear.move_issue(issue.id, "ENG")
    again = stack.tick()
    # THEN its stable id already has its session: nothing starts, and the ledger keeps one row for it
    assert back.identifier != issue.identifier and back.id == issue.id
    assert again.new_sessions == [] and again.launched == []
    code, out = _cli(stack, capsys, "sessions", "list", PROJECT, "--json")
    assert code == 0
    rows = [row for row in json.loads(out) if row["issueId"] == sample.canonical_id(issue)]
    assert len(rows) == 1 and rows[0]["status"] == "launched"


def test_a_linear_failure_and_pause_are_said_in_linear_s_name(stack: LocalStack) -> None:
    # GIVEN a Linear project, and a Linear stand-in answering 503 to every try of the next poll
    _create(stack)
    stack.linear.fail_next(10, 503)
    # WHEN a tick runs
    stack.tick()
    # THEN the tick line and the backoff name Linear, not GitHub
    lines: list[str] = stack.lines  # type: ignore[attr-defined]
    assert any(line.endswith("1 failed (widgets-eng: Linear unavailable)") for line in lines), lines
    assert any(line.startswith("backoff widgets-eng until ") and "(Linear unavailable;" in line for line in lines)

    # GIVEN another Linear project, and the key's requests spent
    stack.linear.clear_faults()
    stack.linear.set_remaining(SAMPLE_KEY, requests=0)
    _create(stack, "widgets-eng-2")
    # WHEN a tick runs
    stack.tick()
    # THEN the pause is said as the Linear credential's
    assert any(line.startswith("Linear credential paused until ") for line in lines), lines


def test_the_cli_lists_each_linear_session_with_its_identifier(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a Linear project whose first tick launched the sample's eligible issues
    sample = _sample(stack)
    _create(stack)
    stack.tick()
    # WHEN its ledger is listed
    code, out = _cli(stack, capsys, "sessions", "list", PROJECT)
    # THEN each session's row names its identifier
    assert code == 0
    for issue in sample.issues:
        if sample.canonical_id(issue) in sample.eligible():
            row = next(line for line in out.splitlines() if sample.canonical_id(issue) in line)
            assert issue.identifier in row, out


def test_sam_local_invoke_gets_the_linear_stand_in_and_its_key_through_a_secret(stack: LocalStack) -> None:
    # GIVEN the local stack started offline WHEN `sam local invoke --env-vars` would read the file it wrote
    written = json.loads(stack.sam_env_file.read_text())["Parameters"]
    # THEN functions in containers poll the Linear stand-in, with the key through a secret as deployed
    assert written["LINEAR_API_URL"] == stack.linear.url
    assert SAMPLE_KEY not in stack.sam_env_file.read_text()
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=written["LINEAR_API_KEY_SECRET_ARN"])
    assert secret["SecretString"] == SAMPLE_KEY


def test_offline_takes_the_developers_own_linear_key_too(tmp_path: Path) -> None:
    # GIVEN `intake local --offline` started with a LINEAR_API_KEY of the developer's
    env = {**os.environ, "LINEAR_API_KEY": "lin_api_developers_own"}
    options = LocalOptions(port=0, aws_port=0, offline=True, log_file=tmp_path / "local.log")
    lines: list[str] = []
    with running(options, say=lines.append, env=env) as stack:
        # WHEN a Linear project is polled
        _create(stack)
        report = stack.tick()
    # THEN the key was kept, said so, and the stand-in took it
    assert lines[2].endswith("serving acme/ENG (with your LINEAR_API_KEY)")
    assert sorted(report.new_sessions) == sorted(stack.linear_sample.eligible())


def test_the_missing_key_warning_is_said_once_against_linear(tmp_path: Path, github_stand_in: str) -> None:
    # GIVEN `intake local` as a user runs it, without LINEAR_API_KEY, polling Linear itself (the
    # default URL; no project, so nothing is asked of it)
    env = {k: v for k, v in os.environ.items() if k != "LINEAR_API_KEY"}
    run = Run(tmp_path / "state", tmp_path / "local.log", tmp_path / "out", "--github-url", github_stand_in, env=env)
    # WHEN it has ticked once
    try:
        run.wait_for(r"tick 1:", timeout=90)
    finally:
        run.stop(signal.SIGINT)
    # THEN the terminal says it once, and where Linear is polled
    terminal = run.text()
    assert terminal.count("warning: LINEAR_API_KEY is not set;") == 1, terminal
    assert "polling Linear at https://api.linear.app/graphql" in terminal


def test_no_missing_key_warning_against_a_loopback_linear(tmp_path: Path, github_stand_in: str) -> None:
    # GIVEN `intake local --linear-url URL` without LINEAR_API_KEY, URL a Linear stand-in on loopback
    env = {k: v for k, v in os.environ.items() if k != "LINEAR_API_KEY"}
    with FakeLinear() as linear:
        args = ("--github-url", github_stand_in, "--linear-url", linear.url)
        run = Run(tmp_path / "state", tmp_path / "local.log", tmp_path / "out", *args, env=env)
        try:
            run.wait_for(r"tick 1:", timeout=90)
        finally:
            run.stop(signal.SIGINT)
    # THEN nothing warns, and the terminal says where Linear is polled
    terminal = run.text()
    assert "LINEAR_API_KEY" not in terminal, terminal
    assert f"polling Linear at {linear.url}" in terminal


@pytest.fixture
def github_stand_in() -> Iterator[str]:
    from intake_dev.fake_github import FakeGitHub

    with FakeGitHub() as fake:
        yield str(fake.base_url)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--offline", "--linear-url", "https://api.linear.app/graphql"], "--linear-url and --offline do not go"),
        (["--linear-url", "http://linear.example.com/graphql"], "--linear-url must be an https:// URL"),
        (["--linear-url", "api.linear.app/graphql"], "--linear-url must be an https:// URL"),
    ],
)
def test_local_refuses_a_linear_url_it_cannot_use(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN intake local is started with a --linear-url that cannot work
    code = intake(["local", *argv])
    # THEN it exits 2 with one sentence naming the flag
    out = capsys.readouterr().out
    assert code == 2 and out.startswith(f"intake local: {said}"), out
