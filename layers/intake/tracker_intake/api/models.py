"""What the config API reads and writes: camelCase JSON, pydantic models in and out."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ..domain.config import (
    WHOLE_NUMBER,
    Acknowledge,
    FieldProblem,
    NewProject,
    ProjectConfig,
    Provider,
    TrackerIntake,
    intake_repo,
)
from ..domain.eligibility import SkipReason
from ..domain.errors import ConfigInvalid
from ..domain.issue import Issue
from ..domain.patterns import schema_pattern
from ..domain.pickup import Pickup, pickup_seconds
from ..domain.preview import Preview
from ..domain.records import (
    STATUS_HISTORY_LIMIT,
    Acknowledgement,
    AckState,
    Claim,
    ClaimStatus,
    PollEntry,
    PollResult,
    ProjectRecord,
    SessionStatus,
    StatusChange,
)
from ..domain.status import PR_URL_MAX_CHARS, PR_URL_PATTERN, StatusReport

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_NEXT_TOKEN_CHARS = 2048

__all__ = [
    "AcknowledgementView",
    "ConfigUpdate",
    "DraftPreviewRequest",
    "ErrorBody",
    "FailureKind",
    "IntakeState",
    "IntakeStatus",
    "NewProject",
    "PickupView",
    "PollList",
    "PollView",
    "PreviewRequest",
    "PreviewView",
    "ProjectList",
    "ProjectView",
    "SessionList",
    "SessionView",
    "StatusChangeView",
    "StatusReportBody",
]


class _Out(BaseModel):
    # Built on first use (see domain/config.py's _Model): a GET builds its answer, not every route's.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, defer_build=True)


MAX_VERSION = 2**53 - 1


class ConfigUpdate(ProjectConfig):
    """The body of `PUT /projects/{id}/config`: the whole config, and optionally its version."""

    # At most 2^53 - 1: any client's JSON can hold it exactly, and DynamoDB can store it.
    version: Annotated[
        Annotated[int, Field(ge=1, le=MAX_VERSION), WHOLE_NUMBER] | None,
        Field(
            description="The version you read (optimistic locking): a stale one is refused with 409, and nothing "
            'is written. Or send it as `If-Match: "<version>"` (412 when stale). Absent: no check.'
        ),
    ] = None

    def config(self) -> ProjectConfig:
        return ProjectConfig.model_validate(self.model_dump(exclude={"version"}))


class IntakeState(StrEnum):
    DISABLED = "disabled"
    OK = "ok"
    BACKOFF = "backoff"
    ERROR = "error"


class FailureKind(StrEnum):
    """What the last poll failure was: `transient` (a 5xx, a reset connection, a timeout: it
    passes by itself, and its backoff starts at a minute) or `persistent` (bad credentials, a
    repository not found, an invalid config: it waits for someone to fix it)."""

    TRANSIENT = "transient"
    PERSISTENT = "persistent"


class IntakeStatus(_Out):
    state: IntakeState
    repo: str | None = None
    backoff_until: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    # The kind of the last failure, while there is one (null when the last poll succeeded).
    failure_kind: FailureKind | None = None
    last_change_at: Annotated[
        datetime | None,
        Field(
            description="When the tracker last changed, as the polls read it: the newest `updated_at` of the "
            "issues a poll read (never a poll's own time, so a restart's cold cache does not move it). Null "
            "before any poll read an issue."
        ),
    ] = None
    checked_at: Annotated[
        datetime | None,
        Field(
            description="When the last poll recorded in the activity log ran (`GET /projects/{id}/polls`): a "
            "poll that changed, failed or started something, or, when all is quiet, one every 10 minutes. "
            "Null before any."
        ),
    ] = None
    config_error: str | None = None
    # Set while the dispatcher holds the project back for its credential's request budget.
    deferred_since: datetime | None = None
    # GitHub requests the last poll made: what the dispatcher budgets for the next one.
    requests_per_poll: int | None = None
    # Set from the moment intake was switched on with `backlog: new` until the polls have
    # recorded the issues that matched then (as `backlog` claims, without sessions).
    backlog_since: datetime | None = None

    @classmethod
    def of(cls, record: ProjectRecord, now: datetime) -> IntakeStatus:
        poll = record.poll
        return cls(
            state=_state(record, now),
            repo=_repo(record.config),
            backoff_until=poll.backoff_until,
            consecutive_failures=poll.consecutive_failures,
            last_error=poll.last_error,
            failure_kind=_failure_kind(record),
            last_change_at=poll.last_change_at,
            checked_at=poll.checked_at,
            config_error=record.config_error,
            deferred_since=record.deferred_since,
            requests_per_poll=poll.pages_read or None,
            backlog_since=record.backlog_since,
        )


class PickupView(_Out):
    """How long matching issues waited for their sessions: from the issue's `updated_at` on
    GitHub (in the answer that first matched it) to the session's launch, over the launched
    claims among the project's 50 newest (a released issue's later sessions are left out)."""

    launches: int
    last_seconds: float
    last_launched_at: datetime
    p50_seconds: float
    p95_seconds: float

    @classmethod
    def of(cls, pickup: Pickup) -> PickupView:
        return cls(
            launches=pickup.launches,
            last_seconds=pickup.last_seconds,
            last_launched_at=pickup.last_launched_at,
            p50_seconds=pickup.p50_seconds,
            p95_seconds=pickup.p95_seconds,
        )


class ProjectView(_Out):
    # Its rule reads back as the API takes it, so the document describes it once (`TrackerIntake`):
    # the rule's serializer, which leaves out `memberWriteCheck` on a Linear rule, would otherwise
    # publish its output as an object of any shape.
    model_config = ConfigDict(**_Out.model_config, json_schema_mode_override="validation")

    id: str
    name: str | None = None
    git_origin: str | None = None
    tracker_intake: TrackerIntake | None = None
    version: int
    intake: IntakeStatus
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # In an answer about one project (never in a list): null until one of its recent claims launched.
    pickup: PickupView | None = None

    @classmethod
    def of(cls, record: ProjectRecord, now: datetime, pickup: Pickup | None = None) -> ProjectView:
        config = record.config
        return cls(
            id=record.project_id,
            name=config.name,
            git_origin=config.git_origin,
            tracker_intake=config.tracker_intake,
            version=record.version,
            intake=IntakeStatus.of(record, now),
            created_at=record.created_at,
            updated_at=record.updated_at,
            pickup=PickupView.of(pickup) if pickup is not None else None,
        )


class ProjectList(_Out):
    items: list[ProjectView]
    next_token: str | None = None


class StatusChangeView(_Out):
    """One status report the session's backend made: the status, when it was accepted, the PR."""

    status: SessionStatus
    at: datetime
    pr_url: str | None = None

    @classmethod
    def of(cls, change: StatusChange) -> StatusChangeView:
        return cls(status=change.status, at=change.at, pr_url=change.pr_url)


