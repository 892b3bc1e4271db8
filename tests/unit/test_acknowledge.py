"""The acknowledgement on the issue, on in-memory ports: each kind written once per claim
generation, whatever the deliveries, crashes, refusals and GitHub's limits do."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pytest
from fakes import MemoryStore

from intake_dev.clock import FixedClock
from tracker_intake.domain.ack_decision import LEASE, MAX_ATTEMPTS, MAX_WAIT, AckDeferred
from tracker_intake.domain.acknowledge import (
    WRITES_PER_HOUR,
    WRITES_PER_MINUTE,
    AckContext,
    AckOutcome,
    AckReport,
    next_write_slot,
)
from tracker_intake.domain.config import Acknowledge, parse_config
from tracker_intake.domain.errors import (
    SecondaryRateLimited,
    StoreUnavailable,
    TrackerUnavailable,
    WriteRefused,
)
from tracker_intake.domain.issue import IssueRef
from tracker_intake.domain.launch import (
    Delivery,
    LaunchContext,
    LaunchOutcome,
    LaunchReport,
    LaunchResult,
    Redeliver,
    launch_session,
)
from tracker_intake.domain.ports import Resolved
from tracker_intake.domain.records import Acknowledgement, AckState, Claim, ClaimStatus, IssueSnapshot, ProjectRecord
from tracker_intake.domain.session import LaunchedSession, SessionIssue, SessionRequest

ISSUE = "github:acme/app#42"
KEY = "token-key-1"


class LauncherDied(Exception):
    """The launcher's process ending mid-way (not an IntakeError: nothing in intake catches it)."""


@dataclass
class RecordingWriter:
    """An `IssueWriter` that keeps what it wrote, like GitHub would, and fails on demand."""

    reactions: list[tuple[IssueRef, str]] = field(default_factory=list)
    comments: list[tuple[IssueRef, str]] = field(default_factory=list)
    labels: list[tuple[IssueRef, str]] = field(default_factory=list)
    searches: int = 0
    failures: list[Exception] = field(default_factory=list)

    def _fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    def add_reaction(self, issue: IssueRef, content: str) -> str | None:
        self._fail()
        self.reactions.append((issue, content))
        return None

    def add_comment(self, issue: IssueRef, body: str) -> str | None:
        self._fail()
        self.comments.append((issue, body))
        return f"https://github.com/acme/app/issues/42#issuecomment-{len(self.comments)}"

    def find_comment(self, issue: IssueRef, containing: str, since: datetime) -> str | None:
        self.searches += 1
        for index, (_, body) in enumerate(self.comments, start=1):
            if containing in body:
                return f"https://github.com/acme/app/issues/42#issuecomment-{index}"
        return None

    def add_label(self, issue: IssueRef, label: str) -> str | None:
        self._fail()
        self.labels.append((issue, label))
        return None

    @property
    def writes(self) -> int:
        return len(self.reactions) + len(self.comments) + len(self.labels)


class OneCredential:
    """`Credentials` for one token, whose writer is the recording one."""

    def __init__(self, writer: RecordingWriter) -> None:
        self.writer = writer
        # What resolving takes (reading a secret, minting an installation token): moves the clock.
        self.takes: Callable[[], None] = lambda: None

    def for_project(self, record: ProjectRecord, *, remember: bool = True) -> Resolved:
        self.takes()
        return Resolved("default", KEY, tracker=None, writer=self.writer)  # type: ignore[arg-type]

    def key_for(self, record: ProjectRecord) -> str:
        return KEY

    def forget_installation(self, record: ProjectRecord) -> None:
        pass


