"""`intake credentials` and `intake project set-config --tracker-credential` against the real API
handler on loopback, its secrets in moto's Secrets Manager, the GitHub stand-in for checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from api_support import Api
from cli_support import Served, described
from credential_support import APP_ID, PREFIX, AppKey, fresh_credential_caches, install_app_on_acme_app, store_secret

from intake_dev.fake_github import FakeGitHub
from intake_dev.functions import quiet_handler_logs
from tracker_intake.settings import ApiSettings
from tracker_intake.wiring import build_api_context

DEFAULT_TOKEN = "ghp_cliDefaultToken0123456789abcdefABCD"
CI_TOKEN = "ghp_cliRegisteredToken0123456789abcdefAB"
APP_KEY = AppKey.generate()


@dataclass(frozen=True)
class Secrets:
    token_arn: str
    app_arn: str


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    with fresh_credential_caches():
        yield


@pytest.fixture
def secrets(aws: dict[str, Any]) -> Secrets:
    return Secrets(store_secret("intake-test/ci-token", CI_TOKEN), store_secret("intake-test/app-key", APP_KEY.pem))


@pytest.fixture
def github(github: FakeGitHub) -> FakeGitHub:
    return install_app_on_acme_app(github, APP_KEY)


@pytest.fixture
def cli(
    aws: dict[str, Any], github: FakeGitHub, secrets: Secrets, capsys: pytest.CaptureFixture[str]
) -> Iterator[Served]:
    """The CLI, and the API as deployed: GitHub configured, registered secrets under PREFIX."""
    api = Api(aws)
    settings = ApiSettings.model_validate(
        {"TABLE_NAME": aws["table_name"], "GITHUB_API_URL": github.base_url, "CREDENTIAL_SECRET_PREFIX": PREFIX}
    )
    api.module.use(build_api_context(settings, dynamodb=aws["dynamodb"], token=DEFAULT_TOKEN))
    served = Served(api, capsys)
    with quiet_handler_logs():
        yield served
    served.stop()


@pytest.fixture
def registered(cli: Served, secrets: Secrets) -> Served:
    """`ci` (a token) and `triage` (app 4242) registered through the CLI."""
    assert cli.run("credentials", "add", "ci", "--secret-arn", secrets.token_arn)[0] == 0
    assert cli.run("credentials", "add", "triage", "--secret-arn", secrets.app_arn, "--app-id", APP_ID)[0] == 0
    return cli


def project(cli: Served, project_id: str, repo: str, *flags: str) -> None:
    code, _, err = cli.run("project", "create", project_id)
    assert code == 0, err
    code, _, err = cli.run(
        "project", "set-config", project_id, "--tracker-intake", "--tracker-repo", repo, "--tracker-label", "agent",
        *flags,
    )  # fmt: skip
    assert code == 0, err


def rows(out: str) -> list[list[str]]:
    """A table's rows (header first), cells split on runs of two spaces or more."""
    return [[cell.strip() for cell in line.split("  ") if cell.strip()] for line in out.strip().splitlines()]


# --- add, list, remove -----------------------------------------------------------------------


def test_credentials_add_registers_a_token_and_an_app_that_list_shows_after_the_default(
    cli: Served, secrets: Secrets
) -> None:
    # GIVEN no credential registered
    # WHEN a token and an app are added, then the credentials listed
    token = cli.run("credentials", "add", "ci", "--secret-arn", secrets.token_arn)
    app = cli.run("credentials", "add", "triage", "--secret-arn", secrets.app_arn, "--app-id", APP_ID)
    code, out, err = cli.run("credentials", "list")
    # THEN each add says what it registered and how projects use it
    assert token[0] == app[0] == 0, (token[2], app[2])
    assert token[1].strip() == (
        "registered credential ci (token); "
        "projects poll with it after intake project set-config ID --tracker-credential ci"
    )
    assert app[1].startswith("registered credential triage (app)")
    # AND the list is a table: the default first, then each by kind and secret, then the prefix
    assert code == 0, err
    table = out.split("\n\n")[0]
    assert rows(table) == [
        ["NAME", "KIND", "SECRET"],
        ["default", "token", "(environment)"],
        ["ci", "token", secrets.token_arn],
        ["triage", f"app {APP_ID}", secrets.app_arn],
    ]
    assert out.strip().endswith(f"registered secrets must be under {PREFIX}")


def test_credentials_list_json_is_the_apis_answer(registered: Served, secrets: Secrets) -> None:
    # WHEN the credentials are listed with --json
    listed = registered.json("credentials", "list")
    # THEN it is GET /credentials: the default apart, the registered ones as items, the prefix
    assert listed["default"]["name"] == "default"
    assert [(c["name"], c["secretArn"]) for c in listed["items"]] == [
        ("ci", secrets.token_arn),
        ("triage", secrets.app_arn),
    ]
    assert listed["secretPrefix"] == PREFIX


