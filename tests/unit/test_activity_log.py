"""The activity log and the heartbeat, on the in-memory fakes: a quiet poll writes nothing within
`ACTIVITY_HEARTBEAT` of the last recorded one; every poll that changes, fails or starts
something writes its state and one entry. And "last change" is the tracker's time, never a poll's."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta

from fakes import MemoryQueue, MemoryStore

from intake_dev.clock import FixedClock
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.errors import SecondaryRateLimited, StoreUnavailable, TrackerUnavailable
from tracker_intake.domain.issue import Issue
from tracker_intake.domain.poll import PollContext, PollResult, poll_project
from tracker_intake.domain.records import ACTIVITY_HEARTBEAT, ACTIVITY_NEW_SESSIONS_LIMIT
from tracker_intake.domain.tracker import DEFAULT_PAGE_CAP, CachedPage, IssueQuery, Page, Retries

KEY = "credential"
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
# When the issues were last edited on the tracker: long before any poll.
EDITED = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)


class OnePageTracker:
    """One page of issues behind an ETag: a 304 while nothing changed, else a 200."""

    def __init__(self, issues: int) -> None:
        self.issues = [self._issue(n, EDITED) for n in range(1, issues + 1)]
        self.version = 1
        self.failing = False
        self.limited_until: datetime | None = None

    @staticmethod
    def _issue(n: int, updated: datetime) -> Issue:
        return Issue(
            owner="acme",
            repo="app",
            number=n,
            title=f"issue {n}",
            url=f"https://github.com/acme/app/issues/{n}",
            labels=("agent",),
            created_at=EDITED - timedelta(days=1),
            updated_at=updated,
            author_association="COLLABORATOR",
        )

    def edit(self, n: int, at: datetime) -> None:
        """An issue edited (or opened) on the tracker at `at`: the page's ETag changes."""
        self.issues = [i for i in self.issues if i.number != n] + [self._issue(n, at)]
        self.version += 1

    def pages(
        self,
        query: IssueQuery,
        cache: Mapping[str, CachedPage],
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
    ) -> Iterator[Page]:
        if self.failing:
            raise TrackerUnavailable("GitHub answered 502")
        if self.limited_until is not None:
            raise SecondaryRateLimited(self.limited_until)
        etag = f'"{self.version}"'
        cached = cache.get("u1")
        if cached is not None and cached.etag == etag:
            yield Page("u1", 1, False, etag=etag, item_count=len(self.issues))
            return
        yield Page("u1", 1, True, tuple(self.issues), etag=etag, item_count=len(self.issues))


class Rig:
    """A project polled on the fakes, on a clock the test moves."""

    def __init__(self, issues: int = 3) -> None:
        self.store = MemoryStore()
        self.clock = FixedClock(NOW)
        self.tracker = OnePageTracker(issues)
        config = {"trackerIntake": {"enabled": True, "labels": ["agent"], "repo": "acme/app"}}
        self.store.create_project("app", ProjectConfig.model_validate(config), NOW)
        self.ctx = PollContext(
            self.store,
            self.store,
            self.store,
            MemoryQueue(self.clock),
            self.tracker,
            self.clock,
            KEY,
            rng=lambda: 0.0,
            activity=self.store,
        )

    def poll(self, after: timedelta = timedelta(0)) -> PollResult:
        self.clock.advance(after.total_seconds())
        return poll_project(self.ctx, "app").result

    def settle(self) -> None:
        """Poll until the poll state stops changing (the cost history back to zeros)."""
        for _ in range(6):
            self.poll(timedelta(minutes=1))
        self.store.ops.reset()


def test_quiet_polls_within_the_heartbeat_write_nothing() -> None:
    # GIVEN a project at rest: its sessions started, its cost history settled
    rig = Rig()
    rig.poll()
    rig.settle()
    # WHEN it is polled every minute for the next 9 minutes (all 304s)
    results = [rig.poll(timedelta(minutes=1)) for _ in range(3)]
    # THEN nothing is written: no poll state, no activity entry
    assert results == [PollResult.NOT_MODIFIED] * 3
    assert rig.store.ops.writes == 0


def test_a_quiet_poll_once_the_last_recorded_is_ten_minutes_old_writes_one_entry_and_checked_at() -> None:
    # GIVEN a project at rest whose last recorded poll is 9 minutes old
    rig = Rig()
    rig.poll()
    rig.settle()
    last = rig.store.get_project("app").poll.checked_at
    assert last is not None
    rig.clock.advance((last + ACTIVITY_HEARTBEAT - rig.clock.now()).total_seconds() - 60)
    assert rig.poll() is PollResult.NOT_MODIFIED
    assert rig.store.ops.writes == 0
    # WHEN it is polled a minute later, the 10th minute (still all 304s)
    rig.poll(timedelta(minutes=1))
    # THEN it writes its state, stamped checkedAt, and one entry: quiet, one page, one 304
    assert (rig.store.ops.count("save_poll_state"), rig.store.ops.count("record_poll")) == (1, 1)
    assert rig.store.ops.writes == 2
    assert rig.store.get_project("app").poll.checked_at == rig.clock.now()
    entry = rig.store.polls("app")[-1]
    assert (entry.at, entry.result, entry.pages, entry.not_modified) == (
        rig.clock.now(),
        PollResult.NOT_MODIFIED,
        1,
        1,
    )


