"""The project and its `trackerIntake` config: the rules every write and every poll re-check."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from .credentials import CREDENTIAL_NAME_PATTERN, check_credential_name
from .errors import ConfigInvalid
from .issue import SITE_PATTERN
from .patterns import LOGIN_PATTERN, REPO_CHARS, WHITESPACE, schema_pattern

DEFAULT_EXCLUDE_LABELS: tuple[str, ...] = ("in-progress", "in-review")


class AuthorAssociation(StrEnum):
    """GitHub's `author_association` of an issue: the author's relation to the repository."""

    OWNER = "OWNER"
    MEMBER = "MEMBER"
    COLLABORATOR = "COLLABORATOR"
    CONTRIBUTOR = "CONTRIBUTOR"
    FIRST_TIME_CONTRIBUTOR = "FIRST_TIME_CONTRIBUTOR"
    FIRST_TIMER = "FIRST_TIMER"
    MANNEQUIN = "MANNEQUIN"
    NONE = "NONE"


class Creator(StrEnum):
    """Who created a Linear issue, as Linear lets us know it (its `creator` user and `botActor`):
    a full member of the workspace (admins included), a guest (a user with `guest: true`, who
    sees only the teams they were invited to), or an app (an integration or an OAuth app acting
    as itself, which Linear gives as a `botActor`, or a user with `app: true`)."""

    MEMBER = "MEMBER"
    GUEST = "GUEST"
    APP = "APP"


# Every value `authors` takes: GitHub's associations and Linear's creator kinds (MEMBER is both).
# A rule takes only its tracker's (`TrackerIntake._rule_for_its_tracker`).
class Author(StrEnum):
    OWNER = "OWNER"
    MEMBER = "MEMBER"
    COLLABORATOR = "COLLABORATOR"
    CONTRIBUTOR = "CONTRIBUTOR"
    FIRST_TIME_CONTRIBUTOR = "FIRST_TIME_CONTRIBUTOR"
    FIRST_TIMER = "FIRST_TIMER"
    MANNEQUIN = "MANNEQUIN"
    NONE = "NONE"
    GUEST = "GUEST"
    APP = "APP"
    CUSTOMER = "CUSTOMER"


class Reporter(StrEnum):
    """Who reported a Jira issue, as Jira's API says it (the reporter's `accountType` and
    `active`): a user of the site (`atlassian`), an app (`app`), or a Jira Service Management
    portal customer (`customer`), who can be anyone the service desk lets in."""

    MEMBER = "MEMBER"
    APP = "APP"
    CUSTOMER = "CUSTOMER"


class Provider(StrEnum):
    """The tracker a project's intake polls."""

    GITHUB = "github"
    LINEAR = "linear"
    JIRA = "jira"


# The trackers intake can poll.
SUPPORTED_PROVIDERS: tuple[Provider, ...] = (Provider.GITHUB, Provider.LINEAR, Provider.JIRA)
# On Linear, by default only full members of the workspace may start a session: not a guest, not an app.
DEFAULT_LINEAR_AUTHORS: tuple[Creator, ...] = (Creator.MEMBER,)
# On Jira, by default only the site's users: not an app, not a service desk's customer.
DEFAULT_JIRA_AUTHORS: tuple[Reporter, ...] = (Reporter.MEMBER,)
# Fields that mean something on one tracker only: a rule for another names them as refused.
GITHUB_ONLY_FIELDS = ("repo", "memberWriteCheck")
LINEAR_ONLY_FIELDS = ("team",)
JIRA_ONLY_FIELDS = ("site", "project")
FIELDS_OF: dict[str, tuple[str, ...]] = {
    Provider.GITHUB: GITHUB_ONLY_FIELDS,
    Provider.LINEAR: LINEAR_ONLY_FIELDS,
    Provider.JIRA: JIRA_ONLY_FIELDS,
}
# The `authors` values each tracker's rule takes, and its default when the rule names none.
AUTHORS_OF: dict[str, tuple[str, ...]] = {
    Provider.GITHUB: tuple(AuthorAssociation),
    Provider.LINEAR: tuple(Creator),
    Provider.JIRA: tuple(Reporter),
}
DEFAULT_AUTHORS_OF: dict[str, tuple[str, ...]] = {
    Provider.LINEAR: DEFAULT_LINEAR_AUTHORS,
    Provider.JIRA: DEFAULT_JIRA_AUTHORS,
}

