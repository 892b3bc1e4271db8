"""What a rule would pick up now: the open issues it takes, oldest first, and why it skips the rest.

It reads the claims of the issues the rule takes, to count what would start a session (a claimed
issue starts none, a backlog one only under `backlog: all`), and writes none, nor the ETag cache.
An issue starts one session across every project: the first project to claim it holds it, so the
preview names the other project holding an issue (`held_by`) rather than let it pass for its own.
A member's issue that a poll could claim is checked as the poll checks it (domain/write_access.py),
through the same kept answers (a stored project's: an answer it gets is kept for the polls too);
when the check cannot be made, the preview says so rather than guess.
The requests count in the credential's budget as a poll's do: a paused or spent credential is not
used, and the requests a preview may make (the page cap) are reserved in the dispatcher's rolling
minute first, so previews cannot starve the polls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from .backlog import starts_session
from .config import Backlog, ProjectConfig, TrackerIntake, intake_repo
from .eligibility import EligibilityRule, SkipReason, skip_reason
from .errors import CredentialBusy, PrimaryRateLimited, SecondaryRateLimited, TrackerError
from .issue import Issue, dedupe_key
from .ports import ClaimsByIssue, Clock, PermissionCache, TokenBudgets
from .records import PACE_WINDOW, Claim, ClaimStatus, Pace, TokenBudget
from .sync import ChangeFeed, change_query
from .tracker import DEFAULT_PAGE_CAP, Collaborators, IssueQuery, RateLimit, Tracker
from .write_access import WriteAccess, check_writers

# Reserving the minute is a conditional write; a tick or another preview may win it.
_RESERVE_ATTEMPTS = 3


# Claims that start no session and that a poll may take over: they hold the issue for nobody.
_HOLDS_NO_SESSION = (ClaimStatus.RELEASED, ClaimStatus.BACKLOG)


@dataclass(frozen=True)
class Preview:
    repo: str
    eligible: tuple[Issue, ...]
    skipped: tuple[tuple[Issue, SkipReason], ...]
    truncated: bool
    requests: int
    # The claims that hold eligible issues, by `dedupe_key` (none read: no ledger given).
    claims: Mapping[str, Claim] = field(default_factory=dict)
    # Members' issues the rule takes but whose author's write access could not be checked, with
    # "member: write access not checked: <why>": no poll takes one until it is.
    unchecked: tuple[tuple[Issue, str], ...] = ()
    # The project previewed (None: one not created yet, so every claim is another project's).
    project_id: str | None = None

    def claim_of(self, issue: Issue) -> Claim | None:
        return self.claims.get(dedupe_key(issue.canonical_id))

    def held_by(self, issue: Issue) -> str | None:
        """The other project whose claim holds the issue (None: unclaimed, this project's, or one
        that holds no session: released, or recorded as another project's backlog, which a poll
        under `backlog: all` takes over as it takes a released one)."""
        claim = self.claim_of(issue)
        if claim is None or claim.status in _HOLDS_NO_SESSION or claim.project_id == self.project_id:
            return None
        return claim.project_id

    def held_elsewhere(self) -> int:
        """How many eligible issues other projects' claims hold: this project starts none of them."""
        return sum(1 for issue in self.eligible if self.held_by(issue) is not None)

    def reasons(self) -> list[tuple[Issue, str]]:
        """Every issue not taken, oldest first, with why in words (skipped and unchecked alike)."""
        said = [(issue, str(reason)) for issue, reason in self.skipped] + list(self.unchecked)
        return sorted(said, key=lambda pair: _order(pair[0]))

    def would_start(self, backlog: Backlog, since: datetime | None) -> int:
        """How many eligible issues polls would start sessions for (`maxSessionsPerPoll` a poll),
        under `backlog` with the project's `backlogSince` mark `since` (domain/backlog.py)."""
        return sum(1 for issue in self.eligible if starts_session(issue, self.claim_of(issue), backlog, since))


@dataclass(frozen=True)
class PreviewContext:
    tracker: Tracker | ChangeFeed
    budgets: TokenBudgets
    clock: Clock
    token_key: str
    requests_per_minute: int | None = None
    page_cap: int = DEFAULT_PAGE_CAP
    # Where the eligible issues' claims are read (None: the preview says nothing of them).
    ledger: ClaimsByIssue | None = None
    # Who may write to the repository (the preview's credential; None: members' issues cannot be
    # checked), where the answers are kept, and for which project (None: one not created yet,
    # whose answers are not kept).
    collaborators: Collaborators | None = None
    permissions: PermissionCache | None = None
    project_id: str | None = None


class Previewer(Protocol):
    def __call__(self, config: ProjectConfig, project_id: str | None = None) -> Preview:
        """`project_id`: the stored project previewed (None: one not created yet)."""
        ...


def open_issues(tracker: Tracker | ChangeFeed, query: IssueQuery, page_cap: int) -> tuple[list[Issue], bool, int]:
    """Every open issue the walk reaches, whether it stopped at the cap, and the requests made."""
    issues: list[Issue] = []
    truncated = False
    requests = 0
    pages = (
        tracker.changes(query, None, None, page_cap)
        if isinstance(tracker, ChangeFeed)
        else tracker.pages(query, {}, page_cap)
    )
    for page in pages:
        requests += 1
        issues.extend(page.issues)
        truncated = page.truncated
    return issues, truncated, requests


def _order(issue: Issue) -> tuple[float, int]:
    return (issue.created_at.timestamp() if issue.created_at else 0.0, issue.number)


