"""`Ledger` on DynamoDB: one claim per issue, ever, keyed by the lower-cased canonical id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...domain.config import Acknowledge
from ...domain.errors import ClaimNotFound
from ...domain.issue import dedupe_key
from ...domain.records import (
    Acknowledgement,
    AckState,
    Claim,
    ClaimStatus,
    IssueSnapshot,
    ReportGuard,
    SessionStatus,
    StatusChange,
)
from ...domain.status import REPORTABLE
from .table import (
    BATCH_GET_MAX,
    CLAIM_SK,
    GSI,
    ConditionFailed,
    DynamoTable,
    check_limit,
    claim_key,
    claim_pk,
    from_item,
    iso,
    parse_iso,
    sessions_pk,
    to_item,
    translated,
)


def snapshot_data(issue: IssueSnapshot) -> dict[str, Any]:
    return {
        "number": issue.number,
        "title": issue.title,
        "url": issue.url,
        "labels": list(issue.labels),
        "assignees": list(issue.assignees),
        "body": issue.body,
        "createdAt": issue.created_at,
        "updatedAt": issue.updated_at,
    }


def claim_data(claim: Claim) -> dict[str, Any]:
    return {
        "canonicalId": claim.canonical_id,
        "projectId": claim.project_id,
        "status": claim.status.value,
        "claimToken": claim.claim_token,
        "claimedAt": iso(claim.claimed_at),
        "updatedAt": iso(claim.updated_at or claim.claimed_at),
        "attempts": claim.attempts,
        "generation": claim.generation,
        "issue": {k: v for k, v in snapshot_data(claim.issue).items() if v is not None},
        "sessionRef": claim.session_ref,
        "sessionUrl": claim.session_url,
        "reason": claim.reason,
        # None (removed by a take-over): a new generation starts with no reported status. The
        # report count and the replay guard are not here: they outlive the generation.
        **status_data(claim),
        # None too (removed by a take-over): each generation acknowledges once, afresh.
        **ack_data(claim.ack),
        "gsi1pk": sessions_pk(claim.project_id),
        "gsi1sk": iso(claim.claimed_at),
    }


def status_data(claim: Claim) -> dict[str, Any]:
    """The session's reported status as the claim item holds it."""
    return {
        "sessionStatus": claim.session_status.value if claim.session_status is not None else None,
        "prUrl": claim.pr_url,
        "statusHistory": [
            {"status": c.status.value, "at": iso(c.at), **({"prUrl": c.pr_url} if c.pr_url else {})}
            for c in claim.status_history
        ]
        or None,
    }


def ack_data(ack: Acknowledgement | None) -> dict[str, Any]:
    """The acknowledgement as the claim item holds it: a map, and its version beside it (the
    version is what each write of it is conditional on)."""
    if ack is None:
        return {"ack": None, "ackVersion": None}
    data: dict[str, Any] = {
        "kind": ack.kind.value,
        "state": ack.state.value,
        "marker": ack.marker,
        "startedAt": iso(ack.started_at),
        "updatedAt": iso(ack.updated_at),
        "attempts": ack.attempts,
        "sent": ack.sent,
        "slot": iso(ack.slot) if ack.slot else None,
        "leaseUntil": iso(ack.lease_until) if ack.lease_until else None,
        "notBefore": iso(ack.not_before) if ack.not_before else None,
        "url": ack.url,
        "detail": ack.detail,
    }
    return {"ack": {k: v for k, v in data.items() if v is not None}, "ackVersion": ack.version}


def _ack(data: Any, version: Any) -> Acknowledgement | None:
    if not isinstance(data, dict):
        return None
    return Acknowledgement(
        kind=Acknowledge(data["kind"]),
        state=AckState(data["state"]),
        marker=data["marker"],
        started_at=parse_iso(data["startedAt"]),
        updated_at=parse_iso(data["updatedAt"]),
        version=int(version or 1),
        attempts=int(data.get("attempts", 0)),
        sent=bool(data.get("sent", False)),
        slot=parse_iso(data["slot"]) if data.get("slot") else None,
        lease_until=parse_iso(data["leaseUntil"]) if data.get("leaseUntil") else None,
        not_before=parse_iso(data["notBefore"]) if data.get("notBefore") else None,
        url=data.get("url"),
        detail=data.get("detail"),
    )


def _history(items: Any) -> tuple[StatusChange, ...]:
    return tuple(
        StatusChange(SessionStatus(item["status"]), parse_iso(item["at"]), item.get("prUrl")) for item in items or ()
    )


def _guard(data: Any) -> ReportGuard | None:
    if not isinstance(data, dict):
        return None
    return ReportGuard(int(data["timestamp"]), tuple(data.get("digests", ())))


