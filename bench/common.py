"""What the benchmarks share: a fake AWS account, the template's table and queues, test data."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from intake_dev.fake_github import FakeRepo
from intake_dev.template import REPO_ROOT

TOKEN = "ghp_benchToken0000000000000000000000000000"
NAIVE_TOKEN = "ghp_benchNaiveToken00000000000000000000000"
LABEL = "agent"
PYTHON = sys.executable
RESULTS = REPO_ROOT / "bench" / "results.json"


def fake_aws_env() -> None:
    """Credentials and region for moto; nothing here can reach a real account."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    # The handlers' Powertools logger and metrics: quiet, so the table stays readable.
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tracker-intake")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TrackerIntakeBench")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"


@dataclass
class Aws:
    dynamodb: Any
    sqs: Any
    table_name: str
    queue_url: str
    activity_table_name: str


@contextmanager
def moto_account(config: dict[str, Any] | None = None) -> Iterator[Aws]:
    """moto in this process, with IntakeTable, ActivityTable and the launch queues built from template.yaml.
    `config` is moto's own (e.g. Lambda without Docker)."""
    import boto3
    from moto import mock_aws

    from intake_dev.template import create_resources

    fake_aws_env()
    with mock_aws(config=config):  # type: ignore[arg-type]  # moto types it as its own TypedDict
        dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
        names = create_resources(dynamodb, sqs)
        yield Aws(dynamodb, sqs, names["table_name"], names["queue_url"], names["activity_table_name"])


def add_issues(repo: FakeRepo, count: int, *, eligible_every: int = 1) -> int:
    """`count` open issues labelled `agent`; every `eligible_every`-th is eligible, the rest are
    excluded by `in-progress`. Returns how many are eligible."""
    eligible = 0
    for n in range(1, count + 1):
        if n % eligible_every == 0:
            repo.add_issue(f"issue {n}", labels=[LABEL])
            eligible += 1
        else:
            repo.add_issue(f"issue {n} (being worked on)", labels=[LABEL, "in-progress"])
    return eligible


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "measured_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
