"""The DynamoDB tables themselves: keys, item mapping, paging, error translation, requests.

Layout (docs/design.md): the intake table holds `PROJECT#<id>/PROJECT`, `PROJECT#<id>/ETAG#<hash>`,
`PROJECT#<id>/PERMISSION#<owner/name>#<login>`, `ISSUE#<key>/ISSUE`, `TOKEN#<key>/BUDGET`,
`TOKEN#<key>/PACE`, `TOKEN#<key>/WRITES` and one overloaded GSI (`INTAKE#ENABLED` sparse,
`SESSIONS#<project>`); the activity table holds `ACTIVITY#<id>/POLL#<at>#<suffix>` only. The ports
(projects, ledger, budgets, permissions) sit on the intake table's `DynamoTable`, the activity log
on the activity table's.
Every botocore failure leaves this package as a typed domain error.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ...domain.errors import StoreUnavailable
from ...domain.issue import dedupe_key
from .formats import encode_token, resume_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

GSI = "gsi1"
PROJECT_SK = "PROJECT"
ETAG_PREFIX = "ETAG#"
PERMISSION_PREFIX = "PERMISSION#"
CLAIM_SK = "ISSUE"
BUDGET_SK = "BUDGET"
PACE_SK = "PACE"
WRITES_SK = "WRITES"
POLL_PREFIX = "POLL#"
INTAKE_ENABLED = "INTAKE#ENABLED"
_BATCH_WRITE_MAX = 25
_BATCH_WRITE_ROUNDS = 5
BATCH_GET_MAX = 100
_BATCH_GET_ROUNDS = 6  # UnprocessedKeys retried with backoff: 50 ms, 100 ms, ... 1.6 s in all
_BATCH_BACKOFF_SECONDS = 0.05

# Lambda gives a poll 60 s: a hung connection must fail fast and become a backoff, not a timeout.
_CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


# --- keys ------------------------------------------------------------------------------


def project_pk(project_id: str) -> str:
    return f"PROJECT#{project_id}"


def etag_sk(url: str) -> str:
    return ETAG_PREFIX + hashlib.sha256(url.encode()).hexdigest()[:32]


def permission_sk(repo: str, login: str) -> str:
    """A member's write access on one repository, in its project's partition. Lower-cased: GitHub
    compares logins and repository names without case; neither can hold a '#'."""
    return f"{PERMISSION_PREFIX}{repo.lower()}#{login.lower()}"


def claim_pk(canonical_id: str) -> str:
    return f"ISSUE#{dedupe_key(canonical_id)}"


def sessions_pk(project_id: str) -> str:
    return f"SESSIONS#{project_id}"


def activity_pk(project_id: str) -> str:
    """A project's recent polls: a partition of their own, in the activity table (so neither the
    poll's Query of the project's partition nor the listing's Scan of the intake table reads them)."""
    return f"ACTIVITY#{project_id}"


def budget_pk(token_key: str) -> str:
    return f"TOKEN#{token_key}"


def project_key(project_id: str) -> dict[str, Any]:
    return {"pk": {"S": project_pk(project_id)}, "sk": {"S": PROJECT_SK}}


def token_item_key(token_key: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": budget_pk(token_key)}, "sk": {"S": sk}}


def claim_key(canonical_id: str) -> dict[str, Any]:
    """Raises ValueError for a string that is not a canonical id."""
    return {"pk": {"S": claim_pk(canonical_id)}, "sk": {"S": CLAIM_SK}}


# --- item <-> record -----------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the domain wants int (no floats are stored)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    return value


def to_item(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in data.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


# --- update expressions -------------------------------------------------------------------------


@dataclass(frozen=True)
class UpdateExpression:
    """An UpdateItem's `SET ... REMOVE ...`, every attribute named through a placeholder (`#s0`,
    `#r0`), so reserved words (`status`) and any other name are written the same way."""

    sets: tuple[str, ...]
    removes: tuple[str, ...]
    names: dict[str, str]
    values: dict[str, Any]

    @classmethod
    def of(cls, set_values: Mapping[str, Any], remove: Sequence[str], extra_set: Sequence[str]) -> UpdateExpression:
        names = {f"#s{i}": attr for i, attr in enumerate(set_values)}
        names.update({f"#r{i}": attr for i, attr in enumerate(remove)})
        values = {f":s{i}": _serializer.serialize(value) for i, value in enumerate(set_values.values())}
        sets = tuple(f"#s{i} = :s{i}" for i in range(len(set_values))) + tuple(extra_set)
        return cls(sets, tuple(f"#r{i}" for i in range(len(remove))), names, values)

    @property
    def empty(self) -> bool:
        return not self.sets and not self.removes

    @property
    def text(self) -> str:
        clauses = [f"SET {', '.join(self.sets)}"] if self.sets else []
        if self.removes:
            clauses.append(f"REMOVE {', '.join(self.removes)}")
        return " ".join(clauses)


# --- errors ----------------------------------------------------------------------------------


@dataclass
class ConditionFailed(Exception):
    """A condition expression did not hold; each caller decides what that means."""

    item: dict[str, Any] | None


_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
}


@contextmanager
def translated(action: str) -> Iterator[None]:
    try:
        yield
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "Unknown")
        if code == "ConditionalCheckFailedException":
            old: Any = e.response.get("Item")
            raise ConditionFailed(from_item(old) if isinstance(old, dict) and old else None) from e
        reason = "throttled" if code in _THROTTLED else code
        raise StoreUnavailable(f"DynamoDB {action} failed: {reason}") from e
    except BotoCoreError as e:
        raise StoreUnavailable(f"DynamoDB {action} failed: {type(e).__name__}") from e


