"""The fault matrix: every row runs the real handlers on moto, the tracker stand-ins and a loopback
session backend, injects its fault, lets it stop, and checks every invariant (matrix.py) after
the stated number of ticks (`Case.recovery_ticks`, after one probe tick).

Three columns: GitHub (the subject on the GitHub stand-in), Linear and Jira (the subject on the
Linear or the Jira stand-in, subjects.py). A row runs in each column its `trackers` names; the
faults of AWS, the crashes, the session backend and the tracker's 5xx and resets are armed
through the world, so one row serves every column. Rows not in every column say why (`only`); a
row that shows a bug not yet fixed says which (`xfail`) and runs as a strict xfail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from reliability.aws_faults import Crash
from reliability.matrix import ArmFn, Case, Checks, run_case
from reliability.subjects import TRACKERS, JiraSubject, LinearSubject
from reliability.world import (
    REPOS,
    SUBJECT,
    World,
    dynamodb_rule,
    lambda_invoke_rule,
    sqs_send_rule,
)

# --- how faults are armed --------------------------------------------------------------------


def github(fault: str, *, times: int = 1, page: int | None = None, **params: Any) -> ArmFn:
    def arm(world: World) -> None:
        world.github.inject(fault, repo=REPOS[SUBJECT], times=times, page=page, **params)

    return arm


def tracker(status: int, *, times: int = 1, page: int | None = None) -> ArmFn:
    """The subject's tracker answers its next `times` requests (on `page`) with `status`."""

    def arm(world: World) -> None:
        world.subject.fail(world, status, times=times, page=page)

    return arm


def tracker_reset(times: int = 1) -> ArmFn:
    def arm(world: World) -> None:
        world.subject.reset(times)

    return arm


def linear(world: World) -> LinearSubject:
    assert isinstance(world.subject, LinearSubject), "a Linear row runs in the Linear column only"
    return world.subject


def ratelimited(*, requests: int | None = None, points: int | None = None) -> ArmFn:
    """As the subject's next poll starts, the Linear key's bucket is spent: Linear answers RATELIMITED."""

    def arm(world: World) -> None:
        world.before_poll(SUBJECT, linear(world).spend(requests=requests, points=points))

    return arm


def jira(world: World) -> JiraSubject:
    assert isinstance(world.subject, JiraSubject), "a Jira row runs in the Jira column only"
    return world.subject


def jira_429(seconds: int, reason: str = "jira-burst-based") -> ArmFn:
    """As the subject's next poll starts, Jira throttles the credential: 429 with `Retry-After:
    seconds`, `X-RateLimit-*` and `RateLimit-Reason: reason`, until `seconds` have passed."""

    def arm(world: World) -> None:
        world.before_poll(SUBJECT, jira(world).throttle(seconds, reason))

    return arm


def jira_burst_429(seconds: int) -> ArmFn:
    """As the subject's next poll starts, Jira's burst limit answers 429 with `Retry-After:
    seconds`; a retry's pause at least that long outlasts it (the world's clock stands still
    within a step, so the pause ends the throttle)."""

    def arm(world: World) -> None:
        subject = jira(world)

        def lift(paused: float) -> None:
            if paused >= seconds:
                subject.jira.throttle_for(0)

        world.before_poll(SUBJECT, subject.throttle(seconds))
        world.after_pause(lift)

    return arm


def github_timeout(world: World) -> None:
    # The stand-in answers after 1.5 s; the tracker gives up after 0.5 s.
    world.github.inject("slow", repo=REPOS[SUBJECT], seconds=1.5, times=3)  # the request and its two retries
    world.settle_seconds = 1.5


def github_retry_after_date(world: World) -> None:
    world.github.inject("secondary_rate_limit_date", repo=REPOS[SUBJECT], at=world.clock.now() + timedelta(hours=2))


def dynamodb(site: str, action: str = "fail", *, times: int = 1, error_code: str | None = None) -> ArmFn:
    def arm(world: World) -> None:
        rule = dynamodb_rule(site, action, times=times, error_code=error_code, credential=world.subject.credential)
        world.dynamodb_faults.arm(rule)

    return arm


