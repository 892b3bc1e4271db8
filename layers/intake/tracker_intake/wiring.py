"""Composition roots: build each function's ports from its settings, once per container.

Nothing here runs at import time; handlers call these on their first invocation, so importing
a handler makes no network call (the token secret is read on first use, then cached). Each
builder imports its own function's modules, domain and adapters, when it is called: every handler
imports this module, and none should load another function's code at its cold start.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from .domain.clock import SystemClock
from .domain.credentials import DEFAULT_CREDENTIAL, Credential, CredentialKind

if TYPE_CHECKING:
    from .adapters.credentials import DeploymentCredentials
    from .adapters.jira_credentials import JiraDefault
    from .adapters.linear_credentials import LinearDefault
    from .api.routes import ApiContext
    from .domain.config import ProjectConfig
    from .domain.dispatch import DispatchContext
    from .domain.launch import LaunchContext
    from .domain.poll import PollContext
    from .domain.ports import ClaimsByIssue, PermissionCache, SessionLauncher, TokenBudgets
    from .domain.preview import Preview
    from .settings import ApiSettings, DispatcherSettings, LauncherSettings, PollerSettings, _CredentialSettings

    class PreviewStore(TokenBudgets, ClaimsByIssue, PermissionCache, Protocol):
        """What a preview reads: the budgets, the claims of a page's issues, members' write access."""


T = TypeVar("T")


class Ports(Generic[T]):
    """A function's ports: built on first use, once per container; tests and the local stack swap them."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._ports: T | None = None

    def __call__(self) -> T:
        if self._ports is None:
            self._ports = self._build()
        return self._ports

    def use(self, ports: T | None) -> None:
        """Replace the ports; None rebuilds them from the environment on next use."""
        self._ports = ports


__all__ = ["Ports", "build_api_context", "build_dispatch_context", "build_poll_context"]

USER_AGENT = "tracker-intake/0.1 (+https://github.com/tracker-intake)"


def default_credential(settings: _CredentialSettings) -> Credential | None:
    """The deployment's own credential: a GitHub App, or a token secret (None: GITHUB_TOKEN)."""
    if settings.github_app_id and settings.github_app_key_secret_arn:
        return Credential(
            DEFAULT_CREDENTIAL, CredentialKind.APP, settings.github_app_key_secret_arn, settings.github_app_id
        )
    if settings.github_token_secret_arn:
        return Credential(DEFAULT_CREDENTIAL, CredentialKind.TOKEN, settings.github_token_secret_arn)
    return None


def linear_default(settings: _CredentialSettings, key: str | None = None) -> LinearDefault:
    """The deployment's default Linear credential: its secret, else `key` or LINEAR_API_KEY (locally)."""
    from .adapters.linear_credentials import LinearDefault

    if settings.linear_api_key_secret_arn:
        return LinearDefault(
            Credential(DEFAULT_CREDENTIAL, CredentialKind.LINEAR_API_KEY, settings.linear_api_key_secret_arn)
        )
    return LinearDefault(key=key or os.environ.get("LINEAR_API_KEY", "").strip() or None)


def jira_default(settings: _CredentialSettings, token: tuple[str, str] | None = None) -> JiraDefault:
    """The deployment's default Jira credential: its secret, else `token` (an email and an API
    token of the caller's) or JIRA_EMAIL and JIRA_API_TOKEN (locally)."""
    from .adapters.jira_credentials import JiraDefault

    if settings.jira_api_token_secret_arn:
        return JiraDefault(
            Credential(DEFAULT_CREDENTIAL, CredentialKind.JIRA_API_TOKEN, settings.jira_api_token_secret_arn)
        )
    if token is not None:
        return JiraDefault(email=token[0], token=token[1])
    email = os.environ.get("JIRA_EMAIL", "").strip() or None
    secret = os.environ.get("JIRA_API_TOKEN", "").strip() or None
    return JiraDefault(email=email, token=secret)


def build_credentials(
    settings: _CredentialSettings,
    store: Any,
    *,
    api_url: str | None,
    token: str | None = None,
    max_concurrency: int = 20,
    include_pull_requests: bool = False,
    default_tracker: Any = None,
    clock: Any = None,
    registry_max_age: Any = None,
    linear_key: str | None = None,
    jira_token: tuple[str, str] | None = None,
) -> DeploymentCredentials:
    """The deployment's credentials: its default (a token secret, a GitHub App, or `token` /
    GITHUB_TOKEN locally) and those registered in the table. Reads no secret until a poll needs it."""
    from .adapters.credentials import DeploymentCredentials, TrackerOptions
    from .adapters.github_token import secret_to_secrets_manager, token_from_env, token_from_secret

    # A token of the caller's (tests, the local stack) stands in for a token secret.
    default = default_credential(settings)
    if default is not None and default.kind is CredentialKind.TOKEN and token is not None:
        default = None
    elif default is None and token is None:
        token = token_from_env()
    return DeploymentCredentials(
        default,
        store,
        store,
        TrackerOptions(
            api_url or "https://api.github.com",
            USER_AGENT,
            max_concurrency=max_concurrency,
            include_pull_requests=include_pull_requests,
            linear_url=settings.linear_api_url,
        ),
        read_secret=token_from_secret,
        linear=linear_default(settings, linear_key),
        write_secret=secret_to_secrets_manager,
        jira=jira_default(settings, jira_token),
        jira_url=settings.jira_api_url,
        default_token=token,
        default_tracker=default_tracker,
        clock=clock,
        **({} if registry_max_age is None else {"registry_max_age": registry_max_age}),
    )


