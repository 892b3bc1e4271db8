"""Domain errors and refused requests to HTTP: the one place where that mapping lives.

Every refusal answers `{"message": ..., "errors": [{"field": ..., "reason": ...}]}`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from pydantic import ValidationError

from ..domain.config import FieldProblem, field_problems
from ..domain.errors import (
    ClaimNotFound,
    CredentialBusy,
    CredentialInUse,
    CredentialNotFound,
    InvalidInput,
    PollRefused,
    PreviewUnavailable,
    ProjectExists,
    ProjectNotFound,
    RepoNotVisible,
    ReportKeyUnavailable,
    ReportRefused,
    ReportsUnavailable,
    ReportUnauthenticated,
    RuleBroken,
    StoreUnavailable,
    TokenUnavailable,
    TrackerError,
    VersionConflict,
)
from .models import ErrorBody

logger = Logger(child=True)

MAX_BODY_BYTES = 16 * 1024
STORE_RETRY_AFTER_SECONDS = 5


def refusal(
    status: int, message: str, *problems: FieldProblem, headers: Mapping[str, str] | None = None
) -> Response[str]:
    body = ErrorBody(message=message, errors=list(problems)).model_dump_json(by_alias=True)
    return Response(status, content_type="application/json", body=body, headers=dict(headers or {}))


def problem(field: str, reason: str) -> FieldProblem:
    return FieldProblem(field=field, reason=reason)


def oversized_body(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The 413 answer for a body over 16 KB, before anything parses it; None when it fits."""
    body = event.get("body") or ""
    size = len(body.encode("utf-8", "surrogatepass")) if isinstance(body, str) else 0
    if event.get("isBase64Encoded") and isinstance(body, str):
        try:
            size = len(base64.b64decode(body, validate=False))
        except (binascii.Error, ValueError):
            size = len(body)
    if size <= MAX_BODY_BYTES:
        return None
    reason = f"is {size} bytes; the limit is {MAX_BODY_BYTES} bytes"
    body_json = ErrorBody(message=f"request body too large: {reason}", errors=[problem("body", reason)])
    return {
        "statusCode": HTTPStatus.REQUEST_ENTITY_TOO_LARGE.value,
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "body": body_json.model_dump_json(by_alias=True),
        "isBase64Encoded": False,
    }


BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
JSON_MEDIA_TYPE = "application/json"


def body_refusal(event: dict[str, Any]) -> dict[str, Any] | None:
    """Check a request body before anything else parses it: every way it can be wrong is a 4xx.

    Run on the raw proxy event, ahead of Powertools (whose own body parsing raises on some of
    these). None when the body may go on; the event's Content-Type is then normalised.

    - A body on a method that takes none (GET, DELETE) is ignored, as the route ignores it.
    - Any other media type than `application/json` is 415, multipart without a boundary
      included. Media types compare case-insensitively (RFC 9110), so `APPLICATION/JSON;
      charset=UTF-8` is accepted, and handed on in lower case.
    - A body that cannot be decoded is 400: not UTF-8, not JSON, an integer too long for Python
      to read, nesting too deep to parse. A JSON array is 400 too (Powertools would quietly
      validate its first element instead).
    - A string holding a lone surrogate is 400, naming its field: it would pass validation, and
      then no store could write it.
    """
    body = event.get("body")
    if not body or str(event.get("httpMethod", "")).upper() not in BODY_METHODS:
        return None
    content_type = _header(event, "content-type")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != JSON_MEDIA_TYPE:
        reason = "send the body as application/json"
        return error_answer(415, f"unsupported content type: {reason}", problem("Content-Type", reason))
    _set_header(event, "content-type", JSON_MEDIA_TYPE + content_type[len(content_type.split(";", 1)[0]) :])
    try:
        parsed = decoded_json(body, bool(event.get("isBase64Encoded")))
        if isinstance(parsed, list):  # other non-objects are the model's to refuse (422)
            raise InvalidInput("body", "must be a JSON object")
        where = lone_surrogate(parsed)
        if where is not None:
            raise InvalidInput(where, "is not valid Unicode: it holds a lone surrogate (U+D800 to U+DFFF)")
    except InvalidInput as e:
        return error_answer(400, f"invalid request: {e}", problem(e.field, e.reason))
    return None


