"""Shared fixtures: moto in-process AWS with the template's table and queues."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from intake_dev.fake_github import FakeGitHub
from intake_dev.template import create_resources

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TrackerIntakeTest")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tracker-intake")
# Never let a test reach a real account, whatever the developer's environment holds.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_name, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
# ... nor a real tracker: with a developer's Linear key or Jira token in the environment, a
# Linear or Jira rule (a preview, a fuzzed request) would poll linear.app or a real Jira site.
# A test that needs them sets them itself, pointed at a stand-in on loopback.
for _name in ("LINEAR_API_KEY", "LINEAR_API_URL", "JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_API_URL"):
    os.environ.pop(_name, None)


@pytest.fixture(autouse=True)
def _fresh_secret_providers() -> Iterator[None]:
    """Powertools keeps one default Secrets Manager provider (and its boto3 client) per process.
    One made inside a test's moto would outlive it: a later local stack's pollers would then read
    their secrets through it, from no AWS at all (token_unavailable). Each test starts without."""
    yield
    parameters.clear_caches()  # type: ignore[no-untyped-call]


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """moto in-process, with IntakeTable, ActivityTable and the launch queues created from template.yaml."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        sqs = boto3.client("sqs")
        names = create_resources(dynamodb, sqs)
        yield {"dynamodb": dynamodb, "sqs": sqs, **names}


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    """A GitHub stand-in on loopback (real sockets), stopped after the test."""
    with FakeGitHub() as fake:
        yield fake
