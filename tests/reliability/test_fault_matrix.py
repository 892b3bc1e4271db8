"""The fault matrix: every row runs the real handlers on moto, the GitHub stand-in and a loopback
session backend, injects its fault, lets it stop, and checks every invariant (matrix.py) after
the stated number of ticks (`Case.recovery_ticks`, after one probe tick)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from harness import TOKEN
from reliability.aws_faults import Crash
from reliability.matrix import ArmFn, Case, Checks, run_case
from reliability.world import (
    REPOS,
    SUBJECT,
    World,
    canonical,
    dynamodb_rule,
    lambda_invoke_rule,
    sqs_send_rule,
)

# --- how faults are armed --------------------------------------------------------------------


def github(fault: str, *, times: int = 1, page: int | None = None, **params: Any) -> ArmFn:
    def arm(world: World) -> None:
        world.github.inject(fault, repo=REPOS[SUBJECT], times=times, page=page, **params)

    return arm


def github_timeout(world: World) -> None:
    # The stand-in answers after 1.5 s; the tracker gives up after 0.5 s.
    world.github.inject("slow", repo=REPOS[SUBJECT], seconds=1.5, times=3)  # the request and its two retries
    world.settle_seconds = 1.5


def github_retry_after_date(world: World) -> None:
    world.github.inject("secondary_rate_limit_date", repo=REPOS[SUBJECT], at=world.clock.now() + timedelta(hours=2))


def dynamodb(site: str, action: str = "fail", *, times: int = 1, error_code: str | None = None) -> ArmFn:
    def arm(world: World) -> None:
        world.dynamodb_faults.arm(dynamodb_rule(site, action, times=times, error_code=error_code))

    return arm


def send(action: str = "fail", *, issue: int | None = None, error_code: str = "ServiceUnavailable") -> ArmFn:
    def arm(world: World) -> None:
        rule = sqs_send_rule(action, error_code=error_code)
        if issue is not None:
            wanted = canonical(SUBJECT, issue)
            rule.match = lambda p: f'"issueId":"{wanted}"' in p["MessageBody"]
        world.sqs_faults.arm(rule)

    return arm


def invoke(times: int = 1) -> ArmFn:
    def arm(world: World) -> None:
        world.lambda_faults.arm(lambda_invoke_rule(times=times))

    return arm


def launcher_crash(point: str) -> ArmFn:
    def arm(world: World) -> None:
        world.launcher_crashes.arm(point)

    return arm


def both(*arms: ArmFn) -> ArmFn:
    def arm(world: World) -> None:
        for one in arms:
            one(world)

    return arm


def crash_after_put_claim_then_github_500s(world: World) -> None:
    """The poller dies right after its first claim; GitHub then fails the next two polls."""

    def die() -> None:
        world.github.inject("server_error", repo=REPOS[SUBJECT], times=2)
        raise Crash("died right after put_claim")

    rule = dynamodb_rule("put_claim", "call_after")
    rule.callback = die
    world.dynamodb_faults.arm(rule)


def low_rate_limit(world: World) -> None:
    world.github.set_rate_limit(TOKEN, remaining=60)


def launcher_races_the_poller(world: World) -> None:
    """The launcher consumes the message between the poller's send and its mark-enqueued."""
    rule = sqs_send_rule("call_after")
    rule.callback = world.pump
    world.sqs_faults.arm(rule)


# --- case-specific checks after the fault --------------------------------------------------------


def paused_at_least(seconds: int) -> Any:
    def verify(world: World, checks: Checks) -> None:
        budget = world.observer.get_budget(world.token_key)
        until = budget.blocked_until(world.clock.now()) if budget is not None else None
        floor = world.clock.now() + timedelta(seconds=seconds - 1)
        checks.check(f"credential paused for the server's {seconds} s", until is not None and until >= floor, until)
        not_failed(world, checks)

    return verify


def _no_pause(world: World) -> bool:
    budget = world.observer.get_budget(world.token_key)
    return budget is None or budget.paused_until is None


