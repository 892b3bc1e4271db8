"""A Linear project's credential resolved to a tracker, a writer and the key of its budget.

A `linear-api-key` secret holds a personal API key; a `linear-oauth` secret an OAuth app's
tokens (adapters/oauth.py), its rotated tokens written back into the secret. Locally,
LINEAR_API_KEY is the default. One client per credential and secret, per container: an OAuth
app's tokens rotated by another container are read afresh (within the secret cache's five
minutes) into a new client.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..domain.credentials import DEFAULT_CREDENTIAL, Credential, CredentialKind, linear_key
from ..domain.errors import AuthFailed, TokenUnavailable
from ..domain.ports import Clock, Resolved
from .linear import LinearTracker
from .linear_http import ApiKey, LinearAuth, LinearClient
from .linear_writes import LinearIssueWriter
from .oauth import OAuthApp, secret_of, tokens_from


@dataclass(frozen=True)
class LinearDefault:
    """The credential a Linear project without `trackerIntake.credential` polls with: the
    deployment's (a registered-style credential of a `linear-*` kind), or a key of the caller's
    (LINEAR_API_KEY locally). None of either: such a project names a credential, or fails saying so."""

    credential: Credential | None = None
    key: str | None = None


class LinearCredentials:
    """Resolves Linear credentials: each secret read once a resolve."""

    def __init__(
        self,
        spec: Callable[[str], Credential | None],
        read_secret: Callable[[str], str],
        *,
        default: LinearDefault,
        url: str,
        write_secret: Callable[[str, str], None] | None = None,
        clock: Clock | None = None,
        user_agent: str = "tracker-intake",
    ) -> None:
        self._spec = spec
        self._read_secret = read_secret
        self._default = default
        self._url = url
        self._write_secret = write_secret
        self._clock = clock
        self._user_agent = user_agent
        self._lock = threading.Lock()
        self._held: dict[str, tuple[LinearTracker, LinearIssueWriter]] = {}

    def resolve(self, name: str) -> Resolved:
        spec = self._credential(name)
        secret = self._read_secret(spec.secret_arn) if spec is not None else ""
        key = self._key(spec, secret)
        held = key if spec is None else f"{key}:{hashlib.sha256(secret.encode()).hexdigest()}"
        with self._lock:
            known = self._held.get(held)
        if known is None:
            client = LinearClient(self._url, self._auth(spec, secret), clock=self._clock, user_agent=self._user_agent)
            known = (LinearTracker(client), LinearIssueWriter(client))
            with self._lock:
                self._held[held] = known
        tracker, writer = known
        return Resolved(name, key, tracker, writer)

    def key(self, name: str) -> str:
        spec = self._credential(name)
        return self._key(spec, self._read_secret(spec.secret_arn) if spec is not None else "")

    def _credential(self, name: str) -> Credential | None:
        """The Linear credential by name; None for the default that is a key of the caller's."""
        if name != DEFAULT_CREDENTIAL:
            return self._spec(name)
        if self._default.credential is None and self._default.key is None:
            raise TokenUnavailable(
                "this deployment has no default Linear credential: register one (kind linear-api-key or "
                "linear-oauth) and name it in trackerIntake.credential"
            )
        return self._default.credential

    def _key(self, spec: Credential | None, secret: str) -> str:
        if spec is None:
            return linear_key(self._default.key or "")
        if spec.kind is CredentialKind.LINEAR_OAUTH:
            return linear_key(f"oauth:{spec.secret_arn}")
        return linear_key(secret.strip())

    def _auth(self, spec: Credential | None, secret: str) -> LinearAuth:
        if spec is None:
            return ApiKey(self._default.key or "")
        if spec.kind is CredentialKind.LINEAR_API_KEY:
            key = secret.strip()
            if not key or any(c.isspace() for c in key):
                raise AuthFailed(f"the secret of the {spec.name} credential is not a Linear API key")
            return ApiKey(key)
        tokens, _ = tokens_from(spec.name, secret, "Linear")
        write, arn = self._write_secret, spec.secret_arn
        return OAuthApp(
            tokens,
            token_url=self._url.rsplit("/graphql", 1)[0] + "/oauth/token",
            on_refresh=None if write is None else lambda fresh: write(arn, secret_of(fresh)),
            clock=self._clock,
        )
