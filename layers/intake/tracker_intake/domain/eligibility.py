"""Which issues intake takes. Re-applied on the client: the server-side filter is not trusted."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .config import DEFAULT_AUTHORS, DEFAULT_EXCLUDE_LABELS, TrackerIntake
from .issue import Issue


class SkipReason(StrEnum):
    CLOSED = "closed"
    PULL_REQUEST = "pull request"
    MISSING_LABEL = "missing label"
    EXCLUDED_LABEL = "excluded label"
    ASSIGNEE_MISMATCH = "assignee mismatch"
    # The issue matches the rule, but its author is not one the rule lets start a session.
    UNTRUSTED_AUTHOR = "untrusted author"
    # Its author is trusted as MEMBER alone, and GitHub says they may not write to the repository
    # (domain/write_access.py): decided after the rule, only for issues a poll would claim.
    MEMBER_WITHOUT_WRITE = "member without write access"


@dataclass(frozen=True)
class EligibilityRule:
    labels: tuple[str, ...] = ()
    assignee: str | None = None
    exclude_labels: tuple[str, ...] = DEFAULT_EXCLUDE_LABELS
    # The `author_association` values allowed to start a session.
    authors: frozenset[str] = frozenset(DEFAULT_AUTHORS)
    # Whether an author trusted as MEMBER alone must also be able to write (`memberWriteCheck`).
    member_write_check: bool = True

    @classmethod
    def of(cls, intake: TrackerIntake) -> EligibilityRule:
        return cls(
            tuple(intake.labels),
            intake.assignee,
            intake.effective_exclude_labels,
            frozenset(str(a) for a in intake.authors),
            intake.member_write_check,
        )


def skip_reason(issue: Issue, rule: EligibilityRule) -> SkipReason | None:
    """Why intake would not take `issue`, or None when it would."""
    if issue.state != "open":
        return SkipReason.CLOSED
    if issue.is_pull_request:
        return SkipReason.PULL_REQUEST
    have = {label.casefold() for label in issue.labels}
    if any(label.casefold() not in have for label in rule.labels):
        return SkipReason.MISSING_LABEL
    if any(label.casefold() in have for label in rule.exclude_labels):
        return SkipReason.EXCLUDED_LABEL
    if not _assignee_matches(issue.assignees, rule.assignee):
        return SkipReason.ASSIGNEE_MISMATCH
    # Last, so that it names only issues the rule would otherwise take. An association that is
    # missing, or one GitHub adds later, is not in any allowed set: refused.
    if issue.author_association not in rule.authors:
        return SkipReason.UNTRUSTED_AUTHOR
    return None


def is_eligible(issue: Issue, rule: EligibilityRule) -> bool:
    return skip_reason(issue, rule) is None


def _assignee_matches(assignees: tuple[str, ...], wanted: str | None) -> bool:
    if wanted is None:
        return True
    if wanted == "*":
        return bool(assignees)
    if wanted == "none":
        return not assignees
    return wanted.casefold() in {login.casefold() for login in assignees}
