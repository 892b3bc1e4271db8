"""The reliability world: two projects on the real handlers, moto, the tracker stand-ins and a
loopback session backend, with every fault hook in place and every invariant ready to check.

- `subject` is the project faults are aimed at, on the world's tracker (subjects.py): acme/subject
  on the GitHub stand-in (two pages, 101 + 4 issues under the `agent` filter), team ENG on the
  Linear stand-in or project PROJ on the Jira stand-in (two pages of a full read each). Eligible
  issues on both pages, and issues the rule must leave alone (a pull request, a guest's, a
  customer's or an app's, excluded, unlabelled, other-labelled, closed or done).
- `healthy` (acme/healthy, always on GitHub) shares the tick (and, in the GitHub world, the
  token), and must not notice the faults.

Every tick runs the real dispatcher handler; its `LambdaInvoker` talks to a botocore Lambda
client whose Invoke is answered in-process (202, then the real poller handler runs, as an
asynchronous invoke would). The launch queue is drained by `pump`, which plays SQS's part for
the real launcher handler: batches of up to 10, partial-batch failures and crashed batches stay
in flight and come back after the visibility timeout on the harness clock.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import boto3
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from fakes import LaunchLedgerOver
from harness import TOKEN, Pipeline
from reliability.aws_faults import BotoFaults, CallRule, Crash, FifoModel, _response, pk_of, sk_of
from reliability.backend import SessionBackend
from reliability.subjects import LABEL, GitHubSubject, JiraSubject, LinearSubject, Subject, eligible_on_github

from intake_dev.fake_github import FakeGitHub
from intake_dev.fake_jira import FakeJira
from intake_dev.fake_linear import FakeLinear
from intake_dev.functions import LocalLambdaContext
from intake_dev.moto_rigs import atomic_calls, sqs_record
from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.adapters.github import GitHubTracker
from tracker_intake.adapters.github_token import token_key
from tracker_intake.adapters.invoker import poller_event
from tracker_intake.adapters.webhook import WebhookLauncher
from tracker_intake.domain.dispatch import DispatchContext
from tracker_intake.domain.errors import LaunchRetryable
from tracker_intake.domain.launch import LaunchContext
from tracker_intake.domain.poll import PollContext
from tracker_intake.domain.ports import LaunchLedger, SessionLauncher
from tracker_intake.domain.primary import allowance as primary_allowance
from tracker_intake.domain.records import Claim, ClaimStatus
from tracker_intake.domain.session import LaunchedSession, SessionRequest
from tracker_intake.settings import DispatcherSettings, PollerSettings
from tracker_intake.wiring import USER_AGENT, build_dispatch_context, build_poll_context

SUBJECT, HEALTHY = "subject", "healthy"
REPOS = {SUBJECT: "acme/subject", HEALTHY: "acme/healthy"}
WEBHOOK_SECRET = "whsec_reliabilitySuiteWebhookKey9876543210"
POLLER_FUNCTION = "PollerFunction"
STALE_CLAIM = timedelta(seconds=45)
VISIBILITY_TIMEOUT = timedelta(seconds=180)  # template.yaml: LaunchQueue VisibilityTimeout
TICK = timedelta(seconds=60)
# A recovery step moves past the stale-claim threshold, the launcher's stale-launch threshold
# (120 s) and the queue's visibility timeout, and past any backoff or token reset.
RECOVERY_STEP = VISIBILITY_TIMEOUT + timedelta(seconds=1)


def canonical(project: str, number: int) -> str:
    """A GitHub issue's canonical id (the subject's in the GitHub world, the healthy project's always)."""
    return f"github:{REPOS[project]}#{number}"


# --- the suite's counters ------------------------------------------------------------------


