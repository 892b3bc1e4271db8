"""The DynamoDB single table: projects and their ETag cache, the claim ledger, token budgets.

Layout (docs/design.md): `PROJECT#<id>/PROJECT`, `PROJECT#<id>/ETAG#<hash>`, `ISSUE#<key>/ISSUE`,
`TOKEN#<key>/BUDGET`, `TOKEN#<key>/PACE`, one overloaded GSI (`INTAKE#ENABLED` sparse,
`SESSIONS#<project>`).
Every botocore failure leaves this module as a typed domain error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..domain.config import ProjectConfig, parse_config
from ..domain.errors import (
    ClaimNotFound,
    ConfigInvalid,
    InvalidInput,
    ProjectExists,
    ProjectNotFound,
    StoreUnavailable,
    VersionConflict,
)
from ..domain.issue import dedupe_key
from ..domain.records import (
    Claim,
    ClaimStatus,
    Grant,
    IssueSnapshot,
    Pace,
    PollState,
    ProjectRecord,
    TokenBudget,
)
from ..domain.tracker import CachedPage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

GSI = "gsi1"
PROJECT_SK = "PROJECT"
ETAG_PREFIX = "ETAG#"
CLAIM_SK = "ISSUE"
BUDGET_SK = "BUDGET"
PACE_SK = "PACE"
INTAKE_ENABLED = "INTAKE#ENABLED"
_BATCH_WRITE_MAX = 25
_BATCH_WRITE_ROUNDS = 5
_BATCH_GET_MAX = 100
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


def claim_pk(canonical_id: str) -> str:
    return f"ISSUE#{dedupe_key(canonical_id)}"


def sessions_pk(project_id: str) -> str:
    return f"SESSIONS#{project_id}"


def budget_pk(token_key: str) -> str:
    return f"TOKEN#{token_key}"


def iso(moment: datetime) -> str:
    """Fixed-width UTC ISO-8601, so the strings sort as the instants do (the sessions index)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


# --- pagination tokens -------------------------------------------------------------------


