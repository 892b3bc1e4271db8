"""Whether a member may write: `MEMBER` says the author belongs to the organisation that owns the
repository, not that they may push (docs/design.md, "Who may start a session").

Checked last, and only for an issue a poll would claim: a settled or backlog issue costs nothing,
and OWNER and COLLABORATOR already say write access. GitHub's answer is kept per project,
repository and login (`PermissionCache`), so a member costs one request an hour at most.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from .config import AuthorAssociation
from .eligibility import EligibilityRule, SkipReason
from .errors import IntakeError, TrackerError
from .issue import Issue, dedupe_key
from .ports import Clock, PermissionCache
from .records import Claim, Permission
from .tracker import Collaborators, RateLimit, Retries

log = logging.getLogger(__name__)

# How long an answer is trusted. "May write", an hour: a member whose access is taken away can
# still start sessions for that long (as long as an app's installation token lives), and a member
# costs one request an hour. "May not", a quarter of that: a member given write access waits at
# most that long for their next issue; the price is a request when such an issue's page changes.
MAY_WRITE_FOR = timedelta(hours=1)
MAY_NOT_WRITE_FOR = timedelta(minutes=15)


def kept_until(permission: Permission) -> datetime:
    """Until when the answer is trusted (`MAY_WRITE_FOR` or `MAY_NOT_WRITE_FOR` after it came)."""
    return permission.checked_at + (MAY_WRITE_FOR if permission.may_write else MAY_NOT_WRITE_FOR)


def needs_check(issue: Issue, rule: EligibilityRule) -> bool:
    """Whether the issue's author must be shown to write: trusted as MEMBER, with the check on."""
    return (
        rule.member_write_check and issue.provider == "github" and issue.author_association == AuthorAssociation.MEMBER
    )


class Access(StrEnum):
    WRITE = "write"
    NO_WRITE = "no write"
    # The check could not be made (the grant is spent, GitHub failed in passing): the issue waits.
    UNCHECKED = "unchecked"


@dataclass(frozen=True)
class Verdict:
    access: Access
    # Why the check could not be made (UNCHECKED), in words people read.
    why: str = ""

    @property
    def explained(self) -> str:
        return f"member: write access not checked: {self.why}"


class Allowance(Protocol):
    """The walk's say on one more GitHub request for a check, and its record of the answer."""

    def grant(self) -> str | None:
        """None when a request may be sent (it is counted then); else why not, in words."""
        ...

    def answered(self, rate: RateLimit) -> None:
        """What GitHub's answer said of the credential's primary budget."""
        ...


class Unmetered:
    """An allowance without a budget to keep (`intake preview`, on the user's own token)."""

    def grant(self) -> str | None:
        return None

    def answered(self, rate: RateLimit) -> None:
        return None


class WriteAccess:
    """One walk's answers on members' write access: kept answers first, then GitHub, within the
    allowance. `project_id` None keeps nothing (a preview of a project not created yet)."""

    def __init__(
        self,
        collaborators: Collaborators | None,
        cache: PermissionCache | None,
        clock: Clock,
        allowance: Allowance,
        *,
        project_id: str | None,
        owner: str,
        repo: str,
        retries: Retries | None = None,
    ) -> None:
        self._collaborators = collaborators
        self._cache = cache if project_id is not None else None
        self._clock = clock
        self._allowance = allowance
        self._project_id = project_id or ""
        self._owner = owner
        self._repo = repo
        self._retries = retries
        self._known: dict[str, Permission] = {}

    @property
    def repo(self) -> str:
        return f"{self._owner}/{self._repo}"

    def prepare(self, issues: Iterable[Issue]) -> None:
        """Read the kept answers on these issues' authors, in one batch."""
        logins = sorted({i.author for i in issues if i.author and i.author.casefold() not in self._known})
        if not logins or self._cache is None:
            return
        try:
            self._known.update(self._cache.get_permissions(self._project_id, self.repo, logins))
        except IntakeError as e:  # a store that fails costs requests, never a wrong answer
            log.warning("could not read the kept write permissions", extra={"error_kind": e.kind})

    def verdict(self, issue: Issue) -> Verdict:
        """Whether the issue's author may write to the repository.

        Raises the `TrackerError` of a GitHub that refuses for good or limits the credential;
        a passing failure is UNCHECKED.
        """
        login = issue.author
        if login is None:
            return Verdict(Access.NO_WRITE)  # GitHub names nobody who could be shown to write
        known = self._known.get(login.casefold())
        if known is not None and self._clock.now() < kept_until(known):
            return _verdict_of(known)
        return self._ask(login)

    def _ask(self, login: str) -> Verdict:
        if self._collaborators is None:
            return Verdict(Access.UNCHECKED, "this credential cannot ask GitHub")
        refused = self._allowance.grant()
        if refused is not None:
            return Verdict(Access.UNCHECKED, refused)
        try:
            answer = self._collaborators.permission(self._owner, self._repo, login, self._retries)
        except TrackerError as e:
            if not e.transient:
                raise
            return Verdict(Access.UNCHECKED, str(e))
        self._allowance.answered(answer.rate)
        permission = Permission(self.repo, login, answer.permission, self._clock.now(), answer.role)
        self._known[login.casefold()] = permission
        self._keep(permission)
        return _verdict_of(permission)

    def _keep(self, permission: Permission) -> None:
        if self._cache is None:
            return
        try:
            self._cache.put_permission(self._project_id, permission)
        except IntakeError as e:  # the next walk asks again
            log.warning("could not keep a write permission", extra={"error_kind": e.kind})


def _verdict_of(permission: Permission) -> Verdict:
    return Verdict(Access.WRITE if permission.may_write else Access.NO_WRITE)


@dataclass(frozen=True)
class Writers:
    """The eligible issues sorted by their authors' write access, as a poll would sort them."""

    taken: list[Issue]
    refused: list[tuple[Issue, SkipReason]]
    unchecked: list[tuple[Issue, str]]


def check_writers(
    access: WriteAccess,
    rule: EligibilityRule,
    eligible: list[Issue],
    claims: Mapping[str, Claim] | None = None,
    failed: Callable[[TrackerError], str] = str,
) -> Writers:
    """The eligible issues whose authors need not or may write, those by members who may not, and
    those whose check could not be made, in order. An issue whose claim is past the queue is not
    checked (no poll claims it again). A GitHub failure makes the check unchecked, in `failed`'s
    words: a preview says what it could not learn rather than fail."""
    held = claims or {}

    def wanted(issue: Issue) -> bool:
        claim = held.get(dedupe_key(issue.canonical_id))
        return needs_check(issue, rule) and (claim is None or not claim.status.taken)

    access.prepare(issue for issue in eligible if wanted(issue))
    writers = Writers([], [], [])
    for issue in eligible:
        verdict = _verdict(access, issue, failed) if wanted(issue) else Verdict(Access.WRITE)
        if verdict.access is Access.WRITE:
            writers.taken.append(issue)
        elif verdict.access is Access.NO_WRITE:
            writers.refused.append((issue, SkipReason.MEMBER_WITHOUT_WRITE))
        else:
            writers.unchecked.append((issue, verdict.explained))
    return writers


def _verdict(access: WriteAccess, issue: Issue, failed: Callable[[TrackerError], str]) -> Verdict:
    try:
        return access.verdict(issue)
    except TrackerError as e:
        return Verdict(Access.UNCHECKED, failed(e))