@dataclass
class SuiteStats:
    """Totals for the closing summary (see conftest.py)."""

    cases: list[str] = field(default_factory=list)
    faults: int = 0
    checks: int = 0
    failed_checks: int = 0
    per_case: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)  # faults, checks, ticks, bound
    leak_searches: int = 0
    lines_searched: int = 0

    def record(self, case: str, faults: int, checks: int, ticks: int, bound: int) -> None:
        """`bound`: ticks after the last fault fired within which every invariant held."""
        self.cases.append(case)
        self.faults += faults
        self.checks += checks
        self.per_case[case] = (faults, checks, ticks, bound)


SUITE = SuiteStats()


class InvariantFailed(AssertionError):
    pass


# --- what the world records -------------------------------------------------------------------


@dataclass(frozen=True)
class TimedRequest:
    """A request from the stand-in's log, stamped with the harness time of the step it came in."""

    step: str
    at: datetime
    repo: str | None
    status: int
    path: str


@dataclass(frozen=True)
class Window:
    """No tracker request for `project` (None: for any project, all on one token) in (start, end)."""

    project: str | None
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Delivery:
    step: str
    issue_id: str
    message_id: str


@dataclass
class _InFlight:
    receipt: str
    visible_at: datetime


# --- crash points in the launcher ----------------------------------------------------------------


class LauncherCrashes:
    """Armed crash points of the launcher: `after_launching`, `after_backend_call`, `before_record`."""

    POINTS = ("after_launching", "after_backend_call", "before_record")

    def __init__(self) -> None:
        self.armed: Counter[str] = Counter()
        self.fired: Counter[str] = Counter()

    def arm(self, point: str, times: int = 1) -> None:
        assert point in self.POINTS, point
        self.armed[point] += times

    def take(self, point: str) -> None:
        if self.armed[point] > 0:
            self.armed[point] -= 1
            self.fired[point] += 1
            raise Crash(f"launcher died at {point}")

    @property
    def pending(self) -> int:
        return sum(self.armed.values())


class CrashingLedger(LaunchLedgerOver):
    """The launcher's ledger with crash points around its two transitions."""

    def __init__(self, inner: LaunchLedger, crashes: LauncherCrashes) -> None:
        super().__init__(inner)
        self.crashes = crashes

    def transition(
        self,
        canonical_id: str,
        from_status: ClaimStatus | tuple[ClaimStatus, ...],
        to_status: ClaimStatus,
        now: datetime,
        *,
        session_ref: str | None = None,
        session_url: str | None = None,
        reason: str | None = None,
    ) -> bool:
        if to_status is ClaimStatus.LAUNCHED:
            self.crashes.take("before_record")
        moved = super().transition(
            canonical_id, from_status, to_status, now, session_ref=session_ref, session_url=session_url, reason=reason
        )
        if moved and to_status is ClaimStatus.LAUNCHING:
            self.crashes.take("after_launching")
        return moved


class CrashingLauncher:
    """The webhook backend client, with a crash point right after the backend answered."""

    def __init__(self, inner: SessionLauncher, crashes: LauncherCrashes) -> None:
        self.inner = inner
        self.crashes = crashes

    def launch(self, request: SessionRequest, prompt: str) -> LaunchedSession:
        session = self.inner.launch(request, prompt)
        self.crashes.take("after_backend_call")
        return session


# --- Lambda's Invoke, answered in-process ----------------------------------------------------------


class LambdaLoopback:
    """A botocore hook that answers Invoke with 202 and runs the poll, as an async invoke does."""

    def __init__(self, run_poll: Callable[[str, int | None, int | None], None]) -> None:
        self.run_poll = run_poll

    def attach(self, client: Any) -> None:
        # Service-level, like BotoFaults' hook and registered after it: an injected failure wins.
        client.meta.events.register("before-call.lambda", self._invoke)

    def _invoke(self, params: dict[str, Any], model: Any, **_: Any) -> tuple[Any, dict[str, Any]] | None:
        if model.name != "Invoke":
            return None
        payload = json.loads(params["body"])
        self.run_poll(str(payload["projectId"]), payload.get("maxRequests"), payload.get("maxRetries"))
        return _response(202), {"StatusCode": 202, "ResponseMetadata": {"HTTPStatusCode": 202}}


