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
from .formats import check_limit, iso, parse_iso
from .items import Names, PageItem, ProjectItem, read_item
from .table import (
    ETAG_PREFIX,
    GSI,
    INTAKE_ENABLED,
    PROJECT_SK,
    ConditionFailed,
    DynamoTable,
    etag_sk,
    from_item,
    project_key,
    project_pk,
    to_item,
    translated,
)

PROJECT = Names(ProjectItem)
PAGE = Names(PageItem)

# The poll state a backoff is made of: cleared by "poll now" and by a config write that touches
# the poll (domain/changes.py). The rest (last change, pages read, primary costs) stays.
BACKOFF_ATTRIBUTES = (
    PROJECT.backoff_until,
    PROJECT.consecutive_failures,
    PROJECT.last_error,
    PROJECT.failure_transient,
)


def config_data(config: ProjectConfig) -> dict[str, Any]:
    data: dict[str, Any] = config.model_dump(by_alias=True, exclude_none=True, mode="json")
    return data


def project_record(data: Mapping[str, Any]) -> ProjectRecord:
    """A project item as a record; ItemMalformed when it is not one. A stored config that no
    longer validates is reported on the record, not raised."""
    item = read_item(ProjectItem, data)
    config_error = None
    try:
        config = parse_config(item.config)
    except ConfigInvalid as e:
        config, config_error = ProjectConfig(), str(e)
    return ProjectRecord(
        project_id=item.project_id or (item.pk or "").removeprefix("PROJECT#"),
        config=config,
        version=item.version,
        poll=PollState(
            backoff_until=_moment(item.backoff_until),
            consecutive_failures=item.consecutive_failures,
            last_error=item.last_error,
            last_change_at=_moment(item.last_change_at),
            pages_read=item.pages_read,
            transient=item.failure_transient,
            primary_costs=item.primary_costs,
            checked_at=_moment(item.checked_at),
        ),
        created_at=_moment(item.created_at),
        updated_at=_moment(item.updated_at),
        config_error=config_error,
        deferred_since=_moment(item.deferred_since),
        installation=_installation(item),
        backlog_since=_moment(item.backlog_since),
    )


def _moment(value: str | None) -> datetime | None:
    return parse_iso(value) if value is not None else None


def _installation(item: ProjectItem) -> Installation | None:
    app_id, installation_id = item.installation_app_id, item.installation_id
    if not isinstance(app_id, str) or installation_id is None:
        return None
    return Installation(app_id, int(installation_id))


