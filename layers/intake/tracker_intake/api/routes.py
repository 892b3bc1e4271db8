"""The config API's routes: project CRUD, intake config, the session ledger.

Each route validates its input (pydantic, through Powertools), makes one call on the store and
answers with a response model. Domain errors are turned into HTTP in `errors.py`, nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from pydantic import BaseModel

from ..domain import changes
from ..domain.backlog import since_after_write
from ..domain.config import (
    PROJECT_ID_PATTERN,
    Backlog,
    ProjectConfig,
    TrackerIntake,
    check_project_id,
    intake_repo,
)
from ..domain.credentials import DEFAULT_CREDENTIAL, Credential
from ..domain.errors import (
    ConfigInvalid,
    CredentialUnknown,
    InvalidInput,
    PreviewUnavailable,
    RepoNotFound,
    RepoNotVisible,
    RuleBroken,
)
from ..domain.issue import CANONICAL_ID_PATTERN, parse_tracker_id
from ..domain.patterns import schema_pattern
from ..domain.pickup import project_pickup
from ..domain.ports import ActivityHistory, Clock, ConfigStore, CredentialRegistry, SessionLedger, StatusLedger
from ..domain.preview import Previewer
from ..domain.records import ProjectRecord
from .models import (
    DEFAULT_PAGE_SIZE,
    MAX_NEXT_TOKEN_CHARS,
    MAX_PAGE_SIZE,
    ConfigUpdate,
    DraftPreviewRequest,
    ErrorBody,
    NewProject,
    PollList,
    PollView,
    PreviewRequest,
    PreviewView,
    ProjectList,
    ProjectView,
    SessionList,
    SessionView,
)

logger = Logger(child=True)
router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


class ApiStore(ConfigStore, SessionLedger, StatusLedger, CredentialRegistry, ActivityHistory, Protocol):
    """The API edits projects, lists and releases sessions, records status reports, registers
    credentials and reads the activity log: one store serves all."""


@dataclass(frozen=True)
class ApiContext:
    store: ApiStore
    clock: Clock
    # Whether requests reach the API only with a SigV4 signature (API Gateway's AWS_IAM).
    sigv4: bool = True
    # Reads GitHub with the project's credential; None where no GitHub is configured.
    previewer: Previewer | None = None
    # The deployment's own credential (None: a token from the environment, locally).
    default_credential: Credential | None = None
    # Where registered credentials' secrets must be (None: anywhere, locally).
    secret_prefix: str | None = None
    # Whether a project's credential can see its repository: None when it can, else why not.
    access: Callable[[ProjectRecord], str | None] | None = None
    # The session webhook key, which status reports are signed with (None: none configured).
    report_key: Callable[[], str] | None = None
    # The hosts a reported pull request may be on: github.com and the deployment's GitHub.
    github_hosts: frozenset[str] = frozenset({"github.com"})


def api_context() -> ApiContext:
    """Replaced by `build_api` with the function's composition root."""
    raise RuntimeError("the API is not wired: build it with tracker_intake.api.build_api")


Context = Annotated[ApiContext, Depends(api_context)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="page size")]
NextToken = Annotated[
    str | None,
    Query(alias="nextToken", min_length=1, max_length=MAX_NEXT_TOKEN_CHARS, description="from the last page"),
]
# The version in an ETag, as this API writes it ("3"), weak or unquoted, or `*` (any version).
IF_MATCH_PATTERN = r'\*|(?:W/)?"?[1-9][0-9]{0,17}"?'
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='the version you read, e.g. "3"',
        json_schema_extra={"pattern": schema_pattern(IF_MATCH_PATTERN)},
    ),
]
ProjectIdParam = Annotated[
    str,
    Path(alias="id", description="the project id", json_schema_extra={"pattern": schema_pattern(PROJECT_ID_PATTERN)}),
]
IssueIdParam = Annotated[
    str,
    Path(
        alias="issueId",
        description=(
            "the URL-encoded canonical id, e.g. github%3Aacme%2Fapp%2342, "
            "linear%3Aacme%2F3f2b5c1e-8d4a-4b6f-9c2e-1a7d0e5b9f34 or jira%3Aacme.atlassian.net%2F10042"
        ),
        json_schema_extra={
            "pattern": schema_pattern(CANONICAL_ID_PATTERN),
            "examples": [
                "github:acme/app#42",
                "linear:acme/3f2b5c1e-8d4a-4b6f-9c2e-1a7d0e5b9f34",
                "jira:acme.atlassian.net/10042",
            ],
        },
    ),
]

