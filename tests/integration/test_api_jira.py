"""The config API serves Jira projects: their rule in and out, their sessions by key, and a preview
of a Jira rule against the Jira stand-in."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest
from api_support import Api, claim, load_event, request

from intake_dev.fake_jira import FakeJira
from tracker_intake.domain.records import ClaimStatus, IssueSnapshot

SITE = "acme.atlassian.net"
JIRA_RULE = {"enabled": True, "provider": "jira", "site": SITE, "project": "PROJ", "labels": ["agent"]}
JIRA_ID = f"jira:{SITE}/10042"
JIRA_URL = f"https://{SITE}/browse/PROJ-123"
ACCOUNT_ID = "5b10ac8d82e05b22cc7d4ef5"


@pytest.fixture
def api(aws: dict[str, Any]) -> Api:
    return Api(aws)


@pytest.fixture
def proj(api: Api) -> Api:
    """Project proj, polling Jira project PROJ for the label agent, with one launched claim on PROJ-123."""
    body = {"id": "proj", "gitOrigin": "git@github.com:acme/app.git", "trackerIntake": JIRA_RULE}
    assert api(request("POST", "/projects", body=body)).status == 201
    api.store.put_claim(
        replace(
            claim(project_id="proj"),
            canonical_id=JIRA_ID,
            issue=IssueSnapshot(
                number=123,
                title="Fix the login page",
                url=JIRA_URL,
                labels=("agent",),
                assignees=(),
                body="",
                created_at="2026-11-20T09:30:00+00:00",
                identifier="PROJ-123",
            ),
        )
    )
    return api


@pytest.mark.parametrize("assignee", [ACCOUNT_ID, "ada@example.com", "*", "none"])
def test_a_jira_rule_is_created_and_answered_back_without_githubs_fields(api: Api, assignee: str) -> None:
    # GIVEN a Jira rule: its site, its project, a label, an assignee by account id, email, anyone or no one
    rule = {**JIRA_RULE, "assignee": assignee}
    # WHEN a project is created with it
    answer = api(request("POST", "/projects", body={"id": "proj", "trackerIntake": rule}))
    # THEN it is stored, with Jira's default authors, no memberWriteCheck, no team and no repository
    assert answer.status == 201, answer.text
    intake = answer.body["trackerIntake"]
    assert (intake["provider"], intake["site"], intake["project"]) == ("jira", SITE, "PROJ")
    assert (intake["assignee"], intake["authors"], intake["team"]) == (assignee, ["MEMBER"], None)
    assert "memberWriteCheck" not in intake
    assert answer.body["intake"]["repo"] is None
    stored = api.store.get_project("proj").config.tracker_intake  # type: ignore[union-attr]
    assert (stored.site, stored.project) == (SITE, "PROJ")  # type: ignore[union-attr]


def test_a_jira_rule_takes_its_reporter_kinds_and_a_comment_or_label_acknowledgement(api: Api) -> None:
    # GIVEN a Jira rule that takes customers' and apps' issues, and acknowledges with a comment
    rule = {**JIRA_RULE, "authors": ["CUSTOMER", "APP"], "acknowledge": "comment"}
    # WHEN a project is created with it, then its acknowledgement changed to a label
    created = api(request("POST", "/projects", body={"id": "proj", "trackerIntake": rule}))
    relabelled = api(request("PUT", "/projects/proj/config", body={"trackerIntake": {**rule, "acknowledge": "label"}}))
    # THEN both are stored as written
    assert created.status == 201, created.text
    assert (created.body["trackerIntake"]["authors"], created.body["trackerIntake"]["acknowledge"]) == (
        ["CUSTOMER", "APP"],
        "comment",
    )
    assert relabelled.status == 200, relabelled.text
    assert relabelled.body["trackerIntake"]["acknowledge"] == "label"


def test_a_github_rule_is_replaced_by_a_jira_one_and_reads_back_as_written(api: Api) -> None:
    # GIVEN project demo, polling GitHub
    assert api(load_event("api-create-project.json")).status == 201
    # WHEN its config is replaced with a Jira rule
    body = {"gitOrigin": "git@github.com:acme/app.git", "trackerIntake": JIRA_RULE}
    answer = api(request("PUT", "/projects/demo/config", body=body))
    # THEN the Jira rule is stored, no repository is derived from the git origin, and the project
    # reads back as it was written
    assert answer.status == 200, answer.text
    assert (answer.body["trackerIntake"]["provider"], answer.body["intake"]["repo"]) == ("jira", None)
    again = api(request("GET", "/projects/demo"))
    assert again.body["trackerIntake"] == answer.body["trackerIntake"]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"site": None}, "trackerIntake.site"),
        ({"site": "Acme Site"}, "trackerIntake.site"),
        ({"project": None}, "trackerIntake.project"),
        ({"project": "proj"}, "trackerIntake.project"),
        ({"assignee": "ada"}, "trackerIntake.assignee"),
        ({"acknowledge": "reaction"}, "trackerIntake.acknowledge"),
        ({"team": "ENG"}, "trackerIntake.team"),
        ({"repo": "acme/app"}, "trackerIntake.repo"),
        ({"memberWriteCheck": False}, "trackerIntake.memberWriteCheck"),
        ({"authors": ["GUEST"]}, "trackerIntake.authors"),
    ],
    ids=[
        "no site",
        "a bad site",
        "no project",
        "a lower-case project key",
        "a login as assignee",
        "a reaction",
        "a team",
        "a repo",
        "memberWriteCheck",
        "a Linear creator kind",
    ],
)
def test_a_jira_rule_breaking_its_trackers_rules_is_422_naming_the_field(
    proj: Api, rule: dict[str, Any], field: str
) -> None:
    # GIVEN project proj at version 1
    # WHEN its config is replaced with a Jira rule that breaks one rule
    answer = proj(request("PUT", "/projects/proj/config", body={"trackerIntake": {**JIRA_RULE, **rule}}))
    # THEN 422 names the field, and nothing is written
    assert answer.status == 422, answer.text
    assert answer.fields == [field]
    assert proj.store.get_project("proj").version == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(("field", "value"), [("site", SITE), ("project", "PROJ")])
def test_a_github_or_linear_rule_naming_a_jira_field_is_422_naming_it(api: Api, field: str, value: str) -> None:
    for rule in (
        {"enabled": True, "provider": "github", "repo": "acme/app", "labels": ["agent"]},
        {"enabled": True, "provider": "linear", "team": "ENG", "labels": ["agent"]},
    ):
        # WHEN a GitHub or Linear rule names a Jira field
        answer = api(request("POST", "/projects", body={"id": "proj", "trackerIntake": {**rule, field: value}}))
        # THEN 422 names it, and no project is created
        assert answer.status == 422, answer.text
        assert answer.fields == [f"trackerIntake.{field}"]
    assert api(request("GET", "/projects/proj")).status == 404


def test_the_session_list_carries_the_provider_and_the_key(proj: Api) -> None:
    # GIVEN project proj with a launched claim on PROJ-123
    # WHEN its sessions are listed
    (row,) = proj(request("GET", "/projects/proj/sessions")).body["items"]
    # THEN the row names the issue by its canonical id, its key and its browse URL
    assert row["issueId"] == JIRA_ID
    assert (row["provider"], row["identifier"], row["url"]) == ("jira", "PROJ-123", JIRA_URL)


def test_a_jira_claim_is_released_by_its_url_encoded_canonical_id(proj: Api) -> None:
    # GIVEN the launched claim on PROJ-123
    # WHEN it is released by its canonical id, URL-encoded as a path segment
    answer = proj(request("DELETE", f"/projects/proj/sessions/{quote(JIRA_ID, safe='')}"))
    # THEN the released session is answered with its key, and the claim is released
    assert answer.status == 200, answer.text
    assert (answer.body["status"], answer.body["provider"], answer.body["identifier"]) == (
        "released",
        "jira",
        "PROJ-123",
    )
    assert proj.store.get_claim(JIRA_ID).status is ClaimStatus.RELEASED  # type: ignore[union-attr]


def test_a_jira_claim_is_not_released_by_its_key(proj: Api) -> None:
    # GIVEN the launched claim on PROJ-123
    # WHEN a release names the issue by its key
    answer = proj(request("DELETE", "/projects/proj/sessions/PROJ-123"))
    # THEN it is refused, and the claim stays launched
    assert answer.status in (400, 404, 422), answer.text
    assert proj.store.get_claim(JIRA_ID).status is ClaimStatus.LAUNCHED  # type: ignore[union-attr]


def test_a_draft_jira_rule_is_previewed_from_its_project_without_a_repository(aws: dict[str, Any]) -> None:
    # GIVEN a Jira site whose project PROJ has an issue labelled agent and one that is not
    with FakeJira() as jira:
        jira.add_project("PROJ")
        ana = jira.add_user("ana@acme.test")
        jira.add_api_token("ana@acme.test", "jira-api-token")
        jira.add_issue("PROJ", "Crash on start", labels=["agent"], reporter=ana)
        jira.add_issue("PROJ", "Tidy the docs", reporter=ana)
        env = {
            "GITHUB_API_URL": "http://127.0.0.1:9",
            "JIRA_API_URL": jira.base_url,
            "JIRA_EMAIL": "ana@acme.test",
            "JIRA_API_TOKEN": "jira-api-token",
        }
        api = Api(aws, env=env)
        # WHEN a new project's Jira rule, naming no repository and no gitOrigin, is previewed
        answer = api(request("POST", "/preview", body={"trackerIntake": JIRA_RULE}))
    # THEN the project's issue with the label is eligible, named by its key; the other is skipped
    assert answer.status == 200, answer.text
    (eligible,) = answer.body["eligible"]
    assert (eligible["provider"], eligible["identifier"], eligible["title"]) == ("jira", "PROJ-1", "Crash on start")
    assert eligible["canonicalId"].startswith(f"jira:{SITE}/")
    assert [skipped["identifier"] for skipped in answer.body["skipped"]] == ["PROJ-2"]


def test_openapi_document_describes_jira_rules(api: Api) -> None:
    # GIVEN the API
    # WHEN the document is read
    schemas = api(load_event("api-openapi.json")).body["components"]["schemas"]
    # THEN the rule takes the jira provider, a site and a project, each described for Jira
    intake = schemas["TrackerIntake"]["properties"]
    assert "jira" in intake["provider"]["enum"]
    assert "Jira" in intake["site"]["description"] and "Jira" in intake["project"]["description"]
