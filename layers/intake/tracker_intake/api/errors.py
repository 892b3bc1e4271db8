"""Domain errors and refused requests to HTTP: the one place where that mapping lives.

Every refusal answers `{"message": ..., "errors": [{"field": ..., "reason": ...}]}`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
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
    InvalidInput,
    ProjectExists,
    ProjectNotFound,
    StoreUnavailable,
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
    size = len(body.encode()) if isinstance(body, str) else 0
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


def json_object_body(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Refuse a JSON array body: Powertools would quietly validate its first element instead."""
    event = app.current_event
    if event.body and not isinstance(event.json_body, dict):
        raise InvalidInput("body", "must be a JSON object")
    return next_middleware(app)


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    """Attach every error mapping to `app`."""
    mapping = _ErrorMapping(app)
    handlers: list[tuple[type[Exception], Callable[[Any], Response[str]]]] = [
        (RequestValidationError, mapping.invalid_request),
        (RequestUnsupportedContentType, mapping.unsupported_content_type),
        (InvalidInput, mapping.invalid_input),
        (ProjectNotFound, mapping.project_not_found),
        (ClaimNotFound, mapping.claim_not_found),
        (ProjectExists, mapping.project_exists),
        (VersionConflict, mapping.version_conflict),
        (StoreUnavailable, mapping.store_unavailable),
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

    def project_not_found(self, error: ProjectNotFound) -> Response[str]:
        return refusal(404, str(error), problem("id", "no project with this id"))

    def claim_not_found(self, error: ClaimNotFound) -> Response[str]:
        reason = "this project has no claim on the issue"
        return refusal(404, str(error) or reason, problem("issueId", reason))

    def project_exists(self, error: ProjectExists) -> Response[str]:
        return refusal(409, str(error), problem("id", "a project with this id already exists"))

    def version_conflict(self, error: VersionConflict) -> Response[str]:
        # A stale If-Match is a failed precondition (412); a stale body `version` a conflict (409).
        by_header = self._app.current_event.headers.get("if-match") is not None
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