class Harness:
    def __init__(self, acknowledge: Acknowledge = Acknowledge.COMMENT, backend_answer: str = "sess-1") -> None:
        self.clock = FixedClock()
        self.store = MemoryStore()
        self.writer = RecordingWriter()
        self.slept: list[float] = []
        self.acks: list[AckReport] = []
        self.launches: list[LaunchReport] = []
        self.backend_answer = backend_answer
        self.credentials = OneCredential(self.writer)
        self.ctx = LaunchContext(
            ledger=self.store,
            launcher=self,
            clock=self.clock,
            ack=AckContext(
                projects=self.store,
                credentials=self.credentials,
                pace=self.store,
                budgets=self.store,
                sleep=self._sleep,
            ),
        )
        self.set_acknowledge(acknowledge, create=True)

    # the session backend
    def launch(self, request: SessionRequest, prompt: str) -> LaunchedSession:
        url = self.backend_answer if self.backend_answer.startswith("https://") else None
        return LaunchedSession("sess-1" if url else self.backend_answer, url)

    def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(seconds)
        self.while_asleep()

    def others_take_slots(self, count: int) -> None:
        """Other launchers take the credential's next `count` write slots, now."""
        for _ in range(count):
            self.store.reserve_write(KEY, self.clock.now())

    def while_asleep(self) -> None:
        """What happens elsewhere while the launcher sleeps for its slot (a test may set it)."""

    def set_acknowledge(self, kind: Acknowledge, *, create: bool = False) -> None:
        config = parse_config(
            {"trackerIntake": {"enabled": True, "repo": "acme/app", "labels": ["agent"], "acknowledge": kind.value}}
        )
        if create:
            self.store.create_project("demo", config, self.clock.now())
        else:
            record = self.store.get_project("demo")
            self.store.replace_config("demo", config, record.version, self.clock.now())

    def claim(self, number: int = 42, generation: int = 1) -> str:
        canonical = f"github:acme/app#{number}"
        self.store.put_claim(
            Claim(
                canonical_id=canonical,
                project_id="demo",
                status=ClaimStatus.ENQUEUED,
                claim_token=f"t{number}",
                claimed_at=self.clock.now(),
                updated_at=self.clock.now(),
                issue=IssueSnapshot(number, "Crash", f"https://github.com/acme/app/issues/{number}", (), (), "", None),
                generation=generation,
            )
        )
        return canonical

    def request(self, canonical: str = ISSUE, kind: Acknowledge = Acknowledge.COMMENT) -> SessionRequest:
        number = int(canonical.rpartition("#")[2])
        return SessionRequest(
            project_id="demo",
            issue_id=canonical,
            issue=SessionIssue(number=number, title="Crash", url=f"https://github.com/acme/app/issues/{number}"),
            enqueued_at=self.clock.now(),
            acknowledge=kind,
        )

    def attempt(
        self,
        canonical: str = ISSUE,
        kind: Acknowledge = Acknowledge.COMMENT,
        *,
        last: bool = False,
        deadline: datetime | None = None,
    ) -> LaunchResult:
        """Deliver the request; what it came to, its reports kept as the handler would report them."""
        result = launch_session(self.request(canonical, kind), self.ctx, Delivery(last=last, deadline=deadline))
        self.launches.extend([result.launch] if result.launch else [])
        self.acks.extend([result.ack] if result.ack else [])
        return result

    def deliver(
        self,
        canonical: str = ISSUE,
        kind: Acknowledge = Acknowledge.COMMENT,
        *,
        last: bool = False,
        deadline: datetime | None = None,
    ) -> None:
        """Deliver the request, whose acknowledgement is not left for a later delivery."""
        result = self.attempt(canonical, kind, last=last, deadline=deadline)
        assert not isinstance(result, Redeliver), result

    def deferred(
        self, canonical: str = ISSUE, kind: Acknowledge = Acknowledge.COMMENT, *, deadline: datetime | None = None
    ) -> AckDeferred:
        """Deliver the request, whose acknowledgement is left for a later delivery: what it waits for."""
        result = self.attempt(canonical, kind, deadline=deadline)
        assert isinstance(result, Redeliver), result
        return result.deferred

    def stored(self, canonical: str = ISSUE) -> Claim:
        claim = self.store.get_claim(canonical)
        assert claim is not None
        return claim


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (Acknowledge.REACTION, ([("eyes")], [], [])),
        (Acknowledge.COMMENT, ([], ["sess-1"], [])),
        (Acknowledge.LABEL, ([], [], ["in-progress"])),
    ],
)
def test_each_kind_is_written_once_after_the_launch(
    kind: Acknowledge, expected: tuple[list[str], list[str], list[str]]
) -> None:
    # GIVEN a project that asks for this acknowledgement, and a claim waiting to launch
    h = Harness(kind)
    h.claim()
    # WHEN the request is delivered
    h.deliver(kind=kind)
    # THEN the session is launched, and exactly the one write of that kind was made
    assert [r.outcome for r in h.launches] == [LaunchOutcome.LAUNCHED]
    assert [content for _, content in h.writer.reactions] == expected[0]
    assert all(ref in body for (_, body), ref in zip(h.writer.comments, expected[1], strict=True))
    assert len(h.writer.comments) == len(expected[1])
    assert [label for _, label in h.writer.labels] == expected[2]
    # AND the claim records it done, with the comment's URL when there is one
    ack = h.stored().ack
    assert ack is not None and ack.state is AckState.DONE and ack.kind is kind and ack.attempts == 1
    assert (ack.url is not None) == (kind is Acknowledge.COMMENT)
    assert [a.outcome for a in h.acks] == [AckOutcome.DONE]


