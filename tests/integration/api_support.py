"""The config API for tests: the real ApiFunction handler on moto, fed the events/ files."""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from intake_dev.functions import LocalLambdaContext, load_handler
from intake_dev.template import REPO_ROOT
from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.domain.records import Claim, ClaimStatus, IssueSnapshot

EVENTS = REPO_ROOT / "events"
CLAIMED_AT = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def load_event(name: str) -> dict[str, Any]:
    """One of the events/ files (the same ones `sam local invoke` uses)."""
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


def request(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event shaped like events/api.json, for another request."""
    event = copy.deepcopy(load_event("api.json"))
    text = raw if raw is not None else (json.dumps(body, ensure_ascii=False) if body is not None else None)
    all_headers = {k: v for k, v in event["headers"].items() if k != "Content-Type"}
    if text is not None:
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    event.update(
        httpMethod=method,
        path=path,
        resource=path,
        body=text,
        headers=all_headers,
        multiValueHeaders={k: [v] for k, v in all_headers.items()},
        queryStringParameters=query,
        multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None,
        pathParameters=None,
    )
    event["requestContext"].update(httpMethod=method, resourcePath=path, path="/v1" + path)
    return event


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""

    @property
    def fields(self) -> list[str]:
        return [problem["field"] for problem in (self.body or {}).get("errors", [])]


class Api:
    """The ApiFunction module, loaded fresh (a cold start) against the moto table."""

    def __init__(self, aws: dict[str, Any], env: dict[str, str] | None = None) -> None:
        self.aws = aws
        self.module: ModuleType = load_handler("api", fresh=True)
        self.store = DynamoStore(
            aws["table_name"], client=aws["dynamodb"], activity_table_name=aws["activity_table_name"]
        )
        # The handler's own composition root, from the environment as template.yaml sets it
        # (TABLE_NAME, ACTIVITY_TABLE_NAME, and `env`); the environment is put back afterwards so
        # no other test sees it.
        wanted = {"TABLE_NAME": aws["table_name"], "ACTIVITY_TABLE_NAME": aws["activity_table_name"], **(env or {})}
        previous = {name: os.environ.get(name) for name in wanted}
        os.environ.update(wanted)
        try:
            self.module.ports()
        finally:
            for name, value in previous.items():
                if value is None:
                    del os.environ[name]
                else:
                    os.environ[name] = value

    def __call__(self, event: dict[str, Any]) -> Answer:
        result: dict[str, Any] = self.module.lambda_handler(event, LocalLambdaContext(function_name="api"))
        headers = {k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()}
        headers.update(result.get("headers") or {})
        text = result.get("body") or ""
        return Answer(int(result["statusCode"]), json.loads(text) if text else None, headers, text)

    def scan(self) -> list[dict[str, Any]]:
        """Every item of the table, in a stable order: the 'nothing changed' witness."""
        items: list[dict[str, Any]] = []
        args: dict[str, Any] = {"TableName": self.aws["table_name"], "ConsistentRead": True}
        while True:
            page = self.aws["dynamodb"].scan(**args)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def claim(
    project_id: str = "demo",
    number: int = 42,
    status: ClaimStatus = ClaimStatus.LAUNCHED,
    repo: str = "acme/app",
) -> Claim:
    return Claim(
        canonical_id=f"github:{repo}#{number}",
        project_id=project_id,
        status=status,
        claim_token=f"token-{number}",
        claimed_at=CLAIMED_AT,
        updated_at=CLAIMED_AT,
        issue=IssueSnapshot(
            number=number,
            title=f"Issue {number}",
            url=f"https://github.com/{repo}/issues/{number}",
            labels=("agent",),
            assignees=(),
            body="",
            created_at="2026-11-20T09:30:00+00:00",
        ),
        session_ref=f"session-{number}" if status is ClaimStatus.LAUNCHED else None,
    )
