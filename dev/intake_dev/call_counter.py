"""Counts the AWS operations boto3 clients make, by name (botocore `before-call` events).

One counter for the tests, the local stack and `make bench`: exact counts of DynamoDB reads and
writes, SQS sends and Lambda invokes, in the order they were made.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

DYNAMO_READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem"})
DYNAMO_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
SQS_SENDS = frozenset({"SendMessage", "SendMessageBatch"})
# What changes something somewhere: DynamoDB writes, SQS sends, and Lambda invokes.
WRITES = DYNAMO_WRITES | SQS_SENDS | {"Invoke"}


class CallCounter:
    """Counts the operations of the clients it is attached to; `log` keeps their order."""

    def __init__(self, *clients: Any) -> None:
        self.log: list[str] = []
        self._lock = threading.Lock()
        for client in clients:
            self.attach(client)

    def attach(self, client: Any) -> None:
        # The wildcard form, registered first: it runs before a Stubber's or a fault's hook
        # answers the call, so a call answered without reaching the service still counts.
        client.meta.events.register("before-call.*.*", self._seen)

    def _seen(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.log.append(model.name)

    def reset(self) -> None:
        with self._lock:
            self.log.clear()

    @property
    def calls(self) -> Counter[str]:
        """Operations by name."""
        with self._lock:
            return Counter(self.log)

    def count(self, name: str) -> int:
        return self.calls[name]

    @property
    def writes(self) -> int:
        return sum(n for op, n in self.calls.items() if op in WRITES)

    @property
    def reads(self) -> int:
        return len(self.log) - self.writes

    @property
    def dynamodb_reads(self) -> int:
        return sum(n for op, n in self.calls.items() if op in DYNAMO_READS)

    @property
    def dynamodb_writes(self) -> int:
        return sum(n for op, n in self.calls.items() if op in DYNAMO_WRITES)

    @property
    def sqs_sends(self) -> int:
        return sum(n for op, n in self.calls.items() if op in SQS_SENDS)
