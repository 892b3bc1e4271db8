"""`trackerIntake.backlog` on the in-memory fakes: what switching intake on does to the issues
already open, and that the claim protocol's promises still hold around it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fakes import MemoryQueue, MemoryStore

from intake_dev.clock import FixedClock
from tracker_intake.domain import changes
from tracker_intake.domain.backlog import Snapshot, since_after_write, snapshot_on_write, starts_session
from tracker_intake.domain.config import Backlog, ProjectConfig
from tracker_intake.domain.errors import StoreUnavailable
from tracker_intake.domain.issue import Issue
from tracker_intake.domain.poll import PollContext, PollOutcome, PollResult, poll_project
from tracker_intake.domain.records import PRIMARY_COST_HISTORY, Claim, ClaimStatus
from tracker_intake.domain.tracker import DEFAULT_PAGE_CAP, CachedPage, IssueQuery, Page, Retries

START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
REPO = "acme/app"


class Repo:
    """A `Tracker` over a mutable list of open issues, `per_page` a page, with ETags over each
    page's body as GitHub's: an unchanged page answers 304."""

    def __init__(self, per_page: int = 100) -> None:
        self.per_page = per_page
        self.issues: dict[int, Issue] = {}
        self.answers: list[int] = []

    def open(self, number: int, created_at: datetime, labels: tuple[str, ...] = ("agent",), **fields: Any) -> None:
        self.issues[number] = Issue(
            owner="acme",
            repo="app",
            number=number,
            title=f"issue {number}",
            url=f"https://github.com/acme/app/issues/{number}",
            labels=labels,
            created_at=created_at,
            author="ana",
            # A collaborator: write access without a check (members' checks: tests/unit/test_write_access.py).
            author_association=fields.pop("author_association", "COLLABORATOR"),
            **fields,
        )

    def label(self, number: int, *labels: str) -> None:
        issue = self.issues[number]
        self.issues[number] = replace(issue, labels=(*issue.labels, *labels))

    def pages(
        self,
        query: IssueQuery,
        cache: Mapping[str, CachedPage],
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
    ) -> Iterator[Page]:
        ordered = sorted(self.issues.values(), key=lambda i: (i.created_at or START, i.number))
        chunks = [ordered[i : i + self.per_page] for i in range(0, len(ordered), self.per_page)] or [[]]
        for index, chunk in enumerate(chunks[:page_cap], start=1):
            url = f"page-{index}"
            etag = '"' + hashlib.sha256(repr([(i.number, i.labels) for i in chunk]).encode()).hexdigest()[:12] + '"'
            more = index < len(chunks)
            truncated = more and index == page_cap
            next_url = f"page-{index + 1}" if more else None
            cached = cache.get(url)
            modified = cached is None or cached.etag != etag
            self.answers.append(200 if modified else 304)
            yield Page(
                url,
                index,
                modified,
                tuple(chunk) if modified else (),
                etag=etag,
                next_url=next_url,
                item_count=len(chunk),
                continues=more and not truncated,
                truncated=truncated,
            )


class FlakyStore(MemoryStore):
    """Refuses the `fail_at`-th claim write (1-based) as DynamoDB would when throttled."""

    def __init__(self, fail_at: int | None = None) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.claim_writes = 0

    def try_claim(self, claim: Claim) -> Claim | None:
        self.claim_writes += 1
        if self.claim_writes == self.fail_at:
            raise StoreUnavailable("put claim: throttled")
        return super().try_claim(claim)


class World:
    """One project on one repository, polled on the fakes, its config written through the domain."""

    def __init__(self, repo: Repo, *, fail_claim_write: int | None = None, **intake: Any) -> None:
        self.repo = repo
        self.clock = FixedClock(START)
        self.store = FlakyStore(fail_claim_write)
        self.page_cap = DEFAULT_PAGE_CAP
        self.queue = MemoryQueue(self.clock)
        changes.create_project(self.store, "app", config(**intake), self.clock.now())

    def poll(self, max_requests: int | None = None) -> PollOutcome:
        self.clock.advance(60)
        ctx = PollContext(
            self.store,
            self.store,
            self.store,
            self.queue,
            self.repo,
            self.clock,
            "key",
            page_cap=self.page_cap,
            rng=lambda: 0.0,
        )
        return poll_project(ctx, "app", max_requests=max_requests)

    def write(self, **intake: Any) -> None:
        self.clock.advance(1)
        changes.replace_config(self.store, "app", config(**intake), None, self.clock.now())

    def sessions(self) -> list[int]:
        return sorted(int(m.issue_id.rsplit("#", 1)[1]) for m in self.queue.messages)

    def statuses(self) -> dict[int, ClaimStatus]:
        return {c.issue.number: c.status for c in self.store.claims()}


def config(**intake: Any) -> ProjectConfig:
    rule = {"enabled": True, "repo": REPO, "labels": ["agent"], **intake}
    return ProjectConfig.model_validate({"trackerIntake": rule})


def backlog_of(n: int, per_page: int = 100) -> Repo:
    repo = Repo(per_page)
    for number in range(1, n + 1):
        repo.open(number, START - timedelta(days=30) + timedelta(minutes=number))
    return repo


# --- new -------------------------------------------------------------------------------------


def test_new_on_a_repository_with_50_matching_issues_starts_no_session() -> None:
    # GIVEN 50 open issues labelled `agent`
    world = World(backlog_of(50))
    # WHEN intake is created on with the default `backlog: new`, and polled
    outcome = world.poll()
    # THEN no session starts; each issue is recorded as backlog, and the record is finished
    assert world.sessions() == []
    assert world.statuses() == dict.fromkeys(range(1, 51), ClaimStatus.BACKLOG)
    assert outcome.backlog_recorded == 50 and outcome.backlog_done
    assert world.store.get_project("app").backlog_since is None


def test_after_the_backlog_is_recorded_one_new_issue_starts_exactly_one_session() -> None:
    # GIVEN the backlog of 50 recorded
    world = World(backlog_of(50))
    world.poll()
    # WHEN one new issue is opened and the next polls run
    world.repo.open(51, world.clock.now())
    first, second = world.poll(), world.poll()
    # THEN exactly that issue started a session, once
    assert first.new_sessions == ["github:acme/app#51"] and second.new_sessions == []
    assert world.sessions() == [51]


def test_an_old_issue_labelled_after_the_switch_on_starts_a_session() -> None:
    # GIVEN a backlog recorded, and an old unlabelled issue (what a created_at watermark gets wrong)
    repo = backlog_of(3)
    repo.open(4, START - timedelta(days=90), labels=("bug",))
    world = World(repo)
    world.poll()
    # WHEN someone labels the old issue `agent`
    repo.label(4, "agent")
    world.poll()
    # THEN it starts a session: it became eligible after intake was switched on
    assert world.sessions() == [4]


def test_an_issue_opened_between_the_switch_on_and_the_first_poll_starts_a_session() -> None:
    # GIVEN a backlog, and intake switched on
    world = World(backlog_of(5))
    # WHEN an issue is opened before the first poll
    world.repo.open(6, world.clock.now() + timedelta(seconds=10))
    world.poll()
    # THEN the issues that were there are backlog, and the new one started a session
    assert world.sessions() == [6]
    assert [n for n, s in world.statuses().items() if s is ClaimStatus.BACKLOG] == [1, 2, 3, 4, 5]


def test_steady_state_after_the_backlog_costs_one_304_and_no_write() -> None:
    # GIVEN the backlog recorded
    world = World(backlog_of(50))
    world.poll()
    # AND the 304s after it, which write the project's recent costs until they are all zeros
    # (four polls at most)
    world.store.ops.reset()
    for _ in range(PRIMARY_COST_HISTORY):
        world.poll()
    assert world.store.ops.calls.count("save_poll_state") <= PRIMARY_COST_HISTORY
    assert world.store.get_project("app").poll.primary_costs == (0,) * PRIMARY_COST_HISTORY
    world.repo.answers.clear()
    world.store.ops.reset()
    # WHEN nothing changes and the project is polled again
    outcome = world.poll()
    # THEN GitHub answered one 304, and nothing was written
    assert outcome.result is PollResult.NOT_MODIFIED
    assert world.repo.answers == [304]
    assert world.store.ops.writes == 0


def test_a_backlog_seen_over_several_polls_is_recorded_before_the_mark_is_removed() -> None:
    # GIVEN 250 matching issues on 3 pages, and polls granted 1, 2, then 3 requests (a walk cut
    # short asks for one more the next time)
    world = World(backlog_of(250, per_page=100))
    # WHEN the project is polled until its walk has seen every page
    outcomes = [world.poll(max_requests=grant) for grant in (1, 2, 3)]
    # THEN the mark stays until the last page is done, no session starts, all 250 are backlog
    assert [o.backlog_done for o in outcomes] == [False, False, True]
    assert world.sessions() == []
    assert list(world.statuses().values()).count(ClaimStatus.BACKLOG) == 250


def test_a_backlog_beyond_the_page_cap_keeps_the_mark_for_issues_that_come_within_reach() -> None:
    # GIVEN 250 matching issues, and polls that read 2 pages at most
    world = World(backlog_of(250, per_page=100))
    world.page_cap = 2
    first = world.poll()
    # WHEN the oldest 100 are closed, and the rest come within reach
    for number in range(1, 101):
        del world.repo.issues[number]
    second = world.poll()
    # THEN the mark stayed while pages were out of reach, and the issues beyond were recorded too
    assert not first.backlog_done and second.backlog_done
    assert world.sessions() == []
    assert list(world.statuses().values()).count(ClaimStatus.BACKLOG) == 250


def test_a_store_failure_while_recording_loses_no_issue_and_starts_none() -> None:
    # GIVEN 50 matching issues, and the store failing the 20th backlog write
    world = World(backlog_of(50), fail_claim_write=20)
    failed = world.poll()
    kept = list(world.statuses().values()).count(ClaimStatus.BACKLOG)
    # WHEN the next poll runs after the backoff
    world.clock.advance(3600)
    finished = world.poll()
    # THEN the first poll failed after 19 records and kept the mark; the second recorded the
    # rest and removed it; no session started
    assert failed.result is PollResult.FAILED and not failed.backlog_done and kept == 19
    assert finished.backlog_done
    assert world.sessions() == []
    assert world.statuses() == dict.fromkeys(range(1, 51), ClaimStatus.BACKLOG)


def test_a_stranger_labelled_issue_is_neither_backlog_nor_session() -> None:
    # GIVEN a backlog holding an issue from a stranger, labelled by an issue form
    repo = backlog_of(2)
    repo.open(3, START - timedelta(days=1), author_association="NONE")
    world = World(repo)
    # WHEN intake records the backlog, and later the stranger opens another labelled issue
    world.poll()
    repo.open(4, world.clock.now(), author_association="NONE")
    world.poll()
    # THEN neither is claimed in any way: the rule does not take them
    assert sorted(world.statuses()) == [1, 2] and world.sessions() == []


def test_a_released_backlog_issue_starts_a_session() -> None:
    # GIVEN the backlog recorded
    world = World(backlog_of(3))
    world.poll()
    # WHEN one backlog issue is released (the operator's way to start it)
    changes.release_claim(world.store, world.store, "app", "github:acme/app#2", world.clock.now())
    world.poll()
    # THEN it, and only it, starts
    assert world.sessions() == [2]


# --- all, and switching ----------------------------------------------------------------------


def test_all_starts_every_matching_issue_within_the_cap() -> None:
    # GIVEN 25 matching issues and `backlog: all`
    world = World(backlog_of(25), backlog="all")
    # WHEN three polls run with a cap of 10
    counts = [len(world.poll().new_sessions) for _ in range(3)]
    # THEN every issue starts, 10 a poll, as intake always did
    assert counts == [10, 10, 5] and world.sessions() == list(range(1, 26))


def test_switching_from_new_to_all_starts_the_recorded_backlog() -> None:
    # GIVEN the backlog of 50 recorded under `new`
    world = World(backlog_of(50))
    world.poll()
    # WHEN the config is switched to `all`, explicitly, and the project is polled
    world.write(backlog="all")
    counts = [len(world.poll().new_sessions) for _ in range(6)]
    # THEN the backlog starts, 10 a poll, each issue once
    assert counts == [10, 10, 10, 10, 10, 0]
    assert world.sessions() == list(range(1, 51))
    assert set(world.statuses().values()) == {ClaimStatus.ENQUEUED}
    # AND each is its first attempt, in its first generation: the backlog claim started nothing
    assert {(c.attempts, c.generation) for c in world.store.claims()} == {(1, 1)}


def test_a_config_written_without_backlog_keeps_the_backlog_recorded() -> None:
    # GIVEN the backlog recorded, and a client that does not know the field
    world = World(backlog_of(10))
    world.poll()
    # WHEN it rewrites the rule without `backlog` (the default is `new`, never `all`)
    world.write(excludeLabels=["wontfix"])
    world.poll()
    # THEN the backlog stays backlog
    assert world.sessions() == []


def test_switching_intake_off_and_on_again_records_what_matches_then() -> None:
    # GIVEN a running project whose backlog was recorded, then intake switched off
    world = World(backlog_of(5))
    world.poll()
    world.write(enabled=False)
    # WHEN issues open while it is off, and it is switched on again
    world.repo.open(6, world.clock.now())
    world.repo.open(7, world.clock.now())
    world.write()
    world.poll()
    # THEN the issues that match at the switch-on are recorded, not started
    assert world.sessions() == []
    assert world.statuses()[6] is world.statuses()[7] is ClaimStatus.BACKLOG


def test_switching_from_all_to_new_stops_the_rest_of_the_backlog() -> None:
    # GIVEN `all` working through 30 issues, 10 a poll
    world = World(backlog_of(30), backlog="all")
    world.poll()
    # WHEN the config is switched to `new`
    world.write(backlog="new")
    world.poll()
    # THEN what had not started yet is recorded as backlog
    assert world.sessions() == list(range(1, 11))
    assert list(world.statuses().values()).count(ClaimStatus.BACKLOG) == 20


# --- the rules themselves --------------------------------------------------------------------


def test_a_config_write_starts_a_record_only_when_intake_starts_on_a_set_of_issues() -> None:
    # GIVEN a running `new` project
    world = World(backlog_of(1))
    world.poll()
    running = world.store.get_project("app")
    # WHEN each kind of write is judged
    # THEN a switch-on, another repository, or `all` -> `new` start a record; a rule edit keeps;
    # off or `all` drop
    assert snapshot_on_write(None, config()) is Snapshot.START
    assert snapshot_on_write(running, config(repo="acme/other")) is Snapshot.START
    assert snapshot_on_write(running, config(labels=["agent", "bug"])) is Snapshot.KEEP
    assert snapshot_on_write(running, config(enabled=False)) is Snapshot.DROP
    assert snapshot_on_write(running, config(backlog="all")) is Snapshot.DROP
    switched_to_all = changes.replace_config(world.store, "app", config(backlog="all"), None, START)
    assert snapshot_on_write(switched_to_all, config()) is Snapshot.START
    assert since_after_write(running, config(labels=["x"]), START) is None


def test_what_would_start_depends_on_the_claim_and_the_choice() -> None:
    # GIVEN an issue that predates a pending record, and one that does not
    old, new = backlog_of(1).issues[1], Issue("acme", "app", 9, "t", "u", created_at=START + timedelta(days=1))
    # WHEN each case is judged
    # THEN `new` leaves what predates the record, `all` starts it; a backlog claim starts only under `all`
    assert not starts_session(old, None, Backlog.NEW, START)
    assert starts_session(new, None, Backlog.NEW, START)
    assert starts_session(old, None, Backlog.ALL, START)
    backlog = World(backlog_of(1))
    backlog.poll()
    (claim,) = backlog.store.claims()
    assert not starts_session(old, claim, Backlog.NEW, None)
    assert starts_session(old, claim, Backlog.ALL, None)
