"""The GitHub token and the webhook key never appear in an API response, a log line, or the ledger."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from api_support import Api, claim, load_event, request
from launcher_support import SECRET, Launcher, Reply, sample_body, session_backend, sqs_event

from intake_dev.functions import LocalLambdaContext
from tracker_intake.domain.records import ClaimStatus
from tracker_intake.domain.signing import report_signature

TOKEN = "ghp_apiLeakTestToken0123456789abcdefABCD"


class Everything(logging.Handler):
    """Keeps every record, message and extras, whatever logger it came through."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage() + " " + json.dumps(record.__dict__, default=str))


@pytest.fixture
def logs() -> Iterator[Everything]:
    handler = Everything()
    loggers = [logging.getLogger(), logging.getLogger("tracker-intake")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


def test_github_token_never_appears_in_api_answers_or_logs(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], logs: Everything
) -> None:
    # GIVEN the token in the environment, and a git origin that tries to smuggle it in
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    api = Api(aws)
    smuggled = {"id": "leak", "gitOrigin": f"https://x-access-token:{TOKEN}@github.com/acme/app"}
    smuggled_intake = {**smuggled, "trackerIntake": {"enabled": True, "labels": ["agent"]}}
    events = [
        load_event(name)
        for name in (
            "api-create-project.json",
            "api.json",
            "api-get-project.json",
            "api-put-config.json",
            "api-list-sessions.json",
            "api-release-session.json",
            "api-openapi.json",
            "api-delete-project.json",
        )
    ] + [
        request("POST", "/projects", body=smuggled_intake),
        request("POST", "/projects", raw="{" + TOKEN),
    ]
    # WHEN every route answers, refusals included
    answers = [api(event) for event in events]
    # THEN the token is in no answer, no log record, and nothing printed
    assert all(TOKEN not in answer.text and TOKEN not in str(answer.headers) for answer in answers)
    assert not [line for line in logs.lines if TOKEN in line]
    out, err = capfd.readouterr()
    assert TOKEN not in out + err


def test_webhook_key_never_appears_in_logs_requests_or_the_ledger(
    aws: dict[str, Any], capfd: pytest.CaptureFixture[str], logs: Everything
) -> None:
    # GIVEN a backend that fails once, then launches
    with session_backend(Reply(503), Reply(201, {"sessionId": "sess-1"})) as backend:
        launcher = Launcher(aws, backend)
        # WHEN the request is delivered until it launches
        launcher.deliver()
        launcher.deliver()
    # THEN the key went out only as an HMAC: not in any request, log record, output, or claim
    assert launcher.claim.status is ClaimStatus.LAUNCHED
    for received in backend.received:
        assert SECRET.encode() not in received.body
        assert SECRET not in json.dumps(received.headers)
    assert not [line for line in logs.lines if SECRET in line]
    out, err = capfd.readouterr()
    assert SECRET not in out + err
    assert SECRET not in repr(launcher.claim)


def test_rejected_launch_reason_does_not_carry_the_key(aws: dict[str, Any], logs: Everything) -> None:
    # GIVEN a backend that answers 401 and echoes the request's headers back
    with session_backend(Reply(401, {"error": "bad signature"})) as backend:
        launcher = Launcher(aws, backend)
        # WHEN the request is delivered
        launcher.module.lambda_handler(sqs_event(sample_body()), LocalLambdaContext())
    # THEN the claim is failed with a reason that holds no key
    assert launcher.claim.status is ClaimStatus.FAILED
    assert SECRET not in (launcher.claim.reason or "")
    assert not [line for line in logs.lines if SECRET in line]


def test_webhook_key_never_appears_in_status_report_answers_logs_or_the_ledger(
    aws: dict[str, Any], capfd: pytest.CaptureFixture[str], logs: Everything
) -> None:
    # GIVEN the API checking status reports with the webhook key, and a launched session
    arn = boto3.client("secretsmanager").create_secret(Name="intake/status-key", SecretString=SECRET)["ARN"]
    api = Api(aws, env={"SESSION_WEBHOOK_SECRET_ARN": arn})
    api.store.put_claim(claim())
    path = "/sessions/" + quote("github:acme/app#42", safe="") + "/status"
    now = str(int(time.time()))

    def signed(text: str, key: str = SECRET, stamp: str = now) -> dict[str, Any]:
        signature = report_signature(key, stamp, "POST", "github:acme/app#42", text.encode())
        return request("POST", path, raw=text, headers={"X-Intake-Timestamp": stamp, "X-Intake-Signature": signature})

    # WHEN reports are accepted and refused every way, one of them carrying the key in its body
    events = [
        signed('{"status":"working","generation":1}'),
        signed('{"status":"working","generation":1}'),
        signed('{"status":"pr_open","prUrl":"https://github.com/acme/app/pull/1","generation":1}', key="wrong"),
        signed(json.dumps({"status": SECRET, "generation": 1})),
        signed('{"status":"merged","generation":1}', stamp="1"),
    ]
    answers = [api(event) for event in events]
    # THEN the key is in no answer (but the one to the body that sent it), no log record, nothing
    # printed, and not in the table
    assert [a.status for a in answers] == [200, 401, 401, 422, 401]
    shown = [a for n, a in enumerate(answers) if n != 3]
    assert all(SECRET not in answer.text and SECRET not in str(answer.headers) for answer in shown)
    assert not [line for line in logs.lines if SECRET in line]
    out, err = capfd.readouterr()
    assert SECRET not in out + err
    assert SECRET not in json.dumps(api.scan())


