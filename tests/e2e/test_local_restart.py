"""The local stack keeps its state: a restart never launches a second session for an issue,
delivers at once what the stopped process held in flight, and one state directory serves one stack.

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
from urllib.parse import quote

import pytest
import requests

pytestmark = pytest.mark.timeout(240)

STARTED = re.compile(r"session started for (github:\S+)")
DUPLICATE = re.compile(r"duplicate delivery of (github:\S+): already launched, no new session")


def command(state: Path, log: Path, *args: str) -> list[str]:
    """`intake local` as a user types it (`--offline` unless told otherwise), on any free ports."""
    return [
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
    ]


class Run:
    """One `intake local` child process (`--offline` unless told otherwise), its terminal output
    collected as it comes."""

    def __init__(self, state: Path, log: Path, out: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.out = out
        self.handle = out.open("w")
        self.process = subprocess.Popen(
            command(state, log, *args),
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

    def api(self) -> str:
        return self.wait_for(r"config API on (http://127\.0\.0\.1:\d+)").group(1)

    def wait_for_ticks(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.ticks() < count and time.monotonic() < deadline:
            assert self.process.poll() is None, self.text()
            time.sleep(0.2)
        assert self.ticks() >= count, self.text()


def create_widgets(api: str) -> None:
    """The sample's project, its open `agent` issues all turned into sessions (backlog all)."""
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


def launched_then_killed(tmp_path: Path, state: Path) -> Run:
    """A first run that launched the sample's sessions, then was killed with -9."""
    first = Run(state, tmp_path / "1.log", tmp_path / "1.out")
    create_widgets(first.api())
    first.wait_for(r"session started for github:")
    first.wait_for_ticks(first.ticks() + 1)  # the whole batch said
    first.stop(signal.SIGKILL)
    return first


def test_a_restart_after_kill_9_or_ctrl_c_never_launches_an_issue_twice(tmp_path: Path) -> None:
    state = tmp_path / "state"
    # GIVEN a local stack whose project turns the sample's issues into sessions
    first = Run(state, tmp_path / "1.log", tmp_path / "1.out")
    create_widgets(first.api())
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


def test_after_a_restart_a_released_issue_is_launched_again_within_three_ticks(tmp_path: Path) -> None:
    state = tmp_path / "state"
    # GIVEN a stack that launched the sample's sessions, killed with -9 and started again
    first = launched_then_killed(tmp_path, state)
    assert "github:acme/widgets#1" in first.started(), first.text()
    second = Run(state, tmp_path / "2.log", tmp_path / "2.out")
    api = second.api()
    second.wait_for_ticks(1)
    # WHEN github:acme/widgets#1 is released
    at_release = second.ticks()
    encoded = quote("github:acme/widgets#1", safe="")
    released = requests.delete(f"{api}/projects/widgets/sessions/{encoded}", timeout=10)
    assert released.status_code == 200, released.text
    # THEN it is launched again within three ticks (not after the old run's in-flight requests'
    # 180 s visibility timeout, which held back the project's queue), exactly once
    second.wait_for(r"session started for github:acme/widgets#1\b")
    text = second.text()
    said_at = len(re.findall(r"^tick \d+:", text[: text.index("session started for github:acme/widgets#1")], re.M))
    assert said_at - at_release <= 3, text
    assert second.started() == ["github:acme/widgets#1"], text
    second.stop(signal.SIGINT)


def test_after_a_restart_a_duplicate_delivery_is_said_as_one_never_as_a_session_started(tmp_path: Path) -> None:
    state = tmp_path / "state"
    # GIVEN a stack that launched the sample's sessions, killed with -9
    first = launched_then_killed(tmp_path, state)
    launched = sorted(first.started())
    # WHEN it starts again and the requests it held are delivered again
    second = Run(state, tmp_path / "2.log", tmp_path / "2.out")
    deadline = time.monotonic() + 60
    while len(DUPLICATE.findall(second.text())) < len(launched) and time.monotonic() < deadline:
        assert second.process.poll() is None, second.text()
        time.sleep(0.2)
    second.wait_for_ticks(second.ticks() + 1)
    second.stop(signal.SIGINT)
    # THEN each is said as a duplicate of the launch the first run made, once, and no session is
    # said to have started
    text = second.text()
    assert sorted(DUPLICATE.findall(text)) == launched, text
    assert second.started() == [], text


