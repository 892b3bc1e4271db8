"""The GitHub adapter of the `Tracker` port: conditional, paginated issue listing.

With `github_app` (which mints its credentials), the only code that talks to GitHub. Every HTTP
failure leaves as a typed `TrackerError`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from tracker_intake.adapters.github_auth import GitHubAuth, as_auth, secret_of
from tracker_intake.domain.errors import (
    AuthFailed,
    BadTrackerResponse,
    PrimaryRateLimited,
    RepoNotFound,
    SecondaryRateLimited,
    TrackerError,
    TrackerMisconfigured,
    TrackerUnavailable,
    WriteAccessUnreadable,
)
from tracker_intake.domain.issue import Issue, label_names
from tracker_intake.domain.ports import Clock
from tracker_intake.domain.tracker import (
    DEFAULT_PAGE_CAP,
    CachedPage,
    CollaboratorPermission,
    IssueQuery,
    Page,
    RateLimit,
    Retries,
)

logger = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
PER_PAGE = 100
# GitHub: "If no retry-after header is present, wait for at least one minute."
SECONDARY_LIMIT_MIN_WAIT = timedelta(seconds=60)
# A primary-limit answer without a reset header should not make us hammer GitHub either.
PRIMARY_LIMIT_FALLBACK_WAIT = timedelta(seconds=60)
_MESSAGE_CAP = 200
# Answers of a gateway or a GitHub front end in trouble: worth one more try a second later.
RETRYABLE_STATUSES = frozenset({502, 503, 504})

# Requests in flight per credential, in this process. In Lambda a container runs one poll at a
# time and the poller's reserved concurrency is the bound; the local stack and the tests run
# many pollers as threads of one process, and this gate is their bound.
_gates: dict[str, threading.BoundedSemaphore] = {}
_gates_lock = threading.Lock()


def _gate(credential: str, bound: int) -> threading.BoundedSemaphore:
    key = f"{credential}:{bound}"
    with _gates_lock:
        gate = _gates.get(key)
        if gate is None:
            gate = _gates[key] = threading.BoundedSemaphore(bound)
        return gate


class GitHubTracker:
    """Lists a repository's open issues oldest first, with ETags, over one `requests.Session`."""

    def __init__(
        self,
        base_url: str,
        auth: GitHubAuth | str | None,
        *,
        user_agent: str = "tracker-intake",
        timeout: tuple[float, float] = (3.05, 10.0),
        session: requests.Session | None = None,
        clock: Clock | None = None,
        include_pull_requests: bool = False,
        max_concurrency: int | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._origin = origin(self._base)
        # A bare token (or None) is the older way to say TokenAuth(token).
        self._auth = as_auth(auth)
        self._timeout = timeout
        self._session = session or requests.Session()
        self._clock = clock
        # The poller never wants pull requests; `intake preview --explain` shows them as skipped.
        self._include_pull_requests = include_pull_requests
        self._headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": user_agent,
        }
        self._gate = _gate(f"{self._origin} {self._auth.key}", max_concurrency) if max_concurrency else None

    def __repr__(self) -> str:  # never show the credential
        return f"GitHubTracker({self._base!r}, auth={self._auth!r})"

    def first_page_url(self, query: IssueQuery) -> str:
        """The first page's URL. Deterministic: it is the key of the page's cached ETag."""
        params = [("state", "open")]
        if query.labels:
            params.append(("labels", ",".join(quote(label, safe="") for label in query.labels)))
        if query.assignee is not None:
            params.append(("assignee", quote(query.assignee, safe="*")))
        params += [("sort", "created"), ("direction", "asc"), ("per_page", str(PER_PAGE))]
        owner, repo = quote(query.owner, safe=""), quote(query.repo, safe="")
        return f"{self._base}/repos/{owner}/{repo}/issues?" + "&".join(f"{k}={v}" for k, v in params)

    def pages(
        self,
        query: IssueQuery,
        cache: Mapping[str, CachedPage],
        page_cap: int = DEFAULT_PAGE_CAP,
        retries: Retries | None = None,
    ) -> Iterator[Page]:
        if page_cap < 1:
            raise ValueError(f"page_cap must be at least 1, got {page_cap}")
        url: str | None = self.first_page_url(query)
        index = 0
        while url is not None and index < page_cap:
            index += 1
            page = self._page(query, url, index, cache.get(url), retries)
            url = page.next_url
            full_last = url is None and page.item_count >= PER_PAGE
            if full_last and index < page_cap:
                # GitHub's ETag covers the body, not the Link header. When an issue opens a new
                # page after an exactly full last page, that page's body is unchanged, so it
                # answers 304 and its cached "no next link" would hide the new page for ever.
                # So a full last page is always followed by a conditional request for the page
                # after it: an empty page answers 200 once, then 304. In steady state that is
                # one extra 304, and only for projects whose last page is full (docs/design.md).
                url = page_after(page.url)
            if index == page_cap and (url is not None or full_last):
                page = replace(page, truncated=True)  # more may follow that this walk won't see
            elif url is not None:
                page = replace(page, continues=True)
            yield page

    def check_repo(self, owner: str, name: str) -> str | None:
        """None when the credential can see the repository, else one sentence saying why not.

        For a preflight of which repositories a credential serves. A refused or unknown credential
        is a reason too; an unavailable or rate-limited GitHub raises, as a poll would.
        """
        where = f"{owner}/{name}"
        url = f"{self._base}/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        try:
            response, header = self._get(where, url, dict(self._headers))
        except (AuthFailed, RepoNotFound) as e:  # an app installation not found, or its key refused
            return str(e)
        if response.status_code == 200:
            return None
        error = self._error(where, response, header)
        if isinstance(error, AuthFailed | RepoNotFound):
            return str(error)
        raise error

    def permission(self, owner: str, repo: str, login: str, retries: Retries | None = None) -> CollaboratorPermission:
        """The `Collaborators` port: `GET /repos/{owner}/{repo}/collaborators/{username}/permission`
        (https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user).

        GitHub answers `permission` (`admin`, `write`, `read`, `none`: `maintain` reads as `write`,
        `triage` as `read`) and `role_name`; a login it does not know is a 404, read as `none`. A
        403 that is no rate limit means the credential may not ask: WriteAccessUnreadable.
        """
        where = f"{owner}/{repo}"
        names = "/".join(quote(part, safe="") for part in (owner, repo, "collaborators", login, "permission"))
        response, header = self._get_retrying(where, f"{self._base}/repos/{names}", dict(self._headers), retries)
        rate = _rate_limit(response.headers)
        if response.status_code == 404:
            return CollaboratorPermission("none", None, rate)
        if response.status_code == 403:
            error = self._error(where, response, header)
            if isinstance(error, AuthFailed):  # no rate limit: the credential may not ask
                raise WriteAccessUnreadable(_unreadable(where, login, github_message(response, header)))
            raise error
        if response.status_code != 200:
            raise self._error(where, response, header)
        return _collaborator_permission(where, login, response, rate)

    # --- one request -----------------------------------------------------------------

    def _page(
        self, query: IssueQuery, url: str, index: int, cached: CachedPage | None, retries: Retries | None
    ) -> Page:
        headers = dict(self._headers)
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag  # verbatim: a weak W/"..." stays weak
        response, header = self._get_retrying(_repo(query), url, headers, retries)
        rate = _rate_limit(response.headers)
        etag = response.headers.get("ETag")

        if response.status_code == 304:
            if cached is None or not cached.etag:
                raise BadTrackerResponse(
                    f"GitHub answered 304 Not Modified for {_repo(query)} page {index}, "
                    "which was not asked conditionally"
                )
            logger.debug("github page %d of %s not modified", index, _repo(query))
            return Page(
                url=url,
                index=index,
                modified=False,
                etag=etag or cached.etag,
                next_url=cached.next_url,
                rate=rate,
                etag_rotated=bool(etag) and etag != cached.etag,
                item_count=cached.item_count,
            )
        if response.status_code != 200:
            raise self._error(_repo(query), response, header)

        issues, item_count = self._issues(query, response, index)
        next_url = _next_link(response)
        if next_url is not None and origin(next_url) != self._origin:
            # The token goes with every request: never follow a link off the configured host.
            raise BadTrackerResponse(f"GitHub's next link for {_repo(query)} points away from {self._origin}")
        logger.debug("github page %d of %s: %d issues", index, _repo(query), len(issues))
        return Page(
            url=url,
            index=index,
            modified=True,
            issues=issues,
            etag=etag,
            next_url=next_url,
            rate=rate,
            item_count=item_count,
        )

    def _get_retrying(
        self, where: str, url: str, headers: dict[str, str], retries: Retries | None
    ) -> tuple[requests.Response, str | None]:
        """`_get`, sent again after a 502, 503 or 504, a reset or a timeout while `retries` allows.

        A GET is idempotent, so a retry cannot do anything twice. Whatever answer is last (a
        success, another failure, or a failure not worth retrying) is the caller's.
        """
        attempt = 1
        while True:
            try:
                response, header = self._get(where, url, headers)
            except TrackerUnavailable as e:
                if not (e.retryable and retries is not None and retries.allow(e, attempt)):
                    raise
            else:
                if response.status_code not in RETRYABLE_STATUSES or retries is None:
                    return response, header
                error = self._error(where, response, header)
                if not retries.allow(error, attempt):
                    return response, header
            attempt += 1
            logger.info("retrying %s after a transient failure (attempt %d)", where, attempt)

    def _get(self, where: str, url: str, headers: dict[str, str]) -> tuple[requests.Response, str | None]:
        """GitHub's answer, and the Authorization header it answered (to scrub from its message).

        A 401 with a credential that can be refreshed (an expired or revoked installation token)
        is tried once more with a fresh one; a second 401 is the caller's to report.
        """
        header = self._auth.header()
        response = self._send(where, url, headers, header)
        if response.status_code == 401 and self._auth.refresh():
            logger.info("github refused the credential for %s: trying once more with a fresh one", where)
            header = self._auth.header()
            response = self._send(where, url, headers, header)
        return response, header

    def _send(self, where: str, url: str, headers: dict[str, str], header: str | None) -> requests.Response:
        if header is not None:
            headers = {**headers, "Authorization": header}
        if self._gate is None:
            return send(self._session, "GET", url, headers=headers, timeout=self._timeout, where=where)
        with self._gate:
            return send(self._session, "GET", url, headers=headers, timeout=self._timeout, where=where)

    def _issues(self, query: IssueQuery, response: requests.Response, index: int) -> tuple[tuple[Issue, ...], int]:
        """The page's issues (pull requests dropped unless asked for) and its item count."""
        try:
            body = response.json()
        except ValueError as e:  # requests.JSONDecodeError, or a body that is not UTF-8
            raise BadTrackerResponse(f"GitHub's page {index} for {_repo(query)} is not valid JSON") from e
        if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
            raise BadTrackerResponse(f"GitHub's page {index} for {_repo(query)} is not a JSON list of issues")
        issues = []
        for item in body:
            try:
                issue = _to_issue(query, item)
            except (KeyError, TypeError, ValueError) as e:
                raise BadTrackerResponse(
                    f"GitHub's page {index} for {_repo(query)} has an issue intake cannot read: {e}"
                ) from e
            if self._include_pull_requests or not issue.is_pull_request:
                issues.append(issue)
        return tuple(issues), len(body)

    # --- failures --------------------------------------------------------------------

    def _error(self, where: str, response: requests.Response, header: str | None) -> TrackerError:
        status = response.status_code
        said = github_message(response, header)
        if status in (403, 429):
            limited = rate_limit_error(response, said, where, self._now())
            if limited is not None:
                return limited
        if status == 401 or status == 403:
            return AuthFailed(f"GitHub refused access to {where} ({status}{': ' + said if said else ''})")
        if status in (404, 410):
            return RepoNotFound(f"repository {where} not found or not visible to this token ({status})")
        if status >= 500:
            return TrackerUnavailable(
                f"GitHub is unavailable ({status}) for {where}",
                retryable=status in RETRYABLE_STATUSES,
                retry_at=_retry_after(response.headers.get("retry-after"), self._now()),
            )
        return BadTrackerResponse(
            f"GitHub answered {status} for {where}, which intake does not expect" + (f": {said}" if said else "")
        )

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)


