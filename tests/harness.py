"""The poll pipeline wired for tests: real handlers, moto AWS, the loopback GitHub stand-in.

Counts every DynamoDB and SQS operation with botocore event hooks, so tests assert exact costs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fakes import LaunchLedgerOver

from intake_dev.call_counter import CallCounter
from intake_dev.clock import FixedClock
from intake_dev.fake_github import FakeGitHub
from intake_dev.fake_jira import FakeJira
from intake_dev.fake_linear import FakeLinear
from intake_dev.functions import LocalLambdaContext, load_handler
from intake_dev.invoker import InProcessInvoker
from intake_dev.moto_rigs import atomic_calls, sqs_record
from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.adapters.github import GitHubTracker
from tracker_intake.adapters.github_token import token_key
from tracker_intake.adapters.sqs import SqsSessionQueue
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.dispatch import DispatchContext
from tracker_intake.domain.poll import PollContext
from tracker_intake.domain.ports import SessionQueue
from tracker_intake.domain.records import Acknowledgement, AckState, Claim, ProjectRecord
from tracker_intake.domain.session import SessionRequest
from tracker_intake.settings import LauncherSettings, PollerSettings
from tracker_intake.wiring import build_credentials, build_launch_context, build_poll_context

TOKEN = "ghp_pipelineTestToken0123456789abcdef"
LINEAR_KEY = "lin_api_pipelineTestKey0123456789abcdef"
# The Jira projects' default credential: an email and an API token (HTTP Basic against the site).
JIRA_TOKEN = ("intake-bot@acme.test", "jira_pipelineTestToken0123456789")


class Pipeline:
    """Dispatcher and poller handlers over one moto account, one GitHub stand-in and, when given,
    one Linear stand-in (its projects poll with `LINEAR_KEY`)."""

    def __init__(
        self,
        aws: dict[str, Any],
        github: FakeGitHub,
        *,
        page_cap: int = 10,
        requests_per_minute: int | None = 600,
        dispatch_concurrency: int = 4,
        linear: FakeLinear | None = None,
        jira: FakeJira | None = None,
    ) -> None:
        self.aws = aws
        self.github = github
        self.linear = linear
        self.jira = jira
        # Starts at the real time; the stand-ins keep the same (simulated) time, so their rolling
        # windows and rate-limit resets move when the test moves the clock.
        self.clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
        github.clock = lambda: self.clock.now().timestamp()
        if linear is not None:
            linear.clock = lambda: self.clock.now().timestamp()
        if jira is not None:
            jira.clock = lambda: self.clock.now().timestamp()
        self.page_cap = page_cap
        self.requests_per_minute = requests_per_minute
        self.dispatch_concurrency = dispatch_concurrency
        self.github_max_concurrency: int | None = None
        self.counter = CallCounter()
        self.counter.attach(aws["dynamodb"])
        self.counter.attach(aws["sqs"])
        # DynamoDB's per-request atomicity, which moto in-process lacks (see fakes.atomic_calls).
        atomic_calls(aws["dynamodb"])
        self.queue_wrapper: Callable[[SessionQueue], SessionQueue] = lambda q: q
        self.pauses: list[float] = []  # retries' pauses, in seconds
        self.poller = load_handler("poller")
        self.dispatcher = load_handler("dispatcher")
        self.restart()

    # --- wiring -------------------------------------------------------------------------

    def restart(self, *, fresh_modules: bool = False) -> None:
        """New adapter objects (and, if asked, freshly imported handlers): a cold start."""
        if fresh_modules:
            self.poller = load_handler("poller", fresh=True)
            self.dispatcher = load_handler("dispatcher", fresh=True)
        self.store = DynamoStore(
            self.aws["table_name"], client=self.aws["dynamodb"], activity_table_name=self.aws["activity_table_name"]
        )
        self.poller.use(self.poll_context())
        self.dispatcher.use(
            DispatchContext(
                store=self.store,
                budgets=self.store,
                invoker=InProcessInvoker(self.poll_event),
                clock=self.clock,
                token_key=token_key(TOKEN),
                max_concurrency=self.dispatch_concurrency,
                requests_per_minute=self.requests_per_minute,
                # With Linear projects, each project's budget is its own credential's.
                credentials=None
                if self.linear is None and self.jira is None
                else build_credentials(
                    self.settings(),
                    self.store,
                    api_url=None,
                    token=TOKEN,
                    linear_key=LINEAR_KEY,
                    jira_token=JIRA_TOKEN,
                    clock=self.clock,
                ),
            )
        )

    def settings(self) -> PollerSettings:
        """The poller's settings as template.yaml would set them for this account and stand-in."""
        return PollerSettings.from_env(
            {
                "TABLE_NAME": self.aws["table_name"],
                "ACTIVITY_TABLE_NAME": self.aws["activity_table_name"],
                "QUEUE_URL": self.aws["queue_url"],
                "GITHUB_API_URL": self.github.base_url,
                "MAX_PAGES_PER_POLL": str(self.page_cap),
                "STALE_CLAIM_SECONDS": "45",
                **({"LINEAR_API_URL": self.linear.url} if self.linear is not None else {}),
                **({"JIRA_API_URL": self.jira.base_url} if self.jira is not None else {}),
            }
        )

    def poll_context(self) -> PollContext:
        queue = SqsSessionQueue(self.aws["queue_url"], client=self.aws["sqs"])
        return build_poll_context(
            self.settings(),
            dynamodb=self.aws["dynamodb"],
            token=TOKEN,
            linear_key=LINEAR_KEY,
            jira_token=JIRA_TOKEN,
            queue=self.queue_wrapper(queue),
            tracker=GitHubTracker(
                self.github.base_url,
                TOKEN,
                timeout=(5.0, 5.0),  # roomy: CI machines are busy
                max_concurrency=self.github_max_concurrency,
            ),
            clock=self.clock,
            rng=lambda: 0.0,
            sleep=self._sleep,
        )

    def _sleep(self, seconds: float) -> None:
        """A retry's pause: the test's clock moves (and with it the stand-in's), nobody waits."""
        self.pauses.append(seconds)
        self.clock.advance(seconds)

    def set_github_max_concurrency(self, bound: int | None) -> None:
        """Bound the pollers' requests in flight on the token (GITHUB_MAX_CONCURRENCY)."""
        self.github_max_concurrency = bound
        self.poller.use(self.poll_context())

    # --- driving ------------------------------------------------------------------------

    def poll(self, project_id: str) -> dict[str, Any]:
        return self.poll_event({"projectId": project_id})

    def poll_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """What the dispatcher's invoke delivers: the poller handler with the event."""
        result: dict[str, Any] = self.poller.lambda_handler(event, LocalLambdaContext())
        return result

    def tick(self) -> dict[str, Any]:
        result: dict[str, Any] = self.dispatcher.lambda_handler({}, LocalLambdaContext())
        return result

    def create_project(self, project_id: str, **intake: Any) -> ProjectRecord:
        intake.setdefault("enabled", True)
        config = ProjectConfig.model_validate({"trackerIntake": intake})
        return self.store.create_project(project_id, config, self.clock.now())

    def set_intake(self, project_id: str, **intake: Any) -> ProjectRecord:
        config = ProjectConfig.model_validate({"trackerIntake": intake})
        return self.store.replace_config(project_id, config, None, self.clock.now())

    # --- observing ----------------------------------------------------------------------

    def drain(self) -> list[SessionRequest]:
        """Receive and delete every message on the launch queue."""
        sqs, url = self.aws["sqs"], self.aws["queue_url"]
        out: list[SessionRequest] = []
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = got.get("Messages", [])
            if not messages:
                return out
            for message in messages:
                out.append(SessionRequest.model_validate_json(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def claim(self, canonical_id: str) -> Claim | None:
        return self.store.get_claim(canonical_id)

    def project(self, project_id: str) -> ProjectRecord:
        return self.store.get_project(project_id)


class Launcher:
    """The launcher handler as Lambda's SQS integration drives it, on the pipeline's moto and clock."""

    def __init__(self, pipe: Pipeline, *, ledger: Any = None) -> None:
        self.pipe = pipe
        self.module = load_handler("launcher", fresh=True)
        self.slept: list[float] = []
        settings = LauncherSettings.from_env(
            {
                "TABLE_NAME": pipe.aws["table_name"],
                "QUEUE_URL": pipe.aws["queue_url"],
                "GITHUB_API_URL": pipe.github.base_url,
                "SESSION_BACKEND": "log",
                **({"LINEAR_API_URL": pipe.linear.url} if pipe.linear is not None else {}),
                **({"JIRA_API_URL": pipe.jira.base_url} if pipe.jira is not None else {}),
            }
        )
        overrides: dict[str, Any] = {"clock": pipe.clock, "ack_overrides": {"sleep": self._sleep}}
        if ledger is not None:
            overrides["ledger"] = ledger
        self.context = build_launch_context(
            settings,
            dynamodb=pipe.aws["dynamodb"],
            sqs=pipe.aws["sqs"],
            token=TOKEN,
            linear_key=LINEAR_KEY,
            jira_token=JIRA_TOKEN,
            **overrides,
        )
        self.module.use(self.context)

    def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.pipe.clock.advance(seconds)

    def others_take_slots(self, project_id: str, count: int) -> None:
        """Other launchers take the next `count` write slots of the project's credential, now."""
        assert self.context.ack is not None
        key = self.context.ack.credentials.for_project(self.pipe.project(project_id)).key
        for _ in range(count):
            self.pipe.store.reserve_write(key, self.pipe.clock.now())

    def receive(self) -> list[dict[str, Any]]:
        sqs, url = self.pipe.aws["sqs"], self.pipe.aws["queue_url"]
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0)
        return list(got.get("Messages", []))

    def deliver(self, messages: list[dict[str, Any]], receive_count: int = 1) -> set[str]:
        """One batch to the handler; the ids of the records it reported failed. Succeeded ones are deleted."""
        url = self.pipe.aws["queue_url"]
        records = []
        for message in messages:
            record = sqs_record(message, url)
            record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
            records.append(record)
        response = self.module.lambda_handler({"Records": records}, LocalLambdaContext(function_name="launcher"))
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                self.pipe.aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return failed

    def drain(self) -> set[str]:
        failed: set[str] = set()
        while messages := self.receive():
            failed |= self.deliver(messages)
            if failed:
                return failed
        return failed


class LauncherDied(Exception):
    """The launcher's container died here."""


class CrashingLedger(LaunchLedgerOver):
    """The launcher's ledger, dying once on the write that records the acknowledgement done."""

    crashed = False

    def save_ack(self, claim: Claim, ack: Acknowledgement, expected_version: int | None) -> bool:
        if ack.state is AckState.DONE and not self.crashed:
            self.crashed = True
            raise LauncherDied("the launcher died between the comment and its record")
        return super().save_ack(claim, ack, expected_version)
