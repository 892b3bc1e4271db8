"""GitHubTracker against the loopback GitHub stand-in: real sockets, `requests` not patched."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from intake_dev.clock import FixedClock
from intake_dev.fake_github import ECHO_CREDENTIAL, FakeGitHub, FakeRepo
from tracker_intake.adapters.github import GitHubTracker
from tracker_intake.domain.eligibility import EligibilityRule, is_eligible
from tracker_intake.domain.errors import (
    AuthFailed,
    BadTrackerResponse,
    PrimaryRateLimited,
    RepoNotFound,
    SecondaryRateLimited,
    TrackerError,
    TrackerMisconfigured,
    TrackerUnavailable,
    WriteAccessUnreadable,
)
from tracker_intake.domain.tracker import CachedPage, IssueQuery, Page

TOKEN = "ghp_SeCrEt0123456789tokenNEVERshown"
NOW = datetime(2026, 3, 1, 14, 0, tzinfo=UTC)


def _tracker(github: FakeGitHub, token: str | None = TOKEN, **kwargs: Any) -> GitHubTracker:
    return GitHubTracker(github.base_url, token, **kwargs)


def _seed(repo: FakeRepo, count: int, **kwargs: Any) -> None:
    for n in range(1, count + 1):
        repo.add_issue(f"issue {n}", **kwargs)


def _cache(pages: list[Page]) -> dict[str, CachedPage]:
    return {p.url: CachedPage(p.url, p.etag or "", p.next_url) for p in pages}


QUERY = IssueQuery("acme", "widgets", labels=("agent",))


# --- the request ---------------------------------------------------------------------


def test_first_request_lists_open_issues_oldest_first_with_the_documented_headers(
    github: FakeGitHub,
) -> None:
    # GIVEN a repository with one labelled issue
    github.add_repo("acme", "widgets").add_issue("one", labels=["agent"], assignees=["dev-bot"])

    # WHEN the tracker lists it with a label and an assignee rule
    query = IssueQuery("acme", "widgets", labels=("agent",), assignee="dev-bot")
    list(_tracker(github, user_agent="tracker-intake/test").pages(query, {}))

    # THEN it asked GitHub's documented endpoint, filters and headers
    (request,) = github.requests
    assert request.path == "/repos/acme/widgets/issues"
    assert request.query == {
        "state": "open",
        "labels": "agent",
        "assignee": "dev-bot",
        "sort": "created",
        "direction": "asc",
        "per_page": "100",
    }
    assert request.header("Accept") == "application/vnd.github+json"
    assert request.header("X-GitHub-Api-Version") == "2022-11-28"
    assert request.header("Authorization") == f"Bearer {TOKEN}"
    assert request.header("User-Agent") == "tracker-intake/test"


def test_without_a_token_no_authorization_header_is_sent(github: FakeGitHub) -> None:
    # GIVEN a public repository
    github.add_repo("acme", "widgets").add_issue("one", labels=["agent"])

    # WHEN the tracker has no token
    pages = list(_tracker(github, token=None).pages(QUERY, {}))

    # THEN the request is anonymous, and GitHub's anonymous budget of 60 applies
    assert github.requests[0].header("Authorization") is None
    assert pages[0].rate.remaining == 59


def test_first_page_url_is_the_cache_key_of_the_first_page(github: FakeGitHub) -> None:
    # GIVEN a repository with an issue
    github.add_repo("acme", "widgets").add_issue("one", labels=["agent"])
    tracker = _tracker(github)

    # WHEN the walk runs
    (page,) = tracker.pages(QUERY, {})

    # THEN the page's URL is exactly first_page_url, which is what the cache is keyed on
    assert page.url == tracker.first_page_url(QUERY)
    assert page.url.startswith(github.base_url + "/repos/acme/widgets/issues?")


# --- pagination ----------------------------------------------------------------------


def test_walk_follows_next_links_across_three_pages_through_repositories_id_urls(github: FakeGitHub) -> None:
    # GIVEN 250 labelled issues: three pages of 100
    repo = github.add_repo("acme", "widgets", repo_id=4242)
    _seed(repo, 250, labels=["agent"])

    # WHEN the tracker walks them
    pages = list(_tracker(github).pages(QUERY, {}))

    # THEN pages 2 and 3 came from GitHub's /repositories/<id> links, all issues oldest first
    assert [p.index for p in pages] == [1, 2, 3]
    assert [r.path for r in github.requests] == [
        "/repos/acme/widgets/issues",
        "/repositories/4242/issues",
        "/repositories/4242/issues",
    ]
    assert [len(p.issues) for p in pages] == [100, 100, 50]
    assert [i.number for p in pages for i in p.issues] == list(range(1, 251))
    assert pages[-1].next_url is None and not pages[-1].truncated


def test_next_link_is_requested_exactly_as_github_gave_it(github: FakeGitHub) -> None:
    # GIVEN two pages of issues
    _seed(github.add_repo("acme", "widgets"), 150, labels=["agent"])

    # WHEN the tracker walks them
    first, second = _tracker(github).pages(QUERY, {})

    # THEN the second request is the Link URL verbatim, and the page is keyed on it
    assert first.next_url is not None and "/repositories/" in first.next_url
    assert github.requests[1].url == first.next_url
    assert second.url == first.next_url


def test_page_cap_stops_the_walk_and_marks_its_last_page_truncated(github: FakeGitHub) -> None:
    # GIVEN three pages of issues
    _seed(github.add_repo("acme", "widgets"), 250, labels=["agent"])

    # WHEN the walk is capped at two pages
    pages = list(_tracker(github).pages(QUERY, {}, page_cap=2))

    # THEN it stops there and says so on the last page it returned
    assert len(github.requests) == 2
    assert [p.truncated for p in pages] == [False, True]
    assert pages[-1].next_url is not None


def test_walk_that_ends_on_a_full_page_at_the_cap_is_reported_truncated(github: FakeGitHub) -> None:
    # GIVEN exactly two full pages of issues
    _seed(github.add_repo("acme", "widgets"), 200, labels=["agent"])

    # WHEN the walk is capped at two pages
    pages = list(_tracker(github).pages(QUERY, {}, page_cap=2))

    # THEN it cannot ask for the page after the full last one, so it says it may have missed one
    assert len(github.requests) == 2
    assert [p.truncated for p in pages] == [False, True]


def test_walk_that_ends_on_a_partial_page_at_the_cap_is_not_truncated(github: FakeGitHub) -> None:
    # GIVEN a page and a half of issues
    _seed(github.add_repo("acme", "widgets"), 150, labels=["agent"])

    # WHEN the walk is capped at two pages
    pages = list(_tracker(github).pages(QUERY, {}, page_cap=2))

    # THEN nothing was left behind, so nothing is reported truncated
    assert [p.truncated for p in pages] == [False, False]


def test_a_full_last_page_is_followed_by_a_request_for_the_page_after_it(github: FakeGitHub) -> None:
    # GIVEN exactly one full page of issues
    _seed(github.add_repo("acme", "widgets"), 100, labels=["agent"])

    # WHEN the walk runs, and again with the ETags it was given
    first = list(_tracker(github).pages(QUERY, {}))
    cache = {p.url: p.cached() for p in first}
    github.clear_requests()
    second = list(_tracker(github).pages(QUERY, cache))

    # THEN it asked for page 2 as well (empty, 200), said page 1 continues, and counted items;
    # the second walk got two 304s
    assert [(p.index, p.modified, p.item_count, p.continues) for p in first] == [
        (1, True, 100, True),
        (2, True, 0, False),
    ]
    assert first[1].url.endswith("&page=2")
    assert [r.status for r in github.requests] == [304, 304]
    assert [p.item_count for p in second] == [100, 0]


def test_a_partial_last_page_asks_for_nothing_more(github: FakeGitHub) -> None:
    # GIVEN 99 issues
    _seed(github.add_repo("acme", "widgets"), 99, labels=["agent"])
    # WHEN the walk runs THEN it is one request, one page that does not continue
    pages = list(_tracker(github).pages(QUERY, {}))
    assert [(p.item_count, p.continues) for p in pages] == [(99, False)]
    assert len(github.requests) == 1


def test_pull_requests_count_towards_a_full_page(github: FakeGitHub) -> None:
    # GIVEN 90 issues and 10 pull requests: a full page of items, 90 of them issues
    repo = github.add_repo("acme", "widgets")
    _seed(repo, 90, labels=["agent"])
    for n in range(10):
        repo.add_issue(f"pr {n}", labels=["agent"], pull_request=True)
    # WHEN the walk runs
    pages = list(_tracker(github).pages(QUERY, {}))
    # THEN page 1 holds 90 issues but counts 100 items, so the page after it is asked for too
    assert len(pages[0].issues) == 90 and pages[0].item_count == 100
    assert len(pages) == 2


def test_empty_repository_gives_one_empty_page(github: FakeGitHub) -> None:
    # GIVEN a repository without issues
    github.add_repo("acme", "widgets")

    # WHEN the tracker walks it
    pages = list(_tracker(github).pages(QUERY, {}))

    # THEN there is one modified, empty page with an ETag and no next link
    assert len(pages) == 1
    assert pages[0].modified and pages[0].issues == () and pages[0].etag and pages[0].next_url is None


# --- conditional requests ------------------------------------------------------------


def test_cached_pages_are_asked_with_weak_etags_verbatim_and_304_continues_with_cached_next_link(
    github: FakeGitHub,
) -> None:
    # GIVEN a repository with weak ETags, walked once (three pages) into a cache
    _seed(github.add_repo("acme", "widgets", weak_etags=True), 250, labels=["agent"])
    tracker = _tracker(github)
    first_walk = list(tracker.pages(QUERY, {}))
    cache = _cache(first_walk)
    github.clear_requests()

    # WHEN it walks again with that cache and nothing changed
    second_walk = list(tracker.pages(QUERY, cache))

    # THEN every page is a 304 asked with its W/ ETag as stored, and the walk went on
    # through the cached next links
    assert [r.status for r in github.requests] == [304, 304, 304]
    assert [r.header("If-None-Match") for r in github.requests] == [p.etag for p in first_walk]
    assert all(p.etag is not None and p.etag.startswith('W/"') for p in first_walk)
    assert [r.url for r in github.requests] == [p.url for p in first_walk]
    assert all(not p.modified and p.issues == () for p in second_walk)
    assert [p.next_url for p in second_walk] == [p.next_url for p in first_walk]
    assert not any(p.etag_rotated for p in second_walk)


def test_304_does_not_spend_rate_limit_and_200_does(github: FakeGitHub) -> None:
    # GIVEN a repository walked once
    github.add_repo("acme", "widgets").add_issue("one", labels=["agent"])
    tracker = _tracker(github)
    (fresh,) = tracker.pages(QUERY, {})

    # WHEN it is walked again with the cache
    (cached,) = tracker.pages(QUERY, _cache([fresh]))

    # THEN the 304 left the remaining budget where the 200 put it
    assert fresh.rate.remaining == 4999
    assert cached.rate.remaining == 4999


def test_a_change_on_page_three_gives_304_304_200(github: FakeGitHub) -> None:
    # GIVEN three pages, cached
    repo = github.add_repo("acme", "widgets")
    _seed(repo, 250, labels=["agent"])
    tracker = _tracker(github)
    first_walk = list(tracker.pages(QUERY, {}))

    # WHEN an issue on page 3 changes
    repo.update_issue(240, title="renamed")
    second_walk = list(tracker.pages(QUERY, _cache(first_walk)))

    # THEN only page 3 comes back, with a new ETag and the new title
    assert [p.modified for p in second_walk] == [False, False, True]
    assert second_walk[2].etag != first_walk[2].etag
    assert "renamed" in [i.title for i in second_walk[2].issues]


def test_etag_that_rotates_on_a_304_is_reported(github: FakeGitHub) -> None:
    # GIVEN a page cached with a strong ETag
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("one", labels=["agent"])
    tracker = _tracker(github)
    (fresh,) = tracker.pages(QUERY, {})

    # WHEN GitHub starts answering with a weak ETag for the same content
    repo.weak_etags = True
    (cached,) = tracker.pages(QUERY, _cache([fresh]))

    # THEN the 304 carries the new ETag and the page says it rotated
    assert not cached.modified
    assert cached.etag_rotated
    assert cached.etag == f"W/{fresh.etag}"


def test_304_for_a_page_without_a_stored_etag_is_a_bad_response(github: FakeGitHub) -> None:
    # GIVEN GitHub answers 304 although nothing was asked conditionally
    github.add_repo("acme", "widgets").add_issue("one", labels=["agent"])
    github.inject("not_modified_without_etag")

    # WHEN the tracker walks without a cache
    # THEN it is a typed bad response, not a crash
    with pytest.raises(BadTrackerResponse):
        list(_tracker(github).pages(QUERY, {}))


def test_304_without_an_etag_header_keeps_the_stored_etag(github: FakeGitHub) -> None:
    # GIVEN a cached page, and a 304 that carries no ETag header
    github.add_repo("acme", "widgets").add_issue("one", labels=["agent"])
    tracker = _tracker(github)
    (fresh,) = tracker.pages(QUERY, {})
    github.inject("not_modified_without_etag")

    # WHEN the page is asked again
    (cached,) = tracker.pages(QUERY, _cache([fresh]))

    # THEN it is not modified, with the stored ETag, which did not rotate
    assert not cached.modified
    assert cached.etag == fresh.etag
    assert not cached.etag_rotated


def test_etags_differ_per_token(github: FakeGitHub) -> None:
    # GIVEN one repository
    github.add_repo("acme", "widgets").add_issue("one", labels=["agent"])

    # WHEN two tokens list it
    (a,) = _tracker(github, token="token-a").pages(QUERY, {})
    (b,) = _tracker(github, token="token-b").pages(QUERY, {})

    # THEN their ETags differ, as GitHub's do
    assert a.etag != b.etag


# --- rate-limit headers --------------------------------------------------------------


def test_every_page_carries_the_rate_limit_headers(github: FakeGitHub) -> None:
    # GIVEN a token with 100 calls left
    _seed(github.add_repo("acme", "widgets"), 150, labels=["agent"])
    github.set_rate_limit(TOKEN, remaining=100, limit=5000, reset_in=1800)

    # WHEN the tracker walks two pages
    pages = list(_tracker(github).pages(QUERY, {}))

    # THEN each page has the remaining count, the reset time (aware) and the resource
    assert [p.rate.remaining for p in pages] == [99, 98]
    reset_at = pages[0].rate.reset_at
    assert reset_at is not None and reset_at.tzinfo is not None
    assert reset_at > datetime.now(UTC)
    assert pages[0].rate.resource == "core"


# --- mapping -------------------------------------------------------------------------


def test_issue_maps_to_a_domain_issue_spelled_as_configured(github: FakeGitHub) -> None:
    # GIVEN an issue in acme/widgets with labels, assignees and a body
    repo = github.add_repo("acme", "widgets")
    created = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
    repo.add_issue("Crash", labels=["agent", "bug"], assignees=["Dev-Bot", "ana"], body="boom", created_at=created)

    # WHEN the project spells the repository Acme/Widgets
    (page,) = _tracker(github).pages(IssueQuery("Acme", "Widgets", labels=("agent",)), {})

    # THEN the issue carries the configured spelling and GitHub's fields
    (issue,) = page.issues
    assert issue.canonical_id == "github:Acme/Widgets#1"
    assert issue.title == "Crash"
    assert issue.url == "https://github.com/acme/widgets/issues/1"
    assert issue.labels == ("agent", "bug")
    assert issue.assignees == ("Dev-Bot", "ana")
    assert issue.body == "boom"
    assert issue.created_at == created and issue.updated_at == created
    assert issue.state == "open" and not issue.is_pull_request


@pytest.mark.parametrize("association", ["OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "NONE", "FIRST_TIMER"])
def test_the_authors_login_and_association_are_read_from_the_list_answer(github: FakeGitHub, association: str) -> None:
    # GIVEN an issue whose author has this association with the repository
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("Crash", labels=["agent"], user="drive-by", author_association=association)
    # WHEN the repository is listed
    (page,) = _tracker(github).pages(IssueQuery("acme", "widgets"), {})
    # THEN the domain issue carries both, as GitHub gave them (no extra request per issue)
    (issue,) = page.issues
    assert (issue.author, issue.author_association) == ("drive-by", association)
    assert len(github.requests) == 1


def test_pull_requests_mixed_into_the_list_are_dropped(github: FakeGitHub) -> None:
    # GIVEN issues and pull requests, both labelled
    repo = github.add_repo("acme", "widgets")
    for n in range(1, 11):
        repo.add_issue(f"item {n}", labels=["agent"], pull_request=n % 3 == 0)

    # WHEN the tracker lists them
    (page,) = _tracker(github).pages(QUERY, {})

    # THEN only the issues are returned
    assert [i.number for i in page.issues] == [1, 2, 4, 5, 7, 8, 10]


def test_pull_requests_are_kept_and_flagged_when_asked_for(github: FakeGitHub) -> None:
    # GIVEN an issue and a pull request
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("issue", labels=["agent"])
    repo.add_issue("pr", labels=["agent"], pull_request=True)

    # WHEN the tracker is built for preview, which explains skipped pull requests
    (page,) = _tracker(github, include_pull_requests=True).pages(QUERY, {})

    # THEN both come back, the pull request flagged
    assert [(i.number, i.is_pull_request) for i in page.issues] == [(1, False), (2, True)]


def test_labels_as_strings_and_as_objects_both_map_to_names(github: FakeGitHub) -> None:
    # GIVEN one issue with label objects, one with bare strings, one with minimal objects
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("objects", labels=["agent", "bug"])
    repo.add_issue("strings", labels=["agent", "bug"], labels_as_strings=True)
    repo.add_issue("minimal", labels=[{"name": "agent"}, {"name": "bug"}])

    # WHEN the tracker lists them
    (page,) = _tracker(github).pages(QUERY, {})

    # THEN every issue has the same label names
    assert [i.labels for i in page.issues] == [("agent", "bug")] * 3


def test_unicode_labels_and_labels_with_spaces_are_encoded_and_matched(github: FakeGitHub) -> None:
    # GIVEN an issue labelled with spaces and non-ASCII, and one with only part of the labels
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("match", labels=["good first issue", "prêt 🚀", "bug"])
    repo.add_issue("partial", labels=["good first issue"])

    # WHEN the tracker asks for both labels
    query = IssueQuery("acme", "widgets", labels=("Good First Issue", "prêt 🚀"))
    (page,) = _tracker(github).pages(query, {})

    # THEN the URL carries them percent-encoded, GitHub reads them back exactly, and only
    # the issue with both labels (case-insensitive) is listed
    assert "labels=Good%20First%20Issue,pr%C3%AAt%20%F0%9F%9A%80" in page.url
    assert github.requests[0].query["labels"] == "Good First Issue,prêt 🚀"
    assert [i.title for i in page.issues] == ["match"]
    assert page.issues[0].labels == ("good first issue", "prêt 🚀", "bug")


def test_label_rule_reaches_an_eligible_issue_on_page_three(github: FakeGitHub) -> None:
    # GIVEN 250 labelled issues of which only #230 is not excluded as in-progress
    repo = github.add_repo("acme", "widgets")
    for n in range(1, 251):
        repo.add_issue(f"issue {n}", labels=["agent"] if n == 230 else ["agent", "in-progress"])
    rule = EligibilityRule(labels=("agent",))

    # WHEN the tracker walks the rule's query and the rule is applied page by page
    found = [
        (page.index, issue.number)
        for page in _tracker(github).pages(IssueQuery("acme", "widgets", labels=rule.labels), {})
        for issue in page.issues
        if is_eligible(issue, rule)
    ]

    # THEN the one eligible issue is reached, on page 3
    assert found == [(3, 230)]


# --- errors --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [403, 429])
def test_primary_rate_limit_carries_the_reset_time(github: FakeGitHub, status: int) -> None:
    # GIVEN GitHub says the token's budget is spent, resetting in ten minutes
    github.add_repo("acme", "widgets")
    github.inject("primary_rate_limit", status=status, reset_in=600)
    before = datetime.now(UTC)

    # WHEN the tracker lists
    with pytest.raises(PrimaryRateLimited) as caught:
        list(_tracker(github).pages(QUERY, {}))

    # THEN the error says when the budget resets (x-ratelimit-reset), and that is its retry time
    assert before + timedelta(seconds=590) <= caught.value.reset_at <= before + timedelta(seconds=610)
    assert caught.value.retry_at == caught.value.reset_at


def test_spent_budget_in_the_stand_in_gives_a_primary_rate_limit(github: FakeGitHub) -> None:
    # GIVEN a token with no calls left
    github.add_repo("acme", "widgets")
    github.set_rate_limit(TOKEN, remaining=0, limit=5000)

    # WHEN the tracker lists
    # THEN GitHub's own exhausted-budget answer is a primary rate limit
    with pytest.raises(PrimaryRateLimited):
        list(_tracker(github).pages(QUERY, {}))


def test_github_rate_limit_wording_without_rate_headers_is_a_primary_rate_limit(github: FakeGitHub) -> None:
    # GIVEN a 403 saying the rate limit is exceeded, its x-ratelimit-* headers stripped on the way
    github.add_repo("acme", "widgets")
    github.inject("status", status=403, body={"message": "API rate limit exceeded for 10.0.0.1."}, rate_headers=False)

    # WHEN the tracker lists
    with pytest.raises(PrimaryRateLimited) as caught:
        list(_tracker(github, clock=FixedClock(NOW)).pages(QUERY, {}))

    # THEN it backs off for a minute rather than calling it an auth failure
    assert caught.value.reset_at == NOW + timedelta(seconds=60)


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_with_retry_after_in_seconds(github: FakeGitHub, status: int) -> None:
    # GIVEN GitHub asks to retry after 120 seconds
    github.add_repo("acme", "widgets")
    github.inject("secondary_rate_limit_seconds", status=status, seconds=120)

    # WHEN the tracker lists
    with pytest.raises(SecondaryRateLimited) as caught:
        list(_tracker(github, clock=FixedClock(NOW)).pages(QUERY, {}))

    # THEN the retry time is the hint, counted from now
    assert caught.value.retry_at == NOW + timedelta(seconds=120)


def test_secondary_rate_limit_with_retry_after_as_an_http_date(github: FakeGitHub) -> None:
    # GIVEN GitHub asks to retry at a date
    github.add_repo("acme", "widgets")
    at = NOW + timedelta(minutes=3, seconds=7)
    github.inject("secondary_rate_limit_date", at=at)

    # WHEN the tracker lists
    with pytest.raises(SecondaryRateLimited) as caught:
        list(_tracker(github, clock=FixedClock(NOW)).pages(QUERY, {}))

    # THEN the retry time is that date
    assert caught.value.retry_at == at


def test_secondary_rate_limit_named_only_in_the_message_waits_at_least_a_minute(github: FakeGitHub) -> None:
    # GIVEN a 403 whose message names the secondary rate limit, without retry-after
    github.add_repo("acme", "widgets")
    github.inject("secondary_rate_limit_message")

    # WHEN the tracker lists
    with pytest.raises(SecondaryRateLimited) as caught:
        list(_tracker(github, clock=FixedClock(NOW)).pages(QUERY, {}))

    # THEN it waits the documented minimum of 60 seconds
    assert caught.value.retry_at == NOW + timedelta(seconds=60)


def test_abuse_message_is_a_secondary_rate_limit(github: FakeGitHub) -> None:
    # GIVEN the older wording, "abuse detection mechanism"
    github.add_repo("acme", "widgets")
    github.inject("secondary_rate_limit_message", message="You have triggered an abuse detection mechanism.")

    # WHEN the tracker lists
    # THEN it is a secondary rate limit too
    with pytest.raises(SecondaryRateLimited):
        list(_tracker(github, clock=FixedClock(NOW)).pages(QUERY, {}))


def test_bare_429_is_a_secondary_rate_limit_of_at_least_a_minute(github: FakeGitHub) -> None:
    # GIVEN a 429 with no hint at all
    github.add_repo("acme", "widgets")
    github.inject("status", status=429, body={"message": "Too Many Requests"})

    # WHEN the tracker lists
    with pytest.raises(SecondaryRateLimited) as caught:
        list(_tracker(github, clock=FixedClock(NOW)).pages(QUERY, {}))

    # THEN it waits at least a minute
    assert caught.value.retry_at == NOW + timedelta(seconds=60)


@pytest.mark.parametrize("fault", ["unauthorized", "forbidden"])
def test_401_and_other_403_are_auth_failures(github: FakeGitHub, fault: str) -> None:
    # GIVEN GitHub refuses the token
    github.add_repo("acme", "widgets")
    github.inject(fault)

    # WHEN the tracker lists
    # THEN it is an auth failure
    with pytest.raises(AuthFailed):
        list(_tracker(github).pages(QUERY, {}))


def test_a_token_github_does_not_know_is_an_auth_failure(github: FakeGitHub) -> None:
    # GIVEN a stand-in that knows only one token
    github.tokens = {"the-right-one"}
    github.add_repo("acme", "widgets")

    # WHEN another token is used
    # THEN GitHub's "Bad credentials" is an auth failure
    with pytest.raises(AuthFailed):
        list(_tracker(github, token="the-wrong-one").pages(QUERY, {}))


@pytest.mark.parametrize("fault", ["not_found", "gone"])
def test_404_and_410_mean_the_repository_is_not_found(github: FakeGitHub, fault: str) -> None:
    # GIVEN GitHub answers 404 or 410
    github.add_repo("acme", "widgets")
    github.inject(fault)

    # WHEN the tracker lists
    # THEN the repository is reported not found
    with pytest.raises(RepoNotFound):
        list(_tracker(github).pages(QUERY, {}))


def test_a_repository_that_does_not_exist_is_not_found(github: FakeGitHub) -> None:
    # GIVEN no repository acme/widgets at all
    # WHEN the tracker lists it
    with pytest.raises(RepoNotFound) as caught:
        list(_tracker(github).pages(QUERY, {}))

    # THEN the error names the repository
    assert "acme/widgets" in str(caught.value)


def test_a_private_repository_is_not_found_without_a_token(github: FakeGitHub) -> None:
    # GIVEN a private repository
    github.add_repo("acme", "widgets", private=True)

    # WHEN it is listed anonymously
    # THEN GitHub hides it: not found
    with pytest.raises(RepoNotFound):
        list(_tracker(github, token=None).pages(QUERY, {}))


@pytest.mark.parametrize("fault", ["server_error", "bad_gateway"])
def test_5xx_means_github_is_unavailable(github: FakeGitHub, fault: str) -> None:
    # GIVEN GitHub fails with 500 or 502
    github.add_repo("acme", "widgets")
    github.inject(fault)

    # WHEN the tracker lists
    # THEN GitHub is unavailable
    with pytest.raises(TrackerUnavailable):
        list(_tracker(github).pages(QUERY, {}))


class CountingRetries:
    """The poll's side of `Retries`: allows up to `allowed` retries, notes what it was asked."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.asked: list[tuple[str, int]] = []

    def allow(self, error: TrackerError, attempt: int) -> bool:
        self.asked.append((str(error), attempt))
        return attempt <= self.allowed


