"""`DeploymentCredentials.key_for`: the budget a project's next poll spends, without asking GitHub."""

from __future__ import annotations

from datetime import datetime

from fakes import MemoryStore

from tracker_intake.adapters.credentials import DeploymentCredentials, TrackerOptions
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.credentials import DEFAULT_CREDENTIAL, Credential, CredentialKind
from tracker_intake.domain.records import Installation, ProjectRecord

APP = Credential(DEFAULT_CREDENTIAL, CredentialKind.APP, "arn:aws:secretsmanager:us-east-1:1:secret:k", "123")


class NoRegistry:
    """A registry with nothing registered: the default credential is all there is."""

    def get_credential(self, name: str) -> Credential | None:
        return None

    def list_credentials(self) -> list[Credential]:
        return []

    def put_credential(self, credential: Credential, now: datetime) -> Credential:
        raise NotImplementedError

    def delete_credential(self, name: str) -> bool:
        return False


def _credentials() -> DeploymentCredentials:
    def no_secret(arn: str) -> str:
        raise AssertionError("key_for reads no secret for an app")

    options = TrackerOptions("http://127.0.0.1:9", "test")
    return DeploymentCredentials(APP, NoRegistry(), MemoryStore(), options, read_secret=no_secret)


def _record(project_id: str, repo: str, installation: int | None = None) -> ProjectRecord:
    config = ProjectConfig.model_validate({"trackerIntake": {"enabled": True, "repo": repo, "labels": ["agent"]}})
    known = Installation("123", installation) if installation is not None else None
    return ProjectRecord(project_id, config, 1, installation=known)


def test_a_project_not_polled_yet_spends_the_installation_of_its_account_once_another_project_found_it() -> None:
    # GIVEN an app project whose installation (11) is known, on acme
    credentials = _credentials()
    known = credentials.key_for(_record("one", "acme/one", 11))
    # WHEN a new project of acme, and one of another account, ask for their keys
    newcomer = credentials.key_for(_record("two", "Acme/two"))
    stranger = credentials.key_for(_record("three", "other/three"))
    # THEN the newcomer spends installation 11's budget; the stranger's installation is unknown
    assert (known, newcomer, stranger) == ("app-123-11", "app-123-11", "app-123-pending")


def test_a_project_not_polled_yet_is_pending_while_no_project_of_its_account_was_seen() -> None:
    # GIVEN credentials that have seen no project yet
    credentials = _credentials()
    # WHEN a new project asks for its key THEN it is the app's pending budget
    assert credentials.key_for(_record("two", "acme/two")) == "app-123-pending"


def test_an_app_project_whose_config_names_no_repository_is_paced_as_pending() -> None:
    # GIVEN an app project whose stored config no longer validates (it loads as an empty one)
    credentials = _credentials()
    broken = ProjectRecord("broken", ProjectConfig(), 1, config_error="trackerIntake: invalid")
    # WHEN its key is asked THEN it is the app's pending budget, not an error (its poll says why)
    assert credentials.key_for(broken) == "app-123-pending"
