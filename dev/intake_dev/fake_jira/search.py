"""`GET` and `POST /rest/api/3/search/jql`, "Search for issues using JQL enhanced search"
(https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/).

- Parameters (query string for GET, JSON body for POST): `jql`, `fields` (GET: comma-separated
  or repeated; POST: a list), `maxResults`, `nextPageToken`. Other parameters are ignored.
- Without `fields` each issue is only `{"id": ...}` (the field's default is `id`; the migration
  notes: "Only Issue IDs are returned by default"). `*all` and `*navigable` ask for every field.
- `maxResults` defaults to 50 (as client libraries generated from the reference give it). The
  page says the API "may return fewer items per page where a large number of fields ... are
  requested" and that the most, 5000, comes when requesting only `id` or `key`; with other fields
  the stand-in caps a page at 100 (what clients report seeing; configurable).
- The answer is `{"issues": [...], "nextPageToken": "...", "isLast": false}`, the token absent
  on the last page (`isLast: true`). Whether an exactly full last page already says `isLast: true`
  the page does not say: it does here, and `full_last_page_is_last=False` makes it hand a token
  whose page is empty instead. There is no `total`, `startAt` or `maxResults`. A token is
  opaque, tied to its JQL, and "will expire in 7 days"; a bad one is a 400.
- The walk is keyset: a token remembers the sort position of the last issue it returned, so an
  issue changed during the walk is seen where it now sorts (with `ORDER BY updated ASC` an issue
  updated mid-walk comes again later, never skipped). The adapter should sort `ORDER BY updated
  ASC` for a watermark; `DESC` lets an issue updated mid-walk jump ahead of the cursor and be missed.
- An empty JQL is refused: "Unbounded JQL queries ... will result in a 400 Bad Request".
- The old `/rest/api/3/search` (and `/rest/api/2/search`) was removed (CHANGE-2046): it answers
  410 Gone with `{"errorMessages": ["The requested API has been removed. Please migrate to the
  /rest/api/3/search/jql API. A full migration guideline is available at
  https://developer.atlassian.com/changelog/#CHANGE-2046"], "errors": {}}`.
- A JQL error is a 400 `{"errorMessages": [...], "warningMessages": []}`.
- Search is eventually consistent (`workspace`): it reads `Workspace.indexed`, not the live issue,
  except for the issues named in `reconcileIssues` (numeric ids, at most 50; POST: a list, GET:
  comma-separated), which are matched and rendered as they are now ("Strong consistency issue ids
  to be reconciled with search results", the request's `reconcileIssues`). More than 50 is a 400.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from .fields import Searcher, compile_query
from .jql import JqlError, parse
from .render import View, issue, wanted_fields
from .wire import Response, error_response, json_response
from .workspace import IssueSnapshot

REMOVED_MESSAGE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration "
    "guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
DEFAULT_MAX_RESULTS = 50
MAX_RESULTS_WITH_FIELDS = 100
MAX_RESULTS_IDS_ONLY = 5000
TOKEN_LIFETIME_MS = 7 * 24 * 3600 * 1000
MAX_RECONCILE = 50


@dataclass(frozen=True)
class SearchRequest:
    jql: str
    fields: list[str] | None
    max_results: int | None
    next_page_token: str | None
    reconcile: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Cursor:
    jql: str
    after: tuple[object, ...]
    expires_ms: int


def removed() -> Response:
    return error_response(410, [REMOVED_MESSAGE])


def jql_error(message: str) -> Response:
    return json_response(400, {"errorMessages": [message], "warningMessages": []})


def read_request(method: str, query: str, body: bytes) -> SearchRequest | Response:
    """The search's parameters, or the 400 a malformed request gets."""
    if method == "GET":
        params = parse_qs(query, keep_blank_values=True)
        fields = [f.strip() for value in params.get("fields", []) for f in value.split(",") if f.strip()]
        raw: dict[str, Any] = {k: v[-1] for k, v in params.items()}
        raw["fields"] = fields or None
        reconcile = [r.strip() for value in params.get("reconcileIssues", []) for r in value.split(",") if r.strip()]
        raw["reconcileIssues"] = reconcile or None
    else:
        try:
            raw = json.loads(body or b"{}")
        except ValueError:
            return error_response(400, ["Unexpected character in the request body: it is not JSON."])
        if not isinstance(raw, dict):
            return error_response(400, ["The request body must be a JSON object."])
    return _validated(raw)


