"""`intake local`: the whole service on this machine, no AWS account, no Docker.

moto's threaded server stands in for DynamoDB, SQS and Secrets Manager (resources read from
template.yaml); the real handlers run in-process: the API behind a loopback HTTP server, the
dispatcher on a timer, the poller through the in-process invoker, the launcher draining the queue.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any, TextIO
from urllib.parse import urlsplit

from .functions import LocalLambdaContext, load_handler
from .moto_rigs import redeliver_in_flight, sqs_record
from .state_lock import StateDirInUse, StateLock, hold
from .template import create_resources

SERVICE = "tracker-intake"
LINEAR_URL = "https://api.linear.app/graphql"


@dataclass
class LocalOptions:
    port: int = 3000
    aws_port: int = 5000
    interval: float = 60.0
    github_url: str | None = None
    # Linear's GraphQL endpoint Linear projects are polled at (None: Linear's own).
    linear_url: str | None = None
    # One base URL every Jira site's requests go to (None: each site's own https://<site>).
    jira_url: str | None = None
    offline: bool = False
    session_webhook: str | None = None
    webhook_secret: str = "local-webhook-secret"  # noqa: S105 - local-only HMAC key
    log_file: Path = Path(".intake-local/intake-local.log")
    host: str = "127.0.0.1"
    # The credential's request budget per rolling minute, as the template's GitHubRequestsPerMinute.
    github_requests_per_minute: int = 600
    # Where the embedded AWS keeps its state between runs (None: nothing is kept; the command's
    # default is .intake-local/state).
    state_dir: Path | None = None
    fresh: bool = False
    # An address of this machine that `sam local invoke`'s containers reach it by (the gateway of
    # their bridge network). The embedded AWS and the GitHub stand-in are relayed there, and the
    # env-vars file for `sam local invoke` names them by it. None: loopback only.
    container_address: str | None = None
    # The default credential as a GitHub App: its id and private key file (PEM). Offline, the
    # stand-in plays the app's side: it knows the key's public half and installs the app on the
    # sample repository as `github_app_installation`.
    github_app_id: str | None = None
    github_app_key: Path | None = None
    github_app_installation: int = 1


@dataclass
class TickReport:
    number: int
    polls: list[dict[str, Any]] = field(default_factory=list)
    dispatch: dict[str, Any] = field(default_factory=dict)
    launched: list[str] = field(default_factory=list)
    # Deliveries that launched nothing (a duplicate, no claim...): what the terminal says of each.
    not_launched: dict[str, str] = field(default_factory=dict)

    @property
    def new_sessions(self) -> list[str]:
        return [s for poll in self.polls for s in poll.get("newSessions", [])]

    def count(self, result: str) -> int:
        return sum(1 for poll in self.polls if poll.get("result") == result)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [poll for poll in self.polls if poll.get("result") == "failed"]


class LocalStack:
    """Starts every part; `tick()` runs one schedule tick and drains the launch queue."""

    def __init__(
        self, options: LocalOptions, say: Callable[[str], None] = print, state_lock: StateLock | None = None
    ) -> None:
        self.options = options
        self.say = say
        # Taken at start when not given (`_run` takes it before anything else, to refuse first).
        self.state_lock = state_lock
        # What the launcher reported for each issue of the batch it runs (see `_load_handlers`).
        self._launches: dict[str, Any] = {}
        self.ticks = 0
        self._lock = threading.Lock()
        self._polls: list[dict[str, Any]] = []
        self._stops: list[Callable[[], None]] = []
        self.github: Any = None
        self._ledger: Any = None
        self.sample: Any = None
        # With --offline: the Linear stand-in, and the sample workspace it serves.
        self.linear: Any = None
        self.linear_sample: Any = None
        # With --offline: the Jira stand-in, and the sample site it serves.
        self.jira: Any = None
        self.jira_sample: Any = None

    # --- start and stop ---------------------------------------------------------------------

    def start(self) -> LocalStack:
        opts = self.options
        self._hold_state_dir()
        opts.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log = opts.log_file.open("a", encoding="utf-8")
        self._stops.append(self._log.close)
        self._start_aws()
        github_url = self._start_github()
        linear_url = self._start_linear()
        jira_url = self._start_jira()
        self._configure_environment(github_url, linear_url, jira_url)
        self._configure_app()
        self._write_sam_env()
        self._load_handlers()
        self._start_api()
        return self

    def stop(self) -> None:
        while self._stops:
            with contextlib.suppress(Exception):
                self._stops.pop()()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _hold_state_dir(self) -> None:
        """One stack per state directory: two would replay, record and launch the same issues."""
        opts = self.options
        if opts.state_dir is None:
            return
        if self.state_lock is None:
            self.state_lock = hold(opts.state_dir)  # raises StateDirInUse, having written nothing
        self._stops.append(self.state_lock.release)
        if self.state_lock.previous_holder is not None:
            self.say(
                f"took over {opts.state_dir} from {self.state_lock.previous_holder}, which stopped without releasing it"
            )

    def _start_aws(self) -> None:
        import boto3
        from moto.server import ThreadedMotoServer

        opts = self.options
        # moto's server logs every request (werkzeug); the conditional-write 400s are expected.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.moto = ThreadedMotoServer(ip_address=opts.host, port=opts.aws_port, verbose=False)
        self.moto.start()
        self._stops.append(self.moto.stop)
        self.aws_endpoint = f"http://{opts.host}:{self.moto._server.server_port}"  # type: ignore[union-attr]
        # moto keeps its state per process: a local stack starts from an empty account, then
        # replays what earlier runs recorded (see `_restore`).
        import requests

        requests.post(f"{self.aws_endpoint}/moto-api/reset", timeout=10).raise_for_status()
        restored = self._restore()
        # Every boto3 client made from here on (the handlers' too) talks to the embedded AWS.
        os.environ.update(
            AWS_ENDPOINT_URL=self.aws_endpoint,
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - moto accepts anything
            AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        )
        os.environ.pop("AWS_PROFILE", None)
        # Powertools keeps the Secrets Manager client it made first, in this process: one made
        # before the endpoint above (an earlier stack, in tests) would read another AWS.
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()  # type: ignore[no-untyped-call]
        self.dynamodb = boto3.client("dynamodb")
        self.sqs = boto3.client("sqs")
        self.resources = create_resources(self.dynamodb, self.sqs, prefix="intake-local", exist_ok=restored)
        self.webhook_secret_arn = self._store_webhook_secret()
        state = f"  state {opts.state_dir}{' (restored)' if restored else ''}" if opts.state_dir else ""
        self.say(f"embedded AWS (moto) on {self.aws_endpoint}  table {self.resources['table_name']}{state}")

    def _store_webhook_secret(self) -> str:
        """The webhook key in the embedded Secrets Manager, as the launcher reads it; its ARN."""
        import boto3

        secrets = boto3.client("secretsmanager")
        name, key = "intake-local/session-webhook", self.options.webhook_secret
        with _not_recorded(self.options.state_dir is not None):  # the key never reaches the state directory
            try:
                arn: str = secrets.create_secret(Name=name, SecretString=key)["ARN"]
            except secrets.exceptions.ResourceExistsException:  # recorded by an older run: replaced
                arn = secrets.put_secret_value(SecretId=name, SecretString=key)["ARN"]
        return arn

    def _restore(self) -> bool:
        """Replay the embedded AWS's recorded requests, and record this run's; True if any were replayed.

        moto's recorder appends every request to a file as it is served (each append closed at
        once, so a `kill -9` loses nothing that was answered). Replaying it rebuilds the table,
        the claims among it, and the queue: an issue that reached the queue before a restart is
        never launched again, because its claim says so.
        """
        opts = self.options
        if opts.state_dir is None:
            return False
        from moto.moto_api import recorder

        opts.state_dir.mkdir(parents=True, exist_ok=True)
        recording = opts.state_dir / "moto-recording.jsonl"
        if opts.fresh:
            recording.unlink(missing_ok=True)
        recorder._location = str(recording)  # moto reads MOTO_RECORDER_FILEPATH once, at import
        restored = recording.exists() and recording.stat().st_size > 0
        if restored:
            recorder.replay_recording(target_host=self.aws_endpoint)
            # The replay leaves the queue's messages in flight: received (the recorded receives,
            # replayed), never deleted (a recorded delete names a receipt handle of the old run,
            # which the replay's receives do not draw again). No consumer survives a restart, so
            # they are delivered again at once rather than after the visibility timeout (180 s),
            # during which FIFO would also hold back every later request of their projects. The
            # launcher tells a duplicate by its claim.
            redeliver_in_flight()
        recorder.start_recording()
        self._stops.append(recorder.stop_recording)
        return restored

    def _start_github(self) -> str:
        if self.options.offline:
            from .fake_github import FakeGitHub
            from .sample_repo import load_sample

            self.github = FakeGitHub(per_page_default=30, host=self.options.host)
            self._stops.append(self.github.stop)
            self.sample = load_sample(self.github)
            self.say(f"offline GitHub stand-in on {self.github.base_url} serving {self.sample.full_name}")
            # The stand-in takes any token; one is set so the offline run looks like a real one.
            os.environ.setdefault("GITHUB_TOKEN", "offline-stand-in-token")
            return str(self.github.base_url)
        url = self.options.github_url or "https://api.github.com"
        # A stand-in on this machine has no GitHub's rate limit to warn of.
        if not os.environ.get("GITHUB_TOKEN") and not _is_loopback(url):
            self.say("warning: GITHUB_TOKEN is not set; GitHub allows 60 unauthenticated requests an hour")
        self.say(f"polling GitHub at {url}")
        return url

    def _start_linear(self) -> str:
        """Linear's GraphQL endpoint for Linear projects: the sample workspace's stand-in when
        offline (its key set as LINEAR_API_KEY unless one is), else --linear-url."""
        if self.options.offline:
            from .fake_linear import FakeLinear
            from .sample_workspace import ORG_NAME, SAMPLE_KEY, URL_KEY, load_sample_workspace

            yours = os.environ.get("LINEAR_API_KEY", "").strip()
            self.linear = FakeLinear(host=self.options.host, url_key=URL_KEY, org_name=ORG_NAME)
            self._stops.append(self.linear.stop)
            # The stand-in plays Linear for a key of yours too, as the GitHub one takes any token.
            self.linear_sample = load_sample_workspace(self.linear, extra_keys=[yours] if yours else [])
            if not yours:
                os.environ["LINEAR_API_KEY"] = SAMPLE_KEY
            key = "with your LINEAR_API_KEY" if yours else "LINEAR_API_KEY set to its sample key"
            self.say(f"offline Linear stand-in on {self.linear.url} serving {self.linear_sample.name} ({key})")
            return str(self.linear.url)
        url = self.options.linear_url or LINEAR_URL
        if not os.environ.get("LINEAR_API_KEY", "").strip() and not _is_loopback(url):
            self.say(
                "warning: LINEAR_API_KEY is not set; a Linear project polls only with a credential it names"
                " (trackerIntake.credential)"
            )
        self.say(f"polling Linear at {url}")
        return url

    def _start_jira(self) -> str:
        """The one base URL every Jira site's requests go to: the sample site's stand-in when
        offline (its email and token set as JIRA_EMAIL and JIRA_API_TOKEN unless both are), else
        --jira-url; "" for each site's own https://<site>."""
        if self.options.offline:
            from .fake_jira import FakeJira
            from .sample_site import SEARCH_LAG_SECONDS, load_sample_site

            yours = _jira_token()
            self.jira = FakeJira(host=self.options.host, search_lag_seconds=SEARCH_LAG_SECONDS)
            self._stops.append(self.jira.stop)
            # The stand-in plays Jira for an email and token of yours too, as the Linear one does a key.
            self.jira_sample = load_sample_site(self.jira, extra_tokens=[yours] if yours else [])
            if not yours:
                os.environ.update(JIRA_EMAIL=self.jira_sample.email, JIRA_API_TOKEN=self.jira_sample.token)
            token = (
                "with your JIRA_EMAIL and JIRA_API_TOKEN"
                if yours
                else "JIRA_EMAIL and JIRA_API_TOKEN set to its sample's"
            )
            self.say(
                f"offline Jira stand-in on {self.jira.base_url} serving {self.jira_sample.name}"
                f" ({token}; no search lag)"
            )
            return str(self.jira.base_url)
        url = self.options.jira_url
        if _jira_token() is None and not (url is not None and _is_loopback(url)):
            self.say(
                "warning: JIRA_EMAIL and JIRA_API_TOKEN are not both set; a Jira project polls only with a"
                " credential it names (trackerIntake.credential)"
            )
        self.say(f"polling Jira at {url}" if url else "polling Jira at each site's https://<site>")
        return url or ""

    def _configure_environment(self, github_url: str, linear_url: str, jira_url: str) -> None:
        opts = self.options
        env = {
            "TABLE_NAME": self.resources["table_name"],
            # The activity log's own table: the poller writes each poll there, the API reads them.
            "ACTIVITY_TABLE_NAME": self.resources["activity_table_name"],
            # The local API checks no SigV4 signature; its OpenAPI document says so.
            "API_AUTH": "NONE",
            "QUEUE_URL": self.resources["queue_url"],
            "GITHUB_API_URL": github_url,
            "LINEAR_API_URL": linear_url,
            # "" reads as unset: each Jira site's own URL.
            "JIRA_API_URL": jira_url,
            "POLLER_FUNCTION_NAME": "local-poller",
            "SESSION_BACKEND": "webhook" if opts.session_webhook else "log",
            "SESSION_WEBHOOK_URL": opts.session_webhook or "",
            # The local stack's exception to https-only: a backend on this machine (`_option_problem`).
            "SESSION_WEBHOOK_LOOPBACK_HTTP": "true",
            # The log backend shows the whole prompt here: it is your machine and your log file.
            "SESSION_LOG_PROMPTS": "true",
            # The launcher signs with it (with --session-webhook); the API checks status reports
            # with it (always: a backend may report on sessions it was told of another way).
            "SESSION_WEBHOOK_SECRET_ARN": self.webhook_secret_arn,
            "POWERTOOLS_SERVICE_NAME": SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": "TrackerIntakeLocal",
            "GITHUB_TOKEN_SECRET_ARN": "",
            # Linear projects without a credential of their own poll with LINEAR_API_KEY.
            "LINEAR_API_KEY_SECRET_ARN": "",
            # Jira projects without a credential of their own poll with JIRA_EMAIL and JIRA_API_TOKEN.
            "JIRA_API_TOKEN_SECRET_ARN": "",
            "GITHUB_REQUESTS_PER_MINUTE": str(opts.github_requests_per_minute),
        }
        os.environ.update(env)

    def _configure_app(self) -> None:
        """The default credential as a GitHub App: its key in the embedded Secrets Manager."""
        opts = self.options
        if opts.github_app_id is None or opts.github_app_key is None:
            return
        import boto3

        pem = opts.github_app_key.read_text(encoding="utf-8")
        if self.github is not None:
            from cryptography.hazmat.primitives import serialization

            private = serialization.load_pem_private_key(pem.encode(), password=None)
            public = private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            self.github.add_app(opts.github_app_id, public)
            self.github.add_installation(opts.github_app_id, opts.github_app_installation, [self.sample.full_name])
        secrets = boto3.client("secretsmanager")
        name = "intake-local/github-app-key"
        with _not_recorded(opts.state_dir is not None):  # the key never reaches the state directory
            try:
                arn = secrets.create_secret(Name=name, SecretString=pem)["ARN"]
            except secrets.exceptions.ResourceExistsException:
                arn = secrets.put_secret_value(SecretId=name, SecretString=pem)["ARN"]
        os.environ.update(GITHUB_APP_ID=opts.github_app_id, GITHUB_APP_KEY_SECRET_ARN=arn)
        self.say(f"default credential: GitHub App {opts.github_app_id} (its key in the embedded Secrets Manager)")

    @property
    def sam_env_file(self) -> Path:
        """The `--env-vars` file for `sam local invoke` (written at start)."""
        return self.options.log_file.parent / "sam-env.json"

    def _write_sam_env(self) -> None:
        """Writes the variables `sam local invoke` should give every function to use this stack.

        SAM overrides only variables the template declares; the template declares each of these
        (AWS_ENDPOINT_URL empty, which botocore reads as unset). With a container address, the
        embedded AWS and the GitHub stand-in are relayed there and named by it: a container
        cannot reach this machine's loopback.
        """
        env = {name: os.environ[name] for name in _SAM_ENV_NAMES if name in os.environ}
        env["AWS_ENDPOINT_URL"] = self.aws_endpoint
        env["GITHUB_TOKEN_SECRET_ARN"] = self._key_secret("GITHUB_TOKEN", "intake-local/github-token")
        env["LINEAR_API_KEY_SECRET_ARN"] = self._key_secret("LINEAR_API_KEY", "intake-local/linear-api-key")
        jira = _jira_token()
        # A jira-api-token secret holds the email and the token, as deployed.
        secret = json.dumps({"email": jira[0], "apiToken": jira[1]}) if jira else ""
        env["JIRA_API_TOKEN_SECRET_ARN"] = self._secret("intake-local/jira-api-token", secret)
        address = self.options.container_address
        if address is not None:
            from .relay import Relay

            relayed: set[int] = set()
            for name, value in env.items():
                url = urlsplit(value)
                if url.hostname != self.options.host or url.port is None:
                    continue  # not a URL of this stack's (a real GitHub: the container reaches it)
                if url.port not in relayed:
                    relay = Relay(address, url.port, target_port=url.port, target_host=self.options.host)
                    self._stops.append(relay.close)
                    relayed.add(url.port)
                env[name] = url._replace(netloc=f"{address}:{url.port}").geturl()
        if not self._hold_sam_env():
            return
        self.sam_env_file.write_text(json.dumps({"Parameters": env}, indent=2) + "\n", encoding="utf-8")
        where = f" (reached at {address})" if address else ""
        self.say(f"sam local invoke: --env-vars {self.sam_env_file}{where}")

    def _hold_sam_env(self) -> bool:
        """Whether this stack may write `sam-env.json`: not while another live stack, on another
        state directory but the same --log-file's directory, holds it (it would point that
        stack's `sam local invoke` at this one)."""
        from .state_lock import StateDirInUse, hold

        try:
            held = hold(self.sam_env_file.parent, name="sam-env.lock")
        except StateDirInUse as e:
            self.say(
                f"sam local invoke: {self.sam_env_file} belongs to {e.holder}: not written "
                "(give this stack its own --log-file to get one)"
            )
            return False
        self._stops.append(held.release)
        return True

    def _key_secret(self, variable: str, name: str) -> str:
        """The ARN of a secret `name` in the embedded AWS holding the environment's `variable`
        (GITHUB_TOKEN, LINEAR_API_KEY) for containers; "" when it is not set.

        In-process handlers read the variable; a function in a container reads its default
        credential from Secrets Manager as deployed. The secret is written outside moto's
        recording, so the token never reaches the state directory on disk.
        """
        return self._secret(name, os.environ.get(variable, "").strip())

    def _secret(self, name: str, token: str) -> str:
        """The ARN of a secret `name` in the embedded AWS holding `token`, written outside moto's
        recording; "" when `token` is empty."""
        import boto3

        if not token:
            return ""
        secrets = boto3.client("secretsmanager")
        with _not_recorded(self.options.state_dir is not None):
            try:
                arn: str = secrets.create_secret(Name=name, SecretString=token)["ARN"]
            except secrets.exceptions.ResourceExistsException:
                arn = secrets.put_secret_value(SecretId=name, SecretString=token)["ARN"]
        return arn

    def _load_handlers(self) -> None:
        from tracker_intake.settings import DispatcherSettings
        from tracker_intake.wiring import build_dispatch_context

        from .invoker import InProcessInvoker

        # The package's standard-library loggers (the adapters) write to the log file while a
        # handler runs (see `_quiet`). Without a handler they would reach the terminal through
        # logging's last resort, repeating what the stack has said in its own words (the
        # missing-token warning, for one). Attached first: loading the handlers logs already.
        package = logging.getLogger("tracker_intake")
        to_log = logging.StreamHandler(HandlerOutput(self._log))
        to_log.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        package.addHandler(to_log)
        self._stops.append(lambda: package.removeHandler(to_log))
        self._point_service_logs()  # one left by earlier code in this process may hold a closed stream
        with self._quiet():
            self.api: ModuleType = load_handler("api", fresh=True)
            self.poller: ModuleType = load_handler("poller", fresh=True)
            self.dispatcher: ModuleType = load_handler("dispatcher", fresh=True)
            self.launcher: ModuleType = load_handler("launcher", fresh=True)
            self._hear_launches(self.launcher)
            self.poller.use(None)
            # The dispatcher as deployed, but polls run in-process instead of Lambda Invoke.
            settings = DispatcherSettings.from_env()
            self.dispatcher.use(
                build_dispatch_context(settings, invoker=InProcessInvoker(self._poll), max_concurrency=4)
            )
        self._point_service_logs()

    def _point_service_logs(self) -> None:
        """Powertools loggers keep the stdout they saw when built: point them at handler output,
        which goes to the log file while a handler runs (see `_quiet`). The stream is replaced,
        not flushed first (`setStream` would), as the old one may be closed."""
        for handler in logging.getLogger(SERVICE).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.stream = HandlerOutput(self._log)

    def _hear_launches(self, launcher: ModuleType) -> None:
        """Keep what the launcher reports of each delivery (launched, duplicate...): the terminal
        says that, and a batch response tells only which records failed.

        The handler calls its module's `report` by name at each record, so it is wrapped there.
        """
        report = launcher.report  # type: ignore[attr-defined]

        def heard(result: Any) -> None:
            report(result)
            self._launches[result.issue_id] = result

        launcher.report = heard  # type: ignore[attr-defined]

    def _start_api(self) -> None:
        from .local_api import serve_api

        opts = self.options

        def call_api(event: dict[str, Any], context: Any) -> dict[str, Any]:
            with self._quiet():
                result: dict[str, Any] = self.api.lambda_handler(event, context)
            return result

        from intake_cli.dashboard import bundle_present, static_file

        server = serve_api(call_api, opts.host, opts.port, static=static_file)
        self._stops.append(server.shutdown)
        self.api_url = f"http://{opts.host}:{server.server_address[1]}"
        self.say(f"config API on {self.api_url}  (intake --api-url {self.api_url} project list)")
        if bundle_present():
            self.say(f"dashboard on {self.api_url}/")

    # --- running -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        """Marks this thread as running a handler: its logs (and, under `intake local`, its
        metrics printed to stdout) go to the log file. Per thread, unlike redirect_stdout,
        because the API server's threads run handlers while the schedule does."""
        previous = getattr(_RUNNING_HANDLER, "log", None)
        _RUNNING_HANDLER.log = self._log
        try:
            yield
        finally:
            _RUNNING_HANDLER.log = previous

    def _poll(self, event: dict[str, Any]) -> object:
        with self._quiet():
            result: dict[str, Any] = self.poller.lambda_handler(event, LocalLambdaContext(function_name="local-poller"))
        with self._lock:
            self._polls.append(result)
        return result

    def tick(self) -> TickReport:
        """One schedule tick: the dispatcher (and through it each poll), then the launcher."""
        self.ticks += 1
        with self._lock:
            self._polls = []
        with self._quiet():
            dispatch = self.dispatcher.lambda_handler({}, LocalLambdaContext(function_name="local-dispatcher"))
        with self._lock:
            report = TickReport(self.ticks, list(self._polls), dispatch)
        report.launched = self.drain_queue(report.not_launched)
        self._report(report)
        return report

    def drain_queue(self, not_launched: dict[str, str] | None = None) -> list[str]:
        """Feed queued session requests to the launcher handler, a record at a time; the issues launched.

        Deliveries that launched nothing go into `not_launched`, each with its sentence.
        """
        launched: list[str] = []
        not_launched = {} if not_launched is None else not_launched
        url = self.resources["queue_url"]
        while True:
            got = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
            )
            messages = got.get("Messages", [])
            if not messages:
                return launched
            failed: set[str] = set()
            for message in messages:
                self._deliver(message, url, failed, launched, not_launched)
            if failed:
                return launched

    def _deliver(
        self,
        message: Mapping[str, Any],
        url: str,
        failed: set[str],
        launched: list[str],
        not_launched: dict[str, str],
    ) -> None:
        """One message through the launcher handler; the deliveries it failed are added to `failed`."""
        # One record an invocation: what the launcher reports then is this message's, even
        # when a batch holds two deliveries of one issue (a restart's, and a new generation's).
        self._launches.clear()
        event = {"Records": [sqs_record(message, url)]}
        with self._quiet():
            response = self.launcher.lambda_handler(event, LocalLambdaContext(function_name="local-launcher"))
        failed |= {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        issue_id = json.loads(message["Body"]).get("issueId", "?")
        if message["MessageId"] in failed:
            # It stays on the queue; SQS redelivers it after the visibility timeout.
            self._say_kept(issue_id)
            return
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        claim = self._claim(issue_id)
        if claim is not None and claim.status.value == "failed":
            self.say(f"launch of {issue_id} refused for good: {claim.reason or 'see the log'}")
            return
        heard = self._launches.get(issue_id)
        if heard is None:  # a parked request, back for its acknowledgement only
            state = claim.ack.state.value if claim is not None and claim.ack is not None else "waits"
            not_launched[issue_id] = f"{issue_id} launched before; its acknowledgement on the issue: {state}"
        elif heard.outcome.value == "launched":
            launched.append(issue_id)
        else:
            not_launched[issue_id] = _not_launched(issue_id, heard.outcome.value, heard.reason)

    def _say_kept(self, issue_id: str) -> None:
        """Why a delivery stays on the queue: its acknowledgement waits, or its launch failed."""
        claim = self._claim(issue_id)
        if claim is not None and claim.status.value == "launched":
            waiting = claim.ack.detail or "its write slot" if claim.ack is not None else "a redelivery"
            self.say(f"{issue_id} launched; its acknowledgement on the issue waits ({waiting})")
        else:
            self.say(f"launch of {issue_id} failed; SQS will retry it ({self._claim_reason(issue_id)})")

    def _claim(self, issue_id: str) -> Any:
        from tracker_intake.adapters.dynamodb import DynamoLedger, DynamoTable

        if self._ledger is None:  # one adapter for the stack's life, not one per message
            self._ledger = DynamoLedger(DynamoTable(self.resources["table_name"], client=self.dynamodb))
        return self._ledger.get_claim(issue_id)

    def _claim_reason(self, issue_id: str) -> str:
        claim = self._claim(issue_id)
        return (claim.reason if claim is not None else None) or f"details in {self.options.log_file}"

    def _report(self, report: TickReport) -> None:
        self.say(self._tick_line(report))
        for poll in report.polls:
            sentence = _poll_sentence(poll, self._tracker(poll))
            if sentence is not None:
                self.say(sentence)
        for issue_id in report.launched:
            self.say(f"  session started for {issue_id}{self._identifier(issue_id)}{self._acknowledgement(issue_id)}")
        for sentence in report.not_launched.values():
            self.say(f"  {sentence}")

    def _tick_line(self, report: TickReport) -> str:
        """The tick in one line: the polls, their failures, the sessions and backlog, what the dispatcher held."""
        polled = len(report.polls)
        line = (
            f"tick {report.number}: {polled} project{'s' if polled != 1 else ''} polled, "
            f"{report.count('not_modified')} not modified, {report.count('changed')} changed"
        )
        failed = report.failed
        if failed:
            why = ", ".join(
                f"{poll['projectId']}: {_reason(poll.get('errorKind'), self._tracker(poll))}" for poll in failed
            )
            line += f", {len(failed)} failed ({why})"
        new = report.new_sessions
        if new:
            line += f" -> {len(new)} new session{'s' if len(new) != 1 else ''} {' '.join(new)}"
        backlog = sum(int(poll.get("backlogRecorded") or 0) for poll in report.polls)
        if backlog:
            line += (
                f" ({backlog} issue{'s' if backlog != 1 else ''} open when intake was switched on"
                " recorded as backlog, no session: trackerIntake.backlog is new)"
            )
        return line + _dispatch_notes(report.dispatch, self.options.github_requests_per_minute)

    def _tracker(self, poll: Mapping[str, Any]) -> str:
        """How the terminal names the tracker a poll read: `Linear` or `Jira` for such a project, else `GitHub`.

        Read from the project only for a poll the terminal says more of than a count (a failure, a
        backoff, a pause); one deleted since is named as GitHub, whose words the lines had first.
        """
        if not (poll.get("errorKind") or poll.get("backoffUntil")):
            return "GitHub"
        from tracker_intake.adapters.dynamodb import DynamoProjects, DynamoTable
        from tracker_intake.domain.errors import ProjectNotFound, StoreUnavailable

        projects = DynamoProjects(DynamoTable(self.resources["table_name"], client=self.dynamodb))
        try:
            intake = projects.get_project(str(poll["projectId"])).config.tracker_intake
        except (ProjectNotFound, StoreUnavailable):
            return "GitHub"
        if intake is not None and intake.is_jira:
            return "Jira"
        return "Linear" if intake is not None and intake.is_linear else "GitHub"

    def _identifier(self, issue_id: str) -> str:
        """` (ENG-123)` for a Linear issue, ` (PROJ-1)` for a Jira one, what a person reads beside its
        id; nothing on GitHub."""
        claim = self._claim(issue_id)
        identifier = claim.issue.identifier if claim is not None else None
        return f" ({identifier})" if identifier else ""

    def _acknowledgement(self, issue_id: str) -> str:
        """` (comment on the issue: done, URL)` for a launched issue's acknowledgement, or nothing."""
        claim = self._claim(issue_id)
        ack = claim.ack if claim is not None else None
        said = f" ({ack.kind.value} on the issue: {ack.state.value}" if ack is not None else ""
        if ack is not None:
            said += f", {ack.url or ack.detail})" if ack.url or ack.detail else ")"
        return said

    def announce_schedule(self) -> None:
        """What `intake local` says once, as its schedule starts: then it ticks at once, and every
        interval (`run_forever`). The docs' console samples say it too, before their first tick."""
        self.say(f"ticking every {self.options.interval:g}s; details in {self.options.log_file}; Ctrl-C stops")

    def run_forever(self) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        self.announce_schedule()
        while not stop.is_set():
            self.tick()
            stop.wait(self.options.interval)
        self.say("stopping")


@contextlib.contextmanager
def running(
    options: LocalOptions, say: Callable[[str], None] = lambda _: None, env: Mapping[str, str] | None = None
) -> Iterator[LocalStack]:
    """A started local stack for a test or a bench, stopped on the way out with os.environ put back
    as it was (starting sets the stack's variables). `env`: the environment to start it in."""
    saved = dict(os.environ)
    try:
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        local = LocalStack(options, say=say).start()
        try:
            yield local
        finally:
            local.stop()
    finally:
        os.environ.clear()
        os.environ.update(saved)


_RUNNING_HANDLER = threading.local()


class HandlerOutput:
    """A stream for what handlers print: the log file of the handler running on this thread,
    else `terminal` (by default whatever `sys.stdout` is when it writes)."""

    def __init__(self, log: TextIO, terminal: TextIO | None = None) -> None:
        self._log = log
        self._terminal = terminal

    def _target(self) -> TextIO:
        log: TextIO | None = getattr(_RUNNING_HANDLER, "log", None)
        return log or self._terminal or sys.stdout

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()


_REASONS = {
    "primary_rate_limit": "rate limited",
    "secondary_rate_limit": "secondary rate limit",
    "auth_failed": "authentication failed",
    "repo_not_found": "repository not found",
    "tracker_unavailable": "{tracker} unavailable",
    "bad_response": "bad answer from {tracker}",
    "queue_unavailable": "queue unavailable",
    "store_unavailable": "table unavailable",
}


def _reason(kind: str | None, tracker: str = "GitHub") -> str:
    """A poll's error kind in words; `tracker` names the tracker it read (GitHub, Linear)."""
    return _REASONS.get(kind or "", kind or "error").format(tracker=tracker)


def _not_launched(issue_id: str, outcome: str, reason: str | None) -> str:
    """What the terminal says of a delivery that launched nothing."""
    if outcome == "duplicate":
        why = "already launched" if reason == "claim is launched" else reason or "a duplicate"
        return f"duplicate delivery of {issue_id}: {why}, no new session"
    if outcome == "no_claim":
        return f"request for {issue_id} dropped: no claim for this issue, no session"
    return f"{issue_id}: {outcome}{f' ({reason})' if reason else ''}, nothing launched"


def _dispatch_notes(dispatch: dict[str, Any], requests_per_minute: int) -> str:
    """What the dispatcher held back this tick, each in brackets: backoffs, busy projects, pauses, deferrals."""
    notes = ""
    in_backoff = dispatch.get("skippedBackoff", 0)
    if in_backoff:
        transient = dispatch.get("skippedBackoffTransient", 0)
        kinds = [f"{transient} transient"] if transient else []
        kinds += [f"{in_backoff - transient} persistent"] if in_backoff - transient else []
        notes += f" ({in_backoff} skipped in backoff: {', '.join(kinds)})"
    slowed = dispatch.get("slowedBusy", 0)
    if slowed:
        notes += (
            f" ({slowed} busy project{'s' if slowed != 1 else ''} waiting their turn, polled every"
            f" {dispatch.get('busyEvery')} minutes to keep the credential's hourly budget)"
        )
    paused = dispatch.get("skippedBudget", 0)
    if paused:
        notes += f" ({paused} skipped: their credential is paused by a rate limit)"
    deferred = dispatch.get("deferred", 0)
    if deferred:
        notes += f" ({deferred} deferred: over their credential's budget of {requests_per_minute} requests a minute)"
    return notes


def _poll_sentence(poll: dict[str, Any], tracker: str = "GitHub") -> str | None:
    """The line a poll that paused the credential, backed off or found its config invalid gets; None for others."""
    if poll.get("result") == "credential_paused":
        if not poll.get("errorKind"):  # held by the pause; only the poll that met the limit says it
            return None
        until = datetime.fromisoformat(poll["backoffUntil"]).astimezone(UTC)
        reason = _reason(poll.get("errorKind"), tracker)
        return f"{tracker} credential paused until {until:%H:%M:%S} UTC ({reason}, met by {poll['projectId']})"
    if poll.get("backoffUntil"):
        until = datetime.fromisoformat(poll["backoffUntil"]).astimezone(UTC)
        reason = _reason(poll.get("errorKind"), tracker)
        kind = "transient, retried after a minute" if poll.get("transient") else "persistent"
        return f"backoff {poll['projectId']} until {until:%H:%M:%S} UTC ({reason}; {kind})"
    if poll.get("result") == "config_invalid":
        return f"config error {poll['projectId']}: {poll.get('error')}"
    return None


def _jira_token() -> tuple[str, str] | None:
    """JIRA_EMAIL and JIRA_API_TOKEN from the environment, when both are set."""
    email, token = os.environ.get("JIRA_EMAIL", "").strip(), os.environ.get("JIRA_API_TOKEN", "").strip()
    return (email, token) if email and token else None


def _is_loopback(url: str) -> bool:
    """Whether `url` names this machine's loopback (a stand-in, not GitHub)."""
    from tracker_intake.settings import is_loopback

    return is_loopback(urlsplit(url).hostname or "")


# --- the command ------------------------------------------------------------------------------------


# What `sam local invoke` gets from the local stack's environment (see `_write_sam_env`).
_SAM_ENV_NAMES = (
    "TABLE_NAME",
    "ACTIVITY_TABLE_NAME",
    "QUEUE_URL",
    "GITHUB_API_URL",
    "LINEAR_API_URL",
    "JIRA_API_URL",
    "SESSION_BACKEND",
    "SESSION_WEBHOOK_URL",
    "SESSION_WEBHOOK_SECRET_ARN",
    "SESSION_LOG_PROMPTS",
    "POWERTOOLS_METRICS_NAMESPACE",
    "GITHUB_REQUESTS_PER_MINUTE",
    "GITHUB_APP_ID",
    "GITHUB_APP_KEY_SECRET_ARN",
)


@contextlib.contextmanager
def _not_recorded(recording: bool) -> Iterator[None]:
    """Pauses moto's recorder (when it runs), so what is done inside never reaches its file."""
    if not recording:
        yield
        return
    from moto.moto_api import recorder

    recorder.stop_recording()
    try:
        yield
    finally:
        recorder.start_recording()


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "local",
        help="run the whole service on this machine (embedded AWS, no Docker)",
        description="Run the whole service locally: moto for AWS, the real handlers in-process.",
    )
    _serving_arguments(parser)
    _state_and_session_arguments(parser)
    _github_app_arguments(parser)
    _machine_arguments(parser)
    parser.set_defaults(func=_run)


