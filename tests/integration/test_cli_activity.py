"""`intake project activity ID`: a project's recent polls as a table, against the real API handler
served on loopback (intake_dev.local_api)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from api_support import CLAIMED_AT, Api
from cli_support import Served, described

from intake_dev.functions import quiet_handler_logs
from tracker_intake.domain.records import PollEntry, PollResult, PollState


@pytest.fixture
def cli(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> Iterator[Served]:
    served = Served(Api(aws), capsys)
    # The handler's JSON logs go to stdout, as in Lambda; here they would mix with the CLI's output.
    with quiet_handler_logs():
        yield served
    served.stop()


def _polled(cli: Served) -> None:
    """demo: a quiet poll, one that started a session, then one that failed and backed off."""
    cli.run("project", "create", "demo")
    store = cli.api.store
    store.record_poll("demo", PollEntry(CLAIMED_AT, PollResult.NOT_MODIFIED, requests=1, pages=1, not_modified=1))
    store.record_poll(
        "demo",
        PollEntry(
            CLAIMED_AT + timedelta(minutes=1),
            PollResult.CHANGED,
            requests=1,
            pages=1,
            new_sessions=("github:acme/app#42",),
        ),
    )
    store.record_poll(
        "demo",
        PollEntry(
            CLAIMED_AT + timedelta(minutes=2),
            PollResult.FAILED,
            requests=1,
            pages=1,
            error_kind="tracker_unavailable",
            error="GitHub answered 502",
            backoff_until=CLAIMED_AT + timedelta(minutes=3),
        ),
    )


def test_activity_lists_the_recent_polls_newest_first_as_a_table(cli: Served) -> None:
    # GIVEN demo polled three times
    _polled(cli)
    # WHEN its activity is asked for
    code, out, err = cli.run("project", "activity", "demo")
    # THEN a table: the failure first, with its error and backoff; then the new session; then the quiet poll
    assert (code, err) == (0, "")
    header, failed, changed, quiet = out.splitlines()
    assert header.split() == ["AT", "RESULT", "REQUESTS", "PAGES", "NOT", "MODIFIED", "NEW", "SESSIONS", "ERROR"]
    assert failed.startswith("2026-11-24T12:02:00Z  failed")
    assert "tracker_unavailable: GitHub answered 502; until 2026-11-24T12:03:00Z" in failed
    assert changed.startswith("2026-11-24T12:01:00Z  changed") and "github:acme/app#42" in changed
    assert quiet.split()[:5] == ["2026-11-24T12:00:00Z", "quiet", "1", "1", "1"]


def test_activity_limit_shows_the_newest_polls_only(cli: Served) -> None:
    # GIVEN demo polled three times WHEN the newest one is asked for THEN only it, the failure
    _polled(cli)
    code, out, _ = cli.run("project", "activity", "demo", "--limit", "1")
    assert code == 0
    assert len(out.splitlines()) == 2 and "failed" in out


def test_activity_json_is_the_apis_items(cli: Served) -> None:
    # GIVEN demo polled three times WHEN its activity is asked for as JSON THEN the API's items
    _polled(cli)
    polls = cli.json("project", "activity", "demo")
    assert [p["result"] for p in polls] == ["failed", "changed", "not_modified"]
    assert polls[1]["newSessions"] == ["github:acme/app#42"]
    json.dumps(polls)


def test_activity_before_any_poll_says_so(cli: Served) -> None:
    # GIVEN demo never polled WHEN its activity is asked for THEN one line says none is recorded yet
    cli.run("project", "create", "demo")
    code, out, _ = cli.run("project", "activity", "demo")
    assert code == 0
    assert out == "demo: no poll recorded yet (the first poll records itself)\n"


def test_activity_of_an_unknown_project_says_so_in_one_sentence_and_exits_1(cli: Served) -> None:
    # GIVEN no project nope WHEN its activity is asked for
    code, out, err = cli.run("project", "activity", "nope")
    # THEN exit 1, the sentence first on stderr (then the field at fault), no traceback
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == "intake: refused (HTTP 404): project 'nope' does not exist"
    assert "Traceback" not in err


def test_project_show_says_when_the_last_poll_was_recorded(cli: Served) -> None:
    # GIVEN demo whose last recorded poll ran at noon
    cli.run("project", "create", "demo")
    cli.api.store.save_poll_state("demo", PollState(pages_read=1, checked_at=CLAIMED_AT))
    # WHEN it is shown THEN "last poll" says when
    assert described(cli.run("project", "show", "demo")[1])["last poll"] == "2026-11-24T12:00:00Z"