_REFUSALS = {
    400: "malformed request (bad JSON, path parameter, header or nextToken)",
    401: "a status report's signature is missing or wrong, its timestamp stale, or it is a replay",
    404: "no such project, claim or credential",
    405: "method not allowed on this path",
    409: (
        "the project exists, the body's version is stale, projects still use the credential, a "
        "status report's claim is not launching or launched, or a poll was asked of a project "
        "with intake off"
    ),
    412: "the If-Match version is stale",
    429: "the GitHub credential's budget is taken or paused (Retry-After)",
    501: "no GitHub is configured for previews here, or no webhook key for status reports",
    502: "GitHub failed or refused the deployment's credential",
    413: "body over 16 KB",
    422: "the body or a query parameter breaks a rule",
    503: "the store (or the webhook key) is unavailable; nothing was changed",
}


def responses(status: int, model: type[BaseModel] | None, description: str, *refusals: int) -> dict[int, Any]:
    """OpenAPI responses: the success, then each refusal with the shared error body."""
    ok: dict[str, Any] = {"description": description}
    if model is not None:
        ok["content"] = {"application/json": {"model": model}}
    errors = {
        code: {"description": _REFUSALS[code], "content": {"application/json": {"model": ErrorBody}}}
        for code in (*refusals, 503)
    }
    return {status: ok, **errors}


_ETAG = re.compile(IF_MATCH_PATTERN)


@router.get(
    "/projects",
    summary="List projects",
    tags=["projects"],
    responses=responses(200, ProjectList, "a page of projects", 400, 422),
)
def list_projects(ctx: Context, limit: Limit = DEFAULT_PAGE_SIZE, next_token: NextToken = None) -> ProjectList:
    records, token = ctx.store.list_projects(limit, next_token)
    now = ctx.clock.now()
    return ProjectList(items=[ProjectView.of(r, now) for r in records], next_token=token)


@router.post(
    "/projects",
    summary="Create a project",
    tags=["projects"],
    responses=responses(201, ProjectView, "created", 400, 409, 413, 422),
)
def create_project(ctx: Context, project: Annotated[NewProject, Body()]) -> Response[ProjectView]:
    logger.append_keys(project_id=project.id)
    config = ProjectConfig.model_validate(project.model_dump(exclude={"id"}))
    _check_credential(ctx, config)
    record = changes.create_project(ctx.store, project.id, config, ctx.clock.now())
    logger.info("project created", extra={"intake_enabled": config.intake_enabled})
    return _project_answer(ctx, record, 201, Location=f"/projects/{project.id}")


@router.get(
    "/projects/<id>",
    summary="A project: config, intake status, version",
    tags=["projects"],
    responses=responses(200, ProjectView, "the project (ETag: its version)", 400, 404),
)
def get_project(ctx: Context, project_id: ProjectIdParam) -> Response[ProjectView]:
    return _project_answer(ctx, ctx.store.get_project(_project_id(project_id)))


@router.put(
    "/projects/<id>/config",
    summary="Replace a project's config",
    description=(
        'Optimistic locking: send `If-Match: "<version>"` (412 when stale) or `version` (409). The '
        "config stored already changes nothing: 200 with the project as it is, its version the same."
    ),
    tags=["projects"],
    responses=responses(200, ProjectView, "the project as it is now", 400, 404, 409, 412, 413, 422),
)
def replace_config(
    ctx: Context, project_id: ProjectIdParam, update: Annotated[ConfigUpdate, Body()], if_match: IfMatch = None
) -> Response[ProjectView]:
    project_id = _project_id(project_id)
    logger.append_keys(project_id=project_id)
    expected = _expected_version(if_match, update.version)
    config = update.config()
    _check_credential(ctx, config)
    current = ctx.store.get_project(project_id)
    if current.unchanged_by(config, expected):
        # Nothing to write: the version, the ETag cache and any backoff stay as they are.
        logger.info("config unchanged", extra={"version": current.version})
        return _project_answer(ctx, current)
    record = changes.replace_config(ctx.store, project_id, config, expected, ctx.clock.now())
    logger.info("config replaced", extra={"version": record.version, "intake_enabled": config.intake_enabled})
    return _project_answer(ctx, record)


@router.post(
    "/projects/<id>/poll",
    summary="Poll the project on the next tick: clears its backoff",
    description=(
        "Clears the project's backoff and failures (`backoffUntil`, `consecutiveFailures`, "
        "`lastError`, `failureKind`), so the dispatcher polls it on its next tick (it runs every "
        'minute), within its credential\'s budget: "Retry now" while the project is in backoff, '
        '"Poll now" otherwise. The poll itself is not made here, hence 202, with the project as '
        "it now is. 409 when intake is off or the stored config no longer validates. No body."
    ),
    tags=["projects"],
    responses=responses(202, ProjectView, "accepted: polled on the next tick (ETag: its version)", 400, 404, 409),
)
def poll_project(ctx: Context, project_id: ProjectIdParam) -> Response[ProjectView]:
    project_id = _project_id(project_id)
    logger.append_keys(project_id=project_id)
    record = changes.poll_now(ctx.store, project_id)
    logger.info("poll asked for: backoff cleared")
    return _project_answer(ctx, record, 202)