class AcknowledgementView(_Out):
    """The write on the issue that acknowledged the launch (`trackerIntake.acknowledge`).

    `state`: waiting (for its write slot or a retry), writing, done, refused (GitHub said 403 or
    404: the credential may not write there) or failed (gave up). `nextAttemptAt`, while
    waiting: its write slot, or the time of its retry. `url`: the comment's. `detail`: GitHub's
    words on a refusal, or the last failure. Never blocks the launch.
    """

    kind: Acknowledge
    state: AckState
    attempts: int
    updated_at: datetime
    next_attempt_at: datetime | None = None
    url: str | None = None
    detail: str | None = None

    @classmethod
    def of(cls, ack: Acknowledgement) -> AcknowledgementView:
        waiting = ack.state is AckState.WAITING
        return cls(
            kind=ack.kind,
            state=ack.state,
            attempts=ack.attempts,
            updated_at=ack.updated_at,
            next_attempt_at=(ack.slot or ack.not_before) if waiting else None,
            url=ack.url,
            detail=ack.detail,
        )


PROVIDER_OF_ISSUE = "The issue's tracker: the canonical id's prefix (`github`, `linear`, `jira`)."
IDENTIFIER_DESCRIPTION = (
    "What a person reads on Linear (`ENG-123`) or Jira (the key, `PROJ-123`), as it was when the issue was "
    "taken (a move to another team or project changes it, never the canonical id); null on GitHub, where "
    "people read `#number`."
)
NUMBER_DESCRIPTION = (
    "GitHub's issue number; on Linear and Jira, the number in the identifier or key (123 in `ENG-123`)."
)


