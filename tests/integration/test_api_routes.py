"""ApiFunction on moto, driven by the events/ files: every route does what docs/design.md says."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from api_support import CLAIMED_AT, Api, claim, load_event, request

from intake_dev.template import resource
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.records import ClaimStatus, PollState
from tracker_intake.domain.tracker import CachedPage


@pytest.fixture
def api(aws: dict[str, Any]) -> Api:
    return Api(aws)


@pytest.fixture
def demo(api: Api) -> Api:
    """The API with the project of events/api-create-project.json already created."""
    assert api(load_event("api-create-project.json")).status == 201
    return api


def test_create_project_event_answers_201_with_config_status_and_version(api: Api) -> None:
    # GIVEN an empty table
    # WHEN events/api-create-project.json arrives
    answer = api(load_event("api-create-project.json"))
    # THEN the project is created, at version 1, with its config echoed back in camelCase
    assert answer.status == 201
    assert answer.headers["Location"] == "/projects/demo"
    assert answer.body["id"] == "demo"
    assert answer.body["version"] == 1
    assert answer.body["trackerIntake"]["labels"] == ["agent"]
    assert answer.body["intake"]["state"] == "ok"
    assert answer.body["intake"]["repo"] == "acme/app"


def test_create_project_stores_it_for_the_poller(demo: Api) -> None:
    # GIVEN the project created through the API
    # WHEN the store lists the intake-enabled projects (the dispatcher's index)
    enabled = [record.project_id for record in demo.store.intake_enabled()]
    # THEN the new project is among them
    assert enabled == ["demo"]


def test_creating_an_existing_project_answers_409(demo: Api) -> None:
    # GIVEN project demo exists
    # WHEN it is created again
    answer = demo(load_event("api-create-project.json"))
    # THEN 409 names the id
    assert answer.status == 409
    assert answer.fields == ["id"]


def test_get_project_event_returns_config_status_and_version_with_etag(demo: Api) -> None:
    # GIVEN project demo
    # WHEN events/api-get-project.json arrives
    answer = demo(load_event("api-get-project.json"))
    # THEN the config, the intake status and the version come back, the version also as ETag
    assert answer.status == 200
    assert answer.body["gitOrigin"] == "git@github.com:acme/app.git"
    assert answer.body["version"] == 1
    assert answer.headers["ETag"] == '"1"'
    assert answer.body["intake"] == {
        "state": "ok",
        "repo": "acme/app",
        "backoffUntil": None,
        "consecutiveFailures": 0,
        "lastError": None,
        "failureKind": None,
        "lastChangeAt": None,
        "checkedAt": None,
        "configError": None,
        "deferredSince": None,
        "requestsPerPoll": None,
        # created with intake on and the default `backlog: new`: its backlog is to be recorded
        "backlogSince": answer.body["createdAt"],
    }


def test_get_project_shows_backoff_written_by_the_poller(demo: Api) -> None:
    # GIVEN the poller put the project in backoff after two failures
    until = CLAIMED_AT + timedelta(days=3650)
    demo.store.save_poll_state(
        "demo", PollState(backoff_until=until, consecutive_failures=2, last_error="rate limited")
    )
    # WHEN the project is read
    status = demo(load_event("api-get-project.json")).body["intake"]
    # THEN the status says backoff, until when, and why
    assert status["state"] == "backoff"
    assert status["backoffUntil"].startswith(str(until.year))
    assert status["consecutiveFailures"] == 2
    assert status["lastError"] == "rate limited"


@pytest.mark.parametrize(("transient", "kind"), [(True, "transient"), (False, "persistent")])
def test_get_project_says_whether_the_last_failure_was_transient(demo: Api, transient: bool, kind: str) -> None:
    # GIVEN the poller recorded a failure, transient (a 502) or not (bad credentials)
    demo.store.save_poll_state(
        "demo",
        PollState(backoff_until=CLAIMED_AT, consecutive_failures=1, last_error="failed", transient=transient),
    )
    # WHEN the project is read  THEN its status names the kind of the failure
    assert demo(load_event("api-get-project.json")).body["intake"]["failureKind"] == kind


def test_poll_project_event_clears_the_backoff_and_answers_202_with_the_project(demo: Api) -> None:
    # GIVEN demo in backoff for ten years after two transient failures, with a last change kept
    until = CLAIMED_AT + timedelta(days=3650)
    demo.store.save_poll_state(
        "demo",
        PollState(
            backoff_until=until,
            consecutive_failures=2,
            last_error="tracker_unavailable: 502",
            last_change_at=CLAIMED_AT,
            pages_read=2,
            transient=True,
        ),
    )
    # WHEN events/api-poll-project.json (POST /projects/demo/poll) arrives
    answer = demo(load_event("api-poll-project.json"))
    # THEN 202: accepted, the project is polled on the next tick; its status no longer says backoff
    assert answer.status == 202, answer.text
    assert answer.headers["ETag"] == '"1"'
    status = answer.body["intake"]
    assert (status["state"], status["backoffUntil"], status["consecutiveFailures"]) == ("ok", None, 0)
    assert (status["lastError"], status["failureKind"], status["requestsPerPoll"]) == (None, None, 2)
    # AND the dispatcher's index sees it due, with the rest of its poll state kept
    (record,) = demo.store.intake_enabled()
    assert record.poll == PollState(last_change_at=CLAIMED_AT, pages_read=2)


def test_poll_of_a_project_not_in_backoff_answers_202_and_writes_nothing(demo: Api) -> None:
    # GIVEN demo, healthy
    before = demo.scan()
    # WHEN a poll is asked for  THEN 202 with the project, and nothing written (it is due anyway)
    answer = demo(request("POST", "/projects/demo/poll"))
    assert (answer.status, answer.body["intake"]["state"]) == (202, "ok")
    assert demo.scan() == before


def test_poll_of_a_project_with_intake_off_answers_409_saying_so(api: Api) -> None:
    # GIVEN a project without intake, in backoff from when it had it
    api.store.create_project("quiet", ProjectConfig(name="Quiet"), CLAIMED_AT)
    api.store.save_poll_state("quiet", PollState(backoff_until=CLAIMED_AT, consecutive_failures=1, last_error="x"))
    # WHEN a poll is asked for
    answer = api(request("POST", "/projects/quiet/poll"))
    # THEN 409 says intake is off, names the id, and the backoff is untouched
    assert answer.status == 409
    assert answer.fields == ["id"]
    assert "intake is off" in answer.body["message"]
    assert api.store.get_project("quiet").poll.consecutive_failures == 1


def test_poll_of_an_unknown_project_answers_404(api: Api) -> None:
    # GIVEN an empty table  WHEN events/api-poll-project.json arrives  THEN 404 names the id
    answer = api(load_event("api-poll-project.json"))
    assert (answer.status, answer.fields) == (404, ["id"])


def test_put_config_that_fixes_the_rule_clears_the_backoff(demo: Api) -> None:
    # GIVEN demo in backoff
    demo.store.save_poll_state(
        "demo", PollState(backoff_until=CLAIMED_AT + timedelta(days=1), consecutive_failures=3, last_error="x")
    )
    # WHEN events/api-put-config.json changes its labels
    answer = demo(load_event("api-put-config.json"))
    # THEN the answer and the store show no backoff: the next tick polls it
    assert (answer.status, answer.body["intake"]["state"], answer.body["intake"]["backoffUntil"]) == (200, "ok", None)
    assert demo.store.get_project("demo").poll.healthy()


def test_get_project_gives_the_pickup_of_its_recent_launches(demo: Api) -> None:
    # GIVEN demo launched issue 42 two minutes after GitHub updated it, and issue 7 ten seconds after
    for number, waited in ((42, 120), (7, 10)):
        launched_at = CLAIMED_AT + timedelta(minutes=number)
        issue = replace(claim().issue, number=number, updated_at=(launched_at - timedelta(seconds=waited)).isoformat())
        demo.store.put_claim(replace(claim(number=number), issue=issue, updated_at=launched_at))
    # AND an issue of its still waiting for its launch
    demo.store.put_claim(claim(number=9, status=ClaimStatus.ENQUEUED))
    # WHEN the project is read
    pickup = demo(load_event("api-get-project.json")).body["pickup"]
    # THEN the last launch's pickup, and the percentiles over the two launches
    assert pickup["launches"] == 2
    assert (pickup["lastSeconds"], pickup["p50Seconds"], pickup["p95Seconds"]) == (120.0, 10.0, 120.0)
    assert pickup["lastLaunchedAt"].startswith("2026-11-24T12:42:00")


def test_a_project_without_a_launch_has_no_pickup_and_lists_carry_none(demo: Api) -> None:
    # GIVEN demo, one issue enqueued and none launched
    demo.store.put_claim(claim(status=ClaimStatus.ENQUEUED))
    # WHEN it is read, and listed  THEN its pickup is null (a list never reads the ledgers)
    assert demo(load_event("api-get-project.json")).body["pickup"] is None
    assert [p["pickup"] for p in demo(load_event("api.json")).body["items"]] == [None]


def test_get_project_of_a_disabled_project_says_disabled(api: Api) -> None:
    # GIVEN a project without intake
    api.store.create_project("quiet", ProjectConfig(name="Quiet"), CLAIMED_AT)
    # WHEN it is read
    answer = api(request("GET", "/projects/quiet"))
    # THEN its intake state is disabled
    assert answer.body["intake"]["state"] == "disabled"


def test_get_unknown_project_answers_404_naming_the_id(api: Api) -> None:
    # GIVEN an empty table
    # WHEN events/api-get-project.json asks for demo
    answer = api(load_event("api-get-project.json"))
    # THEN 404 names the id
    assert answer.status == 404
    assert answer.fields == ["id"]


def test_put_config_event_replaces_the_config_and_bumps_the_version(demo: Api) -> None:
    # GIVEN project demo at version 1
    # WHEN events/api-put-config.json arrives with If-Match "1"
    answer = demo(load_event("api-put-config.json"))
    # THEN the new config is stored and the version is 2
    assert answer.status == 200
    assert answer.body["version"] == 2
    assert answer.headers["ETag"] == '"2"'
    assert answer.body["trackerIntake"]["labels"] == ["agent", "bug"]
    assert demo.store.get_project("demo").config.tracker_intake.max_sessions_per_poll == 5  # type: ignore[union-attr]


def test_a_project_switches_the_member_write_check_off_explicitly_and_a_value_not_boolean_is_refused(
    demo: Api,
) -> None:
    # GIVEN project demo, created without saying anything of the check
    assert demo(load_event("api-get-project.json")).body["trackerIntake"]["memberWriteCheck"] is True

    def replaced_with(check: Any) -> Any:
        intake = {"enabled": True, "labels": ["agent"], "memberWriteCheck": check}
        body = {"gitOrigin": "git@github.com:acme/app.git", "trackerIntake": intake}
        return demo(request("PUT", "/projects/demo/config", body=body))

    # WHEN its config is replaced with the check switched off, then with a value that is no boolean
    off, refused = replaced_with(False), replaced_with("no")
    # THEN off is stored and answered back; the bad value is refused at the field and changes nothing
    assert off.status == 200 and off.body["trackerIntake"]["memberWriteCheck"] is False
    assert demo.store.get_project("demo").config.tracker_intake.member_write_check is False  # type: ignore[union-attr]
    assert refused.status == 422 and refused.fields == ["trackerIntake.memberWriteCheck"]
    assert demo.store.get_project("demo").version == off.body["version"]


def test_put_config_with_a_stale_if_match_answers_412(demo: Api) -> None:
    # GIVEN someone already moved demo to version 2
    demo(load_event("api-put-config.json"))
    # WHEN the same If-Match "1" write arrives again
    answer = demo(load_event("api-put-config.json"))
    # THEN 412 says what happened and names If-Match
    assert answer.status == 412
    assert answer.fields == ["If-Match"]
    assert "changed by someone else" in answer.body["message"]


def test_put_config_with_a_stale_version_field_answers_409(demo: Api) -> None:
    # GIVEN demo at version 2
    demo(load_event("api-put-config.json"))
    # WHEN a write carries `version: 1` in its body
    body = {"name": "Demo app", "version": 1}
    answer = demo(request("PUT", "/projects/demo/config", body=body))
    # THEN 409 names the version field
    assert answer.status == 409
    assert answer.fields == ["version"]


def test_put_config_with_the_current_version_field_succeeds(demo: Api) -> None:
    # GIVEN demo at version 1
    # WHEN a write carries `version: 1` in its body
    answer = demo(request("PUT", "/projects/demo/config", body={"name": "Renamed", "version": 1}))
    # THEN it is applied
    assert answer.status == 200
    assert (answer.body["name"], answer.body["version"]) == ("Renamed", 2)


@pytest.mark.parametrize("version", [None, 1], ids=["no version", "the current version"])
def test_put_config_with_the_stored_config_answers_200_and_writes_nothing(demo: Api, version: int | None) -> None:
    # GIVEN demo at version 1, with a cached page, as stored
    stored = demo(request("GET", "/projects/demo")).body
    body = {k: v for k, v in stored.items() if k in ("name", "gitOrigin", "trackerIntake")}
    demo.store.commit_page("demo", CachedPage("https://api.github.com/x", '"a"'))
    before = demo.scan()
    # WHEN the same config is written back (with or without the version read)
    answer = demo(request("PUT", "/projects/demo/config", body={**body, **({"version": version} if version else {})}))
    # THEN it answers 200 with the project as it was, version 1, and nothing was written
    assert answer.status == 200, answer.body
    assert (answer.body["version"], answer.headers["ETag"]) == (1, '"1"')
    assert answer.body["updatedAt"] == stored["updatedAt"]
    assert demo.scan() == before


def test_put_config_with_the_stored_config_on_a_stale_version_still_answers_409(demo: Api) -> None:
    # GIVEN demo at version 2
    demo(request("PUT", "/projects/demo/config", body={"name": "Renamed"}))
    config = {k: v for k, v in demo(request("GET", "/projects/demo")).body.items() if k in ("name", "gitOrigin")}
    # WHEN its config is written back on version 1 THEN it is a conflict: the writer read an old one
    assert demo(request("PUT", "/projects/demo/config", body={**config, "version": 1})).status == 409


def test_disabling_intake_takes_the_project_out_of_the_poll_index(demo: Api) -> None:
    # GIVEN demo with intake enabled
    # WHEN its config turns intake off
    body = {"gitOrigin": "git@github.com:acme/app.git", "trackerIntake": {"enabled": False}}
    demo(request("PUT", "/projects/demo/config", body=body))
    # THEN the dispatcher no longer sees it
    assert list(demo.store.intake_enabled()) == []


def test_list_projects_pages_with_limit_and_next_token(api: Api) -> None:
    # GIVEN three projects
    for name in ("a1", "b2", "c3"):
        api.store.create_project(name, ProjectConfig(), CLAIMED_AT)
    # WHEN they are listed two at a time
    first = api(request("GET", "/projects", query={"limit": "2"}))
    token = first.body["nextToken"]
    second = api(request("GET", "/projects", query={"limit": "2", "nextToken": token}))
    # THEN the two pages hold all three, once each, and the last page has no token
    ids = [p["id"] for p in first.body["items"] + second.body["items"]]
    assert sorted(ids) == ["a1", "b2", "c3"]
    assert second.body["nextToken"] is None


def test_list_projects_event_lists_the_project(demo: Api) -> None:
    # GIVEN project demo
    # WHEN events/api.json (GET /projects) arrives
    answer = demo(load_event("api.json"))
    # THEN the list holds demo with its status
    assert answer.status == 200
    assert [(p["id"], p["intake"]["state"]) for p in answer.body["items"]] == [("demo", "ok")]


def test_list_sessions_event_shows_the_ledger(demo: Api) -> None:
    # GIVEN a launched claim for github:acme/app#42
    demo.store.put_claim(claim())
    # WHEN events/api-list-sessions.json arrives
    answer = demo(load_event("api-list-sessions.json"))
    # THEN the row has the canonical id, status, title, url, times and session
    (row,) = answer.body["items"]
    assert row["issueId"] == "github:acme/app#42"
    assert row["status"] == "launched"
    assert row["title"] == "Issue 42"
    assert row["url"] == "https://github.com/acme/app/issues/42"
    assert row["claimedAt"].startswith("2026-11-24T12:00:00")
    assert row["sessionRef"] == "session-42"


@pytest.mark.parametrize(
    ("status", "attempts"),
    [(ClaimStatus.BACKLOG, 0), (ClaimStatus.LAUNCHED, 1)],
    ids=["backlog: launched nothing", "launched once"],
)
def test_a_sessions_attempts_count_its_launches_not_its_backlog_record(
    demo: Api, status: ClaimStatus, attempts: int
) -> None:
    # GIVEN a claim on issue 42, recorded as backlog or launched
    demo.store.put_claim(claim(status=status))
    # WHEN the ledger is listed THEN its attempts are its launches
    (row,) = demo(request("GET", "/projects/demo/sessions")).body["items"]
    assert (row["status"], row["attempts"]) == (status.value, attempts)


def test_list_sessions_of_an_unknown_project_answers_404(api: Api) -> None:
    # GIVEN no project demo
    # WHEN its sessions are listed
    answer = api(load_event("api-list-sessions.json"))
    # THEN 404, not an empty list
    assert answer.status == 404


def test_release_session_event_releases_the_url_encoded_claim(demo: Api) -> None:
    # GIVEN a launched claim for github:acme/app#42
    demo.store.put_claim(claim())
    # WHEN events/api-release-session.json (issueId github%3Aacme%2Fapp%2342) arrives
    answer = demo(load_event("api-release-session.json"))
    # THEN the claim is released, so a later poll may take the issue again
    assert answer.status == 200
    assert answer.body["status"] == "released"
    assert demo.store.get_claim("github:acme/app#42").status is ClaimStatus.RELEASED  # type: ignore[union-attr]


def test_release_of_another_projects_claim_answers_404(demo: Api) -> None:
    # GIVEN the claim on github:acme/app#42 belongs to project other
    demo.store.put_claim(claim(project_id="other"))
    # WHEN demo tries to release it
    answer = demo(load_event("api-release-session.json"))
    # THEN 404 names the issue id and the claim is untouched
    assert answer.status == 404
    assert answer.fields == ["issueId"]
    assert demo.store.get_claim("github:acme/app#42").status is ClaimStatus.LAUNCHED  # type: ignore[union-attr]


def test_delete_project_event_deletes_it(demo: Api) -> None:
    # GIVEN project demo
    # WHEN events/api-delete-project.json arrives
    answer = demo(load_event("api-delete-project.json"))
    # THEN 204, and the project is gone
    assert answer.status == 204
    assert demo(load_event("api-get-project.json")).status == 404


def test_openapi_document_lists_every_route_of_the_template(api: Api) -> None:
    # GIVEN the routes template.yaml wires to ApiFunction
    events = resource("ApiFunction")["Properties"]["Events"].values()
    wired = {(e["Properties"]["Path"], e["Properties"]["Method"].lower()) for e in events}
    # WHEN events/api-openapi.json asks for the document
    answer = api(load_event("api-openapi.json"))
    # THEN every wired route is documented, and only those
    documented = {(path, method) for path, item in answer.body["paths"].items() for method in item}
    assert documented == wired


def test_openapi_document_describes_camel_case_bodies(api: Api) -> None:
    # GIVEN the API
    # WHEN the document is read
    schemas = api(load_event("api-openapi.json")).body["components"]["schemas"]
    # THEN the config body uses the camelCase vocabulary and forbids unknown fields
    intake = schemas["TrackerIntake"]
    assert {"excludeLabels", "maxSessionsPerPoll", "memberWriteCheck"} <= set(intake["properties"])
    assert intake["additionalProperties"] is False
    # AND the member write check says, where clients read it, what switching it off risks
    check = intake["properties"]["memberWriteCheck"]
    assert check["type"] == "boolean" and check["default"] is True and "push" in check["description"]


def test_openapi_document_tells_the_truth_about_the_deployed_api(api: Api) -> None:
    # GIVEN the document, asked through the deployed stage
    event = load_event("api-openapi.json")
    doc = api(event).body
    stage = event["requestContext"]["stage"]
    operations = [(path, method, op) for path, ops in doc["paths"].items() for method, op in ops.items()]
    # THEN it says that every operation needs SigV4, as API Gateway exports it
    assert doc["components"]["securitySchemes"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert doc["security"] == [{"sigv4": []}]
    # AND its server carries the stage
    assert doc["servers"] == [{"url": f"/{stage}"}]
    # AND a 204 has no content; every refusal has the API's error body; 405 everywhere, 413 and 415
    # wherever a body is read
    delete = doc["paths"]["/projects/{id}"]["delete"]["responses"]["204"]
    assert "content" not in delete
    for path, method, op in operations:
        for code, response in op["responses"].items():
            if code[0] in "45":
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorBody"
                }, (
                    path,
                    method,
                    code,
                )
        assert "405" in op["responses"], (path, method)
        if method in ("post", "put"):
            assert {"413", "415"} <= set(op["responses"]), (path, method)
    # AND a parameter is a string or absent, never JSON null
    for path, method, op in operations:
        for parameter in op.get("parameters", []):
            assert "null" not in json.dumps(parameter["schema"]), (path, method, parameter["name"])
    # AND every reference resolves
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(doc)))
    assert refs and refs <= set(doc["components"]["schemas"]), refs - set(doc["components"]["schemas"])
