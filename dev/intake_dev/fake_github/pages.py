"""Listings served a page at a time: an issue listing and an issue's comments, with `Link` headers and
ETags (https://docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from .faults import _Fault
from .limits import _Bucket, _rate_headers, _RateLimits
from .repos import FakeRepo
from .wire import _int, _json_type, _parse_since, _Response


class _IssuePages(_RateLimits):
    """The listings' pages, their links, and their 304s."""

    per_page_default: int

    def _issues_page(
        self,
        repo: FakeRepo,
        raw_query: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        identity: str,
        bucket: _Bucket,
        fault: _Fault | None,
    ) -> _Response:
        per_page = min(max(_int(query.get("per_page"), self.per_page_default), 1), 100)
        page = max(_int(query.get("page"), 1), 1)
        listing = repo._listing(query)
        last = max((len(listing) + per_page - 1) // per_page, 1)
        rows = [repo._render(stored) for stored in listing[(page - 1) * per_page : page * per_page]]
        link = self._link(repo, raw_query, page, last)
        body = json.dumps(rows, ensure_ascii=False).encode()
        etag = _etag(repo, body, identity)
        out = {"ETag": etag, **({"Link": link} if link else {})}
        if fault is not None:  # vanish_after_first_page: answer this page, then change the repo
            served = {row["number"] for row in rows}
            everything = {row["number"] for row in listing}
            closing = served if fault.params.get("mode", "rest") == "served" else everything - served
            for number in closing:
                repo._issues[number]["state"] = "closed"
                repo._issues[number]["updated_at"] = self._tick()
        return self._conditional(body, out, headers, identity, bucket)

    def _comments_page(
        self,
        repo: FakeRepo,
        number: int,
        raw_query: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        identity: str,
        bucket: _Bucket,
    ) -> _Response:
        """One page of an issue's comments: ascending by id, `since` on updated_at, `Link`s and ETag."""
        per_page = min(max(_int(query.get("per_page"), 30), 1), 100)
        page = max(_int(query.get("page"), 1), 1)
        since = _parse_since(query.get("since"))
        listing = [c for c in repo._comments.get(number, []) if since is None or c["at"] >= since]
        last = max((len(listing) + per_page - 1) // per_page, 1)
        rows = [repo._render_comment(number, c) for c in listing[(page - 1) * per_page : page * per_page]]
        link = self._link(repo, raw_query, page, last, f"issues/{number}/comments")
        body = json.dumps(rows, ensure_ascii=False).encode()
        out = {"ETag": _etag(repo, body, identity), **({"Link": link} if link else {})}
        return self._conditional(body, out, headers, identity, bucket)

    def _conditional(
        self, body: bytes, out: dict[str, str], headers: Mapping[str, str], identity: str, bucket: _Bucket
    ) -> _Response:
        """A listing's 200, or its 304 when If-None-Match names its ETag."""
        if _etag_matches(headers.get("if-none-match"), out["ETag"]):
            if identity == "anonymous":  # only an authorized 304 is free of the primary limit
                return self._spend(bucket, _Response(304, b"", out))
            return _Response(304, b"", {**_rate_headers(bucket), **out})
        return self._spend(bucket, _Response(200, body, {**_json_type(), **out}))

    def _link(self, repo: FakeRepo, raw_query: str, page: int, last: int, listing: str = "issues") -> str:
        if last <= 1:
            return ""
        kept = [part for part in raw_query.split("&") if part and not part.startswith("page=")]

        def url(n: int) -> str:
            return f"{self.base_url}/repositories/{repo.repo_id}/{listing}?" + "&".join([*kept, f"page={n}"])

        links = []
        if page > 1:
            links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
        if page < last:
            links.append(f'<{url(page + 1)}>; rel="next"')
            links.append(f'<{url(last)}>; rel="last"')
        if page > 1:
            links.append(f'<{url(1)}>; rel="first"')
        return ", ".join(links)


def _etag(repo: FakeRepo, body: bytes, identity: str) -> str:
    """The body and the credential, never the Link header: GitHub's ETags work that way."""
    digest = hashlib.sha256(body + identity.encode()).hexdigest()
    return f'W/"{digest}"' if repo.weak_etags else f'"{digest}"'


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison, which is what If-None-Match uses."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(candidate.strip().removeprefix("W/") == opaque for candidate in if_none_match.split(","))