def cached_page(data: Mapping[str, Any]) -> CachedPage | None:
    """A cached page; None for one written before pages kept their item count.

    Such a page is asked again unconditionally once: without its count the poller could not
    tell a full last page (docs/design.md, "The last full page").
    """
    item = read_item(PageItem, data)
    if item.item_count is None:
        return None
    return CachedPage(
        url=item.path,
        etag=item.etag,
        next_url=item.next_url,
        item_count=item.item_count,
        credential=item.credential,
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
            if data[PROJECT.sk] == PROJECT_SK:
                record = project_record(data)
            elif data[PAGE.sk].startswith(ETAG_PREFIX):
                page = cached_page(data)
                if page is not None:
                    pages[page.url] = page
        if record is None:
            raise ProjectNotFound(project_id)
        return record, pages

    def save_poll_state(self, project_id: str, poll: PollState) -> None:
        values = {
            PROJECT.backoff_until: iso(poll.backoff_until) if poll.backoff_until else None,
            PROJECT.consecutive_failures: poll.consecutive_failures,
            PROJECT.last_error: poll.last_error,
            PROJECT.last_change_at: iso(poll.last_change_at) if poll.last_change_at else None,
            PROJECT.pages_read: poll.pages_read or None,
            PROJECT.failure_transient: True if poll.transient else None,
            PROJECT.primary_costs: list(poll.primary_costs) or None,
            PROJECT.checked_at: iso(poll.checked_at) if poll.checked_at else None,
        }
        try:
            self.table.update(
                project_key(project_id),
                set_values={k: v for k, v in values.items() if v is not None},
                remove=[k for k, v in values.items() if v is None],
                condition=f"attribute_exists({PROJECT.pk})",
                action="save poll state",
            )
        except ConditionFailed:
            raise ProjectNotFound(project_id) from None

    def commit_page(self, project_id: str, page: CachedPage) -> None:
        item = PageItem(
            pk=project_pk(project_id),
            sk=etag_sk(page.url),
            etag=page.etag,
            path=page.url,
            next_url=page.next_url,
            item_count=page.item_count,
            credential=page.credential,
        )
        with translated("commit page"):
            self.table.client.put_item(TableName=self.table.name, Item=to_item(item.model_dump(by_alias=True)))

    def forget_pages(self, project_id: str) -> None:
        keys = [
            {PAGE.pk: data[PAGE.pk], PAGE.sk: data[PAGE.sk]}
            for data in self.table.query_partition(project_pk(project_id), sk_prefix=ETAG_PREFIX, keys_only=True)
        ]
        self.table.delete_keys(keys, "forget pages")

    def clear_backoff(self, project_id: str) -> ProjectRecord:
        try:
            data = self.table.update(
                project_key(project_id),
                set_values={},
                remove=list(BACKOFF_ATTRIBUTES),
                condition=f"attribute_exists({PROJECT.pk})",
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
                    {
                        PROJECT.installation_app_id: installation.app_id,
                        PROJECT.installation_id: installation.installation_id,
                    }
                    if installation is not None
                    else {}
                ),
                remove=[] if installation is not None else [PROJECT.installation_app_id, PROJECT.installation_id],
                condition=f"attribute_exists({PROJECT.pk})",
                action="record installation",
            )
        except ConditionFailed:
            raise ProjectNotFound(project_id) from None

    def end_backlog(self, project_id: str, since: datetime) -> bool:
        try:
            self.table.update(
                project_key(project_id),
                set_values={},
                remove=[PROJECT.backlog_since],
                extra_values={":since": iso(since)},
                condition=f"{PROJECT.backlog_since} = :since",
                action="end backlog",
            )
        except ConditionFailed:
            return False
        return True

    def set_deferred(self, project_id: str, since: datetime | None) -> None:
        try:
            self.table.update(
                project_key(project_id),
                set_values={PROJECT.deferred_since: iso(since)} if since is not None else {},
                remove=[] if since is not None else [PROJECT.deferred_since],
                condition=f"attribute_exists({PROJECT.pk})",
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
                "KeyConditionExpression": f"{PROJECT.gsi1pk} = :pk",
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
        item = ProjectItem(
            pk=project_pk(project_id),
            sk=PROJECT_SK,
            project_id=project_id,
            config=config_data(config),
            version=1,
            created_at=stamp,
            updated_at=stamp,
            backlog_since=iso(backlog_since) if backlog_since is not None else None,
        )
        data = {
            **item.model_dump(by_alias=True, exclude_unset=True, exclude_none=True),
            **self._intake_index(project_id, config),
        }
        try:
            with translated("create project"):
                self.table.client.put_item(
                    TableName=self.table.name,
                    Item=to_item(data),
                    ConditionExpression=f"attribute_not_exists({PROJECT.pk})",
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
        keys = (PROJECT.pk, PROJECT.sk)
        start = self.table.start_key(next_token, keys, sk=PROJECT_SK, pk_prefix="PROJECT#")
        found: list[dict[str, Any]] = []
        while len(found) <= limit:
            args: dict[str, Any] = {
                "TableName": self.table.name,
                "FilterExpression": f"{PROJECT.sk} = :sk",
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
        return self.table.page(found, limit, keys, project_record)

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
        condition = f"attribute_exists({PROJECT.pk})"
        values: dict[str, Any] = {":one": 1}
        if expected_version is not None:
            condition += f" AND {PROJECT.version} = :expected"
            values[":expected"] = expected_version
        mark = {PROJECT.backlog_since: iso(now)} if snapshot is Snapshot.START else {}
        try:
            data = self.table.update(
                project_key(project_id),
                set_values={PROJECT.config: config_data(config), PROJECT.updated_at: iso(now), **index, **mark},
                # A deferral belongs to the config that was due; the next tick marks it anew.
                remove=([] if index else [PROJECT.gsi1pk, PROJECT.gsi1sk])
                + [PROJECT.deferred_since]
                + ([PROJECT.backlog_since] if snapshot is Snapshot.DROP else [])
                + (list(BACKOFF_ATTRIBUTES) if clear_backoff else []),
                extra_set=[f"{PROJECT.version} = {PROJECT.version} + :one"],
                extra_values=values,
                condition=condition,
                action="replace config",
                return_old_on_failure=True,
            )
        except ConditionFailed as failed:
            old = failed.item if failed.item is not None else self.table.get(project_key(project_id))
            if old is None:
                raise ProjectNotFound(project_id) from None
            stored = read_item(ProjectItem, old).version
            raise VersionConflict(project_id, expected_version or 0, stored) from None
        return project_record(data)

    def delete_project(self, project_id: str) -> None:
        """The project, its ETag cache and its members' kept permissions. Its claims stay: the
        ledger is history."""
        # Caches first: a failure half-way leaves the project in place (with cold caches), so
        # the caller can simply try again.
        keys = [
            {PROJECT.pk: data[PROJECT.pk], PROJECT.sk: data[PROJECT.sk]}
            for data in self.table.query_partition(project_pk(project_id), keys_only=True)
            if data[PROJECT.sk] != PROJECT_SK
        ]
        self.table.delete_keys(keys, "forget project caches")
        try:
            with translated("delete project"):
                self.table.client.delete_item(
                    TableName=self.table.name,
                    Key=project_key(project_id),
                    ConditionExpression=f"attribute_exists({PROJECT.pk})",
                )
        except ConditionFailed:
            raise ProjectNotFound(project_id) from None

    @staticmethod
    def _intake_index(project_id: str, config: ProjectConfig) -> dict[str, str]:
        """The sparse index attributes: present only while intake is enabled."""
        if not config.intake_enabled:
            return {}
        return {PROJECT.gsi1pk: INTAKE_ENABLED, PROJECT.gsi1sk: project_pk(project_id)}
