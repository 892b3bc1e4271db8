"""Writes to an issue (comments, reactions, labels, an issue opened or edited), who writes them, and
who may (https://docs.github.com/rest/issues/comments#create-an-issue-comment,
https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from .apps import _AppAuth, _InstallationToken
from .base import _Writer
from .repos import FakeRepo
from .wire import CREATE_ISSUE_DOCS, UPDATE_ISSUE_DOCS, _json, _Response, _user

ISSUE_STATES = ("open", "closed")
LOCKING_DOCS = "https://docs.github.com/communities/moderating-comments-and-conversations/locking-conversations"
PERMISSION_DOCS = "https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user"
PERMISSION_REFUSED = "Must have push access to view collaborator permission."
REACTION_CONTENTS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
# Who writes when a plain token does not say: the stand-in's tokens belong to this collaborator.
DEFAULT_LOGIN = "intake-bot"
# GitHub answers an app that comments on a locked issue so (write access lets people comment,
# an integration's issues: write does not).
LOCKED_COMMENT = "Unable to create comment because issue is locked."
# GitHub documents that reactions on a locked conversation are disabled for everyone, but not
# the REST answer's words: these are the stand-in's.
LOCKED_REACTION = "Unable to create reaction because issue is locked."


class _Writes(_AppAuth):
    """Who a token writes as, whether it may, and the writes themselves, validated as GitHub does."""

    _logins: dict[str, str]
    _read_only: set[str]

    def _init_writes(self, logins: Mapping[str, str] | None, read_only_tokens: Iterable[str]) -> None:
        # A plain token writes as its login (DEFAULT_LOGIN unless mapped); a read-only one cannot.
        self._logins = dict(logins or {})
        self._read_only = set(read_only_tokens)

    def set_login(self, token: str, login: str) -> None:
        """What `token` writes as (a plain token writes as DEFAULT_LOGIN unless mapped)."""
        with self._lock:
            self._logins[token] = login

    def set_read_only(self, token: str, read_only: bool = True) -> None:
        """A read-only token reads as before; its writes are GitHub's 403 for a token without access."""
        with self._lock:
            if read_only:
                self._read_only.add(token)
            else:
                self._read_only.discard(token)

    def _writer(self, token: str | None) -> _Writer:
        issued = self._installation_tokens.get(token) if token is not None else None
        if issued is not None:
            installation = self._installations.get(issued.installation_id)
            app_id = installation.app_id if installation is not None else "0"
            return _Writer(f"app-{app_id}[bot]", app_id)
        return _Writer(self._logins.get(token or "", DEFAULT_LOGIN))

    def _write_refusal(self, token: str | None, issued: _InstallationToken | None, docs: str) -> _Response | None:
        """GitHub's 403 for a credential that may read the repository but not write to its issues."""
        if issued is not None:
            installation = self._installations[issued.installation_id]
            if installation.permissions.get("issues") != "write":
                return _json(
                    403,
                    {"message": "Resource not accessible by integration", "documentation_url": docs, "status": "403"},
                )
        elif token in self._read_only:
            return _json(
                403,
                {
                    "message": "Resource not accessible by personal access token",
                    "documentation_url": docs,
                    "status": "403",
                },
            )
        return None

    def _collaborator_permission(
        self, repo: FakeRepo, path: str, token: str | None, issued: _InstallationToken | None
    ) -> _Response:
        """GitHub's answer on one login's permission; its 403 to a credential whose user cannot push."""
        if issued is None and (token is None or token in self._read_only):
            return _json(403, {"message": PERMISSION_REFUSED, "documentation_url": PERMISSION_DOCS, "status": "403"})
        login = unquote(path.rstrip("/").split("/")[-2])
        role, permission = repo.permission_of(login)
        level = ("read", "triage", "write", "maintain", "admin")
        held = level.index(role) if role in level else level.index(permission) if permission != "none" else -1
        user = {
            **_user(login, self.base_url),
            "permissions": {
                "admin": held >= 4,
                "maintain": held >= 3,
                "push": held >= 2,
                "triage": held >= 1,
                "pull": held >= 0,
            },
            "role_name": role,
        }
        return _json(200, {"permission": permission, "role_name": role, "user": user})

    def _write_to_issue(
        self, kind: str, repo: FakeRepo, number: int, raw: bytes, writer: _Writer, docs: str
    ) -> _Response:
        """A comment, a reaction or labels written to an existing issue, validated as GitHub does."""
        try:
            payload = json.loads(raw) if raw.strip() else None
        except ValueError:
            return _json(400, {"message": "Problems parsing JSON", "documentation_url": docs, "status": "400"})
        locked = repo._issues[number]["locked"]
        if kind == "issue_comments":
            text = payload.get("body") if isinstance(payload, dict) else None
            if not isinstance(text, str) or not text:
                return _invalid("IssueComment", "body", docs)
            if locked and writer.is_bot:
                return _json(403, {"message": LOCKED_COMMENT, "documentation_url": LOCKING_DOCS})
            comment = repo._comment(number, text, writer)
            return _json(201, comment, {"Location": comment["url"]})
        if kind == "issue_reactions":
            content = payload.get("content") if isinstance(payload, dict) else None
            if content not in REACTION_CONTENTS:
                return _invalid("Reaction", "content", docs)
            if locked:
                return _json(403, {"message": LOCKED_REACTION, "documentation_url": LOCKING_DOCS})
            reaction, created = repo._react(number, str(content), writer)
            return _json(201 if created else 200, reaction)
        names = _label_names_given(payload)
        if names is None:
            return _invalid("Label", "labels", docs)
        return _json(200, repo._add_labels(number, names))

    def _open_issue(self, repo: FakeRepo, raw: bytes, writer: _Writer) -> _Response:
        """Create an issue as GitHub does (CREATE_ISSUE_DOCS): `title` is required; the writer is its author."""
        payload = _parsed(raw)
        if not isinstance(payload, dict):
            return _unparsable(CREATE_ISSUE_DOCS)
        fields = _issue_fields(payload, CREATE_ISSUE_DOCS)
        if isinstance(fields, _Response):
            return fields
        if "title" not in fields:
            return _invalid("Issue", "title", CREATE_ISSUE_DOCS)
        labels = [repo.label(name)["name"] for name in fields.get("labels", [])]
        issue = repo.add_issue(
            str(fields["title"]),
            labels=dict.fromkeys(labels),
            assignees=fields.get("assignees", []),
            body=str(fields.get("body") or ""),
            # GitHub's moment, not the stand-in's simulated `_tick`: a poll compares it with its own.
            created_at=datetime.fromtimestamp(self.clock(), UTC),
            user=writer.login,
        )
        return _json(201, issue, {"Location": issue["url"]})

    def _edit_issue(self, repo: FakeRepo, number: int, raw: bytes) -> _Response:
        """Update an issue as GitHub does (UPDATE_ISSUE_DOCS): only the fields sent change."""
        payload = _parsed(raw)
        if not isinstance(payload, dict):
            return _unparsable(UPDATE_ISSUE_DOCS)
        fields = _issue_fields(payload, UPDATE_ISSUE_DOCS)
        if isinstance(fields, _Response):
            return fields
        if "labels" in fields:
            fields["labels"] = list(dict.fromkeys(repo.label(name)["name"] for name in fields["labels"]))
        if "body" in fields:
            fields["body"] = fields["body"] or ""
        return _json(200, repo.update_issue(number, **fields) if fields else repo._render(repo._issues[number]))