def _validated(raw: dict[str, Any]) -> SearchRequest | Response:
    jql, fields, token = raw.get("jql", ""), raw.get("fields"), raw.get("nextPageToken")
    if not isinstance(jql, str) or (fields is not None and not _strings(fields)):
        return error_response(400, ["jql must be a string and fields a list of strings."])
    max_results = raw.get("maxResults")
    if max_results is not None:
        try:
            max_results = int(max_results)
        except (TypeError, ValueError):
            return error_response(400, [f"The value '{max_results}' for maxResults is not a number."])
    reconcile = raw.get("reconcileIssues") or []
    if not isinstance(reconcile, list) or not all(str(i).isdigit() for i in reconcile):
        return error_response(400, ["reconcileIssues must be a list of issue ids."])
    if len(reconcile) > MAX_RECONCILE:
        return error_response(400, [f"reconcileIssues accepts at most {MAX_RECONCILE} issue ids."])
    page_token = token if isinstance(token, str) and token else None
    return SearchRequest(jql, fields, max_results, page_token, frozenset(str(i) for i in reconcile))


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


class Pages:
    """The page tokens handed out so far."""

    def __init__(
        self,
        max_with_fields: int = MAX_RESULTS_WITH_FIELDS,
        max_ids_only: int = MAX_RESULTS_IDS_ONLY,
        full_last_page_is_last: bool = True,
    ) -> None:
        self.cursors: dict[str, _Cursor] = {}
        self.max_with_fields = max_with_fields
        self.max_ids_only = max_ids_only
        self.full_last_page_is_last = full_last_page_is_last

    def page_size(self, request: SearchRequest) -> int:
        ids_only = not request.fields or set(request.fields) <= {"id", "key"}
        ceiling = self.max_ids_only if ids_only else self.max_with_fields
        return max(1, min(request.max_results or DEFAULT_MAX_RESULTS, ceiling))

    def search(
        self, request: SearchRequest, searcher: Searcher, candidates: list[IssueSnapshot], view: View
    ) -> tuple[Response, int]:
        """The page the request asks for, and how many issues it holds."""
        try:
            matches, key = compile_query(parse(request.jql), searcher)
        except JqlError as e:
            return jql_error(str(e)), 0
        after: tuple[object, ...] | None = None
        if request.next_page_token is not None:
            cursor = self.cursors.get(request.next_page_token)
            if cursor is None or cursor.jql != request.jql or cursor.expires_ms <= searcher.now_ms:
                return error_response(400, ["The provided next page token is invalid or expired."]), 0
            after = cursor.after
        found = sorted((i for i in candidates if matches(i)), key=key)
        if after is not None:
            found = [i for i in found if after < key(i)]
        return self._page(request, found, key, view, searcher.now_ms)

    def _page(
        self,
        request: SearchRequest,
        found: list[IssueSnapshot],
        key: Callable[[IssueSnapshot], tuple[object, ...]],
        view: View,
        now_ms: int,
    ) -> tuple[Response, int]:
        size = self.page_size(request)
        page = found[:size]
        more = len(found) > size or (not self.full_last_page_is_last and len(found) == size)
        fields = wanted_fields(request.fields)
        body: dict[str, Any] = {"issues": [issue(view, i, fields) for i in page]}
        if more:
            token = secrets.token_urlsafe(24)
            self.cursors[token] = _Cursor(request.jql, key(page[-1]), now_ms + TOKEN_LIFETIME_MS)
            body["nextPageToken"] = token
        body["isLast"] = not more
        return json_response(200, body), len(page)
