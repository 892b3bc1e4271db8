"""The launcher's rules on in-memory ports: one claim, at most one session, every outcome recorded."""

from __future__ import annotations

from dataclasses import replace
from typing import cast

import pytest
from fakes import MemoryStore

from intake_dev.clock import FixedClock
from tracker_intake.domain.errors import LaunchRejected, LaunchRetryable, StoreUnavailable
from tracker_intake.domain.launch import (
    STALE_LAUNCH_SECONDS,
    LaunchContext,
    LaunchOutcome,
    LaunchReport,
    Retry,
    idempotency_key,
    launch_session,
)
from tracker_intake.domain.records import Claim, ClaimStatus, IssueSnapshot
from tracker_intake.domain.session import LaunchedSession, SessionIssue, SessionRequest

ISSUE = "github:acme/app#42"


class ScriptedLauncher:
    """A session backend that answers from a script and counts its calls."""

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[SessionRequest, str]] = []

    def launch(self, request: SessionRequest, prompt: str) -> LaunchedSession:
        self.calls.append((request, prompt))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return LaunchedSession(answer)


class Harness:
    def __init__(self, *answers: str | Exception) -> None:
        self.clock = FixedClock()
        self.store = MemoryStore()
        self.backend = ScriptedLauncher(*answers)
        self.reports: list[LaunchReport] = []
        self.ctx = LaunchContext(ledger=self.store, launcher=self.backend, clock=self.clock)

    def claim(self, status: ClaimStatus = ClaimStatus.ENQUEUED, generation: int = 1) -> None:
        self.store.put_claim(
            Claim(
                canonical_id=ISSUE,
                project_id="demo",
                status=status,
                claim_token="t1",
                claimed_at=self.clock.now(),
                updated_at=self.clock.now(),
                issue=IssueSnapshot(42, "Crash", "https://github.com/acme/app/issues/42", ("agent",), (), "", None),
                generation=generation,
            )
        )

    def deliver(self, generation: int = 1) -> LaunchReport:
        body = SessionRequest(
            project_id="demo",
            issue_id=ISSUE,
            issue=SessionIssue(number=42, title="Crash", url="https://github.com/acme/app/issues/42"),
            enqueued_at=self.clock.now(),
            generation=generation,
        )
        # As the launcher's handler does: report the outcome, and fail the message on a retry.
        result = launch_session(body, self.ctx)
        assert result.launch is not None
        self.reports.append(result.launch)
        if isinstance(result, Retry):
            raise result.error
        return result.launch

    @property
    def status(self) -> ClaimStatus:
        claim = self.store.get_claim(ISSUE)
        assert claim is not None
        return claim.status


def test_enqueued_claim_is_launched_and_records_the_session_ref() -> None:
    # GIVEN an enqueued claim and a backend that starts session s-1
    h = Harness("s-1")
    h.claim()
    # WHEN the request is delivered
    report = h.deliver()
    # THEN the claim is launched with the backend's reference
    assert report.outcome is LaunchOutcome.LAUNCHED
    assert h.status is ClaimStatus.LAUNCHED
    assert h.store.get_claim(ISSUE).session_ref == "s-1"  # type: ignore[union-attr]


def test_duplicate_delivery_of_a_launched_claim_does_not_call_the_backend() -> None:
    # GIVEN a request already launched once
    h = Harness("s-1")
    h.claim()
    h.deliver()
    # WHEN the same message is delivered again
    report = h.deliver()
    # THEN it is a counted no-op
    assert report.outcome is LaunchOutcome.DUPLICATE
    assert len(h.backend.calls) == 1


def test_rejected_launch_marks_the_claim_failed_with_the_reason() -> None:
    # GIVEN a backend that refuses the request for good
    h = Harness(LaunchRejected("HTTP 400: unknown repository"))
    h.claim()
    # WHEN the request is delivered
    report = h.deliver()
    # THEN the claim is failed, with the reason, and nothing is raised (no retry)
    assert report.outcome is LaunchOutcome.REJECTED
    assert h.status is ClaimStatus.FAILED
    assert "unknown repository" in (h.store.get_claim(ISSUE).reason or "")  # type: ignore[union-attr]


def test_retryable_failure_puts_the_claim_back_and_raises() -> None:
    # GIVEN a backend that is down
    h = Harness(LaunchRetryable("HTTP 503"))
    h.claim()
    # WHEN the request is delivered
    with pytest.raises(LaunchRetryable):
        h.deliver()
    # THEN the claim is enqueued again so SQS's retry can launch it
    assert h.status is ClaimStatus.ENQUEUED
    assert [r.outcome for r in h.reports] == [LaunchOutcome.RETRY]


