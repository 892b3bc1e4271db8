"""What the credentials routes read and write: references to secrets, never secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from ..domain.credentials import (
    APP_ID_PATTERN,
    SECRET_ARN_PATTERN,
    Credential,
    CredentialKind,
    check_app_id,
)
from ..domain.patterns import schema_pattern


# Built on first use (as api/models.py's): the API's cold start builds no model.
class _In(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, defer_build=True
    )


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, defer_build=True)


class CredentialBody(_In):
    """`PUT /credentials/{name}`: a token secret, or a GitHub App's id and key secret.

    The secret must be under the deployment's prefix (GET /credentials says which): the
    functions may read no other.
    """

    kind: Annotated[
        Literal["token", "app", "linear-api-key", "linear-oauth", "jira-api-token", "jira-oauth"],
        Field(
            description=(
                "token: a GitHub token in the secret; app: a GitHub App's PEM key; linear-api-key: a Linear personal "
                "API key; linear-oauth: a Linear OAuth app's tokens as JSON (accessToken, refreshToken, clientId, "
                "clientSecret); jira-api-token: JSON with email and apiToken (or a scoped token's token and "
                "cloudId); jira-oauth: a Jira OAuth 2.0 (3LO) app's tokens as JSON (accessToken, refreshToken, "
                "clientId, clientSecret, cloudId)"
            )
        ),
    ]
    secret_arn: Annotated[
        str,
        Field(
            description="ARN of the Secrets Manager secret (its SecretString: the token, or the app's PEM key)",
            json_schema_extra={"pattern": schema_pattern(SECRET_ARN_PATTERN), "minLength": 1, "maxLength": 2048},
        ),
    ]
    app_id: (
        Annotated[
            str,
            Field(
                description="for kind app: the app's id (digits) or client id",
                json_schema_extra={"pattern": schema_pattern(APP_ID_PATTERN), "minLength": 1, "maxLength": 42},
            ),
            AfterValidator(check_app_id),
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _app_id_with_apps_only(self) -> CredentialBody:
        if self.kind == "app" and self.app_id is None:
            raise ValueError("appId: a GitHub App credential needs the app's id")
        if self.kind != "app" and self.app_id is not None:
            raise ValueError(f"appId: only a GitHub App credential has one; leave it out for kind {self.kind}")
        return self


class CredentialView(_Out):
    name: str
    kind: CredentialKind
    secret_arn: str | None
    app_id: str | None = None
    # The deployment's own (template parameters); the others are registered through this API.
    default: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def of(cls, credential: Credential) -> CredentialView:
        return cls(
            name=credential.name,
            kind=credential.kind,
            secret_arn=credential.secret_arn or None,
            app_id=credential.app_id,
            default=credential.is_default,
            created_at=credential.created_at,
            updated_at=credential.updated_at,
        )


class CredentialList(_Out):
    # The deployment's own (its template parameters), then those registered through this API.
    default: CredentialView
    items: list[CredentialView]
    # Where a registered credential's secret must live (None: anywhere, as locally).
    secret_prefix: str | None = None


class RepoAccess(_Out):
    project_id: str
    repo: str | None
    visible: bool
    reason: str | None = None


class CredentialCheck(_Out):
    """Which of the projects that use the credential have a repository it can see."""

    credential: str
    projects: list[RepoAccess]
