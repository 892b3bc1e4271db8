"""A member's issue starts a session only if GitHub says they may write (issue 24, part 2), end to end:
the real poller handler on moto, GitHub's stand-in on loopback (`requests` is never patched).

GitHub's requests are counted on the stand-in, exactly: a page is one, a permission question one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness import TOKEN, Pipeline

from intake_dev.fake_github import FakeGitHub, FakeRepo
from tracker_intake.adapters.dynamodb import permission_key

ISSUE = "github:acme/app#1"


@pytest.fixture
def pipe(aws: dict[str, Any], github: FakeGitHub) -> Iterator[Pipeline]:
    yield Pipeline(aws, github)


@pytest.fixture
def repo(github: FakeGitHub) -> FakeRepo:
    return github.add_repo("acme", "app")


def _project(pipe: Pipeline, **intake: Any) -> None:
    """A running project on label `agent`; its first poll takes what matches (no backlog mark)."""
    pipe.create_project("app", repo="acme/app", labels=["agent"], **intake)


def _statuses(github: FakeGitHub) -> list[tuple[str, int]]:
    """What the poll asked GitHub, in order: ("page", status) or ("permission", status)."""
    return [
        ("permission" if r.path.endswith("/permission") else "page", r.status) for r in github.requests_for("acme/app")
    ]


def test_a_read_only_members_issue_is_skipped_with_its_reason_and_nothing_is_claimed(
    pipe: Pipeline, github: FakeGitHub, repo: FakeRepo
) -> None:
    # GIVEN an organisation member who may only read, whose issue carries the trigger label
    repo.set_permission("reader", "read")
    repo.add_issue("please", labels=["agent"], user="reader", author_association="MEMBER")
    _project(pipe)
    # WHEN the project is polled
    summary = pipe.poll("app")
    # THEN no session starts and nothing is claimed; GitHub was asked the page and the permission
    assert pipe.drain() == [] and pipe.claim(ISSUE) is None
    assert summary["membersWithoutWrite"] == 1 and summary["newSessions"] == []
    assert _statuses(github) == [("page", 200), ("permission", 200)]
    # AND the page is done: the next poll is one 304, and asks nobody's permission again
    github.clear_requests()
    pipe.clock.advance(60)
    pipe.poll("app")
    assert _statuses(github) == [("page", 304)]


def test_a_member_with_write_access_starts_a_session(pipe: Pipeline, github: FakeGitHub, repo: FakeRepo) -> None:
    # GIVEN a member who maintains the repository (GitHub's permission: write)
    repo.set_permission("maintainer", "maintain")
    repo.add_issue("please", labels=["agent"], user="maintainer", author_association="MEMBER")
    _project(pipe)
    # WHEN the project is polled
    summary = pipe.poll("app")
    # THEN their issue starts a session, for one permission request beside the page
    (request,) = pipe.drain()
    assert request.issue_id == ISSUE and summary["writeChecks"] == 1
    assert _statuses(github) == [("page", 200), ("permission", 200)]


def test_owners_and_collaborators_issues_cost_no_permission_request(
    pipe: Pipeline, github: FakeGitHub, repo: FakeRepo
) -> None:
    # GIVEN matching issues by the owner and by a collaborator
    repo.add_issue("by the owner", labels=["agent"], user="acme", author_association="OWNER")
    repo.add_issue("by a collaborator", labels=["agent"], user="bo", author_association="COLLABORATOR")
    _project(pipe)
    # WHEN the project is polled
    pipe.poll("app")
    # THEN both start, and the one request was the page
    assert len(pipe.drain()) == 2
    assert _statuses(github) == [("page", 200)] and github.permission_requests() == []


def test_a_second_poll_uses_the_kept_answer_and_asks_nothing(
    pipe: Pipeline, github: FakeGitHub, repo: FakeRepo
) -> None:
    # GIVEN a member who may write, whose first issue started a session
    repo.set_permission("writer", "write")
    repo.add_issue("first", labels=["agent"], user="writer", author_association="MEMBER")
    _project(pipe)
    pipe.poll("app")
    # WHEN they open a second issue, and the next poll runs a minute later
    repo.add_issue("second", labels=["agent"], user="writer", author_association="MEMBER")
    github.clear_requests()
    pipe.clock.advance(60)
    summary = pipe.poll("app")
    # THEN it starts, and GitHub was asked only the changed page: the answer is kept in DynamoDB
    assert [r.issue_id for r in pipe.drain()] == [ISSUE, "github:acme/app#2"]
    assert summary["writeChecks"] == 0
    assert _statuses(github) == [("page", 200)]
    kept = pipe.aws["dynamodb"].get_item(
        TableName=pipe.aws["table_name"], Key=permission_key("app", "acme/app", "writer")
    )["Item"]
    assert (kept["pk"]["S"], kept["sk"]["S"], kept["permission"]["S"]) == (
        "PROJECT#app",
        "PERMISSION#acme/app#writer",
        "write",
    )


def test_switched_off_the_members_issue_is_taken_without_a_request(
    pipe: Pipeline, github: FakeGitHub, repo: FakeRepo
) -> None:
    # GIVEN a project that switched the check off, and a read-only member's labelled issue
    repo.set_permission("reader", "read")
    repo.add_issue("please", labels=["agent"], user="reader", author_association="MEMBER")
    _project(pipe, memberWriteCheck=False)
    # WHEN polled THEN the issue starts, and the only request was the page
    pipe.poll("app")
    assert [r.issue_id for r in pipe.drain()] == [ISSUE]
    assert _statuses(github) == [("page", 200)]


def test_a_check_stopped_by_the_request_cap_lets_nothing_through_and_commits_no_etag(
    pipe: Pipeline, github: FakeGitHub, repo: FakeRepo
) -> None:
    # GIVEN a member who may write, and a poll granted one request (the page)
    repo.set_permission("writer", "write")
    repo.add_issue("please", labels=["agent"], user="writer", author_association="MEMBER")
    _project(pipe)
    # WHEN it is polled
    summary = pipe.poll_event({"projectId": "app", "maxRequests": 1})
    # THEN the issue waits: not claimed, not sent, no permission asked, the page's ETag not kept
    assert pipe.drain() == [] and pipe.claim(ISSUE) is None
    assert summary["writesUnchecked"] == 1 and summary["heldBack"] == 1
    assert _statuses(github) == [("page", 200)]
    assert pipe.store.load_for_poll("app")[1] == {}
    # AND the next poll is granted the check too: the page comes again (200) with the question
    assert pipe.project("app").poll.pages_read == 2
    github.clear_requests()
    pipe.clock.advance(60)
    pipe.poll_event({"projectId": "app", "maxRequests": 2})
    assert [r.issue_id for r in pipe.drain()] == [ISSUE]
    assert _statuses(github) == [("page", 200), ("permission", 200)]


def test_a_credential_that_may_not_ask_fails_the_poll_saying_what_it_lacks(
    pipe: Pipeline, github: FakeGitHub, repo: FakeRepo
) -> None:
    # GIVEN a token whose account cannot push (GitHub answers the question 403)
    repo.set_permission("writer", "write")
    repo.add_issue("please", labels=["agent"], user="writer", author_association="MEMBER")
    github.set_read_only(TOKEN)
    _project(pipe)
    # WHEN polled
    summary = pipe.poll("app")
    # THEN nothing starts, and the project's error is persistent and names what to grant
    assert pipe.drain() == [] and pipe.claim(ISSUE) is None
    assert summary["errorKind"] == "write_access_unreadable" and not summary["transient"]
    assert "Metadata: read" in (pipe.project("app").poll.last_error or "")
