"""What one delivery of a session request comes to, as a value the handler carries out: done,
retry, or redeliver (parked out of the project's group, or hidden in it until its time)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fakes import MemoryStore

from intake_dev.clock import FixedClock
from tracker_intake.domain.ack_decision import AckDeferred
from tracker_intake.domain.acknowledge import AckContext, AckOutcome
from tracker_intake.domain.config import Acknowledge
from tracker_intake.domain.errors import LaunchRetryable, StoreUnavailable
from tracker_intake.domain.launch import (
    EARLY_FOR_SLOT,
    WRITE_RESERVE,
    Delivery,
    Done,
    LaunchContext,
    LaunchOutcome,
    Redeliver,
    Retry,
    delivery_from,
    launch_session,
    redeliver,
)
from tracker_intake.domain.records import Claim, ClaimStatus, IssueSnapshot
from tracker_intake.domain.session import LaunchedSession, SessionIssue, SessionRequest

ISSUE = "github:acme/app#42"
CLOCK = FixedClock()
NOW = CLOCK.now()


class Backend:
    def __init__(self, answer: str | Exception = "s-1") -> None:
        self.answer = answer

    def launch(self, request: SessionRequest, prompt: str) -> LaunchedSession:
        if isinstance(self.answer, Exception):
            raise self.answer
        return LaunchedSession(self.answer)


class Queue:
    """The launch queue's `Redelivery`, as far as a decision needs it: which groups are parked ones."""

    def park(self, request: SessionRequest, until: datetime) -> None:
        raise AssertionError("the domain decides to park; the handler parks")

    def parked(self, message_group_id: str) -> bool:
        return message_group_id.startswith("ack#")

    def delay(self, receipt_handle: str, seconds: int) -> None:
        raise AssertionError("the domain decides the delay; the handler sets it")


def a_request(kind: Acknowledge = Acknowledge.NONE) -> SessionRequest:
    issue = SessionIssue(number=42, title="Crash", url="https://github.com/acme/app/issues/42")
    return SessionRequest(project_id="demo", issue_id=ISSUE, issue=issue, enqueued_at=NOW, acknowledge=kind)


def a_context(backend: Backend, *, queue: bool = True) -> tuple[LaunchContext, MemoryStore]:
    """An enqueued claim, and a launcher whose acknowledgement's project read fails (so it waits a minute)."""
    store = MemoryStore()
    issue = IssueSnapshot(42, "Crash", "https://github.com/acme/app/issues/42", (), (), "", None)
    store.put_claim(Claim(ISSUE, "demo", ClaimStatus.ENQUEUED, "t1", NOW, issue, updated_at=NOW))
    store.fail("get_project", StoreUnavailable("throttled"))
    ack = AckContext(projects=store, credentials=None, pace=store, budgets=store, sleep=lambda _: None)  # type: ignore[arg-type]
    ctx = LaunchContext(ledger=store, launcher=backend, clock=CLOCK, ack=ack, redelivery=Queue() if queue else None)
    return ctx, store


def test_a_launch_with_nothing_to_acknowledge_is_done() -> None:
    # GIVEN an enqueued claim and a request that asks for no acknowledgement
    ctx, _ = a_context(Backend("s-1"))
    # WHEN it is delivered
    result = launch_session(a_request(), ctx)
    # THEN it is done, reporting the launch, and that there was no acknowledgement to write
    assert isinstance(result, Done) and result.ack is not None and result.ack.outcome is AckOutcome.NONE
    assert result.launch is not None and result.launch.outcome is LaunchOutcome.LAUNCHED


def test_a_backend_that_fails_in_passing_asks_for_a_retry() -> None:
    # GIVEN a backend answering 503
    error = LaunchRetryable("HTTP 503")
    ctx, store = a_context(Backend(error))
    # WHEN the request is delivered
    result = launch_session(a_request(), ctx)
    # THEN the message is to fail with that error, the retry reported, the claim enqueued again
    assert isinstance(result, Retry) and result.error is error
    assert result.launch is not None and result.launch.outcome is LaunchOutcome.RETRY
    assert store.get_claim(ISSUE).status is ClaimStatus.ENQUEUED  # type: ignore[union-attr]


