"""The local stack builds its table and queues from template.yaml; pin that it still can."""

from typing import Any


def test_table_from_template_has_sparse_gsi(aws: dict[str, Any]) -> None:
    # GIVEN the table created from the template's definition
    # WHEN it is described
    table = aws["dynamodb"].describe_table(TableName=aws["table_name"])["Table"]
    # THEN it has the pk/sk key and the gsi1 index on gsi1pk/gsi1sk
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    (gsi,) = table["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "gsi1"
    assert [k["AttributeName"] for k in gsi["KeySchema"]] == ["gsi1pk", "gsi1sk"]


def test_launch_queue_from_template_is_fifo_with_redrive(aws: dict[str, Any]) -> None:
    # GIVEN the queues created from the template
    # WHEN the launch queue's attributes are read
    attrs = aws["sqs"].get_queue_attributes(QueueUrl=aws["queue_url"], AttributeNames=["All"])["Attributes"]
    # THEN it is FIFO, dedupes on explicit ids, and redrives to the DLQ
    assert attrs["FifoQueue"] == "true"
    assert attrs["ContentBasedDeduplication"] == "false"
    assert "deadLetterTargetArn" in attrs["RedrivePolicy"]
