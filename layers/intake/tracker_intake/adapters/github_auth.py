"""What a GitHub request is authorized with: the `GitHubAuth` port of the GitHub adapters, and a
plain token's. GitHub App installations are in `github_app`.

A credential's `key` names its rate-limit budget and its concurrency gate; its secret leaves only
through `header()`, into the Authorization header.
"""

from __future__ import annotations

from typing import Protocol

from tracker_intake.adapters.github_token import token_key


class GitHubAuth(Protocol):
    """One GitHub credential, as the adapters send it."""

    @property
    def key(self) -> str:
        """Names the credential's rate budget without revealing it."""
        ...

    def header(self) -> str | None:
        """The Authorization header's value (None: anonymous), minted when needed.

        Minting may fail: it raises a `TrackerError` then, as a request would.
        """
        ...

    def refresh(self) -> bool:
        """After a 401: forget the cached credential; True when a fresh one is worth one more try."""
        ...


class TokenAuth:
    """A token as given (a personal access token, GITHUB_TOKEN), or none at all."""

    def __init__(self, token: str | None) -> None:
        self._token = token or None
        self._key = token_key(self._token)

    @property
    def key(self) -> str:
        return self._key

    def header(self) -> str | None:
        return f"Bearer {self._token}" if self._token else None

    def refresh(self) -> bool:
        return False  # nothing fresher to try: a refused token stays refused

    def __repr__(self) -> str:  # never show the token
        return f"TokenAuth({'set' if self._token else 'none'})"


def as_auth(auth: GitHubAuth | str | None) -> GitHubAuth:
    """A credential given as a bare token (or None) becomes a `TokenAuth`."""
    return TokenAuth(auth) if auth is None or isinstance(auth, str) else auth


def secret_of(header: str | None) -> str | None:
    """The secret in an Authorization header's value (`Bearer <secret>`), to scrub it from text."""
    if not header:
        return None
    secret = header.partition(" ")[2].strip()
    return secret or None