def build_poll_context(
    settings: PollerSettings,
    *,
    dynamodb: Any = None,
    sqs: Any = None,
    token: str | None = None,
    linear_key: str | None = None,
    jira_token: tuple[str, str] | None = None,
    **overrides: Any,
) -> PollContext:
    """The poller's ports from its settings.

    The one way contexts are built: the handler passes settings only; tests, benchmarks and the
    local stack pass boto3 clients (moto's), a token, and any `PollContext` field to replace.
    """
    from .adapters.dynamodb import DynamoStore
    from .adapters.github import GitHubTracker
    from .adapters.github_token import token_key
    from .adapters.sqs import SqsSessionQueue
    from .domain.poll import PollContext

    store = DynamoStore(settings.table_name, client=dynamodb, activity_table_name=settings.activity_table_name)
    credentials = build_credentials(
        settings,
        store,
        api_url=settings.github_api_url,
        token=token,
        max_concurrency=settings.github_max_concurrency,
        default_tracker=overrides.get("tracker"),
        # A clock of the caller's (tests, benchmarks) times the apps' JWTs and tokens too.
        clock=overrides.get("clock"),
        linear_key=linear_key,
        jira_token=jira_token,
    )
    context = PollContext(
        store=store,
        ledger=store,
        budgets=store,
        queue=SqsSessionQueue(settings.queue_url, client=sqs),
        # Every poll resolves its project's credential (the default included), which replaces
        # these two: they serve only a context built without `credentials`.
        tracker=GitHubTracker(settings.github_api_url, None, user_agent=USER_AGENT),
        clock=SystemClock(),
        token_key=token_key(token) if token is not None else "unresolved",
        page_cap=settings.max_pages_per_poll,
        stale_claim=settings.stale_claim,
        credentials=credentials,
        permissions=store,
        # No activity table configured: the poll records nothing (the template always sets one).
        activity=store if settings.activity_table_name else None,
    )
    return replace(context, **overrides)


def build_dispatch_context(
    settings: DispatcherSettings,
    *,
    dynamodb: Any = None,
    lambda_client: Any = None,
    token: str | None = None,
    linear_key: str | None = None,
    jira_token: tuple[str, str] | None = None,
    **overrides: Any,
) -> DispatchContext:
    """The dispatcher's ports from its settings; overrides as `build_poll_context`'s."""
    from .adapters.dynamodb import DynamoStore
    from .adapters.github_token import token_key
    from .adapters.invoker import LambdaInvoker
    from .domain.dispatch import DispatchContext

    store = DynamoStore(settings.table_name, client=dynamodb)
    context = DispatchContext(
        store=store,
        budgets=store,
        invoker=LambdaInvoker(settings.poller_function_name, client=lambda_client),
        clock=SystemClock(),
        # Each project's key comes from `credentials`; this one serves a context built without.
        token_key=token_key(token) if token is not None else "unresolved",
        max_concurrency=settings.max_concurrency,
        requests_per_minute=settings.github_requests_per_minute,
        credentials=build_credentials(
            settings,
            store,
            api_url=None,
            token=token,
            clock=overrides.get("clock"),
            linear_key=linear_key,
            jira_token=jira_token,
        ),
    )
    return replace(context, **overrides)


def build_launch_context(
    settings: LauncherSettings,
    *,
    dynamodb: Any = None,
    sqs: Any = None,
    token: str | None = None,
    linear_key: str | None = None,
    jira_token: tuple[str, str] | None = None,
    **overrides: Any,
) -> LaunchContext:
    """The launcher's ports; overrides as `build_poll_context`'s (`ack` fields go in `ack_overrides`)."""
    import time

    from .adapters.dynamodb import DynamoStore
    from .adapters.sqs import SqsSessionQueue
    from .domain.acknowledge import AckContext
    from .domain.launch import LaunchContext

    store = DynamoStore(settings.table_name, client=dynamodb)
    clock = overrides.get("clock") or SystemClock()
    credentials = build_credentials(
        settings,
        store,
        api_url=settings.github_api_url,
        token=token,
        clock=clock,
        linear_key=linear_key,
        jira_token=jira_token,
    )
    ack = AckContext(projects=store, credentials=credentials, pace=store, budgets=store, sleep=time.sleep)
    context = LaunchContext(
        ledger=store,
        launcher=session_launcher(settings),
        clock=clock,
        ack=replace(ack, **overrides.pop("ack_overrides", {})),
        redelivery=SqsSessionQueue(settings.queue_url, client=sqs) if settings.queue_url else None,
        max_receives=settings.max_receives,
    )
    return replace(context, **overrides)


