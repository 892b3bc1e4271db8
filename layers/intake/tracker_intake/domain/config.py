"""The project and its `trackerIntake` config: the rules every write and every poll re-check."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from .errors import ConfigInvalid

DEFAULT_EXCLUDE_LABELS: tuple[str, ...] = ("in-progress", "in-review")
DEFAULT_MAX_SESSIONS_PER_POLL = 10
MAX_LABELS = 10
MAX_EXCLUDE_LABELS = 20
MAX_LABEL_LENGTH = 50  # GitHub's own limit on a label name

# All patterns are used with fullmatch: `$` alone would let a trailing newline through.
# GitHub logins: alphanumerics and single hyphens, no leading or trailing hyphen, <= 39 chars.
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
# Repository names: letters, digits, '.', '-', '_' (GitHub replaces anything else).
_REPO_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
_PROJECT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")

# The host is case-insensitive; the path is not.
_GIT_ORIGINS = (
    re.compile(r"git@(?i:github\.com):(?P<repo>[^/\s]+/[^/\s]+?)(?:\.git)?/?"),
    re.compile(r"https://(?i:github\.com)/(?P<repo>[^/\s]+/[^/\s]+?)(?:\.git)?/?"),
    re.compile(r"ssh://git@(?i:github\.com)(?::22)?/(?P<repo>[^/\s]+/[^/\s]+?)(?:\.git)?/?"),
)
# `scheme://user:password@` in a remote URL: never echoed back in an error message.
_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


def check_login(value: str) -> str:
    if not _LOGIN.fullmatch(value):
        raise ValueError(f"{value[:60]!r} is not a GitHub login")
    return value


def check_repo(value: str) -> str:
    """`owner/name` in GitHub's character rules; anything that could bend a URL is refused."""
    owner, slash, name = value.partition("/")
    if not slash or "/" in name:
        raise ValueError(f"{value[:60]!r} must be owner/name with exactly one '/'")
    if not _LOGIN.fullmatch(owner):
        raise ValueError(f"owner {owner[:60]!r} is not a GitHub account name")
    if not _REPO_NAME.fullmatch(name) or ".." in name or name in {".", ".."}:
        raise ValueError(f"name {name[:60]!r} may use only letters, digits, '.', '-' and '_' (no '..')")
    if name.lower().endswith(".git"):
        # A clone URL's suffix, not part of the name: polling `r.git` would only ever get a 404.
        raise ValueError(f"name {name[:60]!r} ends in '.git': give the repository name without it")
    return value


