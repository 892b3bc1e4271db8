"""The bad-input corpus: every refused request is a 4xx naming the field, and writes nothing.

Each case runs against a seeded table; a full scan before and after proves nothing changed.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import pytest
from api_support import CLAIMED_AT, Api, claim, request

from tracker_intake.domain.config import ProjectConfig

GOOD_INTAKE = {"enabled": True, "repo": "acme/app", "labels": ["agent"]}
LONG = "x" * 10_000
UNICODE_LONG = "日本" * 2_000  # 4,000 characters, 12,000 bytes: under the body cap


@dataclass(frozen=True)
class Bad:
    name: str
    method: str
    path: str
    status: int
    field: str
    body: Any = None
    raw: str | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    query: dict[str, str] | None = None


def create(case: str, status: int, fld: str, **project: Any) -> Bad:
    return Bad(case, "POST", "/projects", status, fld, body={"id": "new", **project})


def intake(case: str, fld: str, **rule: Any) -> Bad:
    """A create whose trackerIntake breaks a rule: always 422, naming the field."""
    return create(case, 422, fld, trackerIntake={**GOOD_INTAKE, **rule})


def put(case: str, status: int, fld: str, body: Any = None, **kw: Any) -> Bad:
    return Bad(case, "PUT", "/projects/demo/config", status, fld, body=body, **kw)


CORPUS = [
    # malformed bodies
    Bad("malformed JSON", "POST", "/projects", 400, "body", raw="{bad"),
    Bad("truncated JSON", "POST", "/projects", 400, "body", raw='{"id": "new"'),
    Bad("JSON array body", "POST", "/projects", 400, "body", body=[{"id": "new"}]),
    Bad("JSON string body", "POST", "/projects", 422, "body", body="new"),
    Bad("no body", "POST", "/projects", 422, "body"),
    Bad("malformed JSON on put", "PUT", "/projects/demo/config", 400, "body", raw="{'name': 1}"),
    Bad(
        "text/plain body",
        "POST",
        "/projects",
        415,
        "Content-Type",
        raw="id=new",
        headers={"Content-Type": "text/plain"},
    ),
    # wrong types
    create("id as a number", 422, "id", id=42),
    create("name as a list", 422, "name", name=["Demo"]),
    intake("enabled as a string", "trackerIntake.enabled", enabled="yes"),
    intake("labels as a string", "trackerIntake.labels", labels="agent"),
    intake("labels as null", "trackerIntake.labels", labels=None),
    intake("max sessions as a boolean", "trackerIntake.maxSessionsPerPoll", maxSessionsPerPoll=True),
    intake("max sessions zero", "trackerIntake.maxSessionsPerPoll", maxSessionsPerPoll=0),
    intake("max sessions over 100", "trackerIntake.maxSessionsPerPoll", maxSessionsPerPoll=101),
    put("version as a string", 422, "version", body={"name": "Demo", "version": "2"}),
    # unknown fields
    create("unknown top-level field", 422, "colour", colour="blue"),
    intake("unknown intake field", "trackerIntake.label", label="agent"),
    put("unknown field on put", 422, "projectId", body={"projectId": "demo"}),
    # repositories
    intake("repo without owner", "trackerIntake.repo", repo="app"),
    intake("repo with two slashes", "trackerIntake.repo", repo="acme/app/extra"),
    intake("repo climbing out", "trackerIntake.repo", repo="../etc"),
    intake("repo with .git", "trackerIntake.repo", repo="acme/app.git"),
    intake("repo with a space", "trackerIntake.repo", repo="acme/my app"),
    intake("repo in unicode", "trackerIntake.repo", repo="acmé/app"),
    create(
        "git origin not on github",
        422,
        "gitOrigin",
        gitOrigin="git@gitlab.com:acme/app.git",
        trackerIntake={"enabled": True, "labels": ["agent"]},
    ),
    # labels, assignees
    intake("label with a comma", "trackerIntake.labels.0", labels=["bug,agent"]),
    intake("exclude label with a comma", "trackerIntake.excludeLabels.0", excludeLabels=["a,b"]),
    intake("label of 10,000 characters", "trackerIntake.labels.0", labels=[LONG]),
    intake("empty label", "trackerIntake.labels.0", labels=[""]),
    intake("label with leading space", "trackerIntake.labels.0", labels=[" agent"]),
    intake("label with a newline", "trackerIntake.labels.0", labels=["agent\n"]),
    intake("duplicate labels", "trackerIntake.labels", labels=["Bug", "bug"]),
    intake("eleven labels", "trackerIntake.labels", labels=[f"l{i}" for i in range(11)]),
    intake("assignee in unicode", "trackerIntake.assignee", assignee="josé"),
    intake("assignee None capitalised", "trackerIntake.assignee", assignee="None"),
    # authors and backlog
    intake("unknown author association", "trackerIntake.authors.0", authors=["STAFF"]),
    intake("author association in lower case", "trackerIntake.authors.0", authors=["owner"]),
    intake("duplicate author associations", "trackerIntake.authors", authors=["OWNER", "OWNER"]),
    intake("no author allowed", "trackerIntake.authors", authors=[]),
    intake("unknown backlog choice", "trackerIntake.backlog", backlog="old"),
    # long strings and unicode
    create("name of 10,000 characters", 422, "name", name=LONG),
    create("git origin of 10,000 characters", 422, "gitOrigin", gitOrigin=LONG),
    create("name of 4,000 CJK characters", 422, "name", name=UNICODE_LONG),
    create("project id in unicode", 422, "id", id="café"),
    # provider and breadth rules
    intake("provider gitlab, not supported", "trackerIntake.provider", provider="gitlab"),
    intake("provider unknown", "trackerIntake.provider", provider="gitlab"),
    intake("team on a github rule", "trackerIntake.team", team="ENG"),
    # Linear rules: its team required, GitHub's fields refused by name
    intake("linear rule without a team", "trackerIntake.team", provider="linear", repo=None),
    intake("linear rule with a repo", "trackerIntake.repo", provider="linear", team="ENG"),
    intake(
        "linear rule with memberWriteCheck",
        "trackerIntake.memberWriteCheck",
        provider="linear",
        repo=None,
        team="ENG",
        memberWriteCheck=True,
    ),
    intake("linear team key with a dash", "trackerIntake.team", provider="linear", repo=None, team="EN-G"),
    intake(
        "linear assignee as a login", "trackerIntake.assignee", provider="linear", repo=None, team="ENG", assignee="bob"
    ),
    intake("github assignee as an email", "trackerIntake.assignee", assignee="bob@example.com"),
    intake("linear author OWNER", "trackerIntake.authors", provider="linear", repo=None, team="ENG", authors=["OWNER"]),
    intake("github author GUEST", "trackerIntake.authors", authors=["GUEST"]),
    intake("intake enabled with no rule", "trackerIntake.labels", labels=[]),
    create(
        "intake with no repo and no gitOrigin",
        422,
        "trackerIntake.repo",
        trackerIntake={"enabled": True, "labels": ["agent"]},
    ),
    # ids in bodies and paths
    create("project id ../x", 422, "id", id="../x"),
    create("project id upper case", 422, "id", id="Demo"),
    Bad("project id ../x in the path", "GET", "/projects/..%2Fx", 400, "id"),
    Bad("project id ../x on put", "PUT", "/projects/..%2Fx/config", 400, "id", body={"name": "x"}),
    Bad("project id ../x on delete", "DELETE", "/projects/..%2Fx", 400, "id"),
    Bad("issue id not canonical", "DELETE", "/projects/demo/sessions/42", 400, "issueId"),
    Bad("issue id of another repo form", "DELETE", "/projects/demo/sessions/github%3Aacme%23x", 400, "issueId"),
    Bad("claim of no issue", "DELETE", "/projects/demo/sessions/github%3Aacme%2Fapp%237", 404, "issueId"),
    Bad("unknown project", "GET", "/projects/nope", 404, "id"),
    Bad("config of unknown project", "PUT", "/projects/nope/config", 404, "id", body={"name": "x"}),
    # poll now
    Bad("project id ../x on poll", "POST", "/projects/..%2Fx/poll", 400, "id"),
    Bad("poll of unknown project", "POST", "/projects/nope/poll", 404, "id"),
    Bad("poll of a project with intake off", "POST", "/projects/quiet/poll", 409, "id"),
    Bad("GET on poll", "GET", "/projects/demo/poll", 405, "method"),
    create("existing project", 409, "id", id="demo"),
    # routes and methods
    Bad("unknown route", "GET", "/widgets", 404, "path"),
    Bad("unknown nested route", "GET", "/projects/demo/widgets", 404, "path"),
    Bad("unknown method on a project", "PATCH", "/projects/demo", 405, "method"),
    Bad("POST to a project", "POST", "/projects/demo", 405, "method", body={"name": "x"}),
    # versions
    put("stale If-Match", 412, "If-Match", body={"name": "x"}, headers={"If-Match": '"1"'}),
    put("stale version field", 409, "version", body={"name": "x", "version": 1}),
    put("stale version field, If-Match *", 409, "version", body={"name": "x", "version": 1}, headers={"If-Match": "*"}),
    put("If-Match 0", 400, "If-Match", body={"name": "x"}, headers={"If-Match": '"0"'}),
    put("If-Match with spaces", 400, "If-Match", body={"name": "x"}, headers={"If-Match": ' "2" x'}),
    put("If-Match not a version", 400, "If-Match", body={"name": "x"}, headers={"If-Match": "abc"}),
    put("If-Match and version disagree", 400, "version", body={"name": "x", "version": 2}, headers={"If-Match": '"3"'}),
    # sizes and paging
    create("body over 16 KB", 413, "body", name="x" * (17 * 1024)),
    Bad("limit zero", "GET", "/projects", 422, "limit", query={"limit": "0"}),
    Bad("limit not a number", "GET", "/projects", 422, "limit", query={"limit": "ten"}),
    Bad("limit over 100", "GET", "/projects/demo/sessions", 422, "limit", query={"limit": "101"}),
    Bad("next token we never issued", "GET", "/projects", 400, "nextToken", query={"nextToken": "bm9wZQ"}),
]


@pytest.fixture
def seeded(aws: dict[str, Any]) -> Api:
    """Project demo at version 2 with intake on, and one launched claim; project quiet, intake off."""
    api = Api(aws)
    config = ProjectConfig.model_validate({"name": "Demo", "trackerIntake": GOOD_INTAKE})
    api.store.create_project("demo", config, CLAIMED_AT)
    api.store.replace_config("demo", config, 1, CLAIMED_AT)
    api.store.put_claim(claim())
    api.store.create_project("quiet", ProjectConfig(name="Quiet"), CLAIMED_AT)
    return api


def test_corpus_is_large_enough() -> None:
    # GIVEN the corpus
    # WHEN it is counted
    # THEN it holds at least the 40 requests the issue asks for
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_refused_request_names_the_field_and_writes_nothing(seeded: Api, case: Bad) -> None:
    # GIVEN the seeded table, scanned in full
    before = seeded.scan()
    # WHEN the bad request arrives
    event = request(case.method, case.path, body=case.body, raw=case.raw, headers=case.headers, query=case.query)
    answer = seeded(event)
    # THEN it is refused with the expected 4xx, a message, and the field at fault
    assert answer.status == case.status, answer.text
    assert answer.body["message"]
    assert case.field in answer.fields, answer.text
    # AND the table is exactly as it was
    assert seeded.scan() == before


def test_refusal_lists_every_field_at_fault(seeded: Api) -> None:
    # GIVEN a body with three independent mistakes
    body = {"id": "Bad!", "colour": "blue", "trackerIntake": {**GOOD_INTAKE, "provider": "gitlab"}}
    # WHEN it is posted
    answer = seeded(request("POST", "/projects", body=body))
    # THEN each mistake is named
    assert {"id", "colour", "trackerIntake.provider"} <= set(answer.fields)


def test_refusal_body_is_json_with_message_and_errors(seeded: Api) -> None:
    # GIVEN an unknown route
    # WHEN it is requested
    answer = seeded(request("GET", "/widgets"))
    # THEN the body is exactly {"message", "errors": [{"field", "reason"}]}
    assert set(json.loads(answer.text)) == {"message", "errors"}
    assert set(answer.body["errors"][0]) == {"field", "reason"}
    assert answer.headers["Content-Type"] == "application/json"


def test_405_names_the_allowed_methods(seeded: Api) -> None:
    # GIVEN /projects serves GET and POST
    # WHEN it is asked with PUT
    answer = seeded(request("PUT", "/projects", body={}))
    # THEN 405 says which methods are allowed
    assert answer.status == 405
    assert answer.headers["Allow"] == "GET, POST"


# --- what an external fuzzer found reaching a 5xx (schemathesis, issue "Hard edges") -------------


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


CRASH_ROWS = [
    # 1. a body where none is read, or of another media type, is never parsed unguarded
    Bad(
        "GET with a non-JSON body", "GET", "/projects", 200, "", raw="not json", headers={"Content-Type": "text/plain"}
    ),
    Bad("DELETE with a non-JSON body", "DELETE", "/projects/nope", 404, "id", raw="%%%"),
    Bad("openapi.json with a body", "GET", "/openapi.json", 200, "", raw="{{{"),
    Bad("unknown path with a body", "GET", "/widgets", 404, "path", raw="<xml/>"),
    Bad(
        "form-encoded POST",
        "POST",
        "/projects",
        415,
        "Content-Type",
        raw="id=new&name=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    # 2. multipart without a boundary
    Bad(
        "multipart without boundary on POST",
        "POST",
        "/projects",
        415,
        "Content-Type",
        raw="--x\r\n",
        headers={"Content-Type": "multipart/form-data"},
    ),
    Bad(
        "multipart without boundary on PUT",
        "PUT",
        "/projects/demo/config",
        415,
        "Content-Type",
        raw="--x",
        headers={"Content-Type": "multipart/form-data"},
    ),
    # 3. bodies that cannot be decoded
    Bad("an integer of 5,000 digits", "POST", "/projects", 400, "body", raw='{"id": "new", "n": ' + "9" * 5000 + "}"),
    Bad("JSON nested 3,000 deep", "POST", "/projects", 400, "body", raw='{"id": ' + _nested(3000) + "}"),
    # 5. a version beyond what any client or DynamoDB holds exactly
    put("version of 10^38", 422, "version", body={"name": "Demo", "version": 10**38}),
    # 6. a lone surrogate in a label, escaped as JSON sends it (the HTTP body is UTF-8)
    Bad(
        "a lone surrogate in a label",
        "POST",
        "/projects",
        400,
        "trackerIntake.labels[0]",
        raw=json.dumps({"id": "new", "trackerIntake": {**GOOD_INTAKE, "labels": ["\udfff"]}}),
    ),
]


@pytest.mark.parametrize("case", CRASH_ROWS, ids=[case.name for case in CRASH_ROWS])
def test_input_the_fuzzer_found_is_a_4xx_naming_the_field_and_writes_nothing(seeded: Api, case: Bad) -> None:
    # GIVEN the seeded table
    before = seeded.scan()
    # WHEN the request arrives
    event = request(case.method, case.path, body=case.body, raw=case.raw, headers=case.headers, query=case.query)
    answer = seeded(event)
    # THEN it is answered below 500: the expected status, and a refusal names the field at fault
    assert answer.status == case.status, answer.text
    if case.status >= 400:
        assert case.field in answer.fields, answer.text
    # AND nothing was written
    assert seeded.scan() == before


def test_a_body_that_is_not_utf8_is_400(seeded: Api) -> None:
    # GIVEN a base64-encoded body whose bytes are not UTF-8 (as API Gateway passes binary bodies)
    event = request("POST", "/projects", raw=base64.b64encode(b'{"id": "\xff\xfe"}').decode())
    event["isBase64Encoded"] = True
    # WHEN it is posted THEN 400 names the body
    answer = seeded(event)
    assert answer.status == 400 and "body" in answer.fields, answer.text


@pytest.mark.parametrize("route", ["/projects", "/projects/demo/sessions", "/projects/demo/polls"])
def test_a_crafted_next_token_of_deep_nesting_is_400(seeded: Api, route: str) -> None:
    # GIVEN a next token that is base64 of brackets nested 767 deep: at the length cap (2,048)
    token = base64.urlsafe_b64encode(_nested(767).encode()).decode().rstrip("=")
    assert len(token) <= 2048
    # WHEN a list route is asked with it THEN 400 names nextToken
    answer = seeded(request("GET", route, query={"nextToken": token}))
    assert answer.status == 400 and "nextToken" in answer.fields, answer.text


def test_media_types_compare_case_insensitively(seeded: Api) -> None:
    # WHEN a project is created with Content-Type written in capitals and with a charset
    answer = seeded(
        request(
            "POST",
            "/projects",
            raw=json.dumps({"id": "capitals"}),
            headers={"Content-Type": "APPLICATION/JSON; charset=UTF-8"},
        )
    )
    # THEN it is created
    assert answer.status == 201, answer.text
