"""Typed domain errors. Adapters translate every SDK or HTTP failure into one of these."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class IntakeError(Exception):
    """Base of every error the domain knows how to handle.

    Picklable whatever its `__init__` takes: an error crosses a process boundary whole (a pool
    of workers, the benchmark's), with its message and its attributes, without calling
    `__init__` again (which would be handed the message in place of its own arguments).
    """

    kind = "intake_error"
    # A failure that passes by itself (a 5xx, a reset connection, a timeout, a throttled AWS
    # call): its backoff starts at a minute rather than five (domain/backoff.py).
    transient = False

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuilt, (type(self), self.args, self.__dict__))


def _rebuilt(cls: type[IntakeError], args: tuple[Any, ...], state: dict[str, Any]) -> IntakeError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


# --- client input ----------------------------------------------------------------------


class InvalidInput(IntakeError):
    """Input from a caller breaks a rule; `field` names what is at fault (camelCase, or a header).

    The API answers every one with 400 and the field; nothing is written.
    """

    kind = "invalid_input"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ConfigInvalid(InvalidInput):
    """A project's config breaks a rule (from the API, or as stored by an older release)."""

    kind = "config_invalid"


# --- the tracker (GitHub) ------------------------------------------------------------


class TrackerError(IntakeError):
    """A GitHub failure. `retry_at` is the server's hint for when to try again, if any."""

    kind = "tracker_error"
    retry_at: datetime | None = None


class PrimaryRateLimited(TrackerError):
    kind = "primary_rate_limit"

    def __init__(self, reset_at: datetime, message: str = "") -> None:
        super().__init__(message or f"rate limited until {reset_at:%H:%M} UTC")
        self.reset_at = reset_at
        self.retry_at = reset_at


class SecondaryRateLimited(TrackerError):
    kind = "secondary_rate_limit"

    def __init__(self, retry_at: datetime, message: str = "") -> None:
        super().__init__(message or f"secondary rate limit: retry after {retry_at:%H:%M:%S} UTC")
        self.retry_at = retry_at


class AuthFailed(TrackerError):
    kind = "auth_failed"


class RepoNotFound(TrackerError):
    kind = "repo_not_found"


class TrackerUnavailable(TrackerError):
    """GitHub failed in a way that passes: a 5xx, a connection that failed or was reset, a timeout.

    `retryable`: worth sending again within the same poll, after a pause of a second or two (a
    502, 503 or 504, a reset, a timeout); a 500 is not retried at once, only after the backoff.
    """

    kind = "tracker_unavailable"
    transient = True

    def __init__(self, message: str, *, retryable: bool = False, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_at = retry_at  # a 503's retry-after: nothing is sent before then


class TrackerMisconfigured(TrackerError):
    """GitHub cannot be reached as configured: its TLS certificate did not verify, or the proxy
    refused. Not transient: trying again changes nothing until the setting is fixed."""

    kind = "tracker_misconfigured"


class BadTrackerResponse(TrackerError):
    kind = "bad_response"


class WriteAccessUnreadable(TrackerError):
    """GitHub refused to say whether an author may write to the repository (a 403 that is no rate
    limit): the credential lacks what reading a collaborator's permission takes. Persistent: the
    poll backs off with the sentence, which says what to grant (or how to switch the check off)."""

    kind = "write_access_unreadable"


class WriteRefused(TrackerError):
    """GitHub refused a write on an issue for good (401, 403 other than a rate limit, 404, 410,
    422): the credential may not write there, or the issue is gone or locked. Not retried."""

    kind = "write_refused"


# --- storage, queue, invoke, launch --------------------------------------------------


class StoreUnavailable(IntakeError):
    """DynamoDB failed (throttled, unreachable, or an unexpected error)."""

    kind = "store_unavailable"
    transient = True


class ItemMalformed(StoreUnavailable):
    """An item in the table is not what its model says (edited by hand, or written by a release
    that stored it otherwise): which item, and which attributes are wrong. Answered as the store
    failing, but not transient: it stays until the item is fixed."""

    kind = "item_malformed"
    transient = False

    def __init__(self, item: str, problem: str) -> None:
        super().__init__(f"DynamoDB item {item} is malformed: {problem}")
        self.item = item
        self.problem = problem


class ProjectNotFound(IntakeError):
    kind = "project_not_found"

    def __init__(self, project_id: str) -> None:
        super().__init__(f"project {project_id!r} does not exist")
        self.project_id = project_id


class PollRefused(IntakeError):
    """A poll was asked for a project that cannot be polled: intake is off, or its stored config
    no longer validates. Nothing is written (the API answers 409)."""

    kind = "poll_refused"

    def __init__(self, project_id: str, reason: str) -> None:
        super().__init__(f"project {project_id!r} cannot be polled: {reason}")
        self.project_id = project_id
        self.reason = reason


class ProjectExists(IntakeError):
    kind = "project_exists"

    def __init__(self, project_id: str) -> None:
        super().__init__(f"project {project_id!r} already exists")
        self.project_id = project_id


class VersionConflict(IntakeError):
    kind = "version_conflict"

    def __init__(self, project_id: str, expected: int, actual: int | None) -> None:
        super().__init__(
            f"project {project_id!r} was changed by someone else: you sent version {expected}, "
            f"the current version is {actual}; reload it and apply your change again"
        )
        self.expected = expected
        self.actual = actual


class ClaimNotFound(IntakeError):
    kind = "claim_not_found"
    # What the API's answer says of the `issueId` it names.
    reason = "this project has no claim on the issue"


class SessionNotFound(ClaimNotFound):
    """A status report on an issue that has no claim: no session was ever started for it (404)."""

    reason = "no session was started for this issue"


class QueueUnavailable(IntakeError):
    kind = "queue_unavailable"
    transient = True


class InvokeFailed(IntakeError):
    kind = "invoke_failed"


class LaunchRetryable(IntakeError):
    """The session backend failed in a way worth retrying (429, 5xx, timeout)."""

    kind = "launch_retryable"


class LaunchRejected(IntakeError):
    """The session backend refused the request for good (4xx other than 429)."""

    kind = "launch_rejected"


class TokenUnavailable(IntakeError):
    """The GitHub token could not be read (the secret is missing, empty or not readable)."""

    kind = "token_unavailable"


class RepoNotVisible(IntakeError):
    """A preview's repository is not found on GitHub, or not visible to the credential; `field`
    is where the repository came from (trackerIntake.repo, or gitOrigin)."""

    kind = "repo_not_visible"

    def __init__(self, field: str) -> None:
        super().__init__(
            f"the repository ({field}) is not found on GitHub, or not visible to the deployment's credential"
        )
        self.field = field


class PreviewUnavailable(IntakeError):
    """This deployment has no GitHub to preview against."""

    kind = "preview_unavailable"


class CredentialBusy(IntakeError):
    """The GitHub credential may not send these requests now: paused, spent, or its minute's
    budget is taken by polls. `retry_at`: when to ask again."""

    kind = "credential_busy"

    def __init__(self, retry_at: datetime, message: str) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class RuleBroken(InvalidInput):
    """A well-formed body breaks a rule the schema cannot state (the API answers 422 at the field)."""

    kind = "rule_broken"


class CredentialUnknown(RuleBroken):
    """A config names a credential that is not registered (the API answers 422 at the field)."""

    kind = "credential_unknown"


class CredentialInUse(IntakeError):
    """A credential cannot be removed while projects name it."""

    kind = "credential_in_use"

    def __init__(self, name: str, projects: list[str]) -> None:
        shown = ", ".join(projects[:5]) + (f" and {len(projects) - 5} more" if len(projects) > 5 else "")
        super().__init__(f"credential {name!r} is used by {shown}: point them at another credential first")
        self.name = name
        self.projects = projects


class CredentialNotFound(IntakeError):
    kind = "credential_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"no credential named {name!r} is registered")
        self.name = name


# --- session status reports ----------------------------------------------------------------


class ReportUnauthenticated(IntakeError):
    """A status report that is not signed with the webhook key, is stale, or was already
    accepted (a replay). `field` is the header at fault. The API answers 401; nothing is written."""

    kind = "report_unauthenticated"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class ReportRefused(IntakeError):
    """A signed report the claim cannot take: it is not launched (released, failed, not yet
    launched) or the report is for another generation of it. The API answers 409."""

    kind = "report_refused"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class ReportsUnavailable(IntakeError):
    """This deployment has no webhook key, so no status report can be verified (501)."""

    kind = "reports_unavailable"


class ReportKeyUnavailable(IntakeError):
    """The webhook key could not be read right now (503); the secret's value is never named."""

    kind = "report_key_unavailable"
