"""The DynamoDB adapters: one per port, each on the one shared `DynamoTable`.

`DynamoStore` is them all on one table, for callers that want a single object (the API, tests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .activity import DynamoActivity
from .budgets import DynamoBudgets
from .credentials import DynamoCredentials
from .ledger import DynamoLedger, claim_data, claim_record
from .permissions import DynamoPermissions, permission_key, permission_record
from .projects import DynamoProjects, cached_page, project_record
from .table import DynamoTable, claim_key, claim_pk, etag_sk, project_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "DynamoActivity",
    "DynamoBudgets",
    "DynamoCredentials",
    "DynamoLedger",
    "DynamoPermissions",
    "DynamoProjects",
    "DynamoStore",
    "DynamoTable",
    "cached_page",
    "claim_data",
    "claim_key",
    "claim_pk",
    "claim_record",
    "etag_sk",
    "permission_key",
    "permission_record",
    "project_pk",
    "project_record",
]


class DynamoStore(DynamoProjects, DynamoLedger, DynamoBudgets, DynamoCredentials, DynamoPermissions, DynamoActivity):
    """`ProjectStore`, `Ledger`, `TokenBudgets`, `CredentialRegistry`, `PermissionCache` and the
    activity log together, on one table."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        super().__init__(DynamoTable(table_name, client))

    @property
    def client(self) -> DynamoDBClient:
        return self.table.client

    @property
    def table_name(self) -> str:
        return self.table.name
