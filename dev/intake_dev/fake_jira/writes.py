"""Writes to an issue: comments and labels, and what they do to the issue's `updated`.

- "Add comment", `POST /rest/api/3/issue/{issueIdOrKey}/comment`
  (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-comments/): in v3
  the `body` is an Atlassian Document Format document, `{"type": "doc", "version": 1, "content":
  [...]}` whose nodes each have a `type` (and a text node its `text`)
  (https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/). A plain string,
  or anything else, is a 400 `{"errorMessages": [], "errors": {"comment": "Comment body is not
  valid!"}}`, what v3 answers. A created comment is a 201 with `id`, `self`, `author`, `body`,
  `created`, `updated`.
- "Get comments", `GET /rest/api/3/issue/{issueIdOrKey}/comment`: `startAt` (0), `maxResults`
  (5000 by default; the stand-in's reading of the reference, not re-checked), `orderBy`
  `created` / `+created` / `-created`; answers `{"startAt", "maxResults", "total", "comments"}`
  (a page of comments does carry `total`).
- "Edit issue", `PUT /rest/api/3/issue/{issueIdOrKey}`
  (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-put):
  `{"update": {"labels": [{"add": "x"}, {"remove": "y"}, {"set": [...]}]}}` or `{"fields":
  {"labels": [...]}}`, answered 204 with no body. The stand-in serves only `labels`; another
  field is a 400 `errors` entry "Field 'x' cannot be set. It is not on the appropriate screen, or
  unknown.". A label with a space: "The label 'a b' contains spaces which is invalid.".
- Writes bump the issue's `updated` (a comment too, as Jira does; `comment_bumps_updated=False`
  turns that off); adding a label the issue has, or removing one it lacks, changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from .render import View, comment
from .wire import Response, error_response, json_response
from .workspace import Comment, Issue, Workspace, _labels

_INVALID_COMMENT = {"comment": "Comment body is not valid!"}
COMMENTS_MAX_RESULTS = 5000


def valid_adf(node: Any, top: bool = True) -> bool:
    """Whether `node` is an ADF document (at the top) or node: a dict with a string `type`."""
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        return False
    if top and (node["type"] != "doc" or node.get("version") != 1 or not isinstance(node.get("content"), list)):
        return False
    if node["type"] == "text" and not isinstance(node.get("text"), str):
        return False
    content = node.get("content", [])
    return isinstance(content, list) and all(valid_adf(child, top=False) for child in content)


class Writes(Workspace):
    comment_bumps_updated: bool

    def add_comment(self, issue: Issue, body: bytes, author: str, view: View) -> Response:
        payload = _json(body)
        adf = payload.get("body") if isinstance(payload, dict) else None
        if not valid_adf(adf):
            return error_response(400, [], _INVALID_COMMENT)
        assert isinstance(adf, dict)
        now = self.now_ms()
        created = Comment(self._new_id(), issue.current.id, author, adf, now, now)
        self.comment_store[created.id] = created
        if self.comment_bumps_updated:
            self._commit(issue, now)
        return json_response(201, comment(view, created))

    def list_comments(self, issue: Issue, query: str, view: View) -> tuple[Response, int]:
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        try:
            start_at = max(0, int(params.get("startAt", "0")))
            max_results = max(0, int(params.get("maxResults", str(COMMENTS_MAX_RESULTS))))
        except ValueError:
            return error_response(400, ["startAt and maxResults must be numbers."]), 0
        order = params.get("orderBy", "created")
        if order.lstrip("+-") != "created":
            return error_response(400, [f"Invalid orderBy value '{order}'."]), 0
        found = self.comments(issue.current.id)
        if order.startswith("-"):
            found.reverse()
        page = found[start_at : start_at + max_results]
        body = {
            "startAt": start_at,
            "maxResults": max_results,
            "total": len(found),
            "comments": [comment(view, c) for c in page],
        }
        return json_response(200, body), len(page)

    def edit_issue(self, issue: Issue, body: bytes) -> Response:
        payload = _json(body)
        if not isinstance(payload, dict):
            return error_response(400, ["The request body must be a JSON object."])
        fields, update = payload.get("fields") or {}, payload.get("update") or {}
        if not isinstance(fields, dict) or not isinstance(update, dict):
            return error_response(400, ["fields and update must be JSON objects."])
        unknown = {name for name in (*fields, *update) if name != "labels"}
        if unknown:
            message = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
            return error_response(400, [], {name: message.format(name) for name in sorted(unknown)})
        labels, problem = _edited_labels(list(issue.current.labels), fields, update)
        if problem is not None:
            return error_response(400, [], {"labels": problem})
        if tuple(labels) != issue.current.labels:
            self._commit(issue, self.now_ms(), labels=_labels(labels))
        return Response(204)


def _edited_labels(labels: list[str], fields: dict[str, Any], update: dict[str, Any]) -> tuple[list[str], str | None]:
    if "labels" in fields:
        labels = fields["labels"] if isinstance(fields["labels"], list) else []
    operations = update.get("labels", [])
    if not isinstance(operations, list):
        return labels, "The labels update must be a list of operations."
    for operation in operations:
        if not isinstance(operation, dict) or len(operation) != 1:
            return labels, "Each labels operation is one of add, remove or set."
        ((verb, value),) = operation.items()
        if verb not in _LABEL_VERBS:
            return labels, f"The operation '{verb}' is not supported by the labels field."
        labels = _LABEL_VERBS[verb](labels, value)
    return labels, _label_problem(labels)


_LABEL_VERBS: dict[str, Callable[[list[str], Any], list[str]]] = {
    "add": lambda labels, value: labels if value in labels else [*labels, value],
    "remove": lambda labels, value: [label for label in labels if label != value],
    "set": lambda labels, value: list(value) if isinstance(value, list) else [],
}


def _label_problem(labels: list[str]) -> str | None:
    for label in labels:
        if not isinstance(label, str) or not label or any(c.isspace() for c in label):
            return f"The label '{label}' contains spaces which is invalid."
    return None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None