@router.delete(
    "/projects/<id>",
    summary="Delete a project (its session ledger stays)",
    tags=["projects"],
    responses=responses(204, None, "deleted", 400, 404),
)
def delete_project(ctx: Context, project_id: ProjectIdParam) -> Response[str]:
    project_id = _project_id(project_id)
    logger.append_keys(project_id=project_id)
    ctx.store.delete_project(project_id)
    logger.info("project deleted")
    return Response(204, body="")


@router.get(
    "/projects/<id>/sessions",
    summary="The session ledger of a project, newest first",
    tags=["sessions"],
    responses=responses(200, SessionList, "a page of claims", 400, 404, 422),
)
def list_sessions(
    ctx: Context, project_id: ProjectIdParam, limit: Limit = DEFAULT_PAGE_SIZE, next_token: NextToken = None
) -> SessionList:
    project_id = _project_id(project_id)
    ctx.store.get_project(project_id)  # 404 for an unknown project, not an empty list
    claims, token = ctx.store.list_sessions(project_id, limit, next_token)
    return SessionList(items=[SessionView.of(c) for c in claims], next_token=token)


@router.get(
    "/projects/<id>/polls",
    summary="The project's recent polls (its activity log), newest first",
    description=(
        "Each poll that changed, failed, paused or started something, and a quiet one (all not-modified, "
        "healthy, nothing new) every 10 minutes, kept 7 days: its time, result, requests, pages, "
        "not-modified answers, new sessions and error."
    ),
    tags=["projects"],
    responses=responses(200, PollList, "a page of polls", 400, 404, 422),
)
def list_polls(
    ctx: Context, project_id: ProjectIdParam, limit: Limit = DEFAULT_PAGE_SIZE, next_token: NextToken = None
) -> PollList:
    project_id = _project_id(project_id)
    ctx.store.get_project(project_id)  # 404 for an unknown project, not an empty list
    entries, token = ctx.store.list_polls(project_id, limit, next_token)
    return PollList(items=[PollView.of(e) for e in entries], next_token=token)


@router.delete(
    "/projects/<id>/sessions/<issueId>",
    summary="Release a claim, so the issue can start a session again",
    description=(
        "`issueId` is the URL-encoded canonical id, e.g. `github%3Aacme%2Fapp%2342`, "
        "`linear%3Aacme%2F3f2b5c1e-8d4a-4b6f-9c2e-1a7d0e5b9f34` or `jira%3Aacme.atlassian.net%2F10042`."
    ),
    tags=["sessions"],
    responses=responses(200, SessionView, "the released claim", 400, 404),
)
def release_session(ctx: Context, project_id: ProjectIdParam, issue_id: IssueIdParam) -> SessionView:
    project_id = _project_id(project_id)
    logger.append_keys(project_id=project_id)
    canonical = issue_id_of(issue_id)
    claim = changes.release_claim(ctx.store, ctx.store, project_id, canonical, ctx.clock.now())
    logger.info("claim released", extra={"issue_id": canonical})
    return SessionView.of(claim)


_PREVIEW_COUNTS = (
    "`wouldStart` counts the sessions polls would start if the config were saved now with intake "
    "on (`maxSessionsPerPoll` a poll), `wouldStartWithAll` the same with `backlog: all`: with "
    "`new`, switching intake on records what matches as backlog and starts none of it."
)


@router.post(
    "/projects/<id>/preview",
    summary="What the rule would pick up now (read-only; reads the tracker)",
    description=(
        "The open issues the rule takes, oldest first, with the claim that holds each, and those it "
        "skips with the reason, as `intake preview --explain` lists them. Send `trackerIntake` to "
        "preview a draft rule, or nothing for the stored one. " + _PREVIEW_COUNTS + " Nothing is "
        "claimed or cached; the GitHub requests count in the deployment credential's budget (429 "
        "with Retry-After when it is taken or paused)."
    ),
    tags=["projects"],
    responses=responses(200, PreviewView, "the preview", 400, 404, 413, 422, 429, 501, 502),
)
def preview_rule(
    ctx: Context, project_id: ProjectIdParam, draft: Annotated[PreviewRequest | None, Body()] = None
) -> PreviewView:
    project_id = _project_id(project_id)
    logger.append_keys(project_id=project_id)
    record = ctx.store.get_project(project_id)
    config = record.config
    if draft is not None and draft.tracker_intake is not None:
        config = config.model_copy(update={"tracker_intake": draft.tracker_intake})
    return _preview(ctx, config, record)


