"""The session status route: the session backend reports what a session is doing.

It is the one route API Gateway lets through without SigV4 (template.yaml): a backend is not an
AWS principal. It holds the webhook key instead, so the function checks the key's signature
itself, on the raw request, before anything reads the body (`unsigned_report`, run by
`resolve`, as an authorizer would be). docs/design.md, "Session status from the backend".
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from ..domain.errors import ReportKeyUnavailable, ReportsUnavailable, ReportUnauthenticated
from ..domain.signing import REPORT_STRING, SIGNATURE_HEADER, TIMESTAMP_HEADER
from ..domain.status import Receipt, SignedReport, check_pr_url, record_report, verify_report
from .errors import error_answer, header, problem
from .models import SessionView, StatusReportBody
from .routes import ApiContext, Context, IssueIdParam, issue_id_of, responses

logger = Logger(child=True)
router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

STATUS_PATH = "/sessions/<issueId>/status"
# The path as a request names it (the issue id still percent-encoded, as API Gateway hands it over).
_SIGNED = re.compile(r"/sessions/([^/]+)/status")
# Where the verified signature travels to the route: where API Gateway puts an authorizer's context.
_RECEIPT = "intakeReport"
# The OpenAPI operation's marker; `as_deployed` turns it into the signature's security requirement.
SIGNED_EXTENSION = "x-intake-signed"


@router.post(
    STATUS_PATH,
    summary="Report a session's status (the session backend, signed with the webhook key)",
    description=(
        "Not SigV4: sign with the session webhook key. Send "
        f"`{TIMESTAMP_HEADER}: <Unix seconds>` and `{SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of "
        f"'{REPORT_STRING}'>`, where the issue id is the one the path names, decoded, and the body "
        "is its exact bytes, with the session's `generation`. A report signed for another issue, "
        "or the old way (`'<timestamp>.<body>'`), is 401. A report is accepted within 300 s of its "
        "timestamp, once (a replay, or a report older than the last one accepted, is 401), and only "
        "for the claim's current generation (409 otherwise). It is kept on the claim "
        "(the status, the PR URL, the last 20 reports) and never moves the claim: a report on a "
        "claim that is not launching or launched (released, failed, not yet launched) is 409. "
        "`issueId` is the URL-encoded canonical id, e.g. `github%3Aacme%2Fapp%2342`."
    ),
    tags=["sessions"],
    responses=responses(200, SessionView, "the session, with the report kept", 400, 401, 404, 409, 413, 422, 501),
    openapi_extensions={SIGNED_EXTENSION: True},
)
def report_status(ctx: Context, issue_id: IssueIdParam, body: Annotated[StatusReportBody, Body()]) -> SessionView:
    receipt = _receipt(router.current_event.raw_event)
    canonical = issue_id_of(issue_id)
    report = body.report()
    if report.pr_url is not None:
        check_pr_url(report.pr_url, ctx.github_hosts)
    claim = record_report(ctx.store, canonical, report, receipt, ctx.clock.now())
    logger.append_keys(project_id=claim.project_id)
    logger.info("session status reported", extra={"issue_id": canonical, "session_status": report.status.value})
    return SessionView.of(claim)


def unsigned_report(event: dict[str, Any], context: Callable[[], ApiContext]) -> dict[str, Any] | None:
    """The refusal of a status report whose signature does not hold; None for any other request,
    and for a report signed with the key within the allowed skew (its receipt is then on the event).

    401 names the header at fault; 501 when no key is configured, 503 when it cannot be read.
    Nothing is read from the store here, and nothing is written.
    """
    method = str(event.get("httpMethod", "")).upper()
    target = _SIGNED.fullmatch(str(event.get("path") or ""))
    if method != "POST" or target is None:
        return None
    ctx = context()
    if ctx.report_key is None:
        return error_answer(501, str(_NO_KEY), problem(SIGNATURE_HEADER, "no session webhook key is configured here"))
    try:
        key = ctx.report_key()
    except ReportKeyUnavailable:
        logger.error("status report: the session webhook key cannot be read")
        message = "the session webhook key cannot be read right now; nothing was written, try again shortly"
        return error_answer(503, message, headers={"Retry-After": "5"})
    try:
        receipt = verify_report(key, _signed(event, method, target[1]), ctx.clock.now())
    except ReportUnauthenticated as e:
        logger.warning("status report refused", extra={"field": e.field})
        return error_answer(401, f"status report not accepted: {e.reason}", problem(e.field, e.reason))
    request = event.get("requestContext")
    if not isinstance(request, dict):
        request = event["requestContext"] = {}
    request["authorizer"] = {_RECEIPT: {"timestamp": receipt.timestamp, "digest": receipt.digest}}
    return None


_NO_KEY = ReportsUnavailable(
    "status reports are signed with the session webhook key, and this deployment has none "
    "(set the SessionWebhookSecretArn parameter)"
)


def _signed(event: dict[str, Any], method: str, issue_segment: str) -> SignedReport:
    """The report as its signature must cover it: the issue as the route reads it (`issue_id_of`
    decodes the same path segment), the body's bytes as sent."""
    timestamp, signature = header(event, TIMESTAMP_HEADER), header(event, SIGNATURE_HEADER)
    return SignedReport(method, unquote(issue_segment), _raw_body(event), timestamp, signature)


def _receipt(event: dict[str, Any]) -> Receipt:
    """The signature `unsigned_report` verified; a request that did not pass it is refused."""
    found = ((event.get("requestContext") or {}).get("authorizer") or {}).get(_RECEIPT)
    if not isinstance(found, dict):
        raise ReportUnauthenticated(SIGNATURE_HEADER, "the report's signature was not verified")
    return Receipt(int(found["timestamp"]), str(found["digest"]))


def _raw_body(event: dict[str, Any]) -> bytes:
    """The body's bytes as the sender signed them."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body)
        except (binascii.Error, ValueError):
            return body.encode("utf-8", "surrogatepass")
    return body.encode("utf-8", "surrogatepass")