# --- what GitHub's adapters share ----------------------------------------------------


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    timeout: tuple[float, float],
    where: str,
    json: Any = None,
) -> requests.Response:
    """One request to GitHub; a transport failure leaves as a `TrackerError` naming `where`."""
    try:
        return session.request(method, url, headers=dict(headers), timeout=timeout, allow_redirects=True, json=json)
    except requests.Timeout as e:
        raise TrackerUnavailable(f"GitHub did not answer in time for {where}", retryable=True) from e
    except (requests.exceptions.SSLError, requests.exceptions.ProxyError) as e:
        # ConnectionErrors too, but no blip: a certificate or a proxy setting to fix.
        what = (
            "its TLS certificate did not verify" if isinstance(e, requests.exceptions.SSLError) else "the proxy refused"
        )
        raise TrackerMisconfigured(f"cannot reach GitHub at {origin(url)} for {where}: {what}") from e
    except requests.exceptions.ChunkedEncodingError as e:
        raise TrackerUnavailable(f"GitHub's answer for {where} was cut off", retryable=True) from e
    except requests.ConnectionError as e:
        raise TrackerUnavailable(
            f"cannot reach GitHub at {origin(url)} for {where}: the connection failed", retryable=True
        ) from e
    except requests.TooManyRedirects as e:
        raise BadTrackerResponse(f"GitHub redirected too many times for {where}") from e
    except requests.RequestException as e:
        raise TrackerUnavailable(f"the request to GitHub for {where} could not be sent") from e


