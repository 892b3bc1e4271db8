"""Fixtures of the reliability suite, the secret search after every case, and the closing
summary (cases, faults injected, invariant checks passed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness import JIRA_TOKEN, LINEAR_KEY, TOKEN
from reliability.backend import SessionBackend
from reliability.world import SUITE, WEBHOOK_SECRET, World
from security.leaks import capturing_logs, leaks

from intake_dev.fake_github import FakeGitHub
from intake_dev.fake_jira import FakeJira
from intake_dev.fake_linear import FakeLinear
from intake_dev.functions import load_handler

SECRETS = {
    "GitHub token": TOKEN,
    "Linear key": LINEAR_KEY,
    "Jira API token": JIRA_TOKEN[1],
    "webhook secret": WEBHOOK_SECRET,
}


@pytest.fixture
def backend() -> Iterator[SessionBackend]:
    with SessionBackend(WEBHOOK_SECRET) as receiver:
        yield receiver


@pytest.fixture
def world(
    request: pytest.FixtureRequest, aws: dict[str, Any], github: FakeGitHub, backend: SessionBackend
) -> Iterator[World]:
    """The world of one tracker's column: `github` unless a test parametrizes it (indirectly) with
    `linear` or `jira`."""
    tracker = getattr(request, "param", "github")
    if tracker == "github":
        yield World(aws, github, backend)
        return
    if tracker == "jira":
        with FakeJira() as jira:
            yield World(aws, github, backend, jira=jira)
        return
    assert tracker == "linear", tracker
    with FakeLinear() as linear:
        yield World(aws, github, backend, linear=linear)


@pytest.fixture(autouse=True)
def no_secret_in_any_log_or_answer(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every case is also a leak check: its log records and answers must hold neither secret."""
    loggers = [load_handler(name).logger for name in ("poller", "dispatcher", "launcher")]
    world: World | None = request.getfixturevalue("world") if "world" in request.fixturenames else None
    with capturing_logs(*loggers) as sink:
        yield
    texts = list(sink.lines)
    if world is not None:
        texts += [repr(world.poll_results), repr(world.unexpected), repr(world.crashes), *world.bodies.values()]
    found = leaks(SECRETS, texts)
    SUITE.leak_searches += 1
    SUITE.lines_searched += len(texts)
    assert not found, found


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not SUITE.cases:
        return
    write = terminalreporter.write_line
    terminalreporter.section("reliability suite")
    width = max(len(case) for case in SUITE.cases)
    write(f"{'case':<{width}}  faults  checks  ticks  recovered within (ticks after the fault)")
    for case in SUITE.cases:
        faults, checks, ticks, bound = SUITE.per_case[case]
        write(f"{case:<{width}}  {faults:>6}  {checks:>6}  {ticks:>5}  {bound:>3}")
    write(
        f"reliability: {len(SUITE.cases)} cases run, {SUITE.faults} faults injected, "
        f"{SUITE.checks} invariant checks passed, {SUITE.failed_checks} failed; "
        f"{SUITE.lines_searched} log lines and answers searched for secrets after {SUITE.leak_searches} tests"
    )
