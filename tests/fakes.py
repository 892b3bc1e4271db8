"""In-memory fakes of the store, ledger, budgets and queue, with the DynamoDB/SQS adapters' semantics.

`MemoryStore` and `DynamoStore` pass the same contract suite (tests/integration/test_store_contract.py).
Both fakes are thread-safe, so concurrent pollers can share them. Real (moto) calls are counted by
`intake_dev.call_counter.CallCounter`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from intake_dev.moto_rigs import FIFO_DEDUP_WINDOW
from tracker_intake.adapters.dynamodb.formats import check_limit, encode_token, iso, resume_key
from tracker_intake.domain.acknowledge import kept_slots, next_write_slot
from tracker_intake.domain.backlog import Snapshot
from tracker_intake.domain.clock import SystemClock
from tracker_intake.domain.config import ProjectConfig, parse_config
from tracker_intake.domain.errors import (
    ClaimNotFound,
    ConfigInvalid,
    ProjectExists,
    ProjectNotFound,
    QueueUnavailable,
    VersionConflict,
)
from tracker_intake.domain.issue import dedupe_key, deduplication_id
from tracker_intake.domain.ports import Clock, LaunchLedger
from tracker_intake.domain.records import (
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
from tracker_intake.domain.session import SessionRequest
from tracker_intake.domain.status import REPORTABLE
from tracker_intake.domain.tracker import CachedPage

__all__ = ["LaunchLedgerOver", "MemoryQueue", "MemoryStore", "Operations", "SentMessage"]

_READS = frozenset(
    {
        "load_for_poll",
        "intake_enabled",
        "get_project",
        "list_projects",
        "get_claim",
        "get_claims",
        "list_sessions",
        "get_budget",
        "get_pace",
        "get_permissions",
        "list_polls",
    }
)


@dataclass
class Operations:
    """Every call a fake served, in order, so tests can count reads and writes instead of timing."""

    calls: list[str] = field(default_factory=list)

    @property
    def reads(self) -> int:
        return sum(1 for name in self.calls if name in _READS)

    @property
    def writes(self) -> int:
        return sum(1 for name in self.calls if name not in _READS)

    def count(self, name: str) -> int:
        return self.calls.count(name)

    def reset(self) -> None:
        self.calls.clear()


@dataclass
class _Project:
    project_id: str
    config: dict[str, Any]  # stored as the table stores it, re-validated on every read
    version: int
    created_at: datetime
    updated_at: datetime
    poll: PollState = field(default_factory=PollState)
    deferred_since: datetime | None = None
    installation: Installation | None = None
    backlog_since: datetime | None = None

    def record(self) -> ProjectRecord:
        config_error = None
        try:
            config = parse_config(self.config)
        except ConfigInvalid as e:
            config, config_error = ProjectConfig(), str(e)
        return ProjectRecord(
            project_id=self.project_id,
            config=config,
            version=self.version,
            poll=self.poll,
            created_at=self.created_at,
            updated_at=self.updated_at,
            config_error=config_error,
            deferred_since=self.deferred_since,
            installation=self.installation,
            backlog_since=self.backlog_since,
        )


def _without_backoff(poll: PollState) -> PollState:
    """The poll state with its backoff and failures cleared, as DynamoProjects removes them."""
    return replace(poll, backoff_until=None, consecutive_failures=0, last_error=None, transient=False)


def _dump(config: ProjectConfig) -> dict[str, Any]:
    data: dict[str, Any] = config.model_dump(by_alias=True, exclude_none=True, mode="json")
    return data


class MemoryStore:
    """`ProjectStore` + `Ledger` + `TokenBudgets` + `PermissionCache` in memory, behaving as
    `DynamoStore` does."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._projects: dict[str, _Project] = {}
        self._pages: dict[str, dict[str, CachedPage]] = {}
        self._claims: dict[str, Claim] = {}
        self._budgets: dict[str, TokenBudget] = {}
        self._paces: dict[str, Pace] = {}
        self._write_slots: dict[str, list[datetime]] = {}
        # (project, repository, login), lower-cased -> what GitHub said of the login's permission
        self._permissions: dict[tuple[str, str, str], Permission] = {}
        # project -> its activity log, as (sort key, entry) in the order recorded
        self._polls: dict[str, list[tuple[str, PollEntry]]] = {}
        self._faults: dict[str, list[Exception]] = {}
        self.ops = Operations()

    # --- test hooks -----------------------------------------------------------------------

    def fail(self, operation: str, error: Exception, times: int = 1) -> None:
        """Make the next `times` calls of `operation` raise `error` (before doing anything)."""
        with self._lock:
            self._faults.setdefault(operation, []).extend([error] * times)

    def corrupt_config(self, project_id: str, raw: dict[str, Any]) -> None:
        """Store a config as-is, without validation (as an older release might have written it)."""
        with self._lock:
            self._projects[project_id].config = raw

    def pages(self, project_id: str) -> dict[str, CachedPage]:
        with self._lock:
            return dict(self._pages.get(project_id, {}))

    def claims(self) -> list[Claim]:
        with self._lock:
            return list(self._claims.values())

    def _op(self, name: str) -> None:
        """Record the call; raise an injected fault. Call with the lock held."""
        self.ops.calls.append(name)
        faults = self._faults.get(name)
        if faults:
            raise faults.pop(0)

    def _project(self, project_id: str) -> _Project:
        project = self._projects.get(project_id)
        if project is None:
            raise ProjectNotFound(project_id)
        return project

    # --- ProjectStore: the poller --------------------------------------------------------------

    def load_for_poll(self, project_id: str) -> tuple[ProjectRecord, dict[str, CachedPage]]:
        with self._lock:
            self._op("load_for_poll")
            record = self._project(project_id).record()
            return record, dict(self._pages.get(project_id, {}))

    def save_poll_state(self, project_id: str, poll: PollState) -> None:
        with self._lock:
            self._op("save_poll_state")
            self._project(project_id).poll = poll

    def commit_page(self, project_id: str, page: CachedPage) -> None:
        with self._lock:
            self._op("commit_page")
            self._pages.setdefault(project_id, {})[page.url] = page

    def forget_pages(self, project_id: str) -> None:
        with self._lock:
            self._op("forget_pages")
            self._pages.pop(project_id, None)

    def set_deferred(self, project_id: str, since: datetime | None) -> None:
        with self._lock:
            self._op("set_deferred")
            self._project(project_id).deferred_since = since

    def clear_backoff(self, project_id: str) -> ProjectRecord:
        with self._lock:
            self._op("clear_backoff")
            project = self._project(project_id)
            project.poll = _without_backoff(project.poll)
            return project.record()

    def set_installation(self, project_id: str, installation: Installation | None) -> None:
        with self._lock:
            self._op("set_installation")
            self._project(project_id).installation = installation

    def end_backlog(self, project_id: str, since: datetime) -> bool:
        with self._lock:
            self._op("end_backlog")
            project = self._project(project_id)
            if project.backlog_since != since:
                return False
            project.backlog_since = None
            return True

    def intake_enabled(self) -> Iterator[ProjectRecord]:
        with self._lock:
            self._op("intake_enabled")
            records = [p.record() for _, p in sorted(self._projects.items())]
        # The sparse index holds the item while the *stored* config says enabled.
        yield from (r for r in records if r.config.intake_enabled)

    # --- ProjectStore: the API -----------------------------------------------------------------

    def create_project(
        self, project_id: str, config: ProjectConfig, now: datetime, *, backlog_since: datetime | None = None
    ) -> ProjectRecord:
        with self._lock:
            self._op("create_project")
            if project_id in self._projects:
                raise ProjectExists(project_id)
            project = _Project(project_id, _dump(config), 1, now, now, backlog_since=backlog_since)
            self._projects[project_id] = project
            return project.record()

    def get_project(self, project_id: str) -> ProjectRecord:
        with self._lock:
            self._op("get_project")
            return self._project(project_id).record()

    def list_projects(self, limit: int, next_token: str | None) -> tuple[list[ProjectRecord], str | None]:
        with self._lock:
            self._op("list_projects")
            check_limit(limit)
            after = None
            if next_token is not None:
                resumed = resume_key(next_token, ("pk", "sk"), pk_prefix="PROJECT#", sk="PROJECT")
                after = resumed["pk"].removeprefix("PROJECT#")
            ids = [pid for pid in sorted(self._projects) if after is None or pid > after]
            page = ids[:limit]
            token = encode_token({"pk": f"PROJECT#{page[-1]}", "sk": "PROJECT"}) if len(ids) > limit else None
            return [self._projects[pid].record() for pid in page], token

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
        with self._lock:
            self._op("replace_config")
            project = self._project(project_id)
            if expected_version is not None and expected_version != project.version:
                raise VersionConflict(project_id, expected_version, project.version)
            project.config = _dump(config)
            project.version += 1
            project.updated_at = now
            project.deferred_since = None
            if snapshot is not Snapshot.KEEP:
                project.backlog_since = now if snapshot is Snapshot.START else None
            if clear_backoff:
                project.poll = _without_backoff(project.poll)
            return project.record()

    def delete_project(self, project_id: str) -> None:
        with self._lock:
            self._op("delete_project")
            self._project(project_id)
            del self._projects[project_id]
            self._pages.pop(project_id, None)
            for key in [key for key in self._permissions if key[0] == project_id]:
                del self._permissions[key]

    # --- ActivityLog, ActivityHistory ----------------------------------------------------------

    def polls(self, project_id: str) -> list[PollEntry]:
        """The project's recorded polls, oldest first (a test's look, not a call)."""
        with self._lock:
            return [entry for _, entry in sorted(self._polls.get(project_id, []), key=lambda t: t[0])]

    def record_poll(self, project_id: str, entry: PollEntry) -> None:
        with self._lock:
            self._op("record_poll")
            log = self._polls.setdefault(project_id, [])
            log.append((f"POLL#{iso(entry.at)}#{len(log):08x}", entry))

    def list_polls(self, project_id: str, limit: int, next_token: str | None) -> tuple[list[PollEntry], str | None]:
        with self._lock:
            self._op("list_polls")
            check_limit(limit)
            pk = f"ACTIVITY#{project_id}"
            after = resume_key(next_token, ("pk", "sk"), pk_prefix=pk, pk=pk)["sk"] if next_token else None
            # Newest first by sort key, as the table's Query returns them.
            mine = sorted(self._polls.get(project_id, []), key=lambda t: t[0], reverse=True)
            if after is not None:
                mine = [t for t in mine if t[0] < after]
            page = mine[:limit]
            token = encode_token({"pk": pk, "sk": page[-1][0]}) if len(mine) > limit else None
            return [entry for _, entry in page], token

    # --- Ledger --------------------------------------------------------------------------------

    def put_claim(self, claim: Claim) -> bool:
        """Create the claim if the issue has none; False when it is taken. No port has it: tests
        and the bench seed claims with it."""
        return self.try_claim(claim) is None

    def try_claim(self, claim: Claim) -> Claim | None:
        with self._lock:
            self._op("put_claim")
            key = dedupe_key(claim.canonical_id)
            if key in self._claims:
                return self._claims[key]
            self._claims[key] = replace(claim, updated_at=claim.updated_at or claim.claimed_at)
            return None

    def get_claims(self, canonical_ids: Sequence[str]) -> dict[str, Claim]:
        if not canonical_ids:
            return {}  # as DynamoStore: nothing to ask, no call
        with self._lock:
            self._op("get_claims")
            found = {}
            for canonical in canonical_ids:
                try:
                    key = dedupe_key(canonical)
                except ValueError:
                    continue
                if key in self._claims:
                    found[key] = self._claims[key]
            return found

    def get_claim(self, canonical_id: str) -> Claim | None:
        with self._lock:
            self._op("get_claim")
            try:
                return self._claims.get(dedupe_key(canonical_id))
            except ValueError:
                return None

    def take_over(self, claim: Claim, old_token: str, old_status: ClaimStatus) -> bool:
        with self._lock:
            self._op("take_over")
            key = dedupe_key(claim.canonical_id)
            current = self._claims.get(key)
            if current is None or current.claim_token != old_token or current.status is not old_status:
                return False
            # As DynamoDB's: the report count and the replay guard outlive the generation.
            self._claims[key] = replace(
                claim,
                updated_at=claim.updated_at or claim.claimed_at,
                status_reports=current.status_reports,
                report_guard=current.report_guard,
            )
            return True

    def mark_enqueued(self, canonical_id: str, claim_token: str, now: datetime) -> bool:
        with self._lock:
            self._op("mark_enqueued")
            key = dedupe_key(canonical_id)
            current = self._claims.get(key)
            if current is None or current.claim_token != claim_token or current.status is not ClaimStatus.CLAIMED:
                return False
            self._claims[key] = replace(current, status=ClaimStatus.ENQUEUED, updated_at=now)
            return True

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
        sources = (from_status,) if isinstance(from_status, ClaimStatus) else from_status
        with self._lock:
            self._op("transition")
            key = dedupe_key(canonical_id)
            current = self._claims.get(key)
            if current is None or current.status not in sources:
                return False
            self._claims[key] = replace(
                current,
                status=to_status,
                updated_at=now,
                session_ref=session_ref if session_ref is not None else current.session_ref,
                session_url=session_url if session_url is not None else current.session_url,
                reason=reason if reason is not None else current.reason,
            )
            return True

    def list_sessions(self, project_id: str, limit: int, next_token: str | None) -> tuple[list[Claim], str | None]:
        with self._lock:
            self._op("list_sessions")
            check_limit(limit)
            index = f"SESSIONS#{project_id}"
            keys = ("pk", "sk", "gsi1pk", "gsi1sk")
            after = resume_key(next_token, keys, pk_prefix="ISSUE#", gsi1pk=index) if next_token is not None else None
            # Newest first by (claimedAt, key), as the index orders them; a token resumes by position.
            mine = sorted(
                (
                    (iso(c.claimed_at), dedupe_key(c.canonical_id), c)
                    for c in self._claims.values()
                    if c.project_id == project_id
                ),
                key=lambda t: (t[0], t[1]),
                reverse=True,
            )
            if after is not None:
                position = (after["gsi1sk"], after["pk"].removeprefix("ISSUE#"))
                mine = [t for t in mine if (t[0], t[1]) < position]
            page = mine[:limit]
            token = None
            if len(mine) > limit:
                at, key, _ = page[-1]
                token = encode_token({"pk": f"ISSUE#{key}", "sk": "ISSUE", "gsi1pk": index, "gsi1sk": at})
            return [c for _, _, c in page], token

    def release(self, project_id: str, canonical_id: str, now: datetime) -> Claim:
        with self._lock:
            self._op("release")
            missing = ClaimNotFound(f"project {project_id!r} has no claim on {canonical_id[:200]!r}")
            try:
                key = dedupe_key(canonical_id)
            except ValueError:
                raise missing from None
            current = self._claims.get(key)
            if current is None or current.project_id != project_id:
                raise missing
            # A backlog claim launched nothing: released, it counts no attempt.
            attempts = 0 if current.status is ClaimStatus.BACKLOG else current.attempts
            released = replace(current, status=ClaimStatus.RELEASED, updated_at=now, attempts=attempts)
            self._claims[key] = released
            return released

    def record_status(self, claim: Claim, expected_reports: int) -> bool:
        with self._lock:
            self._op("record_status")
            key = dedupe_key(claim.canonical_id)
            current = self._claims.get(key)
            if (
                current is None
                or current.status not in REPORTABLE
                or current.generation != claim.generation
                or current.status_reports != expected_reports
            ):
                return False
            self._claims[key] = replace(
                current,
                session_status=claim.session_status,
                pr_url=claim.pr_url,
                status_history=claim.status_history,
                status_reports=claim.status_reports,
                report_guard=claim.report_guard,
            )
            return True

    def save_ack(self, claim: Claim, ack: Acknowledgement, expected_version: int | None) -> bool:
        with self._lock:
            self._op("save_ack")
            key = dedupe_key(claim.canonical_id)
            current = self._claims.get(key)
            stored = current.ack.version if current is not None and current.ack is not None else None
            if (
                current is None
                or current.status is not ClaimStatus.LAUNCHED
                or current.generation != claim.generation
                or stored != expected_version
            ):
                return False
            self._claims[key] = replace(current, ack=ack)
            return True

    def write_slots(self, token_key: str) -> list[datetime]:
        with self._lock:
            return list(self._write_slots.get(token_key, []))

    # --- WritePace -----------------------------------------------------------------------------

    def reserve_write(self, token_key: str, now: datetime) -> datetime:
        with self._lock:
            self._op("reserve_write")
            kept = kept_slots(self._write_slots.get(token_key, []), now)
            slot = next_write_slot(kept, now)
            self._write_slots[token_key] = [*kept, slot]
            return slot

    # --- PermissionCache -----------------------------------------------------------------------

    def get_permissions(self, project_id: str, repo: str, logins: Sequence[str]) -> dict[str, Permission]:
        if not logins:
            return {}  # as DynamoStore: nothing to ask, no call
        with self._lock:
            self._op("get_permissions")
            keys = {(project_id, repo.lower(), login.lower()) for login in logins}
            return {key[2]: self._permissions[key] for key in keys if key in self._permissions}

    def put_permission(self, project_id: str, permission: Permission) -> None:
        with self._lock:
            self._op("put_permission")
            self._permissions[(project_id, permission.repo.lower(), permission.login.lower())] = permission

    # --- TokenBudgets --------------------------------------------------------------------------

    def get_budget(self, token_key: str) -> TokenBudget | None:
        with self._lock:
            self._op("get_budget")
            return self._budgets.get(token_key)

    def record_budget(self, budget: TokenBudget) -> None:
        with self._lock:
            self._op("record_budget")
            old = self._budgets.get(budget.token_key)
            if budget.supersedes(old):
                limit = budget.limit if budget.limit is not None or old is None else old.limit
                paused = old.paused_until if old else None
                self._budgets[budget.token_key] = replace(budget, paused_until=paused, limit=limit)

    def pause(self, token_key: str, until: datetime) -> None:
        with self._lock:
            self._op("pause")
            old = self._budgets.get(token_key) or TokenBudget(token_key, 1, datetime.fromtimestamp(0, UTC))
            if old.paused_until is None or old.paused_until < until:
                self._budgets[token_key] = replace(old, paused_until=until)

    def get_pace(self, token_key: str) -> Pace | None:
        with self._lock:
            self._op("get_pace")
            return self._paces.get(token_key)

    def save_pace(self, pace: Pace) -> bool:
        with self._lock:
            self._op("save_pace")
            stored = self._paces.get(pace.token_key)
            if (stored.version if stored else 0) != pace.version - 1:
                return False
            self._paces[pace.token_key] = pace
            return True