def send(action: str = "fail", *, issue: str | None = None, error_code: str = "ServiceUnavailable") -> ArmFn:
    """SendMessage fails (for the subject's issue titled `issue`, or its first send)."""

    def arm(world: World) -> None:
        rule = sqs_send_rule(action, error_code=error_code)
        if issue is not None:
            wanted = world.issue(issue)
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


def crash_after_put_claim_then_tracker_500s(world: World) -> None:
    """The poller dies right after its first claim; the tracker then fails the next two polls."""

    def die() -> None:
        world.subject.fail(world, 500, times=2)
        raise Crash("died right after put_claim")

    rule = dynamodb_rule("put_claim", "call_after")
    rule.callback = die
    world.dynamodb_faults.arm(rule)


def low_rate_limit(world: World) -> None:
    world.subject.low_budget()


def launcher_races_the_poller(world: World) -> None:
    """The launcher consumes the message between the poller's send and its mark-enqueued."""
    rule = sqs_send_rule("call_after")
    rule.callback = world.pump
    world.sqs_faults.arm(rule)


# --- case-specific checks after the fault --------------------------------------------------------


def paused_at_least(seconds: int) -> Any:
    def verify(world: World, checks: Checks) -> None:
        budget = world.observer.get_budget(world.subject.credential)
        until = budget.blocked_until(world.clock.now()) if budget is not None else None
        floor = world.clock.now() + timedelta(seconds=seconds - 1)
        checks.check(f"credential paused for the server's {seconds} s", until is not None and until >= floor, until)
        not_failed(world, checks)

    return verify


def _no_pause(world: World) -> bool:
    budget = world.observer.get_budget(world.subject.credential)
    return budget is None or budget.paused_until is None


def not_failed(world: World, checks: Checks) -> None:
    state = world.observer.get_project(SUBJECT).poll
    healthy = state.consecutive_failures == 0 and state.backoff_until is None
    checks.check("a rate limit is not the project's failure", healthy, state)


def retry_after_date_honoured(world: World, checks: Checks) -> None:
    budget = world.observer.get_budget(world.subject.credential)
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
        budget = world.observer.get_budget(world.subject.credential)
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


def paused_without_budget_record(world: World, checks: Checks) -> None:
    """The credential is paused although the budget's own write failed (the pause is its own write)."""
    budget = world.observer.get_budget(world.subject.credential)
    paused = budget is not None and budget.paused_until is not None
    checks.check("credential paused although its budget could not be recorded", paused, budget)


def retry_after_waited(seconds: int) -> Callable[[World, Checks], None]:
    """A tracker that asked for `Retry-After: seconds` (no more than a poll waits) was sent the
    request again within the poll, after exactly that pause; the poll did not fail and the
    credential was not paused."""

    def verify(world: World, checks: Checks) -> None:
        checks.check(f"retried once, after the {seconds} s asked for", world.pauses == [float(seconds)], world.pauses)
        not_failed(world, checks)
        checks.check("the credential not paused", _no_pause(world), world.observer.get_budget(world.subject.credential))

    return verify


def page_2_answered_304_without_etag(world: World, checks: Checks) -> None:
    # Page 2 changed after the warm-up (a new issue), so only the fault can have answered 304.
    statuses = [r.status for r in world.requests_in("fault", SUBJECT)]
    checks.check("page 2 answered 304 although it changed", statuses == [304, 304], statuses)


def nothing_recorded(world: World, checks: Checks) -> None:
    checks.check("backoff could not be recorded", not world.in_backoff(SUBJECT))


# --- the table ----------------------------------------------------------------------------------------

