"""`Ledger` on DynamoDB: one claim per issue, ever, keyed by the lower-cased canonical id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...domain.errors import ClaimNotFound
from ...domain.issue import dedupe_key
from ...domain.records import (
    Acknowledgement,
    Claim,
    ClaimStatus,
    IssueSnapshot,
    ReportGuard,
    StatusChange,
)
from ...domain.status import REPORTABLE
from .formats import check_limit, iso, parse_iso
from .items import AckItem, ClaimItem, GuardItem, IssueItem, Names, StatusChangeItem, read_item
from .table import (
    BATCH_GET_MAX,
    CLAIM_SK,
    GSI,
    ConditionFailed,
    DynamoTable,
    claim_key,
    claim_pk,
    from_item,
    sessions_pk,
    to_item,
    translated,
)

CLAIM = Names(ClaimItem)
# `status` is a reserved word in DynamoDB's expressions: conditions say `#status`.
_STATUS = {"#status": CLAIM.status}


def snapshot_data(issue: IssueSnapshot) -> dict[str, Any]:
    """The issue as the claim item holds it (a map, without its absent attributes)."""
    return IssueItem(
        number=issue.number,
        title=issue.title,
        url=issue.url,
        labels=issue.labels,
        assignees=issue.assignees,
        body=issue.body,
        created_at=issue.created_at,
        updated_at=issue.updated_at,
        identifier=issue.identifier,
    ).model_dump(by_alias=True, mode="json", exclude_none=True)


def claim_data(claim: Claim) -> dict[str, Any]:
    """The claim as its item holds it, but for its key. A None attribute is one a take-over removes:
    a new generation starts with no reported status and no acknowledgement (each generation
    acknowledges once, afresh). The report count and the replay guard are not here: they outlive
    the generation."""
    item = ClaimItem(
        canonical_id=claim.canonical_id,
        project_id=claim.project_id,
        status=claim.status,
        claim_token=claim.claim_token,
        claimed_at=iso(claim.claimed_at),
        updated_at=iso(claim.updated_at or claim.claimed_at),
        attempts=claim.attempts,
        generation=claim.generation,
        session_ref=claim.session_ref,
        session_url=claim.session_url,
        reason=claim.reason,
        gsi1pk=sessions_pk(claim.project_id),
        gsi1sk=iso(claim.claimed_at),
    )
    data = item.model_dump(by_alias=True, mode="json", exclude_unset=True)  # what is given above, None too
    return {**data, CLAIM.issue: snapshot_data(claim.issue), **status_data(claim), **ack_data(claim.ack)}


def status_data(claim: Claim) -> dict[str, Any]:
    """The session's reported status as the claim item holds it."""
    history = tuple(StatusChangeItem(status=c.status, at=iso(c.at), pr_url=c.pr_url) for c in claim.status_history)
    return {
        CLAIM.session_status: claim.session_status.value if claim.session_status is not None else None,
        CLAIM.pr_url: claim.pr_url,
        CLAIM.status_history: [c.model_dump(by_alias=True, mode="json", exclude_none=True) for c in history] or None,
    }


def ack_data(ack: Acknowledgement | None) -> dict[str, Any]:
    """The acknowledgement as the claim item holds it: a map, and its version beside it (the
    version is what each write of it is conditional on)."""
    if ack is None:
        return {CLAIM.ack: None, CLAIM.ack_version: None}
    item = AckItem(
        kind=ack.kind,
        state=ack.state,
        marker=ack.marker,
        started_at=iso(ack.started_at),
        updated_at=iso(ack.updated_at),
        attempts=ack.attempts,
        sent=ack.sent,
        slot=iso(ack.slot) if ack.slot else None,
        lease_until=iso(ack.lease_until) if ack.lease_until else None,
        not_before=iso(ack.not_before) if ack.not_before else None,
        url=ack.url,
        detail=ack.detail,
    )
    return {CLAIM.ack: item.model_dump(by_alias=True, mode="json", exclude_none=True), CLAIM.ack_version: ack.version}


def _ack(item: AckItem | None, version: int | None) -> Acknowledgement | None:
    if item is None:
        return None
    return Acknowledgement(
        kind=item.kind,
        state=item.state,
        marker=item.marker,
        started_at=parse_iso(item.started_at),
        updated_at=parse_iso(item.updated_at),
        version=version or 1,
        attempts=item.attempts,
        sent=item.sent,
        slot=_moment(item.slot),
        lease_until=_moment(item.lease_until),
        not_before=_moment(item.not_before),
        url=item.url,
        detail=item.detail,
    )


def _moment(value: str | None) -> datetime | None:
    return parse_iso(value) if value is not None else None


def _history(items: tuple[StatusChangeItem, ...] | None) -> tuple[StatusChange, ...]:
    return tuple(StatusChange(item.status, parse_iso(item.at), item.pr_url) for item in items or ())


