"""One metric per outcome (Powertools EMF). Names are what the dashboards and alarms use."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from .domain.acknowledge import AckOutcome, AckReport
from .domain.dispatch import DispatchSummary
from .domain.launch import LaunchOutcome, LaunchReport
from .domain.poll import PollOutcome, PollResult

# A poll's requests and retries, by its tracker.
REQUESTS_METRIC = {"github": "GitHubRequests", "linear": "LinearRequests", "jira": "JiraRequests"}
RETRIES_METRIC = {"github": "GitHubRetries", "linear": "LinearRetries", "jira": "JiraRetries"}


def record_poll(metrics: Metrics, outcome: PollOutcome) -> None:
    """How the poll ended (what it did: `record_poll_counts`)."""
    if outcome.result is PollResult.NOT_MODIFIED:
        metrics.add_metric("PollsNotModified", MetricUnit.Count, 1)
    elif outcome.result is PollResult.CHANGED:
        metrics.add_metric("PollsChanged", MetricUnit.Count, 1)
    elif outcome.result in (PollResult.FAILED, PollResult.CONFIG_INVALID):
        # The error kind is a dimension of its own, so it goes out as a single metric.
        with single_metric(
            name="PollsFailed",
            unit=MetricUnit.Count,
            value=1,
            namespace=metrics.namespace,
            default_dimensions=metrics.default_dimensions,
        ) as metric:
            metric.add_dimension(name="ErrorKind", value=outcome.error_kind or "unknown")
        # Transient (a 5xx, a reset, a timeout: backed off until the next tick) apart from the rest.
        name = "PollFailuresTransient" if outcome.transient else "PollFailuresPersistent"
        metrics.add_metric(name, MetricUnit.Count, 1)
    elif outcome.result is PollResult.CREDENTIAL_PAUSED:
        # A rate limit pauses the credential: a signal for the operator, not a project failure.
        metrics.add_metric("CredentialPaused", MetricUnit.Count, 1 if outcome.error_kind else 0)
        metrics.add_metric("PollsSkippedPaused", MetricUnit.Count, 0 if outcome.error_kind else 1)


def record_poll_counts(metrics: Metrics, outcome: PollOutcome) -> None:
    """What the poll did: each count, when there was some."""
    if outcome.new_sessions:
        metrics.add_metric("IssuesClaimed", MetricUnit.Count, len(outcome.new_sessions))
        metrics.add_metric("IssuesEnqueued", MetricUnit.Count, len(outcome.new_sessions))
    if outcome.backlog_recorded:
        # Matched when intake was switched on with `backlog: new`: recorded, no session started.
        metrics.add_metric("IssuesBacklogged", MetricUnit.Count, outcome.backlog_recorded)
    if outcome.claims_recovered:
        metrics.add_metric("ClaimsRecovered", MetricUnit.Count, outcome.claims_recovered)
    if outcome.backoff_entered:
        metrics.add_metric("BackoffsEntered", MetricUnit.Count, 1)
    # Each tracker's requests apart: Linear's and Jira's spend other credentials' budgets.
    if outcome.requests:
        metrics.add_metric(REQUESTS_METRIC[outcome.provider], MetricUnit.Count, outcome.requests)
    if outcome.retries:
        metrics.add_metric(RETRIES_METRIC[outcome.provider], MetricUnit.Count, outcome.retries)
    if outcome.members_without_write:
        # An organisation member's matching issue, skipped: GitHub says they may not write.
        metrics.add_metric("IssuesSkippedMemberWithoutWrite", MetricUnit.Count, outcome.members_without_write)
    if outcome.writes_unchecked:
        # A member's issue held back because their write access could not be checked this poll.
        metrics.add_metric("IssuesWaitingWriteCheck", MetricUnit.Count, outcome.writes_unchecked)


def record_dispatch(metrics: Metrics, summary: DispatchSummary) -> None:
    metrics.add_metric("PollsDispatched", MetricUnit.Count, summary.dispatched)
    metrics.add_metric("DispatchSkippedBackoff", MetricUnit.Count, summary.skipped_backoff)
    metrics.add_metric("DispatchSkippedBudget", MetricUnit.Count, summary.skipped_budget)
    metrics.add_metric("DispatchInvokeFailed", MetricUnit.Count, summary.failed_invoke)
    # Polls due but left for a later tick: the credential's request budget was spent.
    metrics.add_metric("PollsDeferred", MetricUnit.Count, summary.deferred)
    metrics.add_metric("GitHubPointsGranted", MetricUnit.Count, summary.points_granted)
    metrics.add_metric("DispatchSkippedBackoffTransient", MetricUnit.Count, summary.skipped_backoff_transient)
    # Busy projects (polls that keep answering 200) left for their turn: the primary budget's pacing.
    metrics.add_metric("PollsSlowedBusy", MetricUnit.Count, summary.slowed_busy)


_LAUNCH_METRICS = {
    LaunchOutcome.LAUNCHED: "SessionsLaunched",
    LaunchOutcome.REJECTED: "LaunchesRejected",
    LaunchOutcome.RETRY: "LaunchesRetried",
    LaunchOutcome.DUPLICATE: "LaunchDuplicates",
    LaunchOutcome.NO_CLAIM: "LaunchesWithoutClaim",
}


def record_launch(metrics: Metrics, logger: Logger, result: LaunchReport) -> None:
    """One metric and one log line per queued request (the prompt is never logged here); a launch
    also publishes its pickup: from the issue's update on GitHub to the launch (`PickupSeconds`,
    the figure the dashboard's p50/p95 and the alarm read) and to the enqueue."""
    metrics.add_metric(_LAUNCH_METRICS[result.outcome], MetricUnit.Count, 1)
    line: dict[str, str | float] = {
        "project_id": result.project_id,
        "issue_id": result.issue_id,
        "outcome": result.outcome.value,
    }
    if result.pickup_seconds is not None:
        metrics.add_metric("PickupSeconds", MetricUnit.Seconds, result.pickup_seconds)
        line["pickup_seconds"] = round(result.pickup_seconds, 3)
    if result.enqueue_seconds is not None:
        metrics.add_metric("PickupEnqueueSeconds", MetricUnit.Seconds, result.enqueue_seconds)
        line["enqueue_seconds"] = round(result.enqueue_seconds, 3)
    if result.session_ref:
        line["session_ref"] = result.session_ref
    if result.reason:
        line["reason"] = result.reason
    if result.outcome in (LaunchOutcome.LAUNCHED, LaunchOutcome.DUPLICATE):
        logger.info("launch " + result.outcome.value, extra=line)
    else:
        logger.warning("launch " + result.outcome.value, extra=line)


_ACK_METRICS = {
    AckOutcome.DONE: "AcknowledgementsWritten",
    AckOutcome.REFUSED: "AcknowledgementsRefused",
    AckOutcome.FAILED: "AcknowledgementsFailed",
    AckOutcome.DEFERRED: "AcknowledgementsDeferred",
}


def record_ack(metrics: Metrics, logger: Logger, result: AckReport) -> None:
    """The acknowledgement on the issue: a metric and a log line, unless there was none to do."""
    if result.outcome is AckOutcome.NONE:
        return
    metrics.add_metric(_ACK_METRICS[result.outcome], MetricUnit.Count, 1)
    line = {
        "project_id": result.project_id,
        "issue_id": result.issue_id,
        "outcome": result.outcome.value,
        "kind": result.kind.value if result.kind else None,
    }
    if result.url:
        line["url"] = result.url
    if result.reason:
        line["reason"] = result.reason
    if result.outcome is AckOutcome.DONE:
        logger.info("acknowledgement " + result.outcome.value, extra=line)
    else:
        # A refused write (403/404) is the operator's to fix: the credential cannot write there.
        logger.warning("acknowledgement " + result.outcome.value, extra=line)
