"""The CLI tests' rig: the real API handler served on loopback (intake_dev.local_api), the CLI pointed at it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from api_support import Api

from intake_cli.main import main
from intake_dev.local_api import serve_api


class Served:
    """The API on 127.0.0.1 (a free port), and the CLI pointed at it."""

    def __init__(self, api: Api, capsys: pytest.CaptureFixture[str]) -> None:
        self.api = api
        self.capsys = capsys
        self.before_answer: Callable[[dict[str, Any]], None] = lambda event: None

        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            answer: dict[str, Any] = api.module.lambda_handler(event, context)
            self.before_answer(event)
            return answer

        self.server = serve_api(handler, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def run(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--api-url", self.url, *argv])
        out, err = self.capsys.readouterr()
        return code, out, err

    def child(self, *argv: str, **options: Any) -> subprocess.CompletedProcess[str]:
        """The CLI as a user runs it, in its own process, pointed at this API."""
        return intake("--api-url", self.url, *argv, **options)

    def json(self, *argv: str) -> Any:
        code, out, err = self.run(*argv, "--json")
        assert code == 0, err
        return json.loads(out)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def intake(
    *argv: str, env: dict[str, str] | None = None, stdout: int = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    """`intake ARGV` in a child process (stdin closed, stderr captured, stdout captured unless
    given), with `env` added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "intake_cli.main", *argv],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
        text=True,
        timeout=60,
        check=False,
    )


def into_closed_pipe(run: Callable[[int], subprocess.CompletedProcess[str]]) -> subprocess.CompletedProcess[str]:
    """`run` with its stdout a pipe whose reader has gone, as `| head -1` leaves it once head has
    read its line: every write fails with EPIPE (here from the first one, so it never races)."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return run(writer)
    finally:
        os.close(writer)


def described(out: str) -> dict[str, str]:
    """`project show` output as {label: value}."""
    pairs = (line.strip().split("  ", 1) for line in out.splitlines() if "  " in line.strip())
    return {label.strip(): value.strip() for label, value in pairs}
