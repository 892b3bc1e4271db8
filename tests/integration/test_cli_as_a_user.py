"""`intake` run as a user runs it: its own process, its output to a pipe, the real API on loopback."""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from api_support import CLAIMED_AT, Api, claim
from cli_support import Served, intake, into_closed_pipe

from intake_dev.fake_github import FakeGitHub
from intake_dev.functions import quiet_handler_logs
from intake_dev.sample_repo import load_sample
from tracker_intake.domain.records import PollState

ORIGIN = "git@github.com:acme/app.git"
TOKEN = "ghp_PreviewSecret000111222333444555"
A_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
def cli(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> Iterator[Served]:
    served = Served(Api(aws), capsys)
    with quiet_handler_logs():
        yield served
    served.stop()


@pytest.fixture
def widgets(cli: Served) -> Served:
    """Project widgets, intake on for `agent` in acme/app, with one launched session (acme/app#42)."""
    assert cli.child("project", "create", "widgets", "--git-origin", ORIGIN).returncode == 0
    assert cli.child("project", "set-config", "widgets", "--tracker-intake", "--tracker-label", "agent").returncode == 0
    cli.api.store.put_claim(claim(project_id="widgets", number=42))
    return cli


# --- 1. a closed pipe ends the command quietly ------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("project", "show", "widgets"),
        ("sessions", "list", "widgets"),
        ("sessions", "list", "widgets", "--json"),
        ("project", "list", "--json"),
    ],
    ids=["project show", "sessions list", "sessions list --json", "project list --json"],
)
def test_output_into_a_closed_pipe_ends_with_141_and_nothing_on_stderr(widgets: Served, argv: tuple[str, ...]) -> None:
    # GIVEN a command whose reader has gone (`| head -1` once head has its line)
    # WHEN it writes
    ended = into_closed_pipe(lambda stdout: widgets.child(*argv, stdout=stdout))
    # THEN it ends as `cat` or `git` do (SIGPIPE's 128 + 13), with no traceback
    assert (ended.returncode, ended.stderr) == (141, "")


def test_preview_into_a_closed_pipe_ends_with_141_and_nothing_on_stderr(github: FakeGitHub) -> None:
    # GIVEN acme/widgets on the GitHub stand-in
    load_sample(github)
    # WHEN its preview is written to a pipe nobody reads
    argv = ("preview", "--github-url", github.base_url, "--repo", "acme/widgets", "--label", "agent")
    ended = into_closed_pipe(lambda stdout: intake(*argv, stdout=stdout, env={"GITHUB_TOKEN": TOKEN}))
    # THEN it ends quietly, as every command does, its token never shown
    assert (ended.returncode, ended.stderr) == (141, "")


# --- 2, 3. flags are spelled out, and a wrong one is refused by its own subcommand -------------


def test_an_abbreviated_flag_is_refused_and_changes_nothing(widgets: Served) -> None:
    # WHEN set-config is given the start of a flag's name
    ran = widgets.child("project", "set-config", "widgets", "--tracker-lab", "bug")
    # THEN it is refused, as a usage error, and the labels stay as they were
    assert ran.returncode == 2
    assert ran.stderr.splitlines()[-1] == "intake project set-config: error: unrecognized arguments: --tracker-lab bug"
    assert widgets.api.store.get_project("widgets").config.tracker_intake.labels == ["agent"]  # type: ignore[union-attr]


def test_an_unknown_flag_prints_the_subcommands_usage_and_one_error_line(widgets: Served) -> None:
    # WHEN set-config is given a flag it does not have
    ran = widgets.child("project", "set-config", "widgets", "--nope")
    # THEN exit 2, set-config's usage, and one line saying what is wrong
    assert ran.returncode == 2
    assert ran.stderr.startswith("usage: intake project set-config ")
    errors = [line for line in ran.stderr.splitlines() if "error" in line]
    assert errors == ["intake project set-config: error: unrecognized arguments: --nope"]