def test_the_comment_names_the_session_and_carries_a_hidden_marker_of_the_claim() -> None:
    # GIVEN a comment acknowledgement and a backend that answers with a session URL (sessionUrl)
    h = Harness(Acknowledge.COMMENT, backend_answer="https://agents.example.com/s/1")
    h.claim()
    # WHEN it is launched
    h.deliver()
    # THEN the comment links the session and hides a marker naming the claim and its generation
    body = h.writer.comments[0][1]
    assert "[`sess-1`](https://agents.example.com/s/1)" in body
    ack = h.stored().ack
    assert ack is not None
    assert f"<!-- tracker-intake:ack {ISSUE} generation=1 token={ack.marker} -->" in body


def test_nothing_is_written_or_read_when_the_request_asks_for_none() -> None:
    # GIVEN a request queued without an acknowledgement
    h = Harness(Acknowledge.NONE)
    h.claim()
    h.store.ops.reset()
    # WHEN it is delivered
    h.deliver(kind=Acknowledge.NONE)
    # THEN the launch happened and the project was not even read
    assert h.stored().status is ClaimStatus.LAUNCHED
    assert h.writer.writes == 0 and h.stored().ack is None
    assert h.store.ops.count("get_project") == 0 and h.store.ops.count("reserve_write") == 0


def test_a_project_switched_to_none_after_the_request_was_queued_gets_no_write() -> None:
    # GIVEN a request queued asking for a comment, then the project switched to none
    h = Harness(Acknowledge.COMMENT)
    h.claim()
    h.set_acknowledge(Acknowledge.NONE)
    # WHEN it is delivered
    h.deliver(kind=Acknowledge.COMMENT)
    # THEN the session launched and nothing was written on the issue
    assert h.stored().status is ClaimStatus.LAUNCHED
    assert h.writer.writes == 0 and h.stored().ack is None


def test_a_second_delivery_of_an_acknowledged_request_writes_nothing() -> None:
    # GIVEN an acknowledged launch
    h = Harness(Acknowledge.COMMENT)
    h.claim()
    h.deliver()
    # WHEN the same request is delivered again (SQS delivers at least once)
    h.clock.advance(300)
    h.deliver()
    # THEN it is a duplicate launch and no second comment
    assert [r.outcome for r in h.launches] == [LaunchOutcome.LAUNCHED, LaunchOutcome.DUPLICATE]
    assert len(h.writer.comments) == 1