def not_failed(world: World, checks: Checks) -> None:
    state = world.observer.get_project(SUBJECT).poll
    healthy = state.consecutive_failures == 0 and state.backoff_until is None
    checks.check("a rate limit is not the project's failure", healthy, state)


def retry_after_date_honoured(world: World, checks: Checks) -> None:
    budget = world.observer.get_budget(world.token_key)
    until = budget.blocked_until(world.clock.now()) if budget is not None else None
    floor = world.clock.now() + timedelta(minutes=115)  # the date was two hours after arming
    checks.check("credential pause honours the retry-after date", until is not None and until >= floor, until)
    not_failed(world, checks)


def spent_until_reset(seconds: int) -> Any:
    """A primary-limit refusal blocks the credential until the reset it gave, `seconds` after arming.

    (The spent budget itself may be superseded on the record by the other project's answers: the
    injected refusal's reset differs from the stand-in's own window, as GitHub's never would. The
    pause is what holds.)
    """

    def verify(world: World, checks: Checks) -> None:
        budget = world.observer.get_budget(world.token_key)
        until = budget.blocked_until(world.clock.now()) if budget is not None else None
        floor = world.clock.now() + timedelta(seconds=seconds - 1)
        checks.check(
            f"credential blocked until the refusal's reset ({seconds} s)", until is not None and until >= floor, until
        )
        not_failed(world, checks)

    return verify


def backoff_doubled(world: World, checks: Checks) -> None:
    state = world.observer.get_project(SUBJECT).poll
    checks.check("three failures counted", state.consecutive_failures == 3, state)
    checks.check("the failures are transient", state.transient, state)
    windows = [w.end - w.start for w in world.windows if w.project == SUBJECT]
    expected = [timedelta(seconds=45), timedelta(seconds=90), timedelta(seconds=180)]
    checks.check("a transient backoff doubled each time (45, 90, 180 s)", windows == expected, windows)


def retried(times: int) -> Callable[[World, Checks], None]:
    def verify(world: World, checks: Checks) -> None:
        checks.check(f"retried {times} time(s) after a one-second pause", world.pauses == [1.0] * times, world.pauses)
        state = world.observer.get_project(SUBJECT).poll
        checks.check("the poll did not fail", state.consecutive_failures == 0 and state.backoff_until is None, state)

    return verify


retried_once, retried_twice = retried(1), retried(2)


def page_2_answered_304_without_etag(world: World, checks: Checks) -> None:
    # Page 2 changed after the warm-up (a new issue), so only the fault can have answered 304.
    statuses = [r.status for r in world.requests_in("fault", SUBJECT)]
    checks.check("page 2 answered 304 although it changed", statuses == [304, 304], statuses)


def nothing_recorded(world: World, checks: Checks) -> None:
    checks.check("backoff could not be recorded", not world.in_backoff(SUBJECT))


# --- the table ----------------------------------------------------------------------------------------

S1, S2, S105, S106 = (canonical(SUBJECT, n) for n in (1, 2, 105, 106))

