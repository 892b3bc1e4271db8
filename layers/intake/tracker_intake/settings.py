"""Each function's environment, read into a typed model once per container (at cold start)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    table_name: str = Field(alias="TABLE_NAME", min_length=1)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        source = os.environ if env is None else env
        # Empty template parameters arrive as empty strings: treat them as unset.
        return cls.model_validate({k: v for k, v in source.items() if v != ""})


class _CredentialSettings(_Settings):
    """The deployment's default credential: a token secret, or a GitHub App (id and key secret).

    Other credentials are registered in the table; the functions may read only secrets under
    CREDENTIAL_SECRET_PREFIX (their IAM policy says so, and the API refuses others).
    """

    # Read only to know which token budget to check (its sha256 prefix); never logged.
    github_token_secret_arn: str | None = Field(default=None, alias="GITHUB_TOKEN_SECRET_ARN")
    github_app_id: str | None = Field(default=None, alias="GITHUB_APP_ID")
    github_app_key_secret_arn: str | None = Field(default=None, alias="GITHUB_APP_KEY_SECRET_ARN")
    credential_secret_prefix: str | None = Field(default=None, alias="CREDENTIAL_SECRET_PREFIX")
    # Linear's GraphQL endpoint (a stand-in's, locally), and the deployment's default Linear
    # credential: a secret holding a personal API key (absent: a Linear project names its own).
    linear_api_url: str = Field(default="https://api.linear.app/graphql", alias="LINEAR_API_URL")
    linear_api_key_secret_arn: str | None = Field(default=None, alias="LINEAR_API_KEY_SECRET_ARN")
    # One base URL for every Jira site and Atlassian's cloudId API (a stand-in's, locally; absent:
    # each site's own), and the deployment's default Jira credential (a jira-api-token secret).
    jira_api_url: str | None = Field(default=None, alias="JIRA_API_URL")
    jira_api_token_secret_arn: str | None = Field(default=None, alias="JIRA_API_TOKEN_SECRET_ARN")


class DispatcherSettings(_CredentialSettings):
    poller_function_name: str = Field(alias="POLLER_FUNCTION_NAME", min_length=1)
    max_concurrency: int = Field(default=32, alias="DISPATCH_CONCURRENCY", ge=1, le=64)
    # The credential's budget of GitHub requests per rolling minute (GitHub allows about 900).
    github_requests_per_minute: int = Field(default=600, alias="GITHUB_REQUESTS_PER_MINUTE", ge=1, le=5000)


class _ActivitySettings(_Settings):
    # The activity log's own table (the template's ActivityTable): the poller writes each poll
    # there, the API reads them. None: no activity log (the poller records none, the API's
    # GET /projects/{id}/polls answers 503); the template always sets it.
    activity_table_name: str | None = Field(default=None, alias="ACTIVITY_TABLE_NAME")


class PollerSettings(_CredentialSettings, _ActivitySettings):
    queue_url: str = Field(alias="QUEUE_URL", min_length=1)
    github_api_url: str = Field(default="https://api.github.com", alias="GITHUB_API_URL")
    max_pages_per_poll: int = Field(default=10, alias="MAX_PAGES_PER_POLL", ge=1, le=100)
    # Requests in flight on the credential from this process (GitHub allows 100 per credential).
    github_max_concurrency: int = Field(default=20, alias="GITHUB_MAX_CONCURRENCY", ge=1, le=100)
    # Longer than the poller's timeout: a claim this old has no live poller behind it.
    stale_claim_seconds: int = Field(default=45, alias="STALE_CLAIM_SECONDS", ge=1)

    @property
    def stale_claim(self) -> timedelta:
        return timedelta(seconds=self.stale_claim_seconds)


def is_loopback(host: str) -> bool:
    """`localhost`, or an address in 127.0.0.0/8 or ::1 (never a name that merely starts so)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LauncherSettings(_CredentialSettings):
    session_backend: Literal["webhook", "log"] = Field(default="log", alias="SESSION_BACKEND")
    # https only: the request carries the text and a signature a listener could replay.
    session_webhook_url: str | None = Field(default=None, alias="SESSION_WEBHOOK_URL")
    # The local stack's explicit exception: plain http to a loopback backend (`intake local`).
    session_webhook_loopback_http: bool = Field(default=False, alias="SESSION_WEBHOOK_LOOPBACK_HTTP")
    session_webhook_secret_arn: str | None = Field(default=None, alias="SESSION_WEBHOOK_SECRET_ARN")
    # With the `log` backend: log the whole prompt, not only the id and sizes.
    session_log_prompts: bool = Field(default=False, alias="SESSION_LOG_PROMPTS")
    # Acknowledgements on the issue write with the project's credential, to this GitHub.
    github_api_url: str = Field(default="https://api.github.com", alias="GITHUB_API_URL")
    # The launch queue: an acknowledgement that waits sets its message's visibility there.
    queue_url: str | None = Field(default=None, alias="QUEUE_URL")
    # The launch queue's maxReceiveCount: on the last delivery an acknowledgement gives up
    # rather than send the request to the dead-letter queue.
    max_receives: int = Field(default=5, alias="LAUNCH_MAX_RECEIVES", ge=1)

    @model_validator(mode="after")
    def _https_webhook(self) -> Self:
        url = self.session_webhook_url
        if url is None or url.startswith("https://"):
            return self
        parts = urlsplit(url)
        if parts.scheme == "http" and self.session_webhook_loopback_http and is_loopback(parts.hostname or ""):
            return self
        raise ValueError(
            "SESSION_WEBHOOK_URL must be an https:// URL (plain http is allowed only to a loopback "
            "address, and only in the local stack)"
        )


class ApiSettings(_CredentialSettings, _ActivitySettings):
    # What the API's OpenAPI document declares: API Gateway checks SigV4 before the function
    # runs (AWS_IAM, as deployed); the local stack checks nothing (NONE) and says so.
    api_auth: Literal["AWS_IAM", "NONE"] = Field(default="AWS_IAM", alias="API_AUTH")
    # Previews read GitHub with the pollers' credential, within its budget (as the dispatcher
    # grants it) and the same page cap as a poll. No URL: no previews (501).
    github_api_url: str | None = Field(default=None, alias="GITHUB_API_URL")
    github_requests_per_minute: int = Field(default=600, alias="GITHUB_REQUESTS_PER_MINUTE", ge=1, le=5000)
    max_pages_per_poll: int = Field(default=10, alias="MAX_PAGES_PER_POLL", ge=1, le=100)
    # The key status reports are signed with: the launcher's webhook key (None: reports are 501).
    session_webhook_secret_arn: str | None = Field(default=None, alias="SESSION_WEBHOOK_SECRET_ARN")
