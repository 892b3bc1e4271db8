"""Session status reports from the backend: how they are signed, which are accepted, and what
they change on the claim (docs/design.md, "Session status from the backend").

A report is signed with the key the launcher signs its webhook with, over what it authorises:
the method, the canonical issue id the path names, the timestamp and the exact body bytes, which
carry the claim generation (domain/signing.py). It is accepted within five minutes of its
timestamp, once, and only on the claim of that generation while it is launching or launched: it
never moves the claim itself (only a release does).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, replace
from datetime import datetime

from .errors import ReportRefused, ReportUnauthenticated, RuleBroken, SessionNotFound
from .patterns import LOGIN_PATTERN, REPO_CHARS
from .ports import StatusLedger
from .records import STATUS_HISTORY_LIMIT, Claim, ClaimStatus, ReportGuard, SessionStatus, StatusChange
from .signing import REPORT_STRING, SIGNATURE_HEADER, TIMESTAMP_HEADER, legacy_signature, report_signature

# How far a report's timestamp may be from the API's clock, either way.
MAX_SKEW_SECONDS = 300
# Reports with one timestamp (one second) whose signatures the guard keeps; more are refused.
MAX_REPORTS_PER_SECOND = 20
# A report that loses the race for its claim's write reads the claim again, this many times.
_WRITE_ATTEMPTS = 3

# Only these claims have a session to report on.
REPORTABLE = (ClaimStatus.LAUNCHING, ClaimStatus.LAUNCHED)

# A host name, with a port when it has one: the host itself is checked against the deployment's.
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?"
# A pull request's page: https://HOST/OWNER/REPO/pull/NUMBER.
PR_URL_PATTERN = rf"https://({_HOST})/{LOGIN_PATTERN}/{REPO_CHARS}{{1,100}}/pull/[1-9][0-9]{{0,17}}"
PR_URL_MAX_CHARS = 512
_PR_URL = re.compile(PR_URL_PATTERN)
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class StatusReport:
    """What a report says (the API's body, validated)."""

    status: SessionStatus
    # The claim generation the session was launched for (the webhook's `generation`): signed
    # with the body, so a report for one generation never lands on the next.
    generation: int
    pr_url: str | None = None


@dataclass(frozen=True)
class SignedReport:
    """A report as it arrived, before anything reads its body: what its signature must cover."""

    method: str
    # The canonical id the request's path names, decoded (`github:acme/app#42`).
    issue_id: str
    body: bytes
    timestamp: str | None
    signature: str | None


@dataclass(frozen=True)
class Receipt:
    """A verified signature: the timestamp it covers and a digest of it (what the guard keeps)."""

    timestamp: int
    digest: str


def verify_report(key: str, report: SignedReport, now: datetime) -> Receipt:
    """The receipt of a report signed with `key`, for its method and issue, within
    `MAX_SKEW_SECONDS` of `now`.

    Raises ReportUnauthenticated naming the header at fault. The signature is compared in
    constant time, and checked before the timestamp's age, so a stale report and a forged one
    are told apart only for a caller who holds the key. A signature made for another issue (or
    method) does not match: the refusal names the issue this path asked for.
    """
    timestamp, signature = report.timestamp, report.signature
    if not timestamp:
        raise ReportUnauthenticated(TIMESTAMP_HEADER, f"{TIMESTAMP_HEADER} is required: the report's Unix time (s)")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise ReportUnauthenticated(TIMESTAMP_HEADER, f"{TIMESTAMP_HEADER} is not a Unix time in whole seconds")
    if not signature:
        raise ReportUnauthenticated(
            SIGNATURE_HEADER, f"{SIGNATURE_HEADER} is required: sha256=<hex HMAC-SHA256 of '{REPORT_STRING}'>"
        )
    _check_signature(key, report, timestamp, signature)
    skew = int(now.timestamp()) - int(timestamp)
    if abs(skew) > MAX_SKEW_SECONDS:
        direction = "old" if skew > 0 else "in the future"
        raise ReportUnauthenticated(
            TIMESTAMP_HEADER,
            f"{TIMESTAMP_HEADER} is {abs(skew)} s {direction}; a report is accepted within "
            f"{MAX_SKEW_SECONDS} s of the server's clock (sign it again now, and check the sender's clock)",
        )
    return Receipt(int(timestamp), hashlib.sha256(signature.encode()).hexdigest()[:32])


def _check_signature(key: str, report: SignedReport, timestamp: str, signature: str) -> None:
    sent = signature.encode("utf-8", "surrogatepass")
    expected = report_signature(key, timestamp, report.method, report.issue_id, report.body)
    if hmac.compare_digest(expected.encode(), sent):
        return
    if hmac.compare_digest(legacy_signature(key, timestamp, report.body).encode(), sent):
        raise ReportUnauthenticated(
            SIGNATURE_HEADER,
            f"{SIGNATURE_HEADER} signs '<timestamp>.<body>', which is no longer accepted: sign "
            f"'{REPORT_STRING}', which binds the report to its issue",
        )
    raise ReportUnauthenticated(
        SIGNATURE_HEADER,
        f"{SIGNATURE_HEADER} does not match: sign '{REPORT_STRING}' with the session webhook key, "
        f"where the issue id is the one this path names ({report.issue_id[:200]!r})",
    )


def web_hosts(github_api_url: str | None) -> frozenset[str]:
    """The hosts a pull request may be on: github.com, and the deployment's GitHub's web host
    (`https://ghe.example.com/api/v3` -> ghe.example.com, `https://api.acme.ghe.com` -> acme.ghe.com)."""
    hosts = {"github.com"}
    if github_api_url:
        match = re.fullmatch(r"https://([^/?#]+)(?:/.*)?", github_api_url)
        if match:
            host = match[1].lower()
            hosts.add(host.removeprefix("api.") if host.startswith("api.") else host)
    return frozenset(hosts)


def check_pr_url(url: str, hosts: frozenset[str]) -> str:
    """The URL if it is a pull request's page on one of `hosts`; RuleBroken("prUrl") if not."""
    match = _PR_URL.fullmatch(url)
    if match is None:
        raise RuleBroken("prUrl", "must be a pull request's URL, https://HOST/OWNER/REPO/pull/NUMBER")
    if match[1].lower() not in hosts:
        raise RuleBroken("prUrl", f"must be on {' or '.join(sorted(hosts))}, not {match[1][:100]!r}")
    return url


def record_report(
    ledger: StatusLedger, canonical_id: str, report: StatusReport, receipt: Receipt, now: datetime
) -> Claim:
    """Keep an accepted report on the issue's claim; the claim as it is afterwards.

    Raises SessionNotFound (no claim), ReportUnauthenticated (a replay) or ReportRefused (the
    claim is not launching or launched, or is of another generation). Each is decided on the
    claim as read, and the write is conditional on it still being so: a report that loses a
    race (another report, a release) reads the claim again and is decided again.
    """
    for _ in range(_WRITE_ATTEMPTS):
        claim = ledger.get_claim(canonical_id)
        if claim is None:
            raise SessionNotFound(f"no session was started for {canonical_id}")
        updated = with_report(claim, report, receipt, now)
        if ledger.record_status(updated, claim.status_reports):
            return updated
    raise ReportRefused("issueId", f"the claim on {canonical_id} kept changing under the report; send it again")


def with_report(claim: Claim, report: StatusReport, receipt: Receipt, now: datetime) -> Claim:
    """The claim with the report kept on it, or why it cannot take it."""
    guard = claim.report_guard
    same_second = guard is not None and guard.timestamp == receipt.timestamp
    if guard is not None and receipt.timestamp < guard.timestamp:
        raise ReportUnauthenticated(
            TIMESTAMP_HEADER,
            f"{TIMESTAMP_HEADER} is older than the last report accepted for this issue: a replay, or a "
            "report sent out of order (send the current status, signed with the current time)",
        )
    if guard is not None and same_second and receipt.digest in guard.digests:
        raise ReportUnauthenticated(SIGNATURE_HEADER, "this report was already accepted; a replayed request is refused")
    if claim.status not in REPORTABLE:
        raise ReportRefused("issueId", _not_reportable(claim))
    if report.generation != claim.generation:
        raise ReportRefused(
            "generation",
            f"the report is for generation {report.generation}, and the claim on {claim.canonical_id} is at "
            f"generation {claim.generation}: it was released and taken again by a new session",
        )
    digests = (*guard.digests, receipt.digest) if guard is not None and same_second else (receipt.digest,)
    if len(digests) > MAX_REPORTS_PER_SECOND:
        raise ReportRefused(
            "issueId", f"more than {MAX_REPORTS_PER_SECOND} reports in one second; sign the next one a second later"
        )
    change = StatusChange(report.status, now, report.pr_url)
    return replace(
        claim,
        session_status=report.status,
        pr_url=report.pr_url or claim.pr_url,
        status_history=(*claim.status_history, change)[-STATUS_HISTORY_LIMIT:],
        status_reports=claim.status_reports + 1,
        report_guard=ReportGuard(receipt.timestamp, digests),
    )


def _not_reportable(claim: Claim) -> str:
    issue = claim.canonical_id
    if claim.status is ClaimStatus.RELEASED:
        return (
            f"the claim on {issue} is released, and a status report never re-opens a claim: only the "
            "session a later poll starts for it can report"
        )
    if claim.status is ClaimStatus.FAILED:
        return f"the launch of {issue} failed, so it has no session to report on (release it to try again)"
    return f"no session is launched for {issue} yet (its claim is {claim.status.value})"
