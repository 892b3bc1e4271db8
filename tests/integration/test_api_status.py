"""`POST /sessions/{issueId}/status` through ApiFunction on moto: signed with the webhook key read
from Secrets Manager, as deployed; kept on the claim and shown in the session list; every refusal
answered with a sentence and the field, and nothing written."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote, unquote

import boto3
import pytest
from api_support import Api, claim, request

from tracker_intake.domain.records import ClaimStatus
from tracker_intake.domain.signing import legacy_signature, report_signature

KEY = "status-report-test-key"
ISSUE = "github:acme/app#42"
PATH = f"/sessions/{quote(ISSUE, safe='')}/status"
PR = "https://github.com/acme/app/pull/43"


@pytest.fixture
def api(aws: dict[str, Any]) -> Api:
    """The API with the webhook key in Secrets Manager (as SessionWebhookSecretArn names it),
    project demo, and its launched claim on acme/app#42."""
    arn = boto3.client("secretsmanager").create_secret(Name="intake/session-webhook", SecretString=KEY)["ARN"]
    api = Api(aws, env={"SESSION_WEBHOOK_SECRET_ARN": arn})
    assert api(request("POST", "/projects", body={"id": "demo", "gitOrigin": "git@github.com:acme/app.git"})).status
    api.store.put_claim(claim())
    return api


def report(
    body: dict[str, Any] | str,
    *,
    key: str = KEY,
    timestamp: int | None = None,
    path: str = PATH,
    signature: str | None = None,
    signed_for: str | None = None,
) -> dict[str, Any]:
    """A status report event, signed with `key` at `timestamp` (now) for the issue its path names
    (or `signed_for`) over the exact body text; a dict body gets `generation: 1` unless it has one."""
    text = body if isinstance(body, str) else json.dumps({"generation": 1, **body}, separators=(",", ":"))
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    issue = signed_for if signed_for is not None else unquote(path.split("/")[2])
    signed = signature if signature is not None else report_signature(key, stamp, "POST", issue, text.encode())
    return request("POST", path, raw=text, headers={"X-Intake-Timestamp": stamp, "X-Intake-Signature": signed})


def sessions(api: Api) -> list[dict[str, Any]]:
    answer = api(request("GET", "/projects/demo/sessions"))
    assert answer.status == 200
    items: list[dict[str, Any]] = answer.body["items"]
    return items


# --- accepted ----------------------------------------------------------------------------------------


def test_a_signed_report_is_kept_on_the_claim_and_shown_in_the_session_list(api: Api) -> None:
    # GIVEN a launched session
    # WHEN its backend reports a PR open, signed with the webhook key
    answer = api(report({"status": "pr_open", "prUrl": PR}))
    # THEN 200 with the session as it is now: the claim still launched, the reported status, the PR
    assert answer.status == 200, answer.body
    assert (answer.body["status"], answer.body["sessionStatus"], answer.body["prUrl"]) == ("launched", "pr_open", PR)
    # AND the session list shows the status and its dated history
    (listed,) = sessions(api)
    assert listed["sessionStatus"] == "pr_open" and listed["prUrl"] == PR
    assert [(h["status"], h["prUrl"]) for h in listed["statusHistory"]] == [("pr_open", PR)]
    assert listed["statusHistory"][0]["at"].endswith("Z")


def test_successive_reports_build_the_history_oldest_first(api: Api) -> None:
    # GIVEN a launched session
    now = int(time.time())
    # WHEN it reports working, then needs input, then merged
    for offset, status in enumerate(["working", "needs_input", "merged"]):
        assert api(report({"status": status}, timestamp=now + offset)).status == 200
    # THEN the list shows merged, after the other two
    (listed,) = sessions(api)
    assert listed["sessionStatus"] == "merged"
    assert [h["status"] for h in listed["statusHistory"]] == ["working", "needs_input", "merged"]


def test_the_issue_id_is_matched_case_insensitively_as_the_ledger_keys_it(api: Api) -> None:
    # GIVEN the claim on acme/app#42 WHEN the backend names it Acme/App#42
    answer = api(report({"status": "working"}, path=f"/sessions/{quote('github:Acme/App#42', safe='')}/status"))
    # THEN it is the same session
    assert answer.status == 200 and answer.body["issueId"] == ISSUE


