"""The poller and dispatcher as deployed with several credentials: each function's own composition
root (`build_poll_context`, `build_dispatch_context`), its own DynamoDB client (a container each),
moto's DynamoDB and Secrets Manager, and the loopback GitHub stand-in playing GitHub Apps.

Every DynamoDB operation is counted per container; reads of the credential registry are told
apart by their key.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import boto3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from intake_dev.call_counter import CallCounter
from intake_dev.clock import FixedClock
from intake_dev.fake_github import FakeGitHub, RecordedRequest
from intake_dev.functions import LocalLambdaContext, load_handler
from intake_dev.invoker import InProcessInvoker
from intake_dev.moto_rigs import atomic_calls
from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.adapters.dynamodb.credentials import CREDENTIALS_PK
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.credentials import Credential, CredentialKind
from tracker_intake.domain.records import ProjectRecord
from tracker_intake.domain.tracker import CachedPage
from tracker_intake.settings import DispatcherSettings, PollerSettings
from tracker_intake.wiring import build_dispatch_context, build_poll_context

TOKEN = "ghp_defaultCredential0123456789abcdefAB"  # the deployment's default (GITHUB_TOKEN)
APP_ID = "123"
LABEL = "agent"


def _pem(key: rsa.RSAPrivateKey) -> str:
    fmt = serialization.PrivateFormat.TraditionalOpenSSL  # GitHub hands out PKCS#1 files
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    public = key.public_key()
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


APP_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
APP_PEM = _pem(APP_KEY)
APP_PUBLIC_PEM = _public_pem(APP_KEY)


class RegistryReads:
    """Reads of the credential registry's items through one client, by credential name."""

    def __init__(self, client: Any) -> None:
        self.names: Counter[str] = Counter()
        client.meta.events.register("before-parameter-build.dynamodb.GetItem", self._get)
        client.meta.events.register("before-parameter-build.dynamodb.Query", self._query)

    def _get(self, params: dict[str, Any], **_: Any) -> None:
        key = params.get("Key", {})
        if key.get("pk", {}).get("S") == CREDENTIALS_PK:
            self.names[key["sk"]["S"].removeprefix("CREDENTIAL#")] += 1

    def _query(self, params: dict[str, Any], **_: Any) -> None:
        if CREDENTIALS_PK in str(params.get("ExpressionAttributeValues", {})):
            self.names["(list)"] += 1


class Container:
    """One function's DynamoDB client, its operation counter and its registry reads."""

    def __init__(self) -> None:
        self.dynamodb = atomic_calls(boto3.client("dynamodb"))
        self.counter = CallCounter(self.dynamodb)
        self.registry = RegistryReads(self.dynamodb)


