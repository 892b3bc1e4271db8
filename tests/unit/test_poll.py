"""poll_project on the in-memory fakes, in milliseconds: grant, pause, batch read, cap, commit, claims."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fakes import MemoryQueue, MemoryStore

from intake_dev.clock import FixedClock
from tracker_intake.domain import changes
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.errors import (
    AuthFailed,
    IntakeError,
    RepoNotFound,
    SecondaryRateLimited,
    TrackerUnavailable,
)
from tracker_intake.domain.issue import Issue
from tracker_intake.domain.poll import PollContext, PollResult, poll_project
from tracker_intake.domain.ports import Resolved
from tracker_intake.domain.records import PRIMARY_COST_HISTORY, Installation, ProjectRecord, TokenBudget
from tracker_intake.domain.tracker import DEFAULT_PAGE_CAP, CachedPage, IssueQuery, Page, RateLimit, Retries

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
        self,
        query: IssueQuery,
        cache: Mapping[str, CachedPage],
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
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
                    author_association="COLLABORATOR",  # may write: no member's check
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


# --- the claim protocol, the cap, the ETag commit rule, backoff ----------------------------------


def _context(store: MemoryStore, tracker: PagedTracker, clock: FixedClock) -> PollContext:
    return PollContext(store, store, store, MemoryQueue(clock), tracker, clock, KEY, rng=lambda: 0.0)


def _project(store: MemoryStore, cap: int = 100) -> None:
    config = {"trackerIntake": {"enabled": True, "labels": ["agent"], "repo": "acme/app", "maxSessionsPerPoll": cap}}
    store.create_project("app", ProjectConfig.model_validate(config), NOW)


class OnePage(PagedTracker):
    """One page of `eligible` issues that answers 304 to the ETag it gave."""

    def pages(
        self,
        query: IssueQuery,
        cache: Mapping[str, CachedPage],
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
    ) -> Iterator[Page]:
        cached = cache.get("u1")
        if cached is not None and cached.etag == '"1"':
            self.requests += 1
            yield Page("u1", 1, False, etag='"1"', item_count=cached.item_count)
            return
        yield from super().pages(query, cache, page_cap)


def test_the_cap_holds_issues_back_and_the_page_is_committed_only_once_all_are_enqueued() -> None:
    # GIVEN a page of 25 eligible issues and a cap of 10
    store, clock = MemoryStore(), FixedClock(NOW)
    _project(store, cap=10)
    ctx = _context(store, OnePage(1, eligible=25), clock)
    # WHEN it is polled three times
    outcomes = [poll_project(ctx, "app") for _ in range(3)]
    # THEN 10, 10 and 5 issues are enqueued, oldest first, and the page's ETag is committed only
    # by the poll that finished it
    assert [len(o.new_sessions) for o in outcomes] == [10, 10, 5]
    assert outcomes[0].new_sessions[0] == "github:acme/app#1" and outcomes[0].held_back == 15
    assert store.ops.count("commit_page") == 1
    # AND the next polls are 304s, which write only the project's recent costs until they are
    # all zeros, and the one after that writes nothing
    store.ops.reset()
    for _ in range(PRIMARY_COST_HISTORY):
        assert poll_project(ctx, "app").result is PollResult.NOT_MODIFIED
    assert set(store.ops.calls) == {"load_for_poll", "get_budget", "save_poll_state"}
    store.ops.reset()
    assert poll_project(ctx, "app").result is PollResult.NOT_MODIFIED
    assert store.ops.writes == 0


def test_a_released_claim_is_taken_again_as_a_new_generation() -> None:
    # GIVEN an issue that became a session, then was released through the API
    store, clock = MemoryStore(), FixedClock(NOW)
    _project(store)
    ctx = _context(store, OnePage(1, eligible=1), clock)
    poll_project(ctx, "app")
    changes.release_claim(store, store, "app", "github:acme/app#1", clock.now())
    # WHEN the project is polled again
    outcome = poll_project(ctx, "app")
    # THEN the issue is enqueued again, as generation 2 (a new dedup id and Idempotency-Key)
    assert outcome.new_sessions == ["github:acme/app#1"]
    claim = store.get_claim("github:acme/app#1")
    assert claim is not None and claim.generation == 2


def test_a_claim_left_by_a_dead_poller_is_taken_over_once_stale_and_not_before() -> None:
    # GIVEN a claim left `claimed` by a poller that died before sending
    store, clock = MemoryStore(), FixedClock(NOW)
    _project(store)
    ctx = _context(store, OnePage(1, eligible=1), clock)
    store.fail("mark_enqueued", RuntimeError("the poller died"))
    with pytest.raises(RuntimeError):
        poll_project(ctx, "app")
    # WHEN the next poll comes at once, and another 60 s later
    early = poll_project(ctx, "app")
    clock.advance(60)
    later = poll_project(ctx, "app")
    # THEN the first leaves the live-looking claim alone; the second recovers it
    assert early.new_sessions == [] and early.claims_recovered == 0
    assert later.new_sessions == ["github:acme/app#1"] and later.claims_recovered == 1


def test_a_github_failure_backs_the_project_off_and_a_success_resets_it() -> None:
    # GIVEN GitHub failing the project's first page once
    store, clock = MemoryStore(), FixedClock(NOW)
    _project(store)
    tracker = OnePage(1, eligible=1)
    failing = FailingOnce(tracker)
    ctx = _context(store, failing, clock)  # type: ignore[arg-type]
    # WHEN it is polled, and again after the backoff
    failed = poll_project(ctx, "app")
    state = store.get_project("app").poll
    clock.advance(6 * 60)
    recovered = poll_project(ctx, "app")
    # THEN the failure (a 502: transient) backed it off until the next tick (45 s) and counted;
    # the success cleared both
    assert failed.result is PollResult.FAILED and state.consecutive_failures == 1
    assert state.backoff_until == NOW + timedelta(seconds=45) and state.transient
    assert failed.transient
    assert recovered.result is PollResult.CHANGED
    assert store.get_project("app").poll.consecutive_failures == 0


class FailingOnce:
    def __init__(self, inner: PagedTracker) -> None:
        self.inner = inner
        self.failed = False

    def pages(
        self,
        query: IssueQuery,
        cache: Mapping[str, CachedPage],
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
    ) -> Iterator[Page]:
        if not self.failed:
            self.failed = True
            raise TrackerUnavailable("GitHub is unavailable (502)")
        yield from self.inner.pages(query, cache, page_cap, retries)


class Refusing:
    """A `Tracker` whose every walk fails with `error`."""

    def __init__(self, error: IntakeError) -> None:
        self.error = error

    def pages(
        self,
        query: IssueQuery,
        cache: Mapping[str, CachedPage],
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
    ) -> Iterator[Page]:
        raise self.error
        yield  # a generator, as GitHub's tracker is


class OnInstallation:
    """`Credentials` putting every project on one app installation; notes what it is told to forget."""

    def __init__(self, tracker: Refusing) -> None:
        self.tracker = tracker
        self.forgotten: list[str] = []

    def for_project(self, record: ProjectRecord, *, remember: bool = True) -> Resolved:
        return Resolved("bot-app", "app-1-11", self.tracker)  # type: ignore[arg-type]

    def key_for(self, record: ProjectRecord) -> str:
        return "app-1-11"

    def forget_installation(self, record: ProjectRecord) -> None:
        self.forgotten.append(record.project_id)


@pytest.mark.parametrize(
    ("error", "forgotten"),
    [
        (RepoNotFound("repository acme/app not found or not visible to this token (404)"), ["app"]),
        (AuthFailed("the GitHub App 1 has no installation 11 (was it uninstalled?)"), ["app"]),
        (TrackerUnavailable("GitHub is unavailable (502)"), []),
    ],
    ids=["hidden-404", "refused", "unavailable"],
)
def test_an_installation_that_cannot_see_the_repository_is_forgotten_and_the_project_backs_off(
    error: IntakeError, forgotten: list[str]
) -> None:
    # GIVEN a project whose app installation is cached on it, and GitHub failing its walk
    store, clock = MemoryStore(), FixedClock(NOW)
    _project(store)
    store.set_installation("app", Installation("1", 11))
    credentials = OnInstallation(Refusing(error))
    ctx = replace(_context(store, PagedTracker(1), clock), credentials=credentials)
    # WHEN it is polled
    outcome = poll_project(ctx, "app")
    # THEN it backs off saying why, and the installation is forgotten only when it may be the cause
    assert outcome.result is PollResult.FAILED
    assert store.get_project("app").poll.last_error == f"{error.kind}: {error}"
    assert credentials.forgotten == forgotten


# --- a transient failure is cheap: retries within the grant, a short backoff ---------------------


class Blipping:
    """A `Tracker` of one page whose first `failures` requests fail in passing (a 502), asking the
    poll's `Retries` as GitHub's tracker does; the rate-limit headers of its 200 are `rate`."""

    def __init__(self, failures: int, *, retryable: bool = True, rate: RateLimit | None = None) -> None:
        self.failures = failures
        self.retryable = retryable
        self.rate = rate or RateLimit()
        self.requests = 0

    def pages(
        self,
        query: IssueQuery,
        cache: Mapping[str, CachedPage],
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
    ) -> Iterator[Page]:
        attempt = 1
        while True:
            self.requests += 1
            if self.requests > self.failures:
                break
            error = TrackerUnavailable("GitHub is unavailable (502)", retryable=self.retryable)
            if not (self.retryable and retries is not None and retries.allow(error, attempt)):
                raise error
            attempt += 1
        yield Page("u1", 1, True, (), etag='"1"', item_count=0, rate=self.rate)


def _blip_context(store: MemoryStore, tracker: Blipping, clock: FixedClock, slept: list[float]) -> PollContext:
    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    return PollContext(store, store, store, MemoryQueue(clock), tracker, clock, KEY, rng=lambda: 0.5, sleep=sleep)


def test_a_blip_is_retried_within_the_poll_after_a_pause_of_one_to_two_seconds() -> None:
    # GIVEN GitHub failing the page twice in passing, and a grant of one page and two retries
    store, clock = MemoryStore(), FixedClock(NOW)
    slept: list[float] = []
    _project(store)
    tracker = Blipping(2)
    # WHEN the project is polled
    outcome = poll_project(_blip_context(store, tracker, clock, slept), "app", max_requests=1, max_retries=2)
    # THEN the third request succeeded, after two jittered pauses, and the project is healthy
    assert outcome.result is PollResult.CHANGED and outcome.retries == 2 and outcome.requests == 3
    assert slept == [1.5, 1.5] and tracker.requests == 3
    assert store.get_project("app").poll.consecutive_failures == 0


def test_retries_stop_at_two_and_the_project_backs_off_until_the_next_tick() -> None:
    # GIVEN GitHub failing three times in a row, and a grant of more retries than a poll makes
    store, clock = MemoryStore(), FixedClock(NOW)
    slept: list[float] = []
    _project(store)
    tracker = Blipping(3)
    # WHEN the project is polled
    outcome = poll_project(_blip_context(store, tracker, clock, slept), "app", max_requests=10, max_retries=5)
    # THEN it tried three times in all, then backed off a minute (at most), as a transient failure
    assert outcome.result is PollResult.FAILED and tracker.requests == 3 and outcome.transient
    state = store.get_project("app").poll
    assert state.transient and state.backoff_until is not None
    assert state.backoff_until - clock.now() <= timedelta(minutes=1)


def test_a_retry_never_exceeds_the_grant() -> None:
    # GIVEN a grant of one request and no retry (a full minute: nothing spare)
    store, clock = MemoryStore(), FixedClock(NOW)
    slept: list[float] = []
    _project(store)
    tracker = Blipping(1)
    # WHEN the only request fails in passing
    outcome = poll_project(_blip_context(store, tracker, clock, slept), "app", max_requests=1, max_retries=0)
    # THEN it is not sent again: the project backs off until the next tick instead
    assert tracker.requests == 1 and slept == [] and outcome.result is PollResult.FAILED


def test_a_grant_without_retries_allows_none() -> None:
    # GIVEN a grant that says nothing of retries (an older dispatcher's event)
    store, clock = MemoryStore(), FixedClock(NOW)
    _project(store)
    tracker = Blipping(1)
    # WHEN the request fails in passing  THEN it is not sent again
    outcome = poll_project(_blip_context(store, tracker, clock, []), "app", max_requests=5)
    assert tracker.requests == 1 and outcome.result is PollResult.FAILED


def test_a_503_that_says_when_is_not_retried_sooner_and_backs_off_until_then() -> None:
    # GIVEN GitHub answering 503 with retry-after two minutes
    store, clock = MemoryStore(), FixedClock(NOW)
    _project(store)
    hint = NOW + timedelta(minutes=2)

    class SaysWhen(Blipping):
        def pages(
            self,
            query: IssueQuery,
            cache: Mapping[str, CachedPage],
            page_cap: int = DEFAULT_PAGE_CAP,
            retries: Retries | None = None,
        ) -> Iterator[Page]:
            self.requests += 1
            error = TrackerUnavailable("GitHub is unavailable (503)", retryable=True, retry_at=hint)
            if retries is not None and retries.allow(error, 1):
                raise AssertionError("retried before the server's time")
            raise error
            yield  # a generator, as GitHub's tracker is

    # WHEN the project is polled with retries to spare
    outcome = poll_project(_blip_context(store, SaysWhen(1), clock, []), "app", max_requests=1, max_retries=2)
    # THEN it backs off until the hint, not the next tick
    assert outcome.result is PollResult.FAILED
    assert store.get_project("app").poll.backoff_until == hint


def test_a_retry_never_runs_past_the_deadline() -> None:
    # GIVEN a poll with 10 seconds left before its deadline (a retry needs its pause and a timeout)
    store, clock = MemoryStore(), FixedClock(NOW)
    slept: list[float] = []
    _project(store)
    tracker = Blipping(1)
    ctx = _blip_context(store, tracker, clock, slept)
    # WHEN the request fails in passing  THEN it is not sent again
    outcome = poll_project(ctx, "app", deadline=NOW + timedelta(seconds=10), max_requests=5)
    assert tracker.requests == 1 and outcome.result is PollResult.FAILED


def test_a_persistent_failure_keeps_the_five_minute_backoff() -> None:
    # GIVEN GitHub refusing the credential (not transient)
    store, clock = MemoryStore(), FixedClock(NOW)
    _project(store)
    ctx = _context(store, Refusing(AuthFailed("GitHub refused access (401)")), clock)  # type: ignore[arg-type]
    # WHEN the project is polled
    outcome = poll_project(ctx, "app")
    # THEN it backs off five minutes, and says the failure is not transient
    state = store.get_project("app").poll
    assert outcome.result is PollResult.FAILED and not outcome.transient and not state.transient
    assert state.backoff_until == NOW + timedelta(minutes=5)


# --- what GitHub said of the primary budget is kept for the dispatcher ----------------------------


def test_a_poll_that_spent_records_the_credentials_primary_budget() -> None:
    # GIVEN a 200 whose headers say 80 of 90 are left until 09:03
    store, clock = MemoryStore(), FixedClock(NOW)
    _project(store)
    rate = RateLimit(80, NOW + timedelta(minutes=3), "core", 90)
    # WHEN the project is polled
    poll_project(_blip_context(store, Blipping(0, rate=rate), clock, []), "app")
    # THEN the credential's budget says so, and the project's recent costs count its first
    # poll's 200 as none (it was for want of ETags, not a busy repository)
    assert store.get_budget(KEY) == TokenBudget(KEY, 80, NOW + timedelta(minutes=3), limit=90)
    assert store.get_project("app").poll.primary_costs == (0,)


def test_a_poll_of_304s_in_a_known_window_records_nothing() -> None:
    # GIVEN a project polled once (its page cached) and the window's budget recorded
    store, clock = MemoryStore(), FixedClock(NOW)
    _project(store)
    tracker = OnePage(1, eligible=0)
    ctx = _context(store, tracker, clock)
    poll_project(ctx, "app")
    store.record_budget(TokenBudget(KEY, 70, NOW + timedelta(minutes=3), limit=90))
    for _ in range(PRIMARY_COST_HISTORY):  # 304s: the recent costs fill up with zeros
        poll_project(ctx, "app")
    store.ops.reset()
    # WHEN it answers 304 again
    outcome = poll_project(ctx, "app")
    # THEN nothing is written: not the budget, not the project
    assert outcome.result is PollResult.NOT_MODIFIED and store.ops.writes == 0
    assert store.get_project("app").poll.primary_costs == (0,) * PRIMARY_COST_HISTORY


def test_a_poll_of_304s_records_a_budget_that_others_spent_once_it_fell_by_a_hundredth() -> None:
    # GIVEN a recorded budget of 4,000 of 5,000, and 304s that say 3,960 and then 3,940 are left
    # (acknowledgements and other projects spent them: GitHub counts per credential)
    store, clock = MemoryStore(), FixedClock(NOW)
    _project(store)
    reset = NOW + timedelta(minutes=30)
    store.record_budget(TokenBudget(KEY, 4000, reset, limit=5000))

    class NotModified(Blipping):
        def pages(
            self,
            query: IssueQuery,
            cache: Mapping[str, CachedPage],
            page_cap: int = DEFAULT_PAGE_CAP,
            retries: Retries | None = None,
        ) -> Iterator[Page]:
            yield Page("u1", 1, False, etag='"1"', rate=self.rate)

    def poll_seeing(remaining: int) -> TokenBudget | None:
        tracker = NotModified(0, rate=RateLimit(remaining, reset, "core", 5000))
        poll_project(_blip_context(store, tracker, clock, []), "app")
        return store.get_budget(KEY)

    # WHEN polls see 3,960 (40 spent: less than 50, a hundredth) and then 3,940 (60 spent)
    first, second = poll_seeing(3960), poll_seeing(3940)
    # THEN only the second is recorded
    assert first is not None and first.remaining == 4000
    assert second is not None and second.remaining == 3940