def test_a_crash_between_the_comment_and_its_record_leaves_one_comment() -> None:
    # GIVEN a delivery that writes the comment and dies before recording it
    h = Harness(Acknowledge.COMMENT)
    h.claim()
    # (the first save_ack takes the lease, the second would record `done`)
    original = h.store.save_ack
    calls = {"n": 0}

    def crash_on_second(claim: Claim, ack: Acknowledgement, expected_version: int | None) -> bool:
        calls["n"] += 1
        if calls["n"] == 2:
            raise LauncherDied("the launcher died here")
        return original(claim, ack, expected_version)

    h.store.save_ack = crash_on_second  # type: ignore[method-assign]
    with pytest.raises(LauncherDied):
        h.deliver()
    assert len(h.writer.comments) == 1
    assert h.stored().ack is not None and h.stored().ack.state is AckState.WRITING  # type: ignore[union-attr]
    # WHEN SQS delivers the request again, after the lease ran out
    h.store.save_ack = original  # type: ignore[method-assign]
    h.clock.advance((LEASE + timedelta(seconds=1)).total_seconds())
    h.deliver()
    # THEN the comment already there is found and recorded, and none is written again
    assert len(h.writer.comments) == 1 and h.writer.searches == 1
    ack = h.stored().ack
    assert ack is not None and ack.state is AckState.DONE and ack.url is not None and ack.url.endswith("-1")


def test_a_crash_before_the_comment_was_sent_writes_it_on_the_next_delivery() -> None:
    # GIVEN a delivery that took the lease and died before sending anything
    h = Harness(Acknowledge.COMMENT)
    h.claim()
    h.writer.failures.append(SystemExit("killed"))  # type: ignore[arg-type]
    with pytest.raises(SystemExit):
        h.deliver()
    assert h.writer.writes == 0
    # WHEN the request comes back after the lease
    h.clock.advance((LEASE + timedelta(seconds=1)).total_seconds())
    h.deliver()
    # THEN GitHub is asked first, finds nothing, and the comment is written once
    assert h.writer.searches == 1 and len(h.writer.comments) == 1
    assert h.stored().ack is not None and h.stored().ack.state is AckState.DONE  # type: ignore[union-attr]


def test_a_delivery_while_another_holds_the_lease_writes_nothing() -> None:
    # GIVEN a delivery that holds the lease (it died a moment ago, or is still writing)
    h = Harness(Acknowledge.COMMENT)
    h.claim()
    h.writer.failures.append(SystemExit("killed"))  # type: ignore[arg-type]
    with pytest.raises(SystemExit):
        h.deliver()
    # WHEN a duplicate request is delivered within the lease
    h.clock.advance(10)
    h.deliver()
    # THEN it leaves the write to the holder
    assert h.writer.writes == 0 and h.writer.searches == 0
    assert h.stored().ack is not None and h.stored().ack.state is AckState.WRITING  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", [Acknowledge.REACTION, Acknowledge.COMMENT, Acknowledge.LABEL])
def test_a_refused_write_is_recorded_and_never_blocks_or_repeats(kind: Acknowledge) -> None:
    # GIVEN a credential GitHub will not let write on the issue (403)
    h = Harness(kind)
    h.claim()
    h.writer.failures.append(WriteRefused("GitHub refused the comment (403: Resource not accessible by integration)"))
    # WHEN the request is delivered, and delivered again later
    h.deliver(kind=kind)
    h.clock.advance(600)
    h.deliver(kind=kind)
    # THEN the session is launched, the refusal is recorded with GitHub's words, and not retried
    assert h.stored().status is ClaimStatus.LAUNCHED
    ack = h.stored().ack
    assert ack is not None and ack.state is AckState.REFUSED and "403" in (ack.detail or "")
    assert h.writer.writes == 0 and ack.attempts == 1
    assert [a.outcome for a in h.acks] == [AckOutcome.REFUSED, AckOutcome.NONE]


