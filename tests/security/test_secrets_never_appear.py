"""The GitHub token and the webhook secret never appear in a log line, an exception, a handler's
answer, an API response, a queue message or the table, across one run through success and every
kind of fault (GitHub answers that echo the token back, a backend that echoes its key, AWS
throttles, crashes of the poller and the launcher).

tests/integration/test_secrets_not_leaked.py checks the API routes and the launcher on their own;
this run covers the whole pipeline, with the encodings and fragments of leaks.py;
test_app_secrets_never_appear.py does the same for GitHub Apps' keys, JWTs and installation tokens. The reliability
suite also runs the same search after every case of its fault matrix (its conftest.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from harness import TOKEN
from integration.api_support import Api, request
from reliability.world import (
    HEALTHY,
    REPOS,
    SUBJECT,
    WEBHOOK_SECRET,
    World,
    dynamodb_rule,
    lambda_invoke_rule,
    sqs_send_rule,
)
from security.leaks import capturing_logs, forms, leaks

SECRETS = {"GitHub token": TOKEN, "webhook secret": WEBHOOK_SECRET}

# GitHub answers, several of which echo the token back (as a misbehaving proxy might).
GITHUB_FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("primary_rate_limit", {"reset_in": 120}),
    ("secondary_rate_limit_seconds", {"seconds": 90}),
    ("secondary_rate_limit_message", {"message": f"You have exceeded a secondary rate limit for {TOKEN}"}),
    ("unauthorized", {}),
    ("status", {"status": 401, "body": {"message": f"Bad credentials: {TOKEN}"}}),
    ("forbidden", {"message": f"Resource not accessible by personal access token {TOKEN}"}),
    ("not_found", {}),
    ("gone", {}),
    ("server_error", {}),
    ("bad_gateway", {}),
    ("status", {"status": 422, "body": {"message": f"Validation Failed for Bearer {TOKEN}"}}),
    ("status", {"status": 503, "body": f"upstream said Authorization: Bearer {TOKEN}"}),
    ("malformed_json", {"body": f'[{{"number": 1, "title": "{TOKEN}'}),
    ("not_modified_without_etag", {}),
    ("slow", {"seconds": 1.0}),
    ("vanish_after_first_page", {"mode": "rest"}),
]


def run_through_everything(world: World) -> list[str]:
    """Success, every fault, recovery; returns every answer and record the run produced."""
    world.tracker_timeout = 0.3
    world.restart()
    world.seed()
    world.step("start")
    for n, (fault, params) in enumerate(GITHUB_FAULTS):
        world.add_issue(SUBJECT, f"new {n}")
        world.github.inject(fault, repo=REPOS[SUBJECT], **params)
        world.settle_seconds = 1.0 if fault == "slow" else 0.0
        world.step(f"github {fault} {n}", advance=world.recovery_advance())
    for site in ("load_for_poll", "put_claim", "mark_enqueued", "commit_page", "save_poll_state", "index_query"):
        world.add_issue(SUBJECT, f"store fault {site}")
        world.dynamodb_faults.arm(dynamodb_rule(site))
        world.step(f"dynamodb {site}", advance=world.recovery_advance())
    for site in ("put_claim", "mark_enqueued", "commit_page"):
        world.add_issue(SUBJECT, f"crash {site}")
        world.dynamodb_faults.arm(dynamodb_rule(site, "crash_after"))
        world.step(f"crash {site}", advance=world.recovery_advance())
    world.add_issue(SUBJECT, "queue down")
    world.sqs_faults.arm(sqs_send_rule())
    world.lambda_faults.arm(lambda_invoke_rule())
    world.step("queue and invoke", advance=world.recovery_advance())
    # The backend echoes its key in error answers; the launcher crashes at each of its points.
    for status in (401, 500, 429):
        issue = world.add_issue(HEALTHY, f"backend {status}")
        world.backend.answer_status(status, issue_id=issue, body=json.dumps({"error": f"key {WEBHOOK_SECRET}"}))
        world.step(f"backend {status}", advance=world.recovery_advance())
    for point in world.launcher_crashes.POINTS:
        world.add_issue(HEALTHY, f"launcher {point}")
        world.launcher_crashes.arm(point)
        world.step(f"launcher {point}", advance=world.recovery_advance())
    world.step("recovery", advance=world.recovery_advance())
    world.step("steady", advance=world.recovery_advance())
    return [
        repr(world.poll_results),
        repr(world.unexpected),
        repr(world.crashes),
        repr(world.claims()),
        *world.bodies.values(),
    ]


def everything_stored(world: World) -> list[str]:
    """Every item of both tables: the intake table's state and the activity log's polls."""
    client = world.aws["dynamodb"]
    items: list[str] = []
    for table in (world.aws["table_name"], world.aws["activity_table_name"]):
        args: dict[str, Any] = {"TableName": table}
        while True:
            page = client.scan(**args)
            items.extend(json.dumps(item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return items


def api_answers(world: World) -> list[str]:
    api = Api(world.aws)
    sessions = world.claims()
    released = next(iter(sessions))
    answers = [
        api(request("GET", "/projects")),
        api(request("GET", f"/projects/{SUBJECT}")),
        api(request("GET", f"/projects/{HEALTHY}/sessions", query={"limit": "100"})),
        api(request("GET", f"/projects/{SUBJECT}/sessions", query={"limit": "100"})),
        api(request("DELETE", f"/projects/{sessions[released].project_id}/sessions/{released}")),
        api(request("GET", "/openapi.json")),
        api(request("PUT", f"/projects/{SUBJECT}/config", body={"trackerIntake": {"enabled": True}})),
    ]
    return [answer.text + json.dumps(answer.headers) for answer in answers]


def test_no_secret_appears_anywhere_across_success_and_every_fault(
    world: World, capfd: pytest.CaptureFixture[str]
) -> None:
    # GIVEN every log record captured (Powertools JSON included), and everything printed
    loggers = [world.pipe.poller.logger, world.pipe.dispatcher.logger, world.launcher.logger]
    with capturing_logs(*loggers) as sink:
        # WHEN the pipeline runs through success and every fault, and the API is asked about it
        answers = run_through_everything(world) + api_answers(world) + everything_stored(world)
    out, err = capfd.readouterr()
    # THEN the run really happened: faults fired, sessions launched, every kind of record seen
    assert world.backend.sessions_per_issue(), "nothing was launched"
    assert any("error" in line for line in sink.lines) and len(sink.lines) > 100
    # ... and neither secret appears, in any form, in any of it
    assert leaks(SECRETS, [*sink.lines, out, err, *answers]) == []


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_the_search_finds_a_secret_in_each_form_it_looks_for(name: str) -> None:
    # GIVEN a secret, and a log line carrying each of its forms
    secret = SECRETS[name]
    for form in forms(secret):
        # WHEN the line is searched
        found = leaks(SECRETS, [f"prefix {form} suffix"])
        # THEN it is reported
        assert found, form
    assert leaks(SECRETS, ["nothing to see here", "sha256=" + "ab" * 32]) == []
