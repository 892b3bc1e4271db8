"""A member's issue starts a session only if GitHub says they may write (issue 24, part 2), on fakes.

Only issues the poll would claim are checked; an answer is kept (an hour for "may write", fifteen
minutes for "may not"); a check that cannot be made never lets an issue through.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fakes import MemoryQueue, MemoryStore

from intake_dev.clock import FixedClock
from tracker_intake.domain.backlog import Snapshot
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.eligibility import SkipReason
from tracker_intake.domain.errors import (
    StoreUnavailable,
    TrackerError,
    TrackerUnavailable,
    WriteAccessUnreadable,
)
from tracker_intake.domain.issue import Issue
from tracker_intake.domain.poll import PollContext, PollOutcome, PollResult, poll_project
from tracker_intake.domain.preview import PreviewContext, preview
from tracker_intake.domain.records import ClaimStatus, Permission
from tracker_intake.domain.tracker import (
    DEFAULT_PAGE_CAP,
    CachedPage,
    CollaboratorPermission,
    IssueQuery,
    Page,
    RateLimit,
    Retries,
)
from tracker_intake.domain.write_access import MAY_NOT_WRITE_FOR, MAY_WRITE_FOR

KEY = "credential"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
RESET = NOW + timedelta(minutes=30)


class Repo:
    """A `Tracker` of one page of issues, which answers 304 to the ETag of its current body."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []
        self.pages_asked = 0

    def open(self, author: str, association: str, **fields: Any) -> str:
        number = len(self.issues) + 1
        self.issues.append(
            Issue(
                owner="acme",
                repo="app",
                number=number,
                title=f"issue {number}",
                url=f"https://github.com/acme/app/issues/{number}",
                labels=("agent",),
                created_at=NOW - timedelta(days=1) + timedelta(minutes=number),
                author=author,
                author_association=association,
                **fields,
            )
        )
        return f"github:acme/app#{number}"

    def pages(
        self,
        query: IssueQuery,
        cache: Mapping[str, CachedPage],
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
    ) -> Iterator[Page]:
        self.pages_asked += 1
        etag = f'"{len(self.issues)}"'
        cached = cache.get("page1")
        if cached is not None and cached.etag == etag:
            yield Page("page1", 1, False, etag=etag, item_count=cached.item_count)
            return
        yield Page("page1", 1, True, tuple(self.issues), etag=etag, item_count=len(self.issues))


class Collaborators:
    """The `Collaborators` port: each login's base permission, and every question asked."""

    def __init__(self, **permissions: str) -> None:
        self.permissions = permissions
        self.asked: list[str] = []
        self.failure: TrackerError | None = None

    def permission(self, owner: str, repo: str, login: str, retries: Retries | None = None) -> CollaboratorPermission:
        self.asked.append(login)
        if self.failure is not None:
            raise self.failure
        rate = RateLimit(remaining=4000 - len(self.asked), reset_at=RESET, limit=5000)
        return CollaboratorPermission(self.permissions.get(login.casefold(), "none"), None, rate)


class World:
    """One project on label `agent`, polled on the fakes, with members' answers from `collaborators`."""

    def __init__(self, collaborators: Collaborators, *, check: bool = True, backlog: str = "all", cap: int = 10):
        self.store, self.clock, self.repo = MemoryStore(), FixedClock(NOW), Repo()
        self.collaborators = collaborators
        self.queue = MemoryQueue(self.clock)
        rule = {
            "enabled": True,
            "repo": "acme/app",
            "labels": ["agent"],
            "backlog": backlog,
            "memberWriteCheck": check,
            "maxSessionsPerPoll": cap,
        }
        self.store.create_project("app", ProjectConfig.model_validate({"trackerIntake": rule}), NOW)
        self.ctx = PollContext(
            self.store,
            self.store,
            self.store,
            self.queue,
            self.repo,
            self.clock,
            KEY,
            rng=lambda: 0.0,
            collaborators=collaborators,
            permissions=self.store,
        )

    def poll(self, max_requests: int | None = None, max_retries: int | None = None) -> PollOutcome:
        return poll_project(self.ctx, "app", max_requests=max_requests, max_retries=max_retries)

    def claimed(self, canonical: str) -> bool:
        return self.store.get_claim(canonical) is not None


# --- who is checked --------------------------------------------------------------------------------


def test_an_owners_and_a_collaborators_issues_start_without_asking_github_about_anyone() -> None:
    # GIVEN matching issues by the owner and by a collaborator
    world = World(Collaborators())
    owners = world.repo.open("acme", "OWNER")
    collaborators = world.repo.open("bob", "COLLABORATOR")
    # WHEN the project is polled
    outcome = world.poll()
    # THEN both start, and no permission was asked: OWNER and COLLABORATOR say write access
    assert outcome.new_sessions == [owners, collaborators]
    assert world.collaborators.asked == [] and outcome.write_checks == 0