class SessionView(_Out):
    """One row of the ledger: an issue and the session it started (or is starting).

    `issueId` is the canonical id (`github:owner/repo#n`, `linear:workspace/uuid`,
    `jira:site/id`), `provider` its tracker (the id's prefix) and `identifier` what a person
    reads on Linear (`ENG-123`) or Jira (`PROJ-123`), as the claim was taken (a move to another
    team or project changes it, never the id). `status` is
    the claim's (the intake's side); `sessionStatus` is what the session's backend last reported
    (`POST /sessions/{issueId}/status`), with `statusHistory` its recent reports.
    """

    issue_id: str
    project_id: str
    provider: Annotated[Provider, Field(description=PROVIDER_OF_ISSUE)]
    identifier: Annotated[str | None, Field(description=IDENTIFIER_DESCRIPTION)] = None
    status: ClaimStatus
    number: Annotated[int, Field(description=NUMBER_DESCRIPTION)]
    title: str
    url: Annotated[str, Field(description="The issue's page on its tracker.")]
    claimed_at: datetime
    updated_at: datetime | None = None
    session_ref: str | None = None
    # The session's page, when the backend's answer gave one (`sessionUrl`, https).
    session_url: str | None = None
    reason: str | None = None
    # The times the issue was taken to launch a session (0 for a backlog claim: it started none).
    attempts: int = 1
    generation: int = 1
    session_status: SessionStatus | None = None
    pr_url: str | None = None
    # Oldest first, the last STATUS_HISTORY_LIMIT reports of this generation.
    status_history: Annotated[list[StatusChangeView], Field(max_length=STATUS_HISTORY_LIMIT)] = []
    # Absent until a launcher tried to acknowledge the launch on the issue.
    acknowledgement: AcknowledgementView | None = None
    pickup_seconds: Annotated[
        float | None,
        Field(
            description="How long the issue waited for its session: from its `updated_at` in the answer that "
            "first matched it to the launch (`updatedAt` of a launched claim). Null when not launched, when the "
            "tracker gave no `updated_at`, or for a released issue's later generations (the release, not the "
            "update, started their wait)."
        ),
    ] = None

    @classmethod
    def of(cls, claim: Claim) -> SessionView:
        return cls(
            issue_id=claim.canonical_id,
            project_id=claim.project_id,
            provider=provider_of(claim.canonical_id),
            identifier=claim.issue.identifier,
            status=claim.status,
            number=claim.issue.number,
            title=claim.issue.title,
            url=claim.issue.url,
            claimed_at=claim.claimed_at,
            updated_at=claim.updated_at,
            session_ref=claim.session_ref,
            session_url=claim.session_url,
            reason=claim.reason,
            attempts=claim.launches,
            generation=claim.generation,
            session_status=claim.session_status,
            pr_url=claim.pr_url,
            status_history=[StatusChangeView.of(c) for c in claim.status_history],
            acknowledgement=AcknowledgementView.of(claim.ack) if claim.ack is not None else None,
            pickup_seconds=pickup_seconds(claim),
        )


class SessionList(_Out):
    items: list[SessionView]
    next_token: str | None = None


