"""The config API (ApiFunction): Powertools REST resolver, pydantic models in and out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import __version__
from .errors import body_refusal, json_object_body, oversized_body, register_error_handlers
from .routes import ApiContext, ApiStore, api_context, router

__all__ = ["ApiContext", "ApiStore", "build_api", "resolve"]

TITLE = "tracker intake config API"


def build_api(context: Callable[[], ApiContext]) -> APIGatewayRestResolver:
    """The resolver with every route and error mapping; `context` gives the routes their ports."""
    app = APIGatewayRestResolver(enable_validation=True)
    app.include_router(router)
    app.dependency_overrides[api_context] = context
    register_error_handlers(app)
    app.use(middlewares=[json_object_body])

    @app.get("/openapi.json", summary="This document", tags=["meta"])
    def openapi() -> dict[str, Any]:
        schema = app.get_openapi_schema(title=TITLE, version=__version__)
        document: dict[str, Any] = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
        return document

    return app


def resolve(app: APIGatewayRestResolver, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer one API Gateway proxy event. A body too big, or that cannot be read, is refused first."""
    return oversized_body(event) or body_refusal(event) or app.resolve(event, context)
