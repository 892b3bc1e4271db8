"""`preview` on the in-memory fakes: what it reads, what it reserves, when it refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fakes import MemoryStore
from test_poll import KEY, NOW, PagedTracker

from intake_dev.clock import FixedClock
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.errors import CredentialBusy
from tracker_intake.domain.preview import PreviewContext, preview
from tracker_intake.domain.records import Grant, Pace

RULE = ProjectConfig.model_validate({"trackerIntake": {"repo": "acme/app", "labels": ["agent"]}})


def context(store: MemoryStore, tracker: PagedTracker, *, per_minute: int | None = 100, cap: int = 3) -> PreviewContext:
    return PreviewContext(tracker, store, FixedClock(NOW), KEY, requests_per_minute=per_minute, page_cap=cap)


def test_a_preview_reserves_its_page_cap_in_the_minute_then_reads() -> None:
    # GIVEN a repository of 2 pages, the first 10 issues of each carrying the rule's label
    store, tracker = MemoryStore(), PagedTracker(2, eligible=10)
    # WHEN the rule is previewed with a cap of 3 pages
    result = preview(context(store, tracker), RULE)
    # THEN 3 points were reserved before it read its 2 pages, and it lists 20 of 200
    pace = store.get_pace(KEY)
    assert pace is not None and pace.grants == (Grant(NOW, 3, preview=True),)
    assert result.requests == tracker.requests == 2
    assert (len(result.eligible), len(result.skipped)) == (20, 180)
    assert [i.number for i in result.eligible][:2] == [1, 2]  # oldest first


def test_a_minute_without_room_refuses_before_any_request_and_says_when_it_frees() -> None:
    # GIVEN 98 of 100 points granted 20 s ago (a preview needs 3)
    store, tracker = MemoryStore(), PagedTracker(1)
    store.save_pace(Pace(KEY, (Grant(NOW - timedelta(seconds=20), 98),), None, 1))
    # WHEN previewed THEN refused, with the moment that grant leaves the minute, and GitHub untouched
    with pytest.raises(CredentialBusy) as busy:
        preview(context(store, tracker), RULE)
    assert busy.value.retry_at == NOW + timedelta(seconds=40)
    assert tracker.requests == 0


def test_a_tick_that_keeps_winning_the_minute_turns_the_preview_away() -> None:
    # GIVEN a pace that every write of the preview loses (a tick writes it each time)
    store, tracker = MemoryStore(), PagedTracker(1)
    store.save_pace = lambda pace: False  # type: ignore[method-assign]
    # WHEN previewed THEN it is refused after its attempts, GitHub untouched
    with pytest.raises(CredentialBusy, match="being granted"):
        preview(context(store, tracker), RULE)
    assert tracker.requests == 0


def test_a_secondary_limit_met_on_the_way_pauses_the_credential() -> None:
    # GIVEN GitHub's secondary limit on the first page
    store, tracker = MemoryStore(), PagedTracker(2, limited_at=1)
    # WHEN previewed THEN refused, and the credential is paused for the polls too
    with pytest.raises(CredentialBusy):
        preview(context(store, tracker), RULE)
    budget = store.get_budget(KEY)
    assert budget is not None and budget.paused_until == NOW + timedelta(seconds=90)


def test_without_a_budget_to_keep_nothing_is_reserved() -> None:
    store, tracker = MemoryStore(), PagedTracker(1, eligible=1)
    result = preview(context(store, tracker, per_minute=None), RULE)
    assert store.get_pace(KEY) is None and len(result.eligible) == 1
