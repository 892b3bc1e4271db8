"""The `intake` CLI against the real API handler, served on loopback by intake_dev.local_api."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from api_support import CLAIMED_AT, Api, claim
from cli_support import Served, described

from intake_cli.main import main
from intake_dev.functions import quiet_handler_logs
from tracker_intake.domain.config import Acknowledge, ProjectConfig
from tracker_intake.domain.records import (
    Acknowledgement,
    AckState,
    Claim,
    ClaimStatus,
    PollState,
    SessionStatus,
    StatusChange,
)


@pytest.fixture
def cli(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> Iterator[Served]:
    served = Served(Api(aws), capsys)
    # The handler's JSON logs go to stdout, as in Lambda; here they would mix with the CLI's output.
    with quiet_handler_logs():
        yield served
    served.stop()


def test_create_then_show_a_project(cli: Served) -> None:
    # GIVEN the API is empty
    # WHEN a project is created and shown
    created = cli.run("project", "create", "demo", "--name", "Demo app", "--git-origin", "git@github.com:acme/app.git")
    code, out, _ = cli.run("project", "show", "demo")
    # THEN both succeed and the project reads back
    assert created[0] == code == 0
    assert "created project demo (version 1)" in created[1]
    shown = described(out)
    assert shown["git origin"] == "git@github.com:acme/app.git"
    assert (shown["intake"], shown["status"]) == ("off", "disabled")


def test_enable_intake_with_a_label_then_see_it_in_show(cli: Served) -> None:
    # GIVEN a project with a git origin (the new user's walk-through)
    cli.run("project", "create", "demo", "--git-origin", "git@github.com:acme/app.git")
    # WHEN intake is enabled on a label
    code, out, err = cli.run("project", "set-config", "demo", "--tracker-intake", "--tracker-label", "agent")
    # THEN the change is applied and `project show` reports it, with the repo derived
    assert code == 0, err
    assert "updated project demo (version 2)" in out
    shown = described(cli.run("project", "show", "demo")[1])
    assert shown["intake"] == "on"
    assert shown["labels"] == "agent"
    assert shown["repo"] == "acme/app"
    assert shown["status"] == "ok"


def test_set_config_keeps_what_it_was_not_told_to_change(cli: Served) -> None:
    # GIVEN intake on with a label and an assignee
    cli.run("project", "create", "demo", "--name", "Demo", "--git-origin", "git@github.com:acme/app.git")
    cli.run("project", "set-config", "demo", "--tracker-intake", "--tracker-label", "agent", "--tracker-assignee", "*")
    # WHEN only the session cap is changed
    project = cli.json("project", "set-config", "demo", "--max-sessions-per-poll", "3")
    # THEN everything else is as it was
    assert project["name"] == "Demo"
    assert project["trackerIntake"]["labels"] == ["agent"]
    assert project["trackerIntake"]["assignee"] == "*"
    assert project["trackerIntake"]["maxSessionsPerPoll"] == 3


def test_set_config_sends_the_version_it_read(cli: Served) -> None:
    # GIVEN someone edits the project between the CLI's read and its write
    cli.run("project", "create", "demo", "--git-origin", "git@github.com:acme/app.git")

    def concurrent_edit(event: dict[str, Any]) -> None:
        if event["httpMethod"] == "GET":
            cli.api.store.replace_config("demo", ProjectConfig(name="Theirs"), None, _now())

    cli.before_answer = concurrent_edit
    # WHEN set-config runs
    code, _, err = cli.run("project", "set-config", "demo", "--tracker-intake", "--tracker-label", "agent")
    # THEN the stale write is refused, the other edit survives, and the user is told why
    assert code == 1
    assert "HTTP 412" in err
    assert "If-Match" in err
    assert cli.api.store.get_project("demo").config.name == "Theirs"


def test_project_list_is_a_table(cli: Served) -> None:
    # GIVEN two projects, one with intake on
    cli.run("project", "create", "demo", "--git-origin", "git@github.com:acme/app.git")
    cli.run("project", "set-config", "demo", "--tracker-intake", "--tracker-label", "agent")
    cli.run("project", "create", "quiet")
    # WHEN they are listed
    code, out, _ = cli.run("project", "list")
    # THEN a header row and one row each
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["ID", "NAME", "INTAKE", "REPO", "LABELS", "VERSION"]
    assert sorted(line.split()[0] for line in lines[1:]) == ["demo", "quiet"]
    assert any(line.split()[:4] == ["demo", "ok", "acme/app", "agent"] for line in lines)


def test_project_list_json_is_machine_readable(cli: Served) -> None:
    # GIVEN one project
    cli.run("project", "create", "demo")
    # WHEN listed with --json
    projects = cli.json("project", "list")
    # THEN it is the API's items
    assert [p["id"] for p in projects] == ["demo"]


def test_project_delete(cli: Served) -> None:
    # GIVEN a project
    cli.run("project", "create", "demo")
    # WHEN it is deleted
    code, out, _ = cli.run("project", "delete", "demo")
    # THEN it is gone
    assert (code, out.strip()) == (0, "deleted project demo")
    assert cli.run("project", "show", "demo")[0] == 1


def test_api_refusal_prints_field_messages_without_traceback(cli: Served) -> None:
    # GIVEN a project without a git origin
    cli.run("project", "create", "demo")
    # WHEN intake is enabled with no repo to poll
    code, out, err = cli.run("project", "set-config", "demo", "--tracker-intake", "--tracker-label", "agent")
    # THEN exit 1, the field and the reason on stderr, no traceback
    assert code == 1
    assert out == ""
    assert "--tracker-repo: enabled intake needs a repo, or a project --git-origin" in err
    assert "Traceback" not in err


def test_bad_label_is_refused_naming_the_field(cli: Served) -> None:
    # GIVEN a project with a git origin
    cli.run("project", "create", "demo", "--git-origin", "git@github.com:acme/app.git")
    # WHEN a label with a comma is given
    code, _, err = cli.run("project", "set-config", "demo", "--tracker-intake", "--tracker-label", "a,b")
    # THEN the API's reason reaches the user
    assert code == 1
    assert "--tracker-label: label 'a,b' contains a comma" in err
    assert "comma" in err


def _in_backoff(cli: Served, *, transient: bool) -> None:
    """Project demo, intake on, in backoff for a day after two failures of the kind asked for."""
    cli.run("project", "create", "demo", "--git-origin", "git@github.com:acme/app.git")
    cli.run("project", "set-config", "demo", "--tracker-intake", "--tracker-label", "agent")
    state = PollState(
        backoff_until=_now() + timedelta(days=1),
        consecutive_failures=2,
        last_error="tracker_unavailable: 502 Bad Gateway" if transient else "auth_failed: bad credentials",
        transient=transient,
    )
    cli.api.store.save_poll_state("demo", state)


def test_project_poll_clears_the_backoff_in_one_sentence(cli: Served) -> None:
    # GIVEN demo in backoff
    _in_backoff(cli, transient=True)
    # WHEN it is polled now
    code, out, err = cli.run("project", "poll", "demo")
    # THEN one sentence says the backoff is cleared and when it is polled, and the store agrees
    assert (code, err) == (0, "")
    assert out == "demo: backoff cleared; polled on the next tick (within a minute)\n"
    assert cli.api.store.get_project("demo").poll.healthy()
    assert described(cli.run("project", "show", "demo")[1])["status"] == "ok"


def test_project_poll_of_a_healthy_project_says_when_it_is_polled(cli: Served) -> None:
    # GIVEN demo, healthy  WHEN it is polled now  THEN it says when, and that there was nothing to clear
    cli.run("project", "create", "demo", "--git-origin", "git@github.com:acme/app.git")
    cli.run("project", "set-config", "demo", "--tracker-intake", "--tracker-label", "agent")
    assert cli.run("project", "poll", "demo")[1] == "demo: polled on the next tick (within a minute)\n"
    # AND --json is the project
    assert cli.json("project", "poll", "demo")["intake"]["state"] == "ok"


@pytest.mark.parametrize(
    ("project", "said", "lines"),
    [("quiet", "intake is off; switch it on first", 1), ("nope", "project 'nope' does not exist", 2)],
    ids=["intake off", "unknown project (and the field)"],
)
def test_project_poll_refused_says_why_in_one_sentence_and_exits_1(
    cli: Served, project: str, said: str, lines: int
) -> None:
    # GIVEN a project with intake off (and no project nope)
    cli.run("project", "create", "quiet")
    # WHEN it is polled now
    code, out, err = cli.run("project", "poll", project)
    # THEN exit 1, the sentence saying why on stderr's first line, no traceback
    assert (code, out) == (1, "")
    assert said in err.splitlines()[0] and len(err.splitlines()) == lines and "Traceback" not in err


@pytest.mark.parametrize(("transient", "kind"), [(True, "transient"), (False, "persistent")])
def test_project_show_says_whether_the_last_failure_was_transient(cli: Served, transient: bool, kind: str) -> None:
    # GIVEN demo in backoff after a transient or a persistent failure
    _in_backoff(cli, transient=transient)
    # WHEN it is shown  THEN the failure's kind is beside the backoff and the error
    shown = described(cli.run("project", "show", "demo")[1])
    assert shown["status"] == "backoff"
    assert shown["failure"].startswith(kind + " (")


def test_project_show_gives_the_pickup_of_the_recent_launches(cli: Served) -> None:
    # GIVEN demo launched one issue 75 s after GitHub updated it, and another 5 min 3 s after
    cli.run("project", "create", "demo")
    for number, waited in ((42, 75), (7, 303)):
        launched_at = CLAIMED_AT + timedelta(minutes=number)
        issue = replace(claim().issue, number=number, updated_at=(launched_at - timedelta(seconds=waited)).isoformat())
        cli.api.store.put_claim(replace(claim(number=number), issue=issue, updated_at=launched_at))
    # WHEN it is shown  THEN the last launch's pickup reads beside its time, then the percentiles
    shown = described(cli.run("project", "show", "demo")[1])
    assert shown["pickup"].startswith("last 1 min 15 s (launched 2026-11-24T12:42:00")
    assert shown["over launches"] == "p50 1 min 15 s, p95 5 min 3 s (2 recent launches)"


def test_project_show_says_nothing_of_pickup_before_a_launch(cli: Served) -> None:
    # GIVEN demo with no launch  WHEN it is shown  THEN no pickup line
    cli.run("project", "create", "demo")
    assert "pickup" not in described(cli.run("project", "show", "demo")[1])


def test_sessions_list_shows_the_ledger(cli: Served) -> None:
    # GIVEN a project with one launched and one failed claim
    cli.run("project", "create", "demo")
    cli.api.store.put_claim(claim(number=42))
    cli.api.store.put_claim(claim(number=7, status=ClaimStatus.FAILED))
    # WHEN its sessions are listed
    code, out, _ = cli.run("sessions", "list", "demo")
    # THEN each issue is a row with its status
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:]}
    assert code == 0
    assert rows == {"github:acme/app#42": "launched", "github:acme/app#7": "failed"}


def reported_claim() -> Claim:
    """Acme/app#42, launched, whose backend reported working and then a PR."""
    pr = "https://github.com/acme/app/pull/43"
    return replace(
        claim(number=42),
        session_status=SessionStatus.PR_OPEN,
        pr_url=pr,
        status_history=(
            StatusChange(SessionStatus.WORKING, CLAIMED_AT + timedelta(minutes=1)),
            StatusChange(SessionStatus.PR_OPEN, CLAIMED_AT + timedelta(minutes=9), pr),
        ),
        status_reports=2,
    )


