"""poll_project on the in-memory fakes: the dispatcher's grant, the credential pause, the batch read."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta

from fakes import MemoryQueue, MemoryStore

from intake_dev.clock import FixedClock
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.errors import SecondaryRateLimited
from tracker_intake.domain.issue import Issue
from tracker_intake.domain.poll import PollContext, PollResult, poll_project
from tracker_intake.domain.tracker import DEFAULT_PAGE_CAP, CachedPage, IssueQuery, Page

KEY = "credential"
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


class PagedTracker:
    """A `Tracker` of N pages of 100 issues; a request is counted when the walk asks for a page."""

    def __init__(self, pages: int, *, eligible: int = 0, limited_at: int | None = None) -> None:
        self.pages_total = pages
        self.eligible = eligible  # the first `eligible` issues of each page carry the rule's label
        self.limited_at = limited_at
        self.requests = 0

    def pages(
        self, query: IssueQuery, cache: Mapping[str, CachedPage], page_cap: int = DEFAULT_PAGE_CAP
    ) -> Iterator[Page]:
        for index in range(1, min(self.pages_total, page_cap) + 1):
            self.requests += 1
            if self.limited_at == index:
                raise SecondaryRateLimited(NOW + timedelta(seconds=90))
            issues = tuple(
                Issue(
                    owner=query.owner,
                    repo=query.repo,
                    number=n,
                    title=f"issue {n}",
                    url=f"https://github.com/{query.owner}/{query.repo}/issues/{n}",
                    labels=("agent",) if (n - 1) % 100 < self.eligible else (),
                    created_at=NOW + timedelta(seconds=n),
                )
                for n in range((index - 1) * 100 + 1, index * 100 + 1)
            )
            yield Page(f"u{index}", index, True, issues, etag=f'"{index}"', item_count=100, continues=True)


def _poll(tracker: PagedTracker, *, cap: int = 100, max_requests: int | None = None) -> tuple[MemoryStore, object]:
    store = MemoryStore()
    config = {"trackerIntake": {"enabled": True, "labels": ["agent"], "repo": "acme/app", "maxSessionsPerPoll": cap}}
    store.create_project("app", ProjectConfig.model_validate(config), NOW)
    ctx = PollContext(store, store, store, MemoryQueue(FixedClock(NOW)), tracker, FixedClock(NOW), KEY, rng=lambda: 0.0)
    outcome = poll_project(ctx, "app", max_requests=max_requests)
    return store, outcome


def test_a_poll_makes_no_more_requests_than_its_grant_and_asks_for_one_more_next_time() -> None:
    # GIVEN a project of 5 pages and a grant of 2 requests
    tracker = PagedTracker(5)
    # WHEN it is polled
    store, _ = _poll(tracker, max_requests=2)
    # THEN it asked for 2 pages, and recorded that the next poll needs 3
    assert tracker.requests == 2
    assert store.get_project("app").poll.pages_read == 3


def test_without_a_grant_the_walk_goes_to_the_page_cap() -> None:
    # GIVEN a project of 12 pages and no grant (pacing off)
    tracker = PagedTracker(12)
    # WHEN it is polled THEN it stops at the page cap only
    _poll(tracker)
    assert tracker.requests == DEFAULT_PAGE_CAP


def test_a_secondary_limit_pauses_the_credential_and_is_not_the_projects_failure() -> None:
    # GIVEN GitHub answering the second page with a secondary limit
    tracker = PagedTracker(3, eligible=10, limited_at=2)
    # WHEN the project is polled
    store, outcome = _poll(tracker)
    # THEN the credential is paused for the hint, the project's health is untouched, and the
    # first page's work is kept
    assert outcome.result is PollResult.CREDENTIAL_PAUSED  # type: ignore[attr-defined]
    budget = store.get_budget(KEY)
    assert budget is not None and budget.paused_until == NOW + timedelta(seconds=90)
    state = store.get_project("app").poll
    assert state.consecutive_failures == 0 and state.backoff_until is None
    assert len(store.claims()) == 10


def test_a_paused_credential_makes_the_poll_ask_nothing() -> None:
    # GIVEN a credential paused for another minute
    tracker = PagedTracker(1)
    store = MemoryStore()
    store.pause(KEY, NOW + timedelta(minutes=1))
    config = {"trackerIntake": {"enabled": True, "labels": ["agent"], "repo": "acme/app"}}
    store.create_project("app", ProjectConfig.model_validate(config), NOW)
    ctx = PollContext(store, store, store, MemoryQueue(FixedClock(NOW)), tracker, FixedClock(NOW), KEY)
    # WHEN the project is polled
    outcome = poll_project(ctx, "app")
    # THEN nothing was asked of GitHub
    assert outcome.result is PollResult.CREDENTIAL_PAUSED and tracker.requests == 0


def test_a_changed_page_of_taken_issues_costs_one_batch_read_and_no_claim_write() -> None:
    # GIVEN a page of 100 issues, 50 eligible, all of those claimed and enqueued by an earlier poll
    tracker = PagedTracker(1, eligible=50)
    store, _ = _poll(tracker)
    project = store.get_project("app")
    store.forget_pages("app")  # the page answers 200 again
    store.ops.reset()
    ctx = PollContext(store, store, store, MemoryQueue(FixedClock(NOW)), tracker, FixedClock(NOW), KEY)
    # WHEN it is polled again
    outcome = poll_project(ctx, "app")
    # THEN it read the claims once, wrote none, and committed the page
    assert project.poll.pages_read == 1
    assert store.ops.count("get_claims") == 1
    assert store.ops.count("put_claim") == 0 and store.ops.count("get_claim") == 0
    assert store.ops.count("commit_page") == 1
    assert outcome.new_sessions == []  # type: ignore[attr-defined]
