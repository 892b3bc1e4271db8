"""A poller that dies between SendMessage and `enqueued` must still yield exactly one session."""

from __future__ import annotations

from typing import Any

import pytest
from harness import Pipeline
from test_poll_pipeline import Crash, CrashingQueue

from intake_dev.fake_github import FakeGitHub
from tracker_intake.domain.launch import LaunchContext, launch_session
from tracker_intake.domain.records import ClaimStatus
from tracker_intake.domain.session import LaunchedSession, SessionRequest


class RecordingBackend:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def launch(self, request: SessionRequest, prompt: str) -> LaunchedSession:
        self.calls.append(request.issue_id)
        return LaunchedSession(f"session-{len(self.calls)}")


def _launch_all(pipe: Pipeline, backend: RecordingBackend) -> int:
    """Deliver every queued message to the launcher, as Lambda's SQS integration would."""
    sqs, url = pipe.aws["sqs"], pipe.aws["queue_url"]
    ctx = LaunchContext(ledger=pipe.store, launcher=backend, clock=pipe.clock)
    delivered = 0
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            launch_session(SessionRequest.model_validate_json(message["Body"]), ctx)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            delivered += 1
    return delivered


@pytest.mark.parametrize("launcher_first", [True, False], ids=["launcher-before-next-poll", "next-poll-first"])
def test_crash_after_send_launches_exactly_once(aws: dict[str, Any], github: FakeGitHub, launcher_first: bool) -> None:
    # GIVEN a poller that sends the request and dies before marking the claim enqueued
    github.add_repo("acme", "app").add_issue("fix me", labels=["agent"])
    pipe = Pipeline(aws, github)
    pipe.create_project("app", repo="acme/app", labels=["agent"])
    pipe.queue_wrapper = lambda q: CrashingQueue(q, after_send=True)
    pipe.restart()
    with pytest.raises(Crash):
        pipe.poll("app")
    pipe.queue_wrapper = lambda q: q
    pipe.restart()
    backend = RecordingBackend()
    # WHEN the launcher and the next poll (a minute later, inside SQS's 5-minute dedup
    # window) run in either order, and then both run once more
    pipe.clock.advance(60)
    if launcher_first:
        _launch_all(pipe, backend)
        pipe.poll("app")
    else:
        pipe.poll("app")
        _launch_all(pipe, backend)
    pipe.clock.advance(60)
    pipe.poll("app")
    _launch_all(pipe, backend)
    # THEN the backend was called exactly once and the claim ends launched
    assert backend.calls == ["github:acme/app#1"]
    claim = pipe.claim("github:acme/app#1")
    assert claim is not None and claim.status is ClaimStatus.LAUNCHED