# --- the world -----------------------------------------------------------------------------------------


class World:
    def __init__(
        self,
        aws: dict[str, Any],
        github: FakeGitHub,
        backend: SessionBackend,
        *,
        linear: FakeLinear | None = None,
        jira: FakeJira | None = None,
        tracker_timeout: float = 2.0,
        launcher_timeout: float = 2.0,
    ) -> None:
        """`linear` given: the subject is a Linear project on that stand-in (the Linear column);
        `jira` given: a Jira project on that stand-in (the Jira column)."""
        self.aws = aws
        self.github = github
        self.backend = backend
        self.pipe = Pipeline(aws, github, linear=linear, jira=jira)
        self.clock = self.pipe.clock
        self.subject: Subject = (
            LinearSubject(linear)
            if linear is not None
            else JiraSubject(jira)
            if jira is not None
            else GitHubSubject(github)
        )
        self.tracker_timeout = tracker_timeout
        self.launcher_timeout = launcher_timeout
        self.token_key = token_key(TOKEN)
        # Each credential's budget, and the projects its pause holds back (None: every project).
        self.credentials: dict[str, str | None] = (
            {self.token_key: None}
            if self.subject.shares_credential_with_healthy
            else {self.token_key: HEALTHY, self.subject.credential: SUBJECT}
        )
        # One client per role: faults aimed at the poller never touch the launcher or the checks.
        self.dynamodb_faults = BotoFaults(self.clock)
        self.sqs_faults = BotoFaults(self.clock)
        self.lambda_faults = BotoFaults(self.clock)
        self.fifo = FifoModel(self.clock)
        self.sqs_faults.fifo = self.fifo
        # DynamoDB applies each request atomically; moto in-process checks a condition and then
        # writes in two steps. One lock over every DynamoDB request gives the atomicity back.
        self._dynamodb_lock = threading.RLock()
        atomic_calls(aws["dynamodb"], self._dynamodb_lock)
        # One client per role: faults aimed at the poller never touch the launcher or the checks.
        self.poll_dynamodb = self.poller_client("dynamodb")
        self.poll_sqs = self.poller_client("sqs")
        self.launch_dynamodb = atomic_calls(boto3.client("dynamodb"), self._dynamodb_lock)
        self.queue_sqs = boto3.client("sqs")  # the pump's receive/delete (SQS's side of the launcher)
        self.lambda_client = boto3.client("lambda")
        self.observer = DynamoStore(
            aws["table_name"],
            client=atomic_calls(boto3.client("dynamodb"), self._dynamodb_lock),
            activity_table_name=aws["activity_table_name"],
        )
        self.lambda_faults.attach(self.lambda_client)
        LambdaLoopback(self.run_poll).attach(self.lambda_client)
        self.launcher_crashes = LauncherCrashes()
        self.launcher = self._load_launcher()
        self._poll_lock = threading.Lock()
        self._results_lock = threading.Lock()

        self.step_name = "setup"
        self.step_times: dict[str, datetime] = {}
        self.steps = 0
        self.poll_results: list[tuple[str, str, dict[str, Any]]] = []
        self.crashes: list[tuple[str, str]] = []
        self.unexpected: list[str] = []
        self.timeline: list[TimedRequest] = []
        self.windows: list[Window] = []
        self.deliveries: list[Delivery] = []
        self.bodies: dict[str, str] = {}  # message id -> body, for the redelivery check
        self.in_flight: list[_InFlight] = []
        self.expected: set[str] = set()
        self.forbidden: set[str] = set()
        self.added: dict[str, list[str]] = {SUBJECT: [], HEALTHY: []}
        self.settle_seconds = 0.0
        self.pauses: list[float] = []  # retries' pauses (seconds), recorded instead of slept
        self._after_pause: list[Callable[[float], None]] = []
        self._seen_requests = 0
        self._seen_messages: set[str] = set()
        self._before_poll: dict[str, list[Callable[[], None]]] = {}
        self.restart()

    # --- seeding ---------------------------------------------------------------------------------

    def seed(self, *, max_sessions_per_poll: int | None = None) -> None:
        subject = self.subject.seed()
        self.expected |= {issue for issue, eligible in subject.items() if eligible}
        self.forbidden |= {issue for issue, eligible in subject.items() if not eligible}
        healthy = self.github.add_repo("acme", "healthy")
        healthy.add_issue("healthy 1", labels=[LABEL])
        healthy.add_issue("healthy 2", labels=[LABEL])
        healthy.add_issue("healthy pull request", labels=[LABEL], pull_request=True)
        healthy.add_issue("healthy docs", labels=["docs"])
        for issue in self.github.repo(REPOS[HEALTHY]).issues():
            target = self.expected if eligible_on_github(issue) else self.forbidden
            target.add(canonical(HEALTHY, issue["number"]))
        extra = {} if max_sessions_per_poll is None else {"maxSessionsPerPoll": max_sessions_per_poll}
        self.pipe.create_project(SUBJECT, **self.subject.rule(), **extra)
        self.pipe.create_project(HEALTHY, repo=REPOS[HEALTHY], labels=[LABEL], **extra)

    def add_issue(self, project: str, title: str) -> str:
        if project == SUBJECT:
            issue_id = self.subject.add_issue(title)
        else:
            issue_id = canonical(project, self.github.repo(REPOS[project]).add_issue(title, labels=[LABEL])["number"])
        self.expected.add(issue_id)
        self.added[project].append(issue_id)
        return issue_id

    def issue(self, title: str) -> str:
        """The canonical id of the subject's seeded issue with this title."""
        return self.subject.issue(title)

    def closed_unseen(self, numbers: tuple[int, ...]) -> None:
        """Subject issues (GitHub's, by number) a fault closes before any poll can list them: never to be enqueued."""
        for number in numbers:
            issue_id = canonical(SUBJECT, number)
            self.expected.discard(issue_id)
            self.forbidden.add(issue_id)

    def where(self, project: str) -> str:
        """How the request timeline names a project's requests."""
        return self.subject.where if project == SUBJECT else REPOS[project]

    # --- faults the world arms for the trackers ---------------------------------------------------

    def before_poll(self, project_id: str, action: Callable[[], None]) -> None:
        """Run `action` once, as the project's next poller starts (before any of its requests)."""
        self._before_poll.setdefault(project_id, []).append(action)

    def after_pause(self, action: Callable[[float], None]) -> None:
        """Run `action(seconds)` once, at the next retry's pause: what the pause's time ends (the
        world's clock does not move within a step)."""
        self._after_pause.append(action)

    def pause(self, seconds: float) -> None:
        """A retry's pause: recorded, not waited."""
        self.pauses.append(seconds)
        actions, self._after_pause = self._after_pause, []
        for action in actions:
            action(seconds)

    def after_dynamodb_call(self, site: str, action: Callable[[], None]) -> None:
        """Run `action` once, right after the poller's next call at `site` (DYNAMODB_SITES) succeeds."""
        rule = dynamodb_rule(site, "call_after")
        rule.callback = action
        self.dynamodb_faults.arm(rule)

    # --- wiring ----------------------------------------------------------------------------------

    def poller_client(self, service: Literal["dynamodb", "sqs"]) -> Any:
        """A new boto3 client of a poller's (or the dispatcher's), with the fault hooks in place."""
        if service == "dynamodb":
            client: Any = atomic_calls(boto3.client("dynamodb"), self._dynamodb_lock)
            self.dynamodb_faults.attach(client)
        else:
            client = boto3.client("sqs")
            self.sqs_faults.attach(client)
        return client

    def poll_context(self, dynamodb: Any | None = None, sqs: Any | None = None) -> PollContext:
        settings = PollerSettings.from_env(
            {
                "TABLE_NAME": self.aws["table_name"],
                "ACTIVITY_TABLE_NAME": self.aws["activity_table_name"],
                "QUEUE_URL": self.aws["queue_url"],
                "GITHUB_API_URL": self.github.base_url,
                "STALE_CLAIM_SECONDS": str(int(STALE_CLAIM.total_seconds())),
                **self.subject.env,
            }
        )
        tracker = GitHubTracker(
            self.github.base_url,
            TOKEN,
            user_agent=USER_AGENT,
            timeout=(self.tracker_timeout, self.tracker_timeout),
            clock=self.clock,
        )
        return build_poll_context(
            settings,
            dynamodb=dynamodb or self.poll_dynamodb,
            sqs=sqs or self.poll_sqs,
            token=TOKEN,
            linear_key=self.subject.linear_key,
            jira_token=self.subject.jira_token,
            tracker=tracker,
            clock=self.clock,
            rng=lambda: 0.0,
            # A retry's pause: recorded, not waited (the world's clock moves only between steps).
            sleep=self.pause,
        )

    def dispatch_context(self, dynamodb: Any | None = None) -> DispatchContext:
        settings = DispatcherSettings.from_env(
            {"TABLE_NAME": self.aws["table_name"], "POLLER_FUNCTION_NAME": POLLER_FUNCTION, **self.subject.env}
        )
        return build_dispatch_context(
            settings,
            dynamodb=dynamodb or self.poll_dynamodb,
            lambda_client=self.lambda_client,
            token=TOKEN,
            linear_key=self.subject.linear_key,
            jira_token=self.subject.jira_token,
            clock=self.clock,
            max_concurrency=4,
        )

    def launch_context(self) -> LaunchContext:
        ledger = DynamoStore(self.aws["table_name"], client=self.launch_dynamodb)
        webhook = WebhookLauncher(
            self.backend.url, WEBHOOK_SECRET, timeout=(self.launcher_timeout, self.launcher_timeout)
        )
        return LaunchContext(
            ledger=CrashingLedger(ledger, self.launcher_crashes),
            launcher=CrashingLauncher(webhook, self.launcher_crashes),
            clock=self.clock,
        )

    def restart(self) -> None:
        """Every container starts cold: new adapter objects for all three functions."""
        self.pipe.poller.use(self.poll_context())
        self.pipe.dispatcher.use(self.dispatch_context())
        self.launcher.use(self.launch_context())

    @staticmethod
    def _load_launcher() -> Any:
        from intake_dev.functions import load_handler

        return load_handler("launcher")

    # --- driving ---------------------------------------------------------------------------------

    def run_poll(self, project_id: str, max_requests: int | None = None, max_retries: int | None = None) -> None:
        """One poller invocation, as Lambda runs it: a crash ends the container, nothing else."""
        # One poller handler at a time: Powertools metrics are process-wide (one container each in AWS).
        event = poller_event(project_id, max_requests, max_retries)
        with self._poll_lock:
            for action in self._before_poll.pop(project_id, []):
                action()
            try:
                result = self.pipe.poll_event(event)
            except Crash as crash:
                self.crashes.append((self.step_name, f"poller {project_id}: {crash}"))
                return
            except Exception as e:  # noqa: BLE001  # a handler must never raise: recorded, fails the case
                self.unexpected.append(f"poller {project_id} raised {type(e).__name__}: {e}")
                return
        self.record_poll(project_id, result)

    def record_poll(self, project_id: str, result: dict[str, Any]) -> None:
        with self._results_lock:
            self.poll_results.append((self.step_name, project_id, result))

    def tick(self) -> dict[str, Any]:
        result: dict[str, Any] = self.pipe.tick()
        if result.get("error"):
            self.poll_results.append((self.step_name, "<dispatcher>", result))
        return result

    def begin(self, name: str, advance: timedelta = TICK) -> None:
        """Start a step: move the clock, and name what happens next."""
        self.clock.advance(advance.total_seconds())
        self.step_name = name
        self.step_times[name] = self.clock.now()
        self.steps += 1

    def step(self, name: str, *, advance: timedelta = TICK) -> None:
        """Advance the clock, run one tick, drain the queue through the launcher, record it all."""
        self.begin(name, advance)
        self.tick()
        if self.crashes and self.crashes[-1][0] == name:
            self.restart()  # the crashed poller's container is gone
        self.pump()
        self.sync()

    def stray_poll(self, project_id: str) -> None:
        """A poll nobody dispatched (a late async invoke): it must respect the backoff too."""
        self.run_poll(project_id)
        self.sync()

    def recovery_advance(self) -> timedelta:
        """How far a recovery step moves: past backoffs, token resets and the SQS visibility timeout."""
        now = self.clock.now()
        horizon = now + RECOVERY_STEP
        for project in (SUBJECT, HEALTHY):
            until = self.observer.get_project(project).poll.backoff_until
            if until is not None and until + timedelta(seconds=1) > horizon:
                horizon = until + timedelta(seconds=1)
        for key in self.credentials:
            budget = self.observer.get_budget(key)
            blocked = budget.blocked_until(now) if budget is not None else None
            if blocked is None and primary_allowance(budget, now) == 0 and budget is not None:
                blocked = budget.reset_at  # only quiet projects poll until the reset: move past it
            if blocked is not None and blocked + timedelta(seconds=1) > horizon:
                horizon = blocked + timedelta(seconds=1)
        return horizon - now

    # --- SQS's part: the launch queue into the launcher handler -----------------------------------------

    def pump(self) -> None:
        sqs, url = self.queue_sqs, self.aws["queue_url"]
        now = self.clock.now()
        for entry in [e for e in self.in_flight if e.visible_at <= now]:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=entry.receipt, VisibilityTimeout=0)
            self.in_flight.remove(entry)
        while True:
            got = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=12 * 3600,  # in flight until the pump lets it go (harness time)
                MessageSystemAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            messages: list[dict[str, Any]] = [dict(m) for m in got.get("Messages", [])]
            if not messages:
                return
            for message in messages:
                if message["MessageId"] not in self._seen_messages:
                    self._seen_messages.add(message["MessageId"])
                    self.bodies[message["MessageId"]] = message["Body"]
                    issue_id = json.loads(message["Body"])["issueId"]
                    self.deliveries.append(Delivery(self.step_name, issue_id, message["MessageId"]))
            failed = self._launch_batch(messages)
            for message in messages:
                if message["MessageId"] in failed:
                    self.in_flight.append(_InFlight(message["ReceiptHandle"], now + VISIBILITY_TIMEOUT))
                else:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def _launch_batch(self, messages: list[dict[str, Any]]) -> set[str]:
        """Run the launcher handler on one batch; the ids SQS must deliver again."""
        every = {m["MessageId"] for m in messages}
        event = {"Records": [sqs_record(m, self.aws["queue_url"]) for m in messages]}
        try:
            response = self.launcher.lambda_handler(event, LocalLambdaContext(function_name="launcher"))
        except Crash as crash:
            self.crashes.append((self.step_name, f"launcher: {crash}"))
            self.launcher.use(self.launch_context())  # a new container takes the retries
            return every
        except BatchProcessingError:
            self._check_launcher_errors()
            return every
        self._check_launcher_errors()
        return {item["itemIdentifier"] for item in response["batchItemFailures"]}

    def _check_launcher_errors(self) -> None:
        for kind, value, _ in self.launcher.processor.exceptions:
            if kind is not None and not issubclass(kind, LaunchRetryable):
                self.unexpected.append(f"launcher record failed with {kind.__name__}: {value}")

    def redeliver_everything(self) -> None:
        """SQS is at-least-once: deliver every message ever delivered once more."""
        records = [
            sqs_record(
                {"MessageId": f"{mid}-again", "ReceiptHandle": "again", "Body": body, "Attributes": {}},
                self.aws["queue_url"],
            )
            for mid, body in self.bodies.items()
        ]
        for start in range(0, len(records), 10):
            # A batch that fails as a whole is fine here: the caller counts backend calls.
            with contextlib.suppress(BatchProcessingError):
                self.launcher.lambda_handler(
                    {"Records": records[start : start + 10]}, LocalLambdaContext(function_name="launcher")
                )
            self._check_launcher_errors()

    # --- observing -------------------------------------------------------------------------------

    def sync(self) -> None:
        """Stamp new stand-in requests with this step's harness time; note new backoff windows."""
        if self.settle_seconds:
            time.sleep(self.settle_seconds)  # a slow answer is logged when the stand-in wakes up
            self.settle_seconds = 0.0
        requests = self.github.requests
        now = self.clock.now()
        for request in requests[self._seen_requests :]:
            self.timeline.append(TimedRequest(self.step_name, now, request.repo, request.status, request.path))
        self._seen_requests = len(requests)
        for seen in self.subject.new_requests():
            self.timeline.append(TimedRequest(self.step_name, now, seen.where, seen.status, seen.path))
        known = {(w.project, w.end) for w in self.windows}
        for project in (SUBJECT, HEALTHY):
            until = self.observer.get_project(project).poll.backoff_until
            if until is not None and until > now and (project, until) not in known:
                self.windows.append(Window(project, now, until))
        for key, held in self.credentials.items():
            budget = self.observer.get_budget(key)
            blocked = budget.blocked_until(now) if budget is not None else None
            if blocked is not None and (held, blocked) not in known:
                self.windows.append(Window(held, now, blocked))

    def results_for(self, project_id: str, step: str | None = None) -> list[dict[str, Any]]:
        return [r for s, p, r in self.poll_results if p == project_id and (step is None or s == step)]

    def requests_in(self, step: str, project: str) -> list[TimedRequest]:
        return [r for r in self.timeline if r.step == step and r.repo == self.where(project)]

    def delivered_in(self, step: str) -> set[str]:
        return {d.issue_id for d in self.deliveries if d.step == step}

    def enqueued_in(self, step: str) -> set[str]:
        """Issues whose request SQS accepted (as new) during `step`."""
        at = self.step_times.get(step)
        return {s.issue_id for s in self.fifo.sends if s.delivered and s.at == at}

    def in_backoff(self, project: str, at: datetime | None = None) -> bool:
        until = self.observer.get_project(project).poll.backoff_until
        return until is not None and until > (at or self.clock.now())

    def pending_faults(self) -> int:
        return (
            sum(
                r.times - r.fired for r in self.dynamodb_faults.rules + self.sqs_faults.rules + self.lambda_faults.rules
            )
            + self.launcher_crashes.pending
            + self.backend.faults_pending
            + sum(len(actions) for actions in self._before_poll.values())
        )

    @property
    def backend_faults_fired(self) -> int:
        return self.backend.faults_fired

    def boto_faults_fired(self) -> int:
        return self.dynamodb_faults.fired + self.sqs_faults.fired + self.lambda_faults.fired

    def claims(self) -> dict[str, Claim]:
        """Every claim of both projects (the ledger's sessions index), by canonical id."""
        found: dict[str, Claim] = {}
        for project in (SUBJECT, HEALTHY):
            token: str | None = None
            while True:
                page, token = self.observer.list_sessions(project, 100, token)
                found.update((claim.canonical_id, claim) for claim in page)
                if token is None:
                    break
        return found

    def dead_letters(self) -> int:
        attrs = self.queue_sqs.get_queue_attributes(
            QueueUrl=self.aws["dlq_url"], AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


# --- call sites of the poller and the dispatcher ---------------------------------------------------


# The subject's claims in any world: the healthy project's are GitHub's, never Linear's or Jira's.
SUBJECT_CLAIMS = (f"ISSUE#github:{REPOS[SUBJECT]}#", "ISSUE#linear:", "ISSUE#jira:")


def _subject_claim(params: dict[str, Any]) -> bool:
    return pk_of(params).startswith(SUBJECT_CLAIMS)


def _subject_batch(params: dict[str, Any]) -> bool:
    """A BatchGetItem asking for any of the subject's claims."""
    return any(
        key.get("pk", {}).get("S", "").startswith(SUBJECT_CLAIMS)
        for request in params.get("RequestItems", {}).values()
        for key in request.get("Keys", [])
    )


def _values(params: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = params.get("ExpressionAttributeValues", {})
    return values


DYNAMODB_SITES: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
    # the poller
    "load_for_poll": ("Query", lambda p: "IndexName" not in p and pk_of(p) == f"PROJECT#{SUBJECT}"),
    "put_claim": ("PutItem", _subject_claim),
    "get_claim": ("GetItem", _subject_claim),
    "get_claims": ("BatchGetItem", _subject_batch),
    "take_over": ("UpdateItem", lambda p: _subject_claim(p) and ":old_token" in _values(p)),
    "mark_enqueued": ("UpdateItem", lambda p: _subject_claim(p) and ":claimed" in _values(p)),
    "commit_page": ("PutItem", lambda p: pk_of(p) == f"PROJECT#{SUBJECT}" and sk_of(p).startswith("ETAG#")),
    "save_poll_state": ("UpdateItem", lambda p: pk_of(p) == f"PROJECT#{SUBJECT}" and sk_of(p) == "PROJECT"),
    # the credential: the poller's pause and budget records, the dispatcher's pace
    "record_budget": (
        "UpdateItem",
        lambda p: pk_of(p).startswith("TOKEN#") and sk_of(p) == "BUDGET" and ":until" not in _values(p),
    ),
    "pause_credential": (
        "UpdateItem",
        lambda p: pk_of(p).startswith("TOKEN#") and sk_of(p) == "BUDGET" and ":until" in _values(p),
    ),
    "budget_read": ("GetItem", lambda p: pk_of(p).startswith("TOKEN#") and sk_of(p) == "BUDGET"),
    "save_pace": ("PutItem", lambda p: pk_of(p).startswith("TOKEN#") and sk_of(p) == "PACE"),
    # the dispatcher
    "index_query": ("Query", lambda p: p.get("IndexName") == "gsi1"),
}


# The poller's writes of its credential's budget and pause: aimed at one credential when named.
CREDENTIAL_SITES = ("record_budget", "pause_credential")


def _on_credential(site: Callable[[dict[str, Any]], bool], credential: str) -> Callable[[dict[str, Any]], bool]:
    def match(params: dict[str, Any]) -> bool:
        return site(params) and pk_of(params) == f"TOKEN#{credential}"

    return match


def dynamodb_rule(
    site: str, action: str = "fail", *, times: int = 1, error_code: str | None = None, credential: str | None = None
) -> CallRule:
    """A rule at a call site; `credential` narrows a credential site to that credential's item."""
    operation, match = DYNAMODB_SITES[site]
    if credential is not None and site in CREDENTIAL_SITES:
        match = _on_credential(match, credential)
    return CallRule(
        site=site,
        operation=operation,
        match=match,
        action=action,
        times=times,
        error_code=error_code or "ProvisionedThroughputExceededException",
        status=500 if error_code in ("InternalServerError", "ServiceUnavailable") else 400,
    )


def sqs_send_rule(action: str = "fail", *, times: int = 1, error_code: str = "ServiceUnavailable") -> CallRule:
    return CallRule(
        site="send",
        operation="SendMessage",
        match=lambda p: p.get("MessageGroupId") == SUBJECT,
        action=action,
        times=times,
        error_code=error_code,
        status=503,
    )


def lambda_invoke_rule(*, times: int = 1, error_code: str = "TooManyRequestsException") -> CallRule:
    return CallRule(
        site="invoke",
        operation="Invoke",
        match=lambda p: json.loads(p["Payload"]).get("projectId") == SUBJECT,
        action="fail",
        times=times,
        error_code=error_code,
        status=429,
    )
