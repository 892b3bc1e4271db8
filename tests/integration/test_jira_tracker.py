"""The Jira adapters (adapters/jira*.py) against the Jira stand-in on loopback: the JQL they send
parses in the stand-in's JQL subset; pages, keys, reporters; the user's time zone; 429 and 5xx
typed; both auth forms; a 3LO app's refresh; the acknowledgement's comment and label."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from intake_dev.fake_jira import FakeJira
from tracker_intake.adapters.jira import JiraTracker, build_jql
from tracker_intake.adapters.jira_http import ApiToken, JiraClient, JiraOAuthApp, points_quota
from tracker_intake.adapters.jira_writes import JiraIssueWriter
from tracker_intake.adapters.oauth import OAuthTokens
from tracker_intake.domain.errors import AuthFailed, PrimaryRateLimited, TrackerError, TrackerUnavailable, WriteRefused
from tracker_intake.domain.issue import JiraRef
from tracker_intake.domain.tracker import IssueQuery, RateLimit

START = 1_767_603_600.0  # 2026-01-05T09:00:00Z
SITE = "acme.atlassian.net"
EMAIL, TOKEN = "bot@acme.test", "jira_adapterTestToken0123456789"
RULE = IssueQuery(SITE, "", ("agent",), None, "jira", "PROJ", ("in-progress",))


class Moving:
    def __init__(self) -> None:
        self.at = START

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.at, UTC)


@pytest.fixture
def clock() -> Moving:
    return Moving()


@pytest.fixture
def fake(clock: Moving) -> Iterator[FakeJira]:
    with FakeJira(clock=lambda: clock.at) as stand_in:
        stand_in.add_project("PROJ")
        stand_in.add_project("OPS")
        stand_in.add_user(EMAIL, time_zone="America/New_York")
        stand_in.add_user("mia@acme.test", display_name="Mia")
        stand_in.add_user("carl@customer.test", account_type="customer")
        stand_in.add_user("bot@apps.test", account_type="app")
        stand_in.add_api_token(EMAIL, TOKEN)
        yield stand_in


def _client(fake: FakeJira, clock: Moving, token: str = TOKEN) -> JiraClient:
    return JiraClient(fake.base_url, ApiToken(EMAIL, token), clock=clock, timeout=(5.0, 5.0))


def _tracker(fake: FakeJira, clock: Moving, token: str = TOKEN) -> JiraTracker:
    return JiraTracker(_client(fake, clock, token), SITE)


def test_a_page_names_each_issue_by_its_id_with_its_key_reporter_and_text(fake: FakeJira, clock: Moving) -> None:
    # GIVEN issues by a user, a customer and an app; one without the label; one done
    user = fake.add_issue("PROJ", "by a user", labels=["agent", "bug"], reporter="mia@acme.test", description="Fix it.")
    customer = fake.add_issue("PROJ", "by a customer", labels=["agent"], reporter="carl@customer.test")
    app = fake.add_issue("PROJ", "by an app", labels=["agent"], reporter="bot@apps.test")
    fake.add_issue("PROJ", "no label", reporter="mia@acme.test")
    fake.close_issue(fake.add_issue("PROJ", "done", labels=["agent"], reporter="mia@acme.test").id)
    # WHEN the rule's changes are read from the start
    (page,) = list(_tracker(fake, clock).changes(RULE, None, None))
    # THEN the open matching issues came, each under jira:<site>/<id> with its key, browse URL,
    # description text and the reporter's kind
    by_id = {issue.key: issue for issue in page.issues}
    assert set(by_id) == {user.id, customer.id, app.id}
    first = by_id[user.id]
    assert first.canonical_id == f"jira:{SITE}/{user.id}" and first.identifier == user.key
    assert first.url == f"https://{SITE}/browse/{user.key}" and first.body == "Fix it."
    assert set(first.labels) == {"agent", "bug"} and first.state == "open"
    kinds = {by_id[i].author_association for i in (user.id, customer.id, app.id)}
    assert kinds == {"MEMBER", "CUSTOMER", "APP"}


def test_pages_follow_next_page_tokens_and_since_is_a_minute_in_the_users_zone(fake: FakeJira, clock: Moving) -> None:
    # GIVEN 120 matching issues, a second apart
    for n in range(120):
        fake.add_issue("PROJ", f"issue {n}", labels=["agent"], reporter="mia@acme.test")
        clock.at += 1
    tracker = _tracker(fake, clock)
    # WHEN they are read from the start, then since the 100th's minute
    pages = list(tracker.changes(RULE, None, None))
    since = datetime.fromtimestamp(START + 100, UTC)
    later = list(tracker.changes(RULE, since, None))
    # THEN pages of 50 end at isLast; the second read asked `updated >=` the minute after it in
    # New York (JQL reads dates to the minute), so the issues of the minutes after it came
    assert [len(p.issues) for p in pages] == [50, 50, 20]
    assert [p.continues for p in pages] == [True, True, False]
    jql = [r.jql for r in fake.requests if r.jql is not None][-1]
    assert jql is not None and 'updated >= "2026-01-05 04:02"' in jql
    assert sum(len(p.issues) for p in later) == 0


def test_the_jql_is_built_from_the_rule_and_quotes_what_it_is_given() -> None:
    # GIVEN a rule with a label holding a quote, and an assignee by account id
    rule = IssueQuery(SITE, "", ('say "hi"',), "5b10a2844c20165700ede21g", "jira", "PROJ")
    # WHEN its JQL is built THEN every value is a quoted string literal
    assert build_jql(rule, "2026-01-05 09:00") == (
        'project = "PROJ" AND statusCategory != Done AND labels = "say \\"hi\\"" AND '
        'assignee = "5b10a2844c20165700ede21g" AND updated >= "2026-01-05 09:00" ORDER BY updated ASC'
    )


def test_a_429_is_a_pause_until_the_later_of_retry_after_and_the_reset(fake: FakeJira, clock: Moving) -> None:
    # GIVEN Jira throttling for five minutes
    fake.throttle_for(300)
    # WHEN the adapter reads THEN it is a PrimaryRateLimited at least until Retry-After
    with pytest.raises(PrimaryRateLimited) as caught:
        list(_tracker(fake, clock).changes(RULE, None, None))
    assert caught.value.reset_at >= clock.now() + timedelta(seconds=299)


def test_a_server_error_is_retried_when_allowed_and_a_reset_is_retryable(fake: FakeJira, clock: Moving) -> None:
    class Allow:
        asked = 0

        def allow(self, error: TrackerError, attempt: int) -> bool:
            Allow.asked += 1
            return True

    # GIVEN one 502, then one reset connection
    fake.fail_next(1, status=502)
    # WHEN read with retries allowed THEN the second try answers
    assert list(_tracker(fake, clock).changes(RULE, None, None, retries=Allow()))
    assert Allow.asked == 1
    fake.reset_next(1)
    with pytest.raises(TrackerUnavailable) as caught:
        list(_tracker(fake, clock).changes(RULE, None, None))
    assert caught.value.retryable


def test_a_refused_token_is_authfailed_and_never_shown(fake: FakeJira, clock: Moving) -> None:
    wrong = "jira_notATokenJiraKnows00000000"
    tracker = _tracker(fake, clock, token=wrong)
    with pytest.raises(AuthFailed) as caught:
        list(tracker.changes(RULE, None, None))
    assert wrong not in str(caught.value) and wrong not in repr(tracker)


def test_a_3lo_app_reads_through_the_cloud_id_url_and_refreshes_its_token(fake: FakeJira, clock: Moving) -> None:
    # GIVEN a 3LO app's tokens, its access token expired
    granted = fake.add_oauth_app("app-1", "s3cret", user="mia@acme.test")
    fake.expire_access_token(granted.access_token)
    kept: list[OAuthTokens] = []
    tokens = OAuthTokens(granted.access_token, granted.refresh_token, "app-1", "s3cret")
    auth = JiraOAuthApp(tokens, token_url=fake.token_url, on_refresh=kept.append, clock=clock, json_body=True)
    tracker = JiraTracker(JiraClient(fake.api_url, auth, clock=clock, timeout=(5.0, 5.0)), SITE)
    fake.add_issue("PROJ", "one", labels=["agent"], reporter="mia@acme.test")
    # WHEN it reads THEN it refreshed once, got the issue, and handed over rotated tokens
    (page,) = list(tracker.changes(RULE, None, None))
    assert len(page.issues) == 1
    (fresh,) = kept
    assert fresh.refresh_token != granted.refresh_token


def test_a_3lo_apps_pages_carry_its_points_left_until_the_hour_turns(fake: FakeJira, clock: Moving) -> None:
    # GIVEN a 3LO app with 700 points of its hour left, ten minutes before the hour turns
    granted = fake.add_oauth_app("app-1", "s3cret", user="mia@acme.test")
    clock.at = START + 50 * 60
    fake.set_remaining("app-1", 700)
    tokens = OAuthTokens(granted.access_token, granted.refresh_token, "app-1", "s3cret")
    auth = JiraOAuthApp(tokens, token_url=fake.token_url, on_refresh=lambda _: None, clock=clock, json_body=True)
    tracker = JiraTracker(JiraClient(fake.api_url, auth, clock=clock, timeout=(5.0, 5.0)), SITE)
    fake.add_issue("PROJ", "one", labels=["agent"], reporter="mia@acme.test")
    # WHEN it reads a page
    (page,) = list(tracker.changes(RULE, None, None))
    # THEN the page's budget is the points left after it (a search and its issue: 2), the quota,
    # and the hour's end: what the dispatcher paces
    assert page.rate.remaining == fake.remaining("app-1") == 698
    assert page.rate.limit == 65_000
    assert page.rate.reset_at == datetime.fromtimestamp(START + 3600, UTC)


def test_the_points_quota_is_read_from_each_policy_and_the_tightest_binds() -> None:
    # GIVEN answers with two policies, with none, and with one that does not parse
    now = datetime.fromtimestamp(START, UTC)
    two = {
        "Beta-RateLimit": '"global-app-quota";r=64000;t=600, "tenant-app-quota";r=120;t=1200',
        "Beta-RateLimit-Policy": '"global-app-quota";q=65000;w=3600, "tenant-app-quota";q=5000;w=3600',
    }
    # WHEN each is read THEN the policy with the fewest points left binds, with its own reset
    tightest = RateLimit(120, now + timedelta(seconds=1200), "jira-points (tenant-app-quota)", 5000)
    assert points_quota(two, now) == tightest
    assert not points_quota({}, now).known
    assert not points_quota({"Beta-RateLimit": '"tenant-app-quota";r=abc;t=10'}, now).known
    assert not points_quota({"Beta-RateLimit": '"tenant-app-quota";r=10'}, now).known


def test_the_acknowledgement_writes_an_adf_comment_and_a_label_and_no_reaction(fake: FakeJira, clock: Moving) -> None:
    # GIVEN an issue
    issue = fake.add_issue("PROJ", "fix", labels=["agent"], reporter="mia@acme.test")
    writer = JiraIssueWriter(_client(fake, clock))
    ref = JiraRef(SITE, issue.id)
    since = clock.now() - timedelta(seconds=1)
    # WHEN it comments, labels, and is asked to react
    url = writer.add_comment(ref, "A worker session started.\n\n<!-- intake mark-1 -->")
    writer.add_label(ref, "in-progress")
    with pytest.raises(WriteRefused):
        writer.add_reaction(ref, "eyes")
    # THEN the comment is an ADF document with both paragraphs, found again by its mark; the
    # label is on the issue
    (comment,) = fake.comments(issue.id)
    assert comment.body["type"] == "doc" and len(comment.body["content"]) == 2
    assert url is not None and writer.find_comment(ref, "intake mark-1", since) == url
    assert "in-progress" in fake.labels(issue.id)


def test_a_credential_check_says_whether_the_project_is_visible(fake: FakeJira, clock: Moving) -> None:
    tracker = _tracker(fake, clock)
    assert tracker.check_project("PROJ") is None
    reason = tracker.check_project("NOPE")
    assert reason is not None and "NOPE" in reason