@router.post(
    "/preview",
    summary="What a new project's rule would pick up now (read-only; reads the tracker)",
    description=(
        "As `POST /projects/{id}/preview`, for a project not created yet: send its `gitOrigin` "
        "(or `trackerIntake.repo`) and `trackerIntake`, or a Linear rule (its `team`) or a Jira rule (its "
        "`site` and `project`). " + _PREVIEW_COUNTS
    ),
    tags=["projects"],
    responses=responses(200, PreviewView, "the preview", 400, 413, 422, 429, 501, 502),
)
def preview_new_project(ctx: Context, draft: Annotated[DraftPreviewRequest, Body()]) -> PreviewView:
    # A Linear rule names its team, a Jira rule its site and project: never a repository.
    if not (draft.tracker_intake.is_linear or draft.tracker_intake.is_jira):
        try:
            intake_repo(draft)
        except ConfigInvalid as e:  # a body that names no repository breaks a rule across fields
            raise RuleBroken(e.field, e.reason) from None
    return _preview(ctx, draft, None)


def _preview(ctx: Context, config: ProjectConfig, record: ProjectRecord | None) -> PreviewView:
    if ctx.previewer is None:
        raise PreviewUnavailable("previews need a GitHub credential, and none is configured here")
    try:
        result = ctx.previewer(config, record.project_id if record is not None else None)
    except RepoNotFound:
        # Name the field the repository came from: the rule's repo, or the project's gitOrigin.
        derived = config.tracker_intake is None or config.tracker_intake.repo is None
        raise RepoNotVisible("gitOrigin" if derived else "trackerIntake.repo") from None
    # Counted as if saved with intake on: a preview is how people decide to switch it on.
    intake = (config.tracker_intake or TrackerIntake()).model_copy(update={"enabled": True})
    since = since_after_write(record, config.model_copy(update={"tracker_intake": intake}), ctx.clock.now())
    view = PreviewView.of(result, result.would_start(intake.backlog, since), result.would_start(Backlog.ALL, None))
    logger.info(
        "rule previewed",
        extra={"requests": result.requests, "eligible": len(result.eligible), "would_start": view.would_start},
    )
    return view


def _check_credential(ctx: Context, config: ProjectConfig) -> None:
    """A config may name only a registered credential (or the default)."""
    name = config.tracker_intake.credential if config.tracker_intake is not None else None
    if name is None or name == DEFAULT_CREDENTIAL or ctx.store.get_credential(name) is not None:
        return
    raise CredentialUnknown(
        "trackerIntake.credential", f"no credential named {name!r} is registered; GET /credentials lists them"
    )


def _project_id(raw: str) -> str:
    value = unquote(raw)
    return checked("id", value, check_project_id)


def issue_id_of(raw: str) -> str:
    """The canonical id a path's `issueId` names; InvalidInput("issueId") if it names none."""
    # API Gateway (REST) hands the path over still percent-encoded: `github%3Aacme%2Fapp%2342`.
    value = unquote(raw)
    return checked("issueId", value, lambda v: parse_tracker_id(v).canonical_id)


def checked(field: str, value: str, check: Callable[[str], str]) -> str:
    try:
        return check(value)
    except ValueError as e:
        raise InvalidInput(field, str(e)) from None


def _expected_version(if_match: str | None, version: int | None) -> int | None:
    """The version the caller read: from `If-Match` or the body's `version` (they must agree)."""
    header = None
    if if_match is not None:
        if not _ETAG.fullmatch(if_match):
            raise InvalidInput("If-Match", f'{if_match[:40]!r} is not a version; send the ETag you read, e.g. "3"')
        digits = if_match.removeprefix("W/").strip('"')
        header = None if digits == "*" else int(digits)
    if header is not None and version is not None and header != version:
        raise InvalidInput("version", f"is {version} but If-Match says {header}; send one of them")
    return header if header is not None else version


def _etag(version: int) -> str:
    return f'"{version}"'


def _project_answer(ctx: Context, record: ProjectRecord, status: int = 200, **headers: str) -> Response[ProjectView]:
    """A project as JSON, with its pickup figures (one query of its ledger), and its version as
    the ETag (what If-Match sends back)."""
    pickup = project_pickup(ctx.store, record.project_id)
    return Response(
        status,
        content_type="application/json",
        body=ProjectView.of(record, ctx.clock.now(), pickup),
        headers={**headers, "ETag": _etag(record.version)},
    )
