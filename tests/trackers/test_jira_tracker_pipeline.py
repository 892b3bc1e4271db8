"""What only Jira does, on the real handlers over moto and the Jira stand-in: search that shows a
change late, moves between projects, 429s with Retry-After, an OAuth app's points quota, the
JQL the adapter sends, and the steady state."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from harness import JIRA_TOKEN, Pipeline

from intake_dev.fake_github import FakeGitHub
from intake_dev.fake_jira import FakeJira
from intake_dev.fake_jira.jql import parse
from tracker_intake.domain.credentials import Credential, CredentialKind, jira_key
from tracker_intake.domain.records import PRIMARY_COST_HISTORY

SITE = "acme.atlassian.net"
KEY = jira_key(f"{JIRA_TOKEN[0]}:{JIRA_TOKEN[1]}")
LAG = 90  # seconds before a change shows in search


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira(search_lag_seconds=LAG) as fake:
        fake.add_project("PROJ")
        fake.add_project("OPS")
        fake.add_user(JIRA_TOKEN[0], time_zone="Europe/Berlin")
        fake.add_user("mia@acme.test")
        fake.add_api_token(*JIRA_TOKEN)
        yield fake


@pytest.fixture
def pipe(aws: dict[str, Any], github: FakeGitHub, jira: FakeJira) -> Pipeline:
    return Pipeline(aws, github, jira=jira)


def _project(pipe: Pipeline, project_id: str = "app", **rule: Any) -> None:
    pipe.create_project(project_id, provider="jira", site=SITE, project="PROJ", labels=["agent"], backlog="all", **rule)


def _add(jira: FakeJira, title: str, **fields: Any) -> str:
    return jira.add_issue("PROJ", title, labels=["agent"], reporter="mia@acme.test", **fields).id


def _sessions(pipe: Pipeline) -> list[str]:
    return sorted(m.issue_id for m in pipe.drain())


def _searches(jira: FakeJira) -> list[Any]:
    return [r for r in jira.requests if r.path.endswith("/search/jql")]


def test_an_issue_that_shows_in_search_late_is_taken_once(pipe: Pipeline, jira: FakeJira) -> None:
    # GIVEN a synced project, its watermark the newest issue's update
    first = _add(jira, "first")
    pipe.clock.advance(LAG + 1)
    _project(pipe)
    pipe.poll("app")
    # WHEN an issue is created, and search shows it only 90 seconds later: after the next poll,
    # and after another issue's update has moved the watermark past it
    late = _add(jira, "late")
    pipe.clock.advance(30)
    _add(jira, "later still")
    pipe.clock.advance(LAG + 1)
    for _ in range(3):
        pipe.poll("app")
        pipe.clock.advance(60)
    # THEN the overlap read it when it showed, and every issue started exactly one session
    sessions = _sessions(pipe)
    assert f"jira:{SITE}/{late}" in sessions and f"jira:{SITE}/{first}" in sessions
    assert len(sessions) == len(set(sessions)) == 3


def test_a_move_to_another_project_and_back_starts_nothing_new(pipe: Pipeline, jira: FakeJira) -> None:
    # GIVEN an issue, PROJ-1, with a session
    issue = _add(jira, "crash")
    pipe.clock.advance(LAG + 1)
    _project(pipe)
    pipe.poll("app")
    assert _sessions(pipe) == [f"jira:{SITE}/{issue}"]
    # WHEN it moves to OPS and back (a new key each time), polled after each move has shown
    for project in ("OPS", "PROJ"):
        moved = jira.move_issue(issue, project)
        pipe.clock.advance(LAG + 1)
        pipe.poll("app")
    # THEN no second session started, and the claim keeps the key it was taken under
    assert moved.key != "PROJ-1"
    assert _sessions(pipe) == []
    claim = pipe.claim(f"jira:{SITE}/{issue}")
    assert claim is not None and claim.issue.identifier == "PROJ-1"


def test_a_429_with_retry_after_pauses_the_credential_until_then(pipe: Pipeline, jira: FakeJira) -> None:
    # GIVEN a credential Jira throttles for the next five minutes
    _add(jira, "a")
    pipe.clock.advance(LAG + 1)
    _project(pipe)
    jira.throttle_for(300)
    # WHEN the project is polled, then a minute later
    first = pipe.poll("app")
    asked = len(jira.requests)
    pipe.clock.advance(60)
    second = pipe.poll("app")
    # THEN Jira answered 429 with Retry-After and the reset, and the credential is paused until
    # then: the second poll asked nothing
    (throttled,) = [r for r in jira.requests if r.throttled]
    headers = {k.lower(): v for k, v in throttled.response_headers.items()}
    assert {"retry-after", "x-ratelimit-reset", "ratelimit-reason"} <= set(headers)
    assert first["result"] == second["result"] == "credential_paused"
    assert len(jira.requests) == asked
    budget = pipe.store.get_budget(KEY)
    assert budget is not None and budget.paused_until is not None
    assert budget.paused_until >= pipe.clock.now() - timedelta(seconds=60) + timedelta(seconds=299)


def _oauth_pipeline(aws: dict[str, Any], github: FakeGitHub, jira: FakeJira) -> Pipeline:
    """A pipeline with a registered OAuth 2.0 (3LO) app, `jira-app`, that Mia authorized."""
    tokens = jira.add_oauth_app("intake-app", "app-secret", user="mia@acme.test")
    secret = {
        "accessToken": tokens.access_token,
        "refreshToken": tokens.refresh_token,
        "clientId": "intake-app",
        "clientSecret": "app-secret",
        "cloudId": jira.cloud_id,
    }
    arn = boto3.client("secretsmanager").create_secret(Name="intake/jira-oauth/app", SecretString=json.dumps(secret))
    pipe = Pipeline(aws, github, jira=jira)
    pipe.store.put_credential(Credential("jira-app", CredentialKind.JIRA_OAUTH, arn["ARN"]), pipe.clock.now())
    return pipe


def test_an_oauth_apps_spent_points_quota_pauses_it_until_the_quota_resets(
    aws: dict[str, Any], github: FakeGitHub, jira: FakeJira
) -> None:
    # GIVEN a project polling with a registered OAuth 2.0 (3LO) app whose hourly points are spent
    pipe = _oauth_pipeline(aws, github, jira)
    _add(jira, "a")
    pipe.clock.advance(LAG + 1)
    _project(pipe, credential="jira-app")
    jira.set_remaining("intake-app", 0)
    # WHEN the dispatcher ticks every minute for twenty minutes
    for _ in range(20):
        pipe.tick()
        pipe.clock.advance(60)
    # THEN the stand-in's log shows one throttled search, for the quota, and none after it until
    # the quota's reset: the credential was paused on Jira's headers
    throttled = [r for r in jira.requests if r.throttled]
    assert len(throttled) == 1 and throttled[0].reason is not None
    reset = {k.lower(): v for k, v in throttled[0].response_headers.items()}["x-ratelimit-reset"]
    after = [r for r in jira.requests if r.at > throttled[0].at]
    assert all(r.at >= _epoch(reset) for r in after)


def test_an_oauth_apps_points_are_paced_to_last_until_the_quota_resets(aws: dict[str, Any], github: FakeGitHub) -> None:
    # GIVEN three projects on an OAuth app whose quota is 1,000 points an hour, 20 minutes before
    # the hour turns with 60 points left: polling each every minute would take more (a search is a
    # point, and one that finds an issue two)
    with FakeJira(search_lag_seconds=LAG, oauth_points_per_hour=1_000) as jira:
        jira.add_project("PROJ")
        jira.add_user("mia@acme.test")
        pipe = _oauth_pipeline(aws, github, jira)
        _add(jira, "a")
        for project_id in ("p1", "p2", "p3"):
            _project(pipe, project_id, credential="jira-app")
        pipe.clock.advance((3600 - int(jira.now()) % 3600 - 20 * 60) % 3600)
        reset = (int(jira.now()) // 3600 + 1) * 3600
        jira.set_remaining("intake-app", 60)
        # WHEN the dispatcher ticks every minute until ten minutes after the reset
        for _ in range(30):
            pipe.tick()
            pipe.clock.advance(60)
        # THEN Jira never throttled the app: its points were spread over the 20 minutes (polls in
        # the last five of them too) and never ran out; after the reset every project is polled
        # every minute again
        assert [r for r in jira.requests if r.throttled] == []
        before = [r for r in _searches(jira) if r.at < reset]
        assert len(before) < 3 * 20
        assert any(r.at >= reset - 5 * 60 for r in before)
        # (each project's hourly reconcile may add a search to one of those minutes)
        after = Counter(int((r.at - reset) // 60) for r in _searches(jira) if r.at >= reset + 60)
        assert all(after[minute] >= 3 for minute in range(1, 9)), after


def _epoch(iso_minute: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso_minute.replace("Z", "+00:00")).timestamp()


def test_the_jql_sent_is_the_rule_in_the_subset_jira_parses(pipe: Pipeline, jira: FakeJira) -> None:
    # GIVEN a project whose rule names an assignee by email
    _add(jira, "a", assignee="mia@acme.test")
    pipe.clock.advance(LAG + 1)
    _project(pipe, assignee="mia@acme.test")
    # WHEN it is polled twice (a reconcile, then an incremental read)
    pipe.poll("app")
    pipe.clock.advance(60)
    pipe.poll("app")
    # THEN each search's JQL names the project, open issues, the label and the assignee, the second
    # one `updated >=` a minute in the user's zone (Berlin), oldest first; and Jira parsed each
    first, second = (r.jql for r in _searches(jira))
    assert (
        first
        == 'project = "PROJ" AND statusCategory != Done AND labels = "agent" AND assignee = "mia@acme.test"'
        + (" ORDER BY updated ASC")
    )
    assert second is not None and 'updated >= "' in second and second.endswith(" ORDER BY updated ASC")
    for jql in (first, second):
        assert jql is not None
        parse(jql)


def test_a_steady_state_poll_is_one_search_and_writes_nothing(pipe: Pipeline, jira: FakeJira) -> None:
    # GIVEN a project whose issues all have sessions, polled until its overlap and cost settled
    _add(jira, "a")
    _add(jira, "b")
    pipe.clock.advance(LAG + 1)
    _project(pipe)
    for _ in range(PRIMARY_COST_HISTORY + 12):
        pipe.poll("app")
        pipe.clock.advance(60)
    pipe.drain()
    jira.clear_requests()
    pipe.counter.reset()
    # WHEN it is polled with nothing new on Jira
    result = pipe.poll("app")
    # THEN it sent one search, read the project and the credential's budget, and wrote nothing
    assert result["result"] == "not_modified"
    assert [r.path.rsplit("/", 1)[-1] for r in jira.requests] == ["jql"]
    assert pipe.counter.dynamodb_writes == 0 and pipe.counter.sqs_sends == 0
    assert pipe.counter.dynamodb_reads == 2
