"""The session request that travels on the launch queue (SQS body, JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from .config import Acknowledge
from .issue import Issue

SCHEMA: Literal["tracker-intake.session-request/v1"] = "tracker-intake.session-request/v1"
BODY_CAP_BYTES = 16 * 1024  # keeps every message far below SQS's 256 KiB


@dataclass(frozen=True)
class LaunchedSession:
    """What the session backend said of the session it started: its reference (kept on the claim,
    shown everywhere), and the page where people can watch it, when the backend gives one."""

    ref: str
    url: str | None = None


def cap_utf8(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut to at most `limit` UTF-8 bytes on a character boundary; True if it was cut."""
    raw = text.encode()
    if len(raw) <= limit:
        return text, False
    return raw[:limit].decode(errors="ignore"), True


class _Wire(BaseModel):
    # Built on first use: the API and the dispatcher import this module and never send a request.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True, defer_build=True
    )


class SessionIssue(_Wire):
    number: int
    title: str
    url: str
    labels: list[str] = []
    assignees: list[str] = []
    body: str = ""
    created_at: str | None = None
    # Who wrote the issue and their `author_association`: the prompt names them as the author
    # of its untrusted text. Absent in requests queued before they were sent.
    author: str | None = None
    author_association: str | None = None
    # The tracker, and what a person reads there (`ENG-123` on Linear). Absent: GitHub, whose
    # requests were queued before they were sent.
    provider: str = "github"
    identifier: str | None = None


class SessionRequest(_Wire):
    schema_: Literal["tracker-intake.session-request/v1"] = Field(default=SCHEMA, alias="schema")
    project_id: str
    issue_id: str
    issue: SessionIssue
    enqueued_at: datetime
    generation: int = 1
    # What to write on the issue once launched (`trackerIntake.acknowledge` when it was queued;
    # the launcher reads the project's current choice before writing). Absent: nothing.
    acknowledge: Acknowledge = Acknowledge.NONE

    @classmethod
    def for_issue(
        cls,
        project_id: str,
        issue: Issue,
        now: datetime,
        generation: int = 1,
        acknowledge: Acknowledge = Acknowledge.NONE,
    ) -> SessionRequest:
        body, _ = cap_utf8(issue.body or "", BODY_CAP_BYTES)
        return cls(
            project_id=project_id,
            issue_id=issue.canonical_id,
            issue=SessionIssue(
                number=issue.number,
                title=issue.title,
                url=issue.url,
                labels=list(issue.labels),
                assignees=list(issue.assignees),
                body=body,
                created_at=issue.created_at.isoformat() if issue.created_at else None,
                author=issue.author,
                author_association=issue.author_association,
                provider=issue.provider,
                identifier=issue.identifier,
            ),
            enqueued_at=now,
            generation=generation,
            acknowledge=acknowledge,
        )

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)