# An issue's text becomes an agent's prompt, and the agent can push: by default only the owner,
# collaborators and members of the owning organisation may start a session, and a member only
# while GitHub says they may write to the repository (`memberWriteCheck`; docs/design.md, "Who
# may start a session").
DEFAULT_AUTHORS: tuple[AuthorAssociation, ...] = (
    AuthorAssociation.OWNER,
    AuthorAssociation.MEMBER,
    AuthorAssociation.COLLABORATOR,
)


class Backlog(StrEnum):
    """What switching intake on does to the issues that already match.

    `new`: they are recorded as backlog, without a session; only issues that match later start
    one. `all`: every matching open issue starts a session, `maxSessionsPerPoll` a poll.
    """

    NEW = "new"
    ALL = "all"


DEFAULT_BACKLOG = Backlog.NEW

MEMBER_WRITE_CHECK_DESCRIPTION = (
    "An issue whose author is trusted as MEMBER alone (a member of the organisation that owns the "
    "repository) starts a session only if GitHub says they may write to the repository (write, "
    "maintain or admin); otherwise it is skipped as 'member without write access'. One request "
    "per member an hour at most. Risk of false: in an organisation whose base permission is read "
    "(or none), every member can write the prompt of a worker that can push, for instance through "
    "an issue form that adds the rule's label."
)


class Acknowledge(StrEnum):
    """What intake writes on an issue once its session is launched (opt-in: the default writes nothing).

    `reaction`: a 👀 reaction; `comment`: one comment naming the session; `label`: the
    `in-progress` label (which the default exclusions skip). Each needs write access to issues.
    """

    NONE = "none"
    REACTION = "reaction"
    COMMENT = "comment"
    LABEL = "label"


DEFAULT_ACKNOWLEDGE = Acknowledge.NONE
# The label `acknowledge: label` adds: the first of the default exclusions.
ACK_LABEL = "in-progress"
DEFAULT_MAX_SESSIONS_PER_POLL = 10
MAX_SESSIONS_PER_POLL = 100
MAX_LABELS = 10
MAX_EXCLUDE_LABELS = 20
MAX_LABEL_LENGTH = 50  # GitHub's own limit on a label name