@pytest.mark.parametrize("fault", ["bad_gateway", "service_unavailable", "gateway_timeout", "connection_reset"])
def test_a_failure_in_passing_is_sent_again_while_the_poll_allows(github: FakeGitHub, fault: str) -> None:
    # GIVEN GitHub failing the first request in passing (502, 503, 504, or a reset connection)
    github.add_repo("acme", "widgets").add_issue("one", labels=["agent"])
    github.inject(fault, times=1)
    retries = CountingRetries(2)
    # WHEN the tracker lists with the poll's retries
    pages = list(_tracker(github).pages(QUERY, {}, retries=retries))
    # THEN it asked the poll once, sent the request again, and got the page
    assert [len(p.issues) for p in pages] == [1]
    assert [attempt for _, attempt in retries.asked] == [1]
    assert [r.status for r in github.requests_for("acme/widgets")][-1] == 200


def test_a_failure_in_passing_is_not_sent_again_when_the_poll_says_no(github: FakeGitHub) -> None:
    # GIVEN GitHub answering 502 three times, and a poll that allows one retry
    github.add_repo("acme", "widgets")
    github.inject("bad_gateway", times=3)
    retries = CountingRetries(1)
    # WHEN the tracker lists  THEN the second 502 ends it, as GitHub being unavailable
    with pytest.raises(TrackerUnavailable) as failed:
        list(_tracker(github).pages(QUERY, {}, retries=retries))
    assert failed.value.retryable and failed.value.transient
    assert [attempt for _, attempt in retries.asked] == [1, 2]
    assert len(github.requests_for("acme/widgets")) == 2


