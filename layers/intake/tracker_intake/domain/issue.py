"""Issues as the domain sees them, and their canonical ids.

One per tracker, each naming the issue by what never changes for it:
- GitHub: `github:<owner>/<repo>#<number>`;
- Linear: `linear:<workspace url key>/<issue uuid>`. The identifier a person reads (`ENG-123`)
  changes when the issue moves to another team, so it is shown beside the id, never part of it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .patterns import LOGIN_PATTERN, REPO_CHARS

# owner (a GitHub login), repo (GitHub's name characters), number. Used with fullmatch. Plain
# groups: the OpenAPI document publishes this pattern, and ECMAScript spells named groups
# differently.
GITHUB_ID_PATTERN = rf"github:({LOGIN_PATTERN})/({REPO_CHARS}{{1,100}})#([1-9][0-9]{{0,17}})"
# A Linear workspace's url key (lower-case letters, digits, '-' and '_'), then the issue's id: a
# UUID, lower-case as Linear writes it.
LINEAR_WORKSPACE_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
UUID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
LINEAR_ID_PATTERN = rf"linear:({LINEAR_WORKSPACE_PATTERN})/({UUID_PATTERN})"
# A Jira Cloud site's host name (lower-case labels: `acme.atlassian.net`), then the issue's
# numeric id, which a move to another project does not change (its key, `PROJ-123`, does).
SITE_PATTERN = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+"
JIRA_ID_PATTERN = rf"jira:({SITE_PATTERN})/([1-9][0-9]{{0,18}})"
CANONICAL_ID_PATTERN = f"{GITHUB_ID_PATTERN}|{LINEAR_ID_PATTERN}|{JIRA_ID_PATTERN}"
_CANONICAL = re.compile(GITHUB_ID_PATTERN)
_LINEAR = re.compile(LINEAR_ID_PATTERN)
_JIRA = re.compile(JIRA_ID_PATTERN)


def canonical_id(owner: str, repo: str, number: int) -> str:
    """`github:owner/repo#n`, spelled as GitHub spells the repository."""
    if isinstance(number, bool) or number < 1:
        raise ValueError(f"issue number must be a positive integer, got {number!r}")
    value = f"github:{owner}/{repo}#{number}"
    # Refuse what parse_canonical_id could not read back: a claim key must round-trip.
    match = _CANONICAL.fullmatch(value)
    if match is None or match.groups() != (owner, repo, str(number)):
        raise ValueError(f"{owner[:40]!r}/{repo[:100]!r}#{number} cannot be a canonical issue id")
    return value


def linear_id(workspace: str, issue_id: str) -> str:
    """`linear:<workspace>/<uuid>`: the workspace's url key and the issue's id, which no move changes."""
    value = f"linear:{workspace}/{issue_id}"
    if _LINEAR.fullmatch(value) is None:
        raise ValueError(f"{workspace[:64]!r}/{issue_id[:40]!r} cannot be a canonical Linear issue id")
    return value


@dataclass(frozen=True)
class IssueRef:
    """A GitHub issue: its repository and number."""

    owner: str
    repo: str
    number: int

    provider = "github"

    @property
    def canonical_id(self) -> str:
        return canonical_id(self.owner, self.repo, self.number)


@dataclass(frozen=True)
class LinearRef:
    """A Linear issue: its workspace's url key and its id (a UUID, the same for its whole life)."""

    workspace: str
    issue_id: str

    provider = "linear"

    @property
    def canonical_id(self) -> str:
        return linear_id(self.workspace, self.issue_id)


@dataclass(frozen=True)
class JiraRef:
    """A Jira Cloud issue: its site's host name and its numeric id (the same for its whole life)."""

    site: str
    issue_id: str

    provider = "jira"

    @property
    def canonical_id(self) -> str:
        return jira_id(self.site, self.issue_id)


def jira_id(site: str, issue_id: str) -> str:
    """`jira:<site>/<id>`: the site's host name (lower-cased) and the issue's numeric id."""
    value = f"jira:{site.lower()}/{issue_id}"
    if _JIRA.fullmatch(value) is None:
        raise ValueError(f"{site[:64]!r}/{issue_id[:20]!r} cannot be a canonical Jira issue id")
    return value


