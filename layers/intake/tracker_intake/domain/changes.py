"""Changes made through the API that the next poll must see: the ETag cache rule lives here.

A cached page answers 304 for as long as GitHub's body for it is unchanged. Two changes make a
page's issues matter again although GitHub's answer is the same, so each drops the project's
ETag cache, and the next poll reads every page once (docs/design.md, "The claim protocol"):

- releasing a claim: the released issue sits on a page that would otherwise answer 304;
- replacing a config: exclude labels, and the eligibility rule beyond GitHub's own filter, are not
  part of the request URL, so a loosened rule would leave newly eligible issues on cached pages.

A config write that switches intake on with `backlog: new` also marks the project, so that the
next polls record what matches instead of starting it (domain/backlog.py).
"""

from __future__ import annotations

from datetime import datetime

from .backlog import Snapshot, snapshot_on_write
from .config import ProjectConfig
from .errors import VersionConflict
from .ports import Ledger, ProjectStore
from .records import Claim, ProjectRecord

# Without a version from the caller, a write that must know the stored config reads it and
# writes on that version; a concurrent write makes it read again, this many times at most.
_UNLOCKED_ATTEMPTS = 3


def create_project(store: ProjectStore, project_id: str, config: ProjectConfig, now: datetime) -> ProjectRecord:
    """Create the project; created with intake on and `backlog: new`, it is marked to record its backlog."""
    started = snapshot_on_write(None, config) is Snapshot.START
    return store.create_project(project_id, config, now, backlog_since=now if started else None)


def replace_config(
    store: ProjectStore, project_id: str, config: ProjectConfig, expected_version: int | None, now: datetime
) -> ProjectRecord:
    """Replace the project's config (VersionConflict on a stale version), then drop its ETag cache.

    Whether the write switches intake on depends on the stored config, so the write is made on
    the version that was read: a concurrent change cannot slip between the two.
    """
    record = _replace(store, project_id, config, expected_version, now)
    store.forget_pages(project_id)
    return record


def _replace(
    store: ProjectStore, project_id: str, config: ProjectConfig, expected_version: int | None, now: datetime
) -> ProjectRecord:
    if snapshot_on_write(None, config) is Snapshot.DROP:
        # Off, or `all`: no mark whatever was stored, so there is nothing to read first.
        return store.replace_config(project_id, config, expected_version, now, snapshot=Snapshot.DROP)
    for attempt in range(1, _UNLOCKED_ATTEMPTS + 1):
        current = store.get_project(project_id)
        if expected_version is not None and current.version != expected_version:
            raise VersionConflict(project_id, expected_version, current.version)
        snapshot = snapshot_on_write(current, config)
        try:
            return store.replace_config(project_id, config, current.version, now, snapshot=snapshot)
        except VersionConflict:
            if expected_version is not None or attempt == _UNLOCKED_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def release_claim(store: ProjectStore, ledger: Ledger, project_id: str, canonical_id: str, now: datetime) -> Claim:
    """Release the claim so the issue can start a session again, then drop the ETag cache."""
    claim = ledger.release(project_id, canonical_id, now)
    store.forget_pages(project_id)
    return claim