def test_a_failing_github_is_retried_on_a_later_delivery_then_written() -> None:
    # GIVEN GitHub answers the first write with a 502
    h = Harness(Acknowledge.REACTION)
    h.claim()
    h.writer.failures.append(TrackerUnavailable("GitHub is unavailable (502)"))
    # WHEN the request is delivered
    deferred = h.deferred(kind=Acknowledge.REACTION)
    # THEN the launch stands, and the acknowledgement waits for a redelivery a minute on
    assert h.stored().status is ClaimStatus.LAUNCHED
    assert deferred.until == h.clock.now() + timedelta(seconds=60)
    ack = h.stored().ack
    assert ack is not None and ack.state is AckState.WAITING and "502" in (ack.detail or "")
    # AND the redelivery writes it
    h.clock.advance(60)
    h.deliver(kind=Acknowledge.REACTION)
    assert len(h.writer.reactions) == 1
    assert h.stored().ack is not None and h.stored().ack.state is AckState.DONE  # type: ignore[union-attr]


def test_an_acknowledgement_gives_up_after_its_tries() -> None:
    # GIVEN a GitHub that keeps failing
    h = Harness(Acknowledge.LABEL)
    h.claim()
    h.writer.failures.extend(TrackerUnavailable(f"GitHub is unavailable (500) #{i}") for i in range(MAX_ATTEMPTS))
    # WHEN the request is delivered until the acknowledgement stops asking for more
    deferrals = 0
    for _ in range(MAX_ATTEMPTS):
        if isinstance(h.attempt(kind=Acknowledge.LABEL), Redeliver):
            deferrals += 1
        h.clock.advance(61)
    # THEN it failed for good after MAX_ATTEMPTS tries, saying why, and the launch stands
    assert deferrals == MAX_ATTEMPTS - 1
    ack = h.stored().ack
    assert ack is not None and ack.state is AckState.FAILED and ack.attempts == MAX_ATTEMPTS
    assert "gave up after 3 tries" in (ack.detail or "")
    assert h.stored().status is ClaimStatus.LAUNCHED


def test_the_last_delivery_gives_up_rather_than_defer() -> None:
    # GIVEN a GitHub that fails, on the delivery SQS would send to the dead-letter queue next
    h = Harness(Acknowledge.COMMENT)
    h.claim()
    h.writer.failures.append(TrackerUnavailable("GitHub did not answer in time"))
    # WHEN it is delivered for the last time
    h.deliver(last=True)
    # THEN no deferral: the acknowledgement is failed, and the message can be deleted
    ack = h.stored().ack
    assert ack is not None and ack.state is AckState.FAILED


def test_a_secondary_limit_on_a_write_pauses_the_credential_and_waits_for_it() -> None:
    # GIVEN GitHub answers the write with its secondary limit, retry after 90 s
    h = Harness(Acknowledge.COMMENT)
    h.claim()
    retry_at = h.clock.now() + timedelta(seconds=90)
    h.writer.failures.append(SecondaryRateLimited(retry_at))
    # WHEN the request is delivered
    deferred = h.deferred()
    # THEN the credential is paused for the polls too, and the write waits until then
    budget = h.store.get_budget(KEY)
    assert budget is not None and budget.paused_until == retry_at
    assert deferred.until == retry_at


def test_writes_on_one_credential_are_a_second_apart_and_waited_for_when_near() -> None:
    # GIVEN five issues of one project launched in the same instant, by one launcher
    h = Harness(Acknowledge.REACTION)
    issues = [h.claim(number) for number in range(1, 6)]
    start = h.clock.now()
    # WHEN each is delivered (the sleeps move the test's clock)
    for canonical in issues:
        h.deliver(canonical, Acknowledge.REACTION)
    # THEN all five are written, their slots a second apart, each waited for in the launcher
    slots = h.store.write_slots(KEY)
    assert len(h.writer.reactions) == 5 and len(slots) == 5
    assert [later - earlier for earlier, later in itertools.pairwise(slots)] == [timedelta(seconds=1)] * 4
    assert h.slept == [1.0] * 4 and h.clock.now() - start == timedelta(seconds=4)


