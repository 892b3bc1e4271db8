"""Credentials: named ways to authenticate to a tracker (GitHub, Linear), each with its own rate budget.

A deployment has a `default` credential (its template parameters: a token secret, or a GitHub
App). More are registered through the API by reference only: the ARN of a Secrets Manager
secret under the deployment's own prefix, never the secret itself. A project names one in
`trackerIntake.credential`; without it, the project uses the default.

Each credential's requests count against its own limits: a token's, or, for a GitHub App, each
installation's. The *key* names that budget (and the ETag cache's owner): `token_key` of the
token, or `app-<app id>-<installation id>`. Keys reveal nothing of the secret.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

DEFAULT_CREDENTIAL = "default"
# Like a project id: 1-64 lower-case letters, digits and '-'.
CREDENTIAL_NAME_PATTERN = r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?"
# A GitHub App's numeric id (its client id, `Iv1.…`/`Iv23…`, is accepted too: GitHub takes either
# as a JWT's issuer).
APP_ID_PATTERN = r"[1-9][0-9]{0,19}|Iv[0-9A-Za-z.]{4,40}"
SECRET_ARN_PATTERN = r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}"  # noqa: S105 - a pattern, not a secret

# Where a `linear-oauth` credential's secret lives under the deployment's prefix: the only
# secrets the functions may write (each refresh rotates the refresh token they hold).
LINEAR_OAUTH_SECRETS = "linear-oauth/"
# ... and a `jira-oauth` credential's, likewise.
JIRA_OAUTH_SECRETS = "jira-oauth/"

_NAME = re.compile(CREDENTIAL_NAME_PATTERN)
_APP_ID = re.compile(APP_ID_PATTERN)
_SECRET_ARN = re.compile(SECRET_ARN_PATTERN)


class CredentialKind(StrEnum):
    TOKEN = "token"  # noqa: S105 - a kind, not a secret. A personal access token (or any token) in the secret's SecretString
    APP = "app"  # a GitHub App: its private key (PEM) in the secret, the app id alongside
    # A Linear personal API key in the secret's SecretString (sent as `Authorization: <key>`).
    LINEAR_API_KEY = "linear-api-key"
    # A Linear OAuth app's tokens in the secret, as JSON: accessToken, refreshToken, clientId,
    # clientSecret (sent as `Bearer`, refreshed with the refresh token, which Linear rotates).
    LINEAR_OAUTH = "linear-oauth"
    # A Jira Cloud API token in the secret, as JSON: `email` and `apiToken` (HTTP Basic against
    # the site), or a scoped token or a service account's, `token` and `cloudId` (Bearer against
    # api.atlassian.com/ex/jira/<cloudId>).
    JIRA_API_TOKEN = "jira-api-token"  # noqa: S105 - a kind, not a secret
    # A Jira OAuth 2.0 (3LO) app's tokens, as JSON: accessToken, refreshToken, clientId,
    # clientSecret and cloudId (Bearer, refreshed, the refresh token rotated).
    JIRA_OAUTH = "jira-oauth"

    @property
    def provider(self) -> str:
        if self in (CredentialKind.LINEAR_API_KEY, CredentialKind.LINEAR_OAUTH):
            return "linear"
        if self in (CredentialKind.JIRA_API_TOKEN, CredentialKind.JIRA_OAUTH):
            return "jira"
        return "github"


@dataclass(frozen=True)
class Credential:
    """A registered credential: what it is and where its secret lives (never the secret)."""

    name: str
    kind: CredentialKind
    secret_arn: str
    app_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_CREDENTIAL


def check_credential_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(
            f"{value[:70]!r} is not a credential name: 1-64 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


def check_app_id(value: str) -> str:
    if not _APP_ID.fullmatch(value):
        raise ValueError(f"{value[:40]!r} is not a GitHub App id (digits) or client id (Iv…)")
    return value


def check_secret_arn(value: str, prefix: str | None) -> str:
    """A Secrets Manager secret's ARN, under the deployment's prefix when there is one.

    The functions may read only secrets under that prefix (their IAM policy says so): an ARN
    elsewhere would be accepted here and refused at every poll.
    """
    if not _SECRET_ARN.fullmatch(value):
        # Not quoted back: what lands here by mistake is often the secret itself (a token, a PEM).
        raise ValueError(
            "is not the ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>)"
        )
    if prefix and not value.startswith(prefix):
        raise ValueError(f"the secret must be under {prefix} (the only secrets this deployment may read)")
    return value


def linear_key(secret: str) -> str:
    """The budget of a Linear credential: Linear limits each user (or app) by its own buckets."""
    return f"linear-{hashlib.sha256(secret.encode()).hexdigest()[:16]}"


def jira_key(secret: str) -> str:
    """The budget of a Jira credential: Jira limits each token (or app) on its own."""
    return f"jira-{hashlib.sha256(secret.encode()).hexdigest()[:16]}"


def app_key(app_id: str, installation_id: int | None) -> str:
    """The budget of one installation of an app (`pending` until the installation is known)."""
    return f"app-{app_id}-{installation_id if installation_id is not None else 'pending'}"
