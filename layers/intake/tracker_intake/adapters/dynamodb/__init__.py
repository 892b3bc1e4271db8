"""The DynamoDB adapters: one per port, each on the one shared `DynamoTable` but the activity log,
which has a table of its own.

`DynamoStore` is them all, for callers that want a single object (the API, tests).
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
    """`ProjectStore`, `Ledger`, `TokenBudgets`, `CredentialRegistry` and `PermissionCache` together
    on the intake table, and the activity log on `activity_table_name` (None: no activity log, and
    recording or listing polls raises StoreUnavailable)."""

    def __init__(
        self, table_name: str, client: DynamoDBClient | None = None, *, activity_table_name: str | None = None
    ) -> None:
        super().__init__(DynamoTable(table_name, client))
        # The mixins' __init__ is DynamoProjects' (the first): the log's table is set here.
        self.activity_table = DynamoTable(activity_table_name, self.table.client) if activity_table_name else None

    @property
    def client(self) -> DynamoDBClient:
        return self.table.client

    @property
    def table_name(self) -> str:
        return self.table.name
