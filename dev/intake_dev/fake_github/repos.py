"""One repository of the stand-in: its issues, labels, comments, reactions and roles, and how GitHub
renders each (https://docs.github.com/rest/issues/issues)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tracker_intake.domain.issue import label_names

from .base import _Writer
from .wire import _iso, _parse_since, _user

if TYPE_CHECKING:
    from .server import FakeGitHub

# A role's base permission, as `permission` reports it (GitHub maps maintain to write, triage to read).
BASE_PERMISSIONS = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}

_LABEL_COLORS = {
    "bug": "d73a4a",
    "documentation": "0075ca",
    "duplicate": "cfd3d7",
    "enhancement": "a2eeef",
    "good first issue": "7057ff",
    "help wanted": "008672",
    "in-progress": "fbca04",
    "in-review": "0e8a16",
    "agent": "5319e7",
}


class FakeRepo:
    """One repository of the stand-in. Mutations are thread-safe and change its ETags."""

    def __init__(
        self,
        github: FakeGitHub,
        owner: str,
        name: str,
        repo_id: int,
        *,
        weak_etags: bool,
        private: bool,
        has_issues: bool,
    ) -> None:
        self._github = github
        self.owner = owner
        self.name = name
        self.repo_id = repo_id
        self.weak_etags = weak_etags
        self.private = private
        self.has_issues = has_issues
        self._issues: dict[int, dict[str, Any]] = {}
        self._labels: dict[str, dict[str, Any]] = {}
        self._comments: dict[int, list[dict[str, Any]]] = {}  # by issue number, oldest first
        self._reactions: dict[int, list[dict[str, Any]]] = {}
        # login (casefolded) -> (role_name, base permission)
        self._roles: dict[str, tuple[str, str]] = {}

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def __repr__(self) -> str:
        return f"FakeRepo({self.full_name!r}, id={self.repo_id}, issues={len(self._issues)})"

    # --- issues ----------------------------------------------------------------------

    def add_issue(
        self,
        title: str,
        *,
        number: int | None = None,
        labels: Iterable[str | Mapping[str, Any]] = (),
        assignees: Iterable[str] = (),
        body: str = "",
        state: str = "open",
        pull_request: bool = False,
        created_at: datetime | None = None,
        user: str = "octocat",
        author_association: str | None = None,
        comments: int = 0,
        labels_as_strings: bool = False,
        locked: bool = False,
    ) -> dict[str, Any]:
        """Add an issue (or a pull request) and return it as GitHub would list it.

        A label given as a string becomes a label object in GitHub's schema; a mapping is
        served exactly as given. `labels_as_strings` serves the names as bare strings.
        `author_association` is served as given (`update_issue` can change it, as GitHub's
        answer changes when the author joins or leaves); by default it is OWNER for the
        repository's owner and COLLABORATOR for anyone else: the stand-in's authors can write
        to the repository unless a test says otherwise. A `locked` issue takes comments only
        from people with write access, and reactions from nobody.
        """
        with self._github._lock:
            if number is None:
                number = max(self._issues, default=0) + 1
            if number in self._issues:
                raise ValueError(f"{self.full_name} already has #{number}")
            created = created_at or self._github._tick()
            self._issues[number] = {
                "number": number,
                "title": title,
                "body": body,
                "state": state,
                "labels": list(labels),
                "labels_as_strings": labels_as_strings,
                "assignees": list(assignees),
                "pull_request": pull_request,
                "created_at": created,
                "updated_at": created,
                "closed_at": created if state == "closed" else None,
                "user": user,
                "author_association": author_association,
                "comments": comments,
                "locked": locked,
                "id": self._github._next_issue_id(),
            }
            return self._render(self._issues[number])

    def update_issue(self, number: int, **changes: Any) -> dict[str, Any]:
        """Change fields (title, body, labels, assignees, state, comments, ...); bumps updated_at."""
        with self._github._lock:
            stored = self._issues[number]
            unknown = set(changes) - set(stored) - {"pull_request"}
            if unknown:
                raise TypeError(f"unknown issue fields: {sorted(unknown)}")
            for key, value in changes.items():
                stored[key] = list(value) if key in ("labels", "assignees") else value
            self._bump(stored)
            if "state" in changes:
                stored["closed_at"] = stored["updated_at"] if changes["state"] == "closed" else None
            return self._render(stored)

    def close_issue(self, number: int) -> dict[str, Any]:
        return self.update_issue(number, state="closed")

    def reopen_issue(self, number: int) -> dict[str, Any]:
        return self.update_issue(number, state="open")

    def delete_issue(self, number: int) -> None:
        """The issue disappears from every list (deleted or transferred)."""
        with self._github._lock:
            del self._issues[number]

    def issue(self, number: int) -> dict[str, Any]:
        with self._github._lock:
            return self._render(self._issues[number])

    def issues(self) -> list[dict[str, Any]]:
        """Every issue and pull request, open or closed, by number."""
        with self._github._lock:
            return [self._render(self._issues[n]) for n in sorted(self._issues)]

    def label(self, name: str, *, color: str | None = None, description: str | None = None) -> dict[str, Any]:
        """The repository's label object for `name` (created on first use, like GitHub's UI)."""
        with self._github._lock:
            key = name.casefold()
            if key not in self._labels:
                digest = hashlib.sha256(f"{self.full_name}:{key}".encode()).hexdigest()
                label_id = int(digest[:8], 16)
                self._labels[key] = {
                    "id": label_id,
                    "node_id": f"LA_kwDO{label_id:010d}",
                    "url": f"{self._api}/labels/{quote(name, safe='')}",
                    "name": name,
                    "color": color or _LABEL_COLORS.get(key, digest[8:14]),
                    "default": key in _LABEL_COLORS and key not in ("agent", "in-progress", "in-review"),
                    "description": description,
                }
            return dict(self._labels[key])

    # --- comments, reactions, labels written to an issue -------------------------------

    def add_comment(self, number: int, body: str, *, user: str = "octocat") -> dict[str, Any]:
        """A comment by `user` on issue `number`, as if written on GitHub; returns it as served."""
        with self._github._lock:
            # Seeded as written earlier: the stand-in's own (advancing) clock, a moment apart each.
            return self._comment(number, body, _Writer(user), at=self._github._tick())

    def comments(self, number: int) -> list[dict[str, Any]]:
        """Issue `number`'s comments as GitHub serves them, oldest first."""
        with self._github._lock:
            return [self._render_comment(number, c) for c in self._comments.get(number, [])]

    def reactions(self, number: int) -> list[dict[str, Any]]:
        """The reactions on issue `number` (not on its comments), oldest first."""
        with self._github._lock:
            return [self._render_reaction(r) for r in self._reactions.get(number, [])]

    def _comment(self, number: int, body: str, writer: _Writer, at: datetime | None = None) -> dict[str, Any]:
        stored = self._issues[number]
        self._bump(stored)
        # Written over HTTP: stamped with the server's clock, as GitHub stamps what is written to
        # it, so a client that lists comments `since` the moment it wrote (by its clock) finds them.
        at = at or datetime.fromtimestamp(self._github.clock(), UTC)
        comment = {"id": self._github._next_write_id(), "body": body, "writer": writer, "at": at}
        self._comments.setdefault(number, []).append(comment)
        stored["comments"] += 1
        return self._render_comment(number, comment)

    def _react(self, number: int, content: str, writer: _Writer) -> tuple[dict[str, Any], bool]:
        """(the reaction, whether it is new): one of each content per user and issue."""
        reactions = self._reactions.setdefault(number, [])
        for reaction in reactions:
            if reaction["content"] == content and reaction["writer"].login.casefold() == writer.login.casefold():
                return self._render_reaction(reaction), False
        # A reaction does not touch the issue's updated_at, so the listing's ETag holds.
        reaction = {"id": self._github._next_write_id(), "content": content, "writer": writer}
        reaction["at"] = datetime.fromtimestamp(self._github.clock(), UTC)
        reactions.append(reaction)
        return self._render_reaction(reaction), True

    def _add_labels(self, number: int, names: list[str]) -> list[dict[str, Any]]:
        """Add `names` to the issue's labels (an empty list removes them all); the issue's labels."""
        stored = self._issues[number]
        have = {name.casefold() for name in label_names(stored["labels"])}
        added = [self.label(name)["name"] for name in names if name.casefold() not in have]
        if not names and stored["labels"]:
            stored["labels"] = []
            self._bump(stored)
        elif added:
            stored["labels"] = [*stored["labels"], *dict.fromkeys(added)]
            self._bump(stored)
        return [self.label(item) if isinstance(item, str) else dict(item) for item in stored["labels"]]

    def _bump(self, stored: dict[str, Any]) -> datetime:
        moment: datetime = max(self._github._tick(), stored["updated_at"] + timedelta(seconds=1))
        stored["updated_at"] = moment
        return moment

    def _render_comment(self, number: int, comment: Mapping[str, Any]) -> dict[str, Any]:
        writer: _Writer = comment["writer"]
        kind = "pull" if self._issues[number]["pull_request"] else "issues"
        if writer.is_bot:
            association = "NONE"
        else:
            association = "OWNER" if writer.login.casefold() == self.owner.casefold() else "COLLABORATOR"
        return {
            "id": comment["id"],
            "node_id": f"IC_kwDO{comment['id']:012d}",
            "url": f"{self._api}/issues/comments/{comment['id']}",
            "html_url": f"{self._github.html_base}/{self.full_name}/{kind}/{number}#issuecomment-{comment['id']}",
            "body": comment["body"],
            "user": self._github._user_of(writer),
            "created_at": _iso(comment["at"]),
            "updated_at": _iso(comment["at"]),
            "issue_url": f"{self._api}/issues/{number}",
            "author_association": association,
            "performed_via_github_app": self._github._app_json(writer.app_id) if writer.app_id else None,
        }

    def _render_reaction(self, reaction: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": reaction["id"],
            "node_id": f"REA_lATO{reaction['id']:012d}",
            "user": self._github._user_of(reaction["writer"]),
            "content": reaction["content"],
            "created_at": _iso(reaction["at"]),
        }

    # --- who may write ----------------------------------------------------------------

    def set_permission(self, login: str, role: str | None, *, base: str | None = None) -> None:
        """`login`'s role on the repository: `admin`, `maintain`, `write`, `triage`, `read`, or a
        custom role named with its `base` (one of those); None takes it away (`none`)."""
        with self._github._lock:
            if role is None:
                self._roles.pop(login.casefold(), None)
                return
            permission = BASE_PERMISSIONS.get(base or role)
            if permission is None:
                raise ValueError(f"{role!r} needs a base role: one of {', '.join(BASE_PERMISSIONS)}")
            self._roles[login.casefold()] = (role, permission)

    def permission_of(self, login: str) -> tuple[str, str]:
        """(role_name, permission) as GitHub answers them for `login`."""
        with self._github._lock:
            if login.casefold() == self.owner.casefold():
                return "admin", "admin"
            return self._roles.get(login.casefold(), ("none", "none"))

    # --- what GitHub would answer ----------------------------------------------------

    @property
    def _api(self) -> str:
        return f"{self._github.base_url}/repos/{self.full_name}"

    def _render(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        number = stored["number"]
        kind = "pull" if stored["pull_request"] else "issues"
        labels: list[Any] = []
        for item in stored["labels"]:
            if isinstance(item, str):
                labels.append(item if stored["labels_as_strings"] else self.label(item))
            else:
                labels.append(dict(item))
        assignees = [_user(login, self._github.base_url) for login in stored["assignees"]]
        issue: dict[str, Any] = {
            "url": f"{self._api}/issues/{number}",
            "repository_url": self._api,
            "labels_url": f"{self._api}/issues/{number}/labels{{/name}}",
            "comments_url": f"{self._api}/issues/{number}/comments",
            "events_url": f"{self._api}/issues/{number}/events",
            "html_url": f"{self._github.html_base}/{self.full_name}/{kind}/{number}",
            "id": stored["id"],
            "node_id": f"I_kwDO{stored['id']:012d}",
            "number": number,
            "title": stored["title"],
            "user": _user(stored["user"], self._github.base_url),
            "labels": labels,
            "state": stored["state"],
            "locked": stored["locked"],
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": None,
            "comments": stored["comments"],
            "created_at": _iso(stored["created_at"]),
            "updated_at": _iso(stored["updated_at"]),
            "closed_at": _iso(stored["closed_at"]) if stored["closed_at"] else None,
            "author_association": self._association(stored),
            "active_lock_reason": None,
            "body": stored["body"] or None,
            "state_reason": "completed" if stored["state"] == "closed" else None,
        }
        if stored["pull_request"]:
            issue["pull_request"] = {
                "url": f"{self._api}/pulls/{number}",
                "html_url": issue["html_url"],
                "diff_url": f"{issue['html_url']}.diff",
                "patch_url": f"{issue['html_url']}.patch",
                "merged_at": None,
            }
        return issue

    def _association(self, stored: Mapping[str, Any]) -> str:
        given = stored["author_association"]
        if given is not None:
            return str(given)
        return "OWNER" if stored["user"] == self.owner else "COLLABORATOR"

    def _listing(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        """The stored issues GitHub would list for `query`, in its order (not yet rendered)."""
        state = query.get("state", "open")
        wanted_labels = [part.strip().casefold() for part in query.get("labels", "").split(",") if part.strip()]
        assignee = query.get("assignee")
        since = _parse_since(query.get("since"))
        rows = []
        for stored in self._issues.values():
            if state != "all" and stored["state"] != (state if state in ("open", "closed") else "open"):
                continue
            have = {name.casefold() for name in label_names(stored["labels"])}
            if any(label not in have for label in wanted_labels):
                continue
            logins = {login.casefold() for login in stored["assignees"]}
            if assignee == "*" and not logins:
                continue
            if assignee == "none" and logins:
                continue
            if assignee not in (None, "", "*", "none") and assignee.casefold() not in logins:
                continue
            if since is not None and stored["updated_at"] < since:
                continue
            rows.append(stored)
        sort = query.get("sort", "created")
        sort_key = {"updated": "updated_at", "comments": "comments"}.get(sort, "created_at")
        descending = query.get("direction", "desc") != "asc"
        rows.sort(key=lambda s: (s[sort_key], s["number"]), reverse=descending)
        return rows


def _repo_json(repo: FakeRepo, base_url: str) -> dict[str, Any]:
    open_count = sum(1 for s in repo._issues.values() if s["state"] == "open")
    return {
        "id": repo.repo_id,
        "node_id": f"R_kgDO{repo.repo_id}",
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": _user(repo.owner, base_url),
        "html_url": f"https://github.com/{repo.full_name}",
        "url": f"{base_url}/repos/{repo.full_name}",
        "has_issues": repo.has_issues,
        "open_issues_count": open_count,
    }
