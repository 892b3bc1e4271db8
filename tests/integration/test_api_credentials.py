"""The credentials routes on the real ApiFunction handler: moto (its Secrets Manager holds the
secrets), the GitHub stand-in on loopback for checks. References go in and come out; secrets never."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from api_support import Answer, Api, request
from credential_support import APP_ID, PREFIX, AppKey, fresh_credential_caches, install_app_on_acme_app, store_secret
from security.leaks import leaks

from intake_dev.clock import FixedClock
from intake_dev.fake_github import FakeGitHub
from tracker_intake.settings import ApiSettings
from tracker_intake.wiring import build_api_context

DEFAULT_TOKEN = "ghp_defaultDeploymentToken0123456789abcd"
CI_TOKEN = "ghp_registeredCiToken0123456789abcdefAB"
APP_KEY = AppKey.generate()
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Secrets:
    token_arn: str  # CI_TOKEN, under the prefix
    app_arn: str  # the app's PEM, under the prefix
    elsewhere_arn: str  # a real secret, outside the prefix


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    with fresh_credential_caches():
        yield


@pytest.fixture
def secrets(aws: dict[str, Any]) -> Secrets:
    return Secrets(
        token_arn=store_secret("intake-test/ci-token", CI_TOKEN),
        app_arn=store_secret("intake-test/triage-app", APP_KEY.pem),
        elsewhere_arn=store_secret("someone-else/token", "ghp_notOurs"),
    )


@pytest.fixture
def github(github: FakeGitHub) -> FakeGitHub:
    return install_app_on_acme_app(github, APP_KEY)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def api(aws: dict[str, Any], github: FakeGitHub, secrets: Secrets, clock: FixedClock) -> Api:
    """The API as deployed, its default credential a token, registered secrets under PREFIX."""
    api = Api(aws)
    settings = ApiSettings.model_validate(
        {"TABLE_NAME": aws["table_name"], "GITHUB_API_URL": github.base_url, "CREDENTIAL_SECRET_PREFIX": PREFIX}
    )
    context = build_api_context(settings, dynamodb=aws["dynamodb"], token=DEFAULT_TOKEN)
    api.module.use(replace(context, clock=clock))
    return api


def put(api: Api, name: str, **body: Any) -> Answer:
    return api(request("PUT", f"/credentials/{name}", body=body))


def token_body(secrets: Secrets) -> dict[str, Any]:
    return {"kind": "token", "secretArn": secrets.token_arn}


def app_body(secrets: Secrets) -> dict[str, Any]:
    return {"kind": "app", "secretArn": secrets.app_arn, "appId": APP_ID}


def create_project(api: Api, project_id: str, repo: str, credential: str | None = None) -> Answer:
    intake: dict[str, Any] = {"enabled": True, "repo": repo, "labels": ["agent"]}
    if credential is not None:
        intake["credential"] = credential
    return api(request("POST", "/projects", body={"id": project_id, "trackerIntake": intake}))


def set_credential(api: Api, project_id: str, repo: str, credential: str | None) -> Answer:
    intake: dict[str, Any] = {"enabled": True, "repo": repo, "labels": ["agent"]}
    if credential is not None:
        intake["credential"] = credential
    return api(request("PUT", f"/projects/{project_id}/config", body={"trackerIntake": intake}))


@pytest.fixture
def registered(api: Api, secrets: Secrets) -> Api:
    """`ci` (a token) and `triage` (app 4242) registered."""
    assert put(api, "ci", **token_body(secrets)).status == 200
    assert put(api, "triage", **app_body(secrets)).status == 200
    return api


# --- registering and listing ---------------------------------------------------------------


def test_registered_credentials_are_listed_after_the_default_by_reference_only(api: Api, secrets: Secrets) -> None:
    # GIVEN a deployment whose default is a token, and no credential registered
    # WHEN a token credential and an app credential are registered, then the credentials listed
    token = put(api, "ci", **token_body(secrets))
    app = put(api, "triage", **app_body(secrets))
    listed = api(request("GET", "/credentials"))
    # THEN each registration answers the credential as stored
    assert token.status == app.status == 200, (token.text, app.text)
    assert {k: token.body[k] for k in ("name", "kind", "secretArn", "appId", "default")} == {
        "name": "ci",
        "kind": "token",
        "secretArn": secrets.token_arn,
        "appId": None,
        "default": False,
    }
    assert (app.body["kind"], app.body["appId"], app.body["secretArn"]) == ("app", APP_ID, secrets.app_arn)
    # AND the list holds the default apart, both registered ones by name, and the prefix
    assert listed.status == 200
    assert listed.body["default"]["name"] == "default" and listed.body["default"]["default"] is True
    assert listed.body["default"]["kind"] == "token"
    assert [c["name"] for c in listed.body["items"]] == ["ci", "triage"]
    assert listed.body["items"] == [token.body, app.body]
    assert listed.body["secretPrefix"] == PREFIX
    # AND what is answered and stored are references: no field but those, no secret value
    assert set(listed.body["items"][1]) == {"name", "kind", "secretArn", "appId", "default", "createdAt", "updatedAt"}
    stored = [item for item in api.scan() if item["pk"]["S"] == "CREDENTIALS"]
    assert len(stored) == 2
    assert CI_TOKEN not in json.dumps(stored) and "PRIVATE KEY" not in json.dumps(stored)


def test_a_default_that_is_a_github_app_is_listed_with_its_app_id_and_key_secret(
    aws: dict[str, Any], secrets: Secrets
) -> None:
    # GIVEN a deployment whose default credential is a GitHub App
    api = Api(aws)
    settings = ApiSettings.model_validate(
        {"TABLE_NAME": aws["table_name"], "GITHUB_APP_ID": APP_ID, "GITHUB_APP_KEY_SECRET_ARN": secrets.app_arn}
    )
    api.module.use(build_api_context(settings, dynamodb=aws["dynamodb"]))
    # WHEN the credentials are listed
    listed = api(request("GET", "/credentials"))
    # THEN the default is that app, by reference, and nothing is registered; secrets may be anywhere
    assert listed.status == 200, listed.text
    default = listed.body["default"]
    assert (default["kind"], default["appId"], default["secretArn"]) == ("app", APP_ID, secrets.app_arn)
    assert listed.body["items"] == [] and listed.body["secretPrefix"] is None


def test_registering_again_replaces_the_credential_and_keeps_when_it_was_first_registered(
    registered: Api, secrets: Secrets, clock: FixedClock
) -> None:
    # GIVEN `ci` registered as a token at START
    first = registered(request("GET", "/credentials")).body["items"][0]
    # WHEN, an hour later, `ci` is registered again as the app
    clock.advance(3600)
    again = put(registered, "ci", **app_body(secrets))
    # THEN it is the app now, first registered at START and updated an hour later
    assert again.status == 200, again.text
    listed = registered(request("GET", "/credentials")).body["items"][0]
    assert (listed["kind"], listed["appId"], listed["secretArn"]) == ("app", APP_ID, secrets.app_arn)
    assert listed["createdAt"] == first["createdAt"] == again.body["createdAt"]
    assert datetime.fromisoformat(listed["createdAt"]) == START
    assert datetime.fromisoformat(listed["updatedAt"]) == clock.now()
    # AND there is still one item for it
    assert len([i for i in registered.scan() if i["sk"]["S"] == "CREDENTIAL#ci"]) == 1


# --- refusals ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    name: str
    method: str
    path: str
    status: int
    field: str
    body: Any = None


def refusals(secrets: Secrets) -> list[Refused]:
    token, app = token_body(secrets), app_body(secrets)
    return [
        Refused("secretArn not an ARN", "PUT", "/credentials/ci", 422, "secretArn", {**token, "secretArn": "ghp_x"}),
        Refused(
            "secretArn of another service",
            "PUT",
            "/credentials/ci",
            422,
            "secretArn",
            {**token, "secretArn": "arn:aws:ssm:us-east-1:123456789012:parameter/intake-test/ci"},
        ),
        Refused(
            "secretArn outside the prefix",
            "PUT",
            "/credentials/ci",
            422,
            "secretArn",
            {**token, "secretArn": secrets.elsewhere_arn},
        ),
        Refused("secretArn missing", "PUT", "/credentials/ci", 422, "secretArn", {"kind": "token"}),
        Refused("kind app without appId", "PUT", "/credentials/ci", 422, "appId", {**token, "kind": "app"}),
        Refused("kind token with appId", "PUT", "/credentials/ci", 422, "appId", {**token, "appId": APP_ID}),
        Refused("appId not a number", "PUT", "/credentials/ci", 422, "appId", {**app, "appId": "my-app"}),
        Refused("appId zero", "PUT", "/credentials/ci", 422, "appId", {**app, "appId": "0"}),
        Refused("appId as a number", "PUT", "/credentials/ci", 422, "appId", {**app, "appId": 4242}),
        Refused("kind unknown", "PUT", "/credentials/ci", 422, "kind", {**token, "kind": "password"}),
        Refused("unknown body field", "PUT", "/credentials/ci", 422, "secret", {**token, "secret": CI_TOKEN}),
        Refused("no body", "PUT", "/credentials/ci", 422, "body"),
        Refused("name default on PUT", "PUT", "/credentials/default", 400, "name", token),
        Refused("name default on DELETE", "DELETE", "/credentials/default", 400, "name"),
        Refused("name upper case", "PUT", "/credentials/CI", 400, "name", token),
        Refused("name climbing out", "PUT", "/credentials/..%2Fci", 400, "name", token),
        Refused("name of 65 characters", "PUT", "/credentials/" + "c" * 65, 400, "name", token),
        Refused("name ending in a dash", "DELETE", "/credentials/ci-", 400, "name"),
        Refused("bad name on check", "POST", "/credentials/Ci%20Token/check", 400, "name"),
        Refused("DELETE of an unknown name", "DELETE", "/credentials/nobody", 404, "name"),
        Refused("check of an unknown name", "POST", "/credentials/nobody/check", 404, "name"),
        Refused("DELETE while a project names it", "DELETE", "/credentials/ci", 409, "name"),
        Refused(
            "config naming an unregistered credential",
            "PUT",
            "/projects/app/config",
            422,
            "trackerIntake.credential",
            {"trackerIntake": {"enabled": True, "repo": "acme/app", "labels": ["agent"], "credential": "nobody"}},
        ),
        Refused(
            "new project naming an unregistered credential",
            "POST",
            "/projects",
            422,
            "trackerIntake.credential",
            {"id": "new", "trackerIntake": {"enabled": True, "repo": "acme/app", "labels": ["a"], "credential": "x"}},
        ),
        Refused(
            "config naming a credential by a bad name",
            "PUT",
            "/projects/app/config",
            422,
            "trackerIntake.credential",
            {"trackerIntake": {"enabled": True, "repo": "acme/app", "labels": ["agent"], "credential": "CI"}},
        ),
    ]


# The cases' names, for ids: the ARNs they hold are made by the fixture.
REFUSAL_NAMES = [case.name for case in refusals(Secrets("", "", ""))]


@pytest.mark.parametrize("case_name", REFUSAL_NAMES)
def test_a_refused_request_names_the_field_and_changes_nothing(
    registered: Api, secrets: Secrets, case_name: str
) -> None:
    # GIVEN `ci` and `triage` registered, project app polling with `ci`, and the table scanned
    assert create_project(registered, "app", "acme/app", credential="ci").status == 201
    case = next(c for c in refusals(secrets) if c.name == case_name)
    before = registered.scan()
    # WHEN the bad request arrives
    answer = registered(request(case.method, case.path, body=case.body))
    # THEN it is refused with its 4xx, a message, and the field at fault
    assert answer.status == case.status, answer.text
    assert answer.body["message"]
    assert case.field in answer.fields, answer.text
    # AND the table is exactly as it was
    assert registered.scan() == before


def test_deleting_a_credential_in_use_names_the_project_until_it_moves_off(registered: Api) -> None:
    # GIVEN project app polling with `ci`, project tools with the default
    assert create_project(registered, "app", "acme/app", credential="ci").status == 201
    assert create_project(registered, "tools", "acme/tools").status == 201
    # WHEN `ci` is removed
    refused = registered(request("DELETE", "/credentials/ci"))
    # THEN 409, naming the project that uses it (and not the other)
    assert refused.status == 409, refused.text
    assert "app" in refused.body["message"] and "tools" not in refused.body["message"]
    assert refused.fields == ["name"]
    # WHEN project app moves to the default, and `ci` is removed again
    assert set_credential(registered, "app", "acme/app", None).status == 200
    removed = registered(request("DELETE", "/credentials/ci"))
    # THEN it is gone: 204, and no longer listed
    assert (removed.status, removed.text) == (204, "")
    assert [c["name"] for c in registered(request("GET", "/credentials")).body["items"]] == ["triage"]


def test_deleting_a_credential_twice_is_404_the_second_time(registered: Api) -> None:
    # GIVEN `triage`, used by no project, removed once
    assert registered(request("DELETE", "/credentials/triage")).status == 204
    # WHEN it is removed again
    answer = registered(request("DELETE", "/credentials/triage"))
    # THEN 404 naming the name
    assert answer.status == 404 and answer.fields == ["name"]
    assert "triage" in answer.body["message"]


# --- projects naming credentials ---------------------------------------------------------------


def test_a_config_naming_an_unregistered_credential_is_422_and_writes_nothing(registered: Api) -> None:
    # GIVEN project app on the default credential
    assert create_project(registered, "app", "acme/app").status == 201
    before = registered.scan()
    # WHEN its config names a credential nobody registered
    answer = set_credential(registered, "app", "acme/app", "nobody")
    # THEN 422 at trackerIntake.credential, saying where the registered ones are listed
    assert answer.status == 422, answer.text
    assert answer.fields == ["trackerIntake.credential"]
    assert "nobody" in answer.body["message"] and "GET /credentials" in answer.body["message"]
    assert registered.scan() == before


def test_a_config_naming_a_registered_credential_is_stored_and_answered(registered: Api) -> None:
    # GIVEN project app on the default credential
    assert create_project(registered, "app", "acme/app").status == 201
    # WHEN its config names `triage`, then `default`
    named = set_credential(registered, "app", "acme/app", "triage")
    stored = registered.store.get_project("app").credential
    default = set_credential(registered, "app", "acme/app", "default")
    # THEN both are accepted, and the project polls with what it names
    assert named.status == 200, named.text
    assert named.body["trackerIntake"]["credential"] == "triage" and stored == "triage"
    assert default.status == 200, default.text
    assert registered.store.get_project("app").credential == "default"


# --- checks ----------------------------------------------------------------------------------


def test_check_says_which_repos_of_its_projects_a_credential_sees(registered: Api, github: FakeGitHub) -> None:
    # GIVEN project app (acme/app) on the token `ci`, project tools (acme/tools) on the app
    # `triage`, which is installed on acme/app only
    assert create_project(registered, "app", "acme/app", credential="ci").status == 201
    assert create_project(registered, "tools", "acme/tools", credential="triage").status == 201
    # WHEN each credential is checked
    token = registered(request("POST", "/credentials/ci/check"))
    app = registered(request("POST", "/credentials/triage/check"))
    # THEN the token sees acme/app, asked with its own token (not the default's)
    assert token.status == 200, token.text
    assert token.body == {
        "credential": "ci",
        "projects": [{"projectId": "app", "repo": "acme/app", "visible": True, "reason": None}],
    }
    assert [r.header("Authorization") for r in github.requests_for("acme/app")] == [f"Bearer {CI_TOKEN}"]
    # AND the app does not see acme/tools, and one sentence says why
    assert app.status == 200, app.text
    [line] = app.body["projects"]
    assert (line["projectId"], line["repo"], line["visible"]) == ("tools", "acme/tools", False)
    assert line["reason"] == f"the GitHub App {APP_ID} is not installed on acme/tools (or cannot see it)"


def test_check_of_an_app_that_sees_its_project_signs_in_as_the_installation(
    registered: Api, github: FakeGitHub
) -> None:
    # GIVEN project app (acme/app) on the app `triage`, installed there as 11
    assert create_project(registered, "app", "acme/app", credential="triage").status == 201
    # WHEN `triage` is checked
    answer = registered(request("POST", "/credentials/triage/check"))
    # THEN acme/app is visible, read with an installation token of 11
    assert answer.status == 200, answer.text
    assert answer.body["projects"] == [{"projectId": "app", "repo": "acme/app", "visible": True, "reason": None}]
    [read] = [r for r in github.requests if r.path == "/repos/acme/app"]
    assert read.identity == "installation:11"


def test_check_of_a_credential_no_project_uses_lists_nothing(registered: Api, github: FakeGitHub) -> None:
    # GIVEN project app on the default credential
    assert create_project(registered, "app", "acme/app").status == 201
    # WHEN `ci`, which no project names, is checked
    answer = registered(request("POST", "/credentials/ci/check"))
    # THEN no line, and GitHub was not asked
    assert answer.status == 200 and answer.body == {"credential": "ci", "projects": []}
    assert github.requests == []


def test_check_of_the_default_covers_the_projects_that_name_none(registered: Api, github: FakeGitHub) -> None:
    # GIVEN project tools on the default credential, project app on `ci`
    assert create_project(registered, "tools", "acme/tools").status == 201
    assert create_project(registered, "app", "acme/app", credential="ci").status == 201
    # WHEN the default is checked
    answer = registered(request("POST", "/credentials/default/check"))
    # THEN only tools is listed, read with the deployment's token
    assert answer.status == 200, answer.text
    assert [p["projectId"] for p in answer.body["projects"]] == ["tools"]
    assert [r.header("Authorization") for r in github.requests_for("acme/tools")] == [f"Bearer {DEFAULT_TOKEN}"]


def test_check_of_a_token_credential_whose_secret_is_a_key_says_to_register_it_as_an_app(
    registered: Api, github: FakeGitHub
) -> None:
    # GIVEN the app's key registered by mistake as a token, and project app polling with it
    pem_arn = store_secret("intake-test/key-as-token", APP_KEY.pem)
    assert put(registered, "mixup", kind="token", secretArn=pem_arn).status == 200
    assert create_project(registered, "app", "acme/app", credential="mixup").status == 201
    # WHEN it is checked
    answer = registered(request("POST", "/credentials/mixup/check"))
    # THEN acme/app is not visible, the reason says what to do, and nothing was sent to GitHub
    assert answer.status == 200, answer.text
    [line] = answer.body["projects"]
    assert line["visible"] is False
    assert line["reason"] == (
        "the secret of the mixup credential holds a private key, not a token: "
        "register it with kind app and the app's id"
    )
    assert github.requests == []


def test_check_of_an_unknown_credential_is_404(registered: Api, github: FakeGitHub) -> None:
    # WHEN a name nobody registered is checked
    answer = registered(request("POST", "/credentials/nobody/check"))
    # THEN 404 naming the name, and GitHub was not asked
    assert answer.status == 404 and answer.fields == ["name"]
    assert github.requests == []


# --- secrets ---------------------------------------------------------------------------------


def test_no_credentials_route_ever_answers_secret_material(
    registered: Api, secrets: Secrets, github: FakeGitHub
) -> None:
    # GIVEN projects on each credential: the check reads both secrets, signs JWTs, mints a token
    assert create_project(registered, "app", "acme/app", credential="triage").status == 201
    assert create_project(registered, "tools", "acme/tools", credential="ci").status == 201
    # WHEN every credentials route answers, refusals included (one smuggling the token itself)
    answers = [
        registered(request("GET", "/credentials")),
        put(registered, "ci", **token_body(secrets)),
        put(registered, "triage", **app_body(secrets)),
        put(registered, "spare", kind="token", secretArn=secrets.elsewhere_arn),
        put(registered, "spare", **token_body(secrets), secret=CI_TOKEN),
        put(registered, "spare", kind="app", secretArn=APP_KEY.pem, appId=APP_ID),
        registered(request("POST", "/credentials/ci/check")),
        registered(request("POST", "/credentials/triage/check")),
        registered(request("POST", "/credentials/default/check")),
        registered(request("DELETE", "/credentials/ci")),
        registered(request("DELETE", "/credentials/nobody")),
        registered(request("GET", "/projects/app")),
        registered(request("GET", "/openapi.json")),
    ]
    # THEN the checks really used the secrets ...
    assert answers[7].body["projects"][0]["visible"] is True
    sent = {r.header("Authorization") or "" for r in github.requests}
    issued = {h.partition(" ")[2] for h in sent if h.startswith("Bearer ghs_")}
    jwts = {h.partition(" ")[2] for h in sent if h.startswith("Bearer ey")}
    assert issued and jwts and f"Bearer {CI_TOKEN}" in sent
    # ... and no answer nor table item holds the token, the key (whole or any line of it), a JWT or an
    # installation token
    found = {"registered token": CI_TOKEN, **APP_KEY.secrets()}
    found |= {f"jwt {n}": value for n, value in enumerate(sorted(jwts))}
    found |= {f"installation token {n}": value for n, value in enumerate(sorted(issued))}
    texts = [answer.text + json.dumps(answer.headers) for answer in answers]
    texts += [json.dumps(item) for item in registered.scan()]
    assert leaks(found, texts) == []


def test_a_preview_with_a_credential_registered_just_now_uses_it_at_once(
    api: Api, secrets: Secrets, github: FakeGitHub
) -> None:
    # GIVEN a project, previewed once naming `late` before `late` was registered (refused)
    assert create_project(api, "app", "acme/app").status == 201
    draft = {"trackerIntake": {"enabled": True, "repo": "acme/app", "labels": ["agent"], "credential": "late"}}
    before = api(request("POST", "/projects/app/preview", body=draft))
    assert before.status == 422, before.text
    # WHEN `late` is registered and the same preview is asked again
    assert put(api, "late", **token_body(secrets)).status == 200
    after = api(request("POST", "/projects/app/preview", body=draft))
    # THEN the API knows it at once (the pollers' five-minute registry cache is not the API's)
    assert after.status == 200, after.text


def test_a_preview_with_a_credential_whose_secret_is_gone_is_422_at_the_credential(api: Api) -> None:
    # GIVEN a credential registered with the ARN of a secret that does not exist
    missing = PREFIX + "gone-AbCdEf"
    assert put(api, "gone", kind="token", secretArn=missing).status == 200
    assert create_project(api, "app", "acme/app").status == 201
    # WHEN a rule naming it is previewed
    draft = {"trackerIntake": {"enabled": True, "repo": "acme/app", "labels": ["agent"], "credential": "gone"}}
    answer = api(request("POST", "/projects/app/preview", body=draft))
    # THEN the fault is the registration's: 422 at the field, saying so (not a 503 to retry)
    assert answer.status == 422, answer.text
    assert answer.body["errors"] == [
        {"field": "trackerIntake.credential", "reason": "the secret of credential 'gone' cannot be read"}
    ]
