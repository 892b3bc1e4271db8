"""GitHub Apps: the app's JWT, its installations, and the installation tokens they mint
(https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from .faults import _Fault, _Faults
from .limits import _RateLimits
from .wire import _identity, _iso, _json, _not_found, _Response, _user

# GitHub Apps: a JWT may be used for ten minutes at most; an installation token for an hour.
JWT_MAX_SECONDS = 600
JWT_LEEWAY_SECONDS = 60  # the clock drift the stand-in forgives
INSTALLATION_TOKEN_SECONDS = 3600
JWT_UNREADABLE = "A JSON web token could not be decoded"
JWT_EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"
JWT_EXPIRED = (
    "'Expiration time' claim ('exp') must be a numeric value "
    "representing the future time at which the assertion expires"
)
JWT_BAD_IAT = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
# An installation's permissions unless `add_installation` says otherwise (reading issues only).
READ_ISSUES = {"issues": "read", "metadata": "read"}


@dataclass(frozen=True)
class _App:
    app_id: str
    public_key: RSAPublicKey


@dataclass(frozen=True)
class _Installation:
    installation_id: int
    app_id: str
    repos: frozenset[str]  # "owner/name", casefolded
    permissions: Mapping[str, str] = field(default_factory=lambda: dict(READ_ISSUES))


@dataclass
class _InstallationToken:
    installation_id: int
    expires_at: float  # the stand-in's clock


class _AppAuth(_Faults, _RateLimits):
    """The apps, their installations and the tokens minted for them."""

    _apps: dict[str, _App]
    _installations: dict[int, _Installation]
    _installation_tokens: dict[str, _InstallationToken]

    def _init_apps(self) -> None:
        self._apps = {}
        self._installations = {}
        self._installation_tokens = {}

    def add_app(self, app_id: str | int, public_key_pem: str | bytes) -> None:
        """A GitHub App: JWTs whose `iss` is `app_id` must verify with this RSA public key."""
        pem = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
        key = serialization.load_pem_public_key(pem)
        if not isinstance(key, RSAPublicKey):
            raise ValueError("a GitHub App's key is an RSA key")
        with self._lock:
            self._apps[str(app_id)] = _App(str(app_id), key)

    def add_installation(
        self,
        app_id: str | int,
        installation_id: int,
        repos: Iterable[str],
        limit: int | None = None,
        *,
        permissions: Mapping[str, str] | None = None,
    ) -> None:
        """The app installed on `repos` ("owner/name"), its tokens `limit` requests a window
        (default `primary_limit`); its first window opens at its tokens' first request.

        `permissions` (default `READ_ISSUES`) are served with the installation and its tokens;
        writing to an issue needs `{"issues": "write"}`.
        """
        with self._lock:
            if str(app_id) not in self._apps:
                raise ValueError(f"no app {app_id}: add_app first")
            if installation_id in self._installations:
                raise ValueError(f"installation {installation_id} exists already")
            covered = frozenset(name.casefold() for name in repos)
            granted = dict(permissions if permissions is not None else READ_ISSUES)
            self._installations[installation_id] = _Installation(installation_id, str(app_id), covered, granted)
            identity = _installation_identity(installation_id)
            self._limits[identity] = limit if limit is not None else self.primary_limit
            self._buckets.pop(identity, None)

    def set_installation_repos(self, installation_id: int, repos: Iterable[str]) -> None:
        """The installation now covers `repos` only; its tokens, minted or not, follow at once."""
        with self._lock:
            covered = frozenset(name.casefold() for name in repos)
            self._installations[installation_id] = replace(self._installations[installation_id], repos=covered)

    def set_installation_permissions(self, installation_id: int, permissions: Mapping[str, str]) -> None:
        """The installation's permissions change (the owner accepted new ones); its tokens follow at once."""
        with self._lock:
            granted = dict(permissions)
            self._installations[installation_id] = replace(self._installations[installation_id], permissions=granted)

    def uninstall(self, installation_id: int) -> None:
        """The app uninstalled: lookups and mints no longer find the installation, its tokens are 401."""
        with self._lock:
            del self._installations[installation_id]
            for token in self._installation_tokens.values():
                if token.installation_id == installation_id:
                    token.expires_at = min(token.expires_at, self.clock())

    def expire_installation_tokens(self) -> None:
        """Every installation token minted so far is expired from now on (401 Bad credentials)."""
        with self._lock:
            for token in self._installation_tokens.values():
                token.expires_at = min(token.expires_at, self.clock())

    def issued_installation_tokens(self) -> list[str]:
        """Every installation token minted so far, expired or not (what leak checks look for)."""
        with self._lock:
            return list(self._installation_tokens)

    def set_installation_rate_limit(self, installation_id: int, *, remaining: int, reset_in: int | None = None) -> None:
        """Set an installation's current window (see `set_rate_limit`); at 0 its tokens get
        GitHub's primary-limit 403 until it resets."""
        with self._lock:
            self._set_window(_installation_identity(installation_id), remaining, None, reset_in)

    def installation_rate_remaining(self, installation_id: int) -> int:
        with self._lock:
            return self._peek(_installation_identity(installation_id)).remaining

    def _identity_of(self, token: str | None) -> str:
        """Whose limits a request counts against: an installation's, an app's (a JWT), a token's."""
        issued = self._installation_tokens.get(token) if token is not None else None
        if issued is not None:
            return _installation_identity(issued.installation_id)
        issuer = _jwt_issuer(token)
        return f"app:{issuer}" if issuer is not None else _identity(token)

    def _as_app(
        self, method: str, kind: str, path: str, token: str | None, installation_id: int | None, fault: _Fault | None
    ) -> _Response:
        """The app's own endpoints, which take its JWT and nothing else."""
        app, refusal = self._verify_jwt(token)
        if app is None:
            return _json(401, {"message": refusal, "documentation_url": "https://docs.github.com/rest"})
        if fault is not None and fault.kind != "vanish_after_first_page":
            return self._fault_response(fault, self._window(f"app:{app.app_id}"), {}, token)
        if kind == "installation":
            if method != "GET":
                return _json(404, _not_found())
            parts = [unquote(p) for p in path[len(self.prefix) :].strip("/").split("/")]
            owner, name = parts[1], parts[2]
            for covering in self._installations.values():
                if covering.app_id == app.app_id and f"{owner}/{name}".casefold() in covering.repos:
                    return _json(200, self._installation_json(covering, owner))
            return _json(404, _not_found())
        installation = self._installations.get(installation_id) if installation_id is not None else None
        if method != "POST" or installation is None or installation.app_id != app.app_id:
            return _json(404, _not_found())
        value = "ghs_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))
        expires_at = self.clock() + INSTALLATION_TOKEN_SECONDS
        self._installation_tokens[value] = _InstallationToken(installation.installation_id, expires_at)
        body = {
            "token": value,
            "expires_at": _iso(datetime.fromtimestamp(expires_at, UTC)),
            "permissions": dict(installation.permissions),
            "repository_selection": "selected",
        }
        return _json(201, body)

    def _verify_jwt(self, token: str | None) -> tuple[_App | None, str]:
        """(the app, "") for a JWT GitHub would take, else (None, GitHub's reason)."""
        issuer = _jwt_issuer(token)
        app = self._apps.get(issuer) if issuer is not None else None
        if token is None or app is None:
            return None, JWT_UNREADABLE
        try:
            claims = jwt.decode(
                token,
                app.public_key,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            return None, JWT_UNREADABLE
        now = self.clock()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or iat > now + JWT_LEEWAY_SECONDS:
            return None, JWT_BAD_IAT
        if not isinstance(exp, int | float) or exp <= now:
            return None, JWT_EXPIRED
        if exp - now > JWT_MAX_SECONDS + JWT_LEEWAY_SECONDS or exp - iat > JWT_MAX_SECONDS + JWT_LEEWAY_SECONDS:
            return None, JWT_EXP_TOO_FAR
        return app, ""

    def _installation_json(self, installation: _Installation, owner: str) -> dict[str, Any]:
        app_id: int | str = int(installation.app_id) if installation.app_id.isdigit() else installation.app_id
        return {
            "id": installation.installation_id,
            "app_id": app_id,
            "app_slug": f"app-{installation.app_id}",
            "target_type": "Organization",
            "account": _user(owner, self.base_url),
            "repository_selection": "selected",
            "access_tokens_url": f"{self.base_url}/app/installations/{installation.installation_id}/access_tokens",
            "repositories_url": f"{self.base_url}/installation/repositories",
            "permissions": dict(installation.permissions),
            "events": [],
            "suspended_at": None,
        }


def _installation_identity(installation_id: int) -> str:
    return f"installation:{installation_id}"


def _jwt_issuer(token: str | None) -> str | None:
    """The `iss` of something shaped like a JWT (unverified), else None."""
    if token is None or token.count(".") != 2:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss")
    return str(issuer) if isinstance(issuer, str | int) and not isinstance(issuer, bool) else None
