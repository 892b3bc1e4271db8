"""A Jira project's credential resolved to a tracker, a writer and the key of its budget.

A `jira-api-token` secret holds `{"email", "apiToken"}` (HTTP Basic against the site), with a
`cloudId` for a scoped token (Basic against `api.atlassian.com/ex/jira/<cloudId>`), or
`{"token", "cloudId"}` (a service account's, Bearer there); a `jira-oauth` secret holds an OAuth 2.0 (3LO) app's
`{"accessToken", "refreshToken", "clientId", "clientSecret", "cloudId"}`, its rotated tokens
written back into the secret. Locally, JIRA_EMAIL and JIRA_API_TOKEN are the default, and one
base URL (`intake local --jira-url`) serves every site and the cloudId API alike.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..domain.credentials import DEFAULT_CREDENTIAL, Credential, CredentialKind, jira_key
from ..domain.errors import AuthFailed, TokenUnavailable
from ..domain.ports import Clock, Resolved
from .jira import JiraTracker
from .jira_http import JIRA_TOKEN_URL, ApiToken, BearerToken, JiraAuth, JiraClient, JiraOAuthApp
from .jira_writes import JiraIssueWriter
from .oauth import secret_of, tokens_from

CLOUD_API = "https://api.atlassian.com"


@dataclass(frozen=True)
class JiraDefault:
    """The credential a Jira project without `trackerIntake.credential` polls with: the
    deployment's, or an email and API token of the caller's (JIRA_EMAIL, JIRA_API_TOKEN locally)."""

    credential: Credential | None = None
    email: str | None = None
    token: str | None = None


@dataclass(frozen=True)
class _Auth:
    """What a secret says: the credential, where it is sent, and what names its budget."""

    auth: JiraAuth
    cloud_id: str | None
    budget: str


class JiraCredentials:
    """Resolves Jira credentials, one client per credential, secret and site, per container."""

    def __init__(
        self,
        spec: Callable[[str], Credential | None],
        read_secret: Callable[[str], str],
        *,
        default: JiraDefault,
        base_url: str | None = None,
        write_secret: Callable[[str, str], None] | None = None,
        clock: Clock | None = None,
        user_agent: str = "tracker-intake",
    ) -> None:
        self._spec = spec
        self._read_secret = read_secret
        self._default = default
        # One base URL for every site and the cloudId API (a stand-in's); None: Atlassian's.
        self._base_url = base_url.rstrip("/") if base_url else None
        self._write_secret = write_secret
        self._clock = clock
        self._user_agent = user_agent
        self._lock = threading.Lock()
        self._held: dict[str, tuple[JiraTracker, JiraIssueWriter]] = {}

    def resolve(self, name: str, site: str) -> Resolved:
        spec = self._credential(name)
        secret = self._read_secret(spec.secret_arn) if spec is not None else ""
        auth = self._auth(spec, secret)
        held = f"{auth.budget}:{site}:{hashlib.sha256(secret.encode()).hexdigest()}"
        with self._lock:
            known = self._held.get(held)
        if known is None:
            client = JiraClient(
                self._base(site, auth.cloud_id), auth.auth, clock=self._clock, user_agent=self._user_agent
            )
            known = (JiraTracker(client, site), JiraIssueWriter(client))
            with self._lock:
                self._held[held] = known
        tracker, writer = known
        return Resolved(name, auth.budget, tracker, writer)

    def key(self, name: str) -> str:
        spec = self._credential(name)
        return self._auth(spec, self._read_secret(spec.secret_arn) if spec is not None else "").budget

    def _credential(self, name: str) -> Credential | None:
        """The Jira credential by name; None for a default that is the caller's email and token."""
        if name != DEFAULT_CREDENTIAL:
            return self._spec(name)
        if self._default.credential is None and not (self._default.email and self._default.token):
            raise TokenUnavailable(
                "this deployment has no default Jira credential: register one (kind jira-api-token or "
                "jira-oauth) and name it in trackerIntake.credential"
            )
        return self._default.credential

    def _auth(self, spec: Credential | None, secret: str) -> _Auth:
        if spec is None:
            email, token = self._default.email or "", self._default.token or ""
            return _Auth(ApiToken(email, token), None, jira_key(f"{email}:{token}"))
        if spec.kind is CredentialKind.JIRA_OAUTH:
            return self._oauth(spec, secret)
        data = _json(spec.name, secret)
        if "email" in data and "apiToken" in data:
            # A scoped token names its site's cloudId: Basic against api.atlassian.com/ex/jira/<cloudId>.
            email, token, cloud = str(data["email"]), str(data["apiToken"]), data.get("cloudId")
            return _Auth(ApiToken(email, token), str(cloud) if cloud else None, jira_key(f"{email}:{token}"))
        if "token" in data and "cloudId" in data:
            return _Auth(BearerToken(str(data["token"])), str(data["cloudId"]), jira_key(str(data["token"])))
        raise AuthFailed(
            f"the secret of the {spec.name} credential is not a Jira API token: JSON with email and apiToken, "
            "or a scoped token's token and cloudId"
        )

    def _oauth(self, spec: Credential, secret: str) -> _Auth:
        tokens, extra = tokens_from(spec.name, secret, "Jira", extra=("cloudId",))
        cloud_id = extra["cloudId"]
        write, arn = self._write_secret, spec.secret_arn
        token_url = f"{self._base_url}/oauth/token" if self._base_url else JIRA_TOKEN_URL
        app = JiraOAuthApp(
            tokens,
            token_url=token_url,
            on_refresh=None if write is None else lambda fresh: write(arn, secret_of(fresh, {"cloudId": cloud_id})),
            clock=self._clock,
            json_body=True,
        )
        return _Auth(app, cloud_id, jira_key(f"oauth:{arn}"))

    def _base(self, site: str, cloud_id: str | None) -> str:
        if cloud_id is not None:
            return f"{self._base_url or CLOUD_API}/ex/jira/{cloud_id}"
        return self._base_url or f"https://{site}"


def _json(name: str, secret: str) -> dict[str, Any]:
    try:
        data = json.loads(secret)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise AuthFailed(f"the secret of the {name} credential is not JSON (see the Jira how-to for its fields)")
    return data
