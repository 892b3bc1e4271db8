"""The acknowledgement on the issue, end to end: the poller and the launcher handlers on moto, the
writes on the loopback GitHub stand-in (which keeps comments, reactions and labels as GitHub
does, and enforces its content-creation limits)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from harness import TOKEN, CrashingLedger, Launcher, Pipeline

from intake_dev.fake_github import FakeGitHub, RecordedRequest
from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.domain.records import Acknowledgement, AckState, ClaimStatus

ISSUE = "github:acme/app#1"


def _pipeline(aws: dict[str, Any], github: FakeGitHub, acknowledge: str, issues: int = 1) -> Pipeline:
    repo = github.add_repo("acme", "app")
    for n in range(issues):
        repo.add_issue(f"fix {n + 1}", labels=["agent"])
    pipe = Pipeline(aws, github)
    pipe.create_project(
        "app", repo="acme/app", labels=["agent"], backlog="all", acknowledge=acknowledge, maxSessionsPerPoll=100
    )
    return pipe


def _writes(github: FakeGitHub) -> list[RecordedRequest]:
    return [r for r in github.requests if r.method != "GET"]


def _ack(pipe: Pipeline, canonical: str = ISSUE) -> Acknowledgement:
    claim = pipe.claim(canonical)
    assert claim is not None and claim.status is ClaimStatus.LAUNCHED
    assert claim.ack is not None
    return claim.ack


def test_a_comment_is_written_once_naming_the_session_and_recorded_with_its_url(
    aws: dict[str, Any], github: FakeGitHub
) -> None:
    # GIVEN a project that acknowledges with a comment, and a matching issue
    pipe = _pipeline(aws, github, "comment")
    launcher = Launcher(pipe)
    # WHEN it is polled and its request launched
    pipe.poll("app")
    pipe.counter.reset()
    failed = launcher.drain()
    # (the launch: a claim read and two updates; the acknowledgement: the project read, the
    # credential's pause read, its slots read and put, the claim's acknowledgement updated twice)
    launch_cost = (pipe.counter.count("GetItem"), pipe.counter.count("UpdateItem"), pipe.counter.count("PutItem"))
    assert launch_cost == (1 + 3, 2 + 2, 1)
    # THEN the issue has one comment, by the credential's user, naming the session and hiding the marker
    assert failed == set()
    comments = github.repo("acme/app").comments(1)
    assert len(comments) == 1
    assert comments[0]["user"]["login"] == "intake-bot"
    ack = _ack(pipe)
    assert "A worker session started for this issue: `log`" in comments[0]["body"]
    assert f"token={ack.marker} -->" in comments[0]["body"]
    # AND the claim records it done, with the comment's URL, after one write
    assert ack.state is AckState.DONE and ack.url == comments[0]["html_url"] and ack.attempts == 1
    assert [(w.method, w.path) for w in _writes(github)] == [("POST", "/repos/acme/app/issues/1/comments")]


def test_a_reaction_and_a_label_are_written_once(aws: dict[str, Any], github: FakeGitHub) -> None:
    # GIVEN two projects' worth of one issue each: one reacts, one labels
    repo = github.add_repo("acme", "app")
    repo.add_issue("react to me", labels=["agent"])
    other = github.add_repo("acme", "lib")
    other.add_issue("label me", labels=["agent"])
    pipe = Pipeline(aws, github)
    pipe.create_project("app", repo="acme/app", labels=["agent"], backlog="all", acknowledge="reaction")
    pipe.create_project("lib", repo="acme/lib", labels=["agent"], backlog="all", acknowledge="label")
    launcher = Launcher(pipe)
    # WHEN both are polled and launched, and the queue delivered again (SQS: at least once)
    pipe.poll("app")
    pipe.poll("lib")
    assert launcher.drain() == set()
    # THEN the first has one eyes reaction, the second the in-progress label beside its own
    assert [r["content"] for r in repo.reactions(1)] == ["eyes"]
    assert [label["name"] for label in other.issue(1)["labels"]] == ["agent", "in-progress"]
    assert _ack(pipe).state is AckState.DONE
    assert _ack(pipe, "github:acme/lib#1").state is AckState.DONE
    # AND the next polls start nothing new: the label is an exclusion, the claims hold
    pipe.clock.advance(60)
    assert pipe.poll("app")["newSessions"] == [] and pipe.poll("lib")["newSessions"] == []
    assert launcher.drain() == set()
    assert len(_writes(github)) == 2


def test_a_refused_write_is_recorded_and_the_session_still_launches(aws: dict[str, Any], github: FakeGitHub) -> None:
    # GIVEN a token GitHub lets read but not write (a fine-grained token with Issues: read)
    github.set_read_only(TOKEN)
    pipe = _pipeline(aws, github, "comment")
    launcher = Launcher(pipe)
    # WHEN the issue is polled and launched
    pipe.poll("app")
    failed = launcher.drain()
    # THEN the launch succeeded, nothing is left on the queue, and the refusal says GitHub's words
    assert failed == set() and launcher.receive() == []
    ack = _ack(pipe)
    assert ack.state is AckState.REFUSED
    assert ack.detail is not None and "403" in ack.detail and "personal access token" in ack.detail
    assert github.repo("acme/app").comments(1) == []


def test_a_crash_between_the_comment_and_its_record_leaves_one_comment(aws: dict[str, Any], github: FakeGitHub) -> None:
    # GIVEN a launcher that writes the comment and dies before recording it
    pipe = _pipeline(aws, github, "comment")
    ledger = CrashingLedger(DynamoStore(aws["table_name"], client=aws["dynamodb"]))
    launcher = Launcher(pipe, ledger=ledger)
    pipe.poll("app")
    messages = launcher.receive()
    assert launcher.deliver(messages) == {messages[0]["MessageId"]}
    assert len(github.repo("acme/app").comments(1)) == 1
    # WHEN SQS delivers the message again, after the visibility timeout (the lease has run out)
    pipe.clock.advance(181)
    assert launcher.deliver(messages, receive_count=2) == set()
    # THEN GitHub was asked for the comments once, the one found is recorded, none is written again
    assert len(github.repo("acme/app").comments(1)) == 1
    listings = [r for r in github.requests if r.method == "GET" and r.path.endswith("/issues/1/comments")]
    assert len(listings) == 1 and "since" in listings[0].query
    ack = _ack(pipe)
    assert ack.state is AckState.DONE and ack.url == github.repo("acme/app").comments(1)[0]["html_url"]
    assert ack.attempts == 2


def test_writes_are_a_second_apart_and_within_github_s_content_limits(aws: dict[str, Any], github: FakeGitHub) -> None:
    # GIVEN 30 matching issues that all start at once, each acknowledged with a reaction
    pipe = _pipeline(aws, github, "reaction", issues=30)
    launcher = Launcher(pipe)
    # WHEN they are polled and launched
    pipe.poll("app")
    assert launcher.drain() == set()
    # THEN 30 reactions, one per issue, each write at least a second after the one before
    writes = _writes(github)
    assert len(writes) == 30
    assert sorted(w.path for w in writes) == sorted(f"/repos/acme/app/issues/{n}/reactions" for n in range(1, 31))
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(writes)]
    assert min(gaps) >= 1.0
    # AND GitHub's secondary limits refused none of them
    assert github.secondary_refusals() == 0


def test_a_far_slot_parks_the_request_out_of_its_project_s_group_until_the_slot(
    aws: dict[str, Any], github: FakeGitHub
) -> None:
    # GIVEN other launchers took the credential's next ten write slots a moment ago
    pipe = _pipeline(aws, github, "label")
    launcher = Launcher(pipe)
    launcher.others_take_slots("app", 10)
    pipe.poll("app")
    messages = launcher.receive()
    # WHEN the request is delivered
    failed = launcher.deliver(messages)
    # THEN the session is launched and the project's message is done (deleted), the slot kept on
    # the claim, nothing written yet, and the request parked in a message group of its own
    assert failed == set()
    ack = _ack(pipe)
    assert ack.state is AckState.WAITING and ack.slot is not None and not ack.sent
    assert _writes(github) == []
    parked = launcher.receive()
    assert len(parked) == 1 and parked[0]["Attributes"]["MessageGroupId"].startswith("ack#")
    # AND the parked one, delivered, waits alone: failed, hidden until the slot
    assert launcher.deliver(parked) == {parked[0]["MessageId"]}
    assert launcher.receive() == []
    # AND delivered again at its slot, it writes the label on that slot without taking another
    pipe.clock.advance((ack.slot - pipe.clock.now()).total_seconds())
    assert launcher.deliver(parked, receive_count=2) == set()
    assert [label["name"] for label in github.repo("acme/app").issue(1)["labels"]] == ["agent", "in-progress"]
    assert _ack(pipe).state is AckState.DONE and launcher.slept == []


def test_a_waiting_acknowledgement_holds_up_none_of_its_project_s_launches(
    aws: dict[str, Any], github: FakeGitHub
) -> None:
    # GIVEN an acknowledgement parked until a slot ten seconds away (other launchers took the rest)
    pipe = _pipeline(aws, github, "comment")
    launcher = Launcher(pipe)
    launcher.others_take_slots("app", 10)
    pipe.poll("app")
    assert launcher.deliver(launcher.receive()) == set()
    parked = launcher.receive()
    assert launcher.deliver(parked) == {parked[0]["MessageId"]}
    # WHEN a new issue of the same project is polled a minute later (the slot still ahead for SQS)
    github.repo("acme/app").add_issue("fix 2", labels=["agent"])
    pipe.clock.advance(60)
    pipe.poll("app")
    # THEN its request is delivered at once, in the project's group, and launched
    waiting = launcher.receive()
    assert [m["Attributes"]["MessageGroupId"] for m in waiting] == ["app"]
    launcher.deliver(waiting)
    claim = pipe.claim("github:acme/app#2")
    assert claim is not None and claim.status is ClaimStatus.LAUNCHED


def test_a_failed_write_is_parked_and_retried_no_sooner_than_a_minute_later(
    aws: dict[str, Any], github: FakeGitHub
) -> None:
    # GIVEN GitHub answers the first write with a 502
    pipe = _pipeline(aws, github, "reaction")
    launcher = Launcher(pipe)
    github.inject("bad_gateway", repo="acme/app", method="POST")
    pipe.poll("app")
    # WHEN the request is delivered, then its parked copy at once
    assert launcher.deliver(launcher.receive()) == set()
    parked = launcher.receive()
    assert [m["Attributes"]["MessageGroupId"][:4] for m in parked] == ["ack#"]
    assert launcher.deliver(parked) == {parked[0]["MessageId"]}
    # THEN only the first write was sent: the parked copy waits out the minute, hidden
    assert len(_writes(github)) == 1 and launcher.receive() == []
    ack = _ack(pipe)
    assert ack.state is AckState.WAITING and ack.not_before == pipe.clock.now() + timedelta(seconds=60)
    # AND a minute later it is written
    pipe.clock.advance(60)
    assert launcher.deliver(parked, receive_count=2) == set()
    assert [r["content"] for r in github.repo("acme/app").reactions(1)] == ["eyes"]


def test_a_project_whose_id_starts_like_a_parked_group_is_still_parked(aws: dict[str, Any], github: FakeGitHub) -> None:
    # GIVEN a project named ack-app, whose write slot is ten seconds away
    repo = github.add_repo("acme", "app")
    repo.add_issue("fix 1", labels=["agent"])
    pipe = Pipeline(aws, github)
    pipe.create_project("ack-app", repo="acme/app", labels=["agent"], backlog="all", acknowledge="comment")
    launcher = Launcher(pipe)
    launcher.others_take_slots("ack-app", 10)
    pipe.poll("ack-app")
    messages = launcher.receive()
    assert [m["Attributes"]["MessageGroupId"] for m in messages] == ["ack-app"]
    # WHEN its request is delivered
    failed = launcher.deliver(messages)
    # THEN its own message is done (its group is not held) and the wait is parked
    assert failed == set()
    assert [m["Attributes"]["MessageGroupId"][:4] for m in launcher.receive()] == ["ack#"]


@pytest.mark.parametrize("acknowledge", ["none"])
def test_a_project_that_acknowledges_nothing_writes_nothing_and_reads_nothing_more(
    aws: dict[str, Any], github: FakeGitHub, acknowledge: str
) -> None:
    # GIVEN the default: no acknowledgement
    pipe = _pipeline(aws, github, acknowledge)
    launcher = Launcher(pipe)
    pipe.poll("app")
    pipe.counter.reset()
    # WHEN its request is launched
    assert launcher.drain() == set()
    # THEN GitHub saw no write, and the launch cost what it always did: read the claim, two updates
    assert _writes(github) == []
    claim = pipe.claim(ISSUE)
    assert claim is not None and claim.ack is None and claim.status is ClaimStatus.LAUNCHED
    assert pipe.counter.count("GetItem") == 1 + 1  # the launcher's, and this test's
    assert pipe.counter.count("UpdateItem") == 2
