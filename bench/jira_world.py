"""A simulated minute-by-minute world of Jira Cloud projects on one site, shared by (p) and (q).

The real `dispatch` and the real `poll_project` over the in-memory store (tests/fakes.py), with
the deployment's credentials (`wiring.build_credentials`: the default Jira API token, and, when
asked, a registered `jira-oauth` credential whose tokens are in moto's Secrets Manager), so each
poll asks the loopback Jira stand-in (`dev/intake_dev/fake_jira`) through the real `JiraTracker`.
The dispatcher paces each credential at the template's 600 requests a minute, as for GitHub and
Linear. The stand-in keeps its limits on the simulated clock: the burst limit per second per
endpoint and method for the whole site (its defaults: 100 GET and 100 POST a second; Atlassian
does not publish the figure) and an OAuth 2.0 (3LO) app's 65,000 points an hour.

Every request of a tick is made at the tick's instant, one poll after another: the dispatcher
invokes the polls of a tick at once (bench/fanout.py: about 1,500 invokes a second), so a tick's
searches reach Jira within about a second, which is what Jira's per-second burst limit counts.
New issues are made at their own moment within the minute (the clock is moved to it), so the
search lag runs from the issue's `updated`.

Each project is a Jira project of its own with one open issue labelled `agent` by a licensed
user; rule `{"provider": "jira", "site": "acme.atlassian.net", "project": <its key>, "labels": ["agent"]}`.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto import mock_aws

from intake_dev.clock import FixedClock
from intake_dev.fake_jira import FakeJira, RecordedRequest
from tracker_intake.adapters.github import GitHubTracker
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.credentials import Credential, CredentialKind
from tracker_intake.domain.dispatch import DispatchContext, DispatchSummary, dispatch
from tracker_intake.domain.poll import PollContext
from tracker_intake.settings import PollerSettings
from tracker_intake.wiring import build_credentials

from .common import LABEL, fake_aws_env
from .linear_world import BUDGET, Queue, RecordingInvoker

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SITE = "acme.atlassian.net"
TOKEN = ("intake-bot@acme.test", "jira_benchToken0123456789abcdef")
MEMBER = "mia@acme.test"
APP = "intake-app"
SEED = 29


def key_of(n: int) -> str:
    return f"P{n:04d}"


@dataclass
class World:
    clock: FixedClock
    jira: FakeJira
    dispatch: DispatchContext
    queue: Queue
    invoker: RecordingInvoker
    projects: int
    summaries: list[DispatchSummary] = field(default_factory=list)
    opened: dict[str, float] = field(default_factory=dict)  # canonical id -> updated (epoch s)
    after_tick: list[int] = field(default_factory=list)  # the 3LO app's points left after each tick

    def minute(self, rng: random.Random | None = None, share: float = 0.0) -> DispatchSummary:
        """A tick, then the minute after it (new issues at their moments when `rng` is given)."""
        summary = dispatch(self.dispatch, scheduled=self.clock.now())
        self.summaries.append(summary)
        self.after_tick.append(self.jira.remaining(APP))
        moved = 0.0
        if rng is not None:
            count = max(1, round(self.projects * share))
            for at, n in sorted((rng.uniform(0, 60), n) for n in rng.sample(range(self.projects), count)):
                self.clock.advance(at - moved)
                moved = at
                issue = self.jira.add_issue(key_of(n), "new", labels=[LABEL], reporter=MEMBER)
                self.opened[f"jira:{SITE}/{issue.id}"] = issue.updated_ms / 1000
        self.clock.advance(60 - moved)
        return summary


@contextmanager
def jira_world(
    projects: int,
    *,
    search_lag_s: float = 0.0,
    oauth: bool = False,
    oauth_points_per_hour: int | None = None,
    burst_per_second: dict[str, int] | None = None,
    tokens: int = 1,
) -> Iterator[World]:
    """`projects` Jira projects on one site, on the default API token (or `tokens` API tokens of
    as many users, project n on token n % tokens; or one OAuth 2.0 (3LO) app with `oauth`)."""
    from fakes import MemoryStore  # tests/ is on sys.path once bench.pacing is imported

    class Store(MemoryStore):
        """The in-memory store with a credential registry (the fake has none: tests use moto's)."""

        def __init__(self) -> None:
            super().__init__()
            self.credentials: dict[str, Credential] = {}

        def get_credential(self, name: str) -> Credential | None:
            return self.credentials.get(name)

        def list_credentials(self) -> list[Credential]:
            return list(self.credentials.values())

        def put_credential(self, credential: Credential, now: datetime) -> Credential:
            self.credentials[credential.name] = credential
            return credential

        def delete_credential(self, name: str) -> bool:
            return self.credentials.pop(name, None) is not None

    fake_aws_env()
    logging.getLogger("tracker_intake").setLevel(logging.ERROR)
    clock = FixedClock(START)
    options: dict[str, Any] = {"search_lag_seconds": search_lag_s, "burst_per_second": burst_per_second}
    if oauth_points_per_hour is not None:
        options["oauth_points_per_hour"] = oauth_points_per_hour
    with mock_aws(), FakeJira(clock=lambda: clock.now().timestamp(), **options) as jira:
        store = Store()
        secrets = boto3.client("secretsmanager")
        jira.add_user(TOKEN[0])
        jira.add_user(MEMBER)
        jira.add_api_token(*TOKEN)
        named: dict[int, str] = {}
        if oauth:
            tokens_ = jira.add_oauth_app(APP, "app-secret", user=TOKEN[0])
            secret = {
                "accessToken": tokens_.access_token,
                "refreshToken": tokens_.refresh_token,
                "clientId": APP,
                "clientSecret": "app-secret",
                "cloudId": jira.cloud_id,
            }
            arn = secrets.create_secret(Name="tracker-intake/jira-oauth/app", SecretString=json.dumps(secret))["ARN"]
            store.put_credential(Credential("jira-app", CredentialKind.JIRA_OAUTH, arn), clock.now())
        for k in range(1, tokens):
            email = f"bot{k}@acme.test"
            jira.add_user(email)
            jira.add_api_token(email, f"jira_benchToken{k:03d}")
            data = json.dumps({"email": email, "apiToken": f"jira_benchToken{k:03d}"})
            arn = secrets.create_secret(Name=f"tracker-intake/jira-{k}", SecretString=data)["ARN"]
            store.put_credential(Credential(f"token-{k}", CredentialKind.JIRA_API_TOKEN, arn), clock.now())
            named[k] = f"token-{k}"
        for n in range(projects):
            jira.add_project(key_of(n))
            jira.add_issue(key_of(n), "first", labels=[LABEL], reporter=MEMBER, at=START - timedelta(days=1))
            rule: dict[str, Any] = {"enabled": True, "provider": "jira", "site": SITE, "project": key_of(n)}
            rule["labels"] = [LABEL]
            if oauth:
                rule["credential"] = "jira-app"
            elif n % tokens:
                rule["credential"] = named[n % tokens]
            store.create_project(f"p{n:04d}", ProjectConfig.model_validate({"trackerIntake": rule}), clock.now())
        settings = PollerSettings.from_env(
            {"TABLE_NAME": "unused", "QUEUE_URL": "unused", "JIRA_API_URL": jira.base_url}
        )
        credentials = build_credentials(
            settings, store, api_url=None, token="ghp_unused", jira_token=TOKEN, clock=clock
        )
        queue = Queue(clock)
        poll = PollContext(
            store,
            store,
            store,
            queue,
            GitHubTracker("http://127.0.0.1:9", None),  # unused: each project's own comes from `credentials`
            clock,
            "unresolved",
            rng=lambda: 0.0,
            # A retry's pause (a burst limit's 429) passes on the world's clock, as it would in
            # Lambda: the retry lands in a later second of the burst window.
            sleep=lambda seconds: _waited(clock, seconds),
            credentials=credentials,
        )
        invoker = RecordingInvoker(poll, clock)
        ctx = DispatchContext(
            store, store, invoker, clock, "unresolved", max_concurrency=1, requests_per_minute=BUDGET,
            credentials=credentials,
        )  # fmt: skip
        yield World(clock, jira, ctx, queue, invoker, projects)


def _waited(clock: FixedClock, seconds: float) -> None:
    clock.advance(seconds)


def searches(log: list[RecordedRequest]) -> list[RecordedRequest]:
    return [r for r in log if r.path.endswith("/search/jql")]