@pytest.mark.parametrize("extra", [(), ("--fresh",)], ids=["kept", "fresh"])
def test_a_second_stack_on_a_state_directory_in_use_is_refused_in_one_sentence_writing_nothing(
    tmp_path: Path, extra: tuple[str, ...]
) -> None:
    state = tmp_path / "state"
    # GIVEN a running stack on a state directory, its env-vars file for `sam local invoke` written
    first = Run(state, tmp_path / "1.log", tmp_path / "1.out")
    first.wait_for_ticks(1)
    sam_env = (tmp_path / "sam-env.json").read_text()
    recorded = (state / "moto-recording.jsonl").stat().st_size
    # WHEN a second one is started on the same state directory (with --fresh, or not)
    second = subprocess.run(
        command(state, tmp_path / "2.log", "--offline", *extra),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        # THEN it is refused in one sentence naming the holder's pid and command line, exit 1
        assert second.returncode == 1, second.stdout + second.stderr
        lines = second.stdout.splitlines()
        assert len(lines) == 1, second.stdout
        holder = f"process {first.process.pid} (intake local "
        assert lines[0].startswith(f"intake local: {state} is in use by {holder}"), lines
        assert lines[0].endswith("; stop it, or choose another --state-dir"), lines
        # AND it wrote nothing: not the env-vars file, not its log, not the kept state
        assert (tmp_path / "sam-env.json").read_text() == sam_env
        assert not (tmp_path / "2.log").exists()
        assert (state / "moto-recording.jsonl").stat().st_size >= recorded
        assert first.process.poll() is None, first.text()
    finally:
        first.stop(signal.SIGINT)


def test_a_lock_left_by_a_stack_killed_with_9_is_taken_over_and_said_so(tmp_path: Path) -> None:
    state = tmp_path / "state"
    # GIVEN a stack killed with -9, its lock on the state directory left behind
    first = Run(state, tmp_path / "1.log", tmp_path / "1.out")
    first.wait_for_ticks(1)
    first.stop(signal.SIGKILL)
    # WHEN a stack is started on the same directory
    second = Run(state, tmp_path / "2.log", tmp_path / "2.out")
    # THEN it says once that it took the lock over from the killed process, and runs
    second.wait_for(rf"took over {re.escape(str(state))} from process {first.process.pid} \(intake local ")
    second.wait_for_ticks(1)
    second.stop(signal.SIGINT)
    assert second.text().count("took over") == 1, second.text()
    # AND a clean stop leaves no lock to take over
    third = Run(state, tmp_path / "3.log", tmp_path / "3.out")
    third.wait_for_ticks(1)
    third.stop(signal.SIGINT)
    assert "took over" not in third.text(), third.text()


def test_a_second_stack_on_another_state_dir_leaves_the_first_stacks_sam_env_alone(tmp_path: Path) -> None:
    # GIVEN a stack running, its sam-env.json beside its --log-file
    log = tmp_path / "logs" / "intake-local.log"
    first = Run(tmp_path / "state", log, tmp_path / "1.out", "--offline")
    first.api()
    sam_env = log.parent / "sam-env.json"
    before = sam_env.read_text()
    # WHEN a second stack starts, as the refusal advises, on another --state-dir, same --log-file
    second = Run(tmp_path / "other", log, tmp_path / "2.out", "--offline")
    second.api()
    after = sam_env.read_text()
    second.stop(signal.SIGINT)
    first.stop(signal.SIGINT)
    # THEN the first stack's sam-env.json is as it wrote it, and the second says why it wrote none
    assert after == before
    assert "belongs to process" in second.text() and "not written" in second.text()