# --- 4. errors name the flags, and the commands, not the API's fields and routes ---------------


def test_a_refused_value_names_the_flag_that_set_it(widgets: Served) -> None:
    # WHEN the session cap is set to 0
    ran = widgets.child("project", "set-config", "widgets", "--max-sessions-per-poll", "0")
    # THEN one sentence names the flag, in words
    assert (ran.returncode, ran.stdout) == (1, "")
    assert ran.stderr == "intake: refused (HTTP 422): --max-sessions-per-poll must be at least 1\n"


def test_an_unregistered_credential_points_to_the_command_that_lists_them(widgets: Served) -> None:
    # WHEN set-config names a credential nobody registered
    ran = widgets.child("project", "set-config", "widgets", "--tracker-credential", "nobody")
    # THEN the sentence names the flag and the command, no API route
    assert ran.returncode == 1
    assert ran.stderr == (
        "intake: refused (HTTP 422): --tracker-credential: no credential named 'nobody' is registered; "
        "intake credentials list shows them\n"
    )


# --- 5. an issue id that is not canonical is refused, showing the canonical form ---------------


@pytest.mark.parametrize("command", ["show", "release"])
@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("acme/app#42", "github:acme/app#42"),
        ("https://github.com/acme/app/issues/42", "github:acme/app#42"),
        ("42", "github:owner/repo#number, linear:workspace/uuid or jira:site/id"),
    ],
)
def test_an_issue_id_that_is_not_canonical_is_refused_showing_its_canonical_form(
    widgets: Served, command: str, given: str, meant: str
) -> None:
    # WHEN a session is named as people often write an issue
    ran = widgets.child("sessions", command, "widgets", given)
    # THEN a usage error shows the shape intake expects; nothing else is printed, nothing released
    assert (ran.returncode, ran.stdout) == (2, "")
    assert ran.stderr == f"intake: error: ISSUE_ID {given!r} is not a canonical issue id: write it as {meant}\n"
    assert widgets.api.store.get_claim("github:acme/app#42").status == "launched"  # type: ignore[union-attr]


# --- 6. a URL that is not the intake API says so -----------------------------------------------