# An issue on any tracker, as its canonical id names it.
TrackerRef = IssueRef | LinearRef | JiraRef


def parse_canonical_id(value: str) -> IssueRef:
    """A GitHub canonical id, read back; ValueError for anything else (a Linear id included)."""
    match = _CANONICAL.fullmatch(value)
    if not match:
        raise ValueError(f"{value[:80]!r} is not a canonical issue id (github:owner/repo#number)")
    owner, repo, number = match.groups()
    return IssueRef(owner, repo, int(number))


def parse_tracker_id(value: str) -> TrackerRef:
    """Any tracker's canonical id, read back; ValueError naming the forms for anything else."""
    if value.startswith("linear:"):
        match = _LINEAR.fullmatch(value)
        if match is None:
            raise ValueError(f"{value[:80]!r} is not a canonical Linear issue id (linear:workspace/uuid)")
        return LinearRef(*match.groups())
    if value.startswith("jira:"):
        match = _JIRA.fullmatch(value)
        if match is None:
            raise ValueError(f"{value[:80]!r} is not a canonical Jira issue id (jira:site/id)")
        return JiraRef(*match.groups())
    try:
        return parse_canonical_id(value)
    except ValueError:
        raise ValueError(
            f"{value[:80]!r} is not a canonical issue id "
            "(github:owner/repo#number, linear:workspace/uuid or jira:site/id)"
        ) from None


def dedupe_key(canonical: str) -> str:
    """The key a claim is stored under. Lower-cased: `Acme/App` and `acme/app` are one repo."""
    return parse_tracker_id(canonical).canonical_id.lower()


def deduplication_id(canonical: str, generation: int = 1) -> str:
    """SQS FIFO MessageDeduplicationId: sha256 of the dedupe key (fits the 128-char limit).

    A released claim that is taken again starts a new generation; it gets a new id, or SQS
    would drop the new request as a duplicate of the old one for five minutes.
    """
    key = dedupe_key(canonical) if generation == 1 else f"{dedupe_key(canonical)}#{generation}"
    return hashlib.sha256(key.encode()).hexdigest()


def label_names(items: Iterable[str | Mapping[str, Any]]) -> tuple[str, ...]:
    """GitHub gives labels as strings or as objects with a `name`: accept both."""
    names = []
    for item in items:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, Mapping) and isinstance(item.get("name"), str):
            names.append(item["name"])
    return tuple(names)


@dataclass(frozen=True)
class Issue:
    owner: str
    repo: str
    number: int
    title: str
    url: str
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    body: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    state: str = "open"
    is_pull_request: bool = False
    # Who wrote it, and GitHub's `author_association` (OWNER, MEMBER, ..., NONE) for them on
    # this repository, as the list answer gives it. None: not given, which no rule allows.
    author: str | None = None
    author_association: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # The tracker. On Linear, `owner` is the workspace's url key, `repo` the team's key and
    # `number` the identifier's number; `key` is the issue's id (the UUID the canonical id
    # holds) and `identifier` what people read (`ENG-123`), which a move to another team changes.
    # On Jira, `owner` is the site, `repo` the project's key, `key` the numeric id and
    # `identifier` the issue's key (`PROJ-123`), which a move to another project changes.
    provider: str = "github"
    key: str | None = None
    identifier: str | None = None

    @property
    def ref(self) -> TrackerRef:
        if self.provider == "linear":
            return LinearRef(self.owner, self.key or "")
        if self.provider == "jira":
            return JiraRef(self.owner, self.key or "")
        return IssueRef(self.owner, self.repo, self.number)

    @property
    def canonical_id(self) -> str:
        return self.ref.canonical_id

    @property
    def display_id(self) -> str:
        """What a person reads: `ENG-123` on Linear, `owner/repo#n` on GitHub."""
        return self.identifier or f"{self.owner}/{self.repo}#{self.number}"
