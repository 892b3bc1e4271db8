"""GitHub App authentication: a JWT signed with the app's private key finds the installation that
covers a repository and mints that installation's tokens, which the tracker sends as `GitHubAuth`.

Installations and tokens are cached per container (module level, shared by every `GitHubApp` of
the same app and host); a token is replaced five minutes before it expires. Nothing here asks
`GET /user`: GitHub refuses it to installation tokens.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import jwt
import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from tracker_intake.adapters.github import API_VERSION, github_message, rate_limit_error, send
from tracker_intake.domain.errors import (
    AuthFailed,
    BadTrackerResponse,
    RepoNotFound,
    TrackerError,
    TrackerUnavailable,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

# GitHub: set `iat` 60 seconds in the past against clock drift, and `exp` no more than 10 minutes
# ahead; nine leaves a minute for a clock that runs ahead of GitHub's.
JWT_BACKDATE = timedelta(seconds=60)
JWT_LIFETIME = timedelta(minutes=9)
# An installation token lives an hour; one about to expire is replaced before a poll can need it.
TOKEN_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class _Token:
    value: str = field(repr=False)
    expires_at: datetime


# Per container: (api url, app id, "owner/repo") -> installation id, and
# (api url, app id, installation id) -> its token.
_installations: dict[tuple[str, str, str], int] = {}
_tokens: dict[tuple[str, str, int], _Token] = {}
_minting: dict[tuple[str, str, int], threading.Lock] = {}
_lock = threading.Lock()


def forget_cached_credentials() -> None:
    """Drop every cached installation id and token (tests; a container that must start afresh)."""
    with _lock:
        _installations.clear()
        _tokens.clear()


class GitHubApp:
    """One GitHub App on one GitHub host, authenticating as itself with short-lived JWTs."""

    def __init__(
        self,
        api_url: str,
        app_id: str,
        private_key_pem: str,
        *,
        user_agent: str = "tracker-intake",
        timeout: tuple[float, float] = (3.05, 10.0),
        session: requests.Session | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._api = api_url.rstrip("/")
        self.app_id = str(app_id).strip()
        self._pem = private_key_pem
        self._key: RSAPrivateKey | None = None  # read on the first JWT: a cold start signs nothing
        self._timeout = timeout
        self._session = session or requests.Session()
        self._now = now or (lambda: datetime.now(UTC))
        self._headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": user_agent,
        }

    def __repr__(self) -> str:  # never show the key
        return f"GitHubApp({self._api!r}, app_id={self.app_id!r})"

    # --- as the app ----------------------------------------------------------------------

    def jwt(self) -> str:
        """A JWT for the app's own endpoints: RS256, `iss` the app id, valid for nine minutes."""
        now = self._now()
        claims = {
            "iat": int((now - JWT_BACKDATE).timestamp()),
            "exp": int((now + JWT_LIFETIME).timestamp()),
            "iss": self.app_id,
        }
        try:
            return jwt.encode(claims, self._private_key(), algorithm="RS256")
        except (jwt.PyJWTError, ValueError, TypeError) as e:
            raise AuthFailed(f"the GitHub App {self.app_id}'s JWT could not be signed ({type(e).__name__})") from e

    def installation_for(self, owner: str, repo: str) -> int:
        """The id of the app's installation that covers `owner/repo` (`GET /repos/{o}/{r}/installation`)."""
        where = f"{owner}/{repo}"
        cache_key = (self._api, self.app_id, where.casefold())
        with _lock:
            known = _installations.get(cache_key)
        if known is not None:
            return known
        url = f"{self._api}/repos/{quote(owner, safe='')}/{quote(repo, safe='')}/installation"
        response, header = self._as_app("GET", url, where)
        if response.status_code == 404:
            raise RepoNotFound(f"the GitHub App {self.app_id} is not installed on {where} (or cannot see it)")
        if response.status_code != 200:
            raise self._error(response, where, header)
        installation_id = _field(_body(response, where), "id", int, where)
        with _lock:
            _installations[cache_key] = installation_id
        return installation_id

    def forget_installation_for(self, owner: str, repo: str) -> None:
        """Drop the cached installation of `owner/repo`: the next `installation_for` asks GitHub."""
        with _lock:
            _installations.pop((self._api, self.app_id, f"{owner}/{repo}".casefold()), None)

    def installation_auth(self, installation_id: int) -> InstallationAuth:
        """The credential of one installation: its tokens, minted and cached as needed."""
        return InstallationAuth(self, installation_id)

    def auth_for(self, owner: str, repo: str) -> InstallationAuth:
        """The credential of the installation that covers `owner/repo`."""
        return self.installation_auth(self.installation_for(owner, repo))

    # --- installation tokens -------------------------------------------------------------

    def _installation_token(self, installation_id: int) -> str:
        key = (self._api, self.app_id, installation_id)
        with _lock:
            token = _tokens.get(key)
            minting = _minting.setdefault(key, threading.Lock())
        if token is not None and self._fresh(token):
            return token.value
        with minting:  # one mint per installation at a time; the others take its token
            with _lock:
                token = _tokens.get(key)
            if token is None or not self._fresh(token):
                token = self._mint(installation_id)
                with _lock:
                    _tokens[key] = token
            return token.value

    def _forget_token(self, installation_id: int) -> None:
        with _lock:
            _tokens.pop((self._api, self.app_id, installation_id), None)

    def _fresh(self, token: _Token) -> bool:
        return self._now() < token.expires_at - TOKEN_MARGIN

    def _mint(self, installation_id: int) -> _Token:
        """`POST /app/installations/{id}/access_tokens`: a token for an hour."""
        where = f"installation {installation_id} of the GitHub App {self.app_id}"
        url = f"{self._api}/app/installations/{installation_id}/access_tokens"
        response, header = self._as_app("POST", url, where)
        if response.status_code == 404:
            self._forget_installation(installation_id)
            raise AuthFailed(
                f"the GitHub App {self.app_id} has no installation {installation_id} (was it uninstalled?)"
            )
        if response.status_code not in (200, 201):
            raise self._error(response, where, header)
        body = _body(response, where)
        value = _field(body, "token", str, where)
        expires_at = _field(body, "expires_at", str, where)
        try:
            moment = datetime.fromisoformat(expires_at)
        except ValueError as e:
            raise BadTrackerResponse(f"GitHub's token for {where} has an expires_at intake cannot read") from e
        logger.info("minted a token for %s", where)
        return _Token(value, moment if moment.tzinfo else moment.replace(tzinfo=UTC))

    def _forget_installation(self, installation_id: int) -> None:
        with _lock:
            for key in [k for k, v in _installations.items() if k[:2] == (self._api, self.app_id)]:
                if _installations[key] == installation_id:
                    del _installations[key]

    # --- requests ------------------------------------------------------------------------

    def _as_app(self, method: str, url: str, where: str) -> tuple[requests.Response, str]:
        """GitHub's answer to a request signed with a fresh JWT, and the header it was sent with."""
        header = f"Bearer {self.jwt()}"
        headers = {**self._headers, "Authorization": header}
        return send(self._session, method, url, headers=headers, timeout=self._timeout, where=where), header

    def _error(self, response: requests.Response, where: str, header: str) -> TrackerError:
        status = response.status_code
        said = github_message(response, header)
        detail = f" ({status}{': ' + said if said else ''})"
        if status == 401:
            return AuthFailed(
                f"the GitHub App's JWT was refused: check the app id ({self.app_id}) and private key; "
                f"asked for {where}{detail}"
            )
        if status in (403, 429):
            limited = rate_limit_error(response, said, where, self._now())
            if limited is not None:
                return limited
            return AuthFailed(f"GitHub refused the GitHub App {self.app_id} for {where}{detail}")
        if status >= 500:
            return TrackerUnavailable(f"GitHub is unavailable ({status}) for {where}")
        return BadTrackerResponse(f"GitHub answered {status} for {where}, which intake does not expect{detail}")

    def _private_key(self) -> RSAPrivateKey:
        if self._key is None:
            # A PEM kept in an environment variable or a JSON secret often has its newlines escaped.
            pem = self._pem if "\n" in self._pem.strip() else self._pem.replace("\\n", "\n")
            try:
                key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
            except (ValueError, TypeError, UnsupportedAlgorithm) as e:
                raise AuthFailed(
                    f"the GitHub App {self.app_id}'s private key cannot be read: "
                    "it must be the PEM file GitHub issued, without a passphrase"
                ) from e
            if not isinstance(key, RSAPrivateKey):
                raise AuthFailed(
                    f"the GitHub App {self.app_id}'s private key is not an RSA key, and GitHub Apps sign with RS256"
                )
            self._key = key
        return self._key


class InstallationAuth:
    """`GitHubAuth` of one installation of a GitHub App: `Bearer <installation token>`."""

    def __init__(self, app: GitHubApp, installation_id: int) -> None:
        self._app = app
        self.installation_id = installation_id
        self._key = f"app-{app.app_id}-{installation_id}"

    @property
    def key(self) -> str:
        return self._key

    def header(self) -> str | None:
        return f"Bearer {self._app._installation_token(self.installation_id)}"

    def refresh(self) -> bool:
        # A 401 means the token expired early or was revoked: the next header() mints another.
        self._app._forget_token(self.installation_id)
        return True

    def __repr__(self) -> str:
        return f"InstallationAuth(app_id={self._app.app_id!r}, installation_id={self.installation_id})"


def _body(response: requests.Response, where: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as e:
        raise BadTrackerResponse(f"GitHub's answer for {where} is not valid JSON") from e
    if not isinstance(body, dict):
        raise BadTrackerResponse(f"GitHub's answer for {where} is not a JSON object")
    return body


def _field(body: dict[str, Any], name: str, kind: type[T], where: str) -> T:
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BadTrackerResponse(f"GitHub's answer for {where} has no {name} intake can read")
    return value