class PollView(_Out):
    """One poll in the project's activity log: what `intake local` prints per tick, kept 7 days.

    Every poll that changed, failed, paused or started something is kept; a quiet one (all
    not-modified, healthy, nothing new) once every 10 minutes. `requests` counts the tracker
    requests it made (pages, members' write checks, retries), `pages` the pages read and
    `notModified` those unchanged (GitHub's 304s; on Linear and Jira, answers with nothing new).
    """

    at: datetime
    result: PollResult
    provider: Annotated[Provider, Field(description="The tracker polled.")]
    requests: int = 0
    pages: int = 0
    not_modified: int = 0
    new_sessions: Annotated[
        list[str], Field(description="Canonical ids of the sessions the poll started (at most 20).", max_length=20)
    ] = []
    backlog_recorded: int = 0
    held_back: int = 0
    error_kind: str | None = None
    error: Annotated[str | None, Field(description="The failure, as `lastError` says it.", max_length=500)] = None
    backoff_until: datetime | None = None

    @classmethod
    def of(cls, entry: PollEntry) -> PollView:
        return cls(
            at=entry.at,
            result=entry.result,
            provider=Provider(entry.provider),
            requests=entry.requests,
            pages=entry.pages,
            not_modified=entry.not_modified,
            new_sessions=list(entry.new_sessions),
            backlog_recorded=entry.backlog_recorded,
            held_back=entry.held_back,
            error_kind=entry.error_kind,
            error=entry.error,
            backoff_until=entry.backoff_until,
        )


class PollList(_Out):
    items: list[PollView]
    next_token: str | None = None


def _a_pull_request(value: str) -> str:
    if not re.fullmatch(PR_URL_PATTERN, value):
        raise ValueError("must be a pull request's URL, https://HOST/OWNER/REPO/pull/NUMBER")
    return value


class StatusReportBody(BaseModel):
    """The body of `POST /sessions/{issueId}/status`: what the session is doing now.

    Signed, not SigV4: `X-Intake-Timestamp` (Unix seconds) and `X-Intake-Signature:
    sha256=<hex HMAC-SHA256 of "intake-report-v2\\n<timestamp>\\nPOST\\n<canonical issue id>\\n<body>">`
    with the session webhook key. `generation` is required: the body carries it under the
    signature. `prUrl` must be on github.com or the deployment's GitHub host (422 at the field
    otherwise).
    """

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, defer_build=True
    )

    status: SessionStatus
    pr_url: (
        Annotated[
            str,
            Field(
                json_schema_extra={
                    "pattern": schema_pattern(PR_URL_PATTERN),
                    "maxLength": PR_URL_MAX_CHARS,
                    "examples": ["https://github.com/acme/app/pull/43"],
                }
            ),
            AfterValidator(_a_pull_request),
        ]
        | None
    ) = None
    # The claim generation the session was launched for (the webhook body's `generation`):
    # required, so the signature binds the report to one claim, never to the next one.
    generation: Annotated[int, Field(ge=1, le=MAX_VERSION), WHOLE_NUMBER]

    def report(self) -> StatusReport:
        return StatusReport(self.status, self.generation, self.pr_url)