def test_linear_key_and_oauth_tokens_never_appear_in_logs_the_table_or_a_failure(
    aws: dict[str, Any], github: Any, capfd: pytest.CaptureFixture[str], logs: Everything
) -> None:
    from harness import LINEAR_KEY, Pipeline

    from intake_dev.fake_linear import FakeLinear
    from tracker_intake.adapters.oauth import OAuthApp, OAuthTokens

    # GIVEN a Linear project polled with a key, through a refusal, an outage and a rate limit
    with FakeLinear() as linear:
        linear.add_team("ENG")
        linear.add_user("mia@acme.test")
        linear.add_api_key(LINEAR_KEY, user="mia@acme.test")
        linear.add_issue("ENG", "crash", labels=["agent"], creator="mia@acme.test")
        pipe = Pipeline(aws, github, linear=linear)
        pipe.create_project("app", provider="linear", team="ENG", labels=["agent"], backlog="all")
        pipe.poll("app")
        linear.fail_next(3, status=502)
        pipe.clock.advance(60)
        pipe.poll("app")
        pipe.clock.advance(600)
        linear.set_remaining(LINEAR_KEY, requests=0)
        pipe.poll("app")
        # ... and an OAuth app whose refresh Linear refuses
        tokens = OAuthTokens("lin_oauth_accessSecret123456", "lin_refresh_secret123456", "client", "clientSecret42")
        app = OAuthApp(tokens, token_url=linear.token_url)
        with pytest.raises(Exception) as refused:
            app.refresh()
        # WHEN everything it printed, logged and stored is read
        table = [item for name in ("table_name", "activity_table_name") for item in _scan(aws, aws[name])]
    out, err = capfd.readouterr()
    seen = "\n".join([out, err, *logs.lines, json.dumps(table), str(refused.value), repr(app)])
    # THEN neither the key nor any token is in it
    for secret in (LINEAR_KEY, tokens.access_token, tokens.refresh_token or "?", tokens.client_secret):
        assert secret not in seen


def test_a_jira_token_and_3lo_tokens_never_appear_in_logs_the_table_or_a_failure(
    aws: dict[str, Any], github: Any, capfd: pytest.CaptureFixture[str], logs: Everything
) -> None:
    from harness import JIRA_TOKEN, Pipeline

    from intake_dev.fake_jira import FakeJira
    from tracker_intake.adapters.jira_http import JiraOAuthApp
    from tracker_intake.adapters.oauth import OAuthTokens

    # GIVEN a Jira project polled with an API token, through an outage and a 429
    with FakeJira() as jira:
        jira.add_project("PROJ")
        jira.add_user(JIRA_TOKEN[0])
        jira.add_api_token(*JIRA_TOKEN)
        jira.add_issue("PROJ", "crash", labels=["agent"], reporter=JIRA_TOKEN[0])
        pipe = Pipeline(aws, github, jira=jira)
        pipe.create_project("app", provider="jira", site="acme.atlassian.net", project="PROJ", labels=["agent"])
        pipe.poll("app")
        jira.fail_next(3, status=502)
        pipe.clock.advance(60)
        pipe.poll("app")
        pipe.clock.advance(600)
        jira.throttle_for(300)
        pipe.poll("app")
        # ... and a 3LO app whose refresh Jira refuses
        tokens = OAuthTokens("jira_access_secret123456", "jira_refresh_secret123456", "client", "clientSecret42")
        app = JiraOAuthApp(tokens, token_url=jira.token_url, json_body=True)
        with pytest.raises(Exception) as refused:
            app.refresh()
        table = [item for name in ("table_name", "activity_table_name") for item in _scan(aws, aws[name])]
    out, err = capfd.readouterr()
    seen = "\n".join([out, err, *logs.lines, json.dumps(table), str(refused.value), repr(app)])
    # THEN neither the token nor any of the app's secrets is in it
    for secret in (JIRA_TOKEN[1], tokens.access_token, tokens.refresh_token or "?", tokens.client_secret):
        assert secret not in seen


def _scan(aws: dict[str, Any], table: str) -> list[Any]:
    """A table's items (one page: these tests store a handful)."""
    items: list[Any] = aws["dynamodb"].scan(TableName=table)["Items"]
    return items