def rate_limit_error(response: requests.Response, said: str, where: str, now: datetime) -> TrackerError | None:
    """The primary or secondary rate limit a 403 or 429 reports, or None when it reports neither."""
    headers = response.headers
    lowered = said.lower()
    # A proxy may strip the x-ratelimit-* headers; GitHub's own wording still tells.
    spent = headers.get("x-ratelimit-remaining", "").strip() == "0" or (
        "x-ratelimit-remaining" not in headers and "api rate limit exceeded" in lowered
    )
    if spent:
        reset_at = _epoch(headers.get("x-ratelimit-reset")) or now + PRIMARY_LIMIT_FALLBACK_WAIT
        return PrimaryRateLimited(
            reset_at, f"GitHub rate limit for this token is spent until {reset_at:%H:%M} UTC ({where})"
        )
    retry_at = _retry_after(headers.get("retry-after"), now)
    mentions_limit = "secondary rate limit" in lowered or "abuse" in lowered
    if retry_at is not None or mentions_limit or response.status_code == 429:
        retry_at = retry_at or now + SECONDARY_LIMIT_MIN_WAIT
        return SecondaryRateLimited(
            retry_at, f"GitHub secondary rate limit: retry {where} after {retry_at:%H:%M:%S} UTC"
        )
    return None


