"""The local stack end to end with a Jira project: `intake local --offline` serves the sample site
(acme.atlassian.net, project PROJ) on the Jira stand-in; the real handlers poll it, the CLI reads it."""

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
from intake_dev.fake_jira import FakeJira
from intake_dev.local import LocalOptions, LocalStack, running
from intake_dev.sample_site import BOT, SAMPLE_TOKEN, SampleSite

PROJECT = "widgets-proj"
RULE = {
    "enabled": True,
    "provider": "jira",
    "site": "acme.atlassian.net",
    "project": "PROJ",
    "labels": ["agent"],
    "backlog": "all",
}
_JIRA_VARIABLES = ("JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_API_URL")


def _without_jira(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in _JIRA_VARIABLES}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    """`intake local --offline` without JIRA_EMAIL and JIRA_API_TOKEN, its terminal lines as `stack.lines`."""
    options = LocalOptions(port=0, aws_port=0, offline=True, log_file=tmp_path / "local.log")
    lines: list[str] = []
    with running(options, say=lines.append, env=_without_jira(dict(os.environ))) as local:
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


def _sample(stack: LocalStack) -> SampleSite:
    sample: SampleSite = stack.jira_sample
    return sample


def _searches(jira: FakeJira) -> list[Any]:
    return [r for r in jira.requests if r.path.endswith("/search/jql")]


def test_offline_serves_the_sample_site_and_sets_its_email_and_token(stack: LocalStack) -> None:
    # GIVEN `intake local --offline` started without JIRA_EMAIL and JIRA_API_TOKEN
    lines: list[str] = stack.lines  # type: ignore[attr-defined]
    # THEN the Jira stand-in's line follows the Linear one's
    assert lines[2].startswith("offline Linear stand-in on http://127.0.0.1:")
    assert lines[3] == (
        f"offline Jira stand-in on {stack.jira.base_url} serving acme.atlassian.net/PROJ"
        " (JIRA_EMAIL and JIRA_API_TOKEN set to its sample's; no search lag)"
    )
    # AND the handlers are pointed at it, with the sample's email and token
    assert os.environ["JIRA_API_URL"] == stack.jira.base_url
    assert (os.environ["JIRA_EMAIL"], os.environ["JIRA_API_TOKEN"]) == (BOT, SAMPLE_TOKEN)


