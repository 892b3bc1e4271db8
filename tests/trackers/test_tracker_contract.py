"""The contract every tracker keeps, the same tests for GitHub and Linear (`board`, conftest.py):
exactly once, crashes, release then run again, backlog `new` and `all`, authors, pacing and
backoff, on the real dispatcher and poller handlers over moto and each tracker's stand-in."""

from __future__ import annotations

from typing import Any

import pytest
from boards import Board, later

from tracker_intake.domain import changes
from tracker_intake.domain.changes import release_claim
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.errors import QueueUnavailable
from tracker_intake.domain.ports import SessionQueue
from tracker_intake.domain.records import ClaimStatus
from tracker_intake.domain.session import SessionRequest


class Crash(Exception):
    """The poller's container dies here."""


class CrashingQueue:
    """Dies once, before the request is sent (`after_send` False) or after it (True)."""

    def __init__(self, inner: SessionQueue, *, after_send: bool) -> None:
        self.inner = inner
        self.after_send = after_send
        self.crashed = False

    def send(self, request: SessionRequest) -> None:
        if not self.crashed and not self.after_send:
            self.crashed = True
            raise Crash("died before SendMessage")
        self.inner.send(request)
        if not self.crashed and self.after_send:
            self.crashed = True
            raise Crash("died after SendMessage, before marking enqueued")


def sessions(board: Board) -> list[str]:
    return sorted(m.issue_id for m in board.pipe.drain())


def start(board: Board, **rule: Any) -> None:
    board.pipe.create_project("app", **board.rule(**{"backlog": "all", **rule}))


def test_each_matching_issue_starts_exactly_one_session_across_polls_and_a_restart(board: Board) -> None:
    # GIVEN two matching issues, one without the label and one closed
    wanted = [board.add("crash on start"), board.add("slow export")]
    board.add("no label", labels=())
    board.close(board.add("closed already"))
    start(board)
    # WHEN it is polled, the handlers restart (a cold start), and it is polled again twice
    board.pipe.poll("app")
    board.pipe.restart(fresh_modules=True)
    for _ in range(2):
        later(board)
        board.pipe.poll("app")
    # THEN each matching open issue was sent exactly once, and nothing else
    assert sessions(board) == sorted(wanted)


def test_an_issue_that_comes_to_match_later_starts_once(board: Board) -> None:
    # GIVEN a polled project and an issue without the label
    start(board)
    issue = board.add("later", labels=())
    board.pipe.poll("app")
    assert sessions(board) == []
    # WHEN the label is added, and the project is polled twice
    later(board)
    board.relabel(issue, ("agent",))
    for _ in range(2):
        later(board)
        board.pipe.poll("app")
    # THEN it started one session
    assert sessions(board) == [issue]


def test_an_untrusted_authors_issue_starts_nothing(board: Board) -> None:
    # GIVEN a matching issue by a trusted author and one by an author the default rule refuses
    trusted = board.add("by a member")
    board.add("by an outsider", trusted=False)
    start(board)
    # WHEN it is polled
    board.pipe.poll("app")
    # THEN only the trusted author's issue started a session
    assert sessions(board) == [trusted]


def test_a_released_session_starts_again_once_in_a_new_generation(board: Board) -> None:
    # GIVEN an issue with a session
    issue = board.add("flaky")
    start(board)
    board.pipe.poll("app")
    assert sessions(board) == [issue]
    # WHEN its claim is released (as the API does), and the project is polled twice
    release_claim(board.pipe.store, board.pipe.store, "app", issue, board.pipe.clock.now())
    for _ in range(2):
        later(board)
        board.pipe.poll("app")
    # THEN it started exactly one more session, in generation 2
    (request,) = board.pipe.drain()
    assert request.issue_id == issue and request.generation == 2