@pytest.mark.parametrize("fault", ["server_error", "not_found", "unauthorized", "malformed_json"])
def test_a_500_or_an_answer_that_will_not_change_is_never_sent_again(github: FakeGitHub, fault: str) -> None:
    # GIVEN GitHub answering 500, 404, 401 or a body that is not JSON
    github.add_repo("acme", "widgets")
    github.inject(fault, times=1)
    retries = CountingRetries(2)
    # WHEN the tracker lists  THEN it fails at once, without asking the poll
    with pytest.raises(TrackerError):
        list(_tracker(github).pages(QUERY, {}, retries=retries))
    assert retries.asked == []
    assert len(github.requests_for("acme/widgets")) == 1


def test_a_503_with_retry_after_is_not_retried_sooner_and_carries_the_time(github: FakeGitHub) -> None:
    # GIVEN GitHub answering 503 with retry-after: 120, on the tracker's clock
    github.add_repo("acme", "widgets")
    github.inject("status", status=503, headers={"retry-after": "120"}, times=1)
    declining = CountingRetries(0)  # the poll declines a retry before the server's time (test_poll)
    # WHEN the tracker lists  THEN the poll was asked with the server's time on the error, and
    # the error that ends the walk carries it to the backoff
    with pytest.raises(TrackerUnavailable) as failed:
        list(_tracker(github, clock=FixedClock(NOW)).pages(QUERY, {}, retries=declining))
    assert failed.value.retry_at == NOW + timedelta(seconds=120) and failed.value.retryable
    assert [attempt for _, attempt in declining.asked] == [1]