def test_sessions_list_shows_the_status_the_backend_reported_and_the_pr(cli: Served) -> None:
    # GIVEN a launched session whose backend reported a PR, and one that reported nothing
    cli.run("project", "create", "demo")
    cli.api.store.put_claim(reported_claim())
    cli.api.store.put_claim(claim(number=7))
    # WHEN the sessions are listed
    code, out, _ = cli.run("sessions", "list", "demo")
    # THEN each row shows the reported status with when it was reported, and the PR
    lines = out.splitlines()
    assert code == 0 and "SESSION STATUS" in lines[0] and "PR" in lines[0].split()
    (reported,) = [line for line in lines if line.startswith("github:acme/app#42")]
    (silent,) = [line for line in lines if line.startswith("github:acme/app#7")]
    assert "pr_open 2026-11-24T12:09:00Z" in reported and "https://github.com/acme/app/pull/43" in reported
    assert silent.split()[2] == "-"
    # AND --json carries the status history
    listed = {s["issueId"]: s for s in cli.json("sessions", "list", "demo")}
    assert [h["status"] for h in listed["github:acme/app#42"]["statusHistory"]] == ["working", "pr_open"]


def test_sessions_show_prints_one_session_with_its_status_history(cli: Served) -> None:
    # GIVEN a session whose backend reported working, then a PR
    cli.run("project", "create", "demo")
    cli.api.store.put_claim(reported_claim())
    # WHEN it is shown, named as the user writes it
    code, out, _ = cli.run("sessions", "show", "demo", "github:Acme/App#42")
    # THEN its facts and its dated history read in order
    assert code == 0
    assert "session status  pr_open" in out
    assert "pull request    https://github.com/acme/app/pull/43" in out
    history = out.split("history\n", 1)[1].splitlines()
    assert history == [
        "  2026-11-24T12:01:00Z  working",
        "  2026-11-24T12:09:00Z  pr_open  https://github.com/acme/app/pull/43",
    ]