def test_backlog_new_records_what_matched_at_switch_on_and_starts_only_later_issues(board: Board) -> None:
    # GIVEN an issue that matches when intake is switched on under `backlog: new` (as the API does it)
    old = board.add("old")
    config = ProjectConfig.model_validate({"trackerIntake": {"enabled": True, **board.rule(backlog="new")}})
    changes.create_project(board.pipe.store, "app", config, board.pipe.clock.now())
    later(board)
    board.pipe.poll("app")
    # WHEN a new issue matches afterwards, and the project is polled twice
    later(board)
    new = board.add("new")
    for _ in range(2):
        later(board)
        board.pipe.poll("app")
    # THEN the old one is kept as backlog without a session, and only the new one started
    assert sessions(board) == [new]
    claim = board.pipe.claim(old)
    assert claim is not None and claim.status is ClaimStatus.BACKLOG


def test_backlog_all_starts_what_matched_at_switch_on(board: Board) -> None:
    # GIVEN two matching issues before intake is switched on under `backlog: all`
    wanted = [board.add("one"), board.add("two")]
    # WHEN it is switched on and polled
    start(board, backlog="all")
    board.pipe.poll("app")
    # THEN both started
    assert sessions(board) == sorted(wanted)


@pytest.mark.parametrize("after_send", [False, True], ids=["before-send", "after-send"])
def test_a_poller_that_dies_at_the_queue_loses_nothing_and_sends_nothing_twice(board: Board, after_send: bool) -> None:
    # GIVEN one matching issue and a poller that dies at the send (before it, or after it)
    issue = board.add("fix me")
    start(board)
    board.pipe.queue_wrapper = lambda q: CrashingQueue(q, after_send=after_send)
    board.pipe.restart()
    with pytest.raises(Crash):
        board.pipe.poll("app")
    # WHEN fresh containers poll a minute later, and again
    board.pipe.queue_wrapper = lambda q: q
    board.pipe.restart()
    for _ in range(2):
        later(board)
        board.pipe.poll("app")
    # THEN the queue delivers the request exactly once, and the claim ends enqueued
    assert sessions(board) == [issue]
    claim = board.pipe.claim(issue)
    assert claim is not None and claim.status is ClaimStatus.ENQUEUED


def test_a_queue_outage_backs_the_project_off_and_loses_nothing(board: Board) -> None:
    # GIVEN a matching issue and a queue that is down for one poll
    issue = board.add("a")
    start(board)

    class DownQueue:
        def send(self, request: SessionRequest) -> None:
            raise QueueUnavailable("SQS is down")

    board.pipe.queue_wrapper = lambda q: DownQueue()
    board.pipe.restart()
    assert board.pipe.poll("app")["errorKind"] == "queue_unavailable"
    # WHEN the queue is back and the backoff has passed
    board.pipe.queue_wrapper = lambda q: q
    board.pipe.restart()
    later(board, 6 * 60)
    board.pipe.poll("app")
    # THEN the issue is enqueued exactly once
    assert sessions(board) == [issue]


def test_a_tracker_outage_backs_the_project_off_then_it_catches_up(board: Board) -> None:
    # GIVEN a matching issue and a tracker answering 502 to every request for a while
    issue = board.add("a")
    start(board)
    board.fail_next(10, 502)
    # WHEN the project is polled
    result = board.pipe.poll("app")
    # THEN the poll failed as transient and the project backs off, starting nothing
    assert result["result"] == "failed" and result["errorKind"] == "tracker_unavailable"
    assert board.pipe.project("app").poll.backoff_until is not None
    assert sessions(board) == []
    # ... and once the tracker answers and the backoff has passed, the issue starts once
    board.heal()
    later(board, 6 * 60)
    board.pipe.poll("app")
    assert sessions(board) == [issue]


def test_a_rate_limited_credential_is_paused_and_asks_nothing_until_its_reset(board: Board) -> None:
    # GIVEN a matching issue and a credential the tracker says is spent
    issue = board.add("a")
    start(board)
    board.spend_budget()
    # WHEN the project is polled, then polled again half a minute later
    first = board.pipe.poll("app")
    asked = board.requests()
    later(board, 30)
    second = board.pipe.poll("app")
    # THEN the credential is paused (not the project's failure), and the second poll asked nothing
    assert first["result"] == "credential_paused"
    assert second["result"] == "credential_paused"
    assert board.requests() == asked
    assert board.pipe.project("app").poll.consecutive_failures == 0
    # ... and after the reset, the issue starts once
    later(board, 2 * 60 * 60)
    board.pipe.poll("app")
    assert sessions(board) == [issue]
