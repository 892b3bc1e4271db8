"""Who a request is from: API tokens (classic and scoped) and OAuth 2.0 (3LO) access tokens.

- Basic auth for REST APIs (https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/):
  `Authorization: Basic base64(email:api_token)` against the site, `https://<site>.atlassian.net`.
  A scoped API token goes through the API gateway instead,
  `https://api.atlassian.com/ex/jira/{cloudId}/rest/api/3/...`, with the same Basic header (the
  stand-in's reading of Atlassian's scoped-token notes, not re-checked against a page here).
- OAuth 2.0 (3LO) apps (https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/):
  `Authorization: Bearer <access_token>` against `https://api.atlassian.com/ex/jira/{cloudId}/...`
  only; the access token lasts an hour (`expires_in` 3600).
- Rotating refresh tokens (https://developer.atlassian.com/cloud/oauth/getting-started/refresh-tokens/):
  `POST https://auth.atlassian.com/oauth/token` with a JSON body `{"grant_type": "refresh_token",
  "client_id", "client_secret", "refresh_token"}` answers a new access token and a new refresh
  token, and "the refresh token you used for the request is disabled"; a disabled or unknown one
  is `403 {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}`.
  The access token it replaced keeps working until it expires (the page does not say otherwise).
  The stand-in also takes a form-encoded body. A wrong client id or secret: 401 `invalid_client`
  (RFC 6749's code; the page does not show one).
- The stand-in serves the one site, so `/ex/jira/{cloudId}` must name its cloudId (404 otherwise).
  A Bearer token on the site URL, or a classic token through the gateway, is refused (401).
- A refused credential: the site answers 401 with `Client must be authenticated to access this
  resource.` (text/plain), the gateway `{"code": 401, "message": "Unauthorized"}`; neither page
  shows the body, these are the bodies integrators commonly report. A refused request spends no limit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from .wire import Response, json_response

ACCESS_TOKEN_SECONDS = 3600
OAUTH_SCOPE = "read:jira-work write:jira-work read:jira-user offline_access"


@dataclass(frozen=True)
class Identity:
    """A credential that passed: whose it is, how it is logged, whose budget it spends."""

    kind: str  # "api_token", "scoped_token" or "oauth"
    account_id: str
    credential: str  # "<kind>:<sha256 prefix>": never the secret
    client_id: str | None = None  # the OAuth app

    @property
    def bucket(self) -> str:
        return f"oauth:{self.client_id}" if self.client_id else f"{self.kind}:{self.account_id}"


@dataclass(frozen=True)
class OAuthTokens:
    """What the token endpoint answers (and what `FakeJira.add_oauth_app` hands a test)."""

    access_token: str
    refresh_token: str
    expires_in: int = ACCESS_TOKEN_SECONDS
    scope: str = OAUTH_SCOPE
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret

    def json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_in": self.expires_in,
            "scope": self.scope,
            "token_type": self.token_type,
        }


@dataclass
class _ApiToken:
    account_id: str
    email: str
    scoped: bool


@dataclass
class _AccessToken:
    account_id: str
    client_id: str
    expires_at_ms: int


@dataclass
class _RefreshToken:
    account_id: str
    client_id: str
    disabled: bool = False


def fingerprint(kind: str, secret: str) -> str:
    return f"{kind}:{hashlib.sha256(secret.encode()).hexdigest()[:12]}"


def refused(gateway: bool) -> Response:
    if gateway:
        return json_response(401, {"code": 401, "message": "Unauthorized"})
    body = b"Client must be authenticated to access this resource."
    return Response(401, body, {"Content-Type": "text/plain;charset=UTF-8"})


class Credentials:
    """API tokens, OAuth apps and the tokens minted for them."""

    def __init__(self) -> None:
        self.api_tokens: dict[str, _ApiToken] = {}  # token -> owner
        self.apps: dict[str, str] = {}  # client id -> secret
        self.access: dict[str, _AccessToken] = {}
        self.refresh: dict[str, _RefreshToken] = {}

    def add_api_token(self, token: str, account_id: str, email: str, scoped: bool) -> None:
        self.api_tokens[token] = _ApiToken(account_id, email, scoped)

    def identify(self, authorization: str | None, gateway: bool, now_ms: int) -> Identity | None:
        """The identity behind an `Authorization` header on the site (`gateway` False) or the
        API gateway, or None when Jira would refuse it."""
        scheme, _, value = (authorization or "").strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and gateway:
            token = self.access.get(value)
            if token is None or token.expires_at_ms <= now_ms:
                return None
            return Identity("oauth", token.account_id, fingerprint("oauth", value), token.client_id)
        if scheme.lower() == "basic":
            return self._basic(value, gateway)
        return None

    def _basic(self, value: str, gateway: bool) -> Identity | None:
        try:
            email, _, token = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        owner = self.api_tokens.get(token)
        if owner is None or owner.email.casefold() != email.casefold() or owner.scoped != gateway:
            return None
        kind = "scoped_token" if owner.scoped else "api_token"
        return Identity(kind, owner.account_id, fingerprint(kind, token))

    def mint(self, client_id: str, account_id: str, now_ms: int) -> OAuthTokens:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.access[access] = _AccessToken(account_id, client_id, now_ms + ACCESS_TOKEN_SECONDS * 1000)
        self.refresh[refresh] = _RefreshToken(account_id, client_id)
        return OAuthTokens(access, refresh)

    def expire(self, access_token: str) -> None:
        if access_token in self.access:
            self.access[access_token].expires_at_ms = 0

    def token_endpoint(self, body: bytes, content_type: str, now_ms: int) -> Response:
        """`POST /oauth/token` with `grant_type=refresh_token`."""
        form = _form(body, content_type)
        client_id = str(form.get("client_id") or "")
        secret = self.apps.get(client_id)
        if secret is None or not secrets.compare_digest(secret, str(form.get("client_secret") or "")):
            return json_response(401, _oauth_error("invalid_client", "Client authentication failed."))
        if form.get("grant_type") != "refresh_token":
            return json_response(400, _oauth_error("unsupported_grant_type", "The stand-in serves refresh_token."))
        grant = self.refresh.get(str(form.get("refresh_token") or ""))
        if grant is None or grant.disabled or grant.client_id != client_id:
            return json_response(403, _oauth_error("invalid_grant", "Unknown or invalid refresh token."))
        grant.disabled = True
        return json_response(200, self.mint(client_id, grant.account_id, now_ms).json())


def _form(body: bytes, content_type: str) -> dict[str, Any]:
    text = body.decode("utf-8", "replace")
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {k: v[-1] for k, v in parse_qs(text).items()}
    try:
        payload = json.loads(text or "{}")
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _oauth_error(code: str, description: str) -> dict[str, str]:
    return {"error": code, "error_description": description}