def _invalid(resource: str, name: str, docs: str) -> _Response:
    """GitHub's 422 for a write whose field is missing or not one it takes."""
    error = {"resource": resource, "code": "invalid", "field": name}
    return _json(422, {"message": "Validation Failed", "errors": [error], "documentation_url": docs, "status": "422"})


def _label_names_given(payload: Any) -> list[str] | None:
    """The names an add-labels body carries, in any form GitHub takes, or None if it is not one.

    GitHub takes `{"labels": [...]}`, a bare array, either with names or `{"name": ...}`
    objects, and a single name as a string.
    """
    if isinstance(payload, str):
        return [payload] if payload else None
    given = payload.get("labels") if isinstance(payload, dict) else payload
    if isinstance(given, str):
        given = [given]
    if not isinstance(given, list):
        return None
    names = [item.get("name") if isinstance(item, dict) else item for item in given]
    if not all(isinstance(name, str) and name for name in names):
        return None
    return [str(name) for name in names]


_NOT_JSON = object()


def _parsed(raw: bytes) -> Any:
    """The JSON body (an empty one is `{}`), `_NOT_JSON` when it is not JSON."""
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError:
        return _NOT_JSON


def _unparsable(docs: str) -> _Response:
    return _json(400, {"message": "Problems parsing JSON", "documentation_url": docs, "status": "400"})


def _issue_fields(payload: Mapping[str, Any], docs: str) -> dict[str, Any] | _Response:
    """The issue fields a create or update body sets, checked as GitHub's schema types them (a 422
    naming the first that is not); the fields GitHub takes and the stand-in does not serve
    (`milestone`, `type`...) are ignored."""
    fields: dict[str, Any] = {}
    checks: dict[str, Callable[[Any], bool]] = {
        # GitHub's schema: a string or an integer, never empty.
        "title": lambda v: (isinstance(v, str) and bool(v.strip())) or (isinstance(v, int) and not isinstance(v, bool)),
        "body": lambda v: v is None or isinstance(v, str),
        "state": lambda v: v in ISSUE_STATES,
        "assignees": lambda v: isinstance(v, list) and all(isinstance(a, str) and a for a in v),
        "labels": lambda v: isinstance(v, list) and _label_names_given(v) is not None,
    }
    for name, valid in checks.items():
        if name not in payload:
            continue
        value = payload[name]
        if not valid(value):
            return _invalid("Issue", name, docs)
        fields[name] = _label_names_given(value) if name == "labels" else value
    if "title" in fields:
        fields["title"] = str(fields["title"])
    return fields
