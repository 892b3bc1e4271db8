"""Fixtures of the security checks: the reliability world (real handlers, moto, stand-ins)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from reliability.backend import SessionBackend
from reliability.world import WEBHOOK_SECRET, World

from intake_dev.fake_github import FakeGitHub


@pytest.fixture
def world(aws: dict[str, Any], github: FakeGitHub) -> Iterator[World]:
    with SessionBackend(WEBHOOK_SECRET) as backend:
        yield World(aws, github, backend)
