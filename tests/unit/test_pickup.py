"""Pickup latency on in-memory ports: each launch reports it, a project's recent launches sum it up."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics
from fakes import MemoryStore

from intake_dev.clock import FixedClock
from tracker_intake.domain.launch import LaunchContext, LaunchOutcome, LaunchReport, launch_session
from tracker_intake.domain.pickup import percentile, project_pickup, recent_pickup, seconds_since_update
from tracker_intake.domain.records import Claim, ClaimStatus, IssueSnapshot
from tracker_intake.domain.session import LaunchedSession, SessionIssue, SessionRequest
from tracker_intake.observability import record_launch

UPDATED = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def snapshot(number: int = 42, updated_at: str | None = "2026-05-04T09:00:00Z") -> IssueSnapshot:
    return IssueSnapshot(
        number, "Crash", f"https://github.com/acme/app/issues/{number}", ("agent",), (), "", None, updated_at
    )


def a_claim(
    number: int = 42,
    status: ClaimStatus = ClaimStatus.ENQUEUED,
    *,
    claimed_at: datetime = UPDATED + timedelta(seconds=30),
    updated_at: datetime | None = None,
    generation: int = 1,
    issue_updated_at: str | None = "2026-05-04T09:00:00Z",
) -> Claim:
    return Claim(
        canonical_id=f"github:acme/app#{number}",
        project_id="demo",
        status=status,
        claim_token=f"t{number}",
        claimed_at=claimed_at,
        updated_at=updated_at or claimed_at,
        issue=snapshot(number, issue_updated_at),
        generation=generation,
    )


class Backend:
    def launch(self, request: SessionRequest, prompt: str) -> LaunchedSession:
        return LaunchedSession("s-1")


def launch(claim: Claim, clock: FixedClock) -> LaunchReport:
    """Deliver the claim's request (enqueued when it was claimed) with the clock where it is."""
    store = MemoryStore()
    store.put_claim(claim)
    request = SessionRequest(
        project_id="demo",
        issue_id=claim.canonical_id,
        issue=SessionIssue(number=claim.issue.number, title="Crash", url=claim.issue.url),
        enqueued_at=claim.claimed_at,
        generation=claim.generation,
    )
    report = launch_session(request, LaunchContext(ledger=store, launcher=Backend(), clock=clock)).launch
    assert report is not None
    return report


# --- one launch ---------------------------------------------------------------------------------------


def test_a_launch_reports_the_seconds_from_the_issues_update_to_its_enqueue_and_its_launch() -> None:
    # GIVEN an issue updated at 09:00:00, claimed and enqueued by the poll of 09:00:30
    clock = FixedClock(UPDATED + timedelta(seconds=95))
    # WHEN its request is launched at 09:01:35
    report = launch(a_claim(), clock)
    # THEN the launch says 30 s to the enqueue and 95 s to the launch
    assert report.outcome is LaunchOutcome.LAUNCHED
    assert (report.enqueue_seconds, report.pickup_seconds) == (30.0, 95.0)


@pytest.mark.parametrize(
    ("claim", "why"),
    [
        (a_claim(generation=2), "a released issue's next session starts from the release"),
        (a_claim(issue_updated_at=None), "a claim made before snapshots kept updated_at"),
        (a_claim(issue_updated_at="yesterday"), "an updated_at that is not a time"),
    ],
    ids=["second generation", "no updated_at", "unreadable updated_at"],
)
def test_a_launch_whose_pickup_means_nothing_reports_none(claim: Claim, why: str) -> None:
    # GIVEN such a claim  WHEN it is launched  THEN it is launched, with no pickup figures
    report = launch(claim, FixedClock(UPDATED + timedelta(minutes=10)))
    assert report.outcome is LaunchOutcome.LAUNCHED, why
    assert (report.pickup_seconds, report.enqueue_seconds) == (None, None), why


def test_a_clock_behind_githubs_counts_zero_not_a_negative_wait() -> None:
    # GIVEN an issue GitHub dates a second after our clock's now
    # WHEN its wait is measured  THEN it is zero
    assert seconds_since_update(snapshot(), UPDATED - timedelta(seconds=1)) == 0.0


def test_a_duplicate_delivery_reports_no_pickup() -> None:
    # GIVEN a claim launched already  WHEN its request comes again  THEN no second figure
    report = launch(a_claim(status=ClaimStatus.LAUNCHED), FixedClock(UPDATED + timedelta(minutes=1)))
    assert report.outcome is LaunchOutcome.DUPLICATE and report.pickup_seconds is None


# --- a project's recent launches ----------------------------------------------------------------------


