"""Counts the AWS operations boto3 clients make, by name (botocore `before-call` events).

Shared by the test harness and `make bench`, so both count DynamoDB reads and writes and SQS
sends the same way.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

DYNAMO_READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem"})
DYNAMO_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
SQS_SENDS = frozenset({"SendMessage", "SendMessageBatch"})


class CallCounter:
    """Counts AWS operations per service by name, from botocore's before-call events."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_name
        client.meta.events.register(f"before-call.{service}", self._seen)

    def _seen(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    @property
    def dynamodb_reads(self) -> int:
        return sum(n for op, n in self.calls.items() if op in DYNAMO_READS)

    @property
    def dynamodb_writes(self) -> int:
        return sum(n for op, n in self.calls.items() if op in DYNAMO_WRITES)

    @property
    def sqs_sends(self) -> int:
        return sum(n for op, n in self.calls.items() if op in SQS_SENDS)
