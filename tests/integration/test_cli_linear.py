"""The `intake` CLI on Linear projects, against the real API handler served on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from api_support import Api, claim
from cli_support import Served, described

from intake_dev.functions import quiet_handler_logs
from tracker_intake.domain.records import ClaimStatus, IssueSnapshot

ISSUE_UUID = "3f2b5c1e-8d4a-4b6f-9c2e-1a7d0e5b9f34"
LINEAR_ID = f"linear:acme/{ISSUE_UUID}"
LINEAR_URL = "https://linear.app/acme/issue/ENG-123/fix-the-login-page"


@pytest.fixture
def cli(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> Iterator[Served]:
    served = Served(Api(aws), capsys)
    with quiet_handler_logs():
        yield served
    served.stop()


@pytest.fixture
def eng(cli: Served) -> Served:
    """Project eng on Linear team ENG, with a launched claim on ENG-123."""
    cli.run("project", "create", "eng", "--git-origin", "git@github.com:acme/app.git")
    code, _, err = cli.run("project", "set-config", "eng", "--tracker-provider", "linear", "--tracker-team", "ENG")
    assert code == 0, err
    snapshot = IssueSnapshot(123, "Fix the login page", LINEAR_URL, ("agent",), (), "", None, identifier="ENG-123")
    cli.api.store.put_claim(replace(claim(project_id="eng"), canonical_id=LINEAR_ID, issue=snapshot))
    return cli


def test_set_config_moves_a_project_to_linear_with_its_team_label_and_email_assignee(cli: Served) -> None:
    # GIVEN a GitHub project with intake on a label
    cli.run("project", "create", "eng", "--git-origin", "git@github.com:acme/app.git")
    cli.run("project", "set-config", "eng", "--tracker-intake", "--tracker-label", "agent")
    # WHEN it is moved to Linear team ENG, with an email assignee
    code, out, err = cli.run(
        "project",
        "set-config",
        "eng",
        "--tracker-provider",
        "linear",
        "--tracker-team",
        "ENG",
        "--tracker-label",
        "agent",
        "--tracker-assignee",
        "ada@acme.test",
    )
    # THEN the Linear rule is stored without GitHub's fields, its authors Linear's default, and shown so
    assert code == 0, err
    shown = described(out)
    assert (shown["tracker"], shown["team"], shown["assignee"]) == ("linear", "ENG", "ada@acme.test")
    assert (shown["authors"], shown["member check"]) == ("MEMBER", "-")
    assert "repo" not in shown
    intake = cli.json("project", "show", "eng")["trackerIntake"]
    assert (intake["provider"], intake["team"], intake["repo"]) == ("linear", "ENG", None)
    assert "memberWriteCheck" not in intake
    # AND the project list names the team where a GitHub project names its repository
    assert "linear:ENG" in cli.run("project", "list")[1]


def test_a_linear_project_moved_back_to_github_drops_its_team(eng: Served) -> None:
    # GIVEN project eng on Linear team ENG
    # WHEN it is moved back to GitHub
    code, out, err = eng.run("project", "set-config", "eng", "--tracker-provider", "github")
    # THEN its rule is GitHub's again: the git origin's repository, GitHub's default authors, no team
    assert code == 0, err
    shown = described(out)
    assert (shown["repo"], shown["authors"]) == ("acme/app", "OWNER, MEMBER, COLLABORATOR")
    assert eng.json("project", "show", "eng")["trackerIntake"]["team"] is None


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--tracker-provider", "linear"], "--tracker-team"),
        (["--tracker-team", "ENG"], "--tracker-team"),
        (["--tracker-provider", "linear", "--tracker-team", "ENG", "--tracker-repo", "acme/app"], "--tracker-repo"),
        (["--tracker-provider", "linear", "--tracker-team", "ENG", "--tracker-assignee", "ada"], "--tracker-assignee"),
        (["--tracker-provider", "linear", "--tracker-team", "ENG", "--tracker-author", "OWNER"], "--tracker-author"),
        (["--tracker-provider", "linear", "--tracker-team", "EN-G"], "--tracker-team"),
    ],
    ids=["no team", "a team on GitHub", "a repo on Linear", "a login on Linear", "OWNER on Linear", "a bad team key"],
)
def test_a_bad_linear_rule_is_one_sentence_naming_the_flag_and_exit_1(
    cli: Served, flags: list[str], named: str
) -> None:
    # GIVEN a GitHub project
    cli.run("project", "create", "eng", "--git-origin", "git@github.com:acme/app.git")
    # WHEN set-config is given a rule its tracker refuses
    code, out, err = cli.run("project", "set-config", "eng", *flags)
    # THEN it exits 1 naming the flag, with no traceback, and nothing changed
    assert code == 1, out
    assert named in err and "Traceback" not in err
    assert cli.json("project", "show", "eng")["version"] == 1


def test_set_config_refuses_an_unknown_provider_as_a_usage_error(cli: Served) -> None:
    # GIVEN a project
    cli.run("project", "create", "eng")
    # WHEN set-config names a tracker intake cannot poll
    with pytest.raises(SystemExit) as exit_:
        cli.run("project", "set-config", "eng", "--tracker-provider", "trello")
    # THEN it is argparse's usage error (exit 2), naming the choices
    assert exit_.value.code == 2
    assert "'github', 'linear', 'jira'" in cli.capsys.readouterr().err


def test_sessions_list_shows_the_identifier_and_url_beside_the_canonical_id(eng: Served) -> None:
    # GIVEN project eng with a launched claim on ENG-123
    # WHEN its sessions are listed
    code, out, _ = eng.run("sessions", "list", "eng")
    assert code == 0
    # THEN the row names the canonical id, the identifier and the issue's URL
    header, row = out.splitlines()
    assert header.split()[:3] == ["ISSUE", "IDENTIFIER", "URL"]
    assert row.split()[:3] == [LINEAR_ID, "ENG-123", LINEAR_URL]


def test_sessions_list_of_github_issues_has_no_linear_columns(cli: Served) -> None:
    # GIVEN a GitHub project with a launched claim
    cli.run("project", "create", "demo")
    cli.api.store.put_claim(claim())
    # WHEN its sessions are listed THEN the table is as it always was
    header = cli.run("sessions", "list", "demo")[1].splitlines()[0]
    assert header.split()[:2] == ["ISSUE", "STATUS"]


def test_sessions_show_and_release_take_a_linear_canonical_id(eng: Served) -> None:
    # GIVEN project eng with a launched claim on ENG-123
    # WHEN it is shown, then released, by its canonical id
    shown = described(eng.run("sessions", "show", "eng", LINEAR_ID)[1])
    code, out, _ = eng.run("sessions", "release", "eng", LINEAR_ID)
    # THEN the session reads with its identifier and URL, and the claim is released
    assert (shown["issue"], shown["identifier"], shown["url"]) == (LINEAR_ID, "ENG-123", LINEAR_URL)
    assert code == 0 and out.startswith(f"released {LINEAR_ID}")
    assert eng.api.store.get_claim(LINEAR_ID).status is ClaimStatus.RELEASED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("ENG-123", "linear:workspace/uuid; intake sessions list PROJECT shows it beside ENG-123"),
        (LINEAR_URL, "beside ENG-123"),
        ("linear:acme/ENG-123", "the issue's id (a UUID), not its identifier"),
        ("acme/app#42", "write it as github:acme/app#42"),
    ],
    ids=["an identifier", "a Linear URL", "an identifier in a Linear id", "a GitHub shorthand"],
)
def test_release_of_an_issue_not_named_by_its_canonical_id_says_how_in_one_sentence(
    eng: Served, given: str, said: str
) -> None:
    # GIVEN project eng
    # WHEN a claim is released by what people read rather than its canonical id
    code, _, err = eng.run("sessions", "release", "eng", given)
    # THEN it exits 2 with one sentence saying what to write, and no traceback
    assert code == 2
    assert said in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_json_sessions_carry_the_provider_and_identifier(eng: Served) -> None:
    # GIVEN project eng with a launched claim on ENG-123
    # WHEN its sessions are listed as JSON
    (session,) = json.loads(eng.run("sessions", "list", "eng", "--json")[1])
    # THEN each carries its provider and identifier
    assert (session["provider"], session["identifier"]) == ("linear", "ENG-123")
