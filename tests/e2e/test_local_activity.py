"""The activity log on the local stack: a tick's poll is listed by `intake project activity`, as the
dashboard reads it (`GET /projects/{id}/polls`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from intake_cli.main import main as intake
from intake_dev.local import LocalOptions, LocalStack, running


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    with running(LocalOptions(port=0, aws_port=0, offline=True, log_file=tmp_path / "local.log")) as local:
        yield local


def _cli(stack: LocalStack, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = intake(["--api-url", stack.api_url, *args])
    return code, capsys.readouterr().out


def test_a_ticks_poll_is_listed_by_intake_project_activity(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a project on the sample repository with intake on, ticked once, then once more at rest
    origin = f"https://github.com/{stack.sample.full_name}"
    assert _cli(stack, capsys, "project", "create", "widgets", "--git-origin", origin)[0] == 0
    switch_on = ("project", "set-config", "widgets", "--tracker-intake", "--tracker-label", "agent")
    assert _cli(stack, capsys, *switch_on, "--tracker-backlog", "all")[0] == 0
    first = stack.tick()
    stack.tick()
    # WHEN its activity is asked for
    code, out = _cli(stack, capsys, "project", "activity", "widgets", "--json")
    # THEN both polls are there, newest first: the second wrote the project's recent costs (a
    # change's next polls do), so it is recorded too, quiet; the first with the sessions it started
    assert code == 0
    second, first_poll = json.loads(out)
    assert (second["result"], second["notModified"], second["newSessions"]) == ("not_modified", 1, [])
    assert first_poll["result"] == "changed"
    assert sorted(first_poll["newSessions"]) == sorted(first.new_sessions)
    # AND the project says when the newest ran
    code, shown = _cli(stack, capsys, "project", "show", "widgets", "--json")
    assert json.loads(shown)["intake"]["checkedAt"] == second["at"]
