"""The ports the domain needs. Adapters implement them; tests pass in-memory fakes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .backlog import Snapshot
from .config import ProjectConfig
from .credentials import Credential
from .issue import TrackerRef
from .records import (
    Acknowledgement,
    Claim,
    ClaimStatus,
    Installation,
    Pace,
    Permission,
    PollEntry,
    PollState,
    ProjectRecord,
    TokenBudget,
)
from .session import LaunchedSession, SessionRequest
from .sync import ChangeFeed
from .tracker import CachedPage, Collaborators, Tracker

__all__ = [
    "AckLedger",
    "ActivityHistory",
    "ActivityLog",
    "ClaimsByIssue",
    "Clock",
    "ConfigStore",
    "CredentialRegistry",
    "Credentials",
    "DispatchStore",
    "InstallationStore",
    "Invoker",
    "IssueWriter",
    "LaunchLedger",
    "Ledger",
    "PageCache",
    "PermissionCache",
    "PollClaims",
    "PollStore",
    "ProjectLookup",
    "ProjectStore",
    "Redelivery",
    "Resolved",
    "SessionLauncher",
    "SessionLedger",
    "SessionList",
    "SessionQueue",
    "StatusLedger",
    "TokenBudgets",
    "Tracker",
    "WritePace",
]


class Clock(Protocol):
    def now(self) -> datetime: ...


# --- Projects: one port per use; `ProjectStore` is all of them, as the adapters implement it. ---


class PollStore(Protocol):
    """The poll's project: its record and cached pages, its poll state, its backlog mark."""

    def load_for_poll(self, project_id: str) -> tuple[ProjectRecord, dict[str, CachedPage]]:
        """The project and its cached pages, in one read. Raises ProjectNotFound."""
        ...

    def save_poll_state(self, project_id: str, poll: PollState) -> None: ...

    def commit_page(self, project_id: str, page: CachedPage) -> None: ...

    def end_backlog(self, project_id: str, since: datetime) -> bool:
        """Remove the `backlogSince` mark, only if it is still `since`; False when it is not."""
        ...


class DispatchStore(Protocol):
    """The dispatcher's projects: those with intake enabled, and whether each waits for budget."""

    def intake_enabled(self) -> Iterator[ProjectRecord]:
        """Every project with intake enabled (the sparse index), page by page."""
        ...

    def set_deferred(self, project_id: str, since: datetime | None) -> None:
        """Record (or, with None, clear) that the project waits for its credential's budget."""
        ...


class InstallationStore(Protocol):
    """Where a project's GitHub App installation is cached (the credentials adapter's)."""

    def set_installation(self, project_id: str, installation: Installation | None) -> None:
        """Cache (or, with None, forget) the GitHub App installation that sees the project's repo."""
        ...


class ProjectLookup(Protocol):
    """One project, read (an acknowledgement reads its project's config)."""

    def get_project(self, project_id: str) -> ProjectRecord:
        """The project. Raises ProjectNotFound."""
        ...


class PageCache(Protocol):
    """A project's ETag cache, dropped when what the poll would see changes (a release, say)."""

    def forget_pages(self, project_id: str) -> None:
        """Drop the project's ETag cache, so the next poll sees every page again."""
        ...


class ConfigStore(ProjectLookup, PageCache, Protocol):
    """The config API's projects: create, list, replace, delete, and hurry the next poll."""

    def create_project(
        self, project_id: str, config: ProjectConfig, now: datetime, *, backlog_since: datetime | None = None
    ) -> ProjectRecord:
        """Create the project (ProjectExists), marked `backlog_since` when given (domain/backlog.py)."""
        ...

    def list_projects(self, limit: int, next_token: str | None) -> tuple[list[ProjectRecord], str | None]: ...

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
        """Replace the config; VersionConflict if `expected_version` is stale.

        `snapshot` sets the `backlogSince` mark to `now`, keeps it, or removes it, in the same write;
        `clear_backoff` clears the backoff and failures as `clear_backoff()` does, in the same write.
        """
        ...

    def clear_backoff(self, project_id: str) -> ProjectRecord:
        """Clear the project's backoff and failures (`backoff_until`, `consecutive_failures`,
        `last_error`, `transient`), keeping the rest of its poll state, so the next tick polls it.
        The project as it now is; ProjectNotFound."""
        ...

    def delete_project(self, project_id: str) -> None: ...


class ProjectStore(PollStore, DispatchStore, InstallationStore, ConfigStore, Protocol):
    """Projects, their config and poll state, and their cached page ETags: every use at once,
    as the DynamoDB adapter and the in-memory fake implement it. A consumer asks for its use."""


# --- Activity: each project's recent polls, in a partition of their own. ---


class ActivityLog(Protocol):
    """The poll's side: record one poll in the project's activity log."""

    def record_poll(self, project_id: str, entry: PollEntry) -> None:
        """Keep the entry (for `ACTIVITY_KEPT`). Raises an IntakeError when it cannot."""
        ...


