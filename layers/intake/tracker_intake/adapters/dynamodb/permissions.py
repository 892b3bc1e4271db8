"""`PermissionCache` on DynamoDB: GitHub's answers on authors' write access, in the project's partition.

One item per project, repository and login: `PROJECT#<id>` / `PERMISSION#<owner/name>#<login>`,
both lower-cased (GitHub compares them so). Read with GetItem (one login) or BatchGetItem (several),
eventually consistent; written with PutItem. Deleted with the project (`DynamoProjects`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...domain.records import Permission
from ...domain.write_access import kept_until
from .formats import iso, parse_iso
from .items import Names, PermissionItem, read_item
from .table import BATCH_GET_MAX, PERMISSION_PREFIX, DynamoTable, permission_sk, project_pk, to_item, translated

PERMISSION = Names(PermissionItem)


def permission_key(project_id: str, repo: str, login: str) -> dict[str, Any]:
    return {"pk": {"S": project_pk(project_id)}, "sk": {"S": permission_sk(repo, login)}}


def permission_record(data: Mapping[str, Any]) -> Permission:
    """A permission item as a record; ItemMalformed when it is not one."""
    item = read_item(PermissionItem, data)
    return Permission(
        repo=item.repo,
        login=item.login,
        permission=item.permission,
        checked_at=parse_iso(item.checked_at),
        role=item.role,
    )


class DynamoPermissions:
    """Members' write access, as GitHub last said it, on one table."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def get_permissions(self, project_id: str, repo: str, logins: Sequence[str]) -> dict[str, Permission]:
        keys = {login.casefold(): permission_key(project_id, repo, login) for login in logins}
        if len(keys) == 1:  # one member, the common case: one GetItem
            (key,) = keys.values()
            data = self.table.get(key, consistent=False)
            found = [data] if data is not None else []
        else:
            pending = list(keys.values())
            found = [
                data
                for start in range(0, len(pending), BATCH_GET_MAX)
                for data in self.table.batch_get(pending[start : start + BATCH_GET_MAX], "read permissions")
            ]
        kept = (permission_record(data) for data in found if data[PERMISSION.sk].startswith(PERMISSION_PREFIX))
        return {permission.login.casefold(): permission for permission in kept}

    def put_permission(self, project_id: str, permission: Permission) -> None:
        item = PermissionItem(
            pk=project_pk(project_id),
            sk=permission_sk(permission.repo, permission.login),
            repo=permission.repo,
            login=permission.login,
            permission=permission.permission,
            role=permission.role,
            checked_at=iso(permission.checked_at),
            # The domain judges freshness from `checkedAt` itself and never relies on a TTL's sweep.
            expires_at=int(kept_until(permission).timestamp()),
        )
        with translated("keep permission"):
            self.table.client.put_item(TableName=self.table.name, Item=to_item(item.model_dump(by_alias=True)))
