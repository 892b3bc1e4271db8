"""`ProjectStore` on DynamoDB: projects, their config and poll state, their cached page ETags."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from ...domain.backlog import Snapshot
from ...domain.config import ProjectConfig, parse_config
from ...domain.errors import ConfigInvalid, ProjectExists, ProjectNotFound, VersionConflict
from ...domain.records import Installation, PollState, ProjectRecord
from ...domain.tracker import CachedPage
from .table import (
    ETAG_PREFIX,
    GSI,
    INTAKE_ENABLED,
    PROJECT_SK,
    ConditionFailed,
    DynamoTable,
    check_limit,
    etag_sk,
    from_item,
    iso,
    parse_iso,
    project_key,
    project_pk,
    to_item,
    translated,
)

# The poll state a backoff is made of: cleared by "poll now" and by a config write that touches
# the poll (domain/changes.py). The rest (last change, pages read, primary costs) stays.
BACKOFF_ATTRIBUTES = ("backoffUntil", "consecutiveFailures", "lastError", "failureTransient")


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
            transient=bool(data.get("failureTransient", False)),
            primary_costs=tuple(int(n) for n in data.get("primaryCosts", [])),
        ),
        created_at=when("createdAt"),
        updated_at=when("updatedAt"),
        config_error=config_error,
        deferred_since=when("deferredSince"),
        installation=_installation(data),
        backlog_since=when("backlogSince"),
    )


def _installation(data: Mapping[str, Any]) -> Installation | None:
    app_id, installation_id = data.get("installationAppId"), data.get("installationId")
    if not isinstance(app_id, str) or installation_id is None:
        return None
    return Installation(app_id, int(installation_id))


def cached_page(data: Mapping[str, Any]) -> CachedPage | None:
    """A cached page; None for one written before pages kept their item count.

    Such a page is asked again unconditionally once: without its count the poller could not
    tell a full last page (docs/design.md, "The last full page").
    """
    if "itemCount" not in data:
        return None
    return CachedPage(
        url=data["path"],
        etag=data["etag"],
        next_url=data.get("nextUrl"),
        item_count=int(data["itemCount"]),
        credential=data.get("credential"),
    )


class DynamoProjects:
    """Projects on one table."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    # --- ProjectStore: the poller ---------------------------------------------------------

    def load_for_poll(self, project_id: str) -> tuple[ProjectRecord, dict[str, CachedPage]]:
        record: ProjectRecord | None = None
        pages: dict[str, CachedPage] = {}
        for data in self.table.query_partition(project_pk(project_id)):
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
            "failureTransient": True if poll.transient else None,
            "primaryCosts": list(poll.primary_costs) or None,
        }
        try:
            self.table.update(
                project_key(project_id),
                set_values={k: v for k, v in values.items() if v is not None},
                remove=[k for k, v in values.items() if v is None],
                condition="attribute_exists(pk)",
                action="save poll state",
            )
        except ConditionFailed:
            raise ProjectNotFound(project_id) from None

    def commit_page(self, project_id: str, page: CachedPage) -> None:
        item = {
            "pk": project_pk(project_id),
            "sk": etag_sk(page.url),
            "etag": page.etag,
            "path": page.url,
            "nextUrl": page.next_url,
            "itemCount": page.item_count,
            "credential": page.credential,
        }
        with translated("commit page"):
            self.table.client.put_item(TableName=self.table.name, Item=to_item(item))

    def forget_pages(self, project_id: str) -> None:
        keys = [
            {"pk": data["pk"], "sk": data["sk"]}
            for data in self.table.query_partition(project_pk(project_id), sk_prefix=ETAG_PREFIX, keys_only=True)
        ]
        self.table.delete_keys(keys, "forget pages")

    def clear_backoff(self, project_id: str) -> ProjectRecord:
        try:
            data = self.table.update(
                project_key(project_id),
                set_values={},
                remove=list(BACKOFF_ATTRIBUTES),
                condition="attribute_exists(pk)",
                action="clear backoff",
            )
        except ConditionFailed:
            raise ProjectNotFound(project_id) from None
        return project_record(data)

    def set_installation(self, project_id: str, installation: Installation | None) -> None:
        try:
            self.table.update(
                project_key(project_id),
                set_values=(
                    {"installationAppId": installation.app_id, "installationId": installation.installation_id}
                    if installation is not None
                    else {}
                ),
                remove=[] if installation is not None else ["installationAppId", "installationId"],
                condition="attribute_exists(pk)",
                action="record installation",
            )
        except ConditionFailed:
            raise ProjectNotFound(project_id) from None

    def end_backlog(self, project_id: str, since: datetime) -> bool:
        try:
            self.table.update(
                project_key(project_id),
                set_values={},
                remove=["backlogSince"],
                extra_values={":since": iso(since)},
                condition="backlogSince = :since",
                action="end backlog",
            )
        except ConditionFailed:
            return False
        return True

    def set_deferred(self, project_id: str, since: datetime | None) -> None:
        try:
            self.table.update(
                project_key(project_id),
                set_values={"deferredSince": iso(since)} if since is not None else {},
                remove=[] if since is not None else ["deferredSince"],
                condition="attribute_exists(pk)",
                action="record deferral",
            )
        except ConditionFailed:
            raise ProjectNotFound(project_id) from None

    def intake_enabled(self) -> Iterator[ProjectRecord]:
        start: dict[str, Any] | None = None
        while True:
            args: dict[str, Any] = {
                "TableName": self.table.name,
                "IndexName": GSI,
                "KeyConditionExpression": "gsi1pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": INTAKE_ENABLED}},
            }
            if start:
                args["ExclusiveStartKey"] = start
            with translated("list intake-enabled projects"):
                response = self.table.client.query(**args)
            for item in response.get("Items", []):
                yield project_record(from_item(item))
            start = response.get("LastEvaluatedKey")
            if not start:
                return

    # --- ProjectStore: the API ---------------------------------------------------------------

    def create_project(
        self, project_id: str, config: ProjectConfig, now: datetime, *, backlog_since: datetime | None = None
    ) -> ProjectRecord:
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
            **({"backlogSince": iso(backlog_since)} if backlog_since is not None else {}),
        }
        try:
            with translated("create project"):
                self.table.client.put_item(
                    TableName=self.table.name,
                    Item=to_item(data),
                    ConditionExpression="attribute_not_exists(pk)",
                )
        except ConditionFailed:
            raise ProjectExists(project_id) from None
        return project_record(data)

    def get_project(self, project_id: str) -> ProjectRecord:
        with translated("get project"):
            response = self.table.client.get_item(
                TableName=self.table.name, Key=project_key(project_id), ConsistentRead=True
            )
        if "Item" not in response:
            raise ProjectNotFound(project_id)
        return project_record(from_item(response["Item"]))

    def list_projects(self, limit: int, next_token: str | None) -> tuple[list[ProjectRecord], str | None]:
        """Projects only, in table order. A Scan: the API's listing, never the poll path."""
        check_limit(limit)
        start = self.table.start_key(next_token, ("pk", "sk"), sk=PROJECT_SK, pk_prefix="PROJECT#")
        found: list[dict[str, Any]] = []
        while len(found) <= limit:
            args: dict[str, Any] = {
                "TableName": self.table.name,
                "FilterExpression": "sk = :sk",
                "ExpressionAttributeValues": {":sk": {"S": PROJECT_SK}},
            }
            if start:
                args["ExclusiveStartKey"] = start
            with translated("list projects"):
                response = self.table.client.scan(**args)
            found.extend(from_item(item) for item in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        return self.table.page(found, limit, ("pk", "sk"), project_record)

    def replace_config(
        self,
        project_id: str,
        config: ProjectConfig,
        expected_version: int | None,
        now: datetime,
        *,
        snapshot: Snapshot = Snapshot.KEEP,
        clear_backoff: bool = False,
    ) -> ProjectRecord:
        index = self._intake_index(project_id, config)
        condition = "attribute_exists(pk)"
        values: dict[str, Any] = {":one": 1}
        if expected_version is not None:
            condition += " AND version = :expected"
            values[":expected"] = expected_version
        mark = {"backlogSince": iso(now)} if snapshot is Snapshot.START else {}
        try:
            data = self.table.update(
                project_key(project_id),
                set_values={"config": config_data(config), "updatedAt": iso(now), **index, **mark},
                # A deferral belongs to the config that was due; the next tick marks it anew.
                remove=(["deferredSince"] if index else ["gsi1pk", "gsi1sk", "deferredSince"])
                + (["backlogSince"] if snapshot is Snapshot.DROP else [])
                + (list(BACKOFF_ATTRIBUTES) if clear_backoff else []),
                extra_set=["version = version + :one"],
                extra_values=values,
                condition=condition,
                action="replace config",
                return_old_on_failure=True,
            )
        except ConditionFailed as failed:
            old = failed.item if failed.item is not None else self.table.get(project_key(project_id))
            if old is None:
                raise ProjectNotFound(project_id) from None
            raise VersionConflict(project_id, expected_version or 0, int(old.get("version", 1))) from None
        return project_record(data)

    def delete_project(self, project_id: str) -> None:
        """The project, its ETag cache and its members' kept permissions. Its claims stay: the
        ledger is history."""
        # Caches first: a failure half-way leaves the project in place (with cold caches), so
        # the caller can simply try again.
        keys = [
            {"pk": data["pk"], "sk": data["sk"]}
            for data in self.table.query_partition(project_pk(project_id), keys_only=True)
            if data["sk"] != PROJECT_SK
        ]
        self.table.delete_keys(keys, "forget project caches")
        try:
            with translated("delete project"):
                self.table.client.delete_item(
                    TableName=self.table.name,
                    Key=project_key(project_id),
                    ConditionExpression="attribute_exists(pk)",
                )
        except ConditionFailed:
            raise ProjectNotFound(project_id) from None

    @staticmethod
    def _intake_index(project_id: str, config: ProjectConfig) -> dict[str, str]:
        """The sparse index attributes: present only while intake is enabled."""
        if not config.intake_enabled:
            return {}
        return {"gsi1pk": INTAKE_ENABLED, "gsi1sk": project_pk(project_id)}