def test_retry_after_a_retryable_failure_launches_once() -> None:
    # GIVEN a backend that fails once, then starts the session
    h = Harness(LaunchRetryable("HTTP 503"), "s-1")
    h.claim()
    with pytest.raises(LaunchRetryable):
        h.deliver()
    # WHEN SQS delivers the message again
    report = h.deliver()
    # THEN it is launched
    assert report.outcome is LaunchOutcome.LAUNCHED
    assert h.status is ClaimStatus.LAUNCHED


def test_claim_stuck_in_launching_past_the_threshold_is_launched_on_redelivery() -> None:
    # GIVEN a claim left in launching by a launcher that died mid-way
    h = Harness("s-1")
    h.claim(ClaimStatus.LAUNCHING)
    h.clock.advance(STALE_LAUNCH_SECONDS + 1)
    # WHEN the message comes back
    report = h.deliver()
    # THEN the redelivery takes it over and launches
    assert report.outcome is LaunchOutcome.LAUNCHED
    assert h.status is ClaimStatus.LAUNCHED


def test_claim_launching_recently_is_retried_later_without_calling_the_backend() -> None:
    # GIVEN a claim that went to launching a moment ago
    h = Harness("s-1")
    h.claim(ClaimStatus.LAUNCHING)
    h.clock.advance(5)
    # WHEN a delivery finds it
    with pytest.raises(LaunchRetryable):
        h.deliver()
    # THEN the backend is not called, the claim stays launching, and a retry is reported
    assert h.backend.calls == []
    assert h.status is ClaimStatus.LAUNCHING
    assert [r.outcome for r in h.reports] == [LaunchOutcome.RETRY]


def test_claim_left_claimed_by_a_poller_that_died_after_sending_is_launched() -> None:
    # GIVEN a poller sent the request and died before marking the claim enqueued
    h = Harness("s-1")
    h.claim(ClaimStatus.CLAIMED)
    # WHEN the request is delivered (a re-send by the next poll may be dropped by SQS's
    # 5-minute deduplication, so this delivery may be the only one)
    report = h.deliver()
    # THEN it is launched once and recorded
    assert report.outcome is LaunchOutcome.LAUNCHED
    assert len(h.backend.calls) == 1
    assert h.status is ClaimStatus.LAUNCHED


@pytest.mark.parametrize("status", [ClaimStatus.FAILED, ClaimStatus.RELEASED, ClaimStatus.LAUNCHED])
def test_claim_not_enqueued_is_a_no_op(status: ClaimStatus) -> None:
    # GIVEN a claim that is not waiting to be launched
    h = Harness("s-1")
    h.claim(status)
    # WHEN a request for it is delivered
    report = h.deliver()
    # THEN nothing is called and nothing changes
    assert report.outcome is LaunchOutcome.DUPLICATE
    assert h.backend.calls == []
    assert h.status is status


def test_request_of_an_older_generation_is_a_no_op() -> None:
    # GIVEN the claim was released and taken again (generation 2)
    h = Harness("s-2")
    h.claim(generation=2)
    # WHEN a late copy of the generation-1 request arrives
    report = h.deliver(generation=1)
    # THEN it does not launch the new generation's session
    assert report.outcome is LaunchOutcome.DUPLICATE
    assert h.backend.calls == []


def test_request_without_a_claim_is_a_counted_no_op() -> None:
    # GIVEN no claim for the issue
    h = Harness("s-1")
    # WHEN a request arrives
    report = h.deliver()
    # THEN it is reported and nothing is launched
    assert report.outcome is LaunchOutcome.NO_CLAIM
    assert h.backend.calls == []


class LosesTheFirstLaunchRecord:
    """A ledger whose write of `launched` fails once: the crash between launch and record."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.failed = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    def transition(
        self, canonical_id: str, from_status: object, to_status: ClaimStatus, *a: object, **kw: object
    ) -> bool:
        if to_status is ClaimStatus.LAUNCHED and not self.failed:
            self.failed = True
            raise StoreUnavailable("throttled")
        return self.store.transition(canonical_id, from_status, to_status, *a, **kw)  # type: ignore[arg-type]


def test_crash_between_launch_and_record_is_finished_by_the_redelivery() -> None:
    # GIVEN the session started but recording `launched` failed, leaving the claim launching
    h = Harness("s-1", "s-1")
    h.claim()
    h.ctx = replace(h.ctx, ledger=LosesTheFirstLaunchRecord(h.store))  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailable):
        h.deliver()
    assert h.status is ClaimStatus.LAUNCHING
    # WHEN SQS redelivers after its visibility timeout
    h.clock.advance(STALE_LAUNCH_SECONDS + 1)
    report = h.deliver()
    # THEN the claim is launched; the backend saw the same request twice (same Idempotency-Key)
    assert report.outcome is LaunchOutcome.LAUNCHED
    assert cast(ClaimStatus, h.status) is ClaimStatus.LAUNCHED  # re-read: not the narrowed value above
    assert [idempotency_key(call[0]) for call in h.backend.calls] == ["demo:github:acme/app#42"] * 2
