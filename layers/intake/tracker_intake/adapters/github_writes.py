"""The GitHub adapter of the `IssueWriter` port: the writes an acknowledgement makes on an issue.

A reaction (`POST .../issues/{n}/reactions`: 201 created, 200 when it exists), a comment
(`POST .../issues/{n}/comments`, and `GET` of them to find one an interrupted delivery may have
left), and a label (`POST .../issues/{n}/labels`, which keeps the labels the issue has). Every
failure leaves as a typed error: `WriteRefused` for what trying again cannot fix, another
`TrackerError` for what it may (rate limits, 5xx, timeouts).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests

from tracker_intake.adapters.github import API_VERSION, github_message, origin, rate_limit_error, send
from tracker_intake.adapters.github_auth import GitHubAuth
from tracker_intake.domain.errors import BadTrackerResponse, TrackerError, TrackerUnavailable, WriteRefused
from tracker_intake.domain.issue import IssueRef, TrackerRef
from tracker_intake.domain.ports import Clock

logger = logging.getLogger(__name__)

# Comments are looked for only after an interrupted write, from the moment it started: a page
# or two at most, and never more than these.
MAX_COMMENT_PAGES = 10
_REFUSED = (401, 403, 404, 410, 422)


class GitHubIssueWriter:
    """Writes on issues with one credential, over one `requests.Session`."""

    def __init__(
        self,
        base_url: str,
        auth: GitHubAuth,
        *,
        user_agent: str,
        timeout: tuple[float, float] = (3.05, 10.0),
        session: requests.Session | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._origin = origin(self._base)
        self._auth = auth
        self._timeout = timeout
        self._session = session or requests.Session()
        self._clock = clock
        self._headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": user_agent,
        }

    def __repr__(self) -> str:  # never show the credential
        return f"GitHubIssueWriter({self._base!r}, auth={self._auth!r})"

    def add_reaction(self, issue: TrackerRef, content: str) -> str | None:
        self._call("POST", issue, "reactions", "the reaction", {"content": content})
        return None

    def add_comment(self, issue: TrackerRef, body: str) -> str | None:
        answer = self._call("POST", issue, "comments", "the comment", {"body": body})
        return _html_url(answer)

    def add_label(self, issue: TrackerRef, label: str) -> str | None:
        self._call("POST", issue, "labels", f"the label {label!r}", {"labels": [label]})
        return None

    def find_comment(self, issue: TrackerRef, containing: str, since: datetime) -> str | None:
        moment = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        url: str | None = f"{self._issue_url(issue)}/comments?since={moment}&per_page=100"
        for _ in range(MAX_COMMENT_PAGES):
            if url is None:
                return None
            response = self._send("GET", url, issue, "the comments", None)
            comments = _json(response, issue)
            if not isinstance(comments, list):
                raise BadTrackerResponse(f"GitHub's comments of {_where(issue)} are not a JSON list")
            for comment in comments:
                body = comment.get("body") if isinstance(comment, dict) else None
                if isinstance(body, str) and containing in body:
                    return _html_url(comment)
            link = response.links.get("next", {}).get("url")
            url = link if link and origin(link) == self._origin else None
        return None

    # --- requests ------------------------------------------------------------------------------

    def _issue_url(self, issue: TrackerRef) -> str:
        if not isinstance(issue, IssueRef):
            raise WriteRefused(f"{issue.canonical_id} is not a GitHub issue; a GitHub credential cannot write on it")
        owner, repo = quote(issue.owner, safe=""), quote(issue.repo, safe="")
        return f"{self._base}/repos/{owner}/{repo}/issues/{issue.number}"

    def _call(self, method: str, issue: TrackerRef, path: str, what: str, body: Mapping[str, Any]) -> Any:
        response = self._send(method, f"{self._issue_url(issue)}/{path}", issue, what, body)
        return _json(response, issue)

    def _send(
        self, method: str, url: str, issue: TrackerRef, what: str, body: Mapping[str, Any] | None
    ) -> requests.Response:
        where = _where(issue)
        header = self._auth.header()
        response = self._once(method, url, where, header, body)
        if response.status_code == 401 and self._auth.refresh():
            header = self._auth.header()
            response = self._once(method, url, where, header, body)
        if 200 <= response.status_code < 300:
            return response
        raise self._error(response, header, f"{what} on {where}")

    def _once(
        self, method: str, url: str, where: str, header: str | None, body: Mapping[str, Any] | None
    ) -> requests.Response:
        headers = {**self._headers, **({"Authorization": header} if header else {})}
        return send(self._session, method, url, headers=headers, timeout=self._timeout, where=where, json=body)

    def _error(self, response: requests.Response, header: str | None, what: str) -> TrackerError:
        status = response.status_code
        said = github_message(response, header)
        if status in (403, 429):
            limited = rate_limit_error(response, said, what, self._now())
            if limited is not None:
                return limited
        if status in _REFUSED:
            return WriteRefused(f"GitHub refused {what} ({status}{': ' + said if said else ''})")
        if status >= 500:
            return TrackerUnavailable(f"GitHub is unavailable ({status}) for {what}")
        return BadTrackerResponse(f"GitHub answered {status} to {what}, which intake does not expect")

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)


def _json(response: requests.Response, issue: TrackerRef) -> Any:
    try:
        return response.json()
    except ValueError as e:
        raise BadTrackerResponse(f"GitHub's answer for {_where(issue)} is not valid JSON") from e


def _html_url(answer: Any) -> str | None:
    url = answer.get("html_url") if isinstance(answer, dict) else None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def _where(issue: TrackerRef) -> str:
    if isinstance(issue, IssueRef):
        return f"{issue.owner}/{issue.repo}#{issue.number}"
    return issue.canonical_id