# --- refused, nothing written ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (report({"status": "working"}, key="not-the-key"), "X-Intake-Signature"),
        (report({"status": "working"}, signature="sha256=" + "0" * 64), "X-Intake-Signature"),
        (request("POST", PATH, body={"status": "working"}), "X-Intake-Timestamp"),
        (report({"status": "working"}, timestamp=int(time.time()) - 301), "X-Intake-Timestamp"),
        (report({"status": "working"}, timestamp=int(time.time()) + 3600), "X-Intake-Timestamp"),
        # A bad signature is refused before its body is read: even a body that breaks the schema.
        (report({"status": "asleep"}, key="not-the-key"), "X-Intake-Signature"),
        (report({"status": "working"}, key="not-the-key", path="/sessions/nonsense/status"), "X-Intake-Signature"),
    ],
    ids=[
        "another key",
        "a made-up signature",
        "unsigned",
        "stale timestamp",
        "future timestamp",
        "bad signature, bad body",
        "bad signature, bad issue id",
    ],
)
def test_a_report_not_signed_with_the_key_now_is_refused_with_401_and_writes_nothing(
    api: Api, event: dict[str, Any], field: str
) -> None:
    # GIVEN the table as it is
    before = api.scan()
    # WHEN a report arrives without a valid, fresh signature
    answer = api(event)
    # THEN 401 with a sentence naming the header, and the table is unchanged
    assert answer.status == 401, answer.body
    assert answer.fields == [field]
    assert answer.body["message"].startswith("status report not accepted: ")
    assert api.scan() == before


def test_a_report_signed_for_one_issue_is_refused_on_another_and_writes_nothing(api: Api) -> None:
    # GIVEN two launched sessions, on acme/app#42 and acme/app#7
    api.store.put_claim(claim(number=7))
    before = api.scan()
    # WHEN a report signed for #42 is sent, unchanged, to #7's path
    other = f"/sessions/{quote('github:acme/app#7', safe='')}/status"
    answer = api(report({"status": "merged"}, path=other, signed_for=ISSUE))
    # THEN 401 at the signature, naming the issue the path asked for, and nothing is written
    assert (answer.status, answer.fields) == (401, ["X-Intake-Signature"]), answer.body
    assert "github:acme/app#7" in answer.body["message"]
    assert api.scan() == before
    # AND the same report on its own issue is accepted
    assert api(report({"status": "merged"}, signed_for=ISSUE)).status == 200


def test_a_report_signed_the_old_way_is_refused_with_401_saying_what_to_sign(api: Api) -> None:
    # GIVEN a report signed over "<timestamp>.<body>", as the first version documented
    stamp, text = str(int(time.time())), '{"status":"working","generation":1}'
    before = api.scan()
    # WHEN it arrives
    answer = api(report(text, timestamp=int(stamp), signature=legacy_signature(KEY, stamp, text.encode())))
    # THEN 401 says the old string is no longer accepted and names the new one; nothing is written
    assert (answer.status, answer.fields) == (401, ["X-Intake-Signature"])
    assert "no longer accepted" in answer.body["message"] and "intake-report-v2" in answer.body["message"]
    assert api.scan() == before


def test_a_report_without_its_generation_is_422_at_generation(api: Api) -> None:
    # GIVEN a well-signed report whose body does not say which generation it is for
    before = api.scan()
    answer = api(report('{"status":"working"}'))
    # THEN 422 at generation: the generation is what binds a report to one claim; nothing is written
    assert (answer.status, answer.fields) == (422, ["generation"]), answer.body
    assert api.scan() == before


def test_a_replayed_report_is_refused_with_401_and_writes_nothing(api: Api) -> None:
    # GIVEN a report accepted once
    event = report({"status": "working"})
    assert api(event).status == 200
    before = api.scan()
    # WHEN the very same request is sent again, well within the five minutes
    answer = api(json.loads(json.dumps(event)))
    # THEN it is refused as a replay, and nothing is written
    assert answer.status == 401
    assert answer.fields == ["X-Intake-Signature"]
    assert "replay" in answer.body["message"]
    assert api.scan() == before


def test_a_report_on_an_unknown_issue_is_404_and_writes_nothing(api: Api) -> None:
    # GIVEN no claim on acme/app#7
    before = api.scan()
    # WHEN a signed report names it
    answer = api(report({"status": "working"}, path=f"/sessions/{quote('github:acme/app#7', safe='')}/status"))
    # THEN 404 at issueId, and nothing is written
    assert answer.status == 404
    assert answer.fields == ["issueId"]
    assert api.scan() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "asleep"}, "status"),
        ({}, "status"),
        ({"status": "working", "prUrl": "https://evil.example/acme/app/pull/1"}, "prUrl"),
        ({"status": "working", "prUrl": "https://github.com/acme/app/issues/1"}, "prUrl"),
        ({"status": "working", "generation": 0}, "generation"),
        ({"status": "working", "sessionId": "x"}, "sessionId"),
    ],
    ids=["unknown status", "no status", "PR on another host", "not a PR", "generation 0", "unknown field"],
)
def test_a_signed_report_that_breaks_a_rule_is_422_at_the_field_and_writes_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    # GIVEN the table as it is
    before = api.scan()
    # WHEN a well-signed report breaks a rule of its body
    answer = api(report(body))
    # THEN 422 names the field, and nothing is written
    assert answer.status == 422, answer.body
    assert answer.fields == [field]
    assert api.scan() == before