def _issue(item: IssueItem) -> IssueSnapshot:
    return IssueSnapshot(
        number=item.number,
        title=item.title,
        url=item.url,
        labels=item.labels,
        assignees=item.assignees,
        body=item.body,
        created_at=item.created_at,
        updated_at=item.updated_at,
        identifier=item.identifier,
    )


def claim_record(data: Mapping[str, Any]) -> Claim:
    """A claim item as a record; ItemMalformed when it is not one."""
    item = read_item(ClaimItem, data)
    guard = item.report_guard
    return Claim(
        canonical_id=item.canonical_id,
        project_id=item.project_id or (item.pk or "").removeprefix("PROJECT#"),
        status=item.status,
        claim_token=item.claim_token,
        claimed_at=parse_iso(item.claimed_at),
        issue=_issue(item.issue),
        attempts=item.attempts,
        generation=item.generation,
        updated_at=_moment(item.updated_at),
        session_ref=item.session_ref,
        session_url=item.session_url,
        reason=item.reason,
        session_status=item.session_status,
        pr_url=item.pr_url,
        status_history=_history(item.status_history),
        status_reports=item.status_reports,
        report_guard=ReportGuard(guard.timestamp, guard.digests) if guard is not None else None,
        ack=_ack(item.ack, item.ack_version),
    )