def encode_token(key: Mapping[str, str]) -> str:
    """An opaque next token: base64url JSON of the key to resume after."""
    raw = json.dumps(dict(key), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, required: tuple[str, ...]) -> dict[str, str]:
    """The key a next token holds; InvalidInput("nextToken") for anything we did not issue."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError) as e:
        raise InvalidInput("nextToken", "is not a token this API returned") from e
    if (
        not isinstance(key, dict)
        or set(key) != set(required)
        or not all(isinstance(v, str) and v for v in key.values())
    ):
        raise InvalidInput("nextToken", "is not a token this API returned")
    return key


def check_limit(limit: int) -> None:
    if limit < 1:
        raise InvalidInput("limit", "must be at least 1")


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


def config_data(config: ProjectConfig) -> dict[str, Any]:
    data: dict[str, Any] = config.model_dump(by_alias=True, exclude_none=True, mode="json")
    return data


def project_record(data: Mapping[str, Any]) -> ProjectRecord:
    """A project item as a record. A stored config that no longer validates is reported, not raised."""
    config_error = None
    try:
        config = parse_config(data.get("config", {}))
    except ConfigInvalid as e:
        config, config_error = ProjectConfig(), str(e)

    def when(name: str) -> datetime | None:
        value = data.get(name)
        return parse_iso(value) if isinstance(value, str) else None

    return ProjectRecord(
        project_id=data.get("projectId") or data["pk"].removeprefix("PROJECT#"),
        config=config,
        version=int(data.get("version", 1)),
        poll=PollState(
            backoff_until=when("backoffUntil"),
            consecutive_failures=int(data.get("consecutiveFailures", 0)),
            last_error=data.get("lastError"),
            last_change_at=when("lastChangeAt"),
            pages_read=int(data.get("pagesRead", 0)),
        ),
        created_at=when("createdAt"),
        updated_at=when("updatedAt"),
        config_error=config_error,
        deferred_since=when("deferredSince"),
    )


def cached_page(data: Mapping[str, Any]) -> CachedPage | None:
    """A cached page; None for one written before pages kept their item count.

    Such a page is asked again unconditionally once: without its count the poller could not
    tell a full last page (docs/design.md, "The last full page").
    """
    if "itemCount" not in data:
        return None
    return CachedPage(
        url=data["path"], etag=data["etag"], next_url=data.get("nextUrl"), item_count=int(data["itemCount"])
    )


def snapshot_data(issue: IssueSnapshot) -> dict[str, Any]:
    return {
        "number": issue.number,
        "title": issue.title,
        "url": issue.url,
        "labels": list(issue.labels),
        "assignees": list(issue.assignees),
        "body": issue.body,
        "createdAt": issue.created_at,
    }


def claim_data(claim: Claim) -> dict[str, Any]:
    return {
        "canonicalId": claim.canonical_id,
        "projectId": claim.project_id,
        "status": claim.status.value,
        "claimToken": claim.claim_token,
        "claimedAt": iso(claim.claimed_at),
        "updatedAt": iso(claim.updated_at or claim.claimed_at),
        "attempts": claim.attempts,
        "generation": claim.generation,
        "issue": {k: v for k, v in snapshot_data(claim.issue).items() if v is not None},
        "sessionRef": claim.session_ref,
        "reason": claim.reason,
        "gsi1pk": sessions_pk(claim.project_id),
        "gsi1sk": iso(claim.claimed_at),
    }


def claim_record(data: Mapping[str, Any]) -> Claim:
    issue = data.get("issue", {})
    return Claim(
        canonical_id=data["canonicalId"],
        project_id=data.get("projectId") or data["pk"].removeprefix("PROJECT#"),
        status=ClaimStatus(data["status"]),
        claim_token=data["claimToken"],
        claimed_at=parse_iso(data["claimedAt"]),
        issue=IssueSnapshot(
            number=int(issue.get("number", 0)),
            title=issue.get("title", ""),
            url=issue.get("url", ""),
            labels=tuple(issue.get("labels", ())),
            assignees=tuple(issue.get("assignees", ())),
            body=issue.get("body", ""),
            created_at=issue.get("createdAt"),
        ),
        attempts=int(data.get("attempts", 1)),
        generation=int(data.get("generation", 1)),
        updated_at=parse_iso(data["updatedAt"]) if "updatedAt" in data else None,
        session_ref=data.get("sessionRef"),
        reason=data.get("reason"),
    )


# --- errors ----------------------------------------------------------------------------------


@dataclass
class _ConditionFailed(Exception):
    """A condition expression did not hold; each caller decides what that means."""

    item: dict[str, Any] | None


_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
}


@contextmanager
def _translated(action: str) -> Iterator[None]:
    try:
        yield
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "Unknown")
        if code == "ConditionalCheckFailedException":
            old: Any = e.response.get("Item")
            raise _ConditionFailed(from_item(old) if isinstance(old, dict) and old else None) from e
        reason = "throttled" if code in _THROTTLED else code
        raise StoreUnavailable(f"DynamoDB {action} failed: {reason}") from e
    except BotoCoreError as e:
        raise StoreUnavailable(f"DynamoDB {action} failed: {type(e).__name__}") from e


# --- the store ----------------------------------------------------------------------------------


class DynamoStore:
    """`ProjectStore`, `Ledger` and `TokenBudgets` on one DynamoDB table."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        # boto3 reads AWS_ENDPOINT_URL itself, so the local stack and moto need nothing here.
        self.client: DynamoDBClient = client or boto3.client("dynamodb", config=_CLIENT_CONFIG)

    # --- ProjectStore: the poller ---------------------------------------------------------

    def load_for_poll(self, project_id: str) -> tuple[ProjectRecord, dict[str, CachedPage]]:
        record: ProjectRecord | None = None
        pages: dict[str, CachedPage] = {}
        for data in self._query_partition(project_pk(project_id)):
            if data["sk"] == PROJECT_SK:
                record = project_record(data)
            elif data["sk"].startswith(ETAG_PREFIX):
                page = cached_page(data)
                if page is not None:
                    pages[page.url] = page
        if record is None:
            raise ProjectNotFound(project_id)
        return record, pages

    def save_poll_state(self, project_id: str, poll: PollState) -> None:
        values = {
            "backoffUntil": iso(poll.backoff_until) if poll.backoff_until else None,
            "consecutiveFailures": poll.consecutive_failures,
            "lastError": poll.last_error,
            "lastChangeAt": iso(poll.last_change_at) if poll.last_change_at else None,
            "pagesRead": poll.pages_read or None,
        }
        try:
            self._update(
                self._project_key(project_id),
                set_values={k: v for k, v in values.items() if v is not None},
                remove=[k for k, v in values.items() if v is None],
                condition="attribute_exists(pk)",
                action="save poll state",
            )
        except _ConditionFailed:
            raise ProjectNotFound(project_id) from None

    def commit_page(self, project_id: str, page: CachedPage) -> None:
        item = {
            "pk": project_pk(project_id),
            "sk": etag_sk(page.url),
            "etag": page.etag,
            "path": page.url,
            "nextUrl": page.next_url,
            "itemCount": page.item_count,
        }
        with _translated("commit page"):
            self.client.put_item(TableName=self.table_name, Item=to_item(item))

    def forget_pages(self, project_id: str) -> None:
        keys = [
            {"pk": data["pk"], "sk": data["sk"]}
            for data in self._query_partition(project_pk(project_id), sk_prefix=ETAG_PREFIX, keys_only=True)
        ]
        self._delete_keys(keys, "forget pages")

    def set_deferred(self, project_id: str, since: datetime | None) -> None:
        try:
            self._update(
                self._project_key(project_id),
                set_values={"deferredSince": iso(since)} if since is not None else {},
                remove=[] if since is not None else ["deferredSince"],
                condition="attribute_exists(pk)",
                action="record deferral",
            )
        except _ConditionFailed:
            raise ProjectNotFound(project_id) from None

    def intake_enabled(self) -> Iterator[ProjectRecord]:
        start: dict[str, Any] | None = None
        while True:
            args: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": GSI,
                "KeyConditionExpression": "gsi1pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": INTAKE_ENABLED}},
            }
            if start:
                args["ExclusiveStartKey"] = start
            with _translated("list intake-enabled projects"):
                response = self.client.query(**args)
            for item in response.get("Items", []):
                yield project_record(from_item(item))
            start = response.get("LastEvaluatedKey")
            if not start:
                return

    # --- ProjectStore: the API ---------------------------------------------------------------

    def create_project(self, project_id: str, config: ProjectConfig, now: datetime) -> ProjectRecord:
        stamp = iso(now)
        data: dict[str, Any] = {
            "pk": project_pk(project_id),
            "sk": PROJECT_SK,
            "projectId": project_id,
            "config": config_data(config),
            "version": 1,
            "createdAt": stamp,
            "updatedAt": stamp,
            **self._intake_index(project_id, config),
        }
        try:
            with _translated("create project"):
                self.client.put_item(
                    TableName=self.table_name,
                    Item=to_item(data),
                    ConditionExpression="attribute_not_exists(pk)",
                )
        except _ConditionFailed:
            raise ProjectExists(project_id) from None
        return project_record(data)

    def get_project(self, project_id: str) -> ProjectRecord:
        with _translated("get project"):
            response = self.client.get_item(
                TableName=self.table_name, Key=self._project_key(project_id), ConsistentRead=True
            )
        if "Item" not in response:
            raise ProjectNotFound(project_id)
        return project_record(from_item(response["Item"]))

    def list_projects(self, limit: int, next_token: str | None) -> tuple[list[ProjectRecord], str | None]:
        """Projects only, in table order. A Scan: the API's listing, never the poll path."""
        check_limit(limit)
        start = self._start_key(next_token, ("pk", "sk"), sk=PROJECT_SK, pk_prefix="PROJECT#")
        found: list[dict[str, Any]] = []
        while len(found) <= limit:
            args: dict[str, Any] = {
                "TableName": self.table_name,
                "FilterExpression": "sk = :sk",
                "ExpressionAttributeValues": {":sk": {"S": PROJECT_SK}},
            }
            if start:
                args["ExclusiveStartKey"] = start
            with _translated("list projects"):
                response = self.client.scan(**args)
            found.extend(from_item(item) for item in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        return self._page(found, limit, ("pk", "sk"), project_record)

    def replace_config(
        self, project_id: str, config: ProjectConfig, expected_version: int | None, now: datetime
    ) -> ProjectRecord:
        index = self._intake_index(project_id, config)
        condition = "attribute_exists(pk)"
        values: dict[str, Any] = {":one": 1}
        if expected_version is not None:
            condition += " AND version = :expected"
            values[":expected"] = expected_version
        try:
            data = self._update(
                self._project_key(project_id),
                set_values={"config": config_data(config), "updatedAt": iso(now), **index},
                # A deferral belongs to the config that was due; the next tick marks it anew.
                remove=["deferredSince"] if index else ["gsi1pk", "gsi1sk", "deferredSince"],
                extra_set=["version = version + :one"],
                extra_values=values,
                condition=condition,
                action="replace config",
                return_old_on_failure=True,
            )
        except _ConditionFailed as failed:
            old = failed.item if failed.item is not None else self._get_raw(self._project_key(project_id))
            if old is None:
                raise ProjectNotFound(project_id) from None
            raise VersionConflict(project_id, expected_version or 0, int(old.get("version", 1))) from None
        return project_record(data)

    def delete_project(self, project_id: str) -> None:
        """The project and its ETag cache. Its claims stay: the ledger is history."""
        # Cache first: a failure half-way leaves the project in place (with a cold cache), so
        # the caller can simply try again.
        self.forget_pages(project_id)
        try:
            with _translated("delete project"):
                self.client.delete_item(
                    TableName=self.table_name,
                    Key=self._project_key(project_id),
                    ConditionExpression="attribute_exists(pk)",
                )
        except _ConditionFailed:
            raise ProjectNotFound(project_id) from None

    # --- Ledger ------------------------------------------------------------------------------------

    def put_claim(self, claim: Claim) -> bool:
        return self.try_claim(claim) is None

    def try_claim(self, claim: Claim) -> Claim | None:
        item = {"pk": claim_pk(claim.canonical_id), "sk": CLAIM_SK, **claim_data(claim)}
        try:
            with _translated("put claim"):
                self.client.put_item(
                    TableName=self.table_name,
                    Item=to_item(item),
                    ConditionExpression="attribute_not_exists(pk)",
                    # A lost race costs this one request: the refusal carries the holder.
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except _ConditionFailed as refused:
            if refused.item is not None:
                return claim_record(refused.item)
            # Only an endpoint that ignores ALL_OLD gets here (DynamoDB always returns it).
            holder = self.get_claim(claim.canonical_id)
            return holder if holder is not None else replace(claim, status=ClaimStatus.CLAIMED)
        return None

    def get_claims(self, canonical_ids: Sequence[str]) -> dict[str, Claim]:
        keys: dict[str, dict[str, Any]] = {}
        for canonical in canonical_ids:
            try:
                keys[claim_pk(canonical)] = self._claim_key(canonical)
            except ValueError:
                continue  # not a canonical id: it has no claim
        found: dict[str, Claim] = {}
        pending = list(keys.values())
        for start in range(0, len(pending), _BATCH_GET_MAX):
            for data in self._batch_get(pending[start : start + _BATCH_GET_MAX], "read claims"):
                claim = claim_record(data)
                found[dedupe_key(claim.canonical_id)] = claim
        return found

    def get_claim(self, canonical_id: str) -> Claim | None:
        try:
            key = self._claim_key(canonical_id)
        except ValueError:
            return None
        data = self._get_raw(key)
        return claim_record(data) if data is not None else None

    def take_over(self, claim: Claim, old_token: str, old_status: ClaimStatus) -> bool:
        data = claim_data(claim)
        try:
            self._update(
                self._claim_key(claim.canonical_id),
                set_values={k: v for k, v in data.items() if v is not None},
                remove=[k for k, v in data.items() if v is None],
                extra_values={":old_token": old_token, ":old_status": old_status.value},
                condition="claimToken = :old_token AND #status = :old_status",
                action="take over claim",
            )
        except _ConditionFailed:
            return False
        return True

    def mark_enqueued(self, canonical_id: str, claim_token: str, now: datetime) -> bool:
        try:
            self._update(
                self._claim_key(canonical_id),
                set_values={"status": ClaimStatus.ENQUEUED.value, "updatedAt": iso(now)},
                extra_values={":token": claim_token, ":claimed": ClaimStatus.CLAIMED.value},
                condition="claimToken = :token AND #status = :claimed",
                action="mark claim enqueued",
            )
        except _ConditionFailed:
            return False
        return True

    def transition(
        self,
        canonical_id: str,
        from_status: ClaimStatus | tuple[ClaimStatus, ...],
        to_status: ClaimStatus,
        now: datetime,
        *,
        session_ref: str | None = None,
        reason: str | None = None,
    ) -> bool:
        sources = (from_status,) if isinstance(from_status, ClaimStatus) else from_status
        if not sources:
            return False
        names = [f":from{i}" for i in range(len(sources))]
        values = {
            "status": to_status.value,
            "updatedAt": iso(now),
            "sessionRef": session_ref,
            "reason": reason,
        }
        try:
            self._update(
                self._claim_key(canonical_id),
                set_values={k: v for k, v in values.items() if v is not None},
                extra_values={name: s.value for name, s in zip(names, sources, strict=True)},
                condition=f"attribute_exists(pk) AND #status IN ({', '.join(names)})",
                action="transition claim",
            )
        except _ConditionFailed:
            return False
        return True

    def list_sessions(self, project_id: str, limit: int, next_token: str | None) -> tuple[list[Claim], str | None]:
        """The project's claims, newest first."""
        check_limit(limit)
        keys = ("pk", "sk", "gsi1pk", "gsi1sk")
        start = self._start_key(next_token, keys, gsi1pk=sessions_pk(project_id), pk_prefix="ISSUE#")
        args: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": GSI,
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": sessions_pk(project_id)}},
            "ScanIndexForward": False,
            # One more than asked: a next token is returned only when there is a next page.
            "Limit": limit + 1,
        }
        if start:
            args["ExclusiveStartKey"] = start
        with _translated("list sessions"):
            response = self.client.query(**args)
        found = [from_item(item) for item in response.get("Items", [])]
        return self._page(found, limit, keys, claim_record)

    def release(self, project_id: str, canonical_id: str, now: datetime) -> Claim:
        """Mark the claim released and drop the project's ETag cache, so the next poll re-reads it."""
        missing = ClaimNotFound(f"project {project_id!r} has no claim on {canonical_id[:200]!r}")
        try:
            key = self._claim_key(canonical_id)
        except ValueError:
            raise missing from None
        try:
            data = self._update(
                key,
                set_values={"status": ClaimStatus.RELEASED.value, "updatedAt": iso(now)},
                extra_values={":project": project_id},
                condition="attribute_exists(pk) AND projectId = :project",
                action="release claim",
            )
        except _ConditionFailed:
            raise missing from None
        self.forget_pages(project_id)
        return claim_record(data)

    # --- TokenBudgets --------------------------------------------------------------------------

    def get_budget(self, token_key: str) -> TokenBudget | None:
        data = self._get_raw(self._token_key(token_key, BUDGET_SK), consistent=False)
        if data is None:
            return None
        paused = data.get("pausedUntil")
        return TokenBudget(
            token_key,
            int(data.get("remaining", 1)),
            parse_iso(data["resetAt"]) if "resetAt" in data else datetime.fromtimestamp(0, UTC),
            parse_iso(paused) if isinstance(paused, str) else None,
        )

    def record_budget(self, budget: TokenBudget) -> None:
        self._update(
            self._token_key(budget.token_key, BUDGET_SK),
            set_values={"remaining": budget.remaining, "resetAt": iso(budget.reset_at)},
            condition=None,
            action="record token budget",
        )

    def pause(self, token_key: str, until: datetime) -> None:
        # A refused condition means a later pause is already recorded: it stays.
        with suppress(_ConditionFailed):
            self._update(
                self._token_key(token_key, BUDGET_SK),
                set_values={"pausedUntil": iso(until)},
                extra_values={":until": iso(until)},
                # ISO strings of one fixed width sort as the instants do: a longer pause stays.
                condition="attribute_not_exists(pausedUntil) OR pausedUntil < :until",
                action="pause credential",
            )

    def get_pace(self, token_key: str) -> Pace | None:
        data = self._get_raw(self._token_key(token_key, PACE_SK))
        if data is None:
            return None
        grants = tuple(Grant(parse_iso(at), int(points)) for at, points in data.get("grants", []))
        return Pace(token_key, grants, data.get("cursor"), int(data.get("version", 0)))

    def save_pace(self, pace: Pace) -> bool:
        item = {
            "pk": budget_pk(pace.token_key),
            "sk": PACE_SK,
            "grants": [[iso(g.at), g.points] for g in pace.grants],
            "cursor": pace.cursor,
            "version": pace.version,
        }
        condition = "attribute_not_exists(pk)" if pace.version <= 1 else "version = :previous"
        args: dict[str, Any] = {"TableName": self.table_name, "Item": to_item(item), "ConditionExpression": condition}
        if pace.version > 1:
            args["ExpressionAttributeValues"] = {":previous": {"N": str(pace.version - 1)}}
        try:
            with _translated("save pace"):
                self.client.put_item(**args)
        except _ConditionFailed:
            return False
        return True

    # --- plumbing -------------------------------------------------------------------------------

    @staticmethod
    def _project_key(project_id: str) -> dict[str, Any]:
        return {"pk": {"S": project_pk(project_id)}, "sk": {"S": PROJECT_SK}}

    @staticmethod
    def _token_key(token_key: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": budget_pk(token_key)}, "sk": {"S": sk}}

    @staticmethod
    def _claim_key(canonical_id: str) -> dict[str, Any]:
        return {"pk": {"S": claim_pk(canonical_id)}, "sk": {"S": CLAIM_SK}}

    @staticmethod
    def _intake_index(project_id: str, config: ProjectConfig) -> dict[str, str]:
        """The sparse index attributes: present only while intake is enabled."""
        if not config.intake_enabled:
            return {}
        return {"gsi1pk": INTAKE_ENABLED, "gsi1sk": project_pk(project_id)}

    def _get_raw(self, key: dict[str, Any], *, consistent: bool = True) -> dict[str, Any] | None:
        with _translated("get item"):
            response = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=consistent)
        item = response.get("Item")
        return from_item(item) if item else None

    def _query_partition(
        self, pk: str, *, sk_prefix: str | None = None, keys_only: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Every item of one partition, consistently read (one call unless it outgrows 1 MB)."""
        args: dict[str, Any] = {
            "TableName": self.table_name,
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
            with _translated("query"):
                response = self.client.query(**args)
            yield from (from_item(item) for item in response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                return
            args["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _update(
        self,
        key: dict[str, Any],
        *,
        set_values: Mapping[str, Any],
        remove: list[str] | None = None,
        extra_set: list[str] | None = None,
        extra_values: Mapping[str, Any] | None = None,
        condition: str | None,
        action: str,
        return_old_on_failure: bool = False,
    ) -> dict[str, Any]:
        """UpdateItem on named attributes only; returns the item as it is afterwards."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        for i, (attr, value) in enumerate(set_values.items()):
            names[f"#s{i}"] = attr
            values[f":s{i}"] = _serializer.serialize(value)
            sets.append(f"#s{i} = :s{i}")
        sets.extend(extra_set or [])
        removes = []
        for i, attr in enumerate(remove or []):
            names[f"#r{i}"] = attr
            removes.append(f"#r{i}")
        for name, value in (extra_values or {}).items():
            values[name] = _serializer.serialize(value)
        if condition is not None and "#status" in condition:
            names["#status"] = "status"
        if not sets and not removes:
            raise ValueError("an UpdateItem must set or remove at least one attribute: " + action)
        clauses = []
        if sets:
            clauses.append("SET " + ", ".join(sets))
        if removes:
            clauses.append("REMOVE " + ", ".join(removes))
        args: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": key,
            "UpdateExpression": " ".join(clauses),
            "ExpressionAttributeNames": names,
            "ReturnValues": "ALL_NEW",
        }
        if values:
            args["ExpressionAttributeValues"] = values
        if condition is not None:
            args["ConditionExpression"] = condition
        if return_old_on_failure:
            args["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        with _translated(action):
            response = self.client.update_item(**args)
        return from_item(response.get("Attributes", {}))

    def _batch_get(
        self, keys: list[dict[str, Any]], action: str, sleep: Callable[[float], None] = time.sleep
    ) -> Iterator[dict[str, Any]]:
        """BatchGetItem of up to 100 keys, eventually consistent; UnprocessedKeys retried with backoff."""
        request: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": False}}
        for round_ in range(_BATCH_GET_ROUNDS):
            if round_:
                # Full jitter over a doubling ceiling, as AWS advises for throttled batches.
                sleep(random.uniform(0, _BATCH_BACKOFF_SECONDS * 2 ** (round_ - 1)))
            with _translated(action):
                response = self.client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self.table_name, []):
                yield from_item(item)
            left = response.get("UnprocessedKeys", {}).get(self.table_name)
            if not left or not left.get("Keys"):
                return
            request = {self.table_name: left}
        raise StoreUnavailable(f"DynamoDB {action} failed: throttled (keys left unprocessed)")

    def _delete_keys(self, keys: list[dict[str, str]], action: str) -> None:
        for chunk_start in range(0, len(keys), _BATCH_WRITE_MAX):
            requests: list[Any] = [
                {"DeleteRequest": {"Key": to_item(key)}} for key in keys[chunk_start : chunk_start + _BATCH_WRITE_MAX]
            ]
            for _ in range(_BATCH_WRITE_ROUNDS):
                with _translated(action):
                    response = self.client.batch_write_item(RequestItems={self.table_name: requests})
                requests = list(response.get("UnprocessedItems", {}).get(self.table_name, []))
                if not requests:
                    break
            else:
                raise StoreUnavailable(f"DynamoDB {action} failed: throttled (items left unprocessed)")

    def _start_key(
        self, token: str | None, keys: tuple[str, ...], *, pk_prefix: str, **fixed: str
    ) -> dict[str, Any] | None:
        """The ExclusiveStartKey a next token stands for, checked against the listing it came from."""
        if token is None:
            return None
        key = decode_token(token, keys)
        if not key["pk"].startswith(pk_prefix) or any(key.get(k) != v for k, v in fixed.items()):
            raise InvalidInput("nextToken", "is not a token this API returned")
        return {k: {"S": v} for k, v in key.items()}

    @staticmethod
    def _page(
        found: list[dict[str, Any]], limit: int, keys: tuple[str, ...], record: Any
    ) -> tuple[list[Any], str | None]:
        page = found[:limit]
        token = encode_token({k: page[-1][k] for k in keys}) if len(found) > limit else None
        return [record(data) for data in page], token