class PreviewRequest(BaseModel):
    """The body of `POST /projects/{id}/preview`: a draft rule, or nothing for the stored one."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, defer_build=True
    )

    tracker_intake: TrackerIntake | None = None


class DraftPreviewRequest(ProjectConfig):
    """The body of `POST /preview`: the config of a project not created yet (its name is ignored)."""

    tracker_intake: TrackerIntake


class PreviewIssue(_Out):
    canonical_id: str
    provider: Annotated[Provider, Field(description=PROVIDER_OF_ISSUE)]
    identifier: Annotated[str | None, Field(description=IDENTIFIER_DESCRIPTION)] = None
    number: Annotated[int, Field(description=NUMBER_DESCRIPTION)]
    title: str
    url: str
    labels: list[str]
    assignees: list[str]
    created_at: datetime | None = None
    # Who opened it, and GitHub's `author_association` for them (what `authors` is checked against).
    author: str | None = None
    author_association: str | None = None
    # Why the rule skips it (skipped issues only): a `SkipReason`, or "member: write access not
    # checked: <why>" when a member's write access could not be checked (no poll takes it then).
    reason: str | None = None
    # The status of the claim that holds it, if any (eligible issues only): `launched`, `backlog`...
    claim: ClaimStatus | None = None
    # The other project whose claim holds it (eligible issues only): one session per issue across
    # every project, and the first to claim it holds it. None when unclaimed, this project's, or
    # released.
    claim_project: str | None = None

    @classmethod
    def of(
        cls,
        issue: Issue,
        reason: SkipReason | str | None = None,
        claim: Claim | None = None,
        claim_project: str | None = None,
    ) -> PreviewIssue:
        return cls(
            canonical_id=issue.canonical_id,
            provider=provider_of(issue.canonical_id),
            identifier=issue.identifier,
            number=issue.number,
            title=issue.title,
            url=issue.url,
            labels=list(issue.labels),
            assignees=list(issue.assignees),
            created_at=issue.created_at,
            author=issue.author,
            author_association=issue.author_association,
            reason=str(reason) if reason is not None else None,
            claim=claim.status if claim is not None else None,
            claim_project=claim_project,
        )


class PreviewView(_Out):
    """What the rule would pick up now, oldest first, what it skips and why, and what it would start."""

    repo: str
    eligible: list[PreviewIssue]
    skipped: list[PreviewIssue]
    # The walk stopped at the page cap, as a poll does: newer issues are not shown.
    truncated: bool
    # GitHub requests this preview made (counted in the credential's budget).
    requests: int
    # Sessions polls would start for the eligible issues if this config were saved now with
    # intake on (`maxSessionsPerPoll` a poll): with its own `backlog`, and with `backlog: all`.
    # Issues with a claim start none (a `backlog` one only under `all`).
    would_start: int
    would_start_with_all: int
    # Eligible issues another project's claim holds (each names it, `claimProject`): this project
    # starts none of them, whatever its `backlog`.
    held_elsewhere: int

    @classmethod
    def of(cls, preview: Preview, would_start: int, would_start_with_all: int) -> PreviewView:
        return cls(
            repo=preview.repo,
            eligible=[
                PreviewIssue.of(i, claim=preview.claim_of(i), claim_project=preview.held_by(i))
                for i in preview.eligible
            ],
            skipped=[PreviewIssue.of(i, r) for i, r in preview.reasons()],
            truncated=preview.truncated,
            requests=preview.requests,
            would_start=would_start,
            would_start_with_all=would_start_with_all,
            held_elsewhere=preview.held_elsewhere(),
        )


class ErrorBody(_Out):
    """Every refused request: a sentence, and which field is at fault and why."""

    message: str
    errors: list[FieldProblem] = []


def provider_of(canonical_id: str) -> Provider:
    """The tracker a canonical id names: its prefix (`github:`, `linear:`, `jira:`)."""
    return Provider(canonical_id.partition(":")[0])


def _state(record: ProjectRecord, now: datetime) -> IntakeState:
    if record.config_error is not None:
        return IntakeState.ERROR
    if not record.config.intake_enabled:
        return IntakeState.DISABLED
    poll = record.poll
    if poll.backoff_until is not None and poll.backoff_until > now:
        return IntakeState.BACKOFF
    if poll.consecutive_failures > 0 or poll.last_error is not None:
        return IntakeState.ERROR
    return IntakeState.OK


def _failure_kind(record: ProjectRecord) -> FailureKind | None:
    poll = record.poll
    if poll.consecutive_failures == 0 and poll.last_error is None:
        return None
    return FailureKind.TRANSIENT if poll.transient else FailureKind.PERSISTENT


def _repo(config: ProjectConfig) -> str | None:
    if config.tracker_intake is None or config.tracker_intake.is_linear or config.tracker_intake.is_jira:
        return None  # a Linear rule names a team, a Jira rule a site's project: never a repository
    try:
        owner, name = intake_repo(config)
    except ConfigInvalid:
        return None
    return f"{owner}/{name}"
