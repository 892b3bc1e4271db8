"""The config API serves Linear projects: their rule in and out, and their sessions by identifier."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest
from api_support import Api, claim, load_event, request

from intake_dev.fake_linear import FakeLinear
from tracker_intake.domain.records import ClaimStatus, IssueSnapshot

LINEAR_RULE = {"enabled": True, "provider": "linear", "team": "ENG", "labels": ["agent"]}
ISSUE_UUID = "3f2b5c1e-8d4a-4b6f-9c2e-1a7d0e5b9f34"
LINEAR_ID = f"linear:acme/{ISSUE_UUID}"


@pytest.fixture
def api(aws: dict[str, Any]) -> Api:
    return Api(aws)


@pytest.fixture
def eng(api: Api) -> Api:
    """Project eng, polling Linear team ENG for the label agent, with one launched claim on ENG-123."""
    body = {"id": "eng", "gitOrigin": "git@github.com:acme/app.git", "trackerIntake": LINEAR_RULE}
    assert api(request("POST", "/projects", body=body)).status == 201
    github = claim(project_id="eng")
    api.store.put_claim(
        replace(
            github,
            canonical_id=LINEAR_ID,
            issue=IssueSnapshot(
                number=123,
                title="Fix the login page",
                url="https://linear.app/acme/issue/ENG-123/fix-the-login-page",
                labels=("agent",),
                assignees=(),
                body="",
                created_at="2026-11-20T09:30:00+00:00",
                identifier="ENG-123",
            ),
        )
    )
    return api


def test_a_linear_rule_is_created_and_answered_back_without_githubs_fields(api: Api) -> None:
    # GIVEN a Linear rule: its team, a label, an email assignee
    rule = {**LINEAR_RULE, "assignee": "ada@example.com"}
    # WHEN a project is created with it
    answer = api(request("POST", "/projects", body={"id": "eng", "trackerIntake": rule}))
    # THEN it is stored, with Linear's default authors, no memberWriteCheck and no repository
    assert answer.status == 201, answer.text
    intake = answer.body["trackerIntake"]
    assert (intake["provider"], intake["team"], intake["assignee"]) == ("linear", "ENG", "ada@example.com")
    assert intake["authors"] == ["MEMBER"]
    assert "memberWriteCheck" not in intake
    assert answer.body["intake"]["repo"] is None
    assert api.store.get_project("eng").config.tracker_intake.team == "ENG"  # type: ignore[union-attr]


def test_a_github_rule_is_replaced_by_a_linear_one(api: Api) -> None:
    # GIVEN project demo, polling GitHub
    assert api(load_event("api-create-project.json")).status == 201
    # WHEN its config is replaced with a Linear rule
    body = {"gitOrigin": "git@github.com:acme/app.git", "trackerIntake": LINEAR_RULE}
    answer = api(request("PUT", "/projects/demo/config", body=body))
    # THEN the Linear rule is stored, and the project reads back as it was written
    assert answer.status == 200, answer.text
    assert answer.body["trackerIntake"]["provider"] == "linear"
    again = api(request("GET", "/projects/demo"))
    assert again.body["trackerIntake"] == answer.body["trackerIntake"]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"team": None}, "trackerIntake.team"),
        ({"repo": "acme/app"}, "trackerIntake.repo"),
        ({"memberWriteCheck": False}, "trackerIntake.memberWriteCheck"),
        ({"assignee": "ada"}, "trackerIntake.assignee"),
        ({"authors": ["COLLABORATOR"]}, "trackerIntake.authors"),
    ],
    ids=["no team", "a repo", "memberWriteCheck", "a login as assignee", "a GitHub association"],
)
def test_a_linear_rule_breaking_its_trackers_rules_is_422_naming_the_field(
    eng: Api, rule: dict[str, Any], field: str
) -> None:
    # GIVEN project eng at version 1
    # WHEN its config is replaced with a Linear rule that breaks one rule
    answer = eng(request("PUT", "/projects/eng/config", body={"trackerIntake": {**LINEAR_RULE, **rule}}))
    # THEN 422 names the field, and nothing is written
    assert answer.status == 422, answer.text
    assert answer.fields == [field]
    assert eng.store.get_project("eng").version == 1


def test_the_session_list_carries_the_provider_and_the_identifier(eng: Api) -> None:
    # GIVEN project eng with a launched claim on ENG-123, and a GitHub claim in project demo
    # WHEN its sessions are listed
    (row,) = eng(request("GET", "/projects/eng/sessions")).body["items"]
    # THEN the row names the issue by its canonical id, its identifier and its URL
    assert row["issueId"] == LINEAR_ID
    assert (row["provider"], row["identifier"]) == ("linear", "ENG-123")
    assert row["url"] == "https://linear.app/acme/issue/ENG-123/fix-the-login-page"


def test_a_github_session_has_the_provider_and_no_identifier(api: Api) -> None:
    # GIVEN a GitHub project with a launched claim on #42
    assert api(load_event("api-create-project.json")).status == 201
    api.store.put_claim(claim())
    # WHEN its sessions are listed
    (row,) = api(load_event("api-list-sessions.json")).body["items"]
    # THEN the provider is github and there is no identifier (people read #42)
    assert (row["provider"], row["identifier"], row["number"]) == ("github", None, 42)


def test_a_linear_claim_is_released_by_its_url_encoded_canonical_id(eng: Api) -> None:
    # GIVEN the launched claim on ENG-123
    # WHEN it is released by its canonical id, URL-encoded as a path segment
    answer = eng(request("DELETE", f"/projects/eng/sessions/{quote(LINEAR_ID, safe='')}"))
    # THEN the released session is answered with its identifier, and the claim is released
    assert answer.status == 200, answer.text
    assert (answer.body["status"], answer.body["identifier"]) == ("released", "ENG-123")
    assert eng.store.get_claim(LINEAR_ID).status is ClaimStatus.RELEASED  # type: ignore[union-attr]


def test_a_draft_linear_rule_is_previewed_from_its_team_without_a_repository(aws: dict[str, Any]) -> None:
    # GIVEN a Linear workspace whose team ENG has an issue labelled agent and one that is not
    with FakeLinear() as linear:
        linear.add_team("ENG")
        linear.add_user("ana@acme.test", "Ana")
        linear.add_api_key("lin_api_test", user="ana@acme.test")
        linear.add_issue("ENG", "Crash on start", labels=["agent"], creator="ana@acme.test")
        linear.add_issue("ENG", "Tidy the docs", creator="ana@acme.test")
        env = {"GITHUB_API_URL": "http://127.0.0.1:9", "LINEAR_API_URL": linear.url, "LINEAR_API_KEY": "lin_api_test"}
        api = Api(aws, env=env)
        # WHEN a new project's Linear rule, naming no repository and no gitOrigin, is previewed
        answer = api(request("POST", "/preview", body={"trackerIntake": LINEAR_RULE}))
    # THEN the team's issue with the label is eligible, named by its identifier; the other is skipped
    assert answer.status == 200, answer.text
    (eligible,) = answer.body["eligible"]
    assert (eligible["provider"], eligible["identifier"], eligible["title"]) == ("linear", "ENG-1", "Crash on start")
    assert eligible["canonicalId"].startswith("linear:")
    assert [skipped["identifier"] for skipped in answer.body["skipped"]] == ["ENG-2"]


def test_openapi_document_describes_linear_rules_and_sessions(api: Api) -> None:
    # GIVEN the API
    # WHEN the document is read
    schemas = api(load_event("api-openapi.json")).body["components"]["schemas"]
    # THEN the rule takes a provider and a team, and a session carries its provider and identifier
    intake = schemas["TrackerIntake"]["properties"]
    assert intake["provider"]["enum"] == ["github", "linear", "jira"]
    assert "team" in intake and "Linear" in intake["team"]["description"]
    session = schemas["SessionView"]["properties"]
    assert {"provider", "identifier"} <= set(session)
    assert "ENG-123" in session["identifier"]["description"]