def classify(issues: list[Issue], rule: EligibilityRule) -> tuple[list[Issue], list[tuple[Issue, SkipReason]]]:
    """Oldest first: the issues the rule takes, and the others with the reason it skips them."""
    ordered = sorted(issues, key=_order)
    eligible = [issue for issue in ordered if skip_reason(issue, rule) is None]
    skipped = [(issue, reason) for issue in ordered if (reason := skip_reason(issue, rule)) is not None]
    return eligible, skipped


def preview(ctx: PreviewContext, config: ProjectConfig) -> Preview:
    """What `config`'s rule would pick up now (its repo: trackerIntake.repo, else from gitOrigin)."""
    intake = config.tracker_intake or TrackerIntake()
    owner, name, where, query = _source(config, intake)
    rule = EligibilityRule.of(intake)
    reserved = _reserve(ctx)
    try:
        issues, truncated, requests = open_issues(ctx.tracker, query, ctx.page_cap)
    except (PrimaryRateLimited, SecondaryRateLimited) as e:
        raise _limited(ctx, e) from e
    eligible, skipped = classify(issues, rule)
    claims = ctx.ledger.get_claims([issue.canonical_id for issue in eligible]) if ctx.ledger and eligible else {}
    reservation = _Reservation(reserved, requests)
    access = WriteAccess(
        ctx.collaborators,
        ctx.permissions,
        ctx.clock,
        reservation,
        project_id=ctx.project_id,
        owner=owner,
        repo=name,
    )
    writers = check_writers(access, rule, eligible, claims, lambda e: _failed_check(ctx, e))
    return Preview(
        where,
        tuple(writers.taken),
        tuple(sorted([*skipped, *writers.refused], key=lambda pair: _order(pair[0]))),
        truncated,
        reservation.used,
        claims,
        tuple(writers.unchecked),
        ctx.project_id,
    )


def _source(config: ProjectConfig, intake: TrackerIntake) -> tuple[str, str, str, IssueQuery]:
    """Where the preview reads: a repository's open issues (ConfigInvalid names the field when
    there is none), or a Linear team's, every one (the rule is applied here, to say why not)."""
    if intake.is_linear:
        return "", "", f"Linear team {intake.team}", change_query(intake, whole_rule=True)
    if intake.is_jira:
        return "", "", f"Jira project {intake.project} on {intake.site}", change_query(intake, whole_rule=True)
    owner, name = intake_repo(config)
    return owner, name, f"{owner}/{name}", IssueQuery(owner, name)


class _Reservation:
    """The `Allowance` of a preview: the requests it reserved, its pages first, then its checks."""

    def __init__(self, reserved: int | None, used: int) -> None:
        self.reserved = reserved
        self.used = used

    def grant(self) -> str | None:
        if self.reserved is not None and self.used >= self.reserved:
            return f"the {self.reserved} GitHub requests this preview reserved are spent"
        self.used += 1
        return None

    def answered(self, rate: RateLimit) -> None:
        return None


def _limited(ctx: PreviewContext, error: PrimaryRateLimited | SecondaryRateLimited) -> CredentialBusy:
    """Record GitHub's limit on the credential for the polls too; the refusal that says until when."""
    if isinstance(error, PrimaryRateLimited):
        ctx.budgets.record_budget(TokenBudget(ctx.token_key, 0, error.reset_at))
        return CredentialBusy(
            error.reset_at, f"GitHub's rate limit for this credential is spent until {error.reset_at:%H:%M} UTC"
        )
    until = error.retry_at or ctx.clock.now() + PACE_WINDOW
    ctx.budgets.pause(ctx.token_key, until)
    return CredentialBusy(until, f"GitHub's secondary rate limit: try again after {until:%H:%M:%S} UTC")


def _failed_check(ctx: PreviewContext, error: TrackerError) -> str:
    if isinstance(error, PrimaryRateLimited | SecondaryRateLimited):
        return str(_limited(ctx, error))
    return str(error)


def _reserve(ctx: PreviewContext) -> int | None:
    """Take the requests this preview may make from the credential's minute, or refuse; how many
    (None: no budget to keep)."""
    now = ctx.clock.now()
    budget = ctx.budgets.get_budget(ctx.token_key)
    blocked = budget.blocked_until(now) if budget is not None else None
    if blocked is not None:
        raise CredentialBusy(blocked, f"the GitHub credential is paused until {blocked:%H:%M:%S} UTC")
    if ctx.requests_per_minute is None:
        return None
    for _ in range(_RESERVE_ATTEMPTS):
        pace = ctx.budgets.get_pace(ctx.token_key) or Pace(ctx.token_key)
        # At most the whole minute, as a poll's grant: a cap above it would never fit.
        needed = min(ctx.page_cap, ctx.requests_per_minute)
        if ctx.requests_per_minute - pace.spent(now) < needed:
            retry = _frees_up(pace, now, needed, ctx.requests_per_minute)
            raise CredentialBusy(retry, "this minute's GitHub requests are taken by polls; try again shortly")
        if ctx.budgets.save_pace(pace.after_tick(now, needed, pace.cursor, preview=True)):
            return needed
    raise CredentialBusy(now + PACE_WINDOW / 12, "the GitHub budget is being granted right now; try again shortly")


def _frees_up(pace: Pace, now: datetime, needed: int, limit: int) -> datetime:
    """When enough of the rolling minute has passed for `needed` points to be free."""
    live = sorted((g for g in pace.grants if now - g.at < PACE_WINDOW), key=lambda g: g.at)
    free = limit - sum(g.points for g in live)
    for grant in live:
        free += grant.points
        if free >= needed:
            return grant.at + PACE_WINDOW
    return now + PACE_WINDOW
