"""The acknowledgement's next step, decided from what a delivery knows, with no port in sight:
skip, defer, give up or write."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tracker_intake.domain.ack_decision import (
    LEASE,
    MAX_ATTEMPTS,
    MAX_WAIT,
    AckDeferred,
    Defer,
    GiveUp,
    Skip,
    Write,
    after_failure,
    not_wanted,
    not_yet,
    on_arrival,
    on_slot,
    room,
)
from tracker_intake.domain.config import Acknowledge, parse_config
from tracker_intake.domain.errors import SecondaryRateLimited, TrackerUnavailable
from tracker_intake.domain.records import Acknowledgement, AckState, Claim, ClaimStatus, IssueSnapshot, ProjectRecord

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


def an_ack(state: AckState = AckState.WAITING, **fields: object) -> Acknowledgement:
    ack = Acknowledgement(Acknowledge.COMMENT, state, "m-1", NOW - seconds(30), NOW - seconds(30))
    return replace(ack, **fields)  # type: ignore[arg-type]


def a_claim(ack: Acknowledgement | None = None, status: ClaimStatus = ClaimStatus.LAUNCHED) -> Claim:
    issue = IssueSnapshot(42, "Crash", "https://github.com/acme/app/issues/42", (), (), "", None)
    return Claim("github:acme/app#42", "demo", status, "t1", NOW - seconds(60), issue, ack=ack)


def arrival(claim: Claim, asked: Acknowledge = Acknowledge.COMMENT, *, last: bool = False) -> Skip | Defer | None:
    return on_arrival(claim, asked, NOW, last_delivery=last, room=MAX_WAIT)


# --- skip --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "asked"),
    [(a_claim(), Acknowledge.NONE), (a_claim(status=ClaimStatus.FAILED), Acknowledge.COMMENT)],
    ids=["none-asked", "not-launched"],
)
def test_a_request_that_asks_none_or_a_claim_not_launched_is_skipped_unread(claim: Claim, asked: Acknowledge) -> None:
    # GIVEN a request asking for nothing, or a claim that did not launch
    # WHEN it arrives  THEN it is skipped, saying nothing
    assert arrival(claim, asked) == Skip()


def test_an_acknowledgement_already_final_is_skipped_with_its_url() -> None:
    # GIVEN a comment written and recorded done
    url = "https://github.com/acme/app/issues/42#issuecomment-1"
    claim = a_claim(an_ack(AckState.DONE, url=url))
    # WHEN its request arrives again  THEN it is skipped, naming the state and the comment
    assert arrival(claim) == Skip("already done", url)


def test_a_live_lease_is_left_to_its_holder() -> None:
    # GIVEN another delivery writing it, its lease running for ten more seconds
    claim = a_claim(an_ack(AckState.WRITING, lease_until=NOW + seconds(10)))
    # WHEN a duplicate arrives  THEN it skips
    assert arrival(claim) == Skip("another delivery is writing it")


def test_a_claim_without_an_acknowledgement_reads_on() -> None:
    # GIVEN a launched claim nothing was written for  WHEN it arrives  THEN the project is to be read
    assert arrival(a_claim()) is None


def test_a_project_that_no_longer_asks_skips_what_was_never_begun() -> None:
    # GIVEN a claim with no acknowledgement, and a project switched to none
    # WHEN that is decided  THEN nothing is written or recorded
    assert not_wanted(a_claim(), None, NOW) == Skip("the project is deleted")


# --- defer -------------------------------------------------------------------------------------


def test_a_retry_not_yet_due_is_deferred_to_its_time_without_reading_anything() -> None:
    # GIVEN a failed write waiting to be tried again in a minute
    claim = a_claim(an_ack(not_before=NOW + seconds(60)))
    # WHEN its parked copy arrives at once  THEN it waits for that time, not at a slot
    step = arrival(claim)
    assert isinstance(step, Defer) and step.keep is None
    assert step.deferred.until == NOW + seconds(60) and not step.deferred.at_slot


def test_a_kept_slot_further_than_the_wait_is_deferred_to_the_slot() -> None:
    # GIVEN a slot kept ten seconds ahead
    claim = a_claim(an_ack(slot=NOW + seconds(10)))
    # WHEN its request arrives  THEN it waits for the slot (to come back a little early)
    step = arrival(claim)
    assert isinstance(step, Defer) and step.deferred.until == NOW + seconds(10) and step.deferred.at_slot


def test_a_kept_slot_within_the_wait_reads_on() -> None:
    # GIVEN a slot kept MAX_WAIT ahead  WHEN its request arrives  THEN it goes on to write
    assert arrival(a_claim(an_ack(slot=NOW + MAX_WAIT))) is None


def test_on_the_last_delivery_a_waiting_acknowledgement_is_not_deferred_unread() -> None:
    # GIVEN a slot ten seconds ahead, on SQS's last delivery
    # WHEN it arrives  THEN it reads on (to give up, rather than wait past the dead-letter queue)
    assert arrival(a_claim(an_ack(slot=NOW + seconds(10))), last=True) is None


def test_a_far_slot_is_kept_on_the_claim_and_deferred_to() -> None:
    # GIVEN a slot reserved ten seconds ahead for an acknowledgement begun now
    ack = an_ack(version=0)
    # WHEN it is decided
    step = on_slot(ack, Acknowledge.LABEL, NOW + seconds(10), NOW, room=MAX_WAIT, last_delivery=False)
    # THEN the slot is kept on the claim, as waiting, and the request deferred to it
    assert isinstance(step, Defer) and step.deferred.at_slot and step.deferred.until == NOW + seconds(10)
    assert step.keep is not None and step.keep.slot == NOW + seconds(10) and step.keep.kind is Acknowledge.LABEL


def test_a_slot_kept_already_is_deferred_to_without_saving_again() -> None:
    # GIVEN the claim keeps that very slot
    ack = an_ack(slot=NOW + seconds(10), version=2)
    # WHEN it is decided again  THEN nothing is saved
    step = on_slot(ack, Acknowledge.COMMENT, NOW + seconds(10), NOW, room=MAX_WAIT, last_delivery=False)
    assert isinstance(step, Defer) and step.keep is None


def test_a_failed_write_is_deferred_a_minute_and_kept_waiting() -> None:
    # GIVEN a first write GitHub answered with a 502
    ack = an_ack(AckState.WRITING, attempts=1, slot=NOW, lease_until=NOW + LEASE)
    # WHEN that is decided
    step = after_failure(ack, TrackerUnavailable("GitHub is unavailable (502)"), NOW, last_delivery=False)
    # THEN it waits a minute, kept on the claim with no slot and no lease, saying why
    assert isinstance(step, Defer) and step.deferred.until == NOW + seconds(60)
    assert step.keep is not None and step.keep.state is AckState.WAITING
    assert (step.keep.slot, step.keep.lease_until, step.keep.not_before) == (None, None, NOW + seconds(60))
    assert step.keep.detail == "GitHub is unavailable (502)"


def test_a_rate_limited_write_is_deferred_to_github_s_retry_time() -> None:
    # GIVEN GitHub's secondary limit, retry after 90 s
    retry_at = NOW + seconds(90)
    step = after_failure(an_ack(attempts=1), SecondaryRateLimited(retry_at), NOW, last_delivery=False)
    # THEN it waits until then
    assert isinstance(step, Defer) and step.deferred.until == retry_at


def test_a_paused_credential_defers_until_the_pause_ends() -> None:
    # GIVEN a credential paused for two minutes  WHEN that is decided
    step = not_yet(an_ack(), NOW + seconds(120), "credential paused", NOW, last_delivery=False)
    # THEN the request waits until then, and nothing is saved (no try is spent)
    assert step == Defer(AckDeferred(NOW + seconds(120), "credential paused until 12:02:00 UTC"))


# --- give up -----------------------------------------------------------------------------------


def test_a_project_that_no_longer_asks_gives_up_what_was_begun() -> None:
    # GIVEN a comment waiting for its slot, and a project switched to none
    ack = an_ack(slot=NOW + seconds(10))
    config = parse_config(
        {"trackerIntake": {"enabled": True, "repo": "acme/app", "labels": ["agent"], "acknowledge": "none"}}
    )
    # WHEN that is decided  THEN it is failed for good, saying why
    step = not_wanted(a_claim(ack), ProjectRecord("demo", config, 2), NOW)
    assert step == GiveUp(ack, "not written: the project no longer asks for an acknowledgement", NOW)


def test_the_last_delivery_gives_up_rather_than_wait() -> None:
    # GIVEN a pause, a far slot and a failed write, each on SQS's last delivery
    paused = not_yet(an_ack(), NOW + seconds(120), "credential paused", NOW, last_delivery=True)
    far = on_slot(an_ack(), Acknowledge.COMMENT, NOW + seconds(10), NOW, room=MAX_WAIT, last_delivery=True)
    failed = after_failure(an_ack(attempts=1), TrackerUnavailable("timeout"), NOW, last_delivery=True)
    # THEN each gives up, saying why
    assert isinstance(paused, GiveUp) and "past the request's last delivery" in paused.detail
    assert isinstance(far, GiveUp) and far.detail.startswith("no write slot before the request's last delivery")
    assert isinstance(failed, GiveUp) and failed.detail == "gave up after 1 tries: timeout"


def test_a_write_that_failed_its_last_try_gives_up() -> None:
    # GIVEN MAX_ATTEMPTS tries made  WHEN the last fails  THEN the acknowledgement is given up
    step = after_failure(an_ack(attempts=MAX_ATTEMPTS), TrackerUnavailable("502"), NOW, last_delivery=False)
    assert isinstance(step, GiveUp) and step.detail == f"gave up after {MAX_ATTEMPTS} tries: 502"


# --- write -------------------------------------------------------------------------------------


def test_a_slot_within_the_wait_is_written_on_under_a_lease() -> None:
    # GIVEN a slot three seconds ahead, for an acknowledgement never sent
    ack = an_ack(attempts=0)
    # WHEN that is decided
    step = on_slot(ack, Acknowledge.REACTION, NOW + seconds(3), NOW, room=MAX_WAIT, last_delivery=False)
    # THEN it writes on that slot, the lease running from the slot, one more try counted
    assert isinstance(step, Write) and step.slot == NOW + seconds(3) and not step.interrupted
    assert step.ack.state is AckState.WRITING and step.ack.kind is Acknowledge.REACTION
    assert step.ack.lease_until == NOW + seconds(3) + LEASE and step.ack.attempts == 1 and step.ack.sent


def test_a_write_that_may_have_gone_out_looks_first() -> None:
    # GIVEN a delivery that took the lease and died (the write may have reached GitHub)
    ack = an_ack(AckState.WRITING, sent=True, attempts=1, lease_until=NOW - seconds(1))
    # WHEN the next delivery decides  THEN it writes, looking for the first write before
    step = on_slot(ack, Acknowledge.COMMENT, NOW, NOW, room=MAX_WAIT, last_delivery=False)
    assert isinstance(step, Write) and step.interrupted and step.ack.attempts == 2


def test_a_slot_past_the_deadline_is_not_waited_for() -> None:
    # GIVEN two seconds left before the invocation's deadline, and none at all
    # THEN the room to wait is two seconds, then nothing; with no deadline, MAX_WAIT
    assert room(NOW, NOW + seconds(2)) == seconds(2)
    assert room(NOW, NOW - seconds(1)) == timedelta(0)
    assert room(NOW, None) == MAX_WAIT
