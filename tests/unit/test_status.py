"""Session status reports on in-memory ports: who may report, what a report keeps, what it never does."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fakes import MemoryStore

from tracker_intake.domain.errors import ReportRefused, ReportUnauthenticated, RuleBroken, SessionNotFound
from tracker_intake.domain.records import (
    STATUS_HISTORY_LIMIT,
    Claim,
    ClaimStatus,
    IssueSnapshot,
    SessionStatus,
)
from tracker_intake.domain.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    launch_signature,
    legacy_signature,
    report_signature,
)
from tracker_intake.domain.status import (
    MAX_SKEW_SECONDS,
    Receipt,
    SignedReport,
    StatusReport,
    check_pr_url,
    record_report,
    verify_report,
    web_hosts,
)

ISSUE = "github:acme/app#42"
KEY = "webhook-key"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
T0 = int(NOW.timestamp())
BODY = b'{"status":"working","generation":1}'
PR = "https://github.com/acme/app/pull/43"


def claim(status: ClaimStatus = ClaimStatus.LAUNCHED, generation: int = 1) -> Claim:
    return Claim(
        canonical_id=ISSUE,
        project_id="demo",
        status=status,
        claim_token="t1",
        claimed_at=NOW,
        updated_at=NOW,
        issue=IssueSnapshot(42, "Crash", "https://github.com/acme/app/issues/42", ("agent",), (), "", None),
        generation=generation,
        session_ref="s-1" if status is ClaimStatus.LAUNCHED else None,
    )


def store_with(status: ClaimStatus = ClaimStatus.LAUNCHED) -> MemoryStore:
    store = MemoryStore()
    store.put_claim(claim(status))
    return store


def signed(
    timestamp: str | None = str(T0),
    signature: str | None = None,
    body: bytes = BODY,
    issue_id: str = ISSUE,
    method: str = "POST",
) -> SignedReport:
    """A report on `issue_id` as it arrives; signed for it with the key unless `signature` is given."""
    if signature is None and timestamp is not None:
        signature = report_signature(KEY, timestamp, method, issue_id, body)
    return SignedReport(method, issue_id, body, timestamp, signature)


def receipt(timestamp: int = T0, body: bytes = BODY) -> Receipt:
    """What verify_report gives for a report signed at `timestamp`."""
    return verify_report(KEY, signed(str(timestamp), body=body), NOW)


def stored(store: MemoryStore) -> Claim:
    found = store.get_claim(ISSUE)
    assert found is not None
    return found


# --- the signature ---------------------------------------------------------------------------------


def test_a_report_signed_with_the_key_over_its_target_timestamp_and_body_is_verified() -> None:
    # GIVEN a body signed with the webhook key, for its issue, at the server's time
    report = signed()
    # WHEN it is verified
    got = verify_report(KEY, report, NOW)
    # THEN the receipt carries its timestamp and a digest of the signature, not the signature
    assert got.timestamp == T0
    assert report.signature is not None and got.digest and got.digest not in report.signature


def test_the_report_string_is_the_documented_one() -> None:
    # GIVEN the string the docs tell a backend to sign, built by hand
    message = b"intake-report-v2\n" + str(T0).encode() + b"\nPOST\n" + ISSUE.encode() + b"\n" + BODY
    by_hand = "sha256=" + hmac.new(KEY.encode(), message, hashlib.sha256).hexdigest()
    # WHEN such a report is verified THEN it holds
    assert verify_report(KEY, signed(signature=by_hand), NOW).timestamp == T0


@pytest.mark.parametrize(
    ("signature", "body"),
    [
        (report_signature("another-key", str(T0), "POST", ISSUE, BODY), BODY),
        (report_signature(KEY, str(T0), "POST", ISSUE, BODY), b'{"status":"merged","generation":1}'),
        (report_signature(KEY, str(T0 + 1), "POST", ISSUE, BODY), BODY),
        ("sha256=" + "0" * 64, BODY),
        ("sha256=\u00e9", BODY),
    ],
    ids=["another key", "another body", "another timestamp", "a made-up digest", "not ASCII"],
)
def test_a_report_not_signed_with_the_key_over_this_timestamp_and_body_is_refused(signature: str, body: bytes) -> None:
    # GIVEN a signature that does not cover this timestamp and body with the key
    # WHEN it is verified THEN it is refused, naming the signature header
    with pytest.raises(ReportUnauthenticated) as refused:
        verify_report(KEY, signed(signature=signature, body=body), NOW)
    assert refused.value.field == SIGNATURE_HEADER


@pytest.mark.parametrize(
    ("signed_for", "method"),
    [("github:acme/app#7", "POST"), ("github:acme/other#42", "POST"), ("github:ACME/app#42", "POST"), (ISSUE, "PUT")],
    ids=["another number", "another repository", "another spelling", "another method"],
)
def test_a_report_signed_for_another_issue_or_method_is_refused_naming_the_path_issue(
    signed_for: str, method: str
) -> None:
    # GIVEN a report signed for another issue (or method) than the one its path names
    signature = report_signature(KEY, str(T0), method, signed_for, BODY)
    # WHEN it arrives on this issue's path THEN it is refused at the signature, naming this issue
    with pytest.raises(ReportUnauthenticated) as refused:
        verify_report(KEY, signed(signature=signature), NOW)
    assert refused.value.field == SIGNATURE_HEADER
    assert repr(ISSUE) in refused.value.reason


def test_a_report_signed_the_old_way_is_refused_saying_what_to_sign_now() -> None:
    # GIVEN a report signed over "<timestamp>.<body>", as the first version documented
    signature = legacy_signature(KEY, str(T0), BODY)
    # WHEN it is verified THEN it is refused, and the sentence says which string to sign instead
    with pytest.raises(ReportUnauthenticated) as refused:
        verify_report(KEY, signed(signature=signature), NOW)
    assert refused.value.field == SIGNATURE_HEADER
    assert "no longer accepted" in refused.value.reason and "intake-report-v2" in refused.value.reason


def test_a_launch_signature_is_never_a_report_signature() -> None:
    # GIVEN the launcher's signature of a body, with the same key and timestamp
    signature = launch_signature(KEY, str(T0), BODY)
    # WHEN it is sent back as a report on the issue THEN it is refused: the directions are kept apart
    with pytest.raises(ReportUnauthenticated):
        verify_report(KEY, signed(signature=signature), NOW)


@pytest.mark.parametrize("offset", [-(MAX_SKEW_SECONDS + 1), MAX_SKEW_SECONDS + 1])
def test_a_report_signed_more_than_five_minutes_away_from_the_server_clock_is_refused(offset: int) -> None:
    # GIVEN a well-signed report whose timestamp is just outside the window, either way
    timestamp = str(T0 + offset)
    # WHEN it is verified THEN it is refused as stale, naming the timestamp header
    with pytest.raises(ReportUnauthenticated) as refused:
        verify_report(KEY, signed(timestamp), NOW)
    assert refused.value.field == TIMESTAMP_HEADER
    assert f"{MAX_SKEW_SECONDS} s" in refused.value.reason


@pytest.mark.parametrize("offset", [-MAX_SKEW_SECONDS, MAX_SKEW_SECONDS])
def test_a_report_signed_within_five_minutes_is_verified(offset: int) -> None:
    # GIVEN a well-signed report at the edge of the window WHEN it is verified THEN it holds
    assert receipt(T0 + offset).timestamp == T0 + offset


@pytest.mark.parametrize(
    ("timestamp", "signature", "field"),
    [
        (None, "sha256=00", TIMESTAMP_HEADER),
        ("", "sha256=00", TIMESTAMP_HEADER),
        ("1767268800.5", "sha256=00", TIMESTAMP_HEADER),
        ("-1", "sha256=00", TIMESTAMP_HEADER),
        (str(T0), None, SIGNATURE_HEADER),
        (str(T0), "", SIGNATURE_HEADER),
    ],
    ids=["no timestamp", "empty timestamp", "fractional", "negative", "no signature", "empty signature"],
)
def test_a_report_missing_or_misspelling_a_header_is_refused_naming_it(
    timestamp: str | None, signature: str | None, field: str
) -> None:
    # GIVEN a report without one of its headers, or with a timestamp that is not whole seconds
    # WHEN it is verified THEN it is refused, naming that header
    with pytest.raises(ReportUnauthenticated) as refused:
        verify_report(KEY, signed(timestamp, signature) if signature is not None else _unsigned(timestamp), NOW)
    assert refused.value.field == field


def _unsigned(timestamp: str | None) -> SignedReport:
    return SignedReport("POST", ISSUE, BODY, timestamp, None)


# --- what a report keeps -----------------------------------------------------------------------------


def test_a_report_on_a_launched_session_keeps_its_status_and_a_history_entry() -> None:
    # GIVEN a launched claim
    store = store_with()
    # WHEN the backend reports a PR open
    after = record_report(store, ISSUE, StatusReport(SessionStatus.PR_OPEN, 1, PR), receipt(), NOW)
    # THEN the claim keeps the status, the PR and one dated entry, and is still launched
    assert stored(store) == after
    assert (after.session_status, after.pr_url, after.status) == (SessionStatus.PR_OPEN, PR, ClaimStatus.LAUNCHED)
    assert [(c.status, c.at, c.pr_url) for c in after.status_history] == [(SessionStatus.PR_OPEN, NOW, PR)]


def test_a_report_on_a_session_still_launching_is_kept() -> None:
    # GIVEN a claim whose launch has not been recorded yet (the backend answered, the launcher has not)
    store = store_with(ClaimStatus.LAUNCHING)
    # WHEN the backend reports the session working THEN it is kept, and the claim is still launching
    after = record_report(store, ISSUE, StatusReport(SessionStatus.WORKING, 1), receipt(), NOW)
    assert (after.session_status, after.status) == (SessionStatus.WORKING, ClaimStatus.LAUNCHING)


def test_a_later_report_without_a_pr_url_keeps_the_pr_already_reported() -> None:
    # GIVEN a session that reported its PR
    store = store_with()
    record_report(store, ISSUE, StatusReport(SessionStatus.PR_OPEN, 1, PR), receipt(T0), NOW)
    # WHEN it reports CI failed, naming no PR
    later = NOW + timedelta(minutes=3)
    after = record_report(store, ISSUE, StatusReport(SessionStatus.CI_FAILED, 1), receipt(T0 + 1), later)
    # THEN the PR stays; the history says which report named it
    assert (after.session_status, after.pr_url) == (SessionStatus.CI_FAILED, PR)
    assert [(c.status, c.pr_url) for c in after.status_history] == [
        (SessionStatus.PR_OPEN, PR),
        (SessionStatus.CI_FAILED, None),
    ]


def test_the_history_keeps_only_the_last_reports() -> None:
    # GIVEN a chatty session
    store = store_with()
    statuses = [SessionStatus.WORKING, SessionStatus.NEEDS_INPUT] * STATUS_HISTORY_LIMIT
    # WHEN it reports more times than the history holds
    for i, status in enumerate(statuses):
        record_report(store, ISSUE, StatusReport(status, 1), receipt(T0 + i), NOW + timedelta(seconds=i))
    # THEN the history holds the newest STATUS_HISTORY_LIMIT, oldest first; every report counted
    after = stored(store)
    assert len(after.status_history) == STATUS_HISTORY_LIMIT
    assert after.status_history[-1].at == NOW + timedelta(seconds=len(statuses) - 1)
    assert after.status_reports == len(statuses)


def test_two_different_reports_signed_in_the_same_second_are_both_kept() -> None:
    # GIVEN a report accepted at T0
    store = store_with()
    record_report(store, ISSUE, StatusReport(SessionStatus.PR_OPEN, 1, PR), receipt(T0), NOW)
    # WHEN another report, with another body, is signed in the same second
    body = b'{"status":"ci_failed"}'
    after = record_report(store, ISSUE, StatusReport(SessionStatus.CI_FAILED, 1), receipt(T0, body), NOW)
    # THEN it is kept too
    assert after.session_status is SessionStatus.CI_FAILED and after.status_reports == 2


# --- replays ---------------------------------------------------------------------------------------


def test_a_replayed_report_is_refused_and_changes_nothing() -> None:
    # GIVEN a report accepted once
    store = store_with()
    record_report(store, ISSUE, StatusReport(SessionStatus.WORKING, 1), receipt(), NOW)
    before = stored(store)
    # WHEN the same signed request arrives again, within the five minutes
    with pytest.raises(ReportUnauthenticated) as refused:
        record_report(store, ISSUE, StatusReport(SessionStatus.WORKING, 1), receipt(), NOW + timedelta(seconds=30))
    # THEN it is refused as a replay, and the claim is as it was
    assert refused.value.field == SIGNATURE_HEADER
    assert stored(store) == before


def test_a_report_older_than_the_last_accepted_is_refused_and_changes_nothing() -> None:
    # GIVEN a report accepted at T0 + 10
    store = store_with()
    record_report(store, ISSUE, StatusReport(SessionStatus.MERGED, 1), receipt(T0 + 10), NOW)
    before = stored(store)
    # WHEN a report signed earlier arrives (a replay of an older one, or out of order)
    with pytest.raises(ReportUnauthenticated) as refused:
        record_report(store, ISSUE, StatusReport(SessionStatus.WORKING, 1), receipt(T0), NOW)
    # THEN it is refused, naming the timestamp: the newer status stands
    assert refused.value.field == TIMESTAMP_HEADER
    assert stored(store) == before


def test_a_report_replayed_onto_the_next_generation_of_a_claim_is_refused() -> None:
    # GIVEN a report accepted on generation 1, then the claim released and taken again
    store = store_with()
    record_report(store, ISSUE, StatusReport(SessionStatus.MERGED, 1), receipt(), NOW)
    store.release("demo", ISSUE, NOW)
    assert store.take_over(claim(ClaimStatus.LAUNCHED, generation=2), "t1", ClaimStatus.RELEASED)
    before = stored(store)
    # WHEN the old report is replayed within its five minutes
    # THEN it is refused as a replay: the new session's claim is untouched
    with pytest.raises(ReportUnauthenticated):
        record_report(store, ISSUE, StatusReport(SessionStatus.MERGED, 1), receipt(), NOW)
    assert stored(store) == before and before.session_status is None


# --- a report never re-opens a claim ----------------------------------------------------------------


def test_a_report_on_a_released_claim_is_refused_and_the_claim_stays_released() -> None:
    # GIVEN a launched claim the user released
    store = store_with()
    store.release("demo", ISSUE, NOW)
    before = stored(store)
    # WHEN the old session reports it is still working
    with pytest.raises(ReportRefused) as refused:
        record_report(store, ISSUE, StatusReport(SessionStatus.WORKING, 1), receipt(), NOW)
    # THEN it is refused with the reason, and the claim is released as before
    assert "never re-opens" in refused.value.reason
    assert stored(store) == before and before.status is ClaimStatus.RELEASED


@pytest.mark.parametrize("status", [ClaimStatus.CLAIMED, ClaimStatus.ENQUEUED, ClaimStatus.FAILED])
def test_a_report_on_a_claim_with_no_launched_session_is_refused(status: ClaimStatus) -> None:
    # GIVEN a claim that has no session (not launched yet, or its launch failed)
    store = store_with(status)
    before = stored(store)
    # WHEN a report arrives THEN it is refused and nothing changes
    with pytest.raises(ReportRefused):
        record_report(store, ISSUE, StatusReport(SessionStatus.WORKING, 1), receipt(), NOW)
    assert stored(store) == before


def test_a_report_for_another_generation_is_refused_naming_the_generation() -> None:
    # GIVEN a launched claim at generation 2
    store = MemoryStore()
    store.put_claim(claim(generation=2))
    # WHEN the generation-1 session reports THEN it is refused at `generation`
    with pytest.raises(ReportRefused) as refused:
        record_report(store, ISSUE, StatusReport(SessionStatus.MERGED, generation=1), receipt(), NOW)
    assert refused.value.field == "generation"
    assert stored(store).session_status is None


def test_a_report_on_an_issue_with_no_claim_is_not_found() -> None:
    # GIVEN no claim WHEN a report arrives THEN SessionNotFound, and no claim appears
    store = MemoryStore()
    with pytest.raises(SessionNotFound):
        record_report(store, ISSUE, StatusReport(SessionStatus.WORKING, 1), receipt(), NOW)
    assert store.get_claim(ISSUE) is None


class ReleasedUnderTheReport(MemoryStore):
    """A store where a release lands between the report's read and its write."""

    def record_status(self, claim: Claim, expected_reports: int) -> bool:
        if self.get_claim(claim.canonical_id) is not None and stored(self).status is not ClaimStatus.RELEASED:
            self.release("demo", claim.canonical_id, NOW)
        return super().record_status(claim, expected_reports)


