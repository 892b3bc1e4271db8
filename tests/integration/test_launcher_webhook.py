"""LauncherFunction against a real HTTP session backend on loopback, with the ledger on moto."""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Iterator
from typing import Any, cast

import boto3
import pytest
from api_support import claim
from launcher_support import ISSUE, SECRET, Launcher, Reply, SessionBackend, sample_body, session_backend, sqs_event

from intake_dev.functions import LocalLambdaContext, load_handler
from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.domain.records import ClaimStatus
from tracker_intake.domain.signing import launch_signature


@pytest.fixture
def backend() -> Iterator[SessionBackend]:
    with session_backend() as b:
        yield b


def test_success_records_launched_with_the_backends_session_id(aws: dict[str, Any], backend: SessionBackend) -> None:
    # GIVEN an enqueued claim and a backend that answers 201 {"sessionId": "sess-1"}
    launcher = Launcher(aws, backend)
    # WHEN the request is delivered
    failed = launcher.deliver()
    # THEN nothing failed and the claim is launched with the session id
    assert failed == []
    assert cast(ClaimStatus, launcher.claim.status) is ClaimStatus.LAUNCHED  # re-read after delivery
    assert launcher.claim.session_ref == "sess-1"


@pytest.mark.parametrize(
    ("answer", "kept"),
    [
        (
            {"sessionId": "sess-1", "sessionUrl": "https://agents.example.com/s/sess-1"},
            "https://agents.example.com/s/sess-1",
        ),
        ({"sessionId": "sess-1", "sessionUrl": "http://agents.example.com/s/sess-1"}, None),
        ({"sessionId": "sess-1", "sessionUrl": "javascript:alert(1)"}, None),
        ({"sessionId": "sess-1", "sessionUrl": 'https://x.example/"><script>'}, None),
        ({"sessionId": "sess-1", "sessionUrl": 42}, None),
        ({"sessionId": "sess-1"}, None),
    ],
    ids=["https", "http", "javascript", "quotes", "not-a-string", "absent"],
)
def test_the_backends_session_url_is_kept_only_when_it_is_an_https_url(
    aws: dict[str, Any], answer: dict[str, Any], kept: str | None
) -> None:
    # GIVEN a backend whose answer names the session's page (or something that is not one)
    with session_backend(Reply(201, answer)) as backend:
        launcher = Launcher(aws, backend)
        # WHEN the request is delivered
        assert launcher.deliver() == []
    # THEN the session is launched with its id, and the URL is kept only if it is https
    assert launcher.claim.session_ref == "sess-1"
    assert launcher.claim.session_url == kept


def test_500_then_success_gives_one_launch(aws: dict[str, Any]) -> None:
    # GIVEN a backend that answers 500 once, then 201
    with session_backend(Reply(500), Reply(201, {"sessionId": "sess-1"})) as backend:
        launcher = Launcher(aws, backend)
        # WHEN the request is delivered, fails, and SQS delivers it again
        first = launcher.deliver()
        assert launcher.claim.status is ClaimStatus.ENQUEUED
        second = launcher.deliver()
    # THEN the first delivery is reported failed (retried), the second launches, once
    assert first == ["message-0"]
    assert second == []
    assert cast(ClaimStatus, launcher.claim.status) is ClaimStatus.LAUNCHED  # re-read after delivery
    assert [r.headers["Idempotency-Key"] for r in backend.received] == ["demo:github:acme/app#42"] * 2


def test_429_is_retried(aws: dict[str, Any]) -> None:
    # GIVEN a backend that is rate limiting
    with session_backend(Reply(429), Reply(201, {"sessionId": "sess-1"})) as backend:
        launcher = Launcher(aws, backend)
        # WHEN the request is delivered
        failed = launcher.deliver()
    # THEN the message fails (SQS retries it) and the claim waits, enqueued
    assert failed == ["message-0"]
    assert launcher.claim.status is ClaimStatus.ENQUEUED


def test_400_gives_a_failed_claim_and_no_retry(aws: dict[str, Any]) -> None:
    # GIVEN a backend that refuses the request
    with session_backend(Reply(400, {"error": "unknown repository"})) as backend:
        launcher = Launcher(aws, backend)
        # WHEN the request is delivered
        failed = launcher.deliver()
        # AND delivered again (as a duplicate would be)
        again = launcher.deliver()
    # THEN the message is not failed (no retry), the claim is failed with the reason, one call
    assert failed == again == []
    assert launcher.claim.status is ClaimStatus.FAILED
    assert "HTTP 400" in launcher.claim.reason
    assert "unknown repository" in launcher.claim.reason
    assert len(backend.received) == 1


