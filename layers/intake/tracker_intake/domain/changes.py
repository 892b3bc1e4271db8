"""Changes made through the API that the next poll must see: the ETag cache rule lives here.

A cached page answers 304 for as long as GitHub's body for it is unchanged. Two changes make a
page's issues matter again although GitHub's answer is the same, so each drops the project's
ETag cache, and the next poll reads every page once (docs/design.md, "The claim protocol"):

- releasing a claim: the released issue sits on a page that would otherwise answer 304;
- replacing a config: exclude labels, and the eligibility rule beyond GitHub's own filter, are not
  part of the request URL, so a loosened rule would leave newly eligible issues on cached pages.
"""

from __future__ import annotations

from datetime import datetime

from .config import ProjectConfig
from .ports import Ledger, ProjectStore
from .records import Claim, ProjectRecord


def replace_config(
    store: ProjectStore, project_id: str, config: ProjectConfig, expected_version: int | None, now: datetime
) -> ProjectRecord:
    """Replace the project's config (VersionConflict on a stale version), then drop its ETag cache."""
    record = store.replace_config(project_id, config, expected_version, now)
    store.forget_pages(project_id)
    return record


def release_claim(store: ProjectStore, ledger: Ledger, project_id: str, canonical_id: str, now: datetime) -> Claim:
    """Release the claim so the issue can start a session again, then drop the ETag cache."""
    claim = ledger.release(project_id, canonical_id, now)
    store.forget_pages(project_id)
    return claim
