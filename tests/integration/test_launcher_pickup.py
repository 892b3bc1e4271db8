"""Pickup latency on moto: the launcher publishes it, the ledger keeps what it needs, the API reads it back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_support import Api, claim, load_event
from launcher_support import SessionBackend, sample_body, session_backend, sqs_event

from intake_dev.functions import LocalLambdaContext, load_handler
from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.adapters.webhook import WebhookLauncher
from tracker_intake.domain.clock import SystemClock
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.launch import LaunchContext
from tracker_intake.domain.records import ClaimStatus

WAITED = 120


@pytest.fixture
def backend() -> Iterator[SessionBackend]:
    with session_backend() as b:
        yield b


def emf_lines(out: str) -> list[dict[str, Any]]:
    """The Embedded Metric Format documents the handler printed (its log lines are JSON too)."""
    documents = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [d for d in documents if "_aws" in d]


def test_a_launch_publishes_pickup_seconds_and_the_project_view_reads_it_back(
    aws: dict[str, Any], backend: SessionBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN project demo, and its issue 42 enqueued, which GitHub last updated two minutes ago
    store = DynamoStore(aws["table_name"], client=aws["dynamodb"])
    store.create_project("demo", ProjectConfig.model_validate({"trackerIntake": {"enabled": False}}), datetime.now(UTC))
    updated = datetime.now(UTC) - timedelta(seconds=WAITED)
    enqueued = claim(status=ClaimStatus.ENQUEUED)
    store.put_claim(replace(enqueued, issue=replace(enqueued.issue, updated_at=updated.isoformat())))
    launcher = load_handler("launcher", fresh=True)
    launcher.use(LaunchContext(ledger=store, launcher=WebhookLauncher(backend.url, "whsec_x"), clock=SystemClock()))
    capsys.readouterr()
    # WHEN the launcher takes its request
    response = launcher.lambda_handler(sqs_event(sample_body()), LocalLambdaContext())
    # THEN it launched, and published PickupSeconds, in seconds, of at least the two minutes waited
    assert response["batchItemFailures"] == []
    (emf,) = [d for d in emf_lines(capsys.readouterr().out) if "PickupSeconds" in d]
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units["PickupSeconds"] == "Seconds"
    (seconds,) = emf["PickupSeconds"]
    assert seconds >= WAITED
    # AND the ledger kept GitHub's updated_at, so the project's view reads the same pickup back
    assert store.get_claim("github:acme/app#42").issue.updated_at == updated.isoformat()  # type: ignore[union-attr]
    pickup = Api(aws)(load_event("api-get-project.json")).body["pickup"]
    assert pickup["launches"] == 1 and pickup["lastSeconds"] >= WAITED