def test_a_read_only_members_issue_is_skipped_with_its_reason_and_nothing_is_claimed() -> None:
    # GIVEN an organisation member who may only read, whose issue carries the label
    world = World(Collaborators(reader="read"))
    issue = world.repo.open("reader", "MEMBER")
    # WHEN the project is polled
    outcome = world.poll()
    # THEN the issue starts nothing and is not claimed, one question was asked, and the page is
    # done (committed: the next poll is a 304)
    assert outcome.new_sessions == [] and not world.claimed(issue)
    assert outcome.members_without_write == 1 and world.collaborators.asked == ["reader"]
    assert world.store.ops.count("commit_page") == 1
    assert world.poll().result is PollResult.NOT_MODIFIED


@pytest.mark.parametrize("permission", ["write", "maintain", "admin"])
def test_a_member_who_may_write_starts_a_session_for_one_request(permission: str) -> None:
    # GIVEN a member whom GitHub gives this permission
    world = World(Collaborators(writer=permission))
    issue = world.repo.open("writer", "MEMBER")
    # WHEN the project is polled
    outcome = world.poll()
    # THEN the issue starts, for one request counted with the poll's and in its primary cost
    assert outcome.new_sessions == [issue]
    assert (outcome.write_checks, outcome.requests) == (1, 2)
    # AND GitHub's rate-limit headers of that answer are what the poll recorded
    budget = world.store.get_budget(KEY)
    assert budget is not None and budget.remaining == 3999


@pytest.mark.parametrize("permission", ["read", "none", "triage"])
def test_a_member_below_write_is_skipped(permission: str) -> None:
    world = World(Collaborators(someone=permission))
    world.repo.open("someone", "MEMBER")
    assert world.poll().members_without_write == 1


def test_switched_off_a_members_issue_is_taken_without_a_request() -> None:
    # GIVEN a project that switched the check off, and a read-only member's issue
    world = World(Collaborators(reader="read"), check=False)
    issue = world.repo.open("reader", "MEMBER")
    # WHEN polled THEN it starts, and GitHub was not asked
    assert world.poll().new_sessions == [issue]
    assert world.collaborators.asked == []


def test_a_member_github_names_no_login_for_is_skipped_without_a_request() -> None:
    world = World(Collaborators())
    world.repo.open(None, "MEMBER")  # type: ignore[arg-type]
    outcome = world.poll()
    assert outcome.members_without_write == 1 and world.collaborators.asked == []


def test_a_members_issue_already_taken_costs_no_request() -> None:
    # GIVEN a member's issue that became a session, and the page changing for another reason
    world = World(Collaborators(writer="write"))
    issue = world.repo.open("writer", "MEMBER")
    world.poll()
    world.collaborators.asked.clear()
    world.clock.advance(2 * 3600)  # long after the answer was kept
    world.repo.open("acme", "OWNER")
    # WHEN the changed page is polled
    outcome = world.poll()
    # THEN the settled issue was not checked again
    assert world.collaborators.asked == [] and issue not in outcome.new_sessions


def test_a_members_issue_recorded_as_backlog_costs_no_request() -> None:
    # GIVEN intake switched on with `backlog: new` over a member's issue
    world = World(Collaborators(reader="read"), backlog="new")
    issue = world.repo.open("reader", "MEMBER")
    world.store.replace_config("app", world.store.get_project("app").config, None, NOW, snapshot=Snapshot.START)
    # WHEN the first poll records the backlog
    outcome = world.poll()
    # THEN the issue is recorded (it starts nothing), and nobody was asked about its author
    assert outcome.backlog_recorded == 1 and world.collaborators.asked == []
    claim = world.store.get_claim(issue)
    assert claim is not None and claim.status is ClaimStatus.BACKLOG


def test_issues_held_back_by_the_sessions_cap_are_not_checked() -> None:
    # GIVEN a cap of one session a poll and two members' issues
    world = World(Collaborators(a="write", b="write"), cap=1)
    first = world.repo.open("a", "MEMBER")
    world.repo.open("b", "MEMBER")
    # WHEN polled THEN only the first member was asked about: the second issue waits for the cap
    outcome = world.poll()
    assert outcome.new_sessions == [first] and world.collaborators.asked == ["a"]


def test_the_kept_answers_on_a_pages_members_are_read_in_one_batch() -> None:
    # GIVEN three members' issues on one page
    world = World(Collaborators(a="write", b="write", c="read"))
    for login in ("a", "b", "c", "a"):
        world.repo.open(login, "MEMBER")
    world.store.ops.reset()
    # WHEN polled
    world.poll()
    # THEN the kept answers were read once, and each member asked about once
    assert world.store.ops.count("get_permissions") == 1
    assert sorted(world.collaborators.asked) == ["a", "b", "c"]


