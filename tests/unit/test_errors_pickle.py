"""Every domain error crosses a process boundary whole (the benchmark's worker pool pickles them)."""

from __future__ import annotations

import inspect
import pickle
from datetime import UTC, datetime
from typing import Any

import pytest

from tracker_intake.domain import errors
from tracker_intake.domain.errors import IntakeError

AT = datetime(2026, 12, 4, 9, 30, 15, tzinfo=UTC)
# A value for each parameter name an error's __init__ takes; a new name fails the test below
# until it is given one here, so no error class is left out of the round trip.
SAMPLES: dict[str, Any] = {
    "message": "said so",
    "field": "trackerIntake.repo",
    "reason": "not a repository",
    "project_id": "web-app",
    "expected": 3,
    "actual": 4,
    "reset_at": AT,
    "retry_at": AT,
    "retryable": True,
    "name": "ops",
    "projects": ["a", "b"],
    "item": "ISSUE#github:acme/app#7/ISSUE",
    "problem": "claimToken: Field required",
}


def _error_classes() -> list[type[IntakeError]]:
    found: list[type[IntakeError]] = []
    todo: list[type[IntakeError]] = [IntakeError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted({c for c in found if c.__module__ == errors.__name__}, key=lambda c: c.__name__)


def _build(cls: type[IntakeError]) -> IntakeError:
    params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
    if params and params[0].kind is inspect.Parameter.VAR_POSITIONAL:  # Exception's own __init__
        return cls("said so")
    positional = [SAMPLES[p.name] for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    keywords = {p.name: SAMPLES[p.name] for p in params if p.kind is p.KEYWORD_ONLY}
    return cls(*positional, **keywords)


def test_the_error_tree_is_found_whole() -> None:
    # GIVEN the module's error classes  THEN the walk found the ones that take arguments
    names = {c.__name__ for c in _error_classes()}
    assert {"PrimaryRateLimited", "SecondaryRateLimited", "ItemMalformed", "VersionConflict"} <= names
    assert len(names) >= 30


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_every_error_survives_a_pickle_round_trip(cls: type[IntakeError]) -> None:
    # GIVEN an error built as the code builds it
    error = _build(cls)
    # WHEN it is pickled and read back (as a process pool does)
    back = pickle.loads(pickle.dumps(error))
    # THEN it is the same class, says the same, and keeps every attribute
    assert type(back) is cls
    assert str(back) == str(error)
    assert back.args == error.args
    assert vars(back) == vars(error)
    assert back.kind == error.kind


def test_a_rate_limit_keeps_its_time_through_a_pickle() -> None:
    # GIVEN a secondary-limit error (its __init__ takes a time, not a message)
    error = errors.SecondaryRateLimited(AT)
    # WHEN it round-trips  THEN its retry time is a time still, and the message names it
    back = pickle.loads(pickle.dumps(error))
    assert isinstance(back, errors.SecondaryRateLimited)
    assert back.retry_at == AT
    assert "09:30:15" in str(back)