@pytest.mark.parametrize(
    ("ack", "line"),
    [
        (None, "on the issue    -"),
        (
            ("comment", "done", "https://github.com/acme/app/issues/42#issuecomment-1", None),
            "on the issue    comment done https://github.com/acme/app/issues/42#issuecomment-1",
        ),
        (
            ("reaction", "refused", None, "GitHub refused the reaction on acme/app#42 (403: Not accessible)"),
            "on the issue    reaction refused: GitHub refused the reaction on acme/app#42 (403: Not accessible)",
        ),
    ],
    ids=["none", "done", "refused"],
)
def test_sessions_show_says_what_was_written_on_the_issue(
    cli: Served, ack: tuple[str, str, str | None, str | None] | None, line: str
) -> None:
    # GIVEN a launched session, acknowledged on the issue (or not)
    cli.run("project", "create", "demo")
    launched = reported_claim()
    if ack is not None:
        kind, state, url, detail = ack
        at = CLAIMED_AT + timedelta(minutes=1)
        acknowledged = Acknowledgement(
            Acknowledge(kind), AckState(state), "m", at, at, attempts=1, sent=True, url=url, detail=detail
        )
        launched = replace(launched, ack=acknowledged)
    cli.api.store.put_claim(launched)
    # WHEN it is shown THEN one line says what intake wrote on the issue, and how it went
    code, out, _ = cli.run("sessions", "show", "demo", "github:acme/app#42")
    assert code == 0 and line in out.splitlines()