class CredentialWorld:
    """The dispatcher and poller handlers, each in its own container, with named credentials."""

    def __init__(self, aws: dict[str, Any], github: FakeGitHub, *, requests_per_minute: int = 600) -> None:
        self.aws = aws
        self.github = github
        self.requests_per_minute = requests_per_minute
        # Now, to the second: the apps' JWTs are judged by the stand-in's clock, which is this one.
        self.clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
        github.clock = lambda: self.clock.now().timestamp()
        self.store = DynamoStore(
            aws["table_name"], client=aws["dynamodb"], activity_table_name=aws["activity_table_name"]
        )
        self.secrets = boto3.client("secretsmanager")
        self.poller = load_handler("poller")
        self.dispatcher = load_handler("dispatcher")
        self.restart()

    def restart(self) -> None:
        """Both containers cold: new clients, new ports built by the composition roots."""
        self.poller_container = Container()
        self.dispatcher_container = Container()
        self.sqs_counter = CallCounter(self.aws["sqs"])
        poller_settings = PollerSettings.from_env(
            {
                "TABLE_NAME": self.aws["table_name"],
                "ACTIVITY_TABLE_NAME": self.aws["activity_table_name"],
                "QUEUE_URL": self.aws["queue_url"],
                "GITHUB_API_URL": self.github.base_url,
            }
        )
        dispatcher_settings = DispatcherSettings.from_env(
            {
                "TABLE_NAME": self.aws["table_name"],
                "POLLER_FUNCTION_NAME": "poller",
                "GITHUB_REQUESTS_PER_MINUTE": str(self.requests_per_minute),
            }
        )
        self.poller.use(
            build_poll_context(
                poller_settings,
                dynamodb=self.poller_container.dynamodb,
                sqs=self.aws["sqs"],
                token=TOKEN,
                clock=self.clock,
                rng=lambda: 0.0,
            )
        )
        self.dispatcher.use(
            build_dispatch_context(
                dispatcher_settings,
                dynamodb=self.dispatcher_container.dynamodb,
                token=TOKEN,
                invoker=InProcessInvoker(self.poll_event),
                clock=self.clock,
                max_concurrency=1,  # polls one after another, in the tick's order
            )
        )

    # --- the registry --------------------------------------------------------------------

    def register_app(self, name: str, app_id: str = APP_ID, pem: str = APP_PEM) -> Credential:
        arn = self.secrets.create_secret(Name=f"tracker-intake/{name}", SecretString=pem)["ARN"]
        return self.store.put_credential(Credential(name, CredentialKind.APP, arn, app_id), self.clock.now())

    def register_token(self, name: str, token: str) -> Credential:
        arn = self.secrets.create_secret(Name=f"tracker-intake/{name}", SecretString=token)["ARN"]
        return self.store.put_credential(Credential(name, CredentialKind.TOKEN, arn), self.clock.now())

    # --- projects --------------------------------------------------------------------------

    def add_project(self, project_id: str, repo: str, credential: str | None = None, issues: int = 1) -> None:
        owner, name = repo.split("/")
        fake = self.github.add_repo(owner, name)
        for n in range(issues):
            fake.add_issue(f"{name} issue {n}", labels=[LABEL])
        self.store.create_project(project_id, self._config(repo, credential), self.clock.now())

    def move(self, project_id: str, credential: str | None) -> ProjectRecord:
        repo = self.project(project_id).config.tracker_intake
        assert repo is not None and repo.repo is not None
        return self.store.replace_config(project_id, self._config(repo.repo, credential), None, self.clock.now())

    @staticmethod
    def _config(repo: str, credential: str | None) -> ProjectConfig:
        intake: dict[str, Any] = {"enabled": True, "repo": repo, "labels": [LABEL]}
        if credential is not None:
            intake["credential"] = credential
        return ProjectConfig.model_validate({"trackerIntake": intake})

    # --- driving ---------------------------------------------------------------------------

    def poll_event(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.poller.lambda_handler(event, LocalLambdaContext())
        return result

    def tick(self) -> dict[str, Any]:
        result: dict[str, Any] = self.dispatcher.lambda_handler({}, LocalLambdaContext())
        return result

    def settle(self, ticks: int = 2) -> None:
        """Ticks a minute apart, and the queue drained: every project polled and at rest."""
        for _ in range(ticks):
            self.tick()
            self.clock.advance(60)
        self.drain()

    def drain(self) -> list[str]:
        sqs, url = self.aws["sqs"], self.aws["queue_url"]
        ids: list[str] = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                ids.append(message["MessageId"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return ids

    def reset_counts(self) -> None:
        for container in (self.poller_container, self.dispatcher_container):
            container.counter.reset()
            container.registry.names.clear()
        self.sqs_counter.reset()
        self.github.clear_requests()

    # --- observing -------------------------------------------------------------------------

    def project(self, project_id: str) -> ProjectRecord:
        return self.store.get_project(project_id)

    def pages(self, project_id: str) -> list[CachedPage]:
        return list(self.store.load_for_poll(project_id)[1].values())

    def issue_requests(self, repo: str) -> list[RecordedRequest]:
        return [r for r in self.github.requests_for(repo) if r.path.endswith("/issues")]


def identity_of_token(token: str) -> str:
    """The stand-in's name for a plain token's limits (`token:<sha256 prefix>`), as its log shows."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:16]