def claim_record(data: Mapping[str, Any]) -> Claim:
    issue = data.get("issue", {})
    return Claim(
        canonical_id=data["canonicalId"],
        project_id=data.get("projectId") or data["pk"].removeprefix("PROJECT#"),
        status=ClaimStatus(data["status"]),
        claim_token=data["claimToken"],
        claimed_at=parse_iso(data["claimedAt"]),
        issue=IssueSnapshot(
            number=int(issue.get("number", 0)),
            title=issue.get("title", ""),
            url=issue.get("url", ""),
            labels=tuple(issue.get("labels", ())),
            assignees=tuple(issue.get("assignees", ())),
            body=issue.get("body", ""),
            created_at=issue.get("createdAt"),
            updated_at=issue.get("updatedAt"),
        ),
        attempts=int(data.get("attempts", 1)),
        generation=int(data.get("generation", 1)),
        updated_at=parse_iso(data["updatedAt"]) if "updatedAt" in data else None,
        session_ref=data.get("sessionRef"),
        session_url=data.get("sessionUrl"),
        reason=data.get("reason"),
        session_status=SessionStatus(data["sessionStatus"]) if data.get("sessionStatus") else None,
        pr_url=data.get("prUrl"),
        status_history=_history(data.get("statusHistory")),
        status_reports=int(data.get("statusReports", 0)),
        report_guard=_guard(data.get("reportGuard")),
        ack=_ack(data.get("ack"), data.get("ackVersion")),
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
        item = {"pk": claim_pk(claim.canonical_id), "sk": CLAIM_SK, **claim_data(claim)}
        try:
            with translated("put claim"):
                self.table.client.put_item(
                    TableName=self.table.name,
                    Item=to_item(item),
                    ConditionExpression="attribute_not_exists(pk)",
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
                condition="claimToken = :old_token AND #status = :old_status",
                action="take over claim",
            )
        except ConditionFailed:
            return False
        return True

    def mark_enqueued(self, canonical_id: str, claim_token: str, now: datetime) -> bool:
        try:
            self.table.update(
                claim_key(canonical_id),
                set_values={"status": ClaimStatus.ENQUEUED.value, "updatedAt": iso(now)},
                extra_values={":token": claim_token, ":claimed": ClaimStatus.CLAIMED.value},
                condition="claimToken = :token AND #status = :claimed",
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
            "status": to_status.value,
            "updatedAt": iso(now),
            "sessionRef": session_ref,
            "sessionUrl": session_url,
            "reason": reason,
        }
        try:
            self.table.update(
                claim_key(canonical_id),
                set_values={k: v for k, v in values.items() if v is not None},
                extra_values={name: s.value for name, s in zip(names, sources, strict=True)},
                condition=f"attribute_exists(pk) AND #status IN ({', '.join(names)})",
                action="transition claim",
            )
        except ConditionFailed:
            return False
        return True

    def list_sessions(self, project_id: str, limit: int, next_token: str | None) -> tuple[list[Claim], str | None]:
        """The project's claims, newest first."""
        check_limit(limit)
        keys = ("pk", "sk", "gsi1pk", "gsi1sk")
        start = self.table.start_key(next_token, keys, gsi1pk=sessions_pk(project_id), pk_prefix="ISSUE#")
        args: dict[str, Any] = {
            "TableName": self.table.name,
            "IndexName": GSI,
            "KeyConditionExpression": "gsi1pk = :pk",
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
                "status": ClaimStatus.RELEASED.value,
                "updatedAt": iso(now),
                **({"attempts": 0} if backlog else {}),
            },
            extra_values={":project": project_id, ":backlog": ClaimStatus.BACKLOG.value},
            condition=f"attribute_exists(pk) AND projectId = :project AND #status {'=' if backlog else '<>'} :backlog",
            action="release claim",
        )

    def record_status(self, claim: Claim, expected_reports: int) -> bool:
        data = status_data(claim)
        guard = claim.report_guard
        values: dict[str, Any] = {
            **{k: v for k, v in data.items() if v is not None},
            "statusReports": claim.status_reports,
            "reportGuard": {"timestamp": guard.timestamp, "digests": list(guard.digests)} if guard else None,
        }
        sources = {f":reportable{i}": s.value for i, s in enumerate(REPORTABLE)}
        version = "attribute_not_exists(statusReports)" if expected_reports == 0 else "statusReports = :reports"
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
                    f"attribute_exists(pk) AND #status IN ({', '.join(sources)}) AND {generation} AND {version}"
                ),
                action="record session status",
            )
        except ConditionFailed:
            return False
        return True

    def save_ack(self, claim: Claim, ack: Acknowledgement, expected_version: int | None) -> bool:
        extra: dict[str, Any] = {":launched": ClaimStatus.LAUNCHED.value, ":generation": claim.generation}
        generation = _of_generation(claim)
        version = "attribute_not_exists(ackVersion)"
        if expected_version is not None:
            version = "ackVersion = :version"
            extra[":version"] = expected_version
        try:
            self.table.update(
                claim_key(claim.canonical_id),
                set_values=ack_data(ack),
                extra_values=extra,
                condition=f"attribute_exists(pk) AND #status = :launched AND {generation} AND {version}",
                action="record acknowledgement",
            )
        except ConditionFailed:
            return False
        return True


def _of_generation(claim: Claim) -> str:
    """The condition that the stored claim is of `claim`'s generation (`:generation`).

    Claims written before generations were counted have none: they are generation 1.
    """
    generation = "generation = :generation"
    return f"(attribute_not_exists(generation) OR {generation})" if claim.generation == 1 else generation
