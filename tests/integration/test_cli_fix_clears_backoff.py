"""A fixed mistake does not keep its backoff: the user's walk-through of issue 25, bug 5, through
the `intake` CLI against the real API handler on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_support import Api
from cli_support import Served, described

from intake_dev.functions import quiet_handler_logs
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.records import PollState


@pytest.fixture
def cli(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> Iterator[Served]:
    served = Served(Api(aws), capsys)
    with quiet_handler_logs():
        yield served
    served.stop()


def test_clearing_a_credential_that_failed_clears_the_backoff_and_its_error(cli: Served) -> None:
    # GIVEN widgets polling with credential `ops`, whose secret does not exist: in backoff for
    # 5 minutes, showing the error
    config = {"trackerIntake": {"enabled": True, "repo": "acme/widgets", "labels": ["agent"], "credential": "ops"}}
    cli.api.store.create_project("widgets", ProjectConfig.model_validate(config), datetime.now(UTC))
    failed = PollState(
        backoff_until=datetime.now(UTC) + timedelta(minutes=5),
        consecutive_failures=1,
        last_error="credential_unavailable: the secret of credential ops cannot be read",
    )
    cli.api.store.save_poll_state("widgets", failed)
    assert described(cli.run("project", "show", "widgets")[1])["status"] == "backoff"
    # WHEN the user fixes it, back to the deployment's default credential
    code, _, err = cli.run("project", "set-config", "widgets", "--clear-tracker-credential")
    # THEN the change is applied, and the project is no longer in backoff nor shows the old error:
    # the next tick polls it
    assert code == 0, err
    shown = described(cli.run("project", "show", "widgets")[1])
    assert shown["status"] == "ok", shown
    assert "ops" not in cli.run("project", "show", "widgets")[1]
    assert cli.api.store.get_project("widgets").poll.backoff_until is None
