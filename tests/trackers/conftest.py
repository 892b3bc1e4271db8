"""The `board` fixture: each contract test runs once per tracker (boards.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from boards import Board, GitHubBoard, JiraBoard, LinearBoard
from harness import Pipeline

from intake_dev.fake_github import FakeGitHub
from intake_dev.fake_jira import FakeJira
from intake_dev.fake_linear import FakeLinear


@pytest.fixture(params=["github", "linear", "jira"])
def board(request: pytest.FixtureRequest, aws: dict[str, Any], github: FakeGitHub) -> Iterator[Board]:
    """The contract's tracker: GitHub's stand-in, then Linear's, behind the same real handlers."""
    if request.param == "github":
        yield GitHubBoard(Pipeline(aws, github), github)
        return
    if request.param == "jira":
        with FakeJira() as jira:
            yield JiraBoard(Pipeline(aws, github, jira=jira), jira)
        return
    with FakeLinear() as linear:
        yield LinearBoard(Pipeline(aws, github, linear=linear), linear)
