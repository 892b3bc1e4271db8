"""Every tracker's polls in the activity log, and "last change" on the tracker's clock: the same
tests for GitHub, Linear and Jira (`board`, conftest.py), on the real handlers over moto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from boards import Board, later

from tracker_intake.domain.records import PollResult


def last_change(board: Board) -> datetime | None:
    return board.pipe.store.get_project("app").poll.last_change_at


def updated(board: Board, issue_id: str) -> datetime:
    """The issue's `updated_at` on its tracker, as the answer that matched it said it."""
    claim = board.pipe.store.get_claim(issue_id)
    assert claim is not None and claim.issue.updated_at is not None
    return datetime.fromisoformat(claim.issue.updated_at).astimezone(UTC)


def test_a_poll_that_starts_a_session_is_recorded_with_its_tracker_and_the_new_session(board: Board) -> None:
    # GIVEN a project whose rule matches one issue
    issue = board.add("crash on start")
    board.pipe.create_project("app", **board.rule(backlog="all"))
    # WHEN it is polled
    board.pipe.poll("app")
    # THEN the activity log holds the poll: changed, on this tracker, naming the session it started
    (entry,) = board.pipe.store.list_polls("app", 10, None)[0]
    assert (entry.result, entry.provider, entry.new_sessions) == (PollResult.CHANGED, board.provider, (issue,))
    assert entry.requests >= entry.pages >= 1
    assert board.pipe.store.get_project("app").poll.checked_at == entry.at


def test_a_cold_cache_leaves_the_last_change_at_the_trackers_time(board: Board) -> None:
    # GIVEN a project polled a minute after its one issue was opened
    issue = board.add("crash on start")
    board.pipe.create_project("app", **board.rule(backlog="all"))
    later(board)
    board.pipe.poll("app")
    assert last_change(board) == updated(board, issue)
    # WHEN the handlers restart with the project's cache dropped, and it is polled again later
    board.pipe.restart(fresh_modules=True)
    board.pipe.store.forget_pages("app")
    later(board)
    board.pipe.poll("app")
    # THEN the last change is still the issue's, not the restart's nor a poll's
    assert last_change(board) == updated(board, issue)
    assert updated(board, issue) < board.pipe.clock.now() - timedelta(seconds=60)


def test_a_change_on_the_tracker_moves_the_last_change_to_its_time(board: Board) -> None:
    # GIVEN a polled project at rest
    first = board.add("crash on start")
    board.pipe.create_project("app", **board.rule(backlog="all"))
    board.pipe.poll("app")
    later(board, 300)
    # WHEN an issue is opened on the tracker, and the project is polled a minute later
    second = board.add("slow export")
    later(board)
    board.pipe.poll("app")
    # THEN the last change is the new issue's time, later than the first's
    assert last_change(board) == updated(board, second) > updated(board, first)
