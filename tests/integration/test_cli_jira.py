"""The `intake` CLI on Jira projects, against the real API handler served on loopback."""

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

JIRA_ID = "jira:acme.atlassian.net/10042"
JIRA_URL = "https://acme.atlassian.net/browse/PROJ-123"
ACCOUNT_ID = "5b10ac8d82e05b22cc7d4ef5"


@pytest.fixture
def cli(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> Iterator[Served]:
    served = Served(Api(aws), capsys)
    with quiet_handler_logs():
        yield served
    served.stop()


@pytest.fixture
def proj(cli: Served) -> Served:
    """Project proj on Jira project PROJ of acme.atlassian.net, with a launched claim on PROJ-123."""
    cli.run("project", "create", "proj", "--git-origin", "git@github.com:acme/app.git")
    code, _, err = cli.run(
        "project",
        "set-config",
        "proj",
        "--tracker-provider",
        "jira",
        "--tracker-site",
        "acme.atlassian.net",
        "--tracker-project",
        "PROJ",
    )
    assert code == 0, err
    snapshot = IssueSnapshot(10042, "Fix the login page", JIRA_URL, ("agent",), (), "", None, identifier="PROJ-123")
    cli.api.store.put_claim(replace(claim(project_id="proj"), canonical_id=JIRA_ID, issue=snapshot))
    return cli


def test_set_config_moves_a_project_to_jira_with_its_site_project_label_and_account_id_assignee(cli: Served) -> None:
    # GIVEN a GitHub project with intake on a label
    cli.run("project", "create", "proj", "--git-origin", "git@github.com:acme/app.git")
    cli.run("project", "set-config", "proj", "--tracker-intake", "--tracker-label", "agent")
    # WHEN it is moved to Jira project PROJ on acme.atlassian.net, with an account id as assignee
    code, out, err = cli.run(
        "project",
        "set-config",
        "proj",
        "--tracker-provider",
        "jira",
        "--tracker-site",
        "acme.atlassian.net",
        "--tracker-project",
        "PROJ",
        "--tracker-label",
        "agent",
        "--tracker-assignee",
        ACCOUNT_ID,
    )
    # THEN the Jira rule is stored without GitHub's fields, its authors Jira's default, and shown so
    assert code == 0, err
    shown = described(out)
    assert (shown["tracker"], shown["site"], shown["project key"]) == ("jira", "acme.atlassian.net", "PROJ")
    assert (shown["assignee"], shown["authors"], shown["member check"]) == (ACCOUNT_ID, "MEMBER", "-")
    assert "repo" not in shown
    intake = cli.json("project", "show", "proj")["trackerIntake"]
    assert (intake["provider"], intake["site"], intake["project"]) == ("jira", "acme.atlassian.net", "PROJ")
    assert (intake["repo"], intake["labels"]) == (None, ["agent"])
    assert "memberWriteCheck" not in intake
    # AND the project list names the site and project where a GitHub project names its repository
    assert "jira:acme.atlassian.net/PROJ" in cli.run("project", "list")[1]


def test_project_show_names_the_site_and_the_project(proj: Served) -> None:
    # GIVEN project proj on Jira
    # WHEN it is shown
    shown = described(proj.run("project", "show", "proj")[1])
    # THEN it names the tracker, the site and the project key
    assert (shown["project"], shown["tracker"], shown["site"], shown["project key"]) == (
        "proj",
        "jira",
        "acme.atlassian.net",
        "PROJ",
    )


def test_a_linear_project_moved_to_jira_drops_its_team_and_authors(cli: Served) -> None:
    # GIVEN a project on Linear team ENG that also takes guests' issues
    cli.run("project", "create", "eng")
    flags = ["--tracker-provider", "linear", "--tracker-team", "ENG", "--tracker-author", "GUEST"]
    assert cli.run("project", "set-config", "eng", *flags)[0] == 0
    # WHEN it is moved to Jira
    flags = ["--tracker-provider", "jira", "--tracker-site", "acme.atlassian.net", "--tracker-project", "PROJ"]
    code, _, err = cli.run("project", "set-config", "eng", *flags)
    # THEN the team is gone and the authors are Jira's default
    assert code == 0, err
    intake = cli.json("project", "show", "eng")["trackerIntake"]
    assert (intake["provider"], intake["team"], intake["authors"]) == ("jira", None, ["MEMBER"])


def test_a_jira_project_moved_back_to_github_drops_its_site_and_project(proj: Served) -> None:
    # GIVEN project proj on Jira
    # WHEN it is moved back to GitHub
    code, out, err = proj.run("project", "set-config", "proj", "--tracker-provider", "github")
    # THEN its rule is GitHub's again: the git origin's repository, GitHub's default authors, no site or project
    assert code == 0, err
    shown = described(out)
    assert (shown["repo"], shown["authors"]) == ("acme/app", "OWNER, MEMBER, COLLABORATOR")
    intake = proj.json("project", "show", "proj")["trackerIntake"]
    assert (intake["site"], intake["project"]) == (None, None)


JIRA = ["--tracker-provider", "jira", "--tracker-site", "acme.atlassian.net", "--tracker-project", "PROJ"]


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--tracker-provider", "jira", "--tracker-project", "PROJ"], "--tracker-site"),
        (["--tracker-provider", "jira", "--tracker-site", "acme.atlassian.net"], "--tracker-project"),
        (["--tracker-site", "acme.atlassian.net"], "--tracker-site"),
        (["--tracker-project", "PROJ"], "--tracker-project"),
        ([*JIRA, "--tracker-repo", "acme/app"], "--tracker-repo"),
        ([*JIRA, "--tracker-team", "ENG"], "--tracker-team"),
        ([*JIRA, "--tracker-assignee", "ada"], "--tracker-assignee"),
        ([*JIRA, "--tracker-author", "OWNER"], "--tracker-author"),
        ([*JIRA, "--tracker-acknowledge", "reaction"], "--tracker-acknowledge"),
        ([*JIRA[:4], "--tracker-project", "proj"], "--tracker-project"),
        ([*JIRA[:2], "--tracker-site", "Acme Site", *JIRA[4:]], "--tracker-site"),
    ],
    ids=[
        "no site",
        "no project",
        "a site on GitHub",
        "a project on GitHub",
        "a repo on Jira",
        "a team on Jira",
        "a login on Jira",
        "OWNER on Jira",
        "a reaction on Jira",
        "a bad project key",
        "a bad site",
    ],
)
def test_a_bad_jira_rule_is_one_sentence_naming_the_flag_and_exit_1(cli: Served, flags: list[str], named: str) -> None:
    # GIVEN a GitHub project
    cli.run("project", "create", "proj", "--git-origin", "git@github.com:acme/app.git")
    # WHEN set-config is given a rule its tracker refuses
    code, out, err = cli.run("project", "set-config", "proj", *flags)
    # THEN it exits 1 naming the flag, with no traceback, and nothing changed
    assert code == 1, out
    assert named in err and "Traceback" not in err
    assert cli.json("project", "show", "proj")["version"] == 1