def test_a_certificate_that_does_not_verify_is_no_blip(github: FakeGitHub) -> None:
    # GIVEN the tracker speaking TLS to a server that does not (as a wrong proxy or certificate
    # would have it: the handshake fails)
    github.add_repo("acme", "widgets")
    tracker = GitHubTracker(github.base_url.replace("http://", "https://"), TOKEN, timeout=(2.0, 2.0))
    retries = CountingRetries(2)
    # WHEN it lists  THEN it is a setting to fix: not retried, not transient
    with pytest.raises(TrackerMisconfigured) as failed:
        list(tracker.pages(QUERY, {}, retries=retries))
    assert not failed.value.transient and retries.asked == []
    assert "TLS certificate" in str(failed.value) and TOKEN not in str(failed.value)


def test_without_retries_a_502_fails_the_walk_at_once(github: FakeGitHub) -> None:
    # GIVEN GitHub answering 502 once  WHEN the tracker lists without retries (a preview)
    github.add_repo("acme", "widgets")
    github.inject("bad_gateway", times=1)
    # THEN the 502 is the answer
    with pytest.raises(TrackerUnavailable):
        list(_tracker(github).pages(QUERY, {}))
    assert len(github.requests_for("acme/widgets")) == 1


def test_a_slow_answer_past_the_read_timeout_means_github_is_unavailable(github: FakeGitHub) -> None:
    # GIVEN GitHub takes five seconds to answer
    github.add_repo("acme", "widgets")
    github.inject("slow", seconds=5)

    # WHEN the tracker's read timeout is a fraction of that
    # THEN the call is cut off as unavailable
    with pytest.raises(TrackerUnavailable):
        list(_tracker(github, timeout=(2.0, 0.2)).pages(QUERY, {}))


