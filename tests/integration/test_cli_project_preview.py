"""`intake project preview`: what a stored rule would pick up now, and which project holds each
issue (issue 25: projects on one repository failed silently). The CLI as a user runs it, in its
own process, against the real API handler on loopback, reading the loopback GitHub stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_support import Api, claim
from cli_support import Served

from intake_dev.fake_github import FakeGitHub
from intake_dev.functions import quiet_handler_logs
from tracker_intake.domain.records import ClaimStatus
from tracker_intake.settings import ApiSettings
from tracker_intake.wiring import build_api_context


@pytest.fixture
def cli(aws: dict[str, Any], github: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> Iterator[Served]:
    """widgets and docs-bot on acme/app, label agent, and two open agent issues (#1, #2)."""
    repo = github.add_repo("acme", "app")
    base = datetime(2026, 11, 1, tzinfo=UTC)
    repo.add_issue("older", labels=["agent"], created_at=base)
    repo.add_issue("newer", labels=["agent"], created_at=base + timedelta(days=1))
    api = Api(aws)
    settings = ApiSettings.model_validate(
        {"TABLE_NAME": aws["table_name"], "GITHUB_API_URL": github.base_url, "MAX_PAGES_PER_POLL": "3"}
    )
    api.module.use(build_api_context(settings, dynamodb=aws["dynamodb"], token="preview-test-token"))
    served = Served(api, capsys)
    with quiet_handler_logs():
        for project in ("widgets", "docs-bot"):
            assert served.run("project", "create", project, "--git-origin", "git@github.com:acme/app.git")[0] == 0
            rule = ("--tracker-intake", "--tracker-label", "agent", "--tracker-backlog", "all")
            assert served.run("project", "set-config", project, *rule)[0] == 0
        yield served
    served.stop()


def test_an_issue_another_project_holds_is_named_with_that_project(cli: Served) -> None:
    # GIVEN widgets launched a session for #1: it holds the issue, for every project
    cli.api.store.put_claim(claim(project_id="widgets", number=1, status=ClaimStatus.LAUNCHED))
    # WHEN docs-bot's rule is previewed from the CLI
    ran = cli.child("project", "preview", "docs-bot")
    # THEN #1 is shown held by widgets, #2 as unclaimed, and the rule is said in words
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0] == "acme/app: 2 issues match the rule now"
    assert any(line.startswith("github:acme/app#1") and "launched (held by widgets)" in line for line in lines)
    assert any(line.startswith("github:acme/app#2") and "  none  " in line for line in lines)
    assert "saving would start 1 session(s) now" in lines
    assert any(
        "1 of them is held by another project: one session per issue, across every project" in line for line in lines
    )


def test_the_preview_as_json_carries_the_holder_and_the_count(cli: Served) -> None:
    # GIVEN widgets holds #1 WHEN docs-bot's preview is asked for as JSON
    cli.api.store.put_claim(claim(project_id="widgets", number=1, status=ClaimStatus.LAUNCHED))
    ran = cli.child("project", "preview", "docs-bot", "--json")
    # THEN it is the API's answer: the holder on the issue, and how many are held elsewhere
    assert ran.returncode == 0, ran.stderr
    answer = json.loads(ran.stdout)
    assert {i["number"]: i["claimProject"] for i in answer["eligible"]} == {1: "widgets", 2: None}
    assert answer["heldElsewhere"] == 1


def test_the_holding_projects_own_preview_says_it_holds_the_issue(cli: Served) -> None:
    # GIVEN widgets holds #1 WHEN widgets' own rule is previewed
    cli.api.store.put_claim(claim(project_id="widgets", number=1, status=ClaimStatus.LAUNCHED))
    ran = cli.child("project", "preview", "widgets")
    # THEN #1 is its own, and nothing is held elsewhere
    assert ran.returncode == 0, ran.stderr
    assert any(
        line.startswith("github:acme/app#1") and "launched (this project)" in line for line in ran.stdout.splitlines()
    )
    assert "held by another project" not in ran.stdout