class DynamoLedger:
    """Claims on one table."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    # --- Ledger ------------------------------------------------------------------------------------

    def put_claim(self, claim: Claim) -> bool:
        """Create the claim if the issue has none; False when it is taken. No port has it: tests
        and the bench seed claims with it."""
        return self.try_claim(claim) is None

    def try_claim(self, claim: Claim) -> Claim | None:
        item = {CLAIM.pk: claim_pk(claim.canonical_id), CLAIM.sk: CLAIM_SK, **claim_data(claim)}
        try:
            with translated("put claim"):
                self.table.client.put_item(
                    TableName=self.table.name,
                    Item=to_item(item),
                    ConditionExpression=f"attribute_not_exists({CLAIM.pk})",
                    # A lost race costs this one request: the refusal carries the holder.
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ConditionFailed as refused:
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
                keys[claim_pk(canonical)] = claim_key(canonical)
            except ValueError:
                continue  # not a canonical id: it has no claim
        found: dict[str, Claim] = {}
        pending = list(keys.values())
        for start in range(0, len(pending), BATCH_GET_MAX):
            for data in self.table.batch_get(pending[start : start + BATCH_GET_MAX], "read claims"):
                claim = claim_record(data)
                found[dedupe_key(claim.canonical_id)] = claim
        return found

    def get_claim(self, canonical_id: str) -> Claim | None:
        try:
            key = claim_key(canonical_id)
        except ValueError:
            return None
        data = self.table.get(key)
        return claim_record(data) if data is not None else None

    def take_over(self, claim: Claim, old_token: str, old_status: ClaimStatus) -> bool:
        data = claim_data(claim)
        try:
            self.table.update(
                claim_key(claim.canonical_id),
                set_values={k: v for k, v in data.items() if v is not None},
                remove=[k for k, v in data.items() if v is None],
                extra_values={":old_token": old_token, ":old_status": old_status.value},
                condition=f"{CLAIM.claim_token} = :old_token AND #status = :old_status",
                condition_names=_STATUS,
                action="take over claim",
            )
        except ConditionFailed:
            return False
        return True

    def mark_enqueued(self, canonical_id: str, claim_token: str, now: datetime) -> bool:
        try:
            self.table.update(
                claim_key(canonical_id),
                set_values={CLAIM.status: ClaimStatus.ENQUEUED.value, CLAIM.updated_at: iso(now)},
                extra_values={":token": claim_token, ":claimed": ClaimStatus.CLAIMED.value},
                condition=f"{CLAIM.claim_token} = :token AND #status = :claimed",
                condition_names=_STATUS,
                action="mark claim enqueued",
            )
        except ConditionFailed:
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
        session_url: str | None = None,
        reason: str | None = None,
    ) -> bool:
        sources = (from_status,) if isinstance(from_status, ClaimStatus) else from_status
        if not sources:
            return False
        names = [f":from{i}" for i in range(len(sources))]
        values = {
            CLAIM.status: to_status.value,
            CLAIM.updated_at: iso(now),
            CLAIM.session_ref: session_ref,
            CLAIM.session_url: session_url,
            CLAIM.reason: reason,
        }
        try:
            self.table.update(
                claim_key(canonical_id),
                set_values={k: v for k, v in values.items() if v is not None},
                extra_values={name: s.value for name, s in zip(names, sources, strict=True)},
                condition=f"attribute_exists({CLAIM.pk}) AND #status IN ({', '.join(names)})",
                condition_names=_STATUS,
                action="transition claim",
            )
        except ConditionFailed:
            return False
        return True

    def list_sessions(self, project_id: str, limit: int, next_token: str | None) -> tuple[list[Claim], str | None]:
        """The project's claims, newest first."""
        check_limit(limit)
        keys = (CLAIM.pk, CLAIM.sk, CLAIM.gsi1pk, CLAIM.gsi1sk)
        start = self.table.start_key(next_token, keys, gsi1pk=sessions_pk(project_id), pk_prefix="ISSUE#")
        args: dict[str, Any] = {
            "TableName": self.table.name,
            "IndexName": GSI,
            "KeyConditionExpression": f"{CLAIM.gsi1pk} = :pk",
            "ExpressionAttributeValues": {":pk": {"S": sessions_pk(project_id)}},
            "ScanIndexForward": False,
            # One more than asked: a next token is returned only when there is a next page.
            "Limit": limit + 1,
        }
        if start:
            args["ExclusiveStartKey"] = start
        with translated("list sessions"):
            response = self.table.client.query(**args)
        found = [from_item(item) for item in response.get("Items", [])]
        return self.table.page(found, limit, keys, claim_record)

    def release(self, project_id: str, canonical_id: str, now: datetime) -> Claim:
        """Mark the claim released (the domain's `release_claim` also drops the project's ETag cache)."""
        missing = ClaimNotFound(f"project {project_id!r} has no claim on {canonical_id[:200]!r}")
        try:
            key = claim_key(canonical_id)
        except ValueError:
            raise missing from None
        # Twice round: the claim may leave backlog between the two conditional writes.
        for _ in range(2):
            for backlog in (False, True):
                try:
                    return claim_record(self._release(key, project_id, now, backlog=backlog))
                except ConditionFailed:
                    continue
        raise missing

    def _release(self, key: dict[str, Any], project_id: str, now: datetime, *, backlog: bool) -> dict[str, Any]:
        """Release a claim of the project, if it is (or is not) backlog. A backlog claim launched
        nothing: released, it counts no attempt, so its first launch counts one."""
        return self.table.update(
            key,
            set_values={
                CLAIM.status: ClaimStatus.RELEASED.value,
                CLAIM.updated_at: iso(now),
                **({CLAIM.attempts: 0} if backlog else {}),
            },
            extra_values={":project": project_id, ":backlog": ClaimStatus.BACKLOG.value},
            condition=(
                f"attribute_exists({CLAIM.pk}) AND {CLAIM.project_id} = :project"
                f" AND #status {'=' if backlog else '<>'} :backlog"
            ),
            condition_names=_STATUS,
            action="release claim",
        )

    def record_status(self, claim: Claim, expected_reports: int) -> bool:
        data = status_data(claim)
        guard = claim.report_guard
        values: dict[str, Any] = {
            **{k: v for k, v in data.items() if v is not None},
            CLAIM.status_reports: claim.status_reports,
            CLAIM.report_guard: GuardItem(timestamp=guard.timestamp, digests=guard.digests).model_dump(mode="json")
            if guard
            else None,
        }
        sources = {f":reportable{i}": s.value for i, s in enumerate(REPORTABLE)}
        reports = CLAIM.status_reports
        version = f"attribute_not_exists({reports})" if expected_reports == 0 else f"{reports} = :reports"
        extra: dict[str, Any] = {**sources, ":generation": claim.generation}
        generation = _of_generation(claim)
        if expected_reports:
            extra[":reports"] = expected_reports
        try:
            self.table.update(
                claim_key(claim.canonical_id),
                set_values={k: v for k, v in values.items() if v is not None},
                remove=[k for k, v in data.items() if v is None],
                extra_values=extra,
                condition=(
                    f"attribute_exists({CLAIM.pk}) AND #status IN ({', '.join(sources)}) AND {generation} AND {version}"
                ),
                condition_names=_STATUS,
                action="record session status",
            )
        except ConditionFailed:
            return False
        return True

    def save_ack(self, claim: Claim, ack: Acknowledgement, expected_version: int | None) -> bool:
        extra: dict[str, Any] = {":launched": ClaimStatus.LAUNCHED.value, ":generation": claim.generation}
        generation = _of_generation(claim)
        version = f"attribute_not_exists({CLAIM.ack_version})"
        if expected_version is not None:
            version = f"{CLAIM.ack_version} = :version"
            extra[":version"] = expected_version
        try:
            self.table.update(
                claim_key(claim.canonical_id),
                set_values=ack_data(ack),
                extra_values=extra,
                condition=f"attribute_exists({CLAIM.pk}) AND #status = :launched AND {generation} AND {version}",
                condition_names=_STATUS,
                action="record acknowledgement",
            )
        except ConditionFailed:
            return False
        return True


def _of_generation(claim: Claim) -> str:
    """The condition that the stored claim is of `claim`'s generation (`:generation`).

    Claims written before generations were counted have none: they are generation 1.
    """
    generation = f"{CLAIM.generation} = :generation"
    return f"(attribute_not_exists({CLAIM.generation}) OR {generation})" if claim.generation == 1 else generation
