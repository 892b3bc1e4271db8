"""Reads template.yaml, so the local stack and the tests build the same tables and queues as AWS."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation's short-form tags (!Ref, !GetAtt...) as dicts."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@cache
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as f:
        data: dict[str, Any] = yaml.load(f, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return data


def resource(logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = load_template()["Resources"][logical_id]
    return props


def table_definition(table_name: str, logical_id: str = "IntakeTable") -> dict[str, Any]:
    """`CreateTable` arguments for a table of the template (IntakeTable, ActivityTable)."""
    props = resource(logical_id)["Properties"]
    definition = {
        "TableName": table_name,
        "BillingMode": props["BillingMode"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
    }
    if "GlobalSecondaryIndexes" in props:
        definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return definition


def _create_table(dynamodb: Any, table_name: str, logical_id: str, *, exist_ok: bool) -> None:
    try:
        dynamodb.create_table(**table_definition(table_name, logical_id))
    except dynamodb.exceptions.ResourceInUseException:
        if not exist_ok:
            raise


def queue_attributes(logical_id: str, dead_letter_arn: str | None = None) -> dict[str, str]:
    """`CreateQueue` attributes for a queue of the template (its redrive policy pointed at the DLQ)."""
    props = resource(logical_id)["Properties"]
    attributes: dict[str, str] = {}
    for key in ("FifoQueue", "ContentBasedDeduplication", "VisibilityTimeout", "MessageRetentionPeriod"):
        if key in props:
            value = props[key]
            attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
    if "RedrivePolicy" in props and dead_letter_arn:
        import json

        redrive = {
            "deadLetterTargetArn": dead_letter_arn,
            "maxReceiveCount": props["RedrivePolicy"]["maxReceiveCount"],
        }
        attributes["RedrivePolicy"] = json.dumps(redrive)
    return attributes


def create_resources(dynamodb: Any, sqs: Any, prefix: str = "intake", *, exist_ok: bool = False) -> dict[str, str]:
    """Create both tables (the intake table, the activity log's) and both queues with boto3
    clients; returns their names and URLs.

    `exist_ok`: a table restored from an earlier run is kept (queues are created idempotently); an
    activity table missing from a state saved before it existed is created.
    """
    table_name = f"{prefix}-table"
    activity_table_name = f"{prefix}-activity"
    _create_table(dynamodb, table_name, "IntakeTable", exist_ok=exist_ok)
    _create_table(dynamodb, activity_table_name, "ActivityTable", exist_ok=exist_ok)
    dlq_url = sqs.create_queue(
        QueueName=f"{prefix}-launch-dlq.fifo", Attributes=queue_attributes("LaunchDeadLetterQueue")
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=f"{prefix}-launch.fifo", Attributes=queue_attributes("LaunchQueue", dlq_arn)
    )["QueueUrl"]
    return {
        "table_name": table_name,
        "activity_table_name": activity_table_name,
        "queue_url": queue_url,
        "dlq_url": dlq_url,
    }
