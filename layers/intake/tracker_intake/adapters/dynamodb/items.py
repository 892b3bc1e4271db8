"""The table's items as models, one per kind: the one source of their attribute names (a field's
alias is its DynamoDB attribute), read back through validation so that a malformed item is an
`ItemMalformed` naming the item and its wrong attributes, never a KeyError. Layout: docs/design.md.

Expressions take names from `Names`, which refuses a field its model lacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ...domain.config import Acknowledge
from ...domain.credentials import CredentialKind
from ...domain.errors import ItemMalformed
from ...domain.records import AckState, ClaimStatus, SessionStatus

__all__ = [
    "AckItem",
    "BudgetItem",
    "ClaimItem",
    "CredentialItem",
    "GuardItem",
    "IssueItem",
    "Names",
    "PaceItem",
    "PageItem",
    "PermissionItem",
    "PollItem",
    "ProjectItem",
    "StatusChangeItem",
    "WritesItem",
    "read_item",
]


class _Item(BaseModel):
    # Built on first use, as the API's models: importing a handler builds no schema.
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True, defer_build=True)


def _none_unless_map(value: Any) -> Any:
    """An attribute that older items may hold as something else: read as absent, as ever."""
    return value if isinstance(value, dict) else None


def _none_if_blank(value: Any) -> Any:
    return value or None


# --- claim: ISSUE#<key> / ISSUE ---------------------------------------------------------------


class IssueItem(_Item):
    """The issue as it was when claimed (a map inside the claim)."""

    number: int = 0
    title: str = ""
    url: str = ""
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    body: str = ""
    created_at: str | None = Field(None, alias="createdAt")
    updated_at: str | None = Field(None, alias="updatedAt")
    identifier: str | None = None


class StatusChangeItem(_Item):
    status: SessionStatus
    at: str
    pr_url: str | None = Field(None, alias="prUrl")


class GuardItem(_Item):
    """The status reports' replay guard."""

    timestamp: int
    digests: tuple[str, ...] = ()


class AckItem(_Item):
    """The acknowledgement on the issue (a map inside the claim; its version beside it)."""

    kind: Acknowledge
    state: AckState
    marker: str
    started_at: str = Field(alias="startedAt")
    updated_at: str = Field(alias="updatedAt")
    attempts: int = 0
    sent: bool = False
    slot: str | None = None
    lease_until: str | None = Field(None, alias="leaseUntil")
    not_before: str | None = Field(None, alias="notBefore")
    url: str | None = None
    detail: str | None = None

    _blank_times = field_validator("slot", "lease_until", "not_before", mode="before")(_none_if_blank)


class ClaimItem(_Item):
    """A claim: one per issue, ever."""

    pk: str | None = None
    sk: str | None = None
    canonical_id: str = Field(alias="canonicalId")
    project_id: str | None = Field(None, alias="projectId")
    status: ClaimStatus
    claim_token: str = Field(alias="claimToken")
    claimed_at: str = Field(alias="claimedAt")
    updated_at: str | None = Field(None, alias="updatedAt")
    attempts: int = 1
    generation: int = 1
    issue: IssueItem = Field(default_factory=IssueItem)
    session_ref: str | None = Field(None, alias="sessionRef")
    session_url: str | None = Field(None, alias="sessionUrl")
    reason: str | None = None
    session_status: SessionStatus | None = Field(None, alias="sessionStatus")
    pr_url: str | None = Field(None, alias="prUrl")
    status_history: tuple[StatusChangeItem, ...] | None = Field(None, alias="statusHistory")
    status_reports: int = Field(0, alias="statusReports")
    report_guard: GuardItem | None = Field(None, alias="reportGuard")
    ack: AckItem | None = None
    ack_version: int | None = Field(None, alias="ackVersion")
    gsi1pk: str | None = None
    gsi1sk: str | None = None

    _blank_status = field_validator("session_status", mode="before")(_none_if_blank)
    _maps = field_validator("report_guard", "ack", mode="before")(_none_unless_map)


# --- project: PROJECT#<id> / PROJECT, and its cached pages: PROJECT#<id> / ETAG#<hash> ---------


class ProjectItem(_Item):
    """A project: its config as stored (validated by the domain, which reports a stale one), its
    poll state, its marks and its cached app installation."""

    pk: str | None = None
    sk: str | None = None
    project_id: str | None = Field(None, alias="projectId")
    config: Any = Field(default_factory=dict)
    version: int = 1
    created_at: str | None = Field(None, alias="createdAt")
    updated_at: str | None = Field(None, alias="updatedAt")
    backoff_until: str | None = Field(None, alias="backoffUntil")
    consecutive_failures: int = Field(0, alias="consecutiveFailures")
    last_error: str | None = Field(None, alias="lastError")
    last_change_at: str | None = Field(None, alias="lastChangeAt")
    pages_read: int = Field(0, alias="pagesRead")
    failure_transient: bool = Field(False, alias="failureTransient")
    primary_costs: tuple[int, ...] = Field((), alias="primaryCosts")
    checked_at: str | None = Field(None, alias="checkedAt")
    deferred_since: str | None = Field(None, alias="deferredSince")
    installation_app_id: Any = Field(None, alias="installationAppId")
    installation_id: Any = Field(None, alias="installationId")
    backlog_since: str | None = Field(None, alias="backlogSince")
    gsi1pk: str | None = None
    gsi1sk: str | None = None

    @field_validator(
        "created_at",
        "updated_at",
        "backoff_until",
        "last_change_at",
        "checked_at",
        "deferred_since",
        "backlog_since",
        mode="before",
    )
    @classmethod
    def _times(cls, value: Any) -> Any:
        # A time that is not a string was never written by this code: read as absent, as ever.
        return value if isinstance(value, str) else None