def test_a_release_racing_a_report_wins_and_the_report_is_refused() -> None:
    # GIVEN a launched claim, released while the report is being kept
    store = ReleasedUnderTheReport()
    store.put_claim(claim())
    # WHEN the report is recorded
    # THEN its conditional write fails, the claim is read again, and the report is refused
    with pytest.raises(ReportRefused):
        record_report(store, ISSUE, StatusReport(SessionStatus.WORKING, 1), receipt(), NOW)
    after = stored(store)
    assert after.status is ClaimStatus.RELEASED and after.session_status is None


# --- pull request URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_url", "hosts"),
    [
        (None, {"github.com"}),
        ("https://api.github.com", {"github.com"}),
        ("https://ghe.example.com/api/v3", {"github.com", "ghe.example.com"}),
        ("https://api.acme.ghe.com", {"github.com", "acme.ghe.com"}),
    ],
)
def test_pull_requests_may_be_on_github_com_or_the_deployments_github(api_url: str | None, hosts: set[str]) -> None:
    # GIVEN the deployment's GitHub API URL WHEN its web hosts are derived THEN they are these
    assert web_hosts(api_url) == hosts


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/app/pull/43",
        "https://GitHub.com/acme/app/pull/43",
        "https://ghe.example.com/acme/app/pull/1",
    ],
)
def test_a_pull_request_url_on_an_allowed_host_is_accepted(url: str) -> None:
    assert check_pr_url(url, web_hosts("https://ghe.example.com/api/v3")) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://github.com/acme/app/pull/43",
        "https://evil.example/acme/app/pull/43",
        "https://github.com.evil.example/acme/app/pull/43",
        "https://user@github.com/acme/app/pull/43",
        "https://github.com/acme/app/issues/43",
        "https://github.com/acme/app/pull/43?x=1",
        "javascript:alert(1)",
    ],
)
def test_anything_else_as_a_pull_request_url_is_refused_at_the_field(url: str) -> None:
    # GIVEN a URL that is not a pull request on github.com WHEN it is checked THEN 422 at prUrl
    with pytest.raises(RuleBroken) as refused:
        check_pr_url(url, web_hosts(None))
    assert refused.value.field == "prUrl"


def test_a_report_leaves_the_claim_fields_it_does_not_own_alone() -> None:
    # GIVEN a launched claim with a session reference, attempts and an old reason
    store = MemoryStore()
    original = replace(claim(), attempts=3, reason="first try timed out")
    store.put_claim(original)
    # WHEN a report is kept
    after = record_report(store, ISSUE, StatusReport(SessionStatus.WORKING, 1), receipt(), NOW)
    # THEN only the status fields changed
    assert replace(after, session_status=None, status_history=(), status_reports=0, report_guard=None) == original