CASES = [
    # GitHub faults
    Case(
        "github-primary-rate-limit-403",
        "github",
        github("primary_rate_limit", reset_in=1800),
        "poll:primary_rate_limit",
        scope="token",
        github_faults=1,
        verify=spent_until_reset(1800),
    ),
    Case(
        "github-primary-rate-limit-429",
        "github",
        github("primary_rate_limit", reset_in=900, status=429),
        "poll:primary_rate_limit",
        scope="token",
        github_faults=1,
        verify=spent_until_reset(900),
    ),
    Case(
        "github-secondary-retry-after-seconds",
        "github",
        github("secondary_rate_limit_seconds", seconds=3600),
        "poll:secondary_rate_limit",
        scope="token",
        github_faults=1,
        verify=paused_at_least(3600),
    ),
    Case(
        "github-secondary-retry-after-http-date",
        "github",
        github_retry_after_date,
        "poll:secondary_rate_limit",
        scope="token",
        github_faults=1,
        verify=retry_after_date_honoured,
    ),
    Case(
        "github-secondary-message-only-429",
        "github",
        github("secondary_rate_limit_message", status=429),
        "poll:secondary_rate_limit",
        scope="token",
        github_faults=1,
        verify=paused_at_least(60),
    ),
    Case("github-401", "github", github("unauthorized"), "poll:auth_failed", backoff=True, github_faults=1),
    Case("github-403", "github", github("forbidden"), "poll:auth_failed", backoff=True, github_faults=1),
    Case("github-404", "github", github("not_found"), "poll:repo_not_found", backoff=True, github_faults=1),
    Case("github-410", "github", github("gone"), "poll:repo_not_found", backoff=True, github_faults=1),
    Case("github-500", "github", github("server_error"), "poll:tracker_unavailable", backoff=True, github_faults=1),
    Case(
        "github-502-three-polls-running",
        "github",
        github("bad_gateway", times=9),  # each poll tries three times (two retries)
        "poll:tracker_unavailable",
        backoff=True,
        fault_steps=3,
        github_faults=3,
        verify=backoff_doubled,
    ),
    Case(
        "github-502-twice-retried-within-the-poll",
        "github",
        github("bad_gateway", times=2),
        "ok",
        verify=retried_twice,
    ),
    Case(
        "github-reset-retried-within-the-poll",
        "github",
        github("connection_reset", times=1),
        "ok",
        verify=retried_once,
    ),
    Case(
        "github-500-on-page-2",
        "github",
        github("server_error", page=2),
        "poll:tracker_unavailable",
        backoff=True,
        github_faults=1,
    ),
    Case(
        "github-timeout",
        "github",
        github_timeout,
        "poll:tracker_unavailable",
        backoff=True,
        tracker_timeout=0.5,
        github_faults=1,
    ),
    Case(
        "github-malformed-json", "github", github("malformed_json"), "poll:bad_response", backoff=True, github_faults=1
    ),
    Case(
        "github-malformed-json-on-page-2",
        "github",
        github("malformed_json", page=2),
        "poll:bad_response",
        backoff=True,
        github_faults=1,
    ),
    Case(
        "github-unexpected-422",
        "github",
        github("status", status=422, body={"message": "Validation Failed"}),
        "poll:bad_response",
        backoff=True,
        github_faults=1,
    ),
    Case(
        "github-304-without-etag-unasked",
        "github",
        github("not_modified_without_etag"),
        "poll:bad_response",
        backoff=True,
        github_faults=1,
    ),
    Case(
        "github-304-without-etag-on-a-conditional-page",
        "github",
        github("not_modified_without_etag", page=2),
        "ok",
        warm=True,
        github_faults=1,
        verify=page_2_answered_304_without_etag,
    ),
    Case(
        "github-page-vanishes-mid-pagination",
        "github",
        github("vanish_after_first_page", mode="rest"),
        "vanished",
        closed_unseen=(105, 106),
        github_faults=1,
    ),
    Case(
        "github-page-1-closes-while-page-2-is-read",
        "github",
        github("vanish_after_first_page", mode="served"),
        "vanished",
        github_faults=1,
    ),
    # DynamoDB: each call site of the poller and the dispatcher
    Case("dynamodb-load-for-poll-throttled", "dynamodb", dynamodb("load_for_poll"), "poll:store_unavailable"),
    Case("dynamodb-put-claim-throttled", "dynamodb", dynamodb("put_claim"), "poll:store_unavailable", backoff=True),
    Case(
        "dynamodb-put-claim-internal-error",
        "dynamodb",
        dynamodb("put_claim", error_code="InternalServerError"),
        "poll:store_unavailable",
        backoff=True,
    ),
    Case(
        "dynamodb-batch-read-claims-throttled",
        "dynamodb",
        dynamodb("get_claims"),
        "poll:store_unavailable",
        warm=True,
        backoff=True,
    ),
    Case(
        "dynamodb-batch-read-claims-unprocessed-keys",
        "dynamodb",
        dynamodb("get_claims", "unprocessed"),
        "ok",
    ),
    Case(
        "dynamodb-batch-read-claims-unprocessed-every-retry",
        "dynamodb",
        dynamodb("get_claims", "unprocessed", times=6),
        "poll:store_unavailable",
        backoff=True,
    ),
    Case(
        "dynamodb-take-over-throttled",
        "dynamodb",
        both(dynamodb("put_claim", "crash_after"), dynamodb("take_over")),
        "crash",
    ),
    Case(
        "dynamodb-mark-enqueued-throttled",
        "dynamodb",
        dynamodb("mark_enqueued", error_code="ThrottlingException"),
        "poll:store_unavailable",
        backoff=True,
        resends=1,
    ),
    Case("dynamodb-commit-page-throttled", "dynamodb", dynamodb("commit_page"), "poll:store_unavailable", backoff=True),
    Case("dynamodb-save-poll-state-throttled-after-success", "dynamodb", dynamodb("save_poll_state"), "ok"),
    Case(
        "dynamodb-save-poll-state-throttled-after-a-failure",
        "dynamodb",
        both(github("server_error"), dynamodb("save_poll_state")),
        "poll:tracker_unavailable",
        github_faults=1,
        verify=nothing_recorded,
    ),
    Case(
        "dynamodb-record-budget-throttled-on-low-rate",
        "dynamodb",
        both(low_rate_limit, dynamodb("record_budget")),
        "ok",
    ),
    Case(
        "dynamodb-record-budget-throttled-on-primary-limit",
        "dynamodb",
        both(github("primary_rate_limit", reset_in=1200), dynamodb("record_budget")),
        "poll:primary_rate_limit",
        scope="token",
        github_faults=1,
        verify=lambda w, c: c.check(
            "credential paused although its budget could not be recorded",
            (b := w.observer.get_budget(w.token_key)) is not None and b.paused_until is not None,
            b,
        ),
    ),
    Case(
        "dynamodb-pause-credential-throttled-on-secondary-limit",
        "dynamodb",
        both(github("secondary_rate_limit_seconds", seconds=600), dynamodb("pause_credential")),
        "poll:secondary_rate_limit",
        backoff=True,
        github_faults=1,
        verify=lambda w, c: c.check(
            "the project backs off when the credential's pause could not be recorded",
            w.in_backoff(SUBJECT) and _no_pause(w),
            w.observer.get_project(SUBJECT).poll,
        ),
    ),
    Case(
        "dynamodb-dispatcher-save-pace-throttled",
        "dynamodb",
        dynamodb("save_pace"),
        "dispatch_error",
        scope="tick",
    ),
    Case(
        "dynamodb-dispatcher-index-query-throttled", "dynamodb", dynamodb("index_query"), "dispatch_error", scope="tick"
    ),
    Case(
        "dynamodb-dispatcher-budget-read-throttled",
        "dynamodb",
        dynamodb("budget_read", error_code="InternalServerError"),
        "dispatch_error",
        scope="tick",
    ),
    # SQS and Lambda
    Case("sqs-send-fails", "sqs", send(), "poll:queue_unavailable", backoff=True),
    Case(
        "sqs-send-fails-for-the-second-issue",
        "sqs",
        send(issue=2, error_code="ThrottlingException"),
        "poll:queue_unavailable",
        backoff=True,
    ),
    Case("lambda-invoke-throttled", "lambda", invoke(), "invoke_failed"),
    Case("lambda-invoke-fails-three-ticks-running", "lambda", invoke(times=3), "invoke_failed"),
    # crash points of the claim protocol (a crash between every pair of steps)
    Case("crash-after-load-for-poll", "crash-poller", dynamodb("load_for_poll", "crash_after"), "crash"),
    Case("crash-after-batch-read-claims", "crash-poller", dynamodb("get_claims", "crash_after"), "crash"),
    Case("crash-after-put-claim", "crash-poller", dynamodb("put_claim", "crash_after"), "crash"),
    Case("crash-after-send", "crash-poller", send("crash_after"), "crash", resends=1),
    Case("crash-after-mark-enqueued", "crash-poller", dynamodb("mark_enqueued", "crash_after"), "crash"),
    Case("crash-after-commit-page", "crash-poller", dynamodb("commit_page", "crash_after"), "crash"),
    Case("crash-after-save-poll-state", "crash-poller", dynamodb("save_poll_state", "crash_after"), "crash"),
    Case(
        "crash-after-put-claim-then-after-take-over",
        "crash-poller",
        both(dynamodb("put_claim", "crash_after"), dynamodb("take_over", "crash_after")),
        "crash",
    ),
    Case(
        "crash-after-put-claim-then-github-500-twice",
        "crash-poller",
        crash_after_put_claim_then_github_500s,
        "crash",
        recovery_ticks=2,
        github_faults=2,
    ),
    # crash points of the launcher
    Case("launcher-crash-after-launching", "crash-launcher", launcher_crash("after_launching"), "crash"),
    Case(
        "launcher-crash-after-backend-call",
        "crash-launcher",
        launcher_crash("after_backend_call"),
        "crash",
        relaunches=1,
    ),
    Case("launcher-crash-before-recording", "crash-launcher", launcher_crash("before_record"), "crash", relaunches=1),
    # the session backend
    Case(
        "backend-answer-lost-to-timeout",
        "backend",
        lambda w: w.backend.answer_slowly(1.5, issue_id=S1),
        "backend_fault",
        relaunches=1,
        launcher_timeout=0.5,
    ),
    Case("backend-500", "backend", lambda w: w.backend.answer_status(500, issue_id=S2), "backend_fault", relaunches=1),
    Case(
        "backend-429", "backend", lambda w: w.backend.answer_status(429, issue_id=S105), "backend_fault", relaunches=1
    ),
    Case(
        "backend-refuses-422-for-good",
        "backend",
        lambda w: w.backend.answer_status(422, issue_id=S106),
        "backend_fault",
        rejected=(S106,),
    ),
    # the launcher and the poller racing (no fault: the normal race, made certain)
    Case("launcher-reads-the-message-before-mark-enqueued", "race", launcher_races_the_poller, "ok"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fault_leaves_every_issue_enqueued_once_and_launched_at_most_once(world: World, case: Case) -> None:
    # GIVEN a subject project (two pages, eligible and ineligible issues) and a healthy one
    # WHEN the case's fault hits the subject, stops, and the stated number of ticks runs
    # THEN every invariant holds (run_case raises InvariantFailed naming the one that broke)
    run_case(world, case)


def test_the_matrix_covers_what_the_brief_asks() -> None:
    # GIVEN the table
    families = {case.family for case in CASES}
    ids = {case.id for case in CASES}
    # WHEN its coverage is counted
    github_kinds = {case.id for case in CASES if case.family == "github"}
    sites = {
        rule
        for rule in (
            "load-for-poll",
            "put-claim",
            "batch-read-claims",
            "take-over",
            "mark-enqueued",
            "commit-page",
            "save-poll-state",
            "record-budget",
            "pause-credential",
            "index-query",
            "budget-read",
            "save-pace",
        )
        if any(rule in i for i in ids)
    }
    # THEN at least ten GitHub faults, every DynamoDB call site, SQS, Lambda and every crash point
    assert len(github_kinds) >= 10
    assert len(sites) == 12
    assert {"sqs", "lambda", "crash-poller", "crash-launcher", "race"} <= families
    for point in (
        "after-batch-read-claims",
        "after-put-claim",
        "after-send",
        "after-mark-enqueued",
        "after-commit-page",
        "after-launching",
        "after-backend-call",
        "before-recording",
    ):
        assert any(point in i for i in ids), point