# --- the table ---------------------------------------------------------------------------------


class DynamoTable:
    """One DynamoDB table and the requests the ports make of it."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.name = table_name
        # boto3 reads AWS_ENDPOINT_URL itself, so the local stack and moto need nothing here.
        self.client: DynamoDBClient = client or boto3.client("dynamodb", config=_CLIENT_CONFIG)

    def get(self, key: dict[str, Any], *, consistent: bool = True) -> dict[str, Any] | None:
        with translated("get item"):
            response = self.client.get_item(TableName=self.name, Key=key, ConsistentRead=consistent)
        item = response.get("Item")
        return from_item(item) if item else None

    def query_partition(
        self, pk: str, *, sk_prefix: str | None = None, keys_only: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Every item of one partition, consistently read (one call unless it outgrows 1 MB)."""
        args: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
        }
        if sk_prefix:
            args["KeyConditionExpression"] += " AND begins_with(sk, :prefix)"
            args["ExpressionAttributeValues"][":prefix"] = {"S": sk_prefix}
        if keys_only:
            args["ProjectionExpression"] = "pk, sk"
        while True:
            with translated("query"):
                response = self.client.query(**args)
            yield from (from_item(item) for item in response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                return
            args["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def update(
        self,
        key: dict[str, Any],
        *,
        set_values: Mapping[str, Any],
        remove: Sequence[str] = (),
        extra_set: Sequence[str] = (),
        extra_values: Mapping[str, Any] | None = None,
        condition: str | None,
        condition_names: Mapping[str, str] | None = None,
        action: str,
        return_old_on_failure: bool = False,
    ) -> dict[str, Any]:
        """UpdateItem on named attributes only; returns the item as it is afterwards.

        `set_values` and `remove` name attributes (placeholders are made for them); `extra_set`
        adds clauses written out (`version = version + :one`), `extra_values` the `:values` those
        and `condition` use, and `condition_names` the `#names` the condition uses.
        """
        expression = UpdateExpression.of(set_values, remove, extra_set)
        if expression.empty:
            raise ValueError("an UpdateItem must set or remove at least one attribute: " + action)
        values = {**expression.values, **{name: _serializer.serialize(v) for name, v in (extra_values or {}).items()}}
        args: dict[str, Any] = {
            "TableName": self.name,
            "Key": key,
            "UpdateExpression": expression.text,
            "ExpressionAttributeNames": {**expression.names, **(condition_names or {})},
            "ReturnValues": "ALL_NEW",
        }
        if values:
            args["ExpressionAttributeValues"] = values
        if condition is not None:
            args["ConditionExpression"] = condition
        if return_old_on_failure:
            args["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        with translated(action):
            response = self.client.update_item(**args)
        return from_item(response.get("Attributes", {}))

    def batch_get(
        self, keys: list[dict[str, Any]], action: str, sleep: Callable[[float], None] = time.sleep
    ) -> Iterator[dict[str, Any]]:
        """BatchGetItem of up to 100 keys, eventually consistent; UnprocessedKeys retried with backoff."""
        request: dict[str, Any] = {self.name: {"Keys": keys, "ConsistentRead": False}}
        for round_ in range(_BATCH_GET_ROUNDS):
            if round_:
                # Full jitter over a doubling ceiling, as AWS advises for throttled batches.
                sleep(random.uniform(0, _BATCH_BACKOFF_SECONDS * 2 ** (round_ - 1)))
            with translated(action):
                response = self.client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self.name, []):
                yield from_item(item)
            left = response.get("UnprocessedKeys", {}).get(self.name)
            if not left or not left.get("Keys"):
                return
            request = {self.name: left}
        raise StoreUnavailable(f"DynamoDB {action} failed: throttled (keys left unprocessed)")

    def delete_keys(self, keys: list[dict[str, str]], action: str) -> None:
        for chunk_start in range(0, len(keys), _BATCH_WRITE_MAX):
            requests: list[Any] = [
                {"DeleteRequest": {"Key": to_item(key)}} for key in keys[chunk_start : chunk_start + _BATCH_WRITE_MAX]
            ]
            for _ in range(_BATCH_WRITE_ROUNDS):
                with translated(action):
                    response = self.client.batch_write_item(RequestItems={self.name: requests})
                requests = list(response.get("UnprocessedItems", {}).get(self.name, []))
                if not requests:
                    break
            else:
                raise StoreUnavailable(f"DynamoDB {action} failed: throttled (items left unprocessed)")

    def start_key(
        self, token: str | None, keys: tuple[str, ...], *, pk_prefix: str, **fixed: str
    ) -> dict[str, Any] | None:
        """The ExclusiveStartKey a next token stands for, checked against the listing it came from."""
        if token is None:
            return None
        key = resume_key(token, keys, pk_prefix=pk_prefix, **fixed)
        return {k: {"S": v} for k, v in key.items()}

    @staticmethod
    def page(
        found: list[dict[str, Any]], limit: int, keys: tuple[str, ...], record: Any
    ) -> tuple[list[Any], str | None]:
        page = found[:limit]
        token = encode_token({k: page[-1][k] for k in keys}) if len(found) > limit else None
        return [record(data) for data in page], token
