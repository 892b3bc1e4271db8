"""What only Linear does, on the real handlers over moto and the Linear stand-in: moves between
teams, the watermark's overlap, the reconcile, RATELIMITED, complexity pacing, the steady state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from harness import LINEAR_KEY, Pipeline

from intake_dev.fake_github import FakeGitHub
from intake_dev.fake_linear import FakeLinear
from tracker_intake.domain.credentials import linear_key
from tracker_intake.domain.records import PRIMARY_COST_HISTORY

KEY = linear_key(LINEAR_KEY)


@pytest.fixture
def linear() -> Iterator[FakeLinear]:
    with FakeLinear() as fake:
        fake.add_team("ENG")
        fake.add_team("OPS")
        fake.add_user("member@acme.test", "Mia Member")
        fake.add_api_key(LINEAR_KEY, user="member@acme.test")
        yield fake


@pytest.fixture
def pipe(aws: dict[str, Any], github: FakeGitHub, linear: FakeLinear) -> Pipeline:
    return Pipeline(aws, github, linear=linear)


def _project(pipe: Pipeline, project_id: str = "app", **rule: Any) -> None:
    pipe.create_project(project_id, provider="linear", team="ENG", labels=["agent"], backlog="all", **rule)


def _add(linear: FakeLinear, title: str, **fields: Any) -> str:
    issue = linear.add_issue("ENG", title, labels=["agent"], creator="member@acme.test", **fields)
    return issue.id


def _sessions(pipe: Pipeline) -> list[str]:
    return sorted(m.issue_id for m in pipe.drain())


def test_a_move_to_another_team_and_back_starts_nothing_new(pipe: Pipeline, linear: FakeLinear) -> None:
    # GIVEN an issue, ENG-1, with a session
    issue = _add(linear, "crash")
    _project(pipe)
    pipe.poll("app")
    assert _sessions(pipe) == [f"linear:acme/{issue}"]
    # WHEN it moves to OPS and back to ENG (a new identifier each time), polled after each move
    for team in ("OPS", "ENG"):
        pipe.clock.advance(60)
        moved = linear.move_issue(issue, team)
        pipe.poll("app")
    # THEN no second session started, and the claim still holds the identifier it was taken under
    assert moved.identifier != "ENG-1"
    assert _sessions(pipe) == []
    claim = pipe.claim(f"linear:acme/{issue}")
    assert claim is not None and claim.issue.identifier == "ENG-1"


def test_an_issue_updated_in_the_same_millisecond_as_the_watermark_is_not_missed(
    pipe: Pipeline, linear: FakeLinear
) -> None:
    # GIVEN a project that has read ENG-1, updated at an instant that became its watermark
    first = _add(linear, "first")
    _project(pipe)
    pipe.poll("app")
    instant = linear.snapshot(first).updated_at
    # WHEN ENG-2, updated in that very millisecond, shows up only after that read
    second = _add(linear, "second")
    linear.set_updated_at(second, linear.snapshot(first).updated_at_ms)
    assert linear.snapshot(second).updated_at == instant
    pipe.clock.advance(60)
    pipe.poll("app")
    # THEN the overlap re-read it, and it started a session (the first did not start again)
    assert _sessions(pipe) == sorted([f"linear:acme/{first}", f"linear:acme/{second}"])


def test_the_hourly_reconcile_finds_what_an_incremental_read_missed(pipe: Pipeline, linear: FakeLinear) -> None:
    # GIVEN a synced project, and an issue that comes to match with an updatedAt well below the
    # watermark (what a watermark cannot see: a label renamed to the rule's, say)
    _project(pipe)
    _add(linear, "seen")
    pipe.poll("app")
    pipe.drain()
    hidden = _add(linear, "hidden", at=pipe.clock.now() - timedelta(days=3))
    # WHEN the project is polled through the next hour
    pipe.clock.advance(60)
    pipe.poll("app")
    missed = _sessions(pipe)
    pipe.clock.advance(60 * 60)
    pipe.poll("app")
    # THEN the incremental read missed it, and the reconcile started it
    assert missed == []
    assert _sessions(pipe) == [f"linear:acme/{hidden}"]


def test_ratelimited_pauses_the_credential_until_a_query_fits_again(pipe: Pipeline, linear: FakeLinear) -> None:
    # GIVEN a Linear credential whose request bucket is empty (it leaks back 1,500 an hour)
    _add(linear, "a")
    _project(pipe)
    linear.set_remaining(LINEAR_KEY, requests=0)
    # WHEN the project is polled, then a minute later
    result = pipe.poll("app")
    paused = pipe.store.get_budget(KEY)
    pipe.clock.advance(60)
    after = pipe.poll("app")
    # THEN Linear answered RATELIMITED (HTTP 400), and the credential was paused until the next tick,
    # not until the bucket is full again (an hour): a request fits seconds later
    refused = linear.requests[0]
    assert refused.rate_limited and refused.status == 400
    assert result["result"] == "credential_paused"
    assert paused is not None and paused.paused_until is not None
    assert paused.paused_until - datetime.fromisoformat(result["backoffUntil"]) == timedelta(0)
    assert (
        timedelta(seconds=59)
        <= paused.paused_until - (pipe.clock.now() - timedelta(seconds=60))
        <= timedelta(seconds=61)
    )
    assert after["result"] == "changed" and after["newSessions"]


def test_a_steady_state_poll_is_one_query_and_writes_nothing(pipe: Pipeline, linear: FakeLinear) -> None:
    # GIVEN a project whose issues all have sessions, polled until its record of a poll's cost settled
    _add(linear, "a")
    _add(linear, "b")
    _project(pipe)
    for _ in range(PRIMARY_COST_HISTORY + 1):
        pipe.poll("app")
        pipe.clock.advance(60)
    pipe.drain()
    linear.clear_requests()
    pipe.counter.reset()
    # WHEN it is polled with nothing new on Linear
    result = pipe.poll("app")
    # THEN it sent one query, read the project and the credential's budget, and wrote nothing
    assert result["result"] == "not_modified"
    assert [r.operation_name for r in linear.requests] == ["IntakeIssues"]
    assert pipe.counter.dynamodb_writes == 0 and pipe.counter.sqs_sends == 0
    assert pipe.counter.dynamodb_reads == 2


def test_complexity_pacing_keeps_a_shared_key_under_its_budget(aws: dict[str, Any], github: FakeGitHub) -> None:
    # GIVEN twelve Linear projects on one API key whose complexity budget cannot pay for a poll of
    # each a minute (about 12 x 60 x 100 points an hour are asked of 20,000)
    with FakeLinear(complexity_limit=20_000) as linear:
        linear.add_team("ENG")
        linear.add_user("member@acme.test")
        linear.add_api_key(LINEAR_KEY, user="member@acme.test")
        pipe = Pipeline(aws, github, linear=linear)
        for n in range(12):
            _project(pipe, f"p{n}")
        # WHEN the dispatcher ticks every minute for two hours
        for _ in range(120):
            pipe.tick()
            pipe.clock.advance(60)
        log = linear.requests
    # THEN Linear never refused a query: the dispatcher spread what the key had left until its
    # reset, read from the headers; and every project was still polled
    assert log, "nothing was polled"
    assert [r for r in log if r.rate_limited] == []
    spent = sum(r.complexity or 0 for r in log)
    assert spent <= 20_000 * 3  # two hours' refill and the full bucket it started with
    assert all(pipe.project(f"p{n}").poll.primary_costs for n in range(12))


def test_a_linear_poll_counts_its_queries_as_linear_requests(
    pipe: Pipeline, linear: FakeLinear, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a Linear project
    _add(linear, "a")
    _project(pipe)
    capsys.readouterr()
    # WHEN it is polled (its metrics printed as Lambda prints them, EMF on standard output)
    pipe.poll("app")
    out = capsys.readouterr().out
    # THEN its query is counted as a Linear request, not a GitHub one
    assert '"LinearRequests":[1.0]' in out
    assert "GitHubRequests" not in out
