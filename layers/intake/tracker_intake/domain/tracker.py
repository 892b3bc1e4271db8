"""The `Tracker` port: one page of a repository's open issues, conditional on a cached ETag."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from .errors import TrackerError
from .issue import Issue

DEFAULT_PAGE_CAP = 10


@dataclass(frozen=True)
class IssueQuery:
    """What to list: a repository (GitHub) or a team (Linear), and the server-side filter
    (re-checked on the client)."""

    owner: str
    repo: str
    labels: tuple[str, ...] = ()
    assignee: str | None = None
    provider: str = "github"
    team: str | None = None
    # Labels the client re-checks besides `labels` (the rule's exclusions; a preview's whole
    # rule): a tracker that reads only the labels it is asked about reads these too.
    checked_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class CachedPage:
    """What the last 200 for `url` said: its ETag, the next link it gave and how many items it held.

    `item_count` counts every item of the body, pull requests included: a page holding exactly
    `per_page` of them may have a page after it that its (unchanged) ETag does not tell of.
    """

    url: str
    etag: str
    next_url: str | None = None
    item_count: int = 0
    # The key of the credential whose request got this ETag (None: written before credentials
    # were named, by the default one). GitHub's ETags can depend on the token: a project that
    # moves to another credential asks each page afresh.
    credential: str | None = None


@dataclass(frozen=True)
class RateLimit:
    """The `x-ratelimit-*` headers of one response: the credential's primary budget as GitHub
    says it is (never assumed: a token, an app installation and Enterprise Cloud differ)."""

    remaining: int | None = None
    reset_at: datetime | None = None
    resource: str | None = None
    limit: int | None = None
    # A leaky bucket (Linear's): what flows back in an hour, `remaining` its level and `reset_at`
    # when it is full again. None: a window, spent until its reset (GitHub's).
    refill_per_hour: int | None = None

    @property
    def known(self) -> bool:
        return self.remaining is not None and self.reset_at is not None


@dataclass(frozen=True)
class Allowance:
    """One of a credential's named limits, as the tracker's headers say it (Linear: requests an
    hour, and complexity points an hour), and what one request spends of it (`cost`: a request
    is 1 request; a query of complexity 120 is 120 points)."""

    name: str
    remaining: int | None
    reset_at: datetime | None
    limit: int | None = None
    cost: int = 1
    # A leaky bucket (Linear's) refills all the time, and its reset is when it is full again:
    # until then it pays out what it holds plus what flows in, which is its whole limit.
    leaky: bool = False

    @property
    def requests_left(self) -> int | None:
        """The requests of `cost` it holds now."""
        return None if self.remaining is None else self.remaining // max(self.cost, 1)

    @property
    def refill_per_hour(self) -> int | None:
        """A leaky bucket's refill in requests of `cost` an hour (its limit: limits are hourly)."""
        if not self.leaky or self.limit is None:
            return None
        return self.limit // max(self.cost, 1)

    def pace(self, now: datetime) -> float:
        """The requests a second it can pay for without running dry (what the dispatcher would
        grant, before its reserve): a window's rest spread until its reset; a leaky bucket's
        level spread over an hour, plus its refill."""
        assert self.requests_left is not None and self.reset_at is not None
        if self.refill_per_hour is not None:
            return self.requests_left / 3600 + self.refill_per_hour / 3600
        return self.requests_left / max((self.reset_at - now).total_seconds(), 1.0)


def binding_limit(allowances: tuple[Allowance, ...], now: datetime) -> RateLimit:
    """A credential's limits as one budget of requests, which the dispatcher paces (domain/primary.py):
    the limit that can pay for the fewest requests a second binds. Unknown when none is known."""
    known = [a for a in allowances if a.requests_left is not None and a.reset_at is not None]
    if not known:
        return RateLimit()
    tightest = min(known, key=lambda a: a.pace(now))
    limit = None if tightest.limit is None else tightest.limit // max(tightest.cost, 1)
    return RateLimit(tightest.requests_left, tightest.reset_at, tightest.name, limit, tightest.refill_per_hour)


@dataclass(frozen=True)
class Page:
    """One page of issues. `modified` False means 304: `issues` is empty and the cache holds."""

    url: str
    index: int
    modified: bool
    issues: tuple[Issue, ...] = ()
    etag: str | None = None
    next_url: str | None = None
    rate: RateLimit = field(default_factory=RateLimit)
    etag_rotated: bool = False
    # Set on the last page of a walk that stopped at the page cap with more pages left.
    truncated: bool = False
    # Items in the body, pull requests included (on 304: what the cached 200 held).
    item_count: int = 0
    # The walk asks for another page after this one (a next link, or the page after a full one).
    continues: bool = False

    def cached(self, credential: str | None = None) -> CachedPage:
        """What to keep of this 200 for the next poll's conditional request."""
        return CachedPage(self.url, self.etag or "", self.next_url, self.item_count, credential)


class Retries(Protocol):
    """The poll's say on sending a failed request again (the tracker asks; the poll decides)."""

    def allow(self, error: TrackerError, attempt: int) -> bool:
        """Whether the request that failed with `error` on its `attempt`th try is sent again.

        True only after waiting out the pause before the retry; the retry is then counted
        against the poll's grant.
        """
        ...


@dataclass(frozen=True)
class CollaboratorPermission:
    """GitHub's answer on what one login may do in a repository.

    `permission` is the legacy base role: `admin`, `write`, `read` or `none` (`maintain` reads
    as `write`, `triage` as `read`); `role` is GitHub's `role_name`, custom roles included.
    """

    permission: str
    role: str | None = None
    rate: RateLimit = field(default_factory=RateLimit)


class Collaborators(Protocol):
    """Who may write to a repository, asked with the same credential as the pages."""

    def permission(self, owner: str, repo: str, login: str, retries: Retries | None = None) -> CollaboratorPermission:
        """The login's permission on the repository (`none` for one GitHub does not know).

        Raises WriteAccessUnreadable when the credential may not read it, another
        `TrackerError` on failure (a rate limit, a transient failure once `retries` says no).
        """
        ...


class Tracker(Protocol):
    def pages(
        self,
        query: IssueQuery,
        cache: Mapping[str, CachedPage],
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
    ) -> Iterator[Page]:
        """Walk the open issues oldest first, page by page.

        `cache` maps a page URL to what its last 200 said. A page with a cached ETag is asked
        conditionally; on 304 the walk continues with the cached next link. A transient failure
        worth retrying is sent again while `retries` allows. Raises a `TrackerError` subclass
        on failure.
        """
        ...