def session_launcher(settings: LauncherSettings) -> SessionLauncher:
    """The backend the template chose: `webhook` (signed POST) or `log` (local use)."""
    from .adapters.webhook import LogLauncher, WebhookLauncher, secret_from_secrets_manager

    if settings.session_backend == "log":
        return LogLauncher(settings.session_log_prompts)
    if not settings.session_webhook_url or not settings.session_webhook_secret_arn:
        raise ValueError("SESSION_BACKEND=webhook needs SESSION_WEBHOOK_URL and SESSION_WEBHOOK_SECRET_ARN")
    # The secret is read on the first launch, then cached: a cold start makes no network call.
    return WebhookLauncher(
        settings.session_webhook_url, secret_from_secrets_manager(settings.session_webhook_secret_arn)
    )


def build_api_context(
    settings: ApiSettings,
    *,
    dynamodb: Any = None,
    token: str | None = None,
    report_key: str | None = None,
    linear_key: str | None = None,
    jira_token: tuple[str, str] | None = None,
) -> ApiContext:
    """The API's ports; `report_key` stands in for the webhook key's secret (tests)."""
    from .adapters.dynamodb import DynamoStore
    from .api.routes import ApiContext
    from .domain.status import web_hosts

    store = DynamoStore(settings.table_name, client=dynamodb, activity_table_name=settings.activity_table_name)
    previewer: CredentialPreviewer | None = None
    access = None
    if settings.github_api_url:
        # Previews and checks read GitHub with the project's credential (read on first use).
        from datetime import timedelta

        credentials = build_credentials(
            settings,
            store,
            api_url=settings.github_api_url,
            token=token,
            include_pull_requests=True,
            registry_max_age=timedelta(0),  # what the API just registered, previews use at once
            linear_key=linear_key,
            jira_token=jira_token,
        )
        previewer = CredentialPreviewer(settings, store, credentials)
        access = credentials.check_access
    return ApiContext(
        store=store,
        clock=SystemClock(),
        sigv4=settings.api_auth == "AWS_IAM",
        previewer=previewer,
        default_credential=default_credential(settings),
        secret_prefix=settings.credential_secret_prefix,
        access=access,
        report_key=_report_key(settings, report_key),
        github_hosts=web_hosts(settings.github_api_url),
    )


def _report_key(settings: ApiSettings, key: str | None) -> Callable[[], str] | None:
    """The webhook key status reports are signed with: read on the first report, then cached."""
    if key is not None:
        return lambda: key
    if not settings.session_webhook_secret_arn:
        return None
    from .adapters.webhook import secret_from_secrets_manager
    from .domain.errors import ReportKeyUnavailable

    return secret_from_secrets_manager(settings.session_webhook_secret_arn, unavailable=ReportKeyUnavailable)


class CredentialPreviewer:
    """Previews a config with the credential it names, within that credential's budget."""

    def __init__(self, settings: ApiSettings, store: PreviewStore, credentials: DeploymentCredentials) -> None:
        self._settings = settings
        self._store = store  # the credential budgets, and the ledger the claims are read from
        self._credentials = credentials

    def __call__(self, config: ProjectConfig, project_id: str | None = None) -> Preview:
        from .domain.errors import RuleBroken, TokenUnavailable
        from .domain.preview import PreviewContext, preview
        from .domain.records import ProjectRecord

        # A draft's repository may not be the project's: nothing found is cached on the project.
        try:
            record = ProjectRecord(project_id or "preview", config, 0)
            resolved = self._credentials.for_project(record, remember=False)
        except TokenUnavailable as e:
            name = config.tracker_intake.credential if config.tracker_intake is not None else None
            if name is None:
                raise  # the deployment's own: 503, try again shortly
            # A registered credential whose secret cannot be read is the registration's fault.
            raise RuleBroken("trackerIntake.credential", f"the secret of credential {name!r} cannot be read") from e
        context = PreviewContext(
            tracker=resolved.tracker,
            budgets=self._store,
            clock=SystemClock(),
            token_key=resolved.key,
            requests_per_minute=self._settings.github_requests_per_minute,
            page_cap=self._settings.max_pages_per_poll,
            ledger=self._store,
            # A stored project's members' write access is kept for its polls; a new one's is not.
            collaborators=resolved.collaborators,
            permissions=self._store,
            project_id=project_id,
        )
        return preview(context, config)