class PageItem(_Item):
    """A cached page of the poll: its ETag and what the poll needs of it without asking again."""

    pk: str | None = None
    sk: str | None = None
    etag: str
    path: str
    next_url: str | None = Field(None, alias="nextUrl")
    item_count: int | None = Field(None, alias="itemCount")
    credential: str | None = None


# --- a project's activity log: ACTIVITY#<id> / POLL#<at>#<suffix> ------------------------------


class PollItem(_Item):
    """One poll of the project's activity log (domain/records.py's `PollEntry`)."""

    pk: str | None = None
    sk: str | None = None
    at: str
    result: str
    provider: str = "github"
    requests: int = 0
    pages: int = 0
    not_modified: int = Field(0, alias="notModified")
    new_sessions: tuple[str, ...] = Field((), alias="newSessions")
    backlog_recorded: int = Field(0, alias="backlogRecorded")
    held_back: int = Field(0, alias="heldBack")
    error_kind: str | None = Field(None, alias="errorKind")
    error: str | None = None
    backoff_until: str | None = Field(None, alias="backoffUntil")
    # Epoch seconds: the table's TTL sweeps the poll after `ACTIVITY_KEPT`.
    expires_at: int | None = Field(None, alias="expiresAt")


# --- credential: TOKEN#<key> / BUDGET, PACE, WRITES; CREDENTIALS / CREDENTIAL#<name> ---------------


class BudgetItem(_Item):
    """What GitHub last said of a credential's primary budget, and any pause on it."""

    pk: str | None = None
    sk: str | None = None
    remaining: int = 1
    reset_at: str | None = Field(None, alias="resetAt")
    paused_until: str | None = Field(None, alias="pausedUntil")
    rate_limit: int | None = Field(None, alias="rateLimit")  # LIMIT is a DynamoDB reserved word
    # A leaky bucket's refill an hour (Linear's); absent: a window (GitHub's).
    refill_per_hour: int | None = Field(None, alias="refillPerHour")

    @field_validator("paused_until", mode="before")
    @classmethod
    def _pause(cls, value: Any) -> Any:
        return value if isinstance(value, str) else None


class PaceItem(_Item):
    """The dispatcher's pace of a credential: grants as [at, points], or [at, points, "preview"]
    for a preview's reservation."""

    pk: str | None = None
    sk: str | None = None
    grants: tuple[tuple[str, int] | tuple[str, int, str], ...] = ()
    cursor: str | None = None
    busy_cursor: str | None = Field(None, alias="busyCursor")
    version: int = 0


class WritesItem(_Item):
    """A credential's write slots of the last hour, in epoch milliseconds."""

    pk: str | None = None
    sk: str | None = None
    slots: tuple[int, ...] = ()
    version: int = 0


class PermissionItem(_Item):
    """A member's write access on a repository, as GitHub said it."""

    pk: str | None = None
    sk: str | None = None
    repo: str
    login: str
    permission: str
    role: str | None = None
    checked_at: str = Field(alias="checkedAt")
    # Epoch seconds, for a DynamoDB TTL should one be set; the code never reads it.
    expires_at: int | None = Field(None, alias="expiresAt")


class CredentialItem(_Item):
    """A registered credential: references only, never the secret."""

    pk: str | None = None
    sk: str
    kind: CredentialKind
    secret_arn: str = Field(alias="secretArn")
    app_id: str | None = Field(None, alias="appId")
    created_at: str | None = Field(None, alias="createdAt")
    updated_at: str | None = Field(None, alias="updatedAt")


# --- names and reading ---------------------------------------------------------------------------


class Names:
    """The attribute names of one item model, by field: `Names(ClaimItem).claim_token` is
    `claimToken`. A field the model lacks is an AttributeError, not a misspelt attribute written
    into an expression."""

    def __init__(self, model: type[BaseModel]) -> None:
        self._model = model.__name__
        self._names = {field: info.alias or field for field, info in model.model_fields.items()}

    def __getattr__(self, field: str) -> str:
        if field.startswith("_"):
            raise AttributeError(field)
        try:
            return self._names[field]
        except KeyError:
            raise AttributeError(f"{self._model} has no field {field!r}") from None


M = TypeVar("M", bound=_Item)


def read_item(model: type[M], data: Mapping[str, Any]) -> M:
    """The item as its model; ItemMalformed (which item, which attributes) when it is not one."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'item'}: {error['msg']}"
            for error in e.errors(include_url=False, include_input=False)
        )
        raise ItemMalformed(f"{data.get('pk')}/{data.get('sk')}", problems) from e