S1, S2, S105, S106 = (
    "eligible 1",
    "eligible 2",
    "eligible on page 2",
    "eligible on page 2 too",
)  # subject issues, by title
# Why a row runs in the GitHub column only.
GITHUB_LIMITS = "GitHub's primary and secondary rate limits (Linear's RATELIMITED has rows of its own)"
GITHUB_REFUSALS = "a token or repository refused; the Linear stand-in cannot withdraw a key or team mid-run"
STANDIN_ONLY = "a fault only the GitHub stand-in can inject (the Linear stand-in fails with 5xx and resets)"
ETAGS = "ETags and 304s: Linear has no validators"
LINK_PAGES = "GitHub's Link pagination over a listing that changes while it is read"
GITHUB_ONLY = ("github",)
# Why a row runs in the Linear column only.
LINEAR_LIMITS = "Linear's RATELIMITED: a leaky bucket spent, the credential waits for its reset"
LINEAR_GATEWAYS = (
    "the Linear stand-in's gateway pages (HTML, not GraphQL); the GitHub column's 5xx rows are 500 and 502"
)
LINEAR_ONLY = ("linear",)
# Why a row runs in the Jira column only, or not in it.
JIRA_LIMITS = (
    "Jira's 429 (Retry-After, X-RateLimit-*, RateLimit-Reason): the credential waits, the project does not fail"
)
JIRA_RETRY_AFTER_503 = "Jira's 503 carries a Retry-After (Atlassian's rate-limiting page); the other stand-ins' do not"
JIRA_NO_BUDGET = (
    "an API token's answers carry no budget (X-RateLimit-* ride only on a 429, or on an OAuth app's points"
    " quota): nothing low to record"
)
JIRA_ONLY = ("jira",)
NOT_JIRA = ("github", "linear")