def test_a_refused_connection_means_github_is_unavailable() -> None:
    # GIVEN a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    # WHEN the tracker lists there
    # THEN GitHub is unavailable
    with pytest.raises(TrackerUnavailable):
        list(GitHubTracker(f"http://127.0.0.1:{port}", TOKEN, timeout=(1.0, 1.0)).pages(QUERY, {}))


def test_malformed_json_is_a_bad_response(github: FakeGitHub) -> None:
    # GIVEN a 200 whose body is cut-off JSON
    github.add_repo("acme", "widgets")
    github.inject("malformed_json")

    # WHEN the tracker lists
    # THEN it is a bad response
    with pytest.raises(BadTrackerResponse):
        list(_tracker(github).pages(QUERY, {}))


@pytest.mark.parametrize(
    "body",
    ['{"message": "not a list"}', "[1, 2, 3]", '[{"title": "no number"}]', '[{"number": "1", "title": "x"}]'],
)
def test_a_body_that_is_not_a_list_of_issues_is_a_bad_response(github: FakeGitHub, body: str) -> None:
    # GIVEN a 200 with JSON that is not a list of issue objects
    github.add_repo("acme", "widgets")
    github.inject("malformed_json", body=body)

    # WHEN the tracker lists
    # THEN it is a bad response
    with pytest.raises(BadTrackerResponse):
        list(_tracker(github).pages(QUERY, {}))