def _serving_arguments(parser: argparse.ArgumentParser) -> None:
    """The ports, the schedule, and the GitHub it polls within which budget."""
    parser.add_argument("--port", type=int, default=3000, help="config API port (default 3000)")
    parser.add_argument("--aws-port", type=int, default=5000, help="embedded AWS port (default 5000)")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between ticks (default 60)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--github-url", help="GitHub API to poll (default https://api.github.com)")
    source.add_argument("--offline", action="store_true", help="serve a bundled sample repository instead")
    parser.add_argument(
        "--github-requests-per-minute",
        type=int,
        default=600,
        metavar="N",
        help="GitHub requests per rolling minute for the credential; projects beyond it wait (default 600)",
    )
    parser.add_argument(
        "--linear-url",
        metavar="URL",
        help=f"Linear GraphQL endpoint to poll Linear projects at, with LINEAR_API_KEY (default {LINEAR_URL}); "
        "--offline serves a sample workspace instead",
    )
    parser.add_argument(
        "--jira-url",
        metavar="URL",
        help="one base URL every Jira site's requests go to (a stand-in's), with JIRA_EMAIL and JIRA_API_TOKEN "
        "(default: each site's own https://<site>); --offline serves a sample site instead",
    )


def _state_and_session_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the embedded AWS keeps its state, and where session requests go, signed with which key."""
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".intake-local/state"),
        help="where the embedded AWS keeps its state between runs (default .intake-local/state)",
    )
    parser.add_argument("--fresh", action="store_true", help="start from an empty account (drops the kept state)")
    parser.add_argument(
        "--webhook-secret",
        default="local-webhook-secret",
        metavar="KEY",
        help="HMAC key the launcher signs --session-webhook requests with, and status reports to "
        "POST /sessions/{issueId}/status are checked with (default local-webhook-secret)",
    )
    parser.add_argument("--session-webhook", help="POST session requests here instead of logging them")


def _github_app_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--github-app-id", metavar="ID", help="poll as this GitHub App (with --github-app-key)")
    parser.add_argument("--github-app-key", type=Path, metavar="FILE", help="the GitHub App's private key (PEM)")
    parser.add_argument(
        "--github-app-installation",
        type=int,
        default=1,
        metavar="N",
        help="with --offline: the installation id the stand-in gives the app (default 1)",
    )


def _machine_arguments(parser: argparse.ArgumentParser) -> None:
    """What else of this machine the stack uses: an address for containers, a log file."""
    parser.add_argument(
        "--container-address",
        metavar="ADDR",
        help="also serve the embedded AWS and the GitHub stand-in on this address of the machine, "
        "for `sam local invoke` containers (your container bridge's gateway, e.g. 172.17.0.1)",
    )
    parser.add_argument(
        "--log-file",
        type=Path,
        default=Path(".intake-local/intake-local.log"),
        metavar="FILE",
        help="where the handlers' logs and metrics and each poll's and launch's details go, appended "
        "to; sam-env.json is written beside it (default .intake-local/intake-local.log)",
    )


def _run(args: argparse.Namespace) -> int:
    options = _options(args)
    problem = _option_problem(options)
    if problem is not None:
        print(f"intake local: {problem}")
        return 2
    terminal = sys.stdout
    # Before the ports: a second stack on the same state directory is told whose it is.
    try:
        state_lock = hold(options.state_dir) if options.state_dir is not None else None
    except StateDirInUse as e:
        print(f"intake local: {e}")
        return 1
    busy = _busy_port(options)
    if busy is not None:
        print(f"intake local: cannot start: {busy} is in use; choose another with {busy.split()[0]}")
        if state_lock is not None:
            state_lock.release()
        return 1
    stack = LocalStack(options, say=lambda line: print(line, file=terminal, flush=True), state_lock=state_lock)
    try:
        stack.start()
    except OSError as e:
        print(f"intake local: cannot start: {e} (is the port in use? try --port / --aws-port)")
        stack.stop()
        return 1
    # Powertools prints metrics (EMF) with print(): route stdout so they land in the log too.
    sys.stdout = HandlerOutput(stack.log, terminal)  # type: ignore[assignment]
    try:
        stack.run_forever()
    finally:
        sys.stdout = terminal
        stack.stop()
    return 0


def _options(args: argparse.Namespace) -> LocalOptions:
    return LocalOptions(
        port=args.port,
        aws_port=args.aws_port,
        interval=args.interval,
        github_url=args.github_url,
        linear_url=args.linear_url,
        jira_url=args.jira_url,
        offline=args.offline,
        session_webhook=args.session_webhook,
        log_file=args.log_file,
        github_requests_per_minute=args.github_requests_per_minute,
        webhook_secret=args.webhook_secret,
        state_dir=args.state_dir,
        fresh=args.fresh,
        container_address=args.container_address,
        github_app_id=args.github_app_id,
        github_app_key=args.github_app_key,
        github_app_installation=args.github_app_installation,
    )


def _webhook_allowed(url: str) -> bool:
    """What the launcher's settings accept with the local stack's loopback exception."""
    from tracker_intake.settings import LauncherSettings

    try:
        LauncherSettings.model_validate(
            {"TABLE_NAME": "-", "SESSION_WEBHOOK_URL": url, "SESSION_WEBHOOK_LOOPBACK_HTTP": True}
        )
    except ValueError:
        return False
    return True


def _option_problem(options: LocalOptions) -> str | None:
    """The first option that cannot work, said as a sentence; None when all can."""
    for flag, port in (("--port", options.port), ("--aws-port", options.aws_port)):
        if not 0 <= port <= 65535:
            return f"{flag} must be a port number from 0 (any free port) to 65535, not {port}"
    if not options.interval >= 1:
        return f"--interval must be at least 1 second, not {options.interval:g}"
    if not 1 <= options.github_requests_per_minute <= 5000:
        return "--github-requests-per-minute must be between 1 and 5000"
    if options.session_webhook is not None and not _webhook_allowed(options.session_webhook):
        return "--session-webhook must be an https:// URL, or http:// to a loopback address (127.0.0.1, localhost)"
    return _tracker_url_problem(options) or _app_and_address_problem(options)


def _tracker_url_problem(options: LocalOptions) -> str | None:
    """The first of --linear-url and --jira-url that cannot work, or None."""
    if options.linear_url is not None:
        problem = _url_problem("--linear-url", options.linear_url, options.offline, "a sample Linear workspace")
        if problem is not None:
            return problem
    if options.jira_url is not None:
        return _url_problem("--jira-url", options.jira_url, options.offline, "a sample Jira site")
    return None


def _app_and_address_problem(options: LocalOptions) -> str | None:
    """The first of the GitHub App's and the container address's options that cannot work, or None."""
    if (options.github_app_id is None) != (options.github_app_key is None):
        return "--github-app-id and --github-app-key go together"
    if options.github_app_id is not None and options.github_app_key is not None:
        problem = _app_problem(options.github_app_id, options.github_app_key, options.github_app_installation)
        if problem is not None:
            return problem
    if options.container_address is not None:
        return _container_address_problem(options.container_address)
    return None


def _url_problem(flag: str, url: str, offline: bool, sample: str) -> str | None:
    """Why a tracker's URL flag cannot work, or None. The credential goes to it in every request:
    https only, but for a stand-in on loopback."""
    if offline:
        return f"{flag} and --offline do not go together: --offline serves {sample}"
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and _is_loopback(url):
        return None
    return f"{flag} must be an https:// URL, or http:// to a loopback address (127.0.0.1, localhost), not {url!r}"


def _app_problem(app_id: str, key: Path, installation: int) -> str | None:
    """The first of the GitHub App's options that cannot work, or None."""
    from tracker_intake.domain.credentials import check_app_id

    try:
        check_app_id(app_id)
    except ValueError as e:
        return f"--github-app-id: {e}"
    problem = _key_problem(key)
    if problem is not None:
        return f"--github-app-key: {problem}"
    if installation < 1:
        return "--github-app-installation must be a positive number"
    return None


def _container_address_problem(given: str) -> str | None:
    """Why containers could not reach this machine at `given`, or None."""
    import ipaddress

    try:
        address = ipaddress.IPv4Address(given)
    except ValueError:
        return f"--container-address must be an IPv4 address such as 172.17.0.1, not {given!r}"
    if address.is_unspecified or address.is_loopback:
        return "--container-address must be one address containers reach this machine by, not loopback or 0.0.0.0"
    return None


def _key_problem(path: Path) -> str | None:
    """Why the file is not a GitHub App's private key (never quoting it); None when it is."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    try:
        pem = path.read_bytes()
    except OSError as e:
        return f"cannot read {path}: {e.strerror or e}"
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        return f"{path} is not a PEM private key without a passphrase (GitHub's download is one)"
    if not isinstance(key, RSAPrivateKey):
        return f"{path} is not an RSA key; GitHub Apps sign with RSA"
    return None


def _busy_port(options: LocalOptions) -> str | None:
    """`--port N` or `--aws-port N` when something already listens there; None when both are free."""
    import socket

    for flag, port in (("--port", options.port), ("--aws-port", options.aws_port)):
        if port == 0:
            continue
        with socket.socket() as probe:
            try:
                probe.bind((options.host, port))
            except OSError:
                return f"{flag} {port}"
    return None


__all__ = ["LocalOptions", "LocalStack", "TickReport"]
