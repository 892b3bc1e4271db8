"""The poll pipeline end to end: real dispatcher and poller handlers, moto, loopback GitHub."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from harness import TOKEN, Pipeline

from intake_dev.fake_github import FakeGitHub
from intake_dev.functions import LocalLambdaContext, load_handler
from tracker_intake.adapters.github_token import token_key
from tracker_intake.api.routes import ApiContext
from tracker_intake.domain import changes
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.errors import QueueUnavailable
from tracker_intake.domain.ports import SessionQueue
from tracker_intake.domain.records import PRIMARY_COST_HISTORY, ClaimStatus
from tracker_intake.domain.session import SessionRequest


@pytest.fixture
def pipe(aws: dict[str, Any], github: FakeGitHub) -> Iterator[Pipeline]:
    yield Pipeline(aws, github)


def _ids(messages: list[SessionRequest]) -> list[str]:
    return sorted(m.issue_id for m in messages)


def _seed_mixed_repo(github: FakeGitHub) -> list[str]:
    """acme/app with eligible issues, a PR, an excluded one and non-matching ones."""
    repo = github.add_repo("acme", "app")
    eligible = []
    for n in range(3):
        eligible.append(repo.add_issue(f"bug {n}", labels=["agent"])["number"])
    repo.add_issue("a pull request", labels=["agent"], pull_request=True)
    repo.add_issue("being worked on", labels=["agent", "in-progress"])
    repo.add_issue("no label")
    repo.add_issue("other label", labels=["docs"])
    return [f"github:acme/app#{n}" for n in eligible]


# --- counting and steady state ------------------------------------------------------------


def test_each_eligible_issue_yields_exactly_one_message_across_polls_and_a_restart(
    pipe: Pipeline, github: FakeGitHub
) -> None:
    # GIVEN a repo with 3 eligible issues, a PR, an excluded and two non-matching issues
    eligible = _seed_mixed_repo(github)
    pipe.create_project("app", repo="acme/app", labels=["agent"])
    # WHEN it is polled three times, the handlers restart (fresh modules and adapters), and it
    # is polled twice more
    for _ in range(3):
        pipe.poll("app")
        pipe.clock.advance(60)
    pipe.restart(fresh_modules=True)
    for _ in range(2):
        pipe.poll("app")
        pipe.clock.advance(60)
    # THEN the queue holds exactly one message per eligible issue, and nothing else
    assert _ids(pipe.drain()) == sorted(eligible)
    for canonical in eligible:
        claim = pipe.claim(canonical)
        assert claim is not None and claim.status is ClaimStatus.ENQUEUED


def test_steady_state_poll_costs_one_304_per_page_and_no_writes(pipe: Pipeline, github: FakeGitHub) -> None:
    # GIVEN a project whose repo has 250 matching issues (3 pages of 100) and a cap that
    # lets one poll take them all, polled once so every page's ETag is cached
    repo = github.add_repo("acme", "big")
    for n in range(250):
        repo.add_issue(f"issue {n}", labels=["agent"])
    pipe.create_project("big", repo="acme/big", labels=["agent"], maxSessionsPerPoll=100)
    for _ in range(3):
        pipe.poll("big")
        pipe.clock.advance(60)
    assert len(pipe.drain()) == 250
    for _ in range(PRIMARY_COST_HISTORY):  # the 304s that follow write the recent costs till all zeros
        pipe.poll("big")
    github.clear_requests()
    pipe.counter.reset()
    # WHEN a steady-state tick runs
    summary = pipe.tick()
    # THEN GitHub saw one request per page, each answered 304 ...
    statuses = [r.status for r in github.requests_for("acme/big")]
    assert statuses == [304, 304, 304]
    # ... and AWS saw the dispatcher's index page, budget and pace reads and its one pace write
    # for the tick; the poller's one Query and its credential check; no other write, no send
    assert summary["dispatched"] == 1
    assert pipe.counter.dynamodb_writes == 1  # the tick's grant on the credential's pace item
    assert pipe.counter.calls["PutItem"] == 1
    assert pipe.counter.sqs_sends == 0
    assert pipe.counter.calls["Query"] == 2  # dispatcher's index page + poller's project Query
    assert pipe.counter.calls["GetItem"] == 3  # budget + pace (dispatcher), budget (poller)


# --- who may start a session, and what switching intake on does to a backlog ----------------


def _switch_on(pipe: Pipeline, project_id: str, **intake: Any) -> None:
    """Create the project with intake on, as the API does (through the domain's change)."""
    config = ProjectConfig.model_validate({"trackerIntake": {"enabled": True, **intake}})
    changes.create_project(pipe.store, project_id, config, pipe.clock.now())


def test_backlog_new_records_50_matching_issues_without_a_session_then_one_new_issue_starts_one(
    pipe: Pipeline, github: FakeGitHub
) -> None:
    # GIVEN 50 open issues labelled `agent`, and a stranger's labelled one
    repo = github.add_repo("acme", "app")
    for n in range(50):
        repo.add_issue(f"old {n}", labels=["agent"])
    repo.add_issue("stranger", labels=["agent"], user="drive-by", author_association="NONE")
    # WHEN intake is switched on with the default `backlog: new`, and two ticks run
    _switch_on(pipe, "app", repo="acme/app", labels=["agent"])
    pipe.tick()
    pipe.clock.advance(60)
    pipe.tick()
    # THEN no session started, the 50 are recorded as backlog, the stranger's issue not at all
    assert pipe.drain() == []
    assert all(pipe.claim(f"github:acme/app#{n}").status is ClaimStatus.BACKLOG for n in range(1, 51))  # type: ignore[union-attr]
    assert pipe.claim("github:acme/app#51") is None
    assert pipe.project("app").backlog_since is None
    # AND WHEN one new issue is opened, and two more ticks run
    repo.add_issue("new", labels=["agent"])
    pipe.clock.advance(60)
    pipe.tick()
    pipe.clock.advance(60)
    pipe.tick()
    # THEN exactly one session started, for it
    assert _ids(pipe.drain()) == ["github:acme/app#52"]


def test_after_the_backlog_is_recorded_a_steady_tick_costs_304s_and_no_project_write(
    pipe: Pipeline, github: FakeGitHub
) -> None:
    # GIVEN a `new` project whose backlog of 150 issues (2 pages) is recorded
    repo = github.add_repo("acme", "big")
    for n in range(150):
        repo.add_issue(f"issue {n}", labels=["agent"])
    _switch_on(pipe, "big", repo="acme/big", labels=["agent"])
    for _ in range(2 + PRIMARY_COST_HISTORY):  # recorded, then at rest (its recent costs all zeros)
        pipe.tick()
        pipe.clock.advance(60)
    assert pipe.project("big").backlog_since is None
    github.clear_requests()
    pipe.counter.reset()
    # WHEN a steady-state tick runs
    pipe.tick()
    # THEN GitHub answered 304 to each page, and the only write is the tick's pace grant
    assert [r.status for r in github.requests_for("acme/big")] == [304, 304]
    assert pipe.counter.dynamodb_writes == 1 and pipe.counter.sqs_sends == 0


@pytest.mark.parametrize(
    ("association", "starts"),
    [
        ("OWNER", True),
        ("MEMBER", True),
        ("COLLABORATOR", True),
        ("CONTRIBUTOR", False),
        ("FIRST_TIME_CONTRIBUTOR", False),
        ("FIRST_TIMER", False),
        ("MANNEQUIN", False),
        ("NONE", False),
    ],
)
def test_only_the_default_authors_labelled_issues_start_sessions(
    pipe: Pipeline, github: FakeGitHub, association: str, starts: bool
) -> None:
    # GIVEN a running project (backlog recorded) on label `agent` with the default authors, and
    # an author who may write to the repository (a member's issue is checked for that:
    # tests/integration/test_member_write_check.py)
    repo = github.add_repo("acme", "app")
    repo.set_permission("someone", "write")
    _switch_on(pipe, "app", repo="acme/app", labels=["agent"])
    pipe.poll("app")
    # WHEN an author of this association opens an issue carrying the trigger label
    repo.add_issue("please", labels=["agent"], user="someone", author_association=association)
    pipe.clock.advance(60)
    pipe.poll("app")
    # THEN it starts a session only for OWNER, MEMBER and COLLABORATOR, and nothing is claimed otherwise
    assert _ids(pipe.drain()) == (["github:acme/app#1"] if starts else [])
    assert (pipe.claim("github:acme/app#1") is not None) is starts


def test_a_widened_rule_starts_a_contributors_issue_and_names_the_author_in_the_request(
    pipe: Pipeline, github: FakeGitHub
) -> None:
    # GIVEN a rule widened explicitly to contributors, and `backlog: all`
    repo = github.add_repo("acme", "app")
    repo.add_issue("please", labels=["agent"], user="helper", author_association="CONTRIBUTOR")
    _switch_on(pipe, "app", repo="acme/app", labels=["agent"], backlog="all", authors=["MEMBER", "CONTRIBUTOR"])
    # WHEN it is polled
    pipe.poll("app")
    # THEN the issue starts, and the session request says who wrote it (the prompt frames it so)
    (request,) = pipe.drain()
    assert (request.issue.author, request.issue.author_association) == ("helper", "CONTRIBUTOR")


# --- crash and concurrency ------------------------------------------------------------------


class Crash(BaseException):
    """A process dying mid-poll: not an error the code can handle."""


class CrashingQueue:
    """Wraps the real queue; crashes before or after the send, a given number of times."""

    def __init__(self, inner: SessionQueue, *, after_send: bool, times: int = 1) -> None:
        self.inner = inner
        self.after_send = after_send
        self.times = times

    def send(self, request: SessionRequest) -> None:
        if self.times and not self.after_send:
            self.times -= 1
            raise Crash("died before SendMessage")
        self.inner.send(request)
        if self.times and self.after_send:
            self.times -= 1
            raise Crash("died after SendMessage, before marking enqueued")


def test_crash_between_claim_and_send_is_resent_exactly_once_on_the_next_poll(
    pipe: Pipeline, github: FakeGitHub
) -> None:
    # GIVEN one eligible issue and a poller that dies right after claiming it
    github.add_repo("acme", "app").add_issue("fix me", labels=["agent"])
    pipe.create_project("app", repo="acme/app", labels=["agent"])
    pipe.queue_wrapper = lambda q: CrashingQueue(q, after_send=False)
    pipe.restart()
    with pytest.raises(Crash):
        pipe.poll("app")
    claim = pipe.claim("github:acme/app#1")
    assert claim is not None and claim.status is ClaimStatus.CLAIMED
    assert pipe.drain() == []
    # WHEN the next tick's poller (a fresh container) runs a minute later
    pipe.queue_wrapper = lambda q: q
    pipe.restart()
    pipe.clock.advance(60)
    result = pipe.poll("app")
    pipe.clock.advance(60)
    pipe.poll("app")
    # THEN the request is sent exactly once, and the claim ends enqueued
    assert _ids(pipe.drain()) == ["github:acme/app#1"]
    assert result["claimsRecovered"] == 1
    claim = pipe.claim("github:acme/app#1")
    assert claim is not None and claim.status is ClaimStatus.ENQUEUED


def test_crash_between_send_and_status_update_is_deduplicated_by_fifo(pipe: Pipeline, github: FakeGitHub) -> None:
    # GIVEN a poller that dies right after sending, before marking the claim enqueued
    github.add_repo("acme", "app").add_issue("fix me", labels=["agent"])
    pipe.create_project("app", repo="acme/app", labels=["agent"])
    pipe.queue_wrapper = lambda q: CrashingQueue(q, after_send=True)
    pipe.restart()
    with pytest.raises(Crash):
        pipe.poll("app")
    # WHEN the next poll recovers the stale claim and sends again
    pipe.queue_wrapper = lambda q: q
    pipe.restart()
    pipe.clock.advance(60)
    result = pipe.poll("app")
    # THEN it did re-send, yet the queue delivers the request once (same deduplication id)
    assert result["newSessions"] == ["github:acme/app#1"]
    assert pipe.counter.sqs_sends == 2
    assert _ids(pipe.drain()) == ["github:acme/app#1"]
    claim = pipe.claim("github:acme/app#1")
    assert claim is not None and claim.status is ClaimStatus.ENQUEUED


def test_two_concurrent_pollers_on_one_project_enqueue_each_issue_once(pipe: Pipeline, github: FakeGitHub) -> None:
    # GIVEN 20 eligible issues and a cap high enough for one poll to take them all
    repo = github.add_repo("acme", "app")
    for n in range(20):
        repo.add_issue(f"issue {n}", labels=["agent"])
    pipe.create_project("app", repo="acme/app", labels=["agent"], maxSessionsPerPoll=20)
    # WHEN two pollers with their own adapters run on it at the same moment
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def run() -> None:
        ctx = pipe.poll_context()
        from tracker_intake.domain.poll import poll_project

        barrier.wait()
        results.append(poll_project(ctx, "app"))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # ... and a later poll finishes whatever either left
    pipe.clock.advance(60)
    pipe.poll("app")
    # THEN exactly 20 messages, one per issue, and the two pollers' sends add up to 20
    messages = pipe.drain()
    assert len(messages) == 20
    assert len(set(_ids(messages))) == 20
    assert sum(len(r.new_sessions) for r in results) <= 20
    assert pipe.counter.sqs_sends == 20


# --- failures and backoff ---------------------------------------------------------------------


def test_primary_rate_limit_pauses_the_credential_until_reset_and_dispatcher_skips_every_project(
    pipe: Pipeline, github: FakeGitHub
) -> None:
    # GIVEN two projects on the same token, one of whose polls hits the primary rate limit
    github.add_repo("acme", "one").add_issue("a", labels=["agent"])
    github.add_repo("acme", "two").add_issue("b", labels=["agent"])
    pipe.create_project("one", repo="acme/one", labels=["agent"])
    pipe.create_project("two", repo="acme/two", labels=["agent"])
    reset_at = pipe.clock.now() + timedelta(minutes=30)
    github.inject("primary_rate_limit", repo="acme/one", reset_in=30 * 60)
    # WHEN project one is polled
    result = pipe.poll("one")
    # THEN the credential is paused until at least the reset, and the project is not failed
    assert result["result"] == "credential_paused"
    assert result["errorKind"] == "primary_rate_limit"
    budget = pipe.store.get_budget(token_key(TOKEN))
    until = budget.blocked_until(pipe.clock.now()) if budget else None
    assert until is not None and until >= reset_at - timedelta(seconds=2)
    state = pipe.project("one").poll
    assert state.consecutive_failures == 0 and state.backoff_until is None
    # AND a poll of the other project on the token asks GitHub nothing
    github.clear_requests()
    assert pipe.poll("two")["result"] == "credential_paused"
    assert github.requests == []
    # AND WHEN the dispatcher ticks before the reset, every project on the token is skipped
    github.clear_requests()
    pipe.clock.advance(60)
    summary = pipe.tick()
    assert summary["dispatched"] == 0
    assert summary["skippedBudget"] == 2
    assert github.requests == []
    # AND after the reset, polling resumes
    pipe.clock.advance(31 * 60)
    assert pipe.tick()["dispatched"] == 2


def test_secondary_rate_limit_pauses_the_credential_for_its_retry_after(pipe: Pipeline, github: FakeGitHub) -> None:
    # GIVEN a secondary rate limit asking to retry after 2 hours (longer than any backoff step)
    github.add_repo("acme", "app").add_issue("a", labels=["agent"])
    pipe.create_project("app", repo="acme/app", labels=["agent"])
    github.inject("secondary_rate_limit_seconds", repo="acme/app", seconds=7200)
    # WHEN the project is polled
    result = pipe.poll("app")
    # THEN the credential's pause lasts at least the two hours asked for
    assert result["errorKind"] == "secondary_rate_limit"
    budget = pipe.store.get_budget(token_key(TOKEN))
    assert budget is not None and budget.paused_until is not None
    assert budget.paused_until >= pipe.clock.now() + timedelta(seconds=7200 - 2)
    # AND the project itself is not failed
    assert pipe.project("app").poll.consecutive_failures == 0


def test_secondary_rate_limit_without_a_hint_pauses_for_at_least_a_minute(pipe: Pipeline, github: FakeGitHub) -> None:
    # GIVEN a secondary-limit answer that names the limit but gives no retry-after
    github.add_repo("acme", "app").add_issue("a", labels=["agent"])
    pipe.create_project("app", repo="acme/app", labels=["agent"])
    github.inject("secondary_rate_limit_message", repo="acme/app")
    # WHEN the project is polled
    pipe.poll("app")
    # THEN the credential is paused for at least GitHub's documented minute
    budget = pipe.store.get_budget(token_key(TOKEN))
    assert budget is not None and budget.paused_until is not None
    assert budget.paused_until >= pipe.clock.now() + timedelta(seconds=60)


@pytest.mark.parametrize(
    ("fault", "kind", "base"),
    [
        ("unauthorized", "auth_failed", timedelta(minutes=5)),
        ("not_found", "repo_not_found", timedelta(minutes=5)),
        ("server_error", "tracker_unavailable", timedelta(seconds=45)),  # transient: the next tick
    ],
)
def test_failures_back_off_exponentially_and_reset_after_success(
    pipe: Pipeline, github: FakeGitHub, fault: str, kind: str, base: timedelta
) -> None:
    # GIVEN a project whose GitHub answers fail twice, then recover
    github.add_repo("acme", "app").add_issue("a", labels=["agent"])
    pipe.create_project("app", repo="acme/app", labels=["agent"])
    github.inject(fault, repo="acme/app", times=2)
    # WHEN it is polled, and again once each backoff has passed
    first = pipe.poll("app")
    until_1 = pipe.project("app").poll.backoff_until
    pipe.clock.advance(base.total_seconds())
    pipe.poll("app")
    until_2 = pipe.project("app").poll.backoff_until
    state_2 = pipe.project("app").poll
    pipe.clock.advance(2 * base.total_seconds())
    last = pipe.poll("app")
    # THEN the backoff doubled (from 5 minutes, or 45 s for a transient 500; jitter pinned to 0),
    # and success reset it
    assert first["errorKind"] == kind and first["transient"] is (kind == "tracker_unavailable")
    assert until_1 is not None and until_2 is not None
    assert until_1 - (pipe.clock.now() - 3 * base) == base
    assert until_2 - (pipe.clock.now() - 2 * base) == 2 * base
    assert state_2.consecutive_failures == 2 and state_2.transient is (kind == "tracker_unavailable")
    assert last["newSessions"] == ["github:acme/app#1"]
    state = pipe.project("app").poll
    assert state.consecutive_failures == 0 and state.backoff_until is None and state.last_error is None


def test_no_github_request_is_made_for_a_project_in_backoff(pipe: Pipeline, github: FakeGitHub) -> None:
    # GIVEN a project put into a five-minute backoff by a 404
    github.add_repo("acme", "app").add_issue("a", labels=["agent"])
    pipe.create_project("app", repo="acme/app", labels=["agent"])
    github.inject("not_found", repo="acme/app")
    pipe.poll("app")
    github.clear_requests()
    # WHEN ticks run during the backoff window (and a stray direct invoke arrives too)
    for _ in range(4):
        pipe.clock.advance(60)
        summary = pipe.tick()
        assert summary["skippedBackoff"] == 1
    pipe.poll("app")
    # THEN the stand-in saw no request for it
    assert github.requests_for("acme/app") == []


def test_one_failing_project_does_not_block_the_others_in_a_tick(pipe: Pipeline, github: FakeGitHub) -> None:
    # GIVEN three projects, one of which answers 500 every time
    for name in ("one", "two", "three"):
        github.add_repo("acme", name).add_issue(f"{name} bug", labels=["agent"])
        pipe.create_project(name, repo=f"acme/{name}", labels=["agent"])
    github.inject("server_error", repo="acme/two", times=100)
    # WHEN one tick runs
    summary = pipe.tick()
    # THEN the other two projects' issues were enqueued in that same tick
    assert summary["dispatched"] == 3
    assert _ids(pipe.drain()) == ["github:acme/one#1", "github:acme/three#1"]
    assert pipe.project("two").poll.consecutive_failures == 1
    assert pipe.project("one").poll.consecutive_failures == 0


# --- caps and config changes --------------------------------------------------------------


def test_cap_spreads_25_issues_over_three_polls_and_holds_the_etag_until_done(
    pipe: Pipeline, github: FakeGitHub
) -> None:
    # GIVEN 25 eligible issues and the default cap of 10
    repo = github.add_repo("acme", "app")
    for n in range(25):
        repo.add_issue(f"issue {n}", labels=["agent"])
    pipe.create_project("app", repo="acme/app", labels=["agent"])
    sent: list[int] = []
    statuses: list[list[int]] = []
    # WHEN it is polled four times
    for _ in range(4):
        github.clear_requests()
        sent.append(len(pipe.poll("app")["newSessions"]))
        statuses.append([r.status for r in github.requests_for("acme/app")])
        pipe.clock.advance(60)
    # THEN 10, 10 and 5 go out; the ETag was only committed once the page was done, so polls
    # 2 and 3 got a 200 and poll 4 a 304
    assert sent == [10, 10, 5, 0]
    assert statuses == [[200], [200], [200], [304]]
    messages = pipe.drain()
    assert len(messages) == 25
    assert Counter(_ids(messages)).most_common(1)[0][1] == 1
    # oldest first: the first ten numbers went out first
    assert sorted(int(i.split("#")[1]) for i in _ids(messages)) == list(range(1, 26))


def test_enabling_intake_is_picked_up_next_tick_and_disabling_stops_polling(pipe: Pipeline, github: FakeGitHub) -> None:
    # GIVEN a project with intake disabled
    github.add_repo("acme", "app").add_issue("a", labels=["agent"])
    pipe.create_project("app", repo="acme/app", labels=["agent"], enabled=False)
    assert pipe.tick()["dispatched"] == 0
    # WHEN intake is enabled, THEN the next tick polls it
    pipe.set_intake("app", enabled=True, repo="acme/app", labels=["agent"])
    assert pipe.tick()["dispatched"] == 1
    assert _ids(pipe.drain()) == ["github:acme/app#1"]
    # WHEN intake is disabled, THEN the next tick does not poll it and GitHub sees nothing
    pipe.set_intake("app", enabled=False, repo="acme/app", labels=["agent"])
    github.clear_requests()
    assert pipe.tick()["dispatched"] == 0
    assert github.requests == []


def test_token_is_never_in_logs_or_results(
    pipe: Pipeline, github: FakeGitHub, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a project polled through success and every kind of failure
    github.add_repo("acme", "app").add_issue("a", labels=["agent"])
    pipe.create_project("app", repo="acme/app", labels=["agent"])
    results = [pipe.poll("app")]
    for fault in ("unauthorized", "forbidden", "not_found", "server_error", "malformed_json"):
        github.inject(fault, repo="acme/app")
        pipe.clock.advance(2 * 3600)
        results.append(pipe.poll("app"))
    # WHEN everything printed, logged and returned is gathered
    out = capsys.readouterr()
    text = out.out + out.err + caplog.text + repr(results) + repr(pipe.project("app"))
    # THEN the token appears nowhere
    assert TOKEN not in text
    assert TOKEN[4:] not in text


def test_queue_outage_backs_off_and_loses_nothing(pipe: Pipeline, github: FakeGitHub) -> None:
    # GIVEN a queue that is down for one poll
    github.add_repo("acme", "app").add_issue("a", labels=["agent"])
    pipe.create_project("app", repo="acme/app", labels=["agent"])

    class DownQueue:
        def send(self, request: SessionRequest) -> None:
            raise QueueUnavailable("SQS is down")

    pipe.queue_wrapper = lambda q: DownQueue()
    pipe.restart()
    result = pipe.poll("app")
    assert result["errorKind"] == "queue_unavailable"
    # WHEN the queue is back and the backoff has passed
    pipe.queue_wrapper = lambda q: q
    pipe.restart()
    pipe.clock.advance(6 * 60)
    pipe.poll("app")
    # THEN the issue is enqueued exactly once
    assert _ids(pipe.drain()) == ["github:acme/app#1"]


def test_changed_exclude_labels_take_effect_on_unchanged_pages(pipe: Pipeline, github: FakeGitHub) -> None:
    # GIVEN an issue skipped for its exclude label, on a page whose ETag is cached
    repo = github.add_repo("acme", "app")
    repo.add_issue("blocked for now", labels=["agent", "blocked"])
    pipe.create_project("app", repo="acme/app", labels=["agent"], excludeLabels=["blocked"])
    assert pipe.poll("app")["newSessions"] == []
    pipe.clock.advance(60)
    assert pipe.poll("app")["pagesNotModified"] == 1
    # WHEN the config stops excluding that label, through the real API handler
    api = load_handler("api")
    api.use(ApiContext(store=pipe.store, clock=pipe.clock))
    event = {
        "resource": "/projects/{id}/config",
        "path": "/projects/app/config",
        "httpMethod": "PUT",
        "headers": {"content-type": "application/json"},
        "pathParameters": {"id": "app"},
        "queryStringParameters": None,
        "requestContext": {"resourcePath": "/projects/{id}/config", "httpMethod": "PUT", "stage": "v1"},
        "body": json.dumps(
            {"trackerIntake": {"enabled": True, "repo": "acme/app", "labels": ["agent"], "excludeLabels": []}}
        ),
        "isBase64Encoded": False,
    }
    answer = api.lambda_handler(event, LocalLambdaContext())
    assert answer["statusCode"] == 200, answer
    pipe.clock.advance(60)
    # THEN the next poll reads the page again and takes the issue, though GitHub's list is unchanged
    assert pipe.poll("app")["newSessions"] == ["github:acme/app#1"]


def test_a_new_issue_beside_fifty_sessions_costs_one_batch_read_and_no_refused_write(
    pipe: Pipeline, github: FakeGitHub
) -> None:
    # GIVEN a page of 50 issues that are all sessions already, settled
    repo = github.add_repo("acme", "busy")
    for n in range(50):
        repo.add_issue(f"issue {n}", labels=["agent"])
    pipe.create_project("busy", repo="acme/busy", labels=["agent"], maxSessionsPerPoll=100)
    pipe.poll("busy")
    pipe.poll("busy")
    refused: list[str] = []
    pipe.aws["dynamodb"].meta.events.register(
        "after-call.dynamodb",
        lambda parsed, model, **_: (
            refused.append(model.name)
            if parsed.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
            else None
        ),
    )
    pipe.counter.reset()
    # WHEN one more issue opens and the project is polled a minute later
    repo.add_issue("the new one", labels=["agent"])
    pipe.clock.advance(60)
    result = pipe.poll("busy")
    # THEN it became a session with one batch read of the page's claims, one claim write and
    # one mark-enqueued; none of the 50 taken issues was written to, nothing was refused
    assert result["newSessions"] == ["github:acme/busy#51"]
    assert pipe.counter.calls["BatchGetItem"] == 1
    assert pipe.counter.calls["PutItem"] == 3  # the claim, the page's ETag and the poll's activity entry
    assert pipe.counter.calls["UpdateItem"] == 2  # enqueued, and the poll state (lastChangeAt, checkedAt)
    assert pipe.counter.calls["GetItem"] == 1  # the credential's pause
    assert refused == []