def check_label(value: str) -> str:
    if not value or not value.strip():
        raise ValueError("a label must not be empty")
    if value != value.strip():
        raise ValueError(f"label {value[:60]!r} has leading or trailing whitespace")
    if "," in value:
        raise ValueError(f"label {value[:60]!r} contains a comma (GitHub's label filter is comma-separated)")
    if len(value) > MAX_LABEL_LENGTH:
        raise ValueError(f"a label is at most {MAX_LABEL_LENGTH} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"label {value[:60]!r} contains a control character")
    return value


def check_assignee(value: str) -> str:
    if value in {"*", "none"}:
        return value
    if value.lower() == "none":
        # GitHub's filter keyword is lower-case; `None` would be read as a login here and as
        # "no assignee" by people, so neither reading is safe.
        raise ValueError(f"{value!r} is ambiguous: write 'none' for issues without an assignee")
    try:
        return check_login(value)
    except ValueError:
        raise ValueError(f"{value[:60]!r} is not a GitHub login, '*' (anyone) or 'none'") from None


def _not_a_bool(value: Any) -> Any:
    # pydantic's lax mode reads true as 1; a count given as a boolean is a mistake.
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    return value


def check_project_id(value: str) -> str:
    if not _PROJECT_ID.fullmatch(value):
        raise ValueError(
            f"{value[:70]!r} is not a project id: 1-64 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


def _unique_casefold(values: list[str]) -> list[str]:
    seen = [v.casefold() for v in values]
    if len(set(seen)) != len(seen):
        raise ValueError("labels must be unique (case-insensitive)")
    return values


Label = Annotated[str, AfterValidator(check_label)]
Repo = Annotated[str, AfterValidator(check_repo)]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=False,
    )


class TrackerIntake(_Model):
    """Which issues of which repository become worker sessions."""

    enabled: StrictBool = False
    provider: str = "github"
    repo: Repo | None = None
    labels: Annotated[list[Label], Field(max_length=MAX_LABELS)] = []
    assignee: Annotated[str, AfterValidator(check_assignee)] | None = None
    exclude_labels: Annotated[list[Label], Field(max_length=MAX_EXCLUDE_LABELS)] | None = None
    max_sessions_per_poll: Annotated[int, BeforeValidator(_not_a_bool), Field(ge=1, le=100)] = (
        DEFAULT_MAX_SESSIONS_PER_POLL
    )

    @field_validator("provider")
    @classmethod
    def _github_only(cls, value: str) -> str:
        if value != "github":
            raise ValueError(f"provider {value[:40]!r} is not supported; the only provider is 'github'")
        return value

    @field_validator("labels", "exclude_labels")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _unique_casefold(value)

    @model_validator(mode="after")
    def _no_broad_intake(self) -> TrackerIntake:
        if self.enabled and not self.labels and self.assignee is None:
            raise ValueError(
                "labels: enabled intake needs at least one label or an assignee "
                "(intake of every open issue is not allowed)"
            )
        return self

    @model_validator(mode="after")
    def _no_label_both_required_and_excluded(self) -> TrackerIntake:
        if self.enabled:
            excluded = {label.casefold() for label in self.effective_exclude_labels}
            clash = [label for label in self.labels if label.casefold() in excluded]
            if clash:
                raise ValueError(
                    f"labels: {clash[0][:60]!r} is also an exclude label, so no issue could ever match "
                    "(set excludeLabels to replace the default in-progress, in-review)"
                )
        return self

    @property
    def effective_exclude_labels(self) -> tuple[str, ...]:
        return DEFAULT_EXCLUDE_LABELS if self.exclude_labels is None else tuple(self.exclude_labels)


ProjectId = Annotated[
    str,
    Field(min_length=1, max_length=64, json_schema_extra={"pattern": _PROJECT_ID.pattern}),
    AfterValidator(check_project_id),
]


class ProjectConfig(_Model):
    """The part of a project that people edit (through the API or the CLI)."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    git_origin: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    tracker_intake: TrackerIntake | None = None

    @field_validator("git_origin")
    @classmethod
    def _no_credentials(cls, value: str | None) -> str | None:
        # The config is stored and returned by the API: a token in a remote URL would leak.
        if value is not None:
            userinfo = _USERINFO.search(value)
            if userinfo and userinfo.group(0) != "git@":
                raise ValueError("a gitOrigin must not carry credentials (user:token@); use the plain remote URL")
        return value

    @model_validator(mode="after")
    def _repo_resolvable(self) -> ProjectConfig:
        intake = self.tracker_intake
        if intake is not None and intake.enabled and intake.repo is None:
            if self.git_origin is None:
                raise ValueError(
                    "trackerIntake.repo: enabled intake needs a repo, or a project gitOrigin to derive it from"
                )
            try:
                repo_from_git_origin(self.git_origin)
            except ConfigInvalid as e:
                raise ValueError(f"{e.field}: {e.reason}") from None
        return self

    @property
    def intake_enabled(self) -> bool:
        return self.tracker_intake is not None and self.tracker_intake.enabled


class NewProject(ProjectConfig):
    """A project as created: its id plus its config."""

    id: ProjectId


def repo_from_git_origin(git_origin: str) -> str:
    """`owner/name` from a GitHub remote URL, or ConfigInvalid naming gitOrigin."""
    for pattern in _GIT_ORIGINS:
        match = pattern.fullmatch(git_origin.strip())
        if match:
            try:
                return check_repo(match["repo"])
            except ValueError as e:
                raise ConfigInvalid("gitOrigin", f"cannot derive repo: {e}") from None
    shown = _USERINFO.sub("***@", git_origin)[:100]
    raise ConfigInvalid(
        "gitOrigin",
        f"cannot derive repo from {shown!r}: expected git@github.com:owner/name.git, "
        "https://github.com/owner/name(.git) or ssh://git@github.com/owner/name.git",
    )


def intake_repo(config: ProjectConfig) -> tuple[str, str]:
    """The (owner, name) that intake polls: `trackerIntake.repo`, else derived from gitOrigin."""
    intake = config.tracker_intake
    repo = intake.repo if intake is not None else None
    if repo is None:
        if config.git_origin is None:
            raise ConfigInvalid("trackerIntake.repo", "not set, and the project has no gitOrigin to derive it from")
        repo = repo_from_git_origin(config.git_origin)
    owner, _, name = repo.partition("/")
    return owner, name


class FieldProblem(BaseModel):
    field: str
    reason: str


def field_problems(error: ValidationError, root: str = "") -> list[FieldProblem]:
    """Turn pydantic's errors into (camelCase field path, reason) pairs people can act on."""
    problems = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"] if not str(part).startswith("function-after")]
        message = str(item["msg"]).removeprefix("Value error, ")
        field = ".".join(([root] if root else []) + loc)
        # Model-level rules name their field themselves ("labels: ...", "trackerIntake.repo:
        # ..."), relative to the model that raised them, which sits at `loc`.
        head, sep, rest = message.partition(": ")
        if sep and item["type"] == "value_error" and re.fullmatch(r"[A-Za-z]+(\.[A-Za-z]+)*", head):
            field, message = ".".join([*([root] if root else []), *loc, head]), rest
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        problems.append(FieldProblem(field=field or root or "body", reason=message))
    return problems


def parse_config(data: Any, model: type[_Model] = ProjectConfig) -> Any:
    """Validate `data`; raise ConfigInvalid naming the first field at fault."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = field_problems(e)[0]
        raise ConfigInvalid(first.field, first.reason) from None


__all__ = [
    "DEFAULT_EXCLUDE_LABELS",
    "FieldProblem",
    "NewProject",
    "ProjectConfig",
    "TrackerIntake",
    "field_problems",
    "intake_repo",
    "parse_config",
    "repo_from_git_origin",
]
