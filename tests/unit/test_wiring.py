"""The composition roots: every setting reaches the port or knob it names; overrides replace."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest

from intake_dev.clock import FixedClock
from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.adapters.github import GitHubTracker
from tracker_intake.settings import ApiSettings, DispatcherSettings, PollerSettings
from tracker_intake.wiring import build_api_context, build_dispatch_context, build_poll_context


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_the_poller_context_carries_its_settings() -> None:
    # GIVEN the poller's environment as the template sets it
    settings = PollerSettings.from_env(
        {
            "TABLE_NAME": "t",
            "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q.fifo",
            "MAX_PAGES_PER_POLL": "3",
            "STALE_CLAIM_SECONDS": "50",
            "GITHUB_MAX_CONCURRENCY": "7",
        }
    )
    # WHEN its context is built
    context = build_poll_context(settings, token="t0ken")
    # THEN the page cap and the stale-claim age are the settings' own, and the tracker is GitHub's
    assert context.page_cap == 3
    assert context.stale_claim == timedelta(seconds=50)
    assert isinstance(context.tracker, GitHubTracker)


def test_overrides_replace_ports_and_clients_are_used() -> None:
    # GIVEN a client and a clock of the caller's
    settings = PollerSettings.from_env({"TABLE_NAME": "t", "QUEUE_URL": "https://q"})
    client = boto3.client("dynamodb", region_name="us-east-1")
    clock = FixedClock()
    # WHEN the context is built with them
    context = build_poll_context(settings, dynamodb=client, token="t0ken", clock=clock)
    # THEN they are the ones in it
    assert context.clock is clock
    assert context.store.table.client is client  # type: ignore[attr-defined]


def test_the_dispatcher_context_carries_the_request_budget() -> None:
    # GIVEN the dispatcher's environment with a budget of 450 requests a minute
    settings = DispatcherSettings.from_env(
        {"TABLE_NAME": "t", "POLLER_FUNCTION_NAME": "poller", "GITHUB_REQUESTS_PER_MINUTE": "450"}
    )
    # WHEN its context is built THEN the budget is the setting's
    assert build_dispatch_context(settings, token="t0ken").requests_per_minute == 450


def test_the_poller_records_its_polls_in_the_activity_table_it_is_told() -> None:
    # GIVEN the poller's environment with the activity table's name, as the template sets it
    settings = PollerSettings.from_env({"TABLE_NAME": "t", "QUEUE_URL": "https://q", "ACTIVITY_TABLE_NAME": "log"})
    # WHEN its context is built
    context = build_poll_context(settings, token="t0ken")
    # THEN the activity log is the store's, on that table, and the state stays on the intake table
    assert isinstance(context.activity, DynamoStore) and context.activity.activity_table is not None
    assert context.activity.activity_table.name == "log"
    assert context.activity.table.name == "t"


def test_a_poller_told_no_activity_table_records_no_poll() -> None:
    # GIVEN the poller's environment without ACTIVITY_TABLE_NAME
    settings = PollerSettings.from_env({"TABLE_NAME": "t", "QUEUE_URL": "https://q"})
    # WHEN its context is built THEN it has no activity log (the poll records nothing)
    assert build_poll_context(settings, token="t0ken").activity is None


def test_the_api_reads_the_activity_table_it_is_told() -> None:
    # GIVEN the API's environment with the activity table's name
    settings = ApiSettings.from_env({"TABLE_NAME": "t", "ACTIVITY_TABLE_NAME": "log"})
    # WHEN its context is built THEN its store lists polls from that table
    store = build_api_context(settings).store
    assert isinstance(store, DynamoStore) and store.activity_table is not None
    assert store.activity_table.name == "log"
