"""Composition roots: build each function's ports from its settings, once per container.

Nothing here runs at import time; handlers call these on their first invocation, so importing
a handler makes no network call (the token secret is read on first use, then cached). Each
builder imports its own function's modules, domain and adapters, when it is called: every handler
imports this module, and none should load another function's code at its cold start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .domain.clock import SystemClock

if TYPE_CHECKING:
    from .api.routes import ApiContext
    from .domain.config import ProjectConfig
    from .domain.dispatch import DispatchContext
    from .domain.launch import LaunchContext
    from .domain.poll import PollContext
    from .domain.ports import SessionLauncher
    from .domain.preview import Preview, PreviewContext
    from .settings import ApiSettings, DispatcherSettings, LauncherSettings, PollerSettings

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


def github_token(secret_arn: str | None) -> str | None:
    """The Secrets Manager secret in AWS; GITHUB_TOKEN (or none) for local use."""
    from .adapters.github_token import token_from_env, token_from_secret

    return token_from_secret(secret_arn) if secret_arn else token_from_env()


def build_poll_context(
    settings: PollerSettings,
    *,
    dynamodb: Any = None,
    sqs: Any = None,
    token: str | None = None,
    **overrides: Any,
) -> PollContext:
    """The poller's ports from its settings.

    The one way contexts are built: the handler passes settings only; tests, benchmarks and the
    local stack pass boto3 clients (moto's), a token, and any `PollContext` field to replace.
    """
    from .adapters.dynamodb import DynamoBudgets, DynamoLedger, DynamoProjects, DynamoTable
    from .adapters.github import GitHubTracker
    from .adapters.github_token import token_key
    from .adapters.sqs import SqsSessionQueue
    from .domain.poll import PollContext

    if token is None:
        token = github_token(settings.github_token_secret_arn)
    table = DynamoTable(settings.table_name, client=dynamodb)
    context = PollContext(
        store=DynamoProjects(table),
        ledger=DynamoLedger(table),
        budgets=DynamoBudgets(table),
        queue=SqsSessionQueue(settings.queue_url, client=sqs),
        tracker=GitHubTracker(
            settings.github_api_url, token, user_agent=USER_AGENT, max_concurrency=settings.github_max_concurrency
        ),
        clock=SystemClock(),
        token_key=token_key(token),
        page_cap=settings.max_pages_per_poll,
        stale_claim=settings.stale_claim,
    )
    return replace(context, **overrides)


def build_dispatch_context(
    settings: DispatcherSettings,
    *,
    dynamodb: Any = None,
    lambda_client: Any = None,
    token: str | None = None,
    **overrides: Any,
) -> DispatchContext:
    """The dispatcher's ports from its settings; overrides as `build_poll_context`'s."""
    from .adapters.dynamodb import DynamoBudgets, DynamoProjects, DynamoTable
    from .adapters.github_token import token_key
    from .adapters.invoker import LambdaInvoker
    from .domain.dispatch import DispatchContext

    if token is None:
        token = github_token(settings.github_token_secret_arn)
    table = DynamoTable(settings.table_name, client=dynamodb)
    context = DispatchContext(
        store=DynamoProjects(table),
        budgets=DynamoBudgets(table),
        invoker=LambdaInvoker(settings.poller_function_name, client=lambda_client),
        clock=SystemClock(),
        token_key=token_key(token),
        max_concurrency=settings.max_concurrency,
        requests_per_minute=settings.github_requests_per_minute,
    )
    return replace(context, **overrides)


def build_launch_context(settings: LauncherSettings) -> LaunchContext:
    from .adapters.dynamodb import DynamoLedger, DynamoTable
    from .domain.launch import LaunchContext

    return LaunchContext(
        ledger=DynamoLedger(DynamoTable(settings.table_name)), launcher=session_launcher(settings), clock=SystemClock()
    )


def session_launcher(settings: LauncherSettings) -> SessionLauncher:
    """The backend the template chose: `webhook` (signed POST) or `log` (local use)."""
    from .adapters.webhook import LogLauncher, WebhookLauncher, secret_from_secrets_manager

    if settings.session_backend == "log":
        return LogLauncher()
    if not settings.session_webhook_url or not settings.session_webhook_secret_arn:
        raise ValueError("SESSION_BACKEND=webhook needs SESSION_WEBHOOK_URL and SESSION_WEBHOOK_SECRET_ARN")
    # The secret is read on the first launch, then cached: a cold start makes no network call.
    return WebhookLauncher(
        settings.session_webhook_url, secret_from_secrets_manager(settings.session_webhook_secret_arn)
    )


def build_api_context(settings: ApiSettings, *, dynamodb: Any = None, token: str | None = None) -> ApiContext:
    from .adapters.dynamodb import DynamoStore
    from .api.routes import ApiContext

    store = DynamoStore(settings.table_name, client=dynamodb)
    previewer = None
    if settings.github_api_url:
        previewer = LazyPreviewer(settings, store, token)
    return ApiContext(store=store, clock=SystemClock(), sigv4=settings.api_auth == "AWS_IAM", previewer=previewer)


class LazyPreviewer:
    """Previews with the deployment's GitHub credential, read on the first preview (a cold start
    that answers no preview reads no secret)."""

    def __init__(self, settings: ApiSettings, budgets: Any, token: str | None = None) -> None:
        self._settings = settings
        self._budgets = budgets
        self._token = token
        self._context: PreviewContext | None = None

    def __call__(self, config: ProjectConfig) -> Preview:
        from .domain.preview import PreviewContext, preview

        if self._context is None:
            from .adapters.github import GitHubTracker
            from .adapters.github_token import token_key

            settings = self._settings
            token = self._token if self._token is not None else github_token(settings.github_token_secret_arn)
            url = settings.github_api_url or "https://api.github.com"
            tracker = GitHubTracker(url, token, user_agent=USER_AGENT, include_pull_requests=True)
            self._context = PreviewContext(
                tracker=tracker,
                budgets=self._budgets,
                clock=SystemClock(),
                token_key=token_key(token),
                requests_per_minute=settings.github_requests_per_minute,
                page_cap=settings.max_pages_per_poll,
            )
        return preview(self._context, config)