def test_sessions_show_says_when_a_waiting_acknowledgement_is_tried_next(cli: Served) -> None:
    # GIVEN a launched session whose comment waits for its write slot
    cli.run("project", "create", "demo")
    at = CLAIMED_AT + timedelta(minutes=1)
    slot = at + timedelta(seconds=47)
    waiting = Acknowledgement(Acknowledge.COMMENT, AckState.WAITING, "m", at, at, slot=slot)
    cli.api.store.put_claim(replace(reported_claim(), ack=waiting))
    # WHEN it is shown THEN the line says when it will be written, to the second
    code, out, _ = cli.run("sessions", "show", "demo", "github:acme/app#42")
    assert code == 0
    assert f"on the issue    comment waiting (next try {slot:%Y-%m-%dT%H:%M:%SZ})" in out.splitlines()


def test_sessions_show_of_an_issue_without_a_session_exits_1(cli: Served) -> None:
    cli.run("project", "create", "demo")
    code, _, err = cli.run("sessions", "show", "demo", "github:acme/app#1")
    assert code == 1 and "no session" in err


def test_sessions_release_releases_the_claim(cli: Served) -> None:
    # GIVEN a launched claim
    cli.run("project", "create", "demo")
    cli.api.store.put_claim(claim(number=42))
    # WHEN it is released by its canonical id (URL-encoded by the CLI)
    code, out, _ = cli.run("sessions", "release", "demo", "github:acme/app#42")
    # THEN the claim is released
    assert code == 0
    assert out.startswith("released github:acme/app#42")
    assert cli.json("sessions", "list", "demo")[0]["status"] == "released"


