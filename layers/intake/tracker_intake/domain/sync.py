"""The tracker seam for trackers without validators: changes since a watermark, and a reconcile.

GitHub answers an unchanged page with a free 304, so its poll walks every page conditionally.
Linear (and Jira) have no ETags: a poll asks for the issues updated since a *watermark*, the
newest `updatedAt` the last complete walk saw, on the tracker's own clock (never ours), less an
*overlap* that re-reads what changed in the same instant or showed up late. What the overlap
re-reads and an earlier walk already took is skipped by its id and `updatedAt` (`recent`), so a
steady-state poll is one small query that claims, reads and writes nothing.

A *reconcile* is a full read of the matching open issues (no lower bound). It runs when there is
no cursor (the first poll, a new rule, a released claim: `forget_pages` drops the cursor) and
every `reconcile_every`, to bound what an incremental read cannot see: a label renamed, a
creator made a member, anything that changes what matches without bumping an issue's
`updatedAt` (docs/design.md, "The tracker seam").

The commit rule is GitHub's: the cursor moves only past issues that are past the claim. A walk
cut short (the page cap, the session cap, the deadline, the grant) keeps where it got to, as a
*resume*: the next poll goes on after the last page that was done, from the same lower bound,
and the watermark moves once the walk is complete. A crash commits nothing, so the next poll
reads again; the claim's conditional put keeps a re-read from starting anything twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from .config import TrackerIntake
from .issue import Issue
from .tracker import DEFAULT_PAGE_CAP, CachedPage, IssueQuery, Page, Retries

# The reconcile's period when the tracker names none: an hour bounds what a missed change costs
# (an issue starts at most an hour late) at one full read an hour per project.
DEFAULT_RECONCILE_EVERY = timedelta(hours=1)
# At most this many issues are kept as read within the overlap; beyond, the oldest are read again
# (which costs a claim read, never a second session).
MAX_RECENT = 200
SYNC_SCOPE_PREFIX = "sync:"
# The overlap is re-read by the polls in the minutes after the watermark moved (at least this,
# and twice the overlap), to catch what shows up late; once it has settled, a poll asks only for
# what is newer than the watermark, so a burst of changes stamped in one instant (a bulk edit)
# is not read again on every poll. What shows up later still is the hourly reconcile's.
MIN_SETTLE = timedelta(minutes=2)


@runtime_checkable
class ChangeFeed(Protocol):
    """A tracker without validators: the open issues matching a rule, changed since a moment."""

    @property
    def overlap(self) -> timedelta:
        """How far before the watermark each read starts: what the tracker may show late."""
        ...

    @property
    def reconcile_every(self) -> timedelta:
        """How often a full read of the matching open issues bounds what incremental reads miss."""
        ...

    def changes(
        self,
        query: IssueQuery,
        since: datetime | None,
        after: str | None,
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
    ) -> Iterator[Page]:
        """The issues matching `query` updated after `since` (every open one: None), a page at a
        time, starting after the page cursor `after` (None: from the first).

        Each page's `next_url` is the cursor after it, `continues` whether the tracker has more,
        `truncated` set on the last page the cap allowed with more left. Raises a TrackerError.
        """
        ...


def change_query(intake: TrackerIntake, *, whole_rule: bool = False) -> IssueQuery:
    """What a tracker without ETags is asked for a rule: its team (Linear) or project (Jira, on
    its site), labels and assignee, with the exclusions to read beside them. `whole_rule` (a
    preview): every open issue of the team or project, the rule's labels read to say why not."""
    checked = tuple(intake.effective_exclude_labels)
    scope = (intake.team if intake.is_linear else intake.project) or ""
    owner = intake.site or "" if intake.is_jira else ""
    if whole_rule:
        return IssueQuery(owner, "", (), None, intake.provider, scope, (*intake.labels, *checked))
    return IssueQuery(owner, "", tuple(intake.labels), intake.assignee, intake.provider, scope, checked)


def sync_scope(query: IssueQuery) -> str:
    """The cache key of a rule's cursor. Another rule (a label, the team, the assignee) is another
    scope: its first poll is a reconcile, and the old cursor is never read again."""
    rule = json.dumps([query.team, sorted(label.casefold() for label in query.labels), query.assignee])
    digest = hashlib.sha256(rule.encode()).hexdigest()[:16]
    return f"{SYNC_SCOPE_PREFIX}{query.provider}:{(query.team or '').upper()}:{digest}"


@dataclass(frozen=True)
class Resume:
    """A walk cut short: the page cursor to go on after, the lower bound it read from (None: a
    reconcile), the newest `updatedAt` it has seen so far, and what it read (`recent`'s part)."""

    after: str
    since: datetime | None
    newest: datetime | None
    seen: Mapping[str, datetime] = field(default_factory=dict)
    # The pages the walk has read so far, over the polls it took.
    pages: int = 0