def test_a_slot_further_than_max_wait_is_kept_and_the_request_redelivered_at_it() -> None:
    # GIVEN other launchers took the credential's next ten write slots a moment ago
    h = Harness(Acknowledge.COMMENT)
    h.claim()
    h.others_take_slots(10)
    # WHEN this launch's request is delivered
    deferred = h.deferred()
    # THEN nothing is written yet: the slot ten seconds on is kept on the claim, and asked for
    slot = h.clock.now() + timedelta(seconds=10)
    assert deferred.until == slot and slot - h.clock.now() > MAX_WAIT
    ack = h.stored().ack
    assert ack is not None and ack.state is AckState.WAITING and ack.slot == slot and not ack.sent
    assert h.writer.writes == 0
    # AND a delivery before the slot (the parked request, delivered at once) waits again, writing nothing
    h.store.ops.reset()
    again = h.deferred()
    assert again.until == slot and h.store.ops.count("save_ack") == 0 and h.writer.writes == 0
    # AND the redelivery at that moment writes it on that slot, taking no other
    h.clock.advance(10)
    h.deliver()
    assert len(h.writer.comments) == 1 and len(h.store.write_slots(KEY)) == 11 and h.slept == []


def test_a_slot_too_far_for_the_last_delivery_fails_the_acknowledgement() -> None:
    # GIVEN the credential's write slots are taken for the next ten seconds
    h = Harness(Acknowledge.LABEL)
    h.claim()
    h.others_take_slots(10)
    # WHEN the request is delivered for the last time
    h.deliver(kind=Acknowledge.LABEL, last=True)
    # THEN it is failed, saying why, rather than sleeping past the launcher's timeout
    ack = h.stored().ack
    assert ack is not None and ack.state is AckState.FAILED and "last delivery" in (ack.detail or "")
    assert h.writer.writes == 0 and h.slept == []


def test_next_write_slot_keeps_github_s_minute_and_hour_limits() -> None:
    now = FixedClock().now()
    # GIVEN nothing written: now
    assert next_write_slot([], now) == now
    # GIVEN a write half a second ago: a second after it
    assert next_write_slot([now - timedelta(seconds=0.5)], now) == now + timedelta(seconds=0.5)
    # GIVEN 80 writes in the last 40 seconds: a minute after the oldest of them
    minute = [now - timedelta(seconds=40 - i / 2) for i in range(WRITES_PER_MINUTE)]
    assert next_write_slot(minute, now) == minute[0] + timedelta(minutes=1) == now + timedelta(seconds=20)
    # GIVEN 80 writes a second apart, the oldest 79 s ago: the minute allows the next at once
    spaced = [now - timedelta(seconds=79 - i) for i in range(WRITES_PER_MINUTE)]
    assert next_write_slot(spaced, now) == spaced[-1] + timedelta(seconds=1)
    # GIVEN 500 in the last hour (spread out): an hour after the oldest
    hour = [now - timedelta(seconds=3590 - i * 7) for i in range(WRITES_PER_HOUR)]
    assert next_write_slot(hour, now) == hour[0] + timedelta(hours=1)