@pytest.mark.parametrize(("kind", "noted"), [("label", True), ("comment", False)])
def test_releasing_an_issue_intake_labelled_says_the_label_keeps_it_skipped(
    cli: Served, kind: str, noted: bool
) -> None:
    # GIVEN a launched claim acknowledged on the issue with the in-progress label (or a comment)
    cli.run("project", "create", "demo")
    at = CLAIMED_AT + timedelta(minutes=1)
    done = Acknowledgement(Acknowledge(kind), AckState.DONE, "m", at, at, attempts=1, sent=True)
    cli.api.store.put_claim(replace(claim(number=42), ack=done))
    # WHEN it is released
    code, out, _ = cli.run("sessions", "release", "demo", "github:acme/app#42")
    # THEN only a labelled one says the label must go for a new session to start
    assert code == 0 and out.startswith("released github:acme/app#42")
    assert ("remove the label on GitHub for a new session to start" in out) is noted


def test_release_of_an_unknown_claim_exits_1(cli: Served) -> None:
    # GIVEN a project without claims
    cli.run("project", "create", "demo")
    # WHEN a claim is released
    code, _, err = cli.run("sessions", "release", "demo", "github:acme/app#1")
    # THEN exit 1, naming the argument
    assert code == 1
    assert "ISSUE_ID" in err


