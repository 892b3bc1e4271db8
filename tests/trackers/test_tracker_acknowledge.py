"""The acknowledgement on the issue, the same tests for every tracker (`board`): written once per
claim generation, whatever SQS redelivers and wherever the launcher dies, on the real poller and
launcher handlers over moto and the tracker's stand-in."""

from __future__ import annotations

from typing import Any

import pytest
from boards import Board, later
from harness import CrashingLedger, Launcher

from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.domain.changes import release_claim
from tracker_intake.domain.records import Acknowledgement, AckState, ClaimStatus


def _launched(board: Board, issue: str, acknowledge: str, **launcher: Any) -> Launcher:
    board.pipe.create_project("app", **board.rule(backlog="all", acknowledge=acknowledge))
    launch = Launcher(board.pipe, **launcher)
    board.pipe.poll("app")
    return launch


def _ack(board: Board, issue: str) -> Acknowledgement:
    claim = board.pipe.claim(issue)
    assert claim is not None and claim.status is ClaimStatus.LAUNCHED and claim.ack is not None
    return claim.ack


def test_a_comment_is_written_once_naming_the_session_and_recorded_with_its_url(board: Board) -> None:
    # GIVEN a project that acknowledges with a comment, and a matching issue
    issue = board.add("fix me")
    launcher = _launched(board, issue, "comment")
    # WHEN its request is launched, and the next polls run
    assert launcher.drain() == set()
    for _ in range(2):
        later(board)
        board.pipe.poll("app")
    assert launcher.drain() == set()
    # THEN the issue has one comment naming the session, and the claim records it done with its URL
    (comment,) = board.comments(issue)
    ack = _ack(board, issue)
    assert "A worker session started for this issue: `log`" in comment and ack.marker in comment
    assert ack.state is AckState.DONE and ack.url is not None and ack.attempts == 1


@pytest.mark.parametrize("acknowledge", ["reaction", "label"])
def test_a_reaction_or_a_label_is_written_once(board: Board, acknowledge: str) -> None:
    # GIVEN a project that acknowledges with a reaction (or the in-progress label)
    issue = board.add("fix me")
    launcher = _launched(board, issue, acknowledge)
    # WHEN it is launched, then polled again (a label changes the issue) and the queue drained
    assert launcher.drain() == set()
    later(board)
    assert board.pipe.poll("app")["newSessions"] == []
    assert launcher.drain() == set()
    # THEN one reaction, or the label beside the rule's, and nothing else written
    if acknowledge == "reaction":
        assert board.reactions(issue) == 1
    else:
        assert sorted(board.labels(issue)) == ["agent", "in-progress"]
    assert board.comments(issue) == [] and _ack(board, issue).state is AckState.DONE


def test_a_crash_between_the_comment_and_its_record_leaves_one_comment(board: Board) -> None:
    # GIVEN a launcher that writes the comment and dies before recording it
    issue = board.add("fix me")
    ledger = CrashingLedger(DynamoStore(board.pipe.aws["table_name"], client=board.pipe.aws["dynamodb"]))
    launcher = _launched(board, issue, "comment", ledger=ledger)
    messages = launcher.receive()
    assert launcher.deliver(messages) == {messages[0]["MessageId"]}
    assert len(board.comments(issue)) == 1
    # WHEN SQS delivers the message again after the visibility timeout
    later(board, 181)
    assert launcher.deliver(messages, receive_count=2) == set()
    # THEN the comment found is recorded, and none is written again
    assert len(board.comments(issue)) == 1
    ack = _ack(board, issue)
    assert ack.state is AckState.DONE and ack.attempts == 2


def test_each_claim_generation_acknowledges_once(board: Board) -> None:
    # GIVEN an issue acknowledged with a comment
    issue = board.add("fix me")
    launcher = _launched(board, issue, "comment")
    assert launcher.drain() == set()
    # WHEN its session is released, it starts again, and the queue is drained twice
    release_claim(board.pipe.store, board.pipe.store, "app", issue, board.pipe.clock.now())
    later(board)
    board.pipe.poll("app")
    assert launcher.drain() == set()
    assert launcher.drain() == set()
    # THEN it has two comments, one per generation, each naming its own session's marker
    comments = board.comments(issue)
    assert len(comments) == 2
    assert _ack(board, issue).marker in comments[1]