# --- the kept answer ---------------------------------------------------------------------------------


def test_a_second_poll_uses_the_kept_answer_until_it_is_an_hour_old() -> None:
    # GIVEN a member who may write, whose first issue started a session
    world = World(Collaborators(writer="write"))
    world.repo.open("writer", "MEMBER")
    world.poll()
    # WHEN they open another issue within the hour
    world.clock.advance((MAY_WRITE_FOR - timedelta(seconds=1)).total_seconds())
    second = world.repo.open("writer", "MEMBER")
    within = world.poll()
    # THEN it starts without a request
    assert within.new_sessions == [second] and within.write_checks == 0
    # AND an issue after the hour asks again
    world.clock.advance(1)
    third = world.repo.open("writer", "MEMBER")
    after = world.poll()
    assert after.new_sessions == [third] and world.collaborators.asked == ["writer", "writer"]


def test_may_not_is_kept_a_quarter_of_an_hour_so_write_access_given_later_takes_the_next_issue() -> None:
    # GIVEN a read-only member's skipped issue
    world = World(Collaborators(reader="read"))
    world.repo.open("reader", "MEMBER")
    world.poll()
    # WHEN they are given write access, and open another issue at once, then after 15 minutes
    world.collaborators.permissions["reader"] = "write"
    world.clock.advance(60)
    soon = world.repo.open("reader", "MEMBER")
    early = world.poll()
    world.clock.advance(MAY_NOT_WRITE_FOR.total_seconds())
    world.repo.open("acme", "OWNER")  # the page changes again
    later = world.poll()
    # THEN the kept "may not" holds at first, and the fresh answer takes the issue
    assert early.new_sessions == [] and early.write_checks == 0
    assert soon in later.new_sessions and later.write_checks == 1


def test_an_answer_is_kept_per_project_repository_and_login() -> None:
    world = World(Collaborators(writer="write"))
    world.repo.open("Writer", "MEMBER")
    world.poll()
    kept = world.store.get_permissions("app", "acme/app", ["writer"])
    assert kept["writer"] == Permission("acme/app", "Writer", "write", NOW)


def test_a_store_that_cannot_read_the_kept_answers_costs_a_request_never_a_wrong_answer() -> None:
    # GIVEN a read-only member's answer kept, and the store failing its next read
    world = World(Collaborators(reader="read"))
    world.store.put_permission("app", Permission("acme/app", "reader", "write", NOW))  # stale "may write"
    world.collaborators.permissions["reader"] = "read"
    world.store.fail("get_permissions", StoreUnavailable("DynamoDB read permissions failed: throttled"))
    world.repo.open("reader", "MEMBER")
    # WHEN polled THEN GitHub was asked instead, and its answer decided
    outcome = world.poll()
    assert world.collaborators.asked == ["reader"] and outcome.members_without_write == 1


# --- a check that cannot be made never lets the issue through --------------------------------------


def test_a_check_stopped_by_the_grant_holds_the_issue_and_the_page_for_the_next_poll() -> None:
    # GIVEN a member who may write, and a poll granted a single request (its page)
    world = World(Collaborators(writer="write"))
    issue = world.repo.open("writer", "MEMBER")
    # WHEN polled
    outcome = world.poll(max_requests=1)
    # THEN the issue waits, unclaimed, the page is not committed, and the next poll asks for two
    assert outcome.new_sessions == [] and outcome.writes_unchecked == 1 and not world.claimed(issue)
    assert world.collaborators.asked == [] and world.store.ops.count("commit_page") == 0
    assert world.store.get_project("app").poll.pages_read == 2
    # AND a poll granted two requests reads the page again and starts it
    again = world.poll(max_requests=2)
    assert again.result is PollResult.CHANGED and again.new_sessions == [issue]


def test_a_check_past_the_grant_takes_a_spare_retry_and_starts_the_issue_in_the_same_poll() -> None:
    # GIVEN two members who may write, and a poll granted one request (its page) and one spare
    # retry (the dispatcher grants retries only from what the credential's minute leaves spare)
    world = World(Collaborators(writer="write", other="write"))
    first = world.repo.open("writer", "MEMBER")
    second = world.repo.open("other", "MEMBER")
    # WHEN polled
    outcome = world.poll(max_requests=1, max_retries=1)
    # THEN the first member's check takes the spare retry and their issue starts now; the second
    # waits for a grant that includes it, and the page waits with it
    assert outcome.new_sessions == [first] and outcome.writes_unchecked == 1
    assert world.collaborators.asked == ["writer"] and not world.claimed(second)
    assert world.store.ops.count("commit_page") == 0
    assert world.store.get_project("app").poll.pages_read == 3