# Each rule on a single string is one regular expression: the validator fullmatches it, and the
# OpenAPI document publishes it (anchored, `schema_pattern`), so the two cannot disagree (see
# patterns.py for the dialect). The validators below only explain *why* a value does not match.
# Repository names: letters, digits, '.', '-', '_' (GitHub replaces anything else); never '.',
# never '..' anywhere, and never ending in '.git' (a clone URL's suffix, not part of the name).
REPO_NAME_PATTERN = rf"(?!\.$)(?!{REPO_CHARS}*\.\.)(?!{REPO_CHARS}*\.[Gg][Ii][Tt]$){REPO_CHARS}{{1,100}}"
REPO_PATTERN = f"{LOGIN_PATTERN}/{REPO_NAME_PATTERN}"
# A label: 1-50 characters, no comma (GitHub's filter separates with commas), no control
# character, and no whitespace at either end.
_LABEL_EDGE = rf"[^{WHITESPACE},\x00-\x1f\x7f]"
LABEL_PATTERN = rf"{_LABEL_EDGE}(?:[^,\x00-\x1f\x7f]{{0,48}}{_LABEL_EDGE})?"
# An email address, as Linear names an assignee: one '@', no whitespace, no control character.
EMAIL_PATTERN = rf"[^@{WHITESPACE}\x00-\x1f\x7f]{{1,64}}@[^@{WHITESPACE}\x00-\x1f\x7f]{{1,189}}"
# '*' (anyone), 'none' (nobody), a GitHub login or (on Linear) an email, never another spelling of 'none'.
# An Atlassian account id: 24 letters and digits, or `<number>:<uuid>`.
ACCOUNT_ID_PATTERN = r"[A-Za-z0-9]{24}|[0-9]{1,10}:[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
ASSIGNEE_PATTERN = rf"\*|none|(?![Nn][Oo][Nn][Ee]$){LOGIN_PATTERN}|{EMAIL_PATTERN}|{ACCOUNT_ID_PATTERN}"
# A Linear team's key (`ENG`): letters and digits, matched ignoring case as Linear's filter does.
TEAM_PATTERN = r"[A-Za-z0-9]{1,16}"
# A Jira project's key: an upper-case letter, then upper-case letters, digits or '_' (Jira's
# default rule), 2-10 characters.
PROJECT_KEY_PATTERN = r"[A-Z][A-Z0-9_]{1,9}"
PROJECT_ID_PATTERN = r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?"
# `scheme://user:password@` in a remote URL ('git@' is the SSH user, not a credential).
_CREDENTIALS = rf"://(?!git@)[^/@{WHITESPACE}]*@"
GIT_ORIGIN_PATTERN = rf"(?![\s\S]*{_CREDENTIALS})[\s\S]{{1,500}}"
# A new project's gitOrigin: a GitHub remote intake can derive `owner/name` from, exactly as
# `repo_from_git_origin` does (surrounding whitespace allowed; the host in any case; the name
# ends where only `.git`, `/` and whitespace are left, as its lazy match does, and then holds
# GitHub's rules). Written for both dialects, so the name's rules look no further than its end.
_WS = rf"[{WHITESPACE}]*"
_GITHUB = r"[Gg][Ii][Tt][Hh][Uu][Bb]\.[Cc][Oo][Mm]"
_NAME_END = rf"(?=(?:\.git)?/?{_WS}$(?![\s\S]))"
_NAME_CHAR = rf"(?:(?!{_NAME_END}){REPO_CHARS})"
_ORIGIN_NAME = (
    rf"(?!\.{_NAME_END})(?!{_NAME_CHAR}*(?!{_NAME_END})\.(?!{_NAME_END})\.)"
    rf"(?!{_NAME_CHAR}*(?!{_NAME_END})\.[Gg][Ii][Tt]{_NAME_END})"
    rf"{_NAME_CHAR}{{1,100}}{_NAME_END}"
)
GITHUB_ORIGIN_PATTERN = (
    rf"{_WS}(?:git@{_GITHUB}:|https://{_GITHUB}/|ssh://git@{_GITHUB}(?::22)?/)"
    rf"{LOGIN_PATTERN}/{_ORIGIN_NAME}(?:\.git)?/?{_WS}"
)

_LOGIN = re.compile(LOGIN_PATTERN)
_REPO = re.compile(REPO_PATTERN)
_LABEL = re.compile(LABEL_PATTERN)
_ASSIGNEE = re.compile(ASSIGNEE_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)
_TEAM = re.compile(TEAM_PATTERN)
_ACCOUNT_ID = re.compile(ACCOUNT_ID_PATTERN)
_PROJECT_KEY = re.compile(PROJECT_KEY_PATTERN)
_SITE = re.compile(SITE_PATTERN)
_PROJECT_ID = re.compile(PROJECT_ID_PATTERN)
_HAS_CREDENTIALS = re.compile(_CREDENTIALS)