def test_a_signed_report_with_a_malformed_issue_id_is_400_at_issue_id(api: Api) -> None:
    before = api.scan()
    answer = api(report({"status": "working"}, path="/sessions/nonsense/status"))
    assert (answer.status, answer.fields) == (400, ["issueId"])
    assert api.scan() == before


# --- never re-opens a claim --------------------------------------------------------------------------


def test_a_report_on_a_released_claim_is_409_and_the_claim_stays_released(api: Api) -> None:
    # GIVEN the launched claim, released by a user
    assert api(request("DELETE", f"/projects/demo/sessions/{quote(ISSUE, safe='')}")).status == 200
    before = api.scan()
    # WHEN its old session reports that it is still working
    answer = api(report({"status": "working"}))
    # THEN 409 says a report never re-opens a claim; the claim stays released, nothing is written
    assert answer.status == 409
    assert answer.fields == ["issueId"]
    assert "never re-opens" in answer.body["message"]
    assert api.scan() == before
    (listed,) = sessions(api)
    assert listed["status"] == "released" and listed["sessionStatus"] is None


@pytest.mark.parametrize("status", [ClaimStatus.ENQUEUED, ClaimStatus.FAILED])
def test_a_report_on_a_claim_with_no_launched_session_is_409(api: Api, status: ClaimStatus) -> None:
    # GIVEN a claim that has no session yet, or whose launch failed
    api.store.put_claim(claim(number=5, status=status))
    before = api.scan()
    # WHEN a signed report names it THEN 409, and nothing is written
    answer = api(report({"status": "working"}, path=f"/sessions/{quote('github:acme/app#5', safe='')}/status"))
    assert answer.status == 409
    assert api.scan() == before


def test_a_report_for_a_superseded_generation_is_409_at_generation(api: Api) -> None:
    # GIVEN the claim at generation 1 WHEN a session of generation 2 reports THEN 409 at generation
    before = api.scan()
    answer = api(report({"status": "working", "generation": 2}))
    assert (answer.status, answer.fields) == (409, ["generation"])
    assert api.scan() == before


# --- where no key is configured ------------------------------------------------------------------------


def test_without_a_webhook_key_status_reports_are_501_and_write_nothing(aws: dict[str, Any]) -> None:
    # GIVEN an API with no SessionWebhookSecretArn
    api = Api(aws)
    api.store.put_claim(claim())
    before = api.scan()
    # WHEN a report arrives
    answer = api(report({"status": "working"}))
    # THEN 501 says what to configure, and nothing is written
    assert answer.status == 501
    assert "SessionWebhookSecretArn" in answer.body["message"]
    assert api.scan() == before


def test_a_webhook_key_that_cannot_be_read_is_503_and_names_no_secret(aws: dict[str, Any]) -> None:
    # GIVEN an API whose key's secret does not exist
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:intake/gone-AbCdEf"
    api = Api(aws, env={"SESSION_WEBHOOK_SECRET_ARN": missing})
    api.store.put_claim(claim())
    before = api.scan()
    # WHEN a report arrives THEN 503 with Retry-After, the ARN is not in the answer, nothing written
    answer = api(report({"status": "working"}))
    assert answer.status == 503 and answer.headers["Retry-After"]
    assert "gone" not in answer.text
    assert api.scan() == before


def test_the_document_declares_the_signature_for_this_route_and_sigv4_for_the_others(api: Api) -> None:
    # GIVEN the deployed document (API_AUTH defaults to AWS_IAM)
    document = api(request("GET", "/openapi.json")).body
    # WHEN the security of the status report and of another route are read
    operation = document["paths"]["/sessions/{issueId}/status"]["post"]
    # THEN the report asks for both signature headers, the rest for SigV4
    assert operation["security"] == [{"intakeSignature": [], "intakeTimestamp": []}]
    assert "security" not in document["paths"]["/projects"]["get"] and document["security"] == [{"sigv4": []}]
    schemes = document["components"]["securitySchemes"]
    assert (schemes["intakeSignature"]["name"], schemes["intakeTimestamp"]["name"]) == (
        "X-Intake-Signature",
        "X-Intake-Timestamp",
    )
    # AND the scheme describes the string the route accepts, not the one it refuses
    described = schemes["intakeSignature"]["description"]
    assert "intake-report-v2" in described and "<canonical issue id>" in described
    assert "<X-Intake-Timestamp>.<body bytes>" not in described
    assert "x-intake-signed" not in json.dumps(document)