def test_a_next_link_to_another_host_is_refused(github: FakeGitHub) -> None:
    # GIVEN a page whose Link points somewhere else (the token would go with it)
    github.add_repo("acme", "widgets")
    github.inject(
        "status",
        status=200,
        body=[],
        headers={"Link": '<https://elsewhere.example/repositories/1/issues?page=2>; rel="next"'},
    )

    # WHEN the tracker lists
    # THEN it refuses to follow, as a bad response, and sent nothing there
    with pytest.raises(BadTrackerResponse):
        list(_tracker(github).pages(QUERY, {}))
    assert len(github.requests) == 1


def test_an_error_on_page_two_comes_after_page_one(github: FakeGitHub) -> None:
    # GIVEN two pages, and GitHub failing on the second
    _seed(github.add_repo("acme", "widgets"), 150, labels=["agent"])
    github.inject("server_error", page=2)
    walk = _tracker(github).pages(QUERY, {})

    # WHEN the walk runs
    first = next(walk)

    # THEN page 1 arrived, and the failure surfaces on page 2
    assert first.index == 1 and len(first.issues) == 100
    with pytest.raises(TrackerUnavailable):
        next(walk)


def test_issues_that_vanish_between_pages_end_the_walk_cleanly(github: FakeGitHub) -> None:
    # GIVEN two pages, and every issue after page 1 closed right after page 1 is served
    _seed(github.add_repo("acme", "widgets"), 150, labels=["agent"])
    github.inject("vanish_after_first_page")

    # WHEN the walk runs
    pages = list(_tracker(github).pages(QUERY, {}))

    # THEN page 2 is simply empty
    assert [len(p.issues) for p in pages] == [100, 0]


