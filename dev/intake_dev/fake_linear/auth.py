"""Who a request is from: personal API keys and OAuth 2.0 tokens.

- https://linear.app/developers/graphql ("Authentication"): a personal API key goes bare,
  `Authorization: <API_KEY>`; an OAuth access token as `Authorization: Bearer <ACCESS_TOKEN>`.
- https://linear.app/developers/oauth-2-0-authentication: an access token from the authorization
  code exchange lasts 24 hours (`expires_in` 86399) and comes with a refresh token; `POST
  /oauth/token` with `grant_type=refresh_token` (form-encoded; the client's id and secret as
  parameters or HTTP Basic) answers "a new valid access token and a new refresh token"
  (`access_token`, `token_type` "Bearer", `expires_in`, `scope` "read write", `refresh_token`).
  The stand-in takes that as rotation: a refresh token works once. The access token it replaced
  keeps working until it expires (the page does not say it is revoked).
- A bad or missing credential: the docs show no answer; the stand-in answers what integrators
  report Linear sends, `{"errors": [{"message": "Authentication required, not authenticated",
  "extensions": {"code": "AUTHENTICATION_ERROR", "type": "authentication error", ...}}]}`, with
  HTTP 401 unless `auth_error_status` says otherwise. It spends no rate limit.
- The stand-in serves only `grant_type=refresh_token` (no authorization code, PKCE or
  client_credentials flow): `FakeLinear.add_oauth_app` stands for an app a user has authorized.
- Token endpoint errors use RFC 6749's codes (`invalid_client` 401, `invalid_grant`,
  `invalid_request`, `unsupported_grant_type` 400); Linear's page shows only the shape
  `{"error": ..., "error_description": ...}`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

OAUTH_DOCS = "https://linear.app/developers/oauth-2-0-authentication"
ACCESS_TOKEN_SECONDS = 86_399
OAUTH_SCOPE = "read write"


@dataclass(frozen=True)
class Identity:
    """A request's credential once it has passed: whose budget it spends, under which name it is logged."""

    kind: str  # "api_key" or "oauth"
    user_id: str
    credential: str  # "api_key:<sha256 prefix>" or "oauth:<sha256 prefix>": never the secret

    @property
    def bucket(self) -> str:
        return f"{self.kind}:{self.user_id}"


@dataclass(frozen=True)
class OAuthTokens:
    """What the token endpoint answers (and what `FakeLinear.add_oauth_app` hands a test)."""

    access_token: str
    refresh_token: str
    expires_in: int
    scope: str = OAUTH_SCOPE
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret

    def json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "scope": self.scope,
            "refresh_token": self.refresh_token,
        }


@dataclass
class _AccessToken:
    user_id: str
    client_id: str
    expires_at_ms: int


@dataclass
class _RefreshToken:
    user_id: str
    client_id: str
    used: bool = False


@dataclass(frozen=True)
class OAuthApp:
    client_id: str
    secret: str


def fingerprint(kind: str, secret: str) -> str:
    return f"{kind}:{hashlib.sha256(secret.encode()).hexdigest()[:12]}"


def authentication_error() -> dict[str, Any]:
    return {
        "message": "Authentication required, not authenticated",
        "extensions": {
            "code": "AUTHENTICATION_ERROR",
            "type": "authentication error",
            "statusCode": 401,
            "userError": True,
            "userPresentableMessage": "You need to authenticate to access this operation.",
        },
    }


class Credentials:
    """API keys, OAuth apps and the tokens minted for them."""

    def __init__(self) -> None:
        self.api_keys: dict[str, str] = {}  # key -> user id
        self.apps: dict[str, OAuthApp] = {}
        self.access: dict[str, _AccessToken] = {}
        self.refresh: dict[str, _RefreshToken] = {}

    def identify(self, authorization: str | None, now_ms: int) -> Identity | None:
        """The identity behind an `Authorization` header, or None when Linear would refuse it."""
        if not authorization or not authorization.strip():
            return None
        scheme, _, rest = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and rest.strip():
            token = self.access.get(rest.strip())
            if token is None or token.expires_at_ms <= now_ms:
                return None
            return Identity("oauth", token.user_id, fingerprint("oauth", rest.strip()))
        user_id = self.api_keys.get(authorization.strip())
        if user_id is None:
            return None
        return Identity("api_key", user_id, fingerprint("api_key", authorization.strip()))

    def mint(self, client_id: str, user_id: str, now_ms: int) -> OAuthTokens:
        access, refresh = secrets.token_hex(32), secrets.token_hex(32)
        self.access[access] = _AccessToken(user_id, client_id, now_ms + ACCESS_TOKEN_SECONDS * 1000)
        self.refresh[refresh] = _RefreshToken(user_id, client_id)
        return OAuthTokens(access, refresh, ACCESS_TOKEN_SECONDS)

    def expire(self, access_token: str) -> None:
        if access_token in self.access:
            self.access[access_token].expires_at_ms = 0

    def token_endpoint(self, body: bytes, headers: dict[str, str], now_ms: int) -> tuple[int, dict[str, Any]]:
        """`POST /oauth/token`: (status, JSON body)."""
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return 400, _oauth_error("invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        client_id, secret = _client(form, headers.get("authorization"))
        app = self.apps.get(client_id or "")
        if app is None or not secrets.compare_digest(app.secret, secret or ""):
            return 401, _oauth_error("invalid_client", "Client authentication failed")
        if form.get("grant_type") != "refresh_token":
            return 400, _oauth_error("unsupported_grant_type", "The stand-in serves grant_type=refresh_token")
        return self._refreshed(app, form.get("refresh_token"), now_ms)

    def _refreshed(self, app: OAuthApp, refresh_token: str | None, now_ms: int) -> tuple[int, dict[str, Any]]:
        grant = self.refresh.get(refresh_token or "")
        if grant is None or grant.used or grant.client_id != app.client_id:
            return 400, _oauth_error("invalid_grant", "The refresh token is invalid, used or revoked")
        grant.used = True
        return 200, self.mint(app.client_id, grant.user_id, now_ms).json()


def _client(form: dict[str, str], authorization: str | None) -> tuple[str | None, str | None]:
    """The client's id and secret: HTTP Basic, or the form's `client_id` and `client_secret`."""
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip()).decode()
        except (ValueError, UnicodeDecodeError):
            return None, None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return form.get("client_id"), form.get("client_secret")


def _oauth_error(code: str, description: str) -> dict[str, Any]:
    return {"error": code, "error_description": description}


def app_user_email(client_id: str) -> str:
    """The email the stand-in gives an OAuth app's app user (actor=app)."""
    return f"{client_id}@oauthapp.linear.app"