def test_a_waiting_acknowledgement_is_parked_the_first_time() -> None:
    # GIVEN a launch whose acknowledgement must wait (its project read failed: a minute)
    ctx, _ = a_context(Backend("s-1"))
    # WHEN the request is delivered in its project's group
    result = launch_session(a_request(Acknowledge.COMMENT), ctx, Delivery())
    # THEN it is parked, the launch and the deferral reported, hidden a minute if it cannot be
    assert isinstance(result, Redeliver) and result.park and result.hidden_for == 60
    assert result.launch is not None and result.launch.outcome is LaunchOutcome.LAUNCHED
    assert result.ack is not None and result.ack.outcome is AckOutcome.DEFERRED
    assert result.deferred.until == NOW + timedelta(seconds=60)


def test_a_parked_copy_that_must_wait_again_is_hidden_and_reports_nothing() -> None:
    # GIVEN the parked copy of a launched request, whose acknowledgement still waits
    ctx, _ = a_context(Backend("s-1"))
    launch_session(a_request(), ctx)
    parked = delivery_from(ctx, receive_count=1, message_group="ack#0123")
    # WHEN it is delivered
    result = launch_session(a_request(Acknowledge.COMMENT), ctx, parked)
    # THEN it waits in its own group, hidden, and its launch (a duplicate) is not reported again
    assert isinstance(result, Redeliver) and not result.park and result.hidden_for == 60
    assert result.launch is None and result.ack is None


def test_without_a_queue_to_park_in_the_visibility_timeout_decides() -> None:
    # GIVEN a launcher with no redelivery port
    ctx, _ = a_context(Backend("s-1"), queue=False)
    # WHEN a launch's acknowledgement must wait
    result = launch_session(a_request(Acknowledge.COMMENT), ctx)
    # THEN the message fails as it is: no park, no delay, no deferral reported
    assert isinstance(result, Redeliver) and not result.park and result.hidden_for is None and result.ack is None


@pytest.mark.parametrize(
    ("ahead", "hidden_for"),
    [(10.0, 10 - EARLY_FOR_SLOT), (EARLY_FOR_SLOT + 1.0, 1), (EARLY_FOR_SLOT + 0.9, 0), (0.5, 0), (-3.0, 0)],
)
def test_a_kept_slot_is_come_back_for_early_for_slot_seconds_early(ahead: float, hidden_for: int) -> None:
    # GIVEN a parked copy waiting for a write slot `ahead` seconds on
    deferred = AckDeferred(NOW + timedelta(seconds=ahead), "slot", at_slot=True)
    # WHEN its redelivery is decided
    result = redeliver(a_request(), None, deferred, NOW, parked=True)
    # THEN it is hidden until EARLY_FOR_SLOT whole seconds before the slot (the launcher sleeps
    # the rest), and never for less than nothing
    assert (result.park, result.hidden_for) == (False, hidden_for)


@pytest.mark.parametrize(("ahead", "hidden_for"), [(60.0, 60), (59.2, 60), (0.1, 1), (-1.0, 0)])
def test_a_retry_is_come_back_for_no_earlier_than_its_time(ahead: float, hidden_for: int) -> None:
    # GIVEN a parked copy waiting for a retry's time, `ahead` seconds on
    deferred = AckDeferred(NOW + timedelta(seconds=ahead), "retry")
    # WHEN its redelivery is decided  THEN it is hidden until that time, rounded up
    assert redeliver(a_request(), None, deferred, NOW, parked=True).hidden_for == hidden_for


def test_a_delivery_says_last_and_deadline_from_sqs_and_the_invocation() -> None:
    # GIVEN a launcher whose queue delivers five times at most
    ctx, _ = a_context(Backend(), queue=False)
    # WHEN the fifth delivery comes, 30 s left to the invocation
    delivery = delivery_from(ctx, receive_count=5, message_group="demo", time_left=timedelta(seconds=30))
    # THEN it is the last, its deadline leaves a write's time, and it is no parked copy
    assert delivery == Delivery(parked=False, last=True, deadline=NOW + timedelta(seconds=30) - WRITE_RESERVE)
    assert not delivery_from(ctx, receive_count=4, message_group="demo").last
