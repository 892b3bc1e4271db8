"""Write the config API's OpenAPI document, as the deployed API serves it, to a file.

`python -m intake_dev.openapi dashboard/openapi.json`: the dashboard's API types are generated
from it (openapi-typescript), so the dashboard and the API share one description.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, cast

from aws_lambda_powertools.utilities.typing import LambdaContext

from tracker_intake.api import ApiContext, build_api
from tracker_intake.domain.clock import SystemClock

from .functions import LocalLambdaContext


def document() -> dict[str, Any]:
    """The document the handler answers `GET /openapi.json` with (no store is touched)."""
    app = build_api(lambda: ApiContext(store=None, clock=SystemClock()))  # type: ignore[arg-type]
    event = {
        "httpMethod": "GET",
        "path": "/openapi.json",
        "resource": "/openapi.json",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "requestContext": {
            "stage": "v1",
            "httpMethod": "GET",
            "resourcePath": "/openapi.json",
            "path": "/v1/openapi.json",
        },
        "body": None,
        "isBase64Encoded": False,
    }
    answer = app.resolve(event, cast(LambdaContext, LocalLambdaContext(function_name="openapi")))
    body: dict[str, Any] = json.loads(answer["body"])
    return body


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m intake_dev.openapi OUT.json")
        return 2
    Path(argv[0]).write_text(json.dumps(document(), indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
