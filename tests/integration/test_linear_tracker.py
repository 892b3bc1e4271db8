"""The Linear adapters (adapters/linear*.py) against the Linear stand-in on loopback: the queries
they send validate against the stand-in's schema (Linear's published one, in part); pages,
identifiers, creators; the two buckets read into one budget; every failure a typed error; the
OAuth app's refresh; the acknowledgement's writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

import intake_dev.fake_linear
from intake_dev.fake_linear import BotActor, FakeLinear
from tracker_intake.adapters import linear, linear_writes
from tracker_intake.adapters.linear import LinearTracker
from tracker_intake.adapters.linear_http import ApiKey, LinearClient
from tracker_intake.adapters.linear_writes import LinearIssueWriter
from tracker_intake.adapters.oauth import OAuthApp, OAuthTokens
from tracker_intake.domain.errors import AuthFailed, PrimaryRateLimited, TrackerError, TrackerUnavailable
from tracker_intake.domain.issue import LinearRef
from tracker_intake.domain.tracker import IssueQuery

START = 1_767_603_600.0  # 2026-01-05T09:00:00Z
KEY = "lin_api_adapterTestKey0123456789"
RULE = IssueQuery("", "", ("agent",), None, "linear", "ENG", ("in-progress",))


class Moving:
    """A clock the test moves (the stand-in's and the adapter's)."""

    def __init__(self) -> None:
        self.at = START

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.at, UTC)


@pytest.fixture
def clock() -> Moving:
    return Moving()


@pytest.fixture
def fake(clock: Moving) -> Iterator[FakeLinear]:
    with FakeLinear(clock=lambda: clock.at) as stand_in:
        stand_in.add_team("ENG")
        stand_in.add_team("OPS")
        stand_in.add_user("mia@acme.test", "Mia")
        stand_in.add_user("gus@acme.test", "Gus", guest=True)
        stand_in.add_api_key(KEY, user="mia@acme.test")
        yield stand_in


def _tracker(fake: FakeLinear, clock: Moving, key: str = KEY) -> LinearTracker:
    return LinearTracker(LinearClient(fake.url, ApiKey(key), clock=clock, timeout=(5.0, 5.0)))


def _writer(fake: FakeLinear, clock: Moving) -> LinearIssueWriter:
    return LinearIssueWriter(LinearClient(fake.url, ApiKey(KEY), clock=clock, timeout=(5.0, 5.0)))


def test_every_document_the_adapters_send_validates_against_linears_schema() -> None:
    # GIVEN the stand-in's schema (a subset of Linear's published schema, same names and types)
    schema_file = Path(intake_dev.fake_linear.__file__).with_name("schema.graphql")
    schema = build_schema(schema_file.read_text())
    documents = {
        "issues": linear.ISSUES_QUERY,
        "team": linear.TEAM_QUERY,
        **{name: getattr(linear_writes, name) for name in ("COMMENT", "REACTION", "COMMENTS", "TEAM", "LABELS")},
        **{name: getattr(linear_writes, name) for name in ("LABEL_CREATE", "LABEL_ADD")},
    }
    # WHEN each is validated THEN none has an error
    for name, document in documents.items():
        assert validate(schema, parse(document)) == [], name


def test_a_page_names_each_issue_by_its_stable_id_with_its_identifier_and_creator(
    fake: FakeLinear, clock: Moving
) -> None:
    # GIVEN issues by a member, a guest and an integration; one without the label; one closed
    member = fake.add_issue("ENG", "by a member", labels=["agent", "bug"], creator="mia@acme.test")
    guest = fake.add_issue("ENG", "by a guest", labels=["agent"], creator="gus@acme.test")
    bot = fake.add_issue("ENG", "by an integration", labels=["Agent"], bot_actor=BotActor("zapier", "Zapier"))
    fake.add_issue("ENG", "no label", creator="mia@acme.test")
    fake.close_issue(fake.add_issue("ENG", "done", labels=["agent"], creator="mia@acme.test").id)
    # WHEN the rule's changes are read from the start
    (page,) = list(_tracker(fake, clock).changes(RULE, None, None))
    # THEN the open matching issues came, each under linear:<workspace>/<uuid> with its identifier,
    # the creator's kind, and only the labels the rule names
    by_id = {issue.key: issue for issue in page.issues}
    assert set(by_id) == {member.id, guest.id, bot.id}
    first = by_id[member.id]
    assert first.canonical_id == f"linear:acme/{member.id}" and first.identifier == member.identifier
    assert first.labels == ("agent",) and first.state == "open" and first.url == member.url
    assert (first.author_association, by_id[guest.id].author_association) == ("MEMBER", "GUEST")
    assert by_id[bot.id].author_association == "APP"
    assert page.rate.known


def test_pages_follow_the_cursor_and_the_overlap_reads_only_what_changed_since(fake: FakeLinear, clock: Moving) -> None:
    # GIVEN 23 matching issues, made a second apart
    for n in range(23):
        fake.add_issue("ENG", f"issue {n}", labels=["agent"], creator="mia@acme.test")
        clock.at += 1
    tracker = _tracker(fake, clock)
    # WHEN they are read from the start, then since the 20th's updatedAt
    pages = list(tracker.changes(RULE, None, None))
    since = datetime.fromtimestamp(START + 19, UTC)
    later = list(tracker.changes(RULE, since, None))
    # THEN three pages of 10, 10 and 3, newest first; then the three updated after `since`
    assert [len(p.issues) for p in pages] == [10, 10, 3]
    assert [p.continues for p in pages] == [True, True, False]
    newest = [i.updated_at.timestamp() if i.updated_at else 0.0 for i in pages[0].issues]
    assert newest == sorted(newest, reverse=True)
    assert [len(p.issues) for p in later] == [3]


def test_ratelimited_is_a_pause_until_the_query_fits_again_and_at_least_a_minute(clock: Moving) -> None:
    # GIVEN a key whose complexity bucket (600 points an hour) is empty
    with FakeLinear(clock=lambda: clock.at, complexity_limit=600) as slow:
        slow.add_team("ENG")
        slow.add_user("mia@acme.test")
        slow.add_api_key(KEY, user="mia@acme.test")
        slow.set_remaining(KEY, points=0)
        # WHEN it reads, then again once the bucket has 50 points
        with pytest.raises(PrimaryRateLimited) as empty:
            list(_tracker(slow, clock).changes(RULE, None, None))
        slow.set_remaining(KEY, points=50)
        with pytest.raises(PrimaryRateLimited) as short:
            list(_tracker(slow, clock).changes(RULE, None, None))
        cost = int(slow.requests[0].complexity or 0)
    # THEN each pause lasts until the bucket has leaked back the query's points (600 an hour)
    assert cost > 50
    assert empty.value.reset_at == clock.now() + timedelta(hours=cost / 600)
    assert short.value.reset_at == clock.now() + timedelta(hours=(cost - 50) / 600)


def test_a_ratelimited_pause_is_at_least_until_the_next_tick(fake: FakeLinear, clock: Moving) -> None:
    # GIVEN a key whose request bucket is empty (one request leaks back in 2.4 seconds)
    fake.set_remaining(KEY, requests=0)
    # WHEN it reads THEN the pause is a minute: the next tick, which the dispatcher paces
    with pytest.raises(PrimaryRateLimited) as caught:
        list(_tracker(fake, clock).changes(RULE, None, None))
    assert caught.value.reset_at == clock.now() + timedelta(seconds=60)


def test_the_tighter_bucket_binds_the_budget_in_queries_of_this_cost(fake: FakeLinear, clock: Moving) -> None:
    # GIVEN a key with plenty of requests but complexity for about 30 queries more
    fake.set_remaining(KEY, points=3500)
    # WHEN it reads
    (page,) = list(_tracker(fake, clock).changes(RULE, None, None))
    # THEN the budget is the complexity bucket's, counted in queries of the cost Linear said
    (request,) = fake.requests
    assert page.rate.resource == "linear-complexity"
    assert request.complexity is not None and page.rate.limit == 250_000 // request.complexity


def test_a_server_error_is_retried_when_the_poll_allows_and_typed_when_not(fake: FakeLinear, clock: Moving) -> None:
    class Allow:
        def __init__(self) -> None:
            self.asked = 0

        def allow(self, error: TrackerError, attempt: int) -> bool:
            self.asked += 1
            return True

    # GIVEN one 502, then one connection reset
    fake.fail_next(1, status=502)
    allow = Allow()
    # WHEN read with retries allowed THEN the second try answers
    assert list(_tracker(fake, clock).changes(RULE, None, None, retries=allow))
    assert allow.asked == 1
    # ... and without, the reset is a retryable TrackerUnavailable
    fake.reset_next(1)
    with pytest.raises(TrackerUnavailable) as caught:
        list(_tracker(fake, clock).changes(RULE, None, None))
    assert caught.value.retryable


def test_a_refused_key_is_authfailed_and_never_shown(fake: FakeLinear, clock: Moving) -> None:
    # GIVEN a key Linear does not know
    wrong = "lin_api_notAKeyLinearKnows0000"
    tracker = _tracker(fake, clock, key=wrong)
    # WHEN it reads THEN AuthFailed, whose message and the adapter's repr never show the key
    with pytest.raises(AuthFailed) as caught:
        list(tracker.changes(RULE, None, None))
    assert wrong not in str(caught.value) and wrong not in repr(tracker)


def test_an_oauth_app_refreshes_an_expired_token_and_hands_over_the_rotated_ones(
    fake: FakeLinear, clock: Moving
) -> None:
    # GIVEN an OAuth app's tokens, its access token expired
    granted = fake.add_oauth_app("client-1", "s3cret", user="mia@acme.test")
    fake.expire_access_token(granted.access_token)
    kept: list[OAuthTokens] = []
    tokens = OAuthTokens(granted.access_token, granted.refresh_token, "client-1", "s3cret")
    auth = OAuthApp(tokens, token_url=fake.token_url, on_refresh=kept.append, clock=clock)
    tracker = LinearTracker(LinearClient(fake.url, auth, clock=clock, timeout=(5.0, 5.0)))
    # WHEN it reads
    assert list(tracker.changes(RULE, None, None))
    # THEN it refreshed once, with Bearer, and handed over a new access and refresh token
    (fresh,) = kept
    assert fresh.access_token != granted.access_token and fresh.refresh_token != granted.refresh_token
    assert fresh.expires_at is not None and fresh.expires_at > clock.now()
    # ... and the old refresh token is spent: a second app holding it is refused
    stale = OAuthApp(tokens, token_url=fake.token_url, clock=clock)
    with pytest.raises(AuthFailed):
        stale.refresh()


def test_the_acknowledgements_writes_land_on_the_issue_once_each(fake: FakeLinear, clock: Moving) -> None:
    # GIVEN an issue, and another team's label named like the acknowledgement's
    issue = fake.add_issue("ENG", "fix", labels=["agent"], creator="mia@acme.test")
    fake.add_label("in-progress", team="OPS")
    writer = _writer(fake, clock)
    ref = LinearRef("acme", issue.id)
    since = clock.now() - timedelta(seconds=1)
    # WHEN it comments, reacts and labels
    url = writer.add_comment(ref, "Session started: sess-1 (intake-mark-1)")
    writer.add_reaction(ref, "eyes")
    writer.add_label(ref, "in-progress")
    # THEN one comment (found again by its mark), one reaction and the label of its own team are on it
    assert url is not None and writer.find_comment(ref, "intake-mark-1", since) == url
    assert [c.body for c in fake.issue_comments(issue.id)] == ["Session started: sess-1 (intake-mark-1)"]
    assert len(fake.issue_reactions(issue.id)) == 1
    assert "in-progress" in fake.snapshot(issue.id).labels


def test_a_credential_check_says_whether_the_team_is_visible(fake: FakeLinear, clock: Moving) -> None:
    # GIVEN a team with an issue and a team key that does not exist
    fake.add_issue("ENG", "one", creator="mia@acme.test")
    tracker = _tracker(fake, clock)
    # WHEN each is checked THEN the first is visible, the second says why not
    assert tracker.check_team("eng") is None
    reason = tracker.check_team("NOPE")
    assert reason is not None and "NOPE" in reason
