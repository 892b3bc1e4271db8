"""Issues as the domain sees them, and their canonical id `github:<owner>/<repo>#<number>`."""

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
CANONICAL_ID_PATTERN = rf"github:({LOGIN_PATTERN})/({REPO_CHARS}{{1,100}})#([1-9][0-9]{{0,17}})"
_CANONICAL = re.compile(CANONICAL_ID_PATTERN)


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


@dataclass(frozen=True)
class IssueRef:
    owner: str
    repo: str
    number: int

    @property
    def canonical_id(self) -> str:
        return canonical_id(self.owner, self.repo, self.number)


def parse_canonical_id(value: str) -> IssueRef:
    match = _CANONICAL.fullmatch(value)
    if not match:
        raise ValueError(f"{value[:80]!r} is not a canonical issue id (github:owner/repo#number)")
    owner, repo, number = match.groups()
    return IssueRef(owner, repo, int(number))


def dedupe_key(canonical: str) -> str:
    """The key a claim is stored under. Lower-cased: `Acme/App` and `acme/app` are one repo."""
    return parse_canonical_id(canonical).canonical_id.lower()


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

    @property
    def canonical_id(self) -> str:
        return canonical_id(self.owner, self.repo, self.number)