@pytest.fixture
def another_server(tmp_path: Path) -> Iterator[str]:
    """An HTTP server on loopback that is not the API: it serves an empty folder (404 for all)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("argv", "status"),
    [(("project", "list"), 404), (("project", "create", "widgets"), 501)],
    ids=["a 404 to a read", "an HTML refusal of a write"],
)
def test_a_url_that_is_not_the_api_says_so_and_exits_3(another_server: str, argv: tuple[str, ...], status: int) -> None:
    # WHEN the CLI is pointed at another server (which answers a POST with an HTML 501)
    ran = intake("--api-url", another_server, *argv)
    # THEN it says the URL is not the intake API, where it looked, and which flag to check
    assert ran.returncode == 3
    said = f"this is not the tracker intake API (HTTP {status} at /projects; check --api-url)"
    assert ran.stderr == f"intake: error: {another_server}: {said}\n"


# --- 7. one timestamp format ------------------------------------------------------------------


def test_every_time_the_cli_prints_is_iso_8601_utc_to_the_second(widgets: Served) -> None:
    # GIVEN widgets in backoff, with a launched session
    poll = PollState(backoff_until=CLAIMED_AT + timedelta(days=1), consecutive_failures=1, last_error="x")
    widgets.api.store.save_poll_state("widgets", poll)
    # WHEN the project, the sessions and one session are shown
    shown = widgets.child("project", "show", "widgets").stdout
    listed = widgets.child("sessions", "list", "widgets").stdout
    one = widgets.child("sessions", "show", "widgets", "github:acme/app#42").stdout
    # THEN each time reads 2026-12-04T18:15:42Z, and nothing looks like a time in another format
    backoff = next(line for line in shown.splitlines() if "backoff until" in line)
    claimed = next(line for line in one.splitlines() if line.startswith("claimed"))
    assert A_TIME.search(backoff) and A_TIME.search(claimed)
    assert listed.splitlines()[1].endswith(" 2026-11-24T12:00:00Z")
    for out in (shown, listed, one):
        assert not re.search(r"\d\d:\d\d(?!:\d\dZ)(?::\d\d)?(?!Z)", A_TIME.sub("", out)), out


# --- 8. sessions list fits the terminal -------------------------------------------------------

LONG_TITLE = "Support widget names in every script people type, right to left included, and emoji " * 2


@pytest.mark.parametrize("columns", [60, 80, 120, 140])
def test_sessions_list_cuts_titles_to_fit_the_terminal(widgets: Served, columns: int) -> None:
    # GIVEN a session with a 170-character title
    long = claim(project_id="widgets", number=7)
    widgets.api.store.put_claim(replace(long, issue=replace(long.issue, title=LONG_TITLE)))
    # WHEN the sessions are listed on a terminal of COLUMNS columns
    listed = widgets.child("sessions", "list", "widgets", env={"COLUMNS": str(columns)}).stdout
    # THEN every line fits, the long title ends in an ellipsis, and --json keeps it whole
    assert max(len(line) for line in listed.splitlines()) <= columns
    (row,) = [line for line in listed.splitlines() if line.startswith("github:acme/app#7 ")]
    assert "Support widget" in row and "…" in row
    as_json = json.loads(widgets.child("sessions", "list", "widgets", "--json").stdout)
    assert LONG_TITLE in [s["title"] for s in as_json]


def test_into_a_pipe_every_column_stays_and_titles_are_cut_as_before(
    widgets: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a session with a long title, and no terminal width asked for
    monkeypatch.delenv("COLUMNS", raising=False)
    long = claim(project_id="widgets", number=7)
    widgets.api.store.put_claim(replace(long, issue=replace(long.issue, title=LONG_TITLE)))
    # WHEN the sessions are listed into a pipe (a script reads them)
    listed = widgets.child("sessions", "list", "widgets").stdout
    # THEN every column is there, and the title keeps its first 47 columns, then an ellipsis
    header = listed.splitlines()[0].split()
    assert header[:2] == ["ISSUE", "STATUS"] and "PR" in header and header[-1] == "CLAIMED"
    (row,) = [line for line in listed.splitlines() if line.startswith("github:acme/app#7 ")]
    assert LONG_TITLE[:47] + "…" in row


# --- 11. a git origin intake cannot poll is refused when the project is created ----------------


@pytest.mark.parametrize(
    "origin", ["https://gitlab.com/acme/widgets", "https://github.com/acme/..", "git@github.com:acme/wid..gets.git"]
)
def test_create_refuses_a_git_origin_intake_cannot_derive_a_repo_from(cli: Served, origin: str) -> None:
    # WHEN a project is created with an origin that is not a GitHub repository's
    ran = cli.child("project", "create", "widgets", "--git-origin", origin)
    # THEN it is refused then and there, naming the flag, and no project is created
    assert (ran.returncode, ran.stdout) == (1, "")
    assert ran.stderr.startswith("intake: refused (HTTP 422): --git-origin: cannot derive repo")
    assert cli.child("project", "list", "--json").stdout.strip() == "[]"


def test_set_config_that_changes_nothing_says_so_and_keeps_the_version(widgets: Served) -> None:
    # GIVEN widgets on label agent, at some version
    before = json.loads(widgets.child("project", "show", "widgets", "--json").stdout)["version"]
    # WHEN the same rule is set again
    ran = widgets.child("project", "set-config", "widgets", "--tracker-intake", "--tracker-label", "agent")
    # THEN it says nothing changed, at the same version, and the API wrote nothing
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[0] == f"project widgets unchanged (version {before}): it already reads so"
    assert json.loads(widgets.child("project", "show", "widgets", "--json").stdout)["version"] == before