class ActivityHistory(Protocol):
    """The API's side: a project's recorded polls, newest first."""

    def list_polls(self, project_id: str, limit: int, next_token: str | None) -> tuple[list[PollEntry], str | None]:
        """A page of the project's recorded polls, newest first, and the token of the next page."""
        ...


# --- Claims: one per issue, ever, keyed by the lower-cased canonical id; one port per use. ---


class ClaimsByIssue(Protocol):
    """The claims of a page's issues, read at once (the poll, and the preview of a config)."""

    def get_claims(self, canonical_ids: Sequence[str]) -> dict[str, Claim]:
        """The existing claims of these issues, keyed by `dedupe_key`, read in batches of 100.

        Eventually consistent: a claim written a moment ago may be missing, which is safe
        because the conditional write in `try_claim` still decides every race.
        """
        ...


class PollClaims(ClaimsByIssue, Protocol):
    """The poll's claims: take an issue, take over a stale claim, mark it queued."""

    def try_claim(self, claim: Claim) -> Claim | None:
        """Create the claim if the issue has none (None); else the claim that holds the issue.

        One conditional write either way: a refused write carries the item that refused it.
        """
        ...

    def take_over(self, claim: Claim, old_token: str, old_status: ClaimStatus) -> bool:
        """Replace a stale or released claim, only if it still holds `old_token`."""
        ...

    def mark_enqueued(self, canonical_id: str, claim_token: str, now: datetime) -> bool: ...


class AckLedger(Protocol):
    """An acknowledgement's claim: read it, record the acknowledgement on it."""

    def get_claim(self, canonical_id: str) -> Claim | None: ...

    def save_ack(self, claim: Claim, ack: Acknowledgement, expected_version: int | None) -> bool:
        """Write the claim's acknowledgement (and nothing else), only if the stored claim is
        launched, of `claim.generation`, and its acknowledgement is at `expected_version` (None:
        it has none yet). False when it is not: another delivery got there first."""
        ...


class LaunchLedger(AckLedger, Protocol):
    """The launcher's claims: move a claim through launching to launched (or failed), then
    acknowledge it on the issue."""

    def transition(
        self,
        canonical_id: str,
        from_status: ClaimStatus | tuple[ClaimStatus, ...],
        to_status: ClaimStatus,
        now: datetime,
        *,
        session_ref: str | None = None,
        session_url: str | None = None,
        reason: str | None = None,
    ) -> bool:
        """Move a claim between states; False when it is not in (one of) `from_status` (a no-op)."""
        ...


class SessionList(Protocol):
    """A project's claims, newest first (the API's session list, the pickup figures)."""

    def list_sessions(self, project_id: str, limit: int, next_token: str | None) -> tuple[list[Claim], str | None]: ...


class SessionLedger(SessionList, Protocol):
    """The API's sessions: list them, release one."""

    def release(self, project_id: str, canonical_id: str, now: datetime) -> Claim:
        """Mark the claim released so the issue can start a session again. ClaimNotFound."""
        ...


class StatusLedger(Protocol):
    """Status reports from the session backend: read the claim, record the report on it."""

    def get_claim(self, canonical_id: str) -> Claim | None: ...

    def record_status(self, claim: Claim, expected_reports: int) -> bool:
        """Write the claim's session status, PR URL, history, report count and replay guard (and
        nothing else), only if the stored claim has `expected_reports` reports, is launching or
        launched, and is of `claim.generation`. False when it is not (a race, or no claim)."""
        ...


class Ledger(PollClaims, LaunchLedger, SessionLedger, StatusLedger, Protocol):
    """Claims, every use at once, as the DynamoDB adapter and the in-memory fake implement them.
    A consumer asks for its use."""


class PermissionCache(Protocol):
    """Per project: GitHub's answers on whether an author may write to the repository, kept for
    a while so a member costs a request an hour at most (domain/write_access.py)."""

    def get_permissions(self, project_id: str, repo: str, logins: Sequence[str]) -> dict[str, Permission]:
        """The answers kept for these logins on `repo` ("owner/name"), keyed by lower-cased login,
        however old (the caller judges): none asked, no call; one, one read; several, batches of 100.

        Eventually consistent: an answer written a moment ago may be missing, which costs a request.
        """
        ...

    def put_permission(self, project_id: str, permission: Permission) -> None:
        """Keep the answer, replacing the one kept for its repository and login."""
        ...


class TokenBudgets(Protocol):
    """Per credential: what GitHub said of its limits, and the dispatcher's pacing of it."""

    def get_budget(self, token_key: str) -> TokenBudget | None: ...

    def record_budget(self, budget: TokenBudget) -> None:
        """Record the primary budget (remaining, reset); leaves any pause as it is."""
        ...

    def pause(self, token_key: str, until: datetime) -> None:
        """Pause every request on the credential until `until` (a later pause already recorded wins)."""
        ...

    def get_pace(self, token_key: str) -> Pace | None: ...

    def save_pace(self, pace: Pace) -> bool:
        """Store the pace if the stored one is still at `pace.version - 1`; False when a tick raced."""
        ...