def test_a_new_generation_is_acknowledged_afresh() -> None:
    # GIVEN an acknowledged launch, then the claim released and taken again (generation 2)
    h = Harness(Acknowledge.COMMENT)
    h.claim()
    h.deliver()
    first = h.stored()
    h.store.take_over(
        replace(first, status=ClaimStatus.ENQUEUED, claim_token="t2", generation=2, ack=None), "t42", first.status
    )
    # WHEN the new generation's request is delivered
    request = h.request().model_copy(update={"generation": 2})
    launch_session(request, h.ctx)
    # THEN its session gets its own comment, with a marker of its own
    assert len(h.writer.comments) == 2
    assert "generation=2" in h.writer.comments[1][1]
    ack = h.stored().ack
    assert ack is not None and ack.state is AckState.DONE and ack.marker != first.ack.marker  # type: ignore[union-attr]


# --- what a review found ----------------------------------------------------------------------


def test_a_retry_delivered_before_its_time_writes_nothing() -> None:
    # GIVEN a write GitHub answered with its secondary limit, retry after 90 s
    h = Harness(Acknowledge.COMMENT)
    h.claim()
    retry_at = h.clock.now() + timedelta(seconds=90)
    h.writer.failures.append(SecondaryRateLimited(retry_at))
    h.deferred()
    # WHEN the request comes back at once (a parked copy is delivered immediately) and 89 s on
    for wait in (0, 89):
        h.clock.advance(wait)
        again = h.deferred()
        # THEN nothing is written, and it waits for the same moment, spending no try
        assert again.until == retry_at and not again.at_slot
        assert h.writer.writes == 0 and h.stored().ack.attempts == 1  # type: ignore[union-attr]
    # AND at that moment it is written
    h.clock.advance(1)
    h.deliver()
    assert len(h.writer.comments) == 1


def test_a_paused_credential_is_not_written_with() -> None:
    # GIVEN the credential is paused for two minutes (a poll met GitHub's secondary limit)
    h = Harness(Acknowledge.LABEL)
    h.claim()
    until = h.clock.now() + timedelta(minutes=2)
    h.store.pause(KEY, until)
    # WHEN the request is delivered THEN the write waits for the pause, takes no slot and no try
    deferred = h.deferred(kind=Acknowledge.LABEL)
    assert deferred.until == until and h.writer.writes == 0
    assert h.store.write_slots(KEY) == []
    # AND after the pause it is written
    h.clock.advance(120)
    h.deliver(kind=Acknowledge.LABEL)
    assert len(h.writer.labels) == 1 and h.stored().ack.attempts == 1  # type: ignore[union-attr]


def test_a_slot_past_the_invocation_s_deadline_is_deferred_not_slept_for() -> None:
    # GIVEN the credential's next slot three seconds away, and two seconds left to the invocation
    h = Harness(Acknowledge.REACTION)
    h.claim()
    h.others_take_slots(3)
    # WHEN the request is delivered
    deferred = h.deferred(kind=Acknowledge.REACTION, deadline=h.clock.now() + timedelta(seconds=2))
    # THEN it does not sleep: the slot is kept and asked for, a little early
    assert h.slept == [] and deferred.at_slot
    assert deferred.until == h.clock.now() + timedelta(seconds=3)


def test_a_slot_is_reserved_when_the_credential_is_resolved_not_before() -> None:
    # GIVEN resolving the credential takes two seconds (a secret read, a token minted)
    h = Harness(Acknowledge.REACTION)

    def two_seconds() -> None:
        h.clock.advance(2)

    h.credentials.takes = two_seconds
    issues = [h.claim(n) for n in (1, 2)]
    # WHEN two launches are acknowledged one after the other
    for canonical in issues:
        h.deliver(canonical, Acknowledge.REACTION)
    # THEN the slots, and the writes, are a second apart or more, each taken after resolving
    slots = h.store.write_slots(KEY)
    assert slots[1] - slots[0] >= timedelta(seconds=1)
    assert slots[0] == datetime(2026, 1, 1, 12, 0, 2, tzinfo=slots[0].tzinfo)