def _header(event: Mapping[str, Any], name: str) -> str:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name and isinstance(value, str):
            return value
    return ""


def header(event: Mapping[str, Any], name: str) -> str:
    """A request header of the raw proxy event, by name in any case ("" when absent)."""
    return _header(event, name.lower())


def _set_header(event: dict[str, Any], name: str, value: str) -> None:
    for holder, wrap in (("headers", False), ("multiValueHeaders", True)):
        headers = event.get(holder)
        if isinstance(headers, dict):
            for key in [k for k in headers if k.lower() == name]:
                headers[key] = [value] if wrap else value


def error_answer(
    status: int, message: str, *problems: FieldProblem, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A refusal as a proxy response, for checks that answer before the resolver runs."""
    body = ErrorBody(message=message, errors=list(problems)).model_dump_json(by_alias=True)
    return {
        "statusCode": status,
        "multiValueHeaders": {"Content-Type": ["application/json"], **{k: [v] for k, v in (headers or {}).items()}},
        "body": body,
        "isBase64Encoded": False,
    }


def json_object_body(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Refuse a JSON array body that reached the routes some other way (see `body_refusal`)."""
    event = app.current_event
    if event.body and event.http_method.upper() in BODY_METHODS and not isinstance(event.json_body, dict):
        raise InvalidInput("body", "must be a JSON object")
    return next_middleware(app)


def decoded_json(body: str, base64_encoded: bool) -> Any:
    """The body as JSON, or InvalidInput("body") saying why it cannot be read."""
    try:
        text = base64.b64decode(body).decode("utf-8") if base64_encoded else body
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        raise InvalidInput("body", "is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidInput("body", f"is not valid JSON: {e.msg} (at character {e.pos})") from None
    except RecursionError:
        raise InvalidInput("body", "is nested too deeply to read") from None
    except ValueError as e:  # e.g. an integer of more digits than Python converts
        raise InvalidInput("body", f"is not valid JSON: {str(e)[:120]}") from None


def lone_surrogate(value: Any, path: str = "") -> str | None:
    """The camelCase path (`trackerIntake.labels[0]`) of the first string with a lone surrogate."""
    if isinstance(value, str):
        return path if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if _SURROGATE.search(str(key)):
                return name
            found = lone_surrogate(item, name)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = lone_surrogate(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    """Attach every error mapping to `app`."""
    mapping = _ErrorMapping(app)
    handlers: list[tuple[type[Exception], Callable[[Any], Response[str]]]] = [
        (RequestValidationError, mapping.invalid_request),
        (RequestUnsupportedContentType, mapping.unsupported_content_type),
        (InvalidInput, mapping.invalid_input),
        (RuleBroken, mapping.rule_broken),
        (CredentialInUse, mapping.credential_in_use),
        (CredentialNotFound, mapping.credential_not_found),
        (ProjectNotFound, mapping.project_not_found),
        (PollRefused, mapping.poll_refused),
        (ReportUnauthenticated, mapping.report_unauthenticated),
        (ReportRefused, mapping.report_refused),
        (ReportsUnavailable, mapping.reports_unavailable),
        (ReportKeyUnavailable, mapping.report_key_unavailable),
        (ClaimNotFound, mapping.claim_not_found),
        (ProjectExists, mapping.project_exists),
        (VersionConflict, mapping.version_conflict),
        (StoreUnavailable, mapping.store_unavailable),
        (CredentialBusy, mapping.credential_busy),
        (PreviewUnavailable, mapping.preview_unavailable),
        (RepoNotVisible, mapping.repo_not_visible),
        (TokenUnavailable, mapping.token_unavailable),
        (TrackerError, mapping.tracker_failed),
        (NotFoundError, mapping.no_route),
    ]
    for error_type, handler in handlers:
        app.exception_handler(error_type)(handler)


class _ErrorMapping:
    def __init__(self, app: APIGatewayRestResolver) -> None:
        self._app = app

    def invalid_request(self, error: RequestValidationError) -> Response[str]:
        errors = list(error.errors())
        broken = next((e for e in errors if e.get("type") == "json_invalid"), None)
        if broken is not None:
            detail = (broken.get("ctx") or {}).get("error", "malformed")
            reason = f"is not valid JSON: {detail} (at character {_position(broken)})"
            return refusal(400, f"request body {reason}", problem("body", reason))
        problems = request_problems(errors)
        message = "; ".join(f"{p.field}: {p.reason}" for p in problems[:3])
        return refusal(422, f"invalid request: {message}", *problems)

    def unsupported_content_type(self, error: RequestUnsupportedContentType) -> Response[str]:
        reason = "send the body as application/json"
        return refusal(415, f"unsupported content type: {reason}", problem("Content-Type", reason))

    def invalid_input(self, error: InvalidInput) -> Response[str]:
        return refusal(400, f"invalid request: {error}", problem(error.field, error.reason))

    def rule_broken(self, error: RuleBroken) -> Response[str]:
        return refusal(422, f"invalid request: {error}", problem(error.field, error.reason))

    def credential_in_use(self, error: CredentialInUse) -> Response[str]:
        return refusal(409, str(error), problem("name", f"used by {len(error.projects)} project(s)"))

    def credential_not_found(self, error: CredentialNotFound) -> Response[str]:
        return refusal(404, str(error), problem("name", "no credential with this name"))

    def project_not_found(self, error: ProjectNotFound) -> Response[str]:
        return refusal(404, str(error), problem("id", "no project with this id"))

    def poll_refused(self, error: PollRefused) -> Response[str]:
        return refusal(409, str(error), problem("id", error.reason))

    def claim_not_found(self, error: ClaimNotFound) -> Response[str]:
        return refusal(404, str(error) or error.reason, problem("issueId", error.reason))

    def report_unauthenticated(self, error: ReportUnauthenticated) -> Response[str]:
        return refusal(401, f"status report not accepted: {error.reason}", problem(error.field, error.reason))

    def report_refused(self, error: ReportRefused) -> Response[str]:
        return refusal(409, f"status report not accepted: {error.reason}", problem(error.field, error.reason))

    def reports_unavailable(self, error: ReportsUnavailable) -> Response[str]:
        return refusal(501, str(error))

    def report_key_unavailable(self, error: ReportKeyUnavailable) -> Response[str]:
        logger.error("the session webhook key is unavailable", extra={"error": str(error)[:300]})
        message = "the session webhook key cannot be read right now; nothing was written, try again shortly"
        return refusal(503, message, headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)})

    def project_exists(self, error: ProjectExists) -> Response[str]:
        return refusal(409, str(error), problem("id", "a project with this id already exists"))

    def version_conflict(self, error: VersionConflict) -> Response[str]:
        # A stale If-Match is a failed precondition (412); a stale body `version` a conflict (409).
        by_header = self._app.current_event.headers.get("if-match") not in (None, "*")
        field = "If-Match" if by_header else "version"
        reason = f"you sent {error.expected}, the current version is {error.actual}"
        return refusal(412 if by_header else 409, str(error), problem(field, reason))

    def store_unavailable(self, error: StoreUnavailable) -> Response[str]:
        logger.error("store unavailable", extra={"error": str(error)[:300]})
        return refusal(
            503,
            "the project store is unavailable right now; nothing was changed, try again shortly",
            headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
        )

    def credential_busy(self, error: CredentialBusy) -> Response[str]:
        now = datetime.now(UTC)
        seconds = max(1, math.ceil((error.retry_at - now).total_seconds()))
        return refusal(429, str(error), headers={"Retry-After": str(seconds)})

    def preview_unavailable(self, error: PreviewUnavailable) -> Response[str]:
        return refusal(501, str(error))

    def repo_not_visible(self, error: RepoNotVisible) -> Response[str]:
        reason = "not found on GitHub, or not visible to the deployment's credential"
        return refusal(422, str(error), problem(error.field, reason))

    def token_unavailable(self, error: TokenUnavailable) -> Response[str]:
        # The secret's name stays in the log, not in the answer.
        logger.error("preview: the GitHub token is unavailable", extra={"error": str(error)[:300]})
        message = "the deployment's GitHub token cannot be read right now; nothing was read, try again shortly"
        return refusal(503, message, headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)})

    def tracker_failed(self, error: TrackerError) -> Response[str]:
        logger.warning("preview: GitHub failed", extra={"kind": error.kind, "error": str(error)[:300]})
        return refusal(502, f"GitHub did not answer the preview: {error}")

    def no_route(self, error: NotFoundError) -> Response[str]:
        event = self._app.current_event
        path, method = event.path, event.http_method
        allowed = allowed_methods(self._app)(path)
        if allowed:
            reason = f"{method} is not allowed here; use {', '.join(allowed)}"
            return refusal(
                405,
                f"{method} {path}: {reason}",
                problem("method", reason),
                headers={"Allow": ", ".join(allowed)},
            )
        return refusal(404, f"no route {method} {path}", problem("path", "no such route; see GET /openapi.json"))


