"""The seam for trackers without ETags (domain/sync.py), through poll_project on in-memory fakes:
watermark and overlap, the steady state, resumes, the reconcile, moves between teams."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from fakes import MemoryQueue, MemoryStore

from intake_dev.clock import FixedClock
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.issue import Issue
from tracker_intake.domain.poll import PollContext, PollResult, poll_project
from tracker_intake.domain.records import PRIMARY_COST_HISTORY
from tracker_intake.domain.sync import ChangeFeed, SyncCursor, sync_scope
from tracker_intake.domain.tracker import DEFAULT_PAGE_CAP, IssueQuery, Page, Retries

KEY = "linear-key"
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
OVERLAP = timedelta(seconds=5)


@dataclass
class Ticket:
    id: str
    number: int
    team: str
    labels: tuple[str, ...]
    updated_at: datetime
    creator: str = "MEMBER"
    open: bool = True


class MemoryFeed:
    """A `ChangeFeed` over a list of tickets: filtered by team, labels and `updatedAt > since`,
    newest first as Linear orders by `updatedAt`, `per_page` a page. Each call is logged."""

    overlap = OVERLAP
    reconcile_every = timedelta(hours=1)

    def __init__(self, per_page: int = 50) -> None:
        self.tickets: dict[str, Ticket] = {}
        self.per_page = per_page
        self.calls: list[tuple[datetime | None, str | None]] = []

    def add(self, number: int, at: datetime, labels: tuple[str, ...] = ("agent",), team: str = "ENG") -> Ticket:
        ticket = Ticket(str(uuid.UUID(int=number)), number, team, labels, at)
        self.tickets[ticket.id] = ticket
        return ticket

    def changes(
        self,
        query: IssueQuery,
        since: datetime | None,
        after: str | None,
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
    ) -> Iterator[Page]:
        self.calls.append((since, after))
        matching = sorted(
            (
                t
                for t in self.tickets.values()
                if t.open
                and t.team == query.team
                and all(label in t.labels for label in query.labels)
                and (since is None or t.updated_at > since)
            ),
            key=lambda t: (t.updated_at, t.id),
            reverse=True,
        )
        start = int(after or 0)
        for index in range(1, page_cap + 1):
            chunk = matching[start : start + self.per_page]
            start += len(chunk)
            more = start < len(matching)
            issues = tuple(self._issue(t) for t in chunk)
            yield Page("linear", index, True, issues, next_url=str(start), continues=more)
            if not more:
                return
            if index == page_cap:
                return

    def _issue(self, t: Ticket) -> Issue:
        return Issue(
            owner="acme",
            repo=t.team,
            number=t.number,
            title=f"ticket {t.number}",
            url=f"https://linear.app/acme/issue/{t.team}-{t.number}",
            labels=t.labels,
            created_at=NOW - timedelta(days=1),
            updated_at=t.updated_at,
            author_association=t.creator,
            provider="linear",
            key=t.id,
            identifier=f"{t.team}-{t.number}",
        )


assert isinstance(MemoryFeed(), ChangeFeed)


def _project(store: MemoryStore, cap: int = 10, backlog: str = "all") -> None:
    rule = {"enabled": True, "provider": "linear", "team": "ENG", "labels": ["agent"], "maxSessionsPerPoll": cap}
    store.create_project("app", ProjectConfig.model_validate({"trackerIntake": {**rule, "backlog": backlog}}), NOW)


def _poll(store: MemoryStore, feed: MemoryFeed, at: datetime = NOW) -> PollResult:
    ctx = PollContext(store, store, store, MemoryQueue(FixedClock(at)), feed, FixedClock(at), KEY, rng=lambda: 0.0)
    return poll_project(ctx, "app").result


def _cursor(store: MemoryStore) -> SyncCursor:
    query = IssueQuery("", "", ("agent",), None, "linear", "ENG")
    _, pages = store.load_for_poll("app")
    return SyncCursor.from_page(pages.get(sync_scope(query)))


def _sessions(store: MemoryStore) -> list[str]:
    return sorted(c.canonical_id for c in store.claims() if c.status != "backlog")


def test_the_first_poll_is_a_reconcile_and_the_watermark_is_the_trackers_newest_updated_at() -> None:
    # GIVEN two matching tickets, updated an hour and a minute ago on the tracker's clock
    store, feed = MemoryStore(), MemoryFeed()
    _project(store)
    feed.add(1, NOW - timedelta(hours=1))
    newest = feed.add(2, NOW - timedelta(minutes=1))
    # WHEN the project is polled for the first time
    _poll(store, feed)
    # THEN it read everything (no lower bound), started both, and the watermark is the newest
    # updatedAt the tracker gave, not the poll's clock
    assert feed.calls == [(None, None)]
    assert len(_sessions(store)) == 2
    cursor = _cursor(store)
    assert cursor.watermark == newest.updated_at and cursor.reconciled_at == NOW


def test_a_steady_state_poll_is_one_query_that_reads_no_claim_and_writes_nothing() -> None:
    # GIVEN a project whose matching tickets all have sessions
    store, feed = MemoryStore(), MemoryFeed()
    _project(store)
    feed.add(1, NOW - timedelta(minutes=3))
    feed.add(2, NOW - timedelta(minutes=1))
    # ... and a few polls since, which settled the project's record of what a poll costs (one
    # request each: there is no free 304 on Linear)
    for minute in range(PRIMARY_COST_HISTORY + 1):
        _poll(store, feed, NOW + timedelta(minutes=minute))
    store.ops.reset()
    # WHEN the next poll finds nothing new on the tracker
    result = _poll(store, feed, NOW + timedelta(minutes=10))
    # THEN it asked for what is newer than the watermark (the overlap has settled), and read nothing
    # but the project and the credential's budget, and wrote nothing
    assert feed.calls[-1] == (NOW - timedelta(minutes=1), None)
    assert result is PollResult.NOT_MODIFIED
    assert store.ops.calls == ["load_for_poll", "get_budget"]


def test_an_issue_updated_in_the_same_millisecond_as_the_watermark_is_not_missed() -> None:
    # GIVEN a walk that saw ticket 1 at 08:59:00.123 and set the watermark there
    store, feed = MemoryStore(), MemoryFeed()
    _project(store)
    instant = NOW - timedelta(minutes=1) + timedelta(milliseconds=123)
    feed.add(1, instant)
    _poll(store, feed)
    # WHEN ticket 2, updated in that same millisecond, becomes visible only after the walk
    feed.add(2, instant)
    _poll(store, feed, NOW + timedelta(minutes=1))
    # THEN the overlap re-read it, and it started a session, once
    assert len(_sessions(store)) == 2


def test_a_label_added_to_an_old_issue_starts_it() -> None:
    # GIVEN an old ticket without the rule's label, and a project already polled
    store, feed = MemoryStore(), MemoryFeed()
    _project(store)
    old = feed.add(1, NOW - timedelta(days=30), labels=())
    _poll(store, feed)
    assert _sessions(store) == []
    # WHEN someone adds the label (which bumps its updatedAt)
    old.labels, old.updated_at = ("agent",), NOW + timedelta(seconds=30)
    _poll(store, feed, NOW + timedelta(minutes=1))
    # THEN it starts a session
    assert len(_sessions(store)) == 1


def test_a_move_to_another_team_and_back_starts_nothing_new() -> None:
    # GIVEN a ticket with a session
    store, feed = MemoryStore(), MemoryFeed()
    _project(store)
    ticket = feed.add(1, NOW - timedelta(minutes=5))
    _poll(store, feed)
    # WHEN it moves to OPS (its identifier changes) and back to ENG as ENG-77, updated each time
    ticket.team, ticket.updated_at = "OPS", NOW + timedelta(seconds=10)
    _poll(store, feed, NOW + timedelta(minutes=1))
    ticket.team, ticket.number, ticket.updated_at = "ENG", 77, NOW + timedelta(minutes=1, seconds=10)
    _poll(store, feed, NOW + timedelta(minutes=2))
    # THEN it still has the one session, under its stable id
    assert _sessions(store) == [f"linear:acme/{ticket.id}"]


def test_a_walk_cut_by_the_session_cap_resumes_and_moves_the_watermark_once_complete() -> None:
    # GIVEN 5 matching tickets, pages of 2, and at most 2 sessions a poll
    store, feed = MemoryStore(), MemoryFeed(per_page=2)
    _project(store, cap=2)
    for n in range(1, 6):
        feed.add(n, NOW - timedelta(minutes=10 - n))
    # WHEN it is polled three times
    for minute in range(3):
        _poll(store, feed, NOW + timedelta(minutes=minute))
    # THEN every ticket has one session, the later polls went on where the earlier stopped, and the
    # watermark is the newest ticket's once the walk is complete
    assert len(_sessions(store)) == 5
    assert [after for _, after in feed.calls] == [None, "2", "4"]
    assert _cursor(store).watermark == NOW - timedelta(minutes=5)
    assert _cursor(store).resume is None


def test_the_reconcile_finds_what_an_incremental_read_missed() -> None:
    # GIVEN a project synced once, and a ticket that came to match without its updatedAt moving
    # (a label renamed to the rule's, say) below the watermark
    store, feed = MemoryStore(), MemoryFeed()
    _project(store)
    feed.add(1, NOW - timedelta(minutes=1))
    _poll(store, feed)
    feed.add(2, NOW - timedelta(days=2))
    # WHEN polls run for the next hour
    _poll(store, feed, NOW + timedelta(minutes=30))
    missed = len(_sessions(store))
    _poll(store, feed, NOW + feed.reconcile_every)
    # THEN the incremental read missed it and the hourly reconcile started it
    assert missed == 1
    assert feed.calls[-1] == (None, None)
    assert len(_sessions(store)) == 2


def test_a_released_claim_drops_the_cursor_so_the_next_poll_is_a_reconcile() -> None:
    # GIVEN a synced project whose session is released
    store, feed = MemoryStore(), MemoryFeed()
    _project(store)
    ticket = feed.add(1, NOW - timedelta(minutes=1))
    _poll(store, feed)
    store.release("app", f"linear:acme/{ticket.id}", NOW)
    store.forget_pages("app")
    # WHEN it is polled again, nothing having changed on the tracker
    _poll(store, feed, NOW + timedelta(minutes=1))
    # THEN the issue started again, in its second generation
    (claim,) = store.claims()
    assert claim.generation == 2 and claim.status != "released"


def test_a_cursor_that_cannot_be_read_costs_a_reconcile() -> None:
    # GIVEN a cursor whose stored state is not what this code writes
    store, feed = MemoryStore(), MemoryFeed()
    _project(store)
    feed.add(1, NOW - timedelta(minutes=1))
    query = IssueQuery("", "", ("agent",), None, "linear", "ENG")
    page = SyncCursor(watermark=NOW).to_page(sync_scope(query), KEY)
    store.commit_page("app", replace(page, etag="{not json"))
    # WHEN it is polled
    _poll(store, feed)
    # THEN it read everything, and took the ticket
    assert feed.calls == [(None, None)] and len(_sessions(store)) == 1


def test_another_rule_is_another_scope() -> None:
    # GIVEN two rules that differ only in a label
    one = IssueQuery("", "", ("agent",), None, "linear", "ENG")
    # WHEN their scopes are computed THEN they differ, and case in labels does not matter
    assert sync_scope(one) != sync_scope(replace(one, labels=("agent", "bug")))
    assert sync_scope(one) == sync_scope(replace(one, labels=("Agent",)))


def test_the_overlap_is_re_read_until_it_settles_then_only_what_is_newer() -> None:
    # GIVEN a project synced once, its watermark the newest ticket's updatedAt
    store, feed = MemoryStore(), MemoryFeed()
    _project(store)
    newest = feed.add(1, NOW - timedelta(minutes=1))
    _poll(store, feed)
    # WHEN it is polled a minute later, and three minutes later
    _poll(store, feed, NOW + timedelta(minutes=1))
    _poll(store, feed, NOW + timedelta(minutes=3))
    # THEN the first re-read the overlap below the watermark, the second only what is newer
    assert feed.calls[1:] == [(newest.updated_at - OVERLAP, None), (newest.updated_at, None)]


def test_a_bulk_edit_stamped_in_one_instant_settles_to_one_query_that_reads_nothing() -> None:
    # GIVEN 25 matching tickets stamped in the same millisecond (a bulk edit), pages of 10, and at
    # most 10 sessions a poll
    store, feed = MemoryStore(), MemoryFeed(per_page=10)
    _project(store, cap=10)
    instant = NOW - timedelta(seconds=30)
    for n in range(1, 26):
        feed.add(n, instant)
    # WHEN it is polled every minute for ten minutes (the project's record of a poll's cost
    # settling too)
    for minute in range(10):
        _poll(store, feed, NOW + timedelta(minutes=minute))
    store.ops.reset()
    feed.calls.clear()
    _poll(store, feed, NOW + timedelta(minutes=10))
    # THEN every ticket has its one session, and the poll after asks once, for what is newer than
    # the instant, reading and writing nothing
    assert len(_sessions(store)) == 25
    assert feed.calls == [(instant, None)]
    assert store.ops.calls == ["load_for_poll", "get_budget"]


def test_a_resumed_walk_keeps_what_its_first_part_read() -> None:
    # GIVEN 15 tickets in one instant, pages of 10, at most 10 sessions a poll: the first walk stops
    # after its first page
    store, feed = MemoryStore(), MemoryFeed(per_page=10)
    _project(store, cap=10)
    for n in range(1, 16):
        feed.add(n, NOW - timedelta(seconds=30))
    _poll(store, feed)
    resume = _cursor(store).resume
    # WHEN the next poll goes on after that page and completes the walk
    _poll(store, feed, NOW + timedelta(minutes=1))
    # THEN the cursor's recent issues are all 15, the first part's included
    assert resume is not None and len(resume.seen) == 10
    assert len(_cursor(store).recent) == 15 and _cursor(store).resume is None