# The host is case-insensitive, in ASCII only (Python's own case-folding would also take the
# dotless i, U+0131, and the dotted capital, U+0130, for i: another host); the path is not.
_GIT_ORIGINS = (
    re.compile(r"git@(?ai:github\.com):(?P<repo>[^/\s]+/[^/\s]+?)(?:\.git)?/?"),
    re.compile(r"https://(?ai:github\.com)/(?P<repo>[^/\s]+/[^/\s]+?)(?:\.git)?/?"),
    re.compile(r"ssh://git@(?ai:github\.com)(?::22)?/(?P<repo>[^/\s]+/[^/\s]+?)(?:\.git)?/?"),
)
# The same three forms as people write them: the refusal quotes them, and the reference page lists them.
GIT_ORIGIN_FORMS = (
    "git@github.com:owner/name.git",
    "https://github.com/owner/name(.git)",
    "ssh://git@github.com/owner/name.git",
)
# `scheme://user:password@` in a remote URL: never echoed back in an error message.
_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


def check_login(value: str) -> str:
    if not _LOGIN.fullmatch(value):
        raise ValueError(f"{value[:60]!r} is not a GitHub login")
    return value


def check_repo(value: str) -> str:
    """`owner/name` in GitHub's character rules; anything that could bend a URL is refused."""
    if _REPO.fullmatch(value):
        return value
    owner, slash, name = value.partition("/")
    if not slash or "/" in name:
        raise ValueError(f"{value[:60]!r} must be owner/name with exactly one '/'")
    if not _LOGIN.fullmatch(owner):
        raise ValueError(f"owner {owner[:60]!r} is not a GitHub account name")
    if name.lower().endswith(".git"):
        # A clone URL's suffix, not part of the name: polling `r.git` would only ever get a 404.
        raise ValueError(f"name {name[:60]!r} ends in '.git': give the repository name without it")
    raise ValueError(f"name {name[:60]!r} may use only letters, digits, '.', '-' and '_' (no '..')")


def check_label(value: str) -> str:
    if _LABEL.fullmatch(value):
        return value
    if not value.strip():
        raise ValueError("a label must not be empty")
    if "," in value:
        raise ValueError(f"label {value[:60]!r} contains a comma (GitHub's label filter is comma-separated)")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"label {value[:60]!r} contains a control character")
    if len(value) > MAX_LABEL_LENGTH:
        raise ValueError(f"a label is at most {MAX_LABEL_LENGTH} characters")
    raise ValueError(f"label {value[:60]!r} has leading or trailing whitespace")


def check_assignee(value: str) -> str:
    if _ASSIGNEE.fullmatch(value):
        return value
    if value.lower() == "none":
        # GitHub's filter keyword is lower-case; `None` would be read as a login here and as
        # "no assignee" by people, so neither reading is safe.
        raise ValueError(f"{value!r} is ambiguous: write 'none' for issues without an assignee")
    raise ValueError(f"{value[:60]!r} is not a GitHub login, an email (Linear), '*' (anyone) or 'none'")


def _linear_rule(team: str | None, person: str | None) -> None:
    if team is None:
        raise ValueError("team: a Linear rule needs the team's key (such as ENG)")
    if person is not None and not is_email(person):
        raise ValueError(f"assignee: on Linear, name the assignee by email, not {person[:60]!r}")


def _jira_rule(site: str | None, project: str | None, person: str | None) -> None:
    if site is None:
        raise ValueError("site: a Jira rule needs the site's host name (such as acme.atlassian.net)")
    if project is None:
        raise ValueError("project: a Jira rule needs the project's key (such as PROJ)")
    if person is not None and not (is_email(person) or _ACCOUNT_ID.fullmatch(person)):
        raise ValueError(f"assignee: on Jira, name the assignee by account id or email, not {person[:60]!r}")


def is_email(value: str) -> bool:
    return _EMAIL.fullmatch(value) is not None


def check_site(value: str) -> str:
    if not _SITE.fullmatch(value):
        raise ValueError(f"{value[:80]!r} is not a Jira site's host name in lower case, such as acme.atlassian.net")
    return value


def check_project_key(value: str) -> str:
    if not _PROJECT_KEY.fullmatch(value):
        raise ValueError(
            f"{value[:20]!r} is not a Jira project key: an upper-case letter, then 1-9 upper-case letters, "
            "digits or '_', such as PROJ"
        )
    return value


