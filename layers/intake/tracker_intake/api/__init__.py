"""The config API (ApiFunction): Powertools REST resolver, pydantic models in and out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import __version__
from ..domain.signing import REPORT_STRING
from .credential_routes import router as credential_router
from .errors import body_refusal, json_object_body, oversized_body, register_error_handlers
from .routes import ApiContext, ApiStore, Context, api_context, router
from .status_routes import SIGNED_EXTENSION, unsigned_report
from .status_routes import router as status_router

__all__ = ["ApiContext", "ApiStore", "build_api", "resolve"]

TITLE = "tracker intake config API"


def build_api(context: Callable[[], ApiContext]) -> APIGatewayRestResolver:
    """The resolver with every route and error mapping; `context` gives the routes their ports."""
    app = APIGatewayRestResolver(enable_validation=True)
    app.include_router(router)
    app.include_router(credential_router)
    app.include_router(status_router)
    app.dependency_overrides[api_context] = context
    register_error_handlers(app)
    app.use(middlewares=[json_object_body])

    @app.get("/openapi.json", summary="This document", tags=["meta"])
    def openapi(ctx: Context) -> dict[str, Any]:
        schema = app.get_openapi_schema(title=TITLE, version=__version__)
        document: dict[str, Any] = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
        stage = app.current_event.request_context.stage
        return as_deployed(document, stage, sigv4=ctx.sigv4)

    return app


# What every operation can answer besides its own statuses: a body too large, the wrong method.
_EVERY_OPERATION = {405: "this path does not take this method"}
_WITH_BODY = {413: "the body is over 16 KB", 415: "the body is not application/json"}
SIGV4 = {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}
# The status route's own authentication (not SigV4: see status_routes.py). Both headers, together.
SIGNED = {
    "intakeSignature": {
        "type": "apiKey",
        "name": "X-Intake-Signature",
        "in": "header",
        "description": f"sha256=<hex HMAC-SHA256 of '{REPORT_STRING}'>, keyed with the session webhook key: "
        "the issue id is the one the path names, decoded, and the body carries the session's generation",
    },
    "intakeTimestamp": {
        "type": "apiKey",
        "name": "X-Intake-Timestamp",
        "in": "header",
        "description": "the Unix time (s) the report was signed at; accepted within 300 s, once",
    },
}


def as_deployed(document: dict[str, Any], stage: str | None, *, sigv4: bool = True) -> dict[str, Any]:
    """The generated document, told the truth about the API as API Gateway serves it.

    - every operation needs IAM (SigV4), as API Gateway itself exports it (unless `sigv4` is
      false: the local stack checks no signature, and its document does not claim it does),
      but the status report, which is signed with the webhook key instead, everywhere;
    - the server carries the stage (`/v1`), so a client joins paths onto the deployed URL;
    - a 204 has no content;
    - the statuses any operation can answer (405; 413 and 415 where a body is read) are listed,
      and every refusal, Powertools' default 422 included, carries the API's own error body.
    """
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    document["servers"] = [{"url": f"/{stage}" if stage else "/"}]
    document.setdefault("components", {})
    if sigv4:
        document["components"].setdefault("securitySchemes", {})["sigv4"] = SIGV4
        document["security"] = [{"sigv4": []}]
    document["components"].get("schemas", {}).pop("HTTPValidationError", None)
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            if operation.pop(SIGNED_EXTENSION, False):
                document["components"].setdefault("securitySchemes", {}).update(SIGNED)
                operation["security"] = [{name: [] for name in SIGNED}]
            _inputs_never_null(operation)
            _responses_as_served(method, operation.setdefault("responses", {}), error)
    return document


def _inputs_never_null(operation: dict[str, Any]) -> None:
    """An operation's parameters and its body, each given or absent, never `null`."""
    for parameter in operation.get("parameters", []):
        parameter["schema"] = _never_null(parameter.get("schema", {}))
    # An optional body is absent, or a JSON object: never `null`, which the API refuses.
    for media in operation.get("requestBody", {}).get("content", {}).values():
        media["schema"] = _never_null(media.get("schema", {}))


def _responses_as_served(method: str, responses: dict[str, Any], error: dict[str, Any]) -> None:
    """The statuses any operation can answer listed, a 204 without content, every refusal the
    API's own error body."""
    extra = dict(_EVERY_OPERATION)
    if method in ("post", "put", "patch"):
        extra.update(_WITH_BODY)
    for status, description in extra.items():
        responses.setdefault(str(status), {"description": description})
    for code, response in responses.items():
        if code == "204":
            response.pop("content", None)
        elif code.startswith(("4", "5")):
            response["content"] = error


def _never_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter or an optional body is given or absent, never JSON null: `X | None` is its
    optionality."""
    options = schema.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        if len(rest) == 1:
            merged = {k: v for k, v in schema.items() if k != "anyOf"}
            return {**rest[0], **merged}
    return schema


def resolve(app: APIGatewayRestResolver, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer one API Gateway proxy event. A body too big, or that cannot be read, is refused
    first; then a status report whose signature does not hold (nothing else reads it before)."""
    return (
        oversized_body(event)
        or body_refusal(event)
        or unsigned_report(event, app.dependency_overrides[api_context])
        or app.resolve(event, context)
    )
