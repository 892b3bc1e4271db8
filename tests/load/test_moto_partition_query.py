"""The load test's moto speed-up (intake_dev.moto_partition_query) gives moto's own answers."""

from __future__ import annotations

from typing import Any

from intake_dev.moto_partition_query import partition_query
from tracker_intake.adapters.dynamodb import claim_pk, etag_sk, project_pk


def _seed(dynamodb: Any, table: str) -> None:
    """Projects with ETag items, claims, and items sharing sort keys across partitions."""
    for p in range(6):
        pk = project_pk(f"proj-{p}")
        items = [{"pk": pk, "sk": "PROJECT", "gsi1pk": "INTAKE#ENABLED", "gsi1sk": pk}]
        items += [{"pk": pk, "sk": etag_sk(f"https://x/{p}/{n}"), "etag": f'"{n}"'} for n in range(p)]
        for item in items:
            dynamodb.put_item(TableName=table, Item={k: {"S": v} for k, v in item.items()})
        for n in range(5):
            claim = {"pk": claim_pk(f"github:acme/repo{p}#{n + 1}"), "sk": "ISSUE", "gsi1pk": f"SESSIONS#proj-{p}"}
            dynamodb.put_item(TableName=table, Item={k: {"S": v} for k, v in claim.items()})


def _queries(dynamodb: Any, table: str) -> list[Any]:
    """Every shape of Query the adapters make, and pages of them."""
    answers = []
    for p in range(7):  # proj-6 does not exist
        pk = {":pk": {"S": project_pk(f"proj-{p}")}}
        answers.append(dynamodb.query(TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues=pk))
        answers.append(
            dynamodb.query(
                TableName=table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :e)",
                ExpressionAttributeValues={**pk, ":e": {"S": "ETAG#"}},
                ScanIndexForward=False,
            )
        )
        first = dynamodb.query(
            TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues=pk, Limit=2
        )
        answers.append(first)
        if "LastEvaluatedKey" in first:
            answers.append(
                dynamodb.query(
                    TableName=table,
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues=pk,
                    Limit=2,
                    ExclusiveStartKey=first["LastEvaluatedKey"],
                )
            )
    answers.append(
        dynamodb.query(
            TableName=table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :g",
            ExpressionAttributeValues={":g": {"S": "INTAKE#ENABLED"}},
        )
    )
    answers.append(dynamodb.scan(TableName=table))
    for answer in answers:
        answer.pop("ResponseMetadata", None)
    return answers


def test_partition_query_answers_every_query_shape_as_moto_does(aws: dict[str, Any]) -> None:
    # GIVEN a table with projects, ETag items and claims in many partitions
    _seed(aws["dynamodb"], aws["table_name"])
    # WHEN the same queries run with moto as shipped and with the speed-up
    plain = _queries(aws["dynamodb"], aws["table_name"])
    with partition_query():
        fast = _queries(aws["dynamodb"], aws["table_name"])
    # THEN the answers are identical, items, order, counts and page keys alike
    assert fast == plain
    assert sum(a.get("Count", 0) for a in plain) > 50


def test_partition_query_puts_moto_back_as_it_was_on_exit() -> None:
    # GIVEN moto's Table as shipped
    from moto.dynamodb.models.table import Table

    shipped = (Table.query, Table.all_items)
    # WHEN the speed-up is entered and left
    with partition_query():
        inside = (Table.query, Table.all_items)
    # THEN it replaced both methods while it ran, and restored them afterwards
    assert inside[0] is not shipped[0] and inside[1] is not shipped[1]
    assert (Table.query, Table.all_items) == shipped