def test_a_poll_that_starts_sessions_writes_one_entry_naming_them() -> None:
    # GIVEN a project at rest, its last recorded poll a minute old
    rig = Rig(issues=1)
    rig.poll()
    rig.settle()
    # WHEN an issue is opened on the tracker and the project is polled a minute later
    rig.tracker.edit(2, rig.clock.now())
    rig.poll(timedelta(minutes=1))
    # THEN one entry says so: changed, one page, the new session named
    assert rig.store.ops.count("record_poll") == 1
    assert rig.store.ops.count("save_poll_state") == 1
    entry = rig.store.polls("app")[-1]
    assert entry.result is PollResult.CHANGED
    assert (entry.pages, entry.not_modified, entry.new_sessions) == (1, 0, ("github:acme/app#2",))
    assert rig.store.get_project("app").poll.checked_at == rig.clock.now()


def test_a_failed_poll_writes_one_entry_with_its_error_and_backoff() -> None:
    # GIVEN a project at rest, its last recorded poll a minute old
    rig = Rig()
    rig.poll()
    rig.settle()
    # WHEN the tracker fails the next poll
    rig.tracker.failing = True
    rig.poll(timedelta(minutes=1))
    # THEN one entry records the failure, as the poll state's lastError says it, and the backoff
    assert rig.store.ops.count("record_poll") == 1
    entry = rig.store.polls("app")[-1]
    state = rig.store.get_project("app").poll
    assert entry.result is PollResult.FAILED
    assert entry.error_kind == "tracker_unavailable"
    assert state.last_error == f"{entry.error_kind}: {entry.error}"
    assert entry.backoff_until == state.backoff_until is not None
    # AND the request that failed counts, though no page came of it
    assert (entry.requests, entry.pages) == (1, 0)


def test_an_entry_names_at_most_twenty_new_sessions() -> None:
    # GIVEN a project whose first poll starts more sessions than an entry names
    rig = Rig(issues=ACTIVITY_NEW_SESSIONS_LIMIT + 5)
    rig.store.replace_config(
        "app",
        ProjectConfig.model_validate(
            {"trackerIntake": {"enabled": True, "labels": ["agent"], "repo": "acme/app", "maxSessionsPerPoll": 50}}
        ),
        None,
        NOW,
    )
    # WHEN it is polled
    rig.poll()
    # THEN its entry names the first twenty
    (entry,) = rig.store.polls("app")
    assert len(entry.new_sessions) == ACTIVITY_NEW_SESSIONS_LIMIT


def test_an_activity_log_that_cannot_be_written_fails_no_poll() -> None:
    # GIVEN an activity log whose next write fails
    rig = Rig()
    rig.store.fail("record_poll", StoreUnavailable("DynamoDB record poll failed: throttled"))
    # WHEN the project's first poll starts its sessions
    result = rig.poll()
    # THEN the poll stands: its sessions are queued and its state written; only the entry is missing
    assert result is PollResult.CHANGED
    assert len(rig.ctx.queue.messages) == 3  # type: ignore[attr-defined]
    assert rig.store.get_project("app").poll.checked_at == NOW
    assert rig.store.polls("app") == []


def test_a_cold_cache_after_a_restart_leaves_the_last_change_at_the_trackers_time() -> None:
    # GIVEN a project whose issues were last edited on the tracker well before its first poll
    rig = Rig()
    rig.poll()
    rig.settle()
    assert rig.store.get_project("app").poll.last_change_at == EDITED
    # WHEN its ETag cache is lost (a restart) and the next poll reads every page again (200s)
    rig.store.forget_pages("app")
    assert rig.poll(timedelta(minutes=1)) is PollResult.CHANGED
    # THEN the last change is still the tracker's, not the restart's
    assert rig.store.get_project("app").poll.last_change_at == EDITED


def test_a_change_on_the_tracker_moves_the_last_change_to_its_time() -> None:
    # GIVEN a project at rest
    rig = Rig()
    rig.poll()
    rig.settle()
    # WHEN an issue with a session is edited on the tracker and a poll reads it a minute later
    edited = rig.clock.now() + timedelta(seconds=20)
    rig.tracker.edit(1, edited)
    rig.poll(timedelta(minutes=1))
    # THEN the last change is the edit's time, not the poll's
    assert rig.store.get_project("app").poll.last_change_at == edited


def test_a_rate_limited_poll_writes_one_entry_with_the_credentials_pause() -> None:
    # GIVEN a project at rest, its last recorded poll a minute old
    rig = Rig()
    rig.poll()
    rig.settle()
    # WHEN GitHub answers its next poll with a secondary limit for 90 seconds
    until = rig.clock.now() + timedelta(minutes=1, seconds=90)
    rig.tracker.limited_until = until
    rig.poll(timedelta(minutes=1))
    # THEN one entry says the credential is paused, and until when
    assert rig.store.ops.count("record_poll") == 1
    entry = rig.store.polls("app")[-1]
    assert (entry.result, entry.error_kind, entry.backoff_until) == (
        PollResult.CREDENTIAL_PAUSED,
        "secondary_rate_limit",
        until,
    )
    assert entry.requests == 1  # the request the limit refused


def test_a_poll_that_finds_its_credential_paused_writes_only_when_the_heartbeat_is_due() -> None:
    # GIVEN a project at rest whose credential another poll paused for an hour
    rig = Rig()
    rig.poll()
    rig.settle()
    rig.store.pause(KEY, rig.clock.now() + timedelta(hours=1))
    rig.store.ops.reset()
    # WHEN it is polled every minute for 10 minutes
    results = [rig.poll(timedelta(minutes=1)) for _ in range(10)]
    # THEN it asked nothing, and recorded one poll: when its last recorded one was 10 minutes old
    assert set(results) == {PollResult.CREDENTIAL_PAUSED}
    assert rig.store.ops.count("record_poll") == 1
    assert rig.store.polls("app")[-1].result is PollResult.CREDENTIAL_PAUSED