def test_unreachable_api_exits_3_naming_the_url(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a port nothing listens on
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    # WHEN the CLI talks to it
    code = main(["--api-url", url, "project", "list"])
    # THEN exit 3 with a sentence naming the URL, no traceback
    err = capsys.readouterr().err
    assert code == 3
    assert f"cannot reach the config API at {url}" in err
    assert "Traceback" not in err


def test_missing_api_url_exits_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN neither --api-url nor INTAKE_API_URL
    monkeypatch.delenv("INTAKE_API_URL", raising=False)
    # WHEN a command needs the API
    code = main(["project", "list"])
    # THEN exit 2 saying how to set it
    assert code == 2
    assert "INTAKE_API_URL" in capsys.readouterr().err


def test_api_url_from_the_environment(cli: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN INTAKE_API_URL points at the API
    monkeypatch.setenv("INTAKE_API_URL", cli.url)
    cli.run("project", "create", "demo")
    # WHEN a command runs without --api-url
    code = main(["project", "show", "demo", "--json"])
    # THEN it reaches the API
    assert code == 0
    assert json.loads(cli.capsys.readouterr().out)["id"] == "demo"


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a set-config with both switches
    both = ["--tracker-intake", "--no-tracker-intake"]
    # WHEN it is parsed
    with pytest.raises(SystemExit) as exit_info:
        main(["--api-url", "http://127.0.0.1:9", "project", "set-config", "demo", *both])
    # THEN argparse refuses it with exit 2
    assert exit_info.value.code == 2


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_the_api_url_may_follow_the_subcommand(cli: Served) -> None:
    # GIVEN a project
    assert cli.run("project", "create", "after")[0] == 0
    # WHEN the API URL is given after the subcommand instead of before it
    cli.capsys.readouterr()
    code = main(["project", "list", "--api-url", cli.url])
    out = cli.capsys.readouterr().out
    # THEN the command reaches the same API
    assert code == 0 and "after" in out


def test_set_config_clears_and_resets_every_rule_field(cli: Served) -> None:
    # GIVEN a project with a repo override, labels, an assignee and its own exclude labels
    assert cli.run("project", "create", "full", "--git-origin", "https://github.com/acme/app")[0] == 0
    code, _, err = cli.run(
        "project", "set-config", "full", "--tracker-intake", "--tracker-repo", "acme/other",
        "--tracker-label", "agent", "--tracker-assignee", "octocat", "--tracker-exclude-label", "wip",
    )  # fmt: skip
    assert code == 0, err
    # WHEN the assignee is cleared, the exclude labels reset, and the repo override dropped
    code, _, err = cli.run(
        "project", "set-config", "full", "--clear-tracker-assignee", "--reset-tracker-exclude-labels",
        "--clear-tracker-repo",
    )  # fmt: skip
    intake = cli.json("project", "show", "full")["trackerIntake"]
    # THEN each is gone (the exclude labels back to the default), and the labels stay
    assert code == 0, err
    assert (intake.get("assignee"), intake.get("excludeLabels"), intake.get("repo")) == (None, None, None)
    assert intake["labels"] == ["agent"]
    # AND the exclude labels can be emptied, and the labels cleared (with an assignee left as the rule)
    assert cli.run("project", "set-config", "full", "--no-tracker-exclude-labels", "--tracker-assignee", "*")[0] == 0
    assert cli.run("project", "set-config", "full", "--clear-tracker-labels")[0] == 0
    intake = cli.json("project", "show", "full")["trackerIntake"]
    assert intake["excludeLabels"] == [] and not intake.get("labels") and intake["assignee"] == "*"


def test_project_update_changes_name_and_git_origin(cli: Served) -> None:
    # GIVEN a project whose git origin is wrong
    assert cli.run("project", "create", "moved", "--name", "Old", "--git-origin", "https://github.com/acme/old")[0] == 0
    # WHEN its name and git origin are updated, then the name cleared
    code, _, err = cli.run("project", "update", "moved", "--name", "New", "--git-origin", "git@github.com:acme/new.git")
    shown = cli.json("project", "show", "moved")
    cleared = cli.run("project", "update", "moved", "--clear-name")[0]
    # THEN the API holds the new values, the version moved on, and the name can be dropped
    assert code == 0, err
    assert (shown["name"], shown["gitOrigin"], shown["version"]) == ("New", "git@github.com:acme/new.git", 2)
    assert cleared == 0 and cli.json("project", "show", "moved").get("name") is None


def test_under_json_a_refusal_is_json_with_the_status_and_fields(cli: Served) -> None:
    # WHEN a project that does not exist is shown with --json
    code, out, err = cli.run("project", "show", "nope", "--json")
    # THEN the answer is a JSON error on stdout, and exit 1
    answer = json.loads(out)
    assert code == 1 and err == ""
    assert answer["error"]["kind"] == "refused" and answer["error"]["status"] == 404
    assert answer["error"]["errors"][0]["field"] == "id"


def test_under_json_an_unreachable_api_is_json_and_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # WHEN the projects are listed with --json at a port nobody listens on
    code = main(["--api-url", f"http://127.0.0.1:{port}", "project", "list", "--json"])
    answer = json.loads(capsys.readouterr().out)
    # THEN it is a JSON error naming the kind, no class name in its message
    assert code == 3 and answer["error"]["kind"] == "unreachable"
    assert "Error" not in answer["error"]["message"]


def test_set_config_switches_the_member_write_check_off_and_on_and_show_says_which(cli: Served) -> None:
    # GIVEN a project with intake on (the check is on unless switched off)
    cli.run("project", "create", "demo", "--git-origin", "git@github.com:acme/app.git")
    cli.run("project", "set-config", "demo", "--tracker-intake", "--tracker-label", "agent")
    assert described(cli.run("project", "show", "demo")[1])["member check"].startswith("on")
    # WHEN it is switched off explicitly
    code, _, err = cli.run("project", "set-config", "demo", "--no-tracker-member-write-check")
    # THEN the API holds false, the rest of the rule stays, and show says any member's issue starts
    assert code == 0, err
    intake = cli.json("project", "show", "demo")["trackerIntake"]
    assert intake["memberWriteCheck"] is False and intake["labels"] == ["agent"]
    assert described(cli.run("project", "show", "demo")[1])["member check"].startswith("off")
    # AND it is switched back on the same way
    assert cli.run("project", "set-config", "demo", "--tracker-member-write-check")[0] == 0
    assert cli.json("project", "show", "demo")["trackerIntake"]["memberWriteCheck"] is True