def test_timeout_is_retried_with_the_same_idempotency_key(aws: dict[str, Any]) -> None:
    # GIVEN a backend that takes longer than the launcher waits, then answers promptly
    with session_backend(Reply(201, {"sessionId": "late"}, delay=2.0), Reply(201, {"sessionId": "sess-1"})) as backend:
        launcher = Launcher(aws, backend, read_timeout=0.3)
        # WHEN the request is delivered, times out, and is delivered again
        first = launcher.deliver()
        assert launcher.claim.status is ClaimStatus.ENQUEUED
        second = launcher.deliver()
    # THEN the timeout failed the message, the retry launched, both asked with one key
    assert first == ["message-0"]
    assert second == []
    assert cast(ClaimStatus, launcher.claim.status) is ClaimStatus.LAUNCHED  # re-read after delivery
    keys = {r.headers["Idempotency-Key"] for r in backend.received}
    assert keys == {"demo:github:acme/app#42"}


def test_same_message_delivered_twice_calls_the_backend_once(aws: dict[str, Any], backend: SessionBackend) -> None:
    # GIVEN an enqueued claim
    launcher = Launcher(aws, backend)
    # WHEN the same message is delivered twice
    launcher.deliver()
    failed = launcher.deliver()
    # THEN the backend was called once and the duplicate is not a failure
    assert len(backend.received) == 1
    assert failed == []


def test_same_message_twice_in_one_batch_calls_the_backend_once(aws: dict[str, Any], backend: SessionBackend) -> None:
    # GIVEN an enqueued claim
    launcher = Launcher(aws, backend)
    # WHEN one batch carries the same request twice
    response = launcher.module.lambda_handler(sqs_event(sample_body(), sample_body()), LocalLambdaContext())
    # THEN one call, no failures
    assert len(backend.received) == 1
    assert response["batchItemFailures"] == []


def test_signature_covers_the_direction_the_timestamp_and_the_exact_body(
    aws: dict[str, Any], backend: SessionBackend
) -> None:
    # GIVEN an enqueued claim
    launcher = Launcher(aws, backend)
    # WHEN the request is delivered
    before = int(time.time())
    launcher.deliver()
    # THEN X-Intake-Timestamp is the time it was sent, and X-Intake-Signature the HMAC-SHA256,
    # under the shared secret, of "intake-launch-v2\n<timestamp>\n<body bytes>" (as documented)
    (got,) = backend.received
    stamp = got.headers["X-Intake-Timestamp"]
    assert before <= int(stamp) <= int(time.time())
    message = b"intake-launch-v2\n" + stamp.encode() + b"\n" + got.body
    expected = "sha256=" + hmac.new(SECRET.encode(), message, "sha256").hexdigest()
    assert hmac.compare_digest(got.headers["X-Intake-Signature"], expected)
    # AND it is not the HMAC of the body alone, which a captured request would replay for ever
    assert got.headers["X-Intake-Signature"] != "sha256=" + hmac.new(SECRET.encode(), got.body, "sha256").hexdigest()


def test_webhook_body_is_the_request_and_the_prompt(aws: dict[str, Any], backend: SessionBackend) -> None:
    # GIVEN an enqueued claim
    launcher = Launcher(aws, backend)
    # WHEN the request is delivered
    launcher.deliver()
    # THEN the backend gets the session request fields plus the prompt
    body = backend.received[0].json
    assert body["projectId"] == "demo"
    assert body["issueId"] == ISSUE
    assert body["issue"]["title"] == "Crash when the config file is empty"
    assert "Title: Crash when the config file is empty" in body["prompt"]
    assert backend.received[0].headers["Content-Type"].startswith("application/json")


def test_2xx_without_a_session_id_records_a_fallback_reference(aws: dict[str, Any]) -> None:
    # GIVEN a backend that answers 202 with no body
    with session_backend(Reply(202)) as backend:
        launcher = Launcher(aws, backend)
        # WHEN the request is delivered
        launcher.deliver()
    # THEN the claim is launched with a reference derived from the idempotency key
    assert cast(ClaimStatus, launcher.claim.status) is ClaimStatus.LAUNCHED  # re-read after delivery
    assert launcher.claim.session_ref == "webhook:demo:github:acme/app#42"


