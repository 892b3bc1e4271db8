"""Changes made through the API that the next poll must see: the ETag cache rule lives here.

A cached page answers 304 for as long as GitHub's body for it is unchanged. Two changes make a
page's issues matter again although GitHub's answer is the same, so each drops the project's
ETag cache, and the next poll reads every page once (docs/design.md, "The claim protocol"):

- releasing a claim: the released issue sits on a page that would otherwise answer 304;
- replacing a config: exclude labels, and the eligibility rule beyond GitHub's own filter, are not
  part of the request URL, so a loosened rule would leave newly eligible issues on cached pages.

A config write that switches intake on with `backlog: new` also marks the project, so that the
next polls record what matches instead of starting it (domain/backlog.py).

A project in backoff waits out a failure before its next poll. Two changes end the wait, so the
next tick polls it (within its credential's budget): asking for a poll now, and a config write
that changes what the poll asks GitHub or decides on its answer (`touches_poll`): the rule, the
repository, the credential, or intake switched on. Someone who fixed a mistake should see the
fix work within a minute, not after the backoff. A rename, a new session cap or acknowledgement
keeps the backoff: the failure it waits out is still there.
"""

from __future__ import annotations

from datetime import datetime

from .backlog import Snapshot, snapshot_on_write
from .config import ProjectConfig, intake_repo
from .errors import ConfigInvalid, PollRefused, VersionConflict
from .ports import ConfigStore, PageCache, SessionLedger
from .records import Claim, ProjectRecord

# Without a version from the caller, a write that must know the stored config reads it and
# writes on that version; a concurrent write makes it read again, this many times at most.
_UNLOCKED_ATTEMPTS = 3


def create_project(store: ConfigStore, project_id: str, config: ProjectConfig, now: datetime) -> ProjectRecord:
    """Create the project; created with intake on and `backlog: new`, it is marked to record its backlog."""
    started = snapshot_on_write(None, config) is Snapshot.START
    return store.create_project(project_id, config, now, backlog_since=now if started else None)


def replace_config(
    store: ConfigStore, project_id: str, config: ProjectConfig, expected_version: int | None, now: datetime
) -> ProjectRecord:
    """Replace the project's config (VersionConflict on a stale version), then drop its ETag cache.

    Whether the write switches intake on depends on the stored config, so the write is made on
    the version that was read: a concurrent change cannot slip between the two.
    """
    record = _replace(store, project_id, config, expected_version, now)
    store.forget_pages(project_id)
    return record


def _replace(
    store: ConfigStore, project_id: str, config: ProjectConfig, expected_version: int | None, now: datetime
) -> ProjectRecord:
    if not config.intake_enabled:
        # Off: no mark whatever was stored, and no poll to hurry (switching it on again clears
        # the backoff), so there is nothing to read first.
        return store.replace_config(project_id, config, expected_version, now, snapshot=Snapshot.DROP)
    for attempt in range(1, _UNLOCKED_ATTEMPTS + 1):
        current = store.get_project(project_id)
        if expected_version is not None and current.version != expected_version:
            raise VersionConflict(project_id, expected_version, current.version)
        snapshot = snapshot_on_write(current, config)
        clear = touches_poll(current, config)
        try:
            return store.replace_config(
                project_id, config, current.version, now, snapshot=snapshot, clear_backoff=clear
            )
        except VersionConflict:
            if expected_version is not None or attempt == _UNLOCKED_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def touches_poll(current: ProjectRecord, config: ProjectConfig) -> bool:
    """Whether writing `config` over `current` changes what the poll asks GitHub or decides on
    its answer: intake switched on, the repository, the credential, or the rule (labels,
    assignee, exclude labels, authors). A stored config that no longer validates is always
    touched: whatever replaces it is a fix. Such a write clears the project's backoff."""
    return current.config_error is not None or _poll_rule(current.config) != _poll_rule(config)


def _poll_rule(config: ProjectConfig) -> tuple[object, ...] | None:
    """What the poll depends on, in a form where equal means "polls the same" (None: intake off).

    GitHub compares labels and logins ignoring case, and a list's order changes nothing.
    """
    intake = config.tracker_intake
    if intake is None or not intake.enabled:
        return None
    try:
        repo: str | None = "/".join(intake_repo(config)).lower()
    except ConfigInvalid:
        repo = None
    return (
        repo,
        intake.credential,
        frozenset(label.casefold() for label in intake.labels),
        intake.assignee.casefold() if intake.assignee is not None else None,
        frozenset(label.casefold() for label in intake.effective_exclude_labels),
        frozenset(intake.authors),
    )


def poll_now(store: ConfigStore, project_id: str) -> ProjectRecord:
    """Clear the project's backoff so the next tick polls it (the dispatcher polls every due
    project whose backoff has passed, within its credential's budget): "Poll now", or "Retry
    now" while it is in backoff. ProjectNotFound; PollRefused when intake is off or its stored
    config is invalid."""
    record = store.get_project(project_id)
    if record.config_error is not None:
        raise PollRefused(project_id, "its stored config no longer validates; save a valid config first")
    if not record.config.intake_enabled:
        raise PollRefused(project_id, "intake is off; switch it on first")
    if record.poll.healthy():
        return record  # nothing to wait out: it is polled on the next tick as it is
    return store.clear_backoff(project_id)


def release_claim(store: PageCache, ledger: SessionLedger, project_id: str, canonical_id: str, now: datetime) -> Claim:
    """Release the claim so the issue can start a session again, then drop the ETag cache."""
    claim = ledger.release(project_id, canonical_id, now)
    store.forget_pages(project_id)
    return claim