def test_credentials_remove_removes_a_credential_no_project_uses(registered: Served) -> None:
    # WHEN `triage`, which no project names, is removed
    code, out, err = registered.run("credentials", "remove", "triage")
    # THEN it says so, and it is no longer listed
    assert (code, out.strip()) == (0, "removed credential triage"), err
    assert [c["name"] for c in registered.json("credentials", "list")["items"]] == ["ci"]


def test_credentials_add_of_a_secret_outside_the_prefix_is_one_sentence_and_exit_1(cli: Served) -> None:
    # GIVEN a real secret, but not under the deployment's prefix
    elsewhere = store_secret("someone-else/token", "ghp_notOurs")
    # WHEN it is added
    code, out, err = cli.run("credentials", "add", "ci", "--secret-arn", elsewhere)
    # THEN exit 1, one line on stderr naming the field and the prefix, no traceback, nothing registered
    assert (code, out) == (1, "")
    assert err.count("\n") == 1, err
    assert err.startswith("intake: refused (HTTP 422): --secret-arn: the secret must be under ")
    assert PREFIX in err and "Traceback" not in err
    assert cli.json("credentials", "list")["items"] == []


def test_credentials_add_of_something_that_is_not_an_arn_does_not_print_it_back(cli: Served) -> None:
    # GIVEN the token itself pasted where its secret's ARN belongs
    # WHEN it is added
    code, out, err = cli.run("credentials", "add", "ci", "--secret-arn", CI_TOKEN)
    # THEN exit 1 naming the field, and the token is not on the screen
    assert code == 1 and "--secret-arn: is not the ARN of a Secrets Manager secret" in err
    assert CI_TOKEN not in out + err


def test_credentials_remove_of_a_credential_in_use_exits_1_naming_the_project(registered: Served) -> None:
    # GIVEN project app polling with `ci`
    project(registered, "app", "acme/app", "--tracker-credential", "ci")
    # WHEN `ci` is removed
    code, out, err = registered.run("credentials", "remove", "ci")
    # THEN exit 1, a sentence naming the project and what to do, and `ci` is still there
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        "intake: refused (HTTP 409): credential 'ci' is used by app: point them at another credential first"
    )
    assert "Traceback" not in err
    assert [c["name"] for c in registered.json("credentials", "list")["items"]] == ["ci", "triage"]


# --- projects naming a credential ------------------------------------------------------------


def test_set_config_tracker_credential_names_it_and_clear_goes_back_to_the_default(registered: Served) -> None:
    # GIVEN project app on the default credential
    project(registered, "app", "acme/app")
    # WHEN it is pointed at `triage`, shown, then cleared and shown
    code, out, err = registered.run("project", "set-config", "app", "--tracker-credential", "triage")
    named = described(registered.run("project", "show", "app")[1])
    cleared = registered.run("project", "set-config", "app", "--clear-tracker-credential")
    intake = registered.json("project", "show", "app")["trackerIntake"]
    # THEN the project polls with `triage`, then with the default, the rest of its rule kept
    assert code == 0, err
    assert "updated project app" in out
    assert named["credential"] == "triage"
    assert cleared[0] == 0, cleared[2]
    assert intake.get("credential") is None
    assert described(cleared[1])["credential"] == "default"
    assert (intake["repo"], intake["labels"]) == ("acme/app", ["agent"])


def test_set_config_naming_an_unregistered_credential_exits_1_naming_the_field(registered: Served) -> None:
    # GIVEN project app on the default credential
    project(registered, "app", "acme/app")
    # WHEN it is pointed at a credential nobody registered
    code, out, err = registered.run("project", "set-config", "app", "--tracker-credential", "nobody")
    # THEN exit 1 naming --tracker-credential and the command that lists them, no traceback, and the
    # project unchanged
    assert (code, out) == (1, "")
    assert "--tracker-credential: no credential named 'nobody' is registered; intake credentials list shows them" in err
    assert "Traceback" not in err
    assert registered.json("project", "show", "app")["version"] == 2


def test_tracker_credential_and_its_clear_cannot_be_given_together(registered: Served) -> None:
    # WHEN both switches are given
    with pytest.raises(SystemExit) as exit_info:
        registered.run("project", "set-config", "app", "--tracker-credential", "ci", "--clear-tracker-credential")
    # THEN argparse refuses it (exit 2), before any request
    assert exit_info.value.code == 2


# --- check -----------------------------------------------------------------------------------


def test_credentials_check_exits_0_when_every_repo_it_serves_is_visible(registered: Served) -> None:
    # GIVEN project app (acme/app) on the token `ci`
    project(registered, "app", "acme/app", "--tracker-credential", "ci")
    # WHEN `ci` is checked
    code, out, err = registered.run("credentials", "check", "ci")
    # THEN one row, visible, and exit 0
    assert code == 0, err
    assert rows(out) == [["CREDENTIAL", "PROJECT", "REPO", "VISIBLE", "WHY NOT"], ["ci", "app", "acme/app", "yes"]]


