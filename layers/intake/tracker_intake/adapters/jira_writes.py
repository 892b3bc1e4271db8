"""The Jira Cloud adapter of the `IssueWriter` port: the acknowledgement's comment or label.

Jira Cloud (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-comments/,
/api-group-issues/#api-rest-api-3-issue-issueidorkey-put,
https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/):
- a comment is `POST /rest/api/3/issue/{id}/comment` whose `body` is an Atlassian Document
  Format document (v3 takes no plain string); the text is written as paragraphs, the claim's
  marker included (Jira has no hidden text), and found again in the issue's recent comments;
- a label is `PUT /rest/api/3/issue/{id}` with `{"update": {"labels": [{"add": ...}]}}`;
- Jira has no reactions: a project acknowledging with one is refused by its rule, and a
  reaction asked anyway is refused here.
Each write is sent once: a retry could write twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tracker_intake.adapters.jira import adf_text, jira_time
from tracker_intake.adapters.jira_http import JiraClient
from tracker_intake.domain.errors import BadTrackerResponse, TrackerError, WriteRefused
from tracker_intake.domain.issue import JiraRef, TrackerRef

# Comments read when looking for the acknowledgement's own: the newest.
COMMENTS_LOOKED_AT = 50


class JiraIssueWriter:
    """Writes on Jira Cloud issues with one credential."""

    def __init__(self, client: JiraClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"JiraIssueWriter({self._client!r})"

    def add_reaction(self, issue: TrackerRef, content: str) -> str | None:
        ref = _jira(issue)
        raise WriteRefused(f"Jira has no reactions: {ref.canonical_id} can be acknowledged by a comment or a label")

    def add_comment(self, issue: TrackerRef, body: str) -> str | None:
        ref = _jira(issue)
        answer = self._write("POST", f"/rest/api/3/issue/{ref.issue_id}/comment", {"body": adf(body)}, ref)
        comment = answer if isinstance(answer, dict) else {}
        return _browse(ref, comment.get("id"))

    def find_comment(self, issue: TrackerRef, containing: str, since: datetime) -> str | None:
        ref = _jira(issue)
        params = {"orderBy": "-created", "maxResults": str(COMMENTS_LOOKED_AT)}
        where = f"the comments on {ref.canonical_id}"
        data = self._client.call("GET", f"/rest/api/3/issue/{ref.issue_id}/comment", where, params=params).data
        comments = data.get("comments") if isinstance(data, dict) else None
        if not isinstance(comments, list):
            raise BadTrackerResponse(f"Jira's comments of {ref.canonical_id} are not a list")
        for comment in comments:
            if not isinstance(comment, dict):
                continue
            moment = jira_time(comment.get("updated") or comment.get("created"))
            if moment is not None and moment >= since and containing in adf_text(comment.get("body")):
                return _browse(ref, comment.get("id"))
        return None

    def add_label(self, issue: TrackerRef, label: str) -> str | None:
        ref = _jira(issue)
        self._write("PUT", f"/rest/api/3/issue/{ref.issue_id}", {"update": {"labels": [{"add": label}]}}, ref)
        return None

    def _write(self, method: str, path: str, body: dict[str, Any], ref: JiraRef) -> Any:
        try:
            return self._client.call(method, path, f"a write on {ref.canonical_id}", json=body).data
        except TrackerError as e:
            if type(e) is BadTrackerResponse:  # Jira refused the write itself: trying again cannot help
                raise WriteRefused(str(e)) from e
            raise


def adf(text: str) -> dict[str, Any]:
    """Plain text as an ADF document: a paragraph per block, lines kept apart by hard breaks."""
    blocks = [block for block in text.split("\n\n") if block.strip()]
    return {"type": "doc", "version": 1, "content": [_paragraph(block) for block in blocks]}


def _paragraph(block: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for n, line in enumerate(block.split("\n")):
        if n:
            content.append({"type": "hardBreak"})
        if line:
            content.append({"type": "text", "text": line})
    return {"type": "paragraph", "content": content}


def _jira(issue: TrackerRef) -> JiraRef:
    if not isinstance(issue, JiraRef):
        raise WriteRefused(f"{issue.canonical_id} is not a Jira issue; a Jira credential cannot write on it")
    return issue


def _browse(ref: JiraRef, comment_id: Any) -> str | None:
    """The comment's link: the issue's page on the site, focused on the comment."""
    if comment_id is None:
        return None
    return f"https://{ref.site}/browse/{ref.issue_id}?focusedCommentId={comment_id}"