class CredentialRegistry(Protocol):
    """Registered credentials (references to secrets, never the secrets)."""

    def get_credential(self, name: str) -> Credential | None: ...

    def list_credentials(self) -> list[Credential]: ...

    def put_credential(self, credential: Credential, now: datetime) -> Credential:
        """Create or replace the credential by its name."""
        ...

    def delete_credential(self, name: str) -> bool:
        """False when none was registered by that name."""
        ...


class WritePace(Protocol):
    """Per credential: the moments its writes on issues were given, shared by every launcher."""

    def reserve_write(self, token_key: str, now: datetime) -> datetime:
        """Reserve the credential's next write slot (see `domain.acknowledge.next_write_slot`);
        when it is. Conditional on the record read, retried when another launcher won the race."""
        ...


class IssueWriter(Protocol):
    """The writes an acknowledgement makes on an issue. Each returns the URL of what it wrote
    (None when GitHub gives none). Raises WriteRefused for good, another TrackerError to retry."""

    def add_reaction(self, issue: TrackerRef, content: str) -> str | None: ...

    def add_comment(self, issue: TrackerRef, body: str) -> str | None: ...

    def find_comment(self, issue: TrackerRef, containing: str, since: datetime) -> str | None:
        """The URL of a comment updated at or after `since` whose body contains `containing`."""
        ...

    def add_label(self, issue: TrackerRef, label: str) -> str | None: ...


class SessionQueue(Protocol):
    def send(self, request: SessionRequest) -> None:
        """Put the request on the FIFO queue. Raises QueueUnavailable."""
        ...


class Redelivery(Protocol):
    """The launch queue, as its consumer sees it: a message delivered again sooner or later."""

    def park(self, request: SessionRequest, until: datetime) -> None:
        """Send `request` again, alone in a message group of its own, for a wait (until `until`)
        that must hold up no other message. Raises QueueUnavailable."""
        ...

    def parked(self, message_group_id: str) -> bool:
        """Whether a message of this group was parked by `park`."""
        ...

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """Deliver the received message again in `seconds`. Raises QueueUnavailable."""
        ...


class Invoker(Protocol):
    def invoke_poller(self, project_id: str, max_requests: int | None = None, max_retries: int | None = None) -> None:
        """Start one poll of the project (asynchronously where it can). Raises InvokeFailed.

        `max_requests` is the poll's grant of GitHub requests for pages (None: no limit but the
        page cap); `max_retries`, of requests sent again after failing in passing (None: none
        when `max_requests` is given, else the poll's own bound).
        """
        ...


class SessionLauncher(Protocol):
    def launch(self, request: SessionRequest, prompt: str) -> LaunchedSession:
        """Start the worker session; returns the backend's reference for it (and its URL, if given).

        Raises LaunchRetryable (try again later) or LaunchRejected (never will work).
        """
        ...


@dataclass(frozen=True)
class Resolved:
    """A project's credential, ready to poll with."""

    name: str
    key: str
    # GitHub's pages with ETags, or a tracker without them (Linear): changes since a watermark.
    tracker: Tracker | ChangeFeed
    # The same credential's writes on issues (acknowledgements); None where it cannot write.
    writer: IssueWriter | None = None
    # The same credential's answers on who may write to the repository (a member's issue is
    # taken only once one says they may); None: no member's issue can be checked, none is taken.
    collaborators: Collaborators | None = None


class Credentials(Protocol):
    """Resolves a project's credential. Implemented in the adapters (secrets, app tokens)."""

    def for_project(self, record: ProjectRecord, *, remember: bool = True) -> Resolved:
        """The tracker and budget key for the project's credential.

        `remember`: cache an app installation found for the project on it (False for a preview
        of a draft config, whose repository may not be the project's).

        Raises an IntakeError when it cannot be had: an unknown name (ConfigInvalid), a secret
        that cannot be read (TokenUnavailable), an app not installed on the repository
        (RepoNotFound) or a refused app key (AuthFailed). The poll then backs off, saying why.
        """
        ...

    def key_for(self, record: ProjectRecord) -> str:
        """The budget key the project's next poll will spend, for the dispatcher's pacing.

        Never calls GitHub. An app project whose installation is not known yet is paced on the
        installation of another project of the same owner, if one was asked for before (an app
        is installed once per account), else as `app-<id>-pending`: so ask for the projects
        whose installation is known first. Raises an IntakeError like `for_project` when the
        credential is unknown or its secret unreadable.
        """
        ...

    def forget_installation(self, record: ProjectRecord) -> None:
        """The project's credential failed to see its repository: forget the app installation
        cached for it, so its next poll looks the installation up again.

        The repository may have moved to another installation, or the app been reinstalled under
        a new id; a cached installation would otherwise fail every poll. Nothing for a token.
        Raises an IntakeError when the project cannot be written.
        """
        ...