def request_problems(errors: Sequence[Mapping[str, Any]]) -> list[FieldProblem]:
    """Powertools' validation errors as (field, reason) pairs, in the domain's own wording."""
    problems: list[FieldProblem] = []
    body_errors = [e for e in errors if tuple(e.get("loc", ()))[:1] == ("body",)]
    for item in errors:
        loc = tuple(item.get("loc", ()))
        if loc[:1] != ("body",):
            problems.append(problem(".".join(str(p) for p in loc[1:]) or "request", str(item.get("msg"))))
    if body_errors:
        problems.extend(_body_problems(body_errors))
    return problems


def _body_problems(errors: Sequence[Mapping[str, Any]]) -> list[FieldProblem]:
    if any(tuple(e.get("loc", ())) == ("body",) and e.get("type") == "missing" for e in errors):
        return [problem("body", "a JSON object is required")]
    # Rebuild pydantic's error so the domain's field_problems words it (model rules name
    # their field themselves, unknown fields say so).
    line_errors: list[Any] = [
        {
            "type": e["type"],
            "loc": tuple(e["loc"])[1:],
            "input": e.get("input"),
            **({"ctx": e["ctx"]} if e.get("ctx") else {}),
        }
        for e in errors
    ]
    try:
        rebuilt = ValidationError.from_exception_data("body", line_errors)
    except (KeyError, TypeError, ValueError):
        return [problem(".".join(str(p) for p in tuple(e["loc"])[1:]) or "body", str(e.get("msg"))) for e in errors]
    return field_problems(rebuilt)


def allowed_methods(app: APIGatewayRestResolver) -> Callable[[str], list[str]]:
    """Which methods the API serves on a path (from its own OpenAPI paths), for 405 answers."""
    routes: list[tuple[re.Pattern[str], list[str]]] = []
    for template, item in (app.get_openapi_schema().paths or {}).items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        methods = [m.upper() for m in ("get", "put", "post", "delete", "patch") if getattr(item, m, None)]
        routes.append((re.compile(pattern), methods))

    def methods_for(path: str) -> list[str]:
        return sorted({m for pattern, ms in routes if pattern.fullmatch(path) for m in ms})

    return methods_for


def _position(error: Mapping[str, Any]) -> str:
    loc = tuple(error.get("loc", ()))
    return str(loc[1]) if len(loc) > 1 else "?"