def test_a_jira_project_becomes_one_session_per_eligible_issue_then_costs_one_search_a_tick(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = _sample(stack)
    eligible = sample.eligible()
    customers = [sample.canonical_id(issue) for issue in sample.by_customers()]
    assert len(eligible) == 2 and len(customers) == 1, "the sample has issues of both kinds"
    # GIVEN a Jira project on acme.atlassian.net's PROJ and the label `agent`, created through the API
    _create(stack)

    # WHEN the first tick runs
    first = stack.tick()
    # THEN each open issue labelled `agent` by a licensed user became a session and was launched;
    # the JSM customer's did not
    assert sorted(first.new_sessions) == sorted(eligible)
    assert sorted(first.launched) == sorted(eligible)
    assert not set(customers) & set(first.new_sessions)
    # AND the terminal names each with its key
    lines: list[str] = stack.lines  # type: ignore[attr-defined]
    for issue in sample.issues:
        if sample.canonical_id(issue) in eligible:
            assert f"  session started for {sample.canonical_id(issue)} ({issue.key})" in lines
    # AND the ledger holds them, with the keys a person reads
    code, out = _cli(stack, capsys, "sessions", "list", PROJECT, "--json")
    assert code == 0
    items = json.loads(out)
    assert {i["issueId"]: i["identifier"] for i in items} == {
        sample.canonical_id(i): i.key for i in sample.issues if sample.canonical_id(i) in eligible
    }
    assert {i["status"] for i in items} == {"launched"}

    # WHEN a second tick runs with nothing changed
    stack.jira.clear_requests()
    stack.github.clear_requests()
    second = stack.tick()
    # THEN the poll made one search request to the Jira stand-in (none to GitHub) and started nothing
    searches = _searches(stack.jira)
    assert len(searches) == 1, stack.jira.requests
    assert searches[0].status == 200
    assert stack.github.requests == []
    assert second.new_sessions == [] and second.launched == []

    # WHEN a licensed user opens a new issue labelled `agent`
    new = stack.jira.add_issue("PROJ", "Widgets leak file handles", labels=["agent"], reporter="ana@acme.test")
    third = stack.tick()
    # THEN exactly one new session starts, for it
    assert third.new_sessions == [sample.canonical_id(new)]
    assert third.launched == [sample.canonical_id(new)]
    assert f"  session started for {sample.canonical_id(new)} ({new.key})" in lines


def test_a_project_move_out_and_back_starts_nothing_new(stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    sample = _sample(stack)
    # GIVEN a Jira project whose first tick launched the sample's eligible issues
    _create(stack)
    launched = stack.tick().launched
    issue = next(i for i in sample.issues if sample.canonical_id(i) in launched)
    stack.jira.add_project("OPS", "Operations")

    # WHEN one of them moves to another project, and a tick runs
    moved = stack.jira.move_issue(issue.id, "OPS")
    away = stack.tick()
    # THEN nothing starts
    assert moved.key.startswith("OPS-")
    assert away.new_sessions == [] and away.launched == []

    # WHEN it moves back into PROJ with a new key, and a tick runs
    back = stack.jira.move_issue(issue.id, "PROJ")
    again = stack.tick()
    # THEN its stable id already has its session: nothing starts, and the ledger keeps one row for it
    assert back.key != issue.key and back.id == issue.id
    assert again.new_sessions == [] and again.launched == []
    code, out = _cli(stack, capsys, "sessions", "list", PROJECT, "--json")
    assert code == 0
    rows = [row for row in json.loads(out) if row["issueId"] == sample.canonical_id(issue)]
    assert len(rows) == 1 and rows[0]["status"] == "launched"


def test_a_jira_failure_is_said_in_jira_s_name(stack: LocalStack) -> None:
    # GIVEN a Jira project, and a Jira stand-in answering 503 to every try of the next poll
    _create(stack)
    stack.jira.fail_next(10, 503)
    # WHEN a tick runs
    stack.tick()
    # THEN the tick line and the backoff name Jira, not GitHub
    lines: list[str] = stack.lines  # type: ignore[attr-defined]
    assert any(line.endswith(f"1 failed ({PROJECT}: Jira unavailable)") for line in lines), lines
    assert any(line.startswith(f"backoff {PROJECT} until ") and "(Jira unavailable;" in line for line in lines), lines


def test_sam_local_invoke_gets_the_jira_stand_in_and_its_token_through_a_secret(stack: LocalStack) -> None:
    # GIVEN the local stack started offline WHEN `sam local invoke --env-vars` would read the file it wrote
    written = json.loads(stack.sam_env_file.read_text())["Parameters"]
    # THEN functions in containers poll the Jira stand-in, with the token through a jira-api-token secret
    assert written["JIRA_API_URL"] == stack.jira.base_url
    assert SAMPLE_TOKEN not in stack.sam_env_file.read_text()
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=written["JIRA_API_TOKEN_SECRET_ARN"])
    assert json.loads(secret["SecretString"]) == {"email": BOT, "apiToken": SAMPLE_TOKEN}


def test_offline_takes_the_developers_own_jira_token_too(tmp_path: Path) -> None:
    # GIVEN `intake local --offline` started with a JIRA_EMAIL and JIRA_API_TOKEN of the developer's
    env = {**_without_jira(dict(os.environ)), "JIRA_EMAIL": "dev@acme.test", "JIRA_API_TOKEN": "developers-own"}
    options = LocalOptions(port=0, aws_port=0, offline=True, log_file=tmp_path / "local.log")
    lines: list[str] = []
    with running(options, say=lines.append, env=env) as stack:
        # WHEN a Jira project is polled
        _create(stack)
        report = stack.tick()
    # THEN they were kept, said so, and the stand-in took them
    assert lines[3].endswith("serving acme.atlassian.net/PROJ (with your JIRA_EMAIL and JIRA_API_TOKEN; no search lag)")
    assert sorted(report.new_sessions) == sorted(stack.jira_sample.eligible())


@pytest.fixture
def github_stand_in() -> Iterator[str]:
    from intake_dev.fake_github import FakeGitHub

    with FakeGitHub() as fake:
        yield str(fake.base_url)


def test_the_missing_token_warning_is_said_once_against_jira(tmp_path: Path, github_stand_in: str) -> None:
    # GIVEN `intake local` as a user runs it, without JIRA_EMAIL and JIRA_API_TOKEN, polling each
    # Jira site itself (no --jira-url; no project, so nothing is asked of it)
    env = _without_jira(dict(os.environ))
    run = Run(tmp_path / "state", tmp_path / "local.log", tmp_path / "out", "--github-url", github_stand_in, env=env)
    # WHEN it has ticked once
    try:
        run.wait_for(r"tick 1:", timeout=90)
    finally:
        run.stop(signal.SIGINT)
    # THEN the terminal says it once, and where Jira is polled
    terminal = run.text()
    assert terminal.count("warning: JIRA_EMAIL and JIRA_API_TOKEN are not both set;") == 1, terminal
    assert "polling Jira at each site's https://<site>" in terminal


def test_no_missing_token_warning_against_a_loopback_jira(tmp_path: Path, github_stand_in: str) -> None:
    # GIVEN `intake local --jira-url URL` without JIRA_EMAIL and JIRA_API_TOKEN, URL a Jira stand-in on loopback
    env = _without_jira(dict(os.environ))
    with FakeJira() as jira:
        args = ("--github-url", github_stand_in, "--jira-url", jira.base_url)
        run = Run(tmp_path / "state", tmp_path / "local.log", tmp_path / "out", *args, env=env)
        try:
            run.wait_for(r"tick 1:", timeout=90)
        finally:
            run.stop(signal.SIGINT)
    # THEN nothing warns, and the terminal says where Jira is polled
    terminal = run.text()
    assert "JIRA_API_TOKEN" not in terminal, terminal
    assert f"polling Jira at {jira.base_url}" in terminal


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--offline", "--jira-url", "https://acme.atlassian.net"], "--jira-url and --offline do not go"),
        (["--jira-url", "http://jira.example.com"], "--jira-url must be an https:// URL"),
        (["--jira-url", "acme.atlassian.net"], "--jira-url must be an https:// URL"),
    ],
)
def test_local_refuses_a_jira_url_it_cannot_use(argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN intake local is started with a --jira-url that cannot work
    code = intake(["local", *argv])
    # THEN it exits 2 with one sentence naming the flag
    out = capsys.readouterr().out
    assert code == 2 and out.startswith(f"intake local: {said}"), out
