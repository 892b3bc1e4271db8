"""One fault-matrix case, start to finish, and the invariants every case must keep.

The timeline of a case, on the harness clock:

1. `warm` (only if the case asks): one ordinary tick, so claims and ETags (or Linear's and Jira's
   cursor) exist; then a new eligible issue lands on the subject's tracker, so the next poll reads it.
2. `fault`: the case's faults are armed and one tick runs. Faults that need a later call site
   (a take-over, say) fire in further `fault+N` ticks, one minute apart.
3. `probe`: one minute later, a new issue for the healthy project, one tick, and a stray direct
   poll of the subject if it is in backoff (a late async invoke must not reach its tracker either).
4. `recovery N`: the stated bound. Each step moves the clock past the subject's backoff, any
   token reset, the stale-claim threshold and the queue's visibility timeout, then ticks.
5. The invariants are checked; then a `steady` tick and a redelivery of every message check that
   the system settled (all 304 on GitHub, one query for changes on Linear, one search for
   changes on Jira, nothing sent, nothing launched twice).

Every tick drains the launch queue through the real launcher handler (see `World.pump`).

A case runs in each tracker's column it names (`Case.trackers`): the GitHub column as it always
was, the Linear and Jira columns with the subject on that tracker's stand-in (`Case.id_for`
names it there). A case not in every column says why (`Case.only`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from reliability.subjects import TRACKERS, SeenRequest
from reliability.world import HEALTHY, REPOS, SUBJECT, SUITE, TICK, InvariantFailed, World

ArmFn = Callable[[World], None]


@dataclass(frozen=True)
class Case:
    """A row of the fault matrix."""

    id: str  # in the GitHub column; `id_for` names the case in the others
    family: str  # tracker | dynamodb | sqs | lambda | crash-poller | crash-launcher | backend | race
    arm: ArmFn
    # What the fault step must show: "poll:<errorKind>", "crash", "dispatch_error", "invoke_failed",
    # "backend_fault", "ok" (the fault is absorbed without a visible error), "vanished".
    expect: str
    # Who else may notice: "project" (nobody), "token" (every project on the token until its
    # reset: primary rate limit), "tick" (the dispatcher itself failed: nobody is polled that tick).
    scope: str = "project"
    warm: bool = False
    fault_steps: int = 1  # ticks with the fault armed; later ones move past the backoff first
    recovery_ticks: int = 1
    backoff: bool = False  # the subject must be in backoff after the fault step
    resends: int = 0  # extra SendMessage calls allowed for one issue (all collapsed by FIFO dedup)
    relaunches: int = 0  # extra backend calls allowed for one issue (same Idempotency-Key)
    rejected: tuple[str, ...] = ()  # titles of subject issues the backend refuses for good: they end `failed`
    closed_unseen: tuple[int, ...] = ()
    tracker_timeout: float = 2.0
    launcher_timeout: float = 2.0
    tracker_faults: int = 0  # tracker answers the case injects (each must show as `expect`)
    cap: int | None = None
    verify: Callable[[World, Checks], None] | None = None  # case-specific checks after the fault
    trackers: tuple[str, ...] = TRACKERS  # the columns the case runs in
    only: str = ""  # why a case does not run in every column
    xfail: str = ""  # the bug a case shows, not yet fixed: it runs as a strict xfail with this reason

    def id_for(self, tracker: str) -> str:
        """The case's id in a tracker's column: the GitHub column's own, `linear-...` in Linear's."""
        if tracker == "github" or self.id.startswith(f"{tracker}-"):
            return self.id
        named = self.id.replace("github", tracker)
        return named if named.startswith(f"{tracker}-") else f"{tracker}-{named}"


class Checks:
    """Named invariant checks; each passing one is counted for the summary."""

    def __init__(self, case: str) -> None:
        self.case = case
        self.passed = 0

    def check(self, name: str, ok: bool, detail: object = "") -> None:
        if not ok:
            SUITE.failed_checks += 1
            raise InvariantFailed(f"[{self.case}] invariant {name!r} broken: {detail}")
        self.passed += 1


def run_case(world: World, case: Case) -> None:
    case_id = case.id_for(world.subject.provider)
    world.tracker_timeout = case.tracker_timeout
    world.launcher_timeout = case.launcher_timeout
    world.restart()
    world.seed(max_sessions_per_poll=case.cap)
    world.closed_unseen(case.closed_unseen)
    checks = Checks(case_id)
    first = "fault"
    if case.warm:
        world.step("warm")
        first = "warm"
        world.add_issue(SUBJECT, "arrived after the warm-up")

    case.arm(world)
    world.step("fault")
    for n in range(2, case.fault_steps + 1):
        world.step(f"fault {n}", advance=world.recovery_advance())
    check_fault_fired(world, case, checks)
    if case.verify is not None:
        case.verify(world, checks)
    extra = 0
    while world.pending_faults() and extra < 3:
        extra += 1
        world.step(f"fault+{extra}")
    checks.check("every armed fault fired", world.pending_faults() == 0, f"{world.pending_faults()} pending")
    if case.backoff:
        checks.check("subject entered backoff", world.in_backoff(SUBJECT), world.observer.get_project(SUBJECT).poll)

    probe_issue = world.add_issue(HEALTHY, "arrived during the fault")
    backing_off = world.in_backoff(SUBJECT, at=world.clock.now() + TICK)
    world.step("probe")
    if backing_off:
        world.stray_poll(SUBJECT)
        checks.check("no request during backoff in the probe", not world.requests_in("probe", SUBJECT))
    for n in range(1, case.recovery_ticks + 1):
        world.step(f"recovery {n}", advance=world.recovery_advance())

    check_invariants(world, case, checks, first=first, probe_issue=probe_issue)
    check_settled(world, checks)
    faults = world.boto_faults_fired() + sum(world.launcher_crashes.fired.values()) + case.tracker_faults
    faults += world.backend_faults_fired
    SUITE.record(case_id, faults, checks.passed, world.steps, 1 + case.recovery_ticks)


def check_fault_fired(world: World, case: Case, checks: Checks) -> None:
    """The fault really happened, and showed the way the case says it should."""
    expect = case.expect
    subject = world.results_for(SUBJECT, "fault")
    if expect.startswith("poll:"):
        kind = expect.removeprefix("poll:")
        kinds = [r.get("errorKind") for r in world.results_for(SUBJECT)]
        checks.check("fault showed as expected", kinds.count(kind) >= max(case.tracker_faults, 1), kinds)
        if case.tracker_faults:
            checks.check(
                f"each injected {world.subject.name} fault showed once", kinds.count(kind) == case.tracker_faults, kinds
            )
    elif expect == "crash":
        checks.check("fault showed as expected", any(s.startswith("fault") for s, _ in world.crashes), world.crashes)
    elif expect == "dispatch_error":
        errors = [r for s, p, r in world.poll_results if p == "<dispatcher>" and s == "fault"]
        checks.check("fault showed as expected", bool(errors) and not subject, errors)
    elif expect == "invoke_failed":
        checks.check("fault showed as expected", not subject and bool(world.results_for(HEALTHY, "fault")))
    elif expect == "vanished":
        closed = [i for i in world.github.repo(REPOS[SUBJECT]).issues() if i["state"] == "closed"]
        checks.check("fault showed as expected", len(closed) > 1, len(closed))
    elif expect == "backend_fault":
        checks.check("fault showed as expected", world.backend.faults_pending == 0)
    else:
        assert expect == "ok", expect
        checks.check("fault absorbed without a failed poll", all(not r.get("errorKind") for r in subject), subject)


def check_invariants(world: World, case: Case, checks: Checks, *, first: str, probe_issue: str) -> None:
    expected, forbidden = world.expected, world.forbidden
    rejected = {world.issue(title) for title in case.rejected}
    delivered = Counter(d.issue_id for d in world.deliveries)
    fresh_sends = Counter(s.issue_id for s in world.fifo.sends if s.delivered)
    all_sends = Counter(s.issue_id for s in world.fifo.sends)
    sessions = world.backend.sessions_per_issue()
    calls = world.backend.calls_per_issue()
    keys = world.backend.keys_per_issue()
    claims = world.claims()

    # 1. every eligible issue enqueued exactly once
    checks.check(
        "every eligible issue delivered by the queue exactly once",
        all(delivered[i] == 1 for i in expected),
        {i: delivered[i] for i in sorted(expected) if delivered[i] != 1},
    )
    checks.check(
        "every eligible issue accepted by SQS FIFO exactly once (re-sends inside the 5-minute window only)",
        all(fresh_sends[i] == 1 for i in expected),
        {i: fresh_sends[i] for i in sorted(expected) if fresh_sends[i] != 1},
    )
    checks.check(
        f"SendMessage calls per issue at most {1 + case.resends}",
        all(n <= 1 + case.resends for n in all_sends.values()),
        dict(all_sends),
    )
    # 2. launched at most once (and, once the faults stopped, exactly once)
    launched = expected - rejected
    checks.check(
        "every eligible issue started exactly one session",
        all(sessions[i] == 1 for i in launched) and all(sessions[i] == 0 for i in rejected),
        {i: sessions[i] for i in sorted(expected) if sessions[i] != (0 if i in rejected else 1)},
    )
    checks.check("no issue started two sessions", all(n <= 1 for n in sessions.values()), dict(sessions))
    checks.check(
        "repeated backend calls carry one Idempotency-Key per issue", all(len(k) == 1 for k in keys.values()), keys
    )
    checks.check(
        f"backend calls per issue at most {1 + case.relaunches}",
        all(n <= 1 + case.relaunches for n in calls.values()),
        dict(calls),
    )
    checks.check(
        "every claim of an eligible issue ended launched (or failed if refused)",
        all(
            (c := claims.get(i)) is not None and c.status.value == ("failed" if i in rejected else "launched")
            for i in expected
        ),
        {i: c.status if (c := claims.get(i)) else None for i in sorted(expected)},
    )
    # 3. nothing for ineligible issues
    checks.check(
        "nothing sent, claimed or launched for ineligible issues",
        not any(all_sends[i] or i in claims or calls[i] for i in forbidden),
        [i for i in sorted(forbidden) if all_sends[i] or i in claims or calls[i]],
    )
    # 4. the other project unaffected
    healthy_initial = {i for i in expected if i.startswith(f"github:{REPOS[HEALTHY]}#")} - {probe_issue}
    if case.scope == "tick":
        on_time = healthy_initial | {probe_issue} <= world.enqueued_in("probe")
    elif case.scope == "token":
        # The credential is paused: the healthy project may be held until the pause ends (a
        # pause shorter than the probe step's wait is over by the probe).
        by_recovery = world.enqueued_in(first) | world.enqueued_in("probe") | world.enqueued_in("recovery 1")
        on_time = healthy_initial <= by_recovery and probe_issue in by_recovery - world.enqueued_in(first)
    else:
        on_time = healthy_initial <= world.enqueued_in(first) and probe_issue in world.enqueued_in("probe")
    checks.check("healthy project got its sessions enqueued in the same ticks", on_time, world.fifo.sends)
    healthy_errors = [r.get("errorKind") for r in world.results_for(HEALTHY) if r.get("errorKind")]
    checks.check("healthy project never failed a poll", not healthy_errors, healthy_errors)
    # 5. no tracker request during a backoff window
    violations = [
        (request, window)
        for request in world.timeline
        for window in world.windows
        if window.start < request.at < window.end
        and (window.project is None or request.repo == world.where(window.project))
    ]
    checks.check(f"no {world.subject.name} request during a backoff window", not violations, violations)
    # 6. the subject recovered, nothing crashed unexpectedly, nothing dead-lettered
    state = world.observer.get_project(SUBJECT).poll
    checks.check("subject's poll state is healthy again", state.healthy(), state)
    checks.check("no handler raised an unexpected exception", not world.unexpected, world.unexpected)
    checks.check("no message dead-lettered", world.dead_letters() == 0)
    checks.check(
        "every webhook call was correctly signed", all(c.signature_ok for c in world.backend.calls), world.backend.calls
    )


def check_settled(world: World, checks: Checks) -> None:
    """One more tick costs one 304 per page (on Linear: one query for changes; on Jira: one search)
    and sends nothing; a redelivery launches nothing."""
    sends = len(world.fifo.sends)
    world.step("steady", advance=TICK)
    requests = world.requests_in("steady", SUBJECT)
    statuses = [r.status for r in requests]
    checks.check(*world.subject.settled([SeenRequest(r.repo, r.status, r.path) for r in requests]), statuses)
    statuses = [r.status for r in world.requests_in("steady", HEALTHY)]
    checks.check(f"{HEALTHY} settled: every page answered 304", bool(statuses) and set(statuses) == {304}, statuses)
    checks.check("settled tick sent nothing", len(world.fifo.sends) == sends)
    calls = len(world.backend.calls)
    world.redeliver_everything()
    checks.check("redelivering every message starts nothing new", len(world.backend.calls) == calls)