# --- the token stays secret ----------------------------------------------------------

_EVERY_FAULT: list[tuple[str, dict[str, Any]]] = [
    ("primary_rate_limit", {}),
    ("secondary_rate_limit_seconds", {}),
    ("secondary_rate_limit_date", {}),
    ("secondary_rate_limit_message", {}),
    ("unauthorized", {}),
    ("forbidden", {"message": f"token {TOKEN} is not allowed"}),
    ("not_found", {}),
    ("gone", {}),
    ("server_error", {}),
    ("bad_gateway", {}),
    ("malformed_json", {}),
    ("not_modified_without_etag", {}),
    ("slow", {"seconds": 3}),
]


def test_the_token_never_appears_in_errors_or_logs(github: FakeGitHub, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN every fault GitHub can answer with, one after another, logging at DEBUG
    caplog.set_level(logging.DEBUG)
    github.add_repo("acme", "widgets").add_issue("one", labels=["agent"])
    tracker = _tracker(github, timeout=(2.0, 0.3))
    texts: list[str] = [repr(tracker)]

    # WHEN the tracker meets each of them
    for fault, params in _EVERY_FAULT:
        github.inject(fault, **params)
        with pytest.raises(TrackerError) as caught:
            list(tracker.pages(QUERY, {}))
        error: BaseException | None = caught.value
        while error is not None:
            texts += [str(error), repr(error), *map(str, error.args)]
            error = error.__cause__ or error.__context__

    # THEN the token is in no error, no cause and no log line
    assert texts
    assert all(TOKEN not in text for text in texts)
    assert TOKEN not in caplog.text


def test_a_token_quoted_where_githubs_message_is_cut_leaves_no_piece_of_it(github: FakeGitHub) -> None:
    # GIVEN a refusal quoting the token so that the 200-character cap falls inside it
    github.add_repo("acme", "widgets")
    github.inject("forbidden", message="x" * 180 + f" {ECHO_CREDENTIAL} and more")

    # WHEN the tracker lists
    with pytest.raises(AuthFailed) as caught:
        list(_tracker(github).pages(QUERY, {}))

    # THEN the message keeps GitHub's words, and not even the token's head
    assert "x" * 100 in str(caught.value)
    assert TOKEN[:12] not in str(caught.value)


# --- who may write: a collaborator's permission ------------------------------------------------


@pytest.mark.parametrize(
    ("role", "permission"),
    [("admin", "admin"), ("maintain", "write"), ("write", "write"), ("triage", "read"), ("read", "read")],
)
def test_a_logins_permission_is_githubs_base_role_with_the_role_itself(
    github: FakeGitHub, role: str, permission: str
) -> None:
    # GIVEN a member with this role on the repository
    github.add_repo("acme", "widgets").set_permission("ana", role)
    # WHEN the tracker asks for their permission
    answer = _tracker(github).permission("acme", "widgets", "ana")
    # THEN it is GitHub's base permission (maintain is write, triage is read) and the role's name,
    # asked at the documented route with the token, and the answer's rate-limit headers come along
    assert (answer.permission, answer.role) == (permission, role)
    (request,) = github.requests
    assert request.path == "/repos/acme/widgets/collaborators/ana/permission"
    assert request.header("Authorization") == f"Bearer {TOKEN}"
    assert answer.rate.known and answer.rate.remaining == github.rate_remaining(TOKEN)


def test_someone_who_is_no_collaborator_has_permission_none(github: FakeGitHub) -> None:
    github.add_repo("acme", "widgets")
    assert _tracker(github).permission("acme", "widgets", "stranger").permission == "none"


def test_a_login_github_does_not_know_reads_as_none(github: FakeGitHub) -> None:
    # GIVEN GitHub answering 404 for the login (no such user)
    github.add_repo("acme", "widgets")
    github.inject("not_found", repo="acme/widgets")
    # WHEN asked THEN nobody may write under that name
    assert _tracker(github).permission("acme", "widgets", "ghost").permission == "none"


def test_a_credential_github_refuses_the_question_is_told_what_to_grant(github: FakeGitHub) -> None:
    # GIVEN a token whose account cannot push (GitHub's 403 "Must have push access ...")
    github.add_repo("acme", "widgets")
    github.set_read_only(TOKEN)
    # WHEN the tracker asks THEN a persistent, typed error names the permission the credential lacks
    with pytest.raises(WriteAccessUnreadable) as refused:
        _tracker(github).permission("acme", "widgets", "ana")
    message = str(refused.value)
    assert not refused.value.transient
    assert "Must have push access to view collaborator permission" in message
    assert "Metadata: read" in message and "push access" in message and "memberWriteCheck" in message
    assert TOKEN not in message


def test_a_rate_limited_question_is_a_rate_limit_not_a_refusal(github: FakeGitHub) -> None:
    github.add_repo("acme", "widgets")
    github.inject("secondary_rate_limit_seconds", seconds=30)
    with pytest.raises(SecondaryRateLimited):
        _tracker(github, clock=FixedClock(NOW)).permission("acme", "widgets", "ana")


def test_a_question_that_fails_in_passing_is_asked_again_while_the_poll_allows(github: FakeGitHub) -> None:
    # GIVEN GitHub answering the first question 502, and a poll that allows a retry
    github.add_repo("acme", "widgets").set_permission("ana", "write")
    github.inject("bad_gateway", times=1)
    retries = CountingRetries(1)
    # WHEN asked THEN the retry got the answer
    assert _tracker(github).permission("acme", "widgets", "ana", retries).permission == "write"
    assert len(retries.asked) == 1 and len(github.permission_requests()) == 2