# --- the queue ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentMessage:
    body: str
    group_id: str
    deduplication_id: str
    request: SessionRequest


class MemoryQueue:
    """`SessionQueue` with SQS FIFO deduplication: a repeated deduplication id within 5 minutes is
    accepted and dropped, as SQS does."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._lock = threading.RLock()
        self._clock = clock or SystemClock()
        self._seen: dict[str, datetime] = {}
        self._faults: list[tuple[bool, Exception]] = []
        self.sent: list[SentMessage] = []  # accepted and kept, in order
        self.attempts = 0  # every call to send, including failed and deduplicated ones
        self.deduplicated = 0

    @property
    def messages(self) -> list[SessionRequest]:
        with self._lock:
            return [m.request for m in self.sent]

    def fail_next(self, times: int = 1, *, after_send: bool = False, error: Exception | None = None) -> None:
        """Make the next `times` sends fail: before the message is accepted, or (after_send) after
        it (the message is on the queue but the caller sees an error, as on a lost response)."""
        with self._lock:
            self._faults.extend([(after_send, error or QueueUnavailable("injected queue failure"))] * times)

    def send(self, request: SessionRequest) -> None:
        with self._lock:
            self.attempts += 1
            after_send, fault = self._faults.pop(0) if self._faults else (False, None)
            if fault is not None and not after_send:
                raise fault
            dedup = deduplication_id(request.issue_id, request.generation)
            now = self._clock.now()
            seen = self._seen.get(dedup)
            if seen is not None and now - seen < FIFO_DEDUP_WINDOW:
                self.deduplicated += 1
            else:
                self._seen[dedup] = now
                self.sent.append(SentMessage(request.to_json(), request.project_id, dedup, request))
            if fault is not None:
                raise fault


class LaunchLedgerOver:
    """The launcher's ledger passed through to another, for a test to step in on one of its
    writes (a crash between two steps, say) by overriding that method alone."""

    def __init__(self, inner: LaunchLedger) -> None:
        self.inner = inner

    def get_claim(self, canonical_id: str) -> Claim | None:
        return self.inner.get_claim(canonical_id)

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
        return self.inner.transition(
            canonical_id, from_status, to_status, now, session_ref=session_ref, session_url=session_url, reason=reason
        )

    def save_ack(self, claim: Claim, ack: Acknowledgement, expected_version: int | None) -> bool:
        return self.inner.save_ack(claim, ack, expected_version)
