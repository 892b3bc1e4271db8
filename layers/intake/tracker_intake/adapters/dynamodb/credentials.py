"""The credential registry on DynamoDB: `CREDENTIALS/CREDENTIAL#<name>`, one partition for all.

An item holds the credential's kind, the ARN of its secret and, for a GitHub App, the app id:
references only. A deployment has a handful of credentials, so listing them is one Query.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ...domain.credentials import Credential
from .formats import iso, parse_iso
from .items import CredentialItem, Names, read_item
from .table import ConditionFailed, DynamoTable, from_item, to_item, translated

CREDENTIALS_PK = "CREDENTIALS"
CREDENTIAL_PREFIX = "CREDENTIAL#"
CREDENTIAL = Names(CredentialItem)


def credential_key(name: str) -> dict[str, Any]:
    return {"pk": {"S": CREDENTIALS_PK}, "sk": {"S": CREDENTIAL_PREFIX + name}}


def credential_record(data: Mapping[str, Any]) -> Credential:
    """A credential item as a record; ItemMalformed when it is not one."""
    item = read_item(CredentialItem, data)
    return Credential(
        name=item.sk.removeprefix(CREDENTIAL_PREFIX),
        kind=item.kind,
        secret_arn=item.secret_arn,
        app_id=item.app_id,
        created_at=parse_iso(item.created_at) if item.created_at is not None else None,
        updated_at=parse_iso(item.updated_at) if item.updated_at is not None else None,
    )


class DynamoCredentials:
    """Registered credentials on one table."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def get_credential(self, name: str) -> Credential | None:
        data = self.table.get(credential_key(name))
        return credential_record(data) if data is not None else None

    def list_credentials(self) -> list[Credential]:
        items = self.table.query_partition(CREDENTIALS_PK, sk_prefix=CREDENTIAL_PREFIX)
        return sorted((credential_record(data) for data in items), key=lambda c: c.name)

    def put_credential(self, credential: Credential, now: datetime) -> Credential:
        """Create or replace (keeping when it was first registered)."""
        old = self.get_credential(credential.name)
        created = old.created_at if old is not None and old.created_at is not None else now
        data = CredentialItem(
            pk=CREDENTIALS_PK,
            sk=CREDENTIAL_PREFIX + credential.name,
            kind=credential.kind,
            secret_arn=credential.secret_arn,
            app_id=credential.app_id,
            created_at=iso(created),
            updated_at=iso(now),
        ).model_dump(by_alias=True, mode="json")
        with translated("put credential"):
            self.table.client.put_item(TableName=self.table.name, Item=to_item(data))
        return credential_record(from_item(to_item(data)))

    def delete_credential(self, name: str) -> bool:
        """False when there was none by that name."""
        try:
            with translated("delete credential"):
                self.table.client.delete_item(
                    TableName=self.table.name,
                    Key=credential_key(name),
                    ConditionExpression=f"attribute_exists({CREDENTIAL.pk})",
                )
        except ConditionFailed:
            return False
        return True