CASES = [
    # GitHub faults
    Case(
        "github-primary-rate-limit-403",
        "tracker",
        github("primary_rate_limit", reset_in=1800),
        "poll:primary_rate_limit",
        scope="token",
        tracker_faults=1,
        verify=spent_until_reset(1800),
        trackers=GITHUB_ONLY,
        only=GITHUB_LIMITS,
    ),
    Case(
        "github-primary-rate-limit-429",
        "tracker",
        github("primary_rate_limit", reset_in=900, status=429),
        "poll:primary_rate_limit",
        scope="token",
        tracker_faults=1,
        verify=spent_until_reset(900),
        trackers=GITHUB_ONLY,
        only=GITHUB_LIMITS,
    ),
    Case(
        "github-secondary-retry-after-seconds",
        "tracker",
        github("secondary_rate_limit_seconds", seconds=3600),
        "poll:secondary_rate_limit",
        scope="token",
        tracker_faults=1,
        verify=paused_at_least(3600),
        trackers=GITHUB_ONLY,
        only=GITHUB_LIMITS,
    ),
    Case(
        "github-secondary-retry-after-http-date",
        "tracker",
        github_retry_after_date,
        "poll:secondary_rate_limit",
        scope="token",
        tracker_faults=1,
        verify=retry_after_date_honoured,
        trackers=GITHUB_ONLY,
        only=GITHUB_LIMITS,
    ),
    Case(
        "github-secondary-message-only-429",
        "tracker",
        github("secondary_rate_limit_message", status=429),
        "poll:secondary_rate_limit",
        scope="token",
        tracker_faults=1,
        verify=paused_at_least(60),
        trackers=GITHUB_ONLY,
        only=GITHUB_LIMITS,
    ),
    Case(
        "github-401",
        "tracker",
        github("unauthorized"),
        "poll:auth_failed",
        backoff=True,
        tracker_faults=1,
        trackers=GITHUB_ONLY,
        only=GITHUB_REFUSALS,
    ),
    Case(
        "github-403",
        "tracker",
        github("forbidden"),
        "poll:auth_failed",
        backoff=True,
        tracker_faults=1,
        trackers=GITHUB_ONLY,
        only=GITHUB_REFUSALS,
    ),
    Case(
        "github-404",
        "tracker",
        github("not_found"),
        "poll:repo_not_found",
        backoff=True,
        tracker_faults=1,
        trackers=GITHUB_ONLY,
        only=GITHUB_REFUSALS,
    ),
    Case(
        "github-410",
        "tracker",
        github("gone"),
        "poll:repo_not_found",
        backoff=True,
        tracker_faults=1,
        trackers=GITHUB_ONLY,
        only=GITHUB_REFUSALS,
    ),
    Case("github-500", "tracker", tracker(500), "poll:tracker_unavailable", backoff=True, tracker_faults=1),
    Case(
        "github-502-three-polls-running",
        "tracker",
        tracker(502, times=9),  # each poll tries three times (two retries)
        "poll:tracker_unavailable",
        backoff=True,
        fault_steps=3,
        tracker_faults=3,
        verify=backoff_doubled,
    ),
    Case(
        "github-502-twice-retried-within-the-poll",
        "tracker",
        tracker(502, times=2),
        "ok",
        verify=retried_twice,
    ),
    Case(
        "github-reset-retried-within-the-poll",
        "tracker",
        tracker_reset(1),
        "ok",
        verify=retried_once,
    ),
    Case(
        "github-500-on-page-2",
        "tracker",
        tracker(500, page=2),
        "poll:tracker_unavailable",
        backoff=True,
        tracker_faults=1,
    ),
    Case(
        "github-timeout",
        "tracker",
        github_timeout,
        "poll:tracker_unavailable",
        backoff=True,
        tracker_timeout=0.5,
        tracker_faults=1,
        trackers=GITHUB_ONLY,
        only=STANDIN_ONLY,
    ),
    Case(
        "github-malformed-json",
        "tracker",
        github("malformed_json"),
        "poll:bad_response",
        backoff=True,
        tracker_faults=1,
        trackers=GITHUB_ONLY,
        only=STANDIN_ONLY,
    ),
    Case(
        "github-malformed-json-on-page-2",
        "tracker",
        github("malformed_json", page=2),
        "poll:bad_response",
        backoff=True,
        tracker_faults=1,
        trackers=GITHUB_ONLY,
        only=STANDIN_ONLY,
    ),
    Case(
        "github-unexpected-422",
        "tracker",
        github("status", status=422, body={"message": "Validation Failed"}),
        "poll:bad_response",
        backoff=True,
        tracker_faults=1,
        trackers=GITHUB_ONLY,
        only=STANDIN_ONLY,
    ),
    Case(
        "github-304-without-etag-unasked",
        "tracker",
        github("not_modified_without_etag"),
        "poll:bad_response",
        backoff=True,
        tracker_faults=1,
        trackers=GITHUB_ONLY,
        only=ETAGS,
    ),
    Case(
        "github-304-without-etag-on-a-conditional-page",
        "tracker",
        github("not_modified_without_etag", page=2),
        "ok",
        warm=True,
        tracker_faults=1,
        verify=page_2_answered_304_without_etag,
        trackers=GITHUB_ONLY,
        only=ETAGS,
    ),
    Case(
        "github-page-vanishes-mid-pagination",
        "tracker",
        github("vanish_after_first_page", mode="rest"),
        "vanished",
        closed_unseen=(105, 106),
        tracker_faults=1,
        trackers=GITHUB_ONLY,
        only=LINK_PAGES,
    ),
    Case(
        "github-page-1-closes-while-page-2-is-read",
        "tracker",
        github("vanish_after_first_page", mode="served"),
        "vanished",
        tracker_faults=1,
        trackers=GITHUB_ONLY,
        only=LINK_PAGES,
    ),
    # Linear faults: RATELIMITED until a query fits again, and the gateways' 5xx pages
    Case(
        "linear-ratelimited-requests-spent",
        "tracker",
        ratelimited(requests=0),
        "poll:primary_rate_limit",
        tracker_faults=1,
        # RATELIMITED pauses until the query fits again, at least a tick: not until the bucket
        # is full (an hour), since a leaky bucket leaks back what a query needs in seconds.
        verify=spent_until_reset(60),
        trackers=LINEAR_ONLY,
        only=LINEAR_LIMITS,
    ),
    Case(
        "linear-ratelimited-complexity-spent",
        "tracker",
        ratelimited(points=0),
        "poll:primary_rate_limit",
        tracker_faults=1,
        verify=spent_until_reset(60),
        trackers=LINEAR_ONLY,
        only=LINEAR_LIMITS,
    ),
    Case(
        "linear-503-then-504-retried-within-the-poll",
        "tracker",
        both(tracker(503), tracker(504)),
        "ok",
        verify=retried_twice,
        trackers=LINEAR_ONLY,
        only=LINEAR_GATEWAYS,
    ),
    # Jira faults: a burst 429 or a 503 asking for a few seconds is waited out within the poll; a
    # longer 429 (a quota) pauses the credential until its Retry-After
    Case(
        "jira-429-burst-retry-after-1-retried-within-the-poll",
        "tracker",
        jira_burst_429(1),
        "ok",
        verify=retried_once,
        trackers=JIRA_ONLY,
        only=JIRA_LIMITS,
    ),
    Case(
        "jira-429-burst-retry-after-5-waited-within-the-poll",
        "tracker",
        jira_burst_429(5),
        "ok",
        verify=retry_after_waited(5),
        trackers=JIRA_ONLY,
        only=JIRA_LIMITS,
    ),
    Case(
        "jira-429-quota-retry-after-600",
        "tracker",
        jira_429(600, "jira-quota-tenant-based"),
        "poll:primary_rate_limit",
        tracker_faults=1,
        verify=spent_until_reset(600),
        trackers=JIRA_ONLY,
        only=JIRA_LIMITS,
    ),
    Case(
        "jira-503-retry-after-5-waited-within-the-poll",
        "tracker",
        tracker(503),  # the stand-in's 503 says Retry-After: 5
        "ok",
        verify=retry_after_waited(5),
        trackers=JIRA_ONLY,
        only=JIRA_RETRY_AFTER_503,
    ),
    Case(
        "jira-dynamodb-record-budget-throttled-on-429",
        "dynamodb",
        both(jira_429(600), dynamodb("record_budget")),
        "poll:primary_rate_limit",
        tracker_faults=1,
        verify=paused_without_budget_record,
        trackers=JIRA_ONLY,
        only=JIRA_LIMITS,
    ),
    Case(
        "jira-dynamodb-pause-credential-throttled-on-429",
        "dynamodb",
        both(jira_429(600), dynamodb("pause_credential")),
        "poll:primary_rate_limit",
        backoff=True,
        tracker_faults=1,
        verify=lambda w, c: c.check(
            "the project backs off when the credential's pause could not be recorded",
            w.in_backoff(SUBJECT) and _no_pause(w),
            w.observer.get_project(SUBJECT).poll,
        ),
        trackers=JIRA_ONLY,
        only=JIRA_LIMITS,
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
        both(tracker(500), dynamodb("save_poll_state")),
        "poll:tracker_unavailable",
        tracker_faults=1,
        verify=nothing_recorded,
    ),
    Case(
        "dynamodb-record-budget-throttled-on-low-rate",
        "dynamodb",
        both(low_rate_limit, dynamodb("record_budget")),
        "ok",
        trackers=NOT_JIRA,
        only=JIRA_NO_BUDGET,
    ),
    Case(
        "dynamodb-record-budget-throttled-on-primary-limit",
        "dynamodb",
        both(github("primary_rate_limit", reset_in=1200), dynamodb("record_budget")),
        "poll:primary_rate_limit",
        scope="token",
        tracker_faults=1,
        verify=paused_without_budget_record,
        trackers=GITHUB_ONLY,
        only=GITHUB_LIMITS,
    ),
    Case(
        "dynamodb-pause-credential-throttled-on-secondary-limit",
        "dynamodb",
        both(github("secondary_rate_limit_seconds", seconds=600), dynamodb("pause_credential")),
        "poll:secondary_rate_limit",
        backoff=True,
        tracker_faults=1,
        verify=lambda w, c: c.check(
            "the project backs off when the credential's pause could not be recorded",
            w.in_backoff(SUBJECT) and _no_pause(w),
            w.observer.get_project(SUBJECT).poll,
        ),
        trackers=GITHUB_ONLY,
        only=GITHUB_LIMITS,
    ),
    Case(
        "linear-dynamodb-record-budget-throttled-on-ratelimited",
        "dynamodb",
        both(ratelimited(requests=0), dynamodb("record_budget")),
        "poll:primary_rate_limit",
        tracker_faults=1,
        verify=paused_without_budget_record,
        trackers=LINEAR_ONLY,
        only=LINEAR_LIMITS,
    ),
    Case(
        "linear-dynamodb-pause-credential-throttled-on-ratelimited",
        "dynamodb",
        both(ratelimited(requests=0), dynamodb("pause_credential")),
        "poll:primary_rate_limit",
        backoff=True,
        tracker_faults=1,
        verify=lambda w, c: c.check(
            "the project backs off when the credential's pause could not be recorded",
            w.in_backoff(SUBJECT) and _no_pause(w),
            w.observer.get_project(SUBJECT).poll,
        ),
        trackers=LINEAR_ONLY,
        only=LINEAR_LIMITS,
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
        send(issue=S2, error_code="ThrottlingException"),
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
        crash_after_put_claim_then_tracker_500s,
        "crash",
        recovery_ticks=2,
        tracker_faults=2,
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
        lambda w: w.backend.answer_slowly(1.5, issue_id=w.issue(S1)),
        "backend_fault",
        relaunches=1,
        launcher_timeout=0.5,
    ),
    Case(
        "backend-500",
        "backend",
        lambda w: w.backend.answer_status(500, issue_id=w.issue(S2)),
        "backend_fault",
        relaunches=1,
    ),
    Case(
        "backend-429",
        "backend",
        lambda w: w.backend.answer_status(429, issue_id=w.issue(S105)),
        "backend_fault",
        relaunches=1,
    ),
    Case(
        "backend-refuses-422-for-good",
        "backend",
        lambda w: w.backend.answer_status(422, issue_id=w.issue(S106)),
        "backend_fault",
        rejected=(S106,),
    ),
    # the launcher and the poller racing (no fault: the normal race, made certain)
    Case("launcher-reads-the-message-before-mark-enqueued", "race", launcher_races_the_poller, "ok"),
]