def test_unreachable_backend_is_retried(aws: dict[str, Any]) -> None:
    # GIVEN a backend URL nothing listens on
    with session_backend() as backend:
        url = backend.url
    launcher = Launcher(aws, SessionBackend(url=url))
    # WHEN the request is delivered
    failed = launcher.deliver()
    # THEN the message fails (retried) and the claim waits, enqueued
    assert failed == ["message-0"]
    assert launcher.claim.status is ClaimStatus.ENQUEUED


def test_deployed_wiring_reads_the_secret_from_secrets_manager(
    aws: dict[str, Any], backend: SessionBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the launcher's environment as template.yaml sets it, the key in Secrets Manager
    arn = boto3.client("secretsmanager").create_secret(Name="session-webhook", SecretString=SECRET)["ARN"]
    monkeypatch.setenv("TABLE_NAME", aws["table_name"])
    monkeypatch.setenv("SESSION_BACKEND", "webhook")
    monkeypatch.setenv("SESSION_WEBHOOK_URL", backend.url)
    # (the stand-in backend is plain http on loopback: the local stack's explicit exception)
    monkeypatch.setenv("SESSION_WEBHOOK_LOOPBACK_HTTP", "true")
    monkeypatch.setenv("SESSION_WEBHOOK_SECRET_ARN", arn)
    DynamoStore(aws["table_name"]).put_claim(claim(status=ClaimStatus.ENQUEUED))
    module = load_handler("launcher", fresh=True)
    module.use(None)
    # WHEN events/launcher.json is handled by the handler's own composition root
    response = module.lambda_handler(sqs_event(sample_body()), LocalLambdaContext())
    # THEN the session launched, signed with the secret's value
    assert response["batchItemFailures"] == []
    got = backend.received[0]
    assert got.headers["X-Intake-Signature"] == launch_signature(SECRET, got.headers["X-Intake-Timestamp"], got.body)


def _launch_with_log_backend(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, log_prompts: str | None
) -> list[dict[str, Any]]:
    """The launcher with the log backend handles events/launcher.json; its "session for" records."""
    monkeypatch.setenv("TABLE_NAME", aws["table_name"])
    monkeypatch.setenv("SESSION_BACKEND", "log")
    if log_prompts is not None:
        monkeypatch.setenv("SESSION_LOG_PROMPTS", log_prompts)
    store = DynamoStore(aws["table_name"])
    store.put_claim(claim(status=ClaimStatus.ENQUEUED))
    module = load_handler("launcher", fresh=True)
    module.use(None)
    logging.getLogger("tracker-intake").addHandler(caplog.handler)
    try:
        module.lambda_handler(sqs_event(sample_body()), LocalLambdaContext())
    finally:
        logging.getLogger("tracker-intake").removeHandler(caplog.handler)
    launched = store.get_claim(ISSUE)
    assert launched is not None
    assert (launched.status, launched.session_ref) == (ClaimStatus.LAUNCHED, "log")
    return [r.__dict__ for r in caplog.records if r.getMessage() == f"session for {ISSUE}"]


def test_log_backend_launches_with_ref_log_and_logs_the_issue_and_sizes_not_the_prompt(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN the launcher configured with the log backend (the default), SessionLogPrompts unset
    # WHEN events/launcher.json is handled
    record, *_ = _launch_with_log_backend(aws, monkeypatch, caplog, None)
    # THEN the claim is launched with the reference `log` (above), and the log line names the
    # issue and the prompt's size, but holds none of the issue's text
    assert record["issue_id"] == ISSUE and record["prompt_chars"] > 0 and record["body_bytes"] > 0
    assert "prompt" not in record
    assert "Crash when the config file is empty" not in json.dumps(record, default=str)


def test_log_backend_logs_the_prompt_when_asked_to(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN the log backend with SessionLogPrompts=true (as `intake local` sets it)
    # WHEN events/launcher.json is handled
    record, *_ = _launch_with_log_backend(aws, monkeypatch, caplog, "true")
    # THEN the whole prompt is in the log line
    assert "Title: Crash when the config file is empty" in record["prompt"]


def test_a_message_that_is_not_a_session_request_is_a_failed_record_and_calls_nothing(
    aws: dict[str, Any], backend: SessionBackend
) -> None:
    # GIVEN an enqueued claim, and a batch holding a message of another shape beside a good one
    launcher = Launcher(aws, backend)
    event = sqs_event('{"hello": "world"}', sample_body())
    # WHEN the batch is delivered
    response = launcher.module.lambda_handler(event, LocalLambdaContext())
    # THEN the bad record alone is reported failed (so it ends in the DLQ), the good one launched
    assert [item["itemIdentifier"] for item in response["batchItemFailures"]] == ["message-0"]
    assert len(backend.received) == 1
