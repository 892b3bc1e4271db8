"""The local stack keeps its state: a restart never launches a second session for an issue.

`intake local` runs as a user runs it, as a child process, stopped with `kill -9` and with Ctrl-C
(SIGINT), and started again on the same state directory.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.timeout(240)

STARTED = re.compile(r"session started for (github:\S+)")


class Run:
    """One `intake local` child process (`--offline` unless told otherwise), its terminal output
    collected as it comes."""

    def __init__(self, state: Path, log: Path, out: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.out = out
        self.handle = out.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "intake_cli.main",
                "local",
                *(args or ("--offline",)),
                "--port",
                "0",
                "--aws-port",
                "0",
                "--interval",
                "1",
                "--state-dir",
                str(state),
                "--log-file",
                str(log),
            ],
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
        )

    def text(self) -> str:
        return self.out.read_text()

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text())
            if found:
                return found
            assert self.process.poll() is None, self.text()
            time.sleep(0.2)
        raise AssertionError(f"{pattern!r} not seen:\n{self.text()}")

    def ticks(self) -> int:
        return len(re.findall(r"^tick \d+:", self.text(), re.M))

    def stop(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)
        self.process.wait(timeout=30)
        self.handle.close()

    def started(self) -> list[str]:
        return STARTED.findall(self.text())


def test_a_restart_after_kill_9_or_ctrl_c_never_launches_an_issue_twice(tmp_path: Path) -> None:
    state = tmp_path / "state"
    # GIVEN a local stack whose project turns the sample's issues into sessions
    first = Run(state, tmp_path / "1.log", tmp_path / "1.out")
    api = first.wait_for(r"config API on (http://127\.0\.0\.1:\d+)").group(1)
    created = requests.post(
        f"{api}/projects",
        json={
            "id": "widgets",
            "gitOrigin": "https://github.com/acme/widgets",
            "trackerIntake": {"enabled": True, "labels": ["agent"], "backlog": "all"},
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    first.wait_for(r"session started for github:")
    # WHEN it is killed with -9, started again, stopped with Ctrl-C, and started a third time,
    # each later run ticking at least three times
    first.stop(signal.SIGKILL)
    runs = [first]
    for stop in (signal.SIGINT, signal.SIGINT):
        run = Run(state, tmp_path / f"{len(runs) + 1}.log", tmp_path / f"{len(runs) + 1}.out")
        run.wait_for(r"\(restored\)")
        deadline = time.monotonic() + 60
        while run.ticks() < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert run.ticks() >= 3, run.text()
        run.stop(stop)
        runs.append(run)
    # THEN the first run started sessions, and no issue was launched a second time by any run
    launches = Counter(issue for run in runs for issue in run.started())
    assert runs[0].started(), runs[0].text()
    assert [issue for issue, n in launches.items() if n > 1] == []
    assert sum(len(run.started()) for run in runs[1:]) == 0, [run.text() for run in runs[1:]]
    # AND the later runs did poll the project (it outlived the restarts), so their silence is the
    # claims' doing, not an empty account's
    for run in runs[1:]:
        assert "1 project polled" in run.text(), run.text()
