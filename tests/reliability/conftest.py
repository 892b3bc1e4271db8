"""Fixtures of the reliability suite, and its closing summary (cases, faults, invariant checks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from reliability.backend import SessionBackend
from reliability.world import SUITE, WEBHOOK_SECRET, World

from intake_cli.fake_github import FakeGitHub


@pytest.fixture
def backend() -> Iterator[SessionBackend]:
    with SessionBackend(WEBHOOK_SECRET) as receiver:
        yield receiver


@pytest.fixture
def world(aws: dict[str, Any], github: FakeGitHub, backend: SessionBackend) -> World:
    return World(aws, github, backend)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not SUITE.cases:
        return
    write = terminalreporter.write_line
    terminalreporter.section("reliability suite")
    width = max(len(case) for case in SUITE.cases)
    write(f"{'case':<{width}}  faults  checks  ticks")
    for case in SUITE.cases:
        faults, checks, ticks = SUITE.per_case[case]
        write(f"{case:<{width}}  {faults:>6}  {checks:>6}  {ticks:>5}")
    write(
        f"reliability: {len(SUITE.cases)} cases run, {SUITE.faults} faults injected, "
        f"{SUITE.checks} invariant checks passed, {SUITE.failed_checks} failed"
    )