def check_team(value: str) -> str:
    if not _TEAM.fullmatch(value):
        raise ValueError(f"{value[:60]!r} is not a Linear team key: 1-16 letters and digits, such as ENG")
    return value


def _a_number(value: Any) -> Any:
    # pydantic's lax mode reads true as 1 and "5" as 5: JSON Schema's integer is neither. It is
    # 5 or 5.0, and pydantic takes both (5.5 is refused).
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    if not isinstance(value, int | float):
        raise ValueError("must be a whole number")
    return value


# A JSON integer: 3 or 3.0, never true or "3". After the bounds (`Field(ge=, le=)`) in the
# annotation, or pydantic cannot publish them as JSON Schema's minimum and maximum.
WHOLE_NUMBER = BeforeValidator(_a_number)


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


def _check_authors(values: list[StrEnum]) -> list[StrEnum]:
    if not values:
        raise ValueError("at least one association must be allowed (to stop intake, disable it)")
    if len(set(values)) != len(values):
        raise ValueError("associations must be unique")
    return values


def _published(pattern: str, min_length: int, max_length: int) -> Any:
    """The rule as the OpenAPI document states it; the validator next to it enforces it, with
    a message that says why (pydantic's own constraints would only quote the pattern)."""
    return Field(
        json_schema_extra={"pattern": schema_pattern(pattern), "minLength": min_length, "maxLength": max_length}
    )


def _listed(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{value}`" for value in values)


# Each field's rule, in the words people read: the OpenAPI document publishes them, and the
# reference page (docs: Project config) is generated from them.
ENABLED_DESCRIPTION = (
    "Intake on or off. Enabled intake needs at least one label or an assignee (intake of every open issue is "
    "not allowed), and a `repo` or a project `gitOrigin` to derive it from."
)
PROVIDER_DESCRIPTION = (
    "The tracker: `github` (the default), `linear` or `jira`. A rule for one tracker refuses the others' fields "
    f"by name: {_listed(GITHUB_ONLY_FIELDS)} are GitHub's, {_listed(LINEAR_ONLY_FIELDS)} Linear's, "
    f"{_listed(JIRA_ONLY_FIELDS)} Jira's."
)
SITE_DESCRIPTION = (
    "Jira only, and required there: the site's host name (`acme.atlassian.net`), which names the site in "
    "canonical ids (`jira:<site>/<id>`) and links."
)
PROJECT_DESCRIPTION = (
    "Jira only, and required there: the key of the project whose issues to take (`PROJ`). An issue moved to "
    "another project leaves the rule; its session, if it had one, stays its only one."
)
TEAM_DESCRIPTION = (
    "Linear only, and required there: the key of the team whose issues to take (`ENG`), matched ignoring case. "
    "An issue moved to another team leaves the rule; its session, if it had one, stays its only one."
)
REPO_DESCRIPTION = (
    "The repository to poll, `owner/name`; absent: derived from the project's `gitOrigin`. GitHub's character "
    "rules: no `..`, `?`, `#`, whitespace, extra `/`, or `.git` suffix."
)
LABELS_DESCRIPTION = (
    f"An issue needs all of them (case-insensitive). Each 1-{MAX_LABEL_LENGTH} characters, no comma; at most "
    f"{MAX_LABELS}, unique ignoring case."
)
ASSIGNEE_DESCRIPTION = (
    "A GitHub login or, on Linear, the assignee's email (case-insensitive), `*` (any assignee) or `none` "
    "(unassigned); absent: no assignee rule."
)
EXCLUDE_LABELS_DESCRIPTION = (
    f"An issue with any of them is skipped. Absent (null): {_listed(DEFAULT_EXCLUDE_LABELS)}; `[]` excludes "
    f"nothing. At most {MAX_EXCLUDE_LABELS}, unique ignoring case; with intake enabled, none may also be a label."
)
MAX_SESSIONS_PER_POLL_DESCRIPTION = (
    f"Sessions one poll starts at most, 1-{MAX_SESSIONS_PER_POLL}; the other matching issues wait for the next "
    "poll, oldest first."
)
CREDENTIAL_DESCRIPTION = (
    "The registered credential to poll with, by name (`GET /credentials` lists them); an unknown name is "
    "refused at the field. Absent: the deployment's default credential."
)
AUTHORS_DESCRIPTION = (
    f"Whose issues may start a session. On GitHub, `author_association` values of {_listed(list(AuthorAssociation))} "
    f"(default {_listed(list(DEFAULT_AUTHORS))}); on Linear, the creator's kind, of {_listed(list(Creator))} "
    f"(default {_listed(list(DEFAULT_LINEAR_AUTHORS))}). Unique, at least one. Anyone else's matching issue is "
    "skipped as 'untrusted author'."
)
BACKLOG_DESCRIPTION = (
    "What switching intake on does to the issues that match then: `new` records them as `backlog` claims without "
    "a session (only issues that match later start one); `all` starts each, `maxSessionsPerPoll` a poll. A config "
    "written without the field reads as `new`."
)
ACKNOWLEDGE_DESCRIPTION = (
    "What intake writes on an issue once its session is launched: `none` (nothing: read-only), `reaction` (a "
    f"\N{EYES} reaction), `comment` (one comment naming the session) or `label` (the `{ACK_LABEL}` label, which "
    "the default exclusions skip). All but `none` need write access to issues."
)