def scrub(text: str, header: str | None) -> str:
    """`text` without the secret the Authorization header carried (GitHub may echo it)."""
    secret = secret_of(header)
    return text.replace(secret, "***") if secret else text


# --- mapping -------------------------------------------------------------------------


def _to_issue(query: IssueQuery, item: Mapping[str, Any]) -> Issue:
    number = item["number"]
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise ValueError(f"number {number!r} is not a positive integer")
    title, url = item.get("title"), item.get("html_url")
    if not isinstance(title, str) or not isinstance(url, str):
        raise ValueError(f"issue {number} has no title or html_url")
    labels = item.get("labels") or []
    if not isinstance(labels, list):
        raise ValueError(f"issue {number} labels are not a list")
    return Issue(
        owner=query.owner,
        repo=query.repo,
        number=number,
        title=title,
        url=url,
        labels=label_names(labels),
        assignees=_assignee_logins(item),
        body=body if isinstance(body := item.get("body"), str) else "",
        created_at=_timestamp(item.get("created_at")),
        updated_at=_timestamp(item.get("updated_at")),
        state=str(item.get("state") or "open"),
        is_pull_request="pull_request" in item,
        author=_login(item.get("user")),
        author_association=association if isinstance(association := item.get("author_association"), str) else None,
        extra={"id": item.get("id"), "node_id": item.get("node_id")},
    )