def column(tracker: str) -> list[Case]:
    """The rows that run in a tracker's column."""
    return [case for case in CASES if tracker in case.trackers]


def _known_bug(case: Case) -> list[pytest.MarkDecorator]:
    """A row that shows a bug not yet fixed fails, as it should, and says why (strict: a fix shows)."""
    return [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []


@pytest.mark.parametrize(
    ("world", "case"),
    [
        pytest.param(tracker, case, id=case.id_for(tracker), marks=_known_bug(case))
        for tracker in TRACKERS
        for case in column(tracker)
    ],
    indirect=["world"],
)
def test_fault_leaves_every_issue_enqueued_once_and_launched_at_most_once(world: World, case: Case) -> None:
    # GIVEN a subject project on the column's tracker (two pages, eligible and ineligible issues) and a healthy one
    # WHEN the case's fault hits the subject, stops, and the stated number of ticks runs
    # THEN every invariant holds (run_case raises InvariantFailed naming the one that broke)
    run_case(world, case)


SITES = (
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
CRASH_POINTS = (
    "after-batch-read-claims",
    "after-put-claim",
    "after-send",
    "after-mark-enqueued",
    "after-commit-page",
    "after-launching",
    "after-backend-call",
    "before-recording",
)


@pytest.mark.parametrize("tracker", TRACKERS)
def test_the_matrix_covers_what_the_brief_asks(tracker: str) -> None:
    # GIVEN the column
    cases = column(tracker)
    families = {case.family for case in cases}
    ids = {case.id_for(tracker) for case in cases}
    # WHEN its coverage is counted
    tracker_kinds = {case.id for case in cases if case.family == "tracker"}
    sites = {site for site in SITES if any(site in i for i in ids)}
    # THEN at least ten GitHub faults (eight of Linear's: its 5xx, resets and RATELIMITED), every
    # DynamoDB call site, SQS, Lambda and every crash point
    assert len(tracker_kinds) >= (10 if tracker == "github" else 8)
    assert len(sites) == 12
    assert {"sqs", "lambda", "crash-poller", "crash-launcher", "race"} <= families
    for point in CRASH_POINTS:
        assert any(point in i for i in ids), point
    assert len(ids) == len(cases)


def test_every_row_runs_in_every_column_unless_it_says_why_not() -> None:
    # GIVEN the table WHEN its one-column rows are listed
    alone = [case for case in CASES if set(case.trackers) != set(TRACKERS)]
    # THEN each says why; every other row runs in every column, and the GitHub and Linear columns
    # are the rows they were
    assert all(case.only for case in alone), [c.id for c in alone if not c.only]
    assert all(not case.only for case in CASES if case not in alone)
    assert len(column("github")) == 60
    assert len(column("linear")) == 46