Label = Annotated[str, _published(LABEL_PATTERN, 1, MAX_LABEL_LENGTH), AfterValidator(check_label)]
Repo = Annotated[str, _published(REPO_PATTERN, 3, 140), AfterValidator(check_repo)]
Assignee = Annotated[str, _published(ASSIGNEE_PATTERN, 1, 254), AfterValidator(check_assignee)]
Team = Annotated[str, _published(TEAM_PATTERN, 1, 16), AfterValidator(check_team)]
Site = Annotated[str, _published(SITE_PATTERN, 4, 253), AfterValidator(check_site)]
ProjectKey = Annotated[str, _published(PROJECT_KEY_PATTERN, 2, 10), AfterValidator(check_project_key)]
CredentialName = Annotated[str, _published(CREDENTIAL_NAME_PATTERN, 1, 64), AfterValidator(check_credential_name)]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=False,
        # The validator is built on first use, not when the class is defined: a cold start pays
        # for the models its first request uses, not for every model the function might use.
        defer_build=True,
    )


class TrackerIntake(_Model):
    """Which issues of which repository become worker sessions.

    Rules across fields, which a JSON Schema cannot state (422 naming the field when broken):
    enabled intake needs at least one label or an assignee, and a `repo` or a project
    `gitOrigin` to derive it from; labels are unique ignoring case, and so are exclude labels;
    with intake enabled, no label may also be an exclude label (by default `in-progress` and
    `in-review` are excluded). Each field's own rule is its description.
    """

    enabled: Annotated[StrictBool, Field(description=ENABLED_DESCRIPTION)] = False
    provider: Annotated[
        str, Field(description=PROVIDER_DESCRIPTION, json_schema_extra={"enum": [str(p) for p in Provider]})
    ] = "github"
    repo: Annotated[Repo | None, Field(description=REPO_DESCRIPTION)] = None
    team: Annotated[Team | None, Field(description=TEAM_DESCRIPTION)] = None
    site: Annotated[Site | None, Field(description=SITE_DESCRIPTION)] = None
    project: Annotated[ProjectKey | None, Field(description=PROJECT_DESCRIPTION)] = None
    labels: Annotated[
        list[Label],
        Field(description=LABELS_DESCRIPTION, max_length=MAX_LABELS, json_schema_extra={"uniqueItems": True}),
    ] = []
    assignee: Annotated[Assignee | None, Field(description=ASSIGNEE_DESCRIPTION)] = None
    exclude_labels: Annotated[
        Annotated[list[Label], Field(max_length=MAX_EXCLUDE_LABELS, json_schema_extra={"uniqueItems": True})] | None,
        Field(description=EXCLUDE_LABELS_DESCRIPTION),
    ] = None
    max_sessions_per_poll: Annotated[
        int, Field(description=MAX_SESSIONS_PER_POLL_DESCRIPTION, ge=1, le=MAX_SESSIONS_PER_POLL), WHOLE_NUMBER
    ] = DEFAULT_MAX_SESSIONS_PER_POLL
    # A registered credential's name (GET /credentials); None: the deployment's default.
    credential: Annotated[CredentialName | None, Field(description=CREDENTIAL_DESCRIPTION)] = None
    authors: Annotated[
        list[Author],
        Field(
            description=AUTHORS_DESCRIPTION,
            json_schema_extra={"minItems": 1, "maxItems": len(Author), "uniqueItems": True},
        ),
        AfterValidator(_check_authors),
    ] = [Author(a) for a in DEFAULT_AUTHORS]
    member_write_check: Annotated[StrictBool, Field(description=MEMBER_WRITE_CHECK_DESCRIPTION)] = True
    backlog: Annotated[Backlog, Field(description=BACKLOG_DESCRIPTION)] = DEFAULT_BACKLOG
    acknowledge: Annotated[Acknowledge, Field(description=ACKNOWLEDGE_DESCRIPTION)] = DEFAULT_ACKNOWLEDGE

    @field_validator("provider")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value not in SUPPORTED_PROVIDERS:
            raise ValueError(
                f"provider {value[:40]!r} is not supported; the providers are 'github', 'linear' and 'jira'"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _provider_fields(cls, data: Any) -> Any:
        """Refuse the other tracker's fields by name; fill in Linear's default authors.

        A stored Linear rule is written without the GitHub-only fields (`_serialize`), so it reads back.
        """
        if not isinstance(data, dict):
            return data
        provider = data.get("provider", Provider.GITHUB)
        if provider not in SUPPORTED_PROVIDERS:
            return data  # the provider's own rule says why
        foreign = [name for other, names in FIELDS_OF.items() if other != provider for name in names]
        named = {"memberWriteCheck": "member_write_check"}
        for name in foreign:
            if data.get(name) is not None or data.get(named.get(name, name)) is not None:
                raise ValueError(f"{name}: not a field of a {provider!s:.20} rule (it is another tracker's)")
        if provider in DEFAULT_AUTHORS_OF and "authors" not in data:
            return {**data, "authors": [str(c) for c in DEFAULT_AUTHORS_OF[provider]]}
        return data

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        written: dict[str, Any] = handler(self)
        if self.provider != Provider.GITHUB:
            for key in ("memberWriteCheck", "member_write_check"):
                written.pop(key, None)
        return written

    @model_validator(mode="after")
    def _rule_for_its_tracker(self) -> TrackerIntake:
        person = self.assignee if self.assignee not in (None, "*", "none") else None
        if self.provider == Provider.LINEAR:
            _linear_rule(self.team, person)
        elif self.provider == Provider.JIRA:
            _jira_rule(self.site, self.project, person)
            if self.acknowledge is Acknowledge.REACTION:
                raise ValueError("acknowledge: Jira has no reactions; acknowledge with a comment or a label")
        elif person is not None and not _LOGIN.fullmatch(person):
            raise ValueError(f"assignee: {person[:60]!r} is not a GitHub login, which GitHub names an assignee by")
        kinds = AUTHORS_OF[self.provider]
        wrong = [str(a) for a in self.authors if str(a) not in kinds]
        if wrong:
            raise ValueError(f"authors: {wrong[0]!r} is not one of {_listed(list(kinds))} on {self.provider}")
        return self

    @property
    def is_linear(self) -> bool:
        return self.provider == Provider.LINEAR

    @property
    def is_jira(self) -> bool:
        return self.provider == Provider.JIRA

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
    Field(min_length=1, max_length=64, json_schema_extra={"pattern": schema_pattern(PROJECT_ID_PATTERN)}),
    AfterValidator(check_project_id),
]