def test_sessions_list_shows_the_key_and_url_beside_the_canonical_id(proj: Served) -> None:
    # GIVEN project proj with a launched claim on PROJ-123
    # WHEN its sessions are listed
    code, out, _ = proj.run("sessions", "list", "proj")
    assert code == 0
    # THEN the row names the canonical id, the key and the issue's browse URL
    header, row = out.splitlines()
    assert header.split()[:3] == ["ISSUE", "IDENTIFIER", "URL"]
    assert row.split()[:3] == [JIRA_ID, "PROJ-123", JIRA_URL]


def test_sessions_show_and_release_take_a_jira_canonical_id(proj: Served) -> None:
    # GIVEN project proj with a launched claim on PROJ-123
    # WHEN it is shown, then released, by its canonical id
    shown = described(proj.run("sessions", "show", "proj", JIRA_ID)[1])
    code, out, _ = proj.run("sessions", "release", "proj", JIRA_ID)
    # THEN the session reads with its key and URL, and the claim is released
    assert (shown["issue"], shown["identifier"], shown["url"]) == (JIRA_ID, "PROJ-123", JIRA_URL)
    assert code == 0 and out.startswith(f"released {JIRA_ID}")
    assert proj.api.store.get_claim(JIRA_ID).status is ClaimStatus.RELEASED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (
            "PROJ-123",
            "a Jira issue is named by its id, jira:site/id; intake sessions list PROJECT shows it beside PROJ-123",
        ),
        ("proj-123", "beside PROJ-123"),
        (JIRA_URL, "jira:acme.atlassian.net/id; intake sessions list PROJECT shows it beside PROJ-123"),
        ("jira:acme.atlassian.net/PROJ-123", "the issue's numeric id, not its key"),
        ("acme/app#42", "write it as github:acme/app#42"),
    ],
    ids=["a key", "a key in lower case", "a browse URL", "a key in a Jira id", "a GitHub shorthand"],
)
def test_an_issue_not_named_by_its_canonical_id_says_how_in_one_sentence(proj: Served, given: str, said: str) -> None:
    # GIVEN project proj on Jira
    for command in ("release", "show"):
        # WHEN a claim is released or shown by what people read rather than its canonical id
        code, _, err = proj.run("sessions", command, "proj", given)
        # THEN it exits 2 with one sentence saying what to write, and no traceback
        assert code == 2
        assert said in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
    assert proj.api.store.get_claim(JIRA_ID).status is ClaimStatus.LAUNCHED  # type: ignore[union-attr]


def test_a_key_like_a_linear_identifier_is_taken_for_jiras_only_on_a_jira_project(cli: Served) -> None:
    # GIVEN a project on Linear
    cli.run("project", "create", "eng")
    cli.run("project", "set-config", "eng", "--tracker-provider", "linear", "--tracker-team", "ENG")
    # WHEN a claim is released by ENG-123
    code, _, err = cli.run("sessions", "release", "eng", "ENG-123")
    # THEN the sentence says how to write a Linear id
    assert code == 2
    assert "a Linear issue is named by its id, linear:workspace/uuid" in err


def test_json_sessions_carry_the_provider_and_key(proj: Served) -> None:
    # GIVEN project proj with a launched claim on PROJ-123
    # WHEN its sessions are listed as JSON
    (session,) = json.loads(proj.run("sessions", "list", "proj", "--json")[1])
    # THEN each carries its provider and key
    assert (session["provider"], session["identifier"]) == ("jira", "PROJ-123")
