"""Shell completion of `intake` (argcomplete), asked the way bash asks it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

INTAKE = Path(sys.executable).with_name("intake")


def complete(line: str, tmp_path: Path) -> list[str]:
    """What `intake` offers for the command line typed so far (the cursor at its end)."""
    out = tmp_path / "completions"
    env = {
        **os.environ,
        "_ARGCOMPLETE": "1",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        "_ARGCOMPLETE_STDOUT_FILENAME": str(out),
    }
    subprocess.run([str(INTAKE)], env=env, check=True, timeout=60)
    return sorted(out.read_text().replace("\x0b", "\n").split())


@pytest.mark.parametrize(
    ("line", "offered"),
    [
        ("intake pro", ["project"]),
        (
            "intake project ",
            ["--help", "-h", "activity", "create", "delete", "list", "poll", "preview", "set-config", "show", "update"],
        ),
        ("intake project set-config demo --clear-tracker-a", ["--clear-tracker-assignee"]),
        ("intake preview --ex", ["--exclude-label", "--explain"]),
    ],
)
def test_the_shell_completes_commands_and_options(line: str, offered: list[str], tmp_path: Path) -> None:
    # GIVEN a partly typed command line
    # WHEN the shell asks for completions
    got = complete(line, tmp_path)
    # THEN the commands or options that fit are offered
    assert got == offered