PROJECT_ID_DESCRIPTION = (
    "The project's id, for good (the paths name it): 1-64 lower-case letters, digits and '-', starting and "
    "ending with a letter or digit."
)
NAME_DESCRIPTION = "A name for people, 1-200 characters; intake does not read it."
GIT_ORIGIN_DESCRIPTION = (
    "The project's git remote; intake derives `trackerIntake.repo` from it when that is absent, from a GitHub "
    f"remote only ({', '.join(GIT_ORIGIN_FORMS)}). Never with credentials (`user:token@`): the API returns it."
)
NEW_GIT_ORIGIN_DESCRIPTION = (
    f"The project's git remote: a GitHub remote intake can poll, {', '.join(GIT_ORIGIN_FORMS[:-1])} or "
    f"{GIT_ORIGIN_FORMS[-1]}, naming a repository GitHub could have (422 at the field otherwise). Never with "
    "credentials (`user:token@`)."
)
TRACKER_INTAKE_DESCRIPTION = "Which issues of which repository become sessions; absent or null: intake off."


class ProjectConfig(_Model):
    """The part of a project that people edit (through the API or the CLI)."""

    name: Annotated[
        Annotated[str, Field(min_length=1, max_length=200)] | None,
        Field(description=NAME_DESCRIPTION),
    ] = None
    git_origin: Annotated[
        Annotated[
            str, Field(min_length=1, max_length=500, json_schema_extra={"pattern": schema_pattern(GIT_ORIGIN_PATTERN)})
        ]
        | None,
        Field(description=GIT_ORIGIN_DESCRIPTION),
    ] = None
    tracker_intake: Annotated[TrackerIntake | None, Field(description=TRACKER_INTAKE_DESCRIPTION)] = None

    @field_validator("git_origin")
    @classmethod
    def _no_credentials(cls, value: str | None) -> str | None:
        # The config is stored and returned by the API: a token in a remote URL would leak.
        if value is not None and _HAS_CREDENTIALS.search(value):
            raise ValueError("a gitOrigin must not carry credentials (user:token@); use the plain remote URL")
        return value

    @model_validator(mode="after")
    def _repo_resolvable(self) -> ProjectConfig:
        intake = self.tracker_intake
        github = intake is not None and not (intake.is_linear or intake.is_jira)
        if intake is not None and intake.enabled and intake.repo is None and github:
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
    """A project as created: its id plus its config. Its gitOrigin, when given, must be a GitHub
    remote intake can poll, refused now rather than when intake is switched on (a stored
    project's config may still hold another: it is valid to store, and refused only by intake)."""

    id: Annotated[ProjectId, Field(description=PROJECT_ID_DESCRIPTION)]
    git_origin: Annotated[
        Annotated[
            str,
            Field(min_length=1, max_length=500, json_schema_extra={"pattern": schema_pattern(GITHUB_ORIGIN_PATTERN)}),
        ]
        | None,
        Field(description=NEW_GIT_ORIGIN_DESCRIPTION),
    ] = None

    @field_validator("git_origin")
    @classmethod
    def _a_github_remote(cls, value: str | None) -> str | None:
        if value is None or _HAS_CREDENTIALS.search(value):
            return value  # the credentials rule (ProjectConfig's) says why
        try:
            repo_from_git_origin(value)
        except ConfigInvalid as e:
            raise ValueError(e.reason) from None
        return value


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
        f"cannot derive repo from {shown!r}: expected {', '.join(GIT_ORIGIN_FORMS[:-1])} or {GIT_ORIGIN_FORMS[-1]}",
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
    model_config = ConfigDict(defer_build=True)  # built on first use, as _Model

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
    "DEFAULT_AUTHORS",
    "DEFAULT_BACKLOG",
    "DEFAULT_EXCLUDE_LABELS",
    "AuthorAssociation",
    "Backlog",
    "FieldProblem",
    "NewProject",
    "ProjectConfig",
    "TrackerIntake",
    "field_problems",
    "intake_repo",
    "parse_config",
    "repo_from_git_origin",
]