def test_a_passing_github_failure_holds_the_issue_back_without_a_backoff() -> None:
    # GIVEN GitHub failing the member's check in passing
    collaborators = Collaborators(writer="write")
    collaborators.failure = TrackerUnavailable("GitHub is unavailable (503) for acme/app", retryable=True)
    world = World(collaborators)
    issue = world.repo.open("writer", "MEMBER")
    owners = world.repo.open("acme", "OWNER")
    # WHEN polled
    outcome = world.poll()
    # THEN the member's issue waits (not claimed, page not committed); the owner's starts
    assert outcome.new_sessions == [owners] and outcome.writes_unchecked == 1
    assert not world.claimed(issue) and world.store.ops.count("commit_page") == 0
    assert world.store.get_project("app").poll.backoff_until is None
    # AND once GitHub answers, the next poll takes it
    collaborators.failure = None
    assert world.poll().new_sessions == [issue]


def test_a_credential_that_may_not_read_permissions_fails_the_poll_saying_what_it_lacks() -> None:
    # GIVEN a credential GitHub refuses the question (a 403, no rate limit)
    collaborators = Collaborators()
    collaborators.failure = WriteAccessUnreadable("GitHub refused ...: Metadata: read")
    world = World(collaborators)
    issue = world.repo.open("writer", "MEMBER")
    # WHEN polled
    outcome = world.poll()
    # THEN nothing is claimed, and the project backs off for a persistent failure that says why
    assert outcome.result is PollResult.FAILED and outcome.error_kind == "write_access_unreadable"
    assert not outcome.transient and not world.claimed(issue)
    assert "Metadata: read" in (world.store.get_project("app").poll.last_error or "")


def test_without_a_way_to_ask_a_members_issue_waits() -> None:
    world = World(Collaborators(writer="write"))
    world.ctx = replace(world.ctx, collaborators=None)
    issue = world.repo.open("writer", "MEMBER")
    outcome = world.poll()
    assert outcome.writes_unchecked == 1 and not world.claimed(issue)


# --- the preview makes the same check -----------------------------------------------------------------


def _preview(world: World, per_minute: int | None = 100, cap: int = 3) -> Any:
    ctx = PreviewContext(
        world.repo,
        world.store,
        world.clock,
        KEY,
        requests_per_minute=per_minute,
        page_cap=cap,
        ledger=world.store,
        collaborators=world.collaborators,
        permissions=world.store,
        project_id="app",
    )
    return preview(ctx, world.store.get_project("app").config)


def test_the_preview_skips_a_read_only_members_issue_with_its_reason_and_keeps_the_answer() -> None:
    # GIVEN a read-only member's issue and a writer's
    world = World(Collaborators(reader="read", writer="write"))
    read_only = world.repo.open("reader", "MEMBER")
    writers = world.repo.open("writer", "MEMBER")
    # WHEN the rule is previewed
    result = _preview(world)
    # THEN the writer's is taken, the reader's skipped as a member without write access
    assert [i.canonical_id for i in result.eligible] == [writers]
    assert [(i.canonical_id, r) for i, r in result.skipped] == [(read_only, SkipReason.MEMBER_WITHOUT_WRITE)]
    assert result.requests == 3  # the page and two checks
    # AND the poll that follows uses the answers the preview kept
    world.poll()
    assert world.collaborators.asked == ["reader", "writer"]


def test_a_preview_that_cannot_check_says_so_rather_than_guess() -> None:
    # GIVEN a member's issue, and a preview that reserved a single request (its page)
    world = World(Collaborators(writer="write"))
    issue = world.repo.open("writer", "MEMBER")
    # WHEN previewed
    result = _preview(world, cap=1)
    # THEN the issue is neither taken nor skipped for its author: the reason says it was not checked
    assert result.eligible == () and result.skipped == ()
    ((unchecked, why),) = result.unchecked
    assert unchecked.canonical_id == issue
    assert why == "member: write access not checked: the 1 GitHub requests this preview reserved are spent"
    assert [(i.canonical_id, r) for i, r in result.reasons()] == [(issue, why)]


def test_a_preview_says_why_github_would_not_answer() -> None:
    collaborators = Collaborators()
    collaborators.failure = WriteAccessUnreadable("GitHub refused to say whether writer may write to acme/app")
    world = World(collaborators)
    world.repo.open("writer", "MEMBER")
    ((_, why),) = _preview(world).unchecked
    assert why.startswith("member: write access not checked: GitHub refused to say")