@dataclass(frozen=True)
class SyncCursor:
    """Where a rule's incremental reads stand, kept in the project's page cache."""

    # The newest `updatedAt` a complete walk saw (the tracker's clock); None: never complete.
    watermark: datetime | None = None
    # Issues read within the overlap below the watermark, by canonical id: their `updatedAt`.
    recent: Mapping[str, datetime] = field(default_factory=dict)
    # When the last reconcile completed (the poll's clock: it only paces the reconcile).
    reconciled_at: datetime | None = None
    resume: Resume | None = None
    # When the watermark last moved (the poll's clock: it only says when the overlap has settled).
    moved_at: datetime | None = None

    def plan(self, now: datetime, reconcile_every: timedelta, overlap: timedelta) -> SyncPlan:
        """What this poll reads: the rest of a cut walk, a reconcile, or what changed since the
        watermark (less the overlap, until it has settled)."""
        if self.resume is not None:
            return SyncPlan(self.resume.since, self.resume.after, reconcile=self.resume.since is None)
        due = self.reconciled_at is None or now - self.reconciled_at >= reconcile_every
        if self.watermark is None or due:
            return SyncPlan(None, None, reconcile=True)
        settled = self.moved_at is not None and now - self.moved_at >= max(MIN_SETTLE, 2 * overlap)
        return SyncPlan(self.watermark if settled else self.watermark - overlap, None, reconcile=False)

    def to_page(self, scope: str, credential: str | None) -> CachedPage:
        """The cursor as the page cache keeps it: under its scope, its state in the `etag` slot."""
        state: dict[str, Any] = {
            "w": _iso(self.watermark),
            "r": {key: _iso(at) for key, at in self.recent.items()},
            "c": _iso(self.reconciled_at),
            "m": _iso(self.moved_at),
        }
        if self.resume is not None:
            state["resume"] = {
                "after": self.resume.after,
                "since": _iso(self.resume.since),
                "newest": _iso(self.resume.newest),
                "seen": {key: _iso(at) for key, at in self.resume.seen.items()},
                "pages": self.resume.pages,
            }
        return CachedPage(scope, json.dumps(state, separators=(",", ":")), credential=credential)

    @classmethod
    def from_page(cls, page: CachedPage | None) -> SyncCursor:
        """The cursor kept under a scope; an empty one (a reconcile) when none is, or it cannot be read."""
        if page is None:
            return cls()
        try:
            state = json.loads(page.etag)
            resume = state.get("resume")
            return cls(
                watermark=_at(state.get("w")),
                recent=_moments(state.get("r")),
                reconciled_at=_at(state.get("c")),
                resume=None if resume is None else _resume(resume),
                moved_at=_at(state.get("m")),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls()  # a cursor that cannot be read costs a reconcile, never a missed issue


@dataclass(frozen=True)
class SyncPlan:
    since: datetime | None
    after: str | None
    reconcile: bool


class SyncProgress:
    """One walk's pages, as they are read and done; the cursor to commit when the walk ends."""

    def __init__(self, cursor: SyncCursor, plan: SyncPlan, overlap: timedelta, now: datetime) -> None:
        self.cursor = cursor
        self.plan = plan
        self.overlap = overlap
        self.now = now
        self.newest = cursor.resume.newest if cursor.resume is not None else None
        # What this walk read and is done with, a resumed walk's earlier part included; and what
        # the page being processed holds.
        self.seen: dict[str, datetime] = dict(cursor.resume.seen) if cursor.resume is not None else {}
        self._page: dict[str, datetime] = {}
        # The pages a resumed walk's first part read, over the polls before this one.
        self.earlier_pages = cursor.resume.pages if cursor.resume is not None else 0
        # The page cursor after the last page done with every page before it done too.
        self.done_after: str | None = plan.after
        self.all_done = True
        self.pages = 0

    def unseen(self, issues: Iterable[Issue]) -> tuple[Issue, ...]:
        """The page's issues that need the claim's attention: not those an earlier walk read at
        this very `updatedAt` (what the overlap re-reads); a reconcile reads every one."""
        fresh = []
        for issue in issues:
            at = issue.updated_at
            if at is not None:
                self._page[issue.canonical_id] = at
                self.newest = at if self.newest is None else max(self.newest, at)
            if self.plan.reconcile or at is None or self.cursor.recent.get(issue.canonical_id) != at:
                fresh.append(issue)
        return tuple(fresh)

    def page_done(self, page: Page, done: bool) -> None:
        self.pages += 1
        if done and self.all_done:
            self.done_after = page.next_url
            self.seen.update(self._page)
        self._page = {}
        self.all_done = self.all_done and done

    def committed(self, complete: bool) -> SyncCursor:
        """The cursor once the walk ends: moved on when it is complete, a resume when it was cut
        after pages that are done, and as it was when nothing could be kept."""
        if complete and self.all_done:
            watermark = _latest(self.cursor.watermark, self.newest)
            return SyncCursor(
                watermark=watermark,
                recent=self._recent(watermark),
                reconciled_at=self.now if self.plan.reconcile else self.cursor.reconciled_at,
                moved_at=self.now if watermark != self.cursor.watermark else self.cursor.moved_at,
            )
        if self.done_after is not None and self.done_after != self.plan.after:
            seen = self._within(self.seen, self.newest)
            resume = Resume(self.done_after, self.plan.since, self.newest, seen, self.earlier_pages + self.pages)
            return replace(self.cursor, resume=resume)
        return self.cursor

    def _recent(self, watermark: datetime | None) -> dict[str, datetime]:
        return self._within({**self.cursor.recent, **self.seen}, watermark)

    def _within(self, moments: Mapping[str, datetime], watermark: datetime | None) -> dict[str, datetime]:
        """The issues read within the overlap below `watermark`, the newest `MAX_RECENT`."""
        if watermark is None:
            return {}
        floor = watermark - self.overlap
        within = sorted(((at, key) for key, at in moments.items() if at >= floor), reverse=True)
        return {key: at for at, key in within[:MAX_RECENT]}


def _resume(state: Mapping[str, Any]) -> Resume:
    pages = state.get("pages")
    return Resume(
        str(state["after"]),
        _at(state.get("since")),
        _at(state.get("newest")),
        _moments(state.get("seen")),
        pages if isinstance(pages, int) else 0,
    )


def _moments(raw: Any) -> dict[str, datetime]:
    return {key: at for key, value in dict(raw or {}).items() if (at := _at(value)) is not None}


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _at(raw: Any) -> datetime | None:
    return datetime.fromisoformat(raw) if isinstance(raw, str) else None