def _collaborator_permission(
    where: str, login: str, response: requests.Response, rate: RateLimit
) -> CollaboratorPermission:
    try:
        body = response.json()
    except ValueError as e:
        raise BadTrackerResponse(f"GitHub's permission of {login} on {where} is not valid JSON") from e
    permission = body.get("permission") if isinstance(body, dict) else None
    if not isinstance(permission, str) or not permission:
        raise BadTrackerResponse(f"GitHub's answer on {login}'s permission on {where} names no permission")
    role = body.get("role_name")
    return CollaboratorPermission(permission.lower(), role if isinstance(role, str) and role else None, rate)


def _unreadable(where: str, login: str, said: str) -> str:
    """What a 403 on a collaborator's permission means, and what to grant."""
    return (
        f"GitHub refused to say whether {login} may write to {where} (403{': ' + said if said else ''}): "
        "the credential must be able to read collaborators' permissions. A token's account needs push "
        "access to the repository (a classic token also the repo scope on a private one); a fine-grained "
        "token or a GitHub App needs the repository permission Metadata: read. Or switch the check off "
        "with trackerIntake.memberWriteCheck: false (README, 'Who may start a session')"
    )


def _login(user: Any) -> str | None:
    login = user.get("login") if isinstance(user, Mapping) else None
    return login if isinstance(login, str) else None


def _assignee_logins(item: Mapping[str, Any]) -> tuple[str, ...]:
    people = item.get("assignees")
    if not isinstance(people, list):
        single = item.get("assignee")
        people = [single] if single else []
    return tuple(p["login"] for p in people if isinstance(p, Mapping) and isinstance(p.get("login"), str))


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    moment = datetime.fromisoformat(value)  # "2024-05-01T12:00:00Z" (3.11 reads the Z)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- headers -------------------------------------------------------------------------


def _rate_limit(headers: Mapping[str, str]) -> RateLimit:
    remaining, limit = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-limit")
    return RateLimit(
        remaining=int(remaining) if remaining and remaining.strip().isdigit() else None,
        reset_at=_epoch(headers.get("x-ratelimit-reset")),
        resource=headers.get("x-ratelimit-resource") or None,
        limit=int(limit) if limit and limit.strip().isdigit() else None,
    )


def _epoch(value: str | None) -> datetime | None:
    if value is None or not value.strip().isdigit():
        return None
    return datetime.fromtimestamp(int(value.strip()), UTC)


def _retry_after(value: str | None, now: datetime) -> datetime | None:
    """`retry-after` as delta-seconds or as an HTTP-date (RFC 9110 allows both)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return max(moment.astimezone(UTC), now)


def page_after(url: str) -> str:
    """The URL of the page after `url`: its `page` parameter plus one (absent means page 1).

    The other parameters keep their exact encoding, so the URL is a stable cache key.
    """
    base, _, raw_query = url.partition("?")
    parts = [part for part in raw_query.split("&") if part]
    number = 1
    kept = []
    for part in parts:
        name, _, value = part.partition("=")
        if name == "page":
            number = int(value) if value.isdigit() else 1
        else:
            kept.append(part)
    return f"{base}?" + "&".join([*kept, f"page={number + 1}"])


def _next_link(response: requests.Response) -> str | None:
    link = response.links.get("next")
    url = link.get("url") if link else None
    return url or None


def github_message(response: requests.Response, header: str | None) -> str:
    """GitHub's `message`, on one line and capped (it is quoted in error messages), without the
    secret the request's Authorization `header` carried.

    Scrubbed before it is cut: a cut would leave the head of a long secret (a JWT) that no longer
    matches it whole.
    """
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return " ".join(scrub(message, header).split())[:_MESSAGE_CAP] if isinstance(message, str) else ""


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _repo(query: IssueQuery) -> str:
    return f"{query.owner}/{query.repo}"
