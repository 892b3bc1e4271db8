"""The credentials routes: register GitHub credentials by reference, and check what they see.

A credential is a name, a kind and the ARN of a Secrets Manager secret (and an app id): the API
never reads, stores or returns the secret. The `default` credential is the deployment's own
(its template parameters) and is listed, not edited, here.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from ..domain.config import intake_repo
from ..domain.credentials import (
    CREDENTIAL_NAME_PATTERN,
    DEFAULT_CREDENTIAL,
    JIRA_OAUTH_SECRETS,
    LINEAR_OAUTH_SECRETS,
    Credential,
    CredentialKind,
    check_credential_name,
    check_secret_arn,
)
from ..domain.errors import (
    ConfigInvalid,
    CredentialInUse,
    CredentialNotFound,
    IntakeError,
    InvalidInput,
    PreviewUnavailable,
    RuleBroken,
)
from ..domain.patterns import schema_pattern
from ..domain.records import ProjectRecord
from .credential_models import CredentialBody, CredentialCheck, CredentialList, CredentialView, RepoAccess
from .routes import Context, checked, responses

logger = Logger(child=True)
router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

NameParam = Annotated[
    str,
    Path(
        alias="name",
        description="the credential's name",
        json_schema_extra={"pattern": schema_pattern(CREDENTIAL_NAME_PATTERN)},
    ),
]
# Registered names: any but `default`, which is the deployment's own (its template parameters).
RegisteredNameParam = Annotated[
    str,
    Path(
        alias="name",
        description="the credential's name (not `default`, which the deployment's parameters set)",
        json_schema_extra={"pattern": schema_pattern(f"(?!{DEFAULT_CREDENTIAL}$){CREDENTIAL_NAME_PATTERN}")},
    ),
]


@router.get(
    "/credentials",
    summary="The GitHub credentials: the deployment's default and those registered",
    tags=["credentials"],
    responses=responses(200, CredentialList, "every credential (references only, never a secret)"),
)
def list_credentials(ctx: Context) -> CredentialList:
    return CredentialList(
        default=CredentialView.of(_default(ctx)),
        items=[CredentialView.of(c) for c in ctx.store.list_credentials()],
        secret_prefix=ctx.secret_prefix,
    )


@router.put(
    "/credentials/<name>",
    summary="Register (or replace) a credential by reference to its secret",
    tags=["credentials"],
    responses=responses(200, CredentialView, "the credential as registered", 400, 413, 422),
)
def put_credential(ctx: Context, name: RegisteredNameParam, body: Annotated[CredentialBody, Body()]) -> CredentialView:
    name = _name(name)
    if name == DEFAULT_CREDENTIAL:
        raise InvalidInput(
            "name", "'default' is the deployment's own credential: change it with its template parameters"
        )
    # An OAuth app's tokens are rewritten at each refresh: the functions may write only the
    # secrets under <prefix>linear-oauth/ and <prefix>jira-oauth/ (template.yaml, CredentialSecretsPolicy).
    folder = {"linear-oauth": LINEAR_OAUTH_SECRETS, "jira-oauth": JIRA_OAUTH_SECRETS}.get(body.kind)
    prefix = f"{ctx.secret_prefix}{folder}" if folder and ctx.secret_prefix else ctx.secret_prefix
    try:
        arn = check_secret_arn(body.secret_arn, prefix)
    except ValueError as e:
        raise RuleBroken("secretArn", str(e)) from None
    credential = Credential(name, CredentialKind(body.kind), arn, body.app_id)
    saved = ctx.store.put_credential(credential, ctx.clock.now())
    logger.info("credential registered", extra={"credential": name, "kind": body.kind})
    return CredentialView.of(saved)


@router.delete(
    "/credentials/<name>",
    summary="Remove a registered credential (not while a project names it)",
    tags=["credentials"],
    responses=responses(204, None, "removed", 400, 404, 409),
)
def delete_credential(ctx: Context, name: RegisteredNameParam) -> Response[str]:
    name = _name(name)
    if name == DEFAULT_CREDENTIAL:
        raise InvalidInput("name", "'default' is the deployment's own credential and cannot be removed")
    users = [r.project_id for r in _projects(ctx) if r.credential == name]
    if users:
        raise CredentialInUse(name, users)
    if not ctx.store.delete_credential(name):
        raise CredentialNotFound(name)
    logger.info("credential removed", extra={"credential": name})
    return Response(204, body="")


@router.post(
    "/credentials/<name>/check",
    summary="Which repositories of the projects that use it the credential can see (reads GitHub)",
    tags=["credentials"],
    responses=responses(200, CredentialCheck, "one line per project using the credential", 400, 404, 501),
)
def check_credential(ctx: Context, name: NameParam) -> CredentialCheck:
    name = _name(name)
    if name != DEFAULT_CREDENTIAL and ctx.store.get_credential(name) is None:
        raise CredentialNotFound(name)
    if ctx.access is None:
        raise PreviewUnavailable("checking a credential needs GitHub, and none is configured here")
    lines = [_access(ctx, r) for r in _projects(ctx) if (r.credential or DEFAULT_CREDENTIAL) == name]
    logger.info("credential checked", extra={"credential": name, "projects": len(lines)})
    return CredentialCheck(credential=name, projects=lines)


def _access(ctx: Context, record: ProjectRecord) -> RepoAccess:
    intake = record.config.tracker_intake
    try:
        if intake is not None and intake.is_linear:
            where = f"Linear team {intake.team}"
        elif intake is not None and intake.is_jira:
            where = f"Jira project {intake.project} on {intake.site}"
        else:
            owner, repo = intake_repo(record.config)
            where = f"{owner}/{repo}"
    except ConfigInvalid as e:
        return RepoAccess(project_id=record.project_id, repo=None, visible=False, reason=e.reason)
    assert ctx.access is not None
    try:
        reason = ctx.access(record)
    except IntakeError as e:
        reason = str(e)
    return RepoAccess(project_id=record.project_id, repo=where, visible=reason is None, reason=reason)


def _projects(ctx: Context) -> list[ProjectRecord]:
    """Every project (the API's Scan, page by page): credentials are few, changes to them rare."""
    found: list[ProjectRecord] = []
    token: str | None = None
    while True:
        page, token = ctx.store.list_projects(100, token)
        found += page
        if token is None:
            return found


def _default(ctx: Context) -> Credential:
    if ctx.default_credential is not None:
        return ctx.default_credential
    # Locally: GITHUB_TOKEN (or no token), read from the environment.
    return Credential(DEFAULT_CREDENTIAL, CredentialKind.TOKEN, "")


def _name(raw: str) -> str:
    return checked("name", unquote(raw), check_credential_name)
