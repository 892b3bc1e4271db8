"""A GitHub App's private key, the JWTs it signs and the installation tokens GitHub issues never
appear in a log line, a printed line, an API answer, a table item or a queue message.

The functions are built by their own composition roots from the environment as template.yaml sets
it: the deployment's default credential is a GitHub App (GITHUB_APP_ID, GITHUB_APP_KEY_SECRET_ARN,
its key in moto's Secrets Manager); more are registered through the API: another app, one whose key
GitHub refuses, one with half a key, and a key registered as a token. Polls, checks and previews
run through success, token expiry and refresh, an app not installed, and GitHub answers that quote
the very token or JWT the request carried. The search is leaks.py's: whole, encoded, or any
16-character piece.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from integration.api_support import Api, request
from integration.credential_support import PREFIX, AppKey, fresh_credential_caches, store_secret
from security.leaks import capturing_logs, forms, leaks

from intake_dev.fake_github import ECHO_CREDENTIAL, FakeGitHub
from intake_dev.functions import LocalLambdaContext, load_handler
from intake_dev.invoker import InProcessInvoker
from tracker_intake.settings import DispatcherSettings
from tracker_intake.wiring import build_dispatch_context

DEFAULT_APP, TRIAGE_APP = "4242", "5151"
DEFAULT_KEY, TRIAGE_KEY, WRONG_KEY, CUT_KEY = (AppKey.generate() for _ in range(4))
# project -> (repository, credential). `stale` is app 4242 with a key GitHub does not know,
# `broken` app 5151 with half a key, `mixup` a token credential whose secret is a key.
PROJECTS = {
    "app": ("acme/app", None),
    "hidden": ("acme/hidden", None),
    "docs": ("acme/docs", "stale"),
    "tools": ("acme/tools", "triage"),
    "flaky": ("acme/flaky", "triage"),
    "broken": ("acme/broken", "broken"),
    "mixup": ("acme/mixup", "mixup"),
}


class Stack:
    """The poller, dispatcher and API handlers on moto and the stand-in, wired from the environment."""

    def __init__(self, aws: dict[str, Any], github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> None:
        self.aws = aws
        self.github = github
        self.default_arn = store_secret("intake-test/default-app-key", DEFAULT_KEY.pem)
        self.triage_arn = store_secret("intake-test/triage-app-key", TRIAGE_KEY.pem)
        self.wrong_arn = store_secret("intake-test/stale-app-key", WRONG_KEY.pem)
        self.cut_arn = store_secret("intake-test/broken-app-key", CUT_KEY.pem[: len(CUT_KEY.pem) // 2])
        self.mixup_arn = store_secret("intake-test/mixup-token", TRIAGE_KEY.pem)
        github.add_app(DEFAULT_APP, DEFAULT_KEY.public_pem)
        github.add_installation(DEFAULT_APP, 11, ["acme/app", "acme/docs"])
        github.add_app(TRIAGE_APP, TRIAGE_KEY.public_pem)
        github.add_installation(TRIAGE_APP, 21, ["acme/tools", "acme/flaky", "acme/broken"])
        for repo, _ in PROJECTS.values():
            owner, name = repo.split("/")
            github.add_repo(owner, name).add_issue(f"first in {repo}", labels=["agent"])
        monkeypatch.delenv("GITHUB_TOKEN", raising=False)
        env = {
            "TABLE_NAME": aws["table_name"],
            "ACTIVITY_TABLE_NAME": aws["activity_table_name"],
            "QUEUE_URL": aws["queue_url"],
            "GITHUB_API_URL": github.base_url,
            "GITHUB_APP_ID": DEFAULT_APP,
            "GITHUB_APP_KEY_SECRET_ARN": self.default_arn,
            "CREDENTIAL_SECRET_PREFIX": PREFIX,
            "POLLER_FUNCTION_NAME": "PollerFunction",
            "DISPATCH_CONCURRENCY": "1",  # one poll at a time: each fault meets the request it is meant for
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        # Each handler's own composition root, from that environment (the API's on construction).
        self.poller = load_handler("poller")
        self.poller.use(None)
        self.dispatcher = load_handler("dispatcher")
        # Lambda's Invoke, answered here: the poller's handler runs in this process.
        self.dispatcher.use(build_dispatch_context(DispatcherSettings.from_env(), invoker=InProcessInvoker(self.poll)))
        self.api = Api(aws)
        self.answers: list[str] = []
        self.results: list[str] = []
        self.messages: list[str] = []

    def close(self) -> None:
        for module in (self.poller, self.dispatcher, self.api.module):
            module.use(None)

    # --- driving -------------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        answer = self.api(request(method, path, body=body))
        self.answers.append(answer.text + json.dumps(answer.headers))
        # A preview GitHub refuses is a 502 in the API's words; a 500 would be an unhandled error.
        assert answer.status != 500, answer.text
        return {"status": answer.status, "body": answer.body}

    def poll(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.poller.lambda_handler(event, LocalLambdaContext())
        self.results.append(json.dumps(result, default=str))
        return result

    def tick(self) -> None:
        self.results.append(json.dumps(self.dispatcher.lambda_handler({}, LocalLambdaContext()), default=str))

    def add_issue(self, project: str, title: str) -> None:
        self.github.repo(PROJECTS[project][0]).add_issue(title, labels=["agent"])

    # --- what it left behind ---------------------------------------------------------------------

    def drain(self) -> None:
        """Receive and delete every message on both queues, keeping each whole (body and attributes)."""
        sqs = self.aws["sqs"]
        for url in (self.aws["queue_url"], self.aws["dlq_url"]):
            while True:
                got = sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=0,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
                if not got.get("Messages"):
                    break
                for message in got["Messages"]:
                    self.messages.append(json.dumps(message, default=str))
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def items(self) -> list[str]:
        """Every item of both tables: the intake table's state and the activity log's polls."""
        client, found = self.aws["dynamodb"], []
        for table in (self.aws["table_name"], self.aws["activity_table_name"]):
            args: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
            while True:
                page = client.scan(**args)
                found += [json.dumps(item) for item in page["Items"]]
                if "LastEvaluatedKey" not in page:
                    break
                args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found

    def secrets(self) -> dict[str, str]:
        """Every key, every JWT and installation token the stand-in saw or issued, by name."""
        found = {f"default app {k}": v for k, v in DEFAULT_KEY.secrets().items()}
        found |= {f"triage app {k}": v for k, v in TRIAGE_KEY.secrets().items()}
        found |= {f"stale app {k}": v for k, v in WRONG_KEY.secrets().items()}
        found |= {f"half a key {k}": v for k, v in CUT_KEY.secrets().items()}
        sent = sorted({(r.header("Authorization") or "").partition(" ")[2] for r in self.github.requests})
        found |= {f"JWT {n}": value for n, value in enumerate(v for v in sent if v.startswith("ey"))}
        issued = self.github.issued_installation_tokens()
        found |= {f"installation token {n}": value for n, value in enumerate(issued)}
        return found


@pytest.fixture
def stack(aws: dict[str, Any], github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with fresh_credential_caches():
        built = Stack(aws, github, monkeypatch)
        yield built
        built.close()


def register_and_create(stack: Stack) -> None:
    """The registered credentials, and every project, through the API."""
    stack.call("PUT", "/credentials/triage", {"kind": "app", "secretArn": stack.triage_arn, "appId": TRIAGE_APP})
    stack.call("PUT", "/credentials/stale", {"kind": "app", "secretArn": stack.wrong_arn, "appId": DEFAULT_APP})
    stack.call("PUT", "/credentials/broken", {"kind": "app", "secretArn": stack.cut_arn, "appId": TRIAGE_APP})
    stack.call("PUT", "/credentials/mixup", {"kind": "token", "secretArn": stack.mixup_arn})
    for project, (repo, credential) in PROJECTS.items():
        intake = {"enabled": True, "repo": repo, "labels": ["agent"], "backlog": "all"}
        created = stack.call("POST", "/projects", {"id": project, "trackerIntake": intake | {"credential": credential}})
        assert created["status"] == 201, created


def run_through_everything(stack: Stack) -> None:
    """Register, poll through success and every app failure, check, preview, list: record it all."""
    github = stack.github
    register_and_create(stack)

    # Every project once: app and tools find their installations, docs' JWT is refused, and the
    # installation lookup for hidden is refused with the JWT quoted back (later, the API finds none).
    github.inject("forbidden", repo="acme/hidden", message=f"Forbidden to {ECHO_CREDENTIAL}")
    stack.tick()

    # GitHub quotes each installation token it refuses or limits; an expired token is refreshed.
    stack.add_issue("app", "second in acme/app")
    github.inject("status", repo="acme/app", status=401, body={"message": f"Bad credentials: {ECHO_CREDENTIAL}"})
    stack.add_issue("tools", "second in acme/tools")
    github.inject("forbidden", repo="acme/tools", message=f"Resource not accessible by integration {ECHO_CREDENTIAL}")
    stack.add_issue("flaky", "second in acme/flaky")
    github.expire_installation_tokens()
    stack.tick()

    # The API reads every secret too: checks of each credential, previews with each.
    for name in ("default", "triage", "stale", "broken", "mixup"):
        stack.call("POST", f"/credentials/{name}/check")
    github.inject("status", repo="acme/flaky", status=503, body=f"upstream saw Authorization: Bearer {ECHO_CREDENTIAL}")
    for project in PROJECTS:
        stack.call("POST", f"/projects/{project}/preview", {})

    # A secondary limit whose message quotes the token pauses the default app's installation.
    stack.add_issue("app", "third in acme/app")
    github.inject("secondary_rate_limit_message", repo="acme/app", message=f"Slow down, {ECHO_CREDENTIAL}")
    stack.tick()

    stack.call("GET", "/credentials")
    stack.call("GET", "/projects")
    for project in PROJECTS:
        stack.call("GET", f"/projects/{project}")
        stack.call("GET", f"/projects/{project}/sessions")
    stack.drain()


def test_no_app_key_jwt_or_installation_token_appears_anywhere(stack: Stack, capfd: pytest.CaptureFixture[str]) -> None:
    # GIVEN every log record captured (Powertools JSON included), and everything printed
    loggers = [stack.poller.logger, stack.dispatcher.logger, stack.api.module.logger]
    with capturing_logs(*loggers) as sink:
        # WHEN the stack runs through success and every app failure, and the API is asked about it
        run_through_everything(stack)
    out, err = capfd.readouterr()
    texts = [*sink.lines, out, err, *stack.answers, *stack.results, *stack.items(), *stack.messages]
    secrets = stack.secrets()

    # THEN it really happened: sessions enqueued, JWTs signed, tokens minted and refreshed, GitHub's
    # refusals (some quoting the secret sent) recorded on the projects
    assert len(stack.messages) >= 4, stack.results
    assert len([name for name in secrets if name.startswith("JWT")]) >= 3
    assert len(stack.github.issued_installation_tokens()) >= 4
    statuses = [r.status for r in stack.github.requests]
    assert statuses.count(401) >= 3 and 403 in statuses and 503 in statuses
    errors = {
        p: stack.api.store.get_project(p).poll.last_error or "" for p in ("hidden", "docs", "tools", "broken", "mixup")
    }
    assert all(errors.values()), errors
    assert "***" in errors["hidden"] and "***" in errors["tools"]  # GitHub quoted them; scrubbed
    assert "holds a private key, not a token" in errors["mixup"]
    assert len(sink.lines) > 50
    # ... and no key, JWT or installation token is in any of it, in any form
    assert leaks(secrets, texts) == []


def test_the_search_finds_a_key_line_a_jwt_and_a_token(stack: Stack) -> None:
    # GIVEN a key's line, a JWT and an installation token as the stack produces them
    register_and_create(stack)
    stack.tick()
    secrets = stack.secrets()
    samples = {
        "a line of the key": DEFAULT_KEY.pem.splitlines()[5],
        "a JWT": next(v for k, v in secrets.items() if k.startswith("JWT")),
        "an installation token": stack.github.issued_installation_tokens()[0],
    }
    for what, value in samples.items():
        for form in forms(value)[:8]:
            # WHEN a line carrying it, in each of its encodings, is searched
            found = leaks(secrets, [f"prefix {form} suffix"])
            # THEN it is reported
            assert found, (what, form)