def launched(number: int, waited: float, *, generation: int = 1) -> Claim:
    """A claim launched `waited` seconds after its issue's update, the later the higher `number`."""
    issue_updated = UPDATED + timedelta(minutes=number)
    return a_claim(
        number,
        ClaimStatus.LAUNCHED,
        claimed_at=issue_updated,
        updated_at=issue_updated + timedelta(seconds=waited),
        generation=generation,
        issue_updated_at=issue_updated.isoformat(),
    )


def test_a_projects_pickup_is_its_last_launch_and_the_percentiles_of_its_launched_claims() -> None:
    # GIVEN twenty launches that waited 1..20 minutes' worth of seconds (the newest 20 s), beside
    # claims that did not launch and a released issue's second session
    claims = [launched(n, float(21 - n)) for n in range(1, 21)]
    claims += [a_claim(99, ClaimStatus.BACKLOG), a_claim(98, ClaimStatus.FAILED), launched(97, 9999.0, generation=2)]
    # WHEN the project's pickup is summed up
    pickup = recent_pickup(claims)
    # THEN the last is the newest launch's, and p50/p95 are over the twenty launches only
    assert pickup is not None
    assert (pickup.launches, pickup.last_seconds) == (20, 1.0)
    assert pickup.last_launched_at == UPDATED + timedelta(minutes=20, seconds=1)
    assert (pickup.p50_seconds, pickup.p95_seconds) == (10.0, 19.0)


def test_a_project_without_a_launch_has_no_pickup() -> None:
    # GIVEN only claims that did not launch  THEN there is nothing to say
    assert recent_pickup([a_claim(1), a_claim(2, ClaimStatus.BACKLOG)]) is None


def test_a_projects_pickup_is_read_from_its_newest_claims_in_the_ledger() -> None:
    # GIVEN a ledger with one launch of demo's, and another project's slower one
    store = MemoryStore()
    store.put_claim(launched(1, 42.0))
    store.put_claim(replace(launched(2, 600.0), project_id="other"))
    store.ops.reset()
    # WHEN demo's pickup is read  THEN it is its own launch's, for one read of the ledger
    pickup = project_pickup(store, "demo")
    assert pickup is not None and (pickup.launches, pickup.p95_seconds) == (1, 42.0)
    assert store.ops.calls == ["list_sessions"]


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [([5.0], 95, 5.0), ([1.0, 2.0], 50, 1.0), ([1.0, 2.0], 95, 2.0), ([float(n) for n in range(1, 101)], 95, 95.0)],
)
def test_percentiles_are_nearest_rank(values: list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == expected


# --- the metric ---------------------------------------------------------------------------------------


@pytest.fixture
def service_log_handlers_restored() -> Iterator[None]:
    """A Powertools Logger made here writes to the stdout pytest captures for this test alone:
    its handler must not outlive the test (a later one would log to a closed stream)."""
    service = logging.getLogger("tracker-intake")
    kept, marks = list(service.handlers), dict(vars(service))
    yield
    service.handlers[:] = kept
    for name in set(vars(service)) - set(marks):  # Powertools marks the logger it set up
        delattr(service, name)


def test_a_launch_publishes_its_pickup_in_seconds_and_a_launch_without_one_publishes_none(
    capsys: pytest.CaptureFixture[str], service_log_handlers_restored: None
) -> None:
    # GIVEN the launcher's metrics
    metrics = Metrics(namespace="TrackerIntake", service="tracker-intake")
    logger = Logger(service="tracker-intake")
    metrics.clear_metrics()  # Powertools keeps one metric set per process: start from none
    # WHEN a launch with figures and one without are recorded
    record_launch(
        metrics, logger, LaunchReport(LaunchOutcome.LAUNCHED, "demo", "github:acme/app#1", "s-1", None, 95.0, 30.0)
    )
    record_launch(metrics, logger, LaunchReport(LaunchOutcome.LAUNCHED, "demo", "github:acme/app#2", "s-2"))
    emf: dict[str, Any] = dict(metrics.serialize_metric_set())
    metrics.clear_metrics()
    # THEN PickupSeconds holds the one figure, in Seconds, beside the two launches
    definitions = {m["Name"]: m["Unit"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert definitions["PickupSeconds"] == definitions["PickupEnqueueSeconds"] == "Seconds"
    assert (emf["PickupSeconds"], emf["PickupEnqueueSeconds"], emf["SessionsLaunched"]) == ([95.0], [30.0], [1.0, 1.0])
    # AND the launch's log line carries it
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [line.get("pickup_seconds") for line in lines] == [95.0, None]