def test_a_kept_slot_missed_is_not_used_late() -> None:
    # GIVEN a write kept for a slot ten seconds away
    h = Harness(Acknowledge.COMMENT)
    h.claim()
    h.others_take_slots(10)
    deferred = h.deferred()
    # WHEN its request comes back half a second after the slot
    h.clock.advance(10.5)
    h.deliver()
    # THEN a new slot is taken (no write lands late in another's second), and the comment written on it
    slots = h.store.write_slots(KEY)
    assert len(slots) == 12 and slots[-1] >= slots[-2] + timedelta(seconds=1)
    assert deferred.until == slots[-2] and len(h.writer.comments) == 1


def test_a_store_failure_after_the_launch_defers_the_acknowledgement_not_the_launch() -> None:
    # GIVEN DynamoDB fails the project read the acknowledgement makes
    h = Harness(Acknowledge.COMMENT)
    h.claim()
    h.store.fail("get_project", StoreUnavailable("throttled"))
    # WHEN the request is delivered THEN the launch stands, and the acknowledgement waits a minute
    deferred = h.deferred()
    assert h.stored().status is ClaimStatus.LAUNCHED
    assert deferred.until == h.clock.now() + timedelta(seconds=60)
    # AND on the last delivery the same failure lets the message go, said as failed
    h.store.fail("get_project", StoreUnavailable("throttled"))
    h.deliver(last=True)
    assert h.acks[-1].outcome is AckOutcome.FAILED and "throttled" in (h.acks[-1].reason or "")


def test_an_acknowledgement_switched_off_while_it_waited_is_closed_not_left_waiting() -> None:
    # GIVEN a comment waiting for its slot
    h = Harness(Acknowledge.COMMENT)
    h.claim()
    h.others_take_slots(10)
    h.deferred()
    # WHEN the project is switched to none, and the request comes back
    h.set_acknowledge(Acknowledge.NONE)
    h.clock.advance(10)
    h.deliver()
    # THEN nothing is written, and the claim says so for good
    ack = h.stored().ack
    assert h.writer.writes == 0 and ack is not None and ack.state is AckState.FAILED
    assert ack.detail == "not written: the project no longer asks for an acknowledgement"


def test_a_release_while_the_write_waits_for_its_slot_writes_nothing() -> None:
    # GIVEN a write waiting three seconds for its slot, and a release landing meanwhile
    h = Harness(Acknowledge.LABEL)
    h.claim()
    h.others_take_slots(3)

    def release() -> None:
        h.store.release("demo", ISSUE, h.clock.now())

    h.while_asleep = release  # type: ignore[method-assign]
    # WHEN the request is delivered
    h.deliver(kind=Acknowledge.LABEL)
    # THEN the released session's issue gets no label (it would exclude the issue from then on)
    assert h.slept == [3.0] and h.writer.writes == 0
    assert h.stored().status is ClaimStatus.RELEASED


def test_a_kind_switched_after_a_write_may_have_gone_out_keeps_the_first() -> None:
    # GIVEN a comment sent by a delivery that died before recording it
    h = Harness(Acknowledge.COMMENT)
    h.claim()
    original = h.store.save_ack

    def die_on_done(claim: Claim, ack: Acknowledgement, expected_version: int | None) -> bool:
        if ack.state is AckState.DONE:
            raise LauncherDied("died")
        return original(claim, ack, expected_version)

    h.store.save_ack = die_on_done  # type: ignore[method-assign]
    with pytest.raises(LauncherDied):
        h.deliver()
    h.store.save_ack = original  # type: ignore[method-assign]
    # WHEN the project switches to a label, and the request comes back after the lease
    h.set_acknowledge(Acknowledge.LABEL)
    h.clock.advance(61)
    h.deliver(kind=Acknowledge.LABEL)
    # THEN the comment already there is recorded, and no label is added beside it
    assert len(h.writer.comments) == 1 and h.writer.labels == []
    ack = h.stored().ack
    assert ack is not None and ack.kind is Acknowledge.COMMENT and ack.state is AckState.DONE