def test_credentials_check_exits_1_when_a_repo_is_not_visible_and_says_why(registered: Served) -> None:
    # GIVEN project app (acme/app) and project tools (acme/tools) on the app `triage`, which is
    # installed on acme/app only
    project(registered, "app", "acme/app", "--tracker-credential", "triage")
    project(registered, "tools", "acme/tools", "--tracker-credential", "triage")
    # WHEN `triage` is checked
    code, out, err = registered.run("credentials", "check", "triage")
    # THEN acme/app is visible, acme/tools is not with GitHub's reason in a sentence, and exit 1
    assert code == 1, err
    assert sorted(rows(out)[1:]) == [
        ["triage", "app", "acme/app", "yes"],
        [
            "triage",
            "tools",
            "acme/tools",
            "no",
            f"the GitHub App {APP_ID} is not installed on acme/tools (or cannot see it)",
        ],
    ]


def test_credentials_check_does_not_count_a_project_with_intake_off_as_a_failure(registered: Served) -> None:
    # GIVEN project app (acme/app) on `triage`, and project parked (acme/tools, intake off) on it too,
    # a repository `triage` cannot see
    project(registered, "app", "acme/app", "--tracker-credential", "triage")
    project(registered, "parked", "acme/tools", "--tracker-credential", "triage")
    assert registered.child("project", "set-config", "parked", "--no-tracker-intake").returncode == 0
    # WHEN `triage` is checked, as a user runs it
    ran = registered.child("credentials", "check", "triage")
    as_json = registered.child("credentials", "check", "triage", "--json")
    # THEN parked's line says it is not visible and that its intake is off, and the check passes
    assert ran.returncode == 0, ran.stderr
    parked = next(row for row in rows(ran.stdout) if row[1] == "parked")
    assert parked[:4] == ["triage", "parked", "acme/tools", "no (intake off)"]
    lines = {p["projectId"]: p for p in json.loads(as_json.stdout)[0]["projects"]}
    assert as_json.returncode == 0
    assert (lines["parked"]["visible"], lines["parked"]["intakeEnabled"], lines["app"]["intakeEnabled"]) == (
        False,
        False,
        True,
    )


def test_credentials_remove_json_says_what_it_removed(registered: Served) -> None:
    # WHEN a credential no project uses is removed with --json, as a user runs it
    ran = registered.child("credentials", "remove", "ci", "--json")
    # THEN the answer is JSON on stdout, and the credential is gone
    assert (ran.returncode, ran.stderr) == (0, "")
    assert json.loads(ran.stdout) == {"name": "ci", "removed": True}
    assert [c["name"] for c in registered.json("credentials", "list")["items"]] == ["triage"]


def test_credentials_check_without_a_name_checks_every_credential(registered: Served) -> None:
    # GIVEN project app on `ci`, project tools on the default, and `triage` unused
    project(registered, "app", "acme/app", "--tracker-credential", "ci")
    project(registered, "tools", "acme/tools")
    # WHEN every credential is checked, as JSON
    code, out, err = registered.run("credentials", "check", "--json")
    checks = json.loads(out)
    # THEN one check per credential, each listing the projects that use it; all visible, exit 0
    assert code == 0, err
    assert {c["credential"]: [p["projectId"] for p in c["projects"]] for c in checks} == {
        "default": ["tools"],
        "ci": ["app"],
        "triage": [],
    }


def test_credentials_check_of_an_unknown_credential_exits_1_naming_it(registered: Served) -> None:
    # WHEN a name nobody registered is checked
    code, out, err = registered.run("credentials", "check", "nobody")
    # THEN exit 1, a sentence naming it
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == "intake: refused (HTTP 404): no credential named 'nobody' is registered"
    assert "Traceback" not in err


def test_credentials_add_registers_linear_kinds_and_keeps_an_oauth_apps_secret_where_intake_may_write(
    cli: Served,
) -> None:
    # GIVEN a Linear API key's secret, and an OAuth app's tokens stored outside and inside linear-oauth/
    key_arn = store_secret("intake-test/linear-key", "lin_api_cliTestKey0123456789")
    tokens = json.dumps({"accessToken": "a", "refreshToken": "r", "clientId": "c", "clientSecret": "s"})
    outside = store_secret("intake-test/linear-app", tokens)
    inside = store_secret("intake-test/linear-oauth/app", tokens)
    # WHEN each is added with its kind
    key = cli.run("credentials", "add", "lin", "--kind", "linear-api-key", "--secret-arn", key_arn)
    refused = cli.run("credentials", "add", "lin-app", "--kind", "linear-oauth", "--secret-arn", outside)
    app = cli.run("credentials", "add", "lin-app", "--kind", "linear-oauth", "--secret-arn", inside)
    # THEN the key and the app under linear-oauth/ are registered with their kinds; the app elsewhere
    # is refused in one sentence naming where it must be (the only secrets intake may rewrite)
    assert key[0] == 0 and key[1].startswith("registered credential lin (linear-api-key)"), key[2]
    assert refused[0] == 1 and f"{PREFIX}linear-oauth/" in refused[2] and "Traceback" not in refused[2]
    assert app[0] == 0 and app[1].startswith("registered credential lin-app (linear-oauth)"), app[2]
