"""An OAuth app's tokens, as Linear's and Atlassian's OAuth 2.0 apps hold them: sent as `Bearer`,
refreshed with a refresh token that each refresh rotates, and kept in their Secrets Manager secret
as JSON (`accessToken`, `refreshToken`, `clientId`, `clientSecret`, `expiresAt`, and what the
tracker adds: Jira's `cloudId`).

Linear: https://linear.app/developers/oauth-2-0-authentication (a form-encoded refresh);
Atlassian: https://developer.atlassian.com/cloud/oauth/getting-started/refresh-tokens/ (JSON).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tracker_intake.domain.errors import AuthFailed, TrackerUnavailable
from tracker_intake.domain.ports import Clock

LINEAR_TOKEN_URL = "https://api.linear.app/oauth/token"  # noqa: S105 (an endpoint, not a secret)


@dataclass
class OAuthTokens:
    access_token: str
    refresh_token: str | None
    client_id: str
    client_secret: str
    expires_at: datetime | None = None

    def __repr__(self) -> str:
        return f"OAuthTokens(client_id={self.client_id!r}, ***)"


class OAuthApp:
    """An OAuth app's access token, sent as `Bearer`, refreshed with its refresh token when it
    has expired or Linear refuses it (https://linear.app/developers/oauth-2-0-authentication:
    `POST /oauth/token`, `grant_type=refresh_token`). Linear rotates the refresh token: each
    refresh's tokens are handed to `on_refresh`, which keeps them (the secret)."""

    def __init__(
        self,
        tokens: OAuthTokens,
        *,
        token_url: str = LINEAR_TOKEN_URL,
        on_refresh: Callable[[OAuthTokens], None] | None = None,
        session: requests.Session | None = None,
        clock: Clock | None = None,
        timeout: tuple[float, float] = (3.05, 10.0),
        json_body: bool = False,
    ) -> None:
        # Linear's token endpoint takes a form; Atlassian's documents a JSON body.
        self._json_body = json_body
        self._tokens = tokens
        self._token_url = token_url
        self._on_refresh = on_refresh
        self._session = session or requests.Session()
        self._clock = clock
        self._timeout = timeout
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OAuthApp({self._token_url!r}, ***)"

    def header(self) -> str:
        expires = self._tokens.expires_at
        if expires is not None and expires <= self._now() + timedelta(seconds=30):
            self.refresh()
        return f"Bearer {self._tokens.access_token}"

    def refresh(self) -> bool:
        with self._lock:
            if not self._tokens.refresh_token:
                return False
            form = {
                "grant_type": "refresh_token",
                "refresh_token": self._tokens.refresh_token,
                "client_id": self._tokens.client_id,
                "client_secret": self._tokens.client_secret,
            }
            try:
                if self._json_body:
                    response = self._session.post(self._token_url, json=form, timeout=self._timeout)
                else:
                    response = self._session.post(self._token_url, data=form, timeout=self._timeout)
                body = response.json()
            except (requests.RequestException, ValueError) as e:
                raise TrackerUnavailable(f"Linear's token endpoint failed: {type(e).__name__}", retryable=True) from e
            if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
                raise AuthFailed(f"Linear refused to refresh the OAuth app's token ({response.status_code})")
            expires_in = body.get("expires_in")
            self._tokens = OAuthTokens(
                access_token=str(body["access_token"]),
                refresh_token=str(body.get("refresh_token") or self._tokens.refresh_token),
                client_id=self._tokens.client_id,
                client_secret=self._tokens.client_secret,
                expires_at=self._now() + timedelta(seconds=int(expires_in)) if isinstance(expires_in, int) else None,
            )
            if self._on_refresh is not None:
                self._on_refresh(self._tokens)
            return True

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)


def tokens_from(
    name: str, secret: str, tracker: str, *, extra: tuple[str, ...] = ()
) -> tuple[OAuthTokens, dict[str, str]]:
    """An OAuth credential's secret read: its tokens, and the `extra` fields it must hold too
    (Jira's `cloudId`). AuthFailed naming the credential when it is not that JSON."""
    try:
        data = json.loads(secret)
        expires = data.get("expiresAt")
        tokens = OAuthTokens(
            access_token=str(data["accessToken"]),
            refresh_token=data.get("refreshToken"),
            client_id=str(data["clientId"]),
            client_secret=str(data["clientSecret"]),
            expires_at=datetime.fromisoformat(expires) if isinstance(expires, str) else None,
        )
        return tokens, {field: str(data[field]) for field in extra}
    except (ValueError, KeyError, TypeError, AttributeError):
        fields = ", ".join(("accessToken", "refreshToken", "clientId", "clientSecret", *extra))
        raise AuthFailed(
            f"the secret of the {name} credential is not a {tracker} OAuth app's tokens (JSON with {fields})"
        ) from None


def secret_of(tokens: OAuthTokens, extra: dict[str, str] | None = None) -> str:
    """The tokens as their secret keeps them (what `tokens_from` reads back)."""
    data: dict[str, Any] = {
        "accessToken": tokens.access_token,
        "refreshToken": tokens.refresh_token,
        "clientId": tokens.client_id,
        "clientSecret": tokens.client_secret,
        **(extra or {}),
        "expiresAt": tokens.expires_at.isoformat() if tokens.expires_at else None,
    }
    return json.dumps(data)
