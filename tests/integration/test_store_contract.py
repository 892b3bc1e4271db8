"""One contract for the store, the ledger and the token budgets: `MemoryStore` and `DynamoStore` on moto.

Whatever passes here for the fake holds for DynamoDB too, so tests built on the fake stay honest.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fakes import MemoryStore

from intake_dev.call_counter import CallCounter
from intake_dev.moto_rigs import atomic_calls
from tracker_intake.adapters.dynamodb import DynamoStore
from tracker_intake.domain import changes
from tracker_intake.domain.backlog import Snapshot
from tracker_intake.domain.config import Acknowledge, ProjectConfig
from tracker_intake.domain.errors import (
    ClaimNotFound,
    InvalidInput,
    ProjectExists,
    ProjectNotFound,
    VersionConflict,
)
from tracker_intake.domain.records import (
    Acknowledgement,
    AckState,
    Claim,
    ClaimStatus,
    Grant,
    IssueSnapshot,
    Pace,
    Permission,
    PollState,
    ReportGuard,
    SessionStatus,
    StatusChange,
    TokenBudget,
)
from tracker_intake.domain.tracker import CachedPage

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ISSUE = "github:Acme/App#7"

Store = MemoryStore | DynamoStore


class Harness:
    """A store under test, plus the two things the contract needs to see behind it."""

    store: Store

    def corrupt_config(self, project_id: str, raw: dict[str, Any]) -> None:
        raise NotImplementedError

    def calls(self) -> list[str]:
        """The backend operations made since the last reset."""
        raise NotImplementedError

    def reads_and_writes(self) -> tuple[int, int]:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError


class MemoryHarness(Harness):
    def __init__(self) -> None:
        self.store = self.memory = MemoryStore()

    def corrupt_config(self, project_id: str, raw: dict[str, Any]) -> None:
        self.memory.corrupt_config(project_id, raw)

    def calls(self) -> list[str]:
        return list(self.memory.ops.calls)

    def reads_and_writes(self) -> tuple[int, int]:
        return self.memory.ops.reads, self.memory.ops.writes

    def reset(self) -> None:
        self.memory.ops.reset()


class DynamoHarness(Harness):
    def __init__(self, aws: dict[str, Any]) -> None:
        self.store = self.dynamo = DynamoStore(aws["table_name"], aws["dynamodb"])
        self.counter = CallCounter(aws["dynamodb"])
        # moto's backend takes no lock; DynamoDB applies each conditional write atomically.
        atomic_calls(aws["dynamodb"])

    def corrupt_config(self, project_id: str, raw: dict[str, Any]) -> None:
        self.dynamo.client.update_item(
            TableName=self.dynamo.table_name,
            Key={"pk": {"S": f"PROJECT#{project_id}"}, "sk": {"S": "PROJECT"}},
            UpdateExpression="SET config = :raw",
            ExpressionAttributeValues={":raw": {"M": {k: {"S": v} for k, v in raw.items()}}},
        )

    def calls(self) -> list[str]:
        return list(self.counter.log)

    def reads_and_writes(self) -> tuple[int, int]:
        return self.counter.reads, self.counter.writes

    def reset(self) -> None:
        self.counter.reset()


@pytest.fixture(params=["memory", "dynamodb"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "memory":
        yield MemoryHarness()
    else:
        yield DynamoHarness(request.getfixturevalue("aws"))


@pytest.fixture
def store(harness: Harness) -> Store:
    return harness.store


def enabled(repo: str = "acme/app", labels: tuple[str, ...] = ("agent",)) -> ProjectConfig:
    return ProjectConfig.model_validate(
        {"name": "App", "trackerIntake": {"enabled": True, "repo": repo, "labels": list(labels)}}
    )


def disabled() -> ProjectConfig:
    return ProjectConfig.model_validate({"name": "App", "trackerIntake": {"enabled": False}})


def claim(
    canonical: str = ISSUE,
    project_id: str = "app",
    token: str = "token-1",
    at: datetime = NOW,
    status: ClaimStatus = ClaimStatus.CLAIMED,
) -> Claim:
    number = int(canonical.rsplit("#", 1)[1])
    return Claim(
        canonical_id=canonical,
        project_id=project_id,
        status=status,
        claim_token=token,
        claimed_at=at,
        issue=IssueSnapshot(
            number=number,
            title=f"Issue {number}",
            url=f"https://github.com/acme/app/issues/{number}",
            labels=("agent",),
            assignees=("octocat",),
            body="",
            created_at="2026-02-01T00:00:00+00:00",
            updated_at="2026-02-01T00:05:00+00:00",
        ),
        updated_at=at,
    )


def all_project_ids(store: Store, limit: int) -> list[str]:
    ids: list[str] = []
    token: str | None = None
    while True:
        page, token = store.list_projects(limit, token)
        ids.extend(p.project_id for p in page)
        if token is None:
            return ids


# --- projects --------------------------------------------------------------------------------------


def test_a_created_project_reads_back_at_version_1_with_its_config(store: Store) -> None:
    # GIVEN a new project
    store.create_project("app", enabled(), NOW)
    # WHEN it is read back
    record = store.get_project("app")
    # THEN config, version and timestamps are as written
    assert (record.config, record.version, record.created_at, record.updated_at) == (enabled(), 1, NOW, NOW)
    assert record.config_error is None and record.poll == PollState()


def test_creating_a_project_that_exists_raises_project_exists(store: Store) -> None:
    # GIVEN a project
    store.create_project("app", enabled(), NOW)
    # WHEN it is created again THEN ProjectExists, and the first one is untouched
    with pytest.raises(ProjectExists):
        store.create_project("app", disabled(), NOW + timedelta(hours=1))
    assert store.get_project("app").config == enabled()


def test_getting_a_missing_project_raises_project_not_found(store: Store) -> None:
    # GIVEN no project WHEN it is read THEN ProjectNotFound
    with pytest.raises(ProjectNotFound):
        store.get_project("nope")


def test_replacing_the_config_bumps_the_version_and_updated_at(store: Store) -> None:
    # GIVEN a project at version 1
    store.create_project("app", enabled(), NOW)
    # WHEN its config is replaced with the version it was read at
    later = NOW + timedelta(minutes=5)
    record = store.replace_config("app", enabled(labels=("bug",)), 1, later)
    # THEN the new config is stored at version 2
    assert (record.version, record.updated_at, record.created_at) == (2, later, NOW)
    assert store.get_project("app").config == enabled(labels=("bug",))


def test_a_stale_expected_version_raises_version_conflict_with_the_actual_version(store: Store) -> None:
    # GIVEN a project someone else already moved to version 2
    store.create_project("app", enabled(), NOW)
    store.replace_config("app", enabled(labels=("bug",)), 1, NOW)
    # WHEN a writer that read version 1 replaces the config
    with pytest.raises(VersionConflict) as raised:
        store.replace_config("app", disabled(), 1, NOW)
    # THEN it is refused, naming both versions, and nothing changed
    assert (raised.value.expected, raised.value.actual) == (1, 2)
    assert store.get_project("app").config == enabled(labels=("bug",))


def test_replacing_without_an_expected_version_always_applies(store: Store) -> None:
    # GIVEN a project at version 2
    store.create_project("app", enabled(), NOW)
    store.replace_config("app", enabled(labels=("bug",)), 1, NOW)
    # WHEN the config is replaced with no expected version
    record = store.replace_config("app", disabled(), None, NOW)
    # THEN it applies
    assert (record.version, record.config) == (3, disabled())


def test_replacing_the_config_of_a_missing_project_raises_project_not_found(store: Store) -> None:
    # GIVEN no project WHEN its config is replaced THEN ProjectNotFound (not a conflict), nothing created
    with pytest.raises(ProjectNotFound):
        store.replace_config("nope", enabled(), 1, NOW)
    with pytest.raises(ProjectNotFound):
        store.get_project("nope")


def test_only_intake_enabled_projects_are_in_the_intake_index(store: Store) -> None:
    # GIVEN one enabled, one disabled and one intake-less project
    store.create_project("on", enabled(), NOW)
    store.create_project("off", disabled(), NOW)
    store.create_project("bare", ProjectConfig(name="Bare"), NOW)
    # WHEN the index is read THEN only the enabled one is there
    assert [r.project_id for r in store.intake_enabled()] == ["on"]


def test_disabling_intake_removes_the_project_from_the_intake_index(store: Store) -> None:
    # GIVEN an enabled project
    store.create_project("app", enabled(), NOW)
    # WHEN intake is disabled
    store.replace_config("app", disabled(), 1, NOW)
    # THEN the index no longer lists it
    assert list(store.intake_enabled()) == []


def test_enabling_intake_adds_the_project_to_the_intake_index(store: Store) -> None:
    # GIVEN a disabled project
    store.create_project("app", disabled(), NOW)
    # WHEN intake is enabled
    store.replace_config("app", enabled(), 1, NOW)
    # THEN the index lists it, with its current config and poll state
    (record,) = store.intake_enabled()
    assert (record.project_id, record.config, record.version) == ("app", enabled(), 2)


def test_the_intake_index_carries_the_poll_state_the_dispatcher_needs(store: Store) -> None:
    # GIVEN an enabled project in backoff
    store.create_project("app", enabled(), NOW)
    state = PollState(backoff_until=NOW + timedelta(minutes=5), consecutive_failures=1, last_error="x")
    store.save_poll_state("app", state)
    # WHEN the index is read THEN the backoff is visible without another read
    (record,) = store.intake_enabled()
    assert record.poll == state


def test_writing_poll_state_keeps_the_config_and_version(store: Store) -> None:
    # GIVEN a project whose config was replaced after the poller loaded it
    store.create_project("app", enabled(), NOW)
    store.load_for_poll("app")
    store.replace_config("app", enabled(labels=("bug",)), 1, NOW)
    # WHEN the poller writes its state
    state = PollState(
        backoff_until=NOW + timedelta(minutes=5),
        consecutive_failures=2,
        last_error="auth_failed: bad credentials",
        last_change_at=NOW - timedelta(hours=1),
    )
    store.save_poll_state("app", state)
    # THEN the poll state is stored and the API's newer config and version survive
    record = store.get_project("app")
    assert (record.poll, record.config, record.version, record.updated_at) == (
        state,
        enabled(labels=("bug",)),
        2,
        NOW,
    )


def test_replacing_the_config_keeps_the_poll_state(store: Store) -> None:
    # GIVEN a project in backoff
    store.create_project("app", enabled(), NOW)
    state = PollState(backoff_until=NOW + timedelta(minutes=5), consecutive_failures=1, last_error="x")
    store.save_poll_state("app", state)
    # WHEN the API replaces its config
    store.replace_config("app", enabled(labels=("bug",)), 1, NOW)
    # THEN the poller's attributes are untouched
    assert store.get_project("app").poll == state


def test_healthy_poll_state_clears_the_failure_attributes(store: Store) -> None:
    # GIVEN a project in backoff
    store.create_project("app", enabled(), NOW)
    store.save_poll_state("app", PollState(backoff_until=NOW, consecutive_failures=3, last_error="x"))
    # WHEN a successful poll writes a healthy state
    store.save_poll_state("app", PollState(last_change_at=NOW))
    # THEN nothing of the failure is left
    assert store.get_project("app").poll == PollState(last_change_at=NOW)


def test_poll_state_for_a_deleted_project_raises_and_does_not_resurrect_it(store: Store) -> None:
    # GIVEN a project deleted while a poll ran
    store.create_project("app", enabled(), NOW)
    store.delete_project("app")
    # WHEN the poll writes its state THEN ProjectNotFound, and the project stays deleted
    with pytest.raises(ProjectNotFound):
        store.save_poll_state("app", PollState(consecutive_failures=1))
    with pytest.raises(ProjectNotFound):
        store.get_project("app")


def test_a_stored_config_that_no_longer_validates_loads_with_config_error(harness: Harness) -> None:
    # GIVEN a project whose stored config breaks today's rules (an unknown provider)
    harness.store.create_project("app", enabled(), NOW)
    harness.corrupt_config("app", {"name": "App", "gitOrigin": "x", "provider": "gitlab"})
    # WHEN it is loaded for a poll and through the API
    record, _ = harness.store.load_for_poll("app")
    # THEN it loads, flagged, with an empty config instead of crashing
    assert record.config_error is not None and "provider" in record.config_error
    assert record.config == ProjectConfig()
    assert harness.store.get_project("app").config_error == record.config_error


# --- the poller's read and the ETag cache ----------------------------------------------------------


def test_load_for_poll_returns_the_project_and_its_pages_in_one_read(harness: Harness) -> None:
    # GIVEN a project with two cached pages
    store = harness.store
    store.create_project("app", enabled(), NOW)
    first = CachedPage("https://api.github.com/repos/acme/app/issues?page=1", 'W/"a"', "https://x/?page=2")
    second = CachedPage("https://x/?page=2", '"b"', None)
    store.commit_page("app", first)
    store.commit_page("app", second)
    harness.reset()
    # WHEN the poller loads it
    record, pages = store.load_for_poll("app")
    # THEN one read, no write, returns both, keyed by URL, ETags verbatim
    assert harness.reads_and_writes() == (1, 0)
    assert len(harness.calls()) == 1
    assert record.project_id == "app"
    assert pages == {first.url: first, second.url: second}


def test_load_for_poll_of_a_missing_project_raises_project_not_found(store: Store) -> None:
    # GIVEN no project WHEN it is loaded for a poll THEN ProjectNotFound
    with pytest.raises(ProjectNotFound):
        store.load_for_poll("nope")


def test_committing_a_page_again_replaces_its_etag(store: Store) -> None:
    # GIVEN a cached page
    store.create_project("app", enabled(), NOW)
    store.commit_page("app", CachedPage("https://x/1", '"old"', "https://x/2"))
    # WHEN the same URL is committed with a new ETag and no next link
    store.commit_page("app", CachedPage("https://x/1", '"new"', None))
    # THEN one page is cached, the new one
    _, pages = store.load_for_poll("app")
    assert pages == {"https://x/1": CachedPage("https://x/1", '"new"', None)}


def test_pages_are_cached_per_project(store: Store) -> None:
    # GIVEN two projects, one page cached for the first
    store.create_project("app", enabled(), NOW)
    store.create_project("other", enabled(), NOW)
    store.commit_page("app", CachedPage("https://x/1", '"a"'))
    # WHEN the second is loaded THEN it has no pages
    assert store.load_for_poll("other")[1] == {}


def test_forgetting_pages_drops_every_cached_page_of_the_project(store: Store) -> None:
    # GIVEN a project with cached pages, and another project's page
    store.create_project("app", enabled(), NOW)
    store.create_project("other", enabled(), NOW)
    for n in range(3):
        store.commit_page("app", CachedPage(f"https://x/{n}", f'"{n}"'))
    store.commit_page("other", CachedPage("https://y/1", '"y"'))
    # WHEN the app's pages are forgotten
    store.forget_pages("app")
    # THEN its cache is empty, the project itself remains, the other project's cache too
    record, pages = store.load_for_poll("app")
    assert (record.project_id, pages) == ("app", {})
    assert len(store.load_for_poll("other")[1]) == 1


def test_deleting_a_project_drops_it_and_its_pages_but_keeps_its_claims(store: Store) -> None:
    # GIVEN a project with a cached page and a claim
    store.create_project("app", enabled(), NOW)
    store.commit_page("app", CachedPage("https://x/1", '"a"'))
    store.put_claim(claim())
    # WHEN it is deleted
    store.delete_project("app")
    # THEN project and cache are gone; the ledger still knows the issue was claimed
    with pytest.raises(ProjectNotFound):
        store.load_for_poll("app")
    store.create_project("app", enabled(), NOW)
    assert store.load_for_poll("app")[1] == {}
    assert store.get_claim(ISSUE) is not None


def test_deleting_a_missing_project_raises_project_not_found(store: Store) -> None:
    # GIVEN no project WHEN it is deleted THEN ProjectNotFound
    with pytest.raises(ProjectNotFound):
        store.delete_project("nope")


def test_deleting_a_project_drops_its_kept_permissions_too(store: Store) -> None:
    # GIVEN a project with a member's kept permission
    store.create_project("app", enabled(), NOW)
    store.put_permission("app", Permission("acme/app", "ana", "write", NOW))
    # WHEN it is deleted and created again
    store.delete_project("app")
    store.create_project("app", enabled(), NOW)
    # THEN the new project keeps nothing of the old one's answers
    assert store.get_permissions("app", "acme/app", ["ana"]) == {}


# --- members' kept write permissions (domain/write_access.py) ----------------------------------------


def permission(login: str = "ana", value: str = "write", repo: str = "acme/app", **fields: Any) -> Permission:
    return Permission(repo, login, value, fields.pop("checked_at", NOW), **fields)


def test_a_kept_permission_reads_back_whole_for_its_repository_and_login_in_any_case(store: Store) -> None:
    # GIVEN GitHub's answer on Ana, kept for the project
    kept = permission("Ana", "write", "Acme/App", role="maintain")
    store.put_permission("app", kept)
    # WHEN it is read back, spelled otherwise
    found = store.get_permissions("app", "acme/app", ["ANA"])
    # THEN it comes back whole, keyed by the lower-cased login
    assert found == {"ana": kept}


def test_a_newer_answer_replaces_the_kept_one(store: Store) -> None:
    store.put_permission("app", permission("ana", "write"))
    later = permission("ana", "read", checked_at=NOW + timedelta(hours=2))
    store.put_permission("app", later)
    assert store.get_permissions("app", "acme/app", ["ana"]) == {"ana": later}


def test_answers_are_kept_per_project_and_per_repository(store: Store) -> None:
    store.put_permission("app", permission("ana", "write", "acme/app"))
    store.put_permission("app", permission("ana", "read", "acme/other"))
    assert store.get_permissions("web", "acme/app", ["ana"]) == {}
    assert store.get_permissions("app", "acme/other", ["ana"])["ana"].permission == "read"
    assert store.get_permissions("app", "acme/app", ["ana"])["ana"].permission == "write"


def test_reading_no_logins_reads_nothing(harness: Harness) -> None:
    assert harness.store.get_permissions("app", "acme/app", []) == {}
    assert harness.calls() == []


def test_one_login_is_one_read_and_several_are_one_batch_read_of_only_those_kept(harness: Harness) -> None:
    # GIVEN answers kept on two of three members
    store = harness.store
    store.put_permission("app", permission("ana", "write"))
    store.put_permission("app", permission("bo", "read"))
    harness.reset()
    # WHEN one login is read, then all three at once
    one = store.get_permissions("app", "acme/app", ["ana"])
    one_call = harness.calls()
    harness.reset()
    several = store.get_permissions("app", "acme/app", ["ana", "bo", "cy"])
    # THEN one GetItem, then one BatchGetItem; only the kept answers come back
    assert set(one) == {"ana"} and one_call in (["GetItem"], ["get_permissions"])
    assert set(several) == {"ana", "bo"} and harness.calls() in (["BatchGetItem"], ["get_permissions"])


def test_more_logins_than_a_batch_are_read_in_batches_of_100(harness: Harness) -> None:
    store = harness.store
    for n in range(150):
        store.put_permission("app", permission(f"member-{n}", "write"))
    harness.reset()
    found = store.get_permissions("app", "acme/app", [f"member-{n}" for n in range(160)])
    assert len(found) == 150 and found["member-149"].login == "member-149"
    assert harness.calls() in (["BatchGetItem", "BatchGetItem"], ["get_permissions"])


def test_kept_permissions_do_not_show_among_the_projects_cached_pages(store: Store) -> None:
    # GIVEN a project with a cached page and a member's kept permission in its partition
    store.create_project("app", enabled(), NOW)
    store.commit_page("app", CachedPage("https://x/1", '"a"', item_count=1))
    store.put_permission("app", permission())
    # WHEN it is loaded for a poll, and its pages forgotten
    _, pages = store.load_for_poll("app")
    store.forget_pages("app")
    # THEN the page alone is a page; forgetting pages keeps the permission
    assert list(pages) == ["https://x/1"]
    assert store.get_permissions("app", "acme/app", ["ana"]) != {}


# --- listing projects ------------------------------------------------------------------------------


def test_listing_projects_in_pages_returns_each_project_once(store: Store) -> None:
    # GIVEN seven projects, with cached pages, claims and a budget around them in the table
    ids = [f"p{n}" for n in range(7)]
    for pid in ids:
        store.create_project(pid, enabled() if pid < "p4" else disabled(), NOW)
        store.commit_page(pid, CachedPage(f"https://x/{pid}", '"e"'))
    store.put_claim(claim())
    store.record_budget(TokenBudget("key", 0, NOW))
    # WHEN they are listed three at a time
    listed = all_project_ids(store, 3)
    # THEN every project appears exactly once and nothing else does
    assert sorted(listed) == ids


def test_the_last_page_of_projects_has_no_next_token(store: Store) -> None:
    # GIVEN three projects
    for pid in ("a", "b", "c"):
        store.create_project(pid, enabled(), NOW)
    # WHEN exactly three are asked for
    page, token = store.list_projects(3, None)
    # THEN all come back and there is no next page to ask for
    assert (len(page), token) == (3, None)


def test_listing_projects_when_there_are_none_is_empty(store: Store) -> None:
    # GIVEN an empty table WHEN projects are listed THEN nothing, no token
    assert store.list_projects(10, None) == ([], None)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


BAD_TOKENS = {
    "garbage": "%%%not-base64%%%",
    "not json": _b64(b"\xff\xfe not json"),
    "a list": _b64(json.dumps(["PROJECT#a"]).encode()),
    "another table's key": _b64(json.dumps({"pk": "ISSUE#github:a/b#1", "sk": "ISSUE"}).encode()),
    "numbers": _b64(json.dumps({"pk": 1, "sk": 2}).encode()),
}


@pytest.mark.parametrize("token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_a_next_token_we_did_not_issue_raises_invalid_input_naming_next_token(store: Store, token: str) -> None:
    # GIVEN a project
    store.create_project("app", enabled(), NOW)
    # WHEN projects are listed with a token that is not ours THEN InvalidInput on nextToken
    with pytest.raises(InvalidInput) as raised:
        store.list_projects(10, token)
    assert raised.value.field == "nextToken"


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_below_one_raises_invalid_input(store: Store, limit: int) -> None:
    # GIVEN any store WHEN a page of fewer than one item is asked for THEN InvalidInput on limit
    with pytest.raises(InvalidInput) as raised:
        store.list_projects(limit, None)
    assert raised.value.field == "limit"


# --- the ledger ------------------------------------------------------------------------------------


def test_the_first_claim_on_an_issue_wins(store: Store) -> None:
    # GIVEN no claim on the issue
    # WHEN two pollers claim it one after the other
    first = store.put_claim(claim(token="a"))
    second = store.put_claim(claim(token="b"))
    # THEN only the first succeeds, and its token is stored
    assert (first, second) == (True, False)
    stored = store.get_claim(ISSUE)
    assert stored is not None and stored.claim_token == "a"


def test_a_refused_claim_returns_the_claim_that_holds_the_issue_in_one_call(harness: Harness) -> None:
    # GIVEN a claim held by token "a"
    store = harness.store
    first = store.try_claim(claim(token="a"))
    harness.reset()
    # WHEN another poller tries to claim the issue
    holder = store.try_claim(claim(token="b"))
    # THEN the first write went in, and the refusal itself names the holder: one call, no read
    calls = harness.calls()
    assert first is None
    assert calls in (["PutItem"], ["put_claim"])
    assert holder is not None and holder.claim_token == "a" and holder == store.get_claim(ISSUE)


def test_claims_of_many_issues_come_back_keyed_case_insensitively_and_only_those_that_exist(store: Store) -> None:
    # GIVEN claims on 150 issues (more than one batch of 100), one spelled in mixed case
    for n in range(1, 151):
        store.put_claim(claim(f"github:acme/app#{n}", token=f"t{n}"))
    store.put_claim(claim("github:Acme/Other#1"))
    # WHEN the claims of 160 issues are read at once, a bad id among them
    wanted = [f"github:acme/app#{n}" for n in range(1, 161)] + ["github:acme/other#1", "not an id"]
    found = store.get_claims(wanted)
    # THEN the 151 that exist come back, keyed by their lower-cased canonical id
    assert len(found) == 151
    assert found["github:acme/app#150"].claim_token == "t150"
    assert found["github:acme/other#1"].canonical_id == "github:Acme/Other#1"
    assert "github:acme/app#151" not in found


def test_reading_no_claims_reads_nothing(harness: Harness) -> None:
    # WHEN no issue ids are asked for THEN no call is made
    assert harness.store.get_claims([]) == {}
    assert harness.calls() == []


def test_concurrent_claims_on_one_issue_have_exactly_one_winner(store: Store) -> None:
    # GIVEN eight pollers released at the same moment
    barrier = threading.Barrier(8)

    def claim_all(i: int) -> int:
        barrier.wait()
        return sum(store.put_claim(claim(f"github:acme/app#{n}", token=f"t{i}")) for n in range(1, 11))

    # WHEN each claims the same ten issues
    with ThreadPoolExecutor(8) as pool:
        wins = sum(pool.map(claim_all, range(8)))
    # THEN each issue has exactly one winner
    assert wins == 10


def test_claims_are_keyed_case_insensitively_on_owner_and_repo(store: Store) -> None:
    # GIVEN a claim on github:Acme/App#7
    store.put_claim(claim("github:Acme/App#7"))
    # WHEN the same issue is claimed spelled in lower case
    taken = store.put_claim(claim("github:acme/app#7", token="b"))
    # THEN it is the same issue; the stored claim keeps the canonical id as first spelled
    assert taken is False
    stored = store.get_claim("github:ACME/app#7")
    assert stored is not None and stored.canonical_id == "github:Acme/App#7"


def test_a_claim_reads_back_as_it_was_written(store: Store) -> None:
    # GIVEN a claim
    written = claim()
    store.put_claim(written)
    # WHEN it is read THEN every field round-trips
    assert store.get_claim(ISSUE) == written


@pytest.mark.parametrize("canonical", ["github:acme/app#8", "not-a-canonical-id"])
def test_getting_an_unknown_or_malformed_claim_returns_none(store: Store, canonical: str) -> None:
    # GIVEN a claim on another issue
    store.put_claim(claim())
    # WHEN an unknown or malformed issue is looked up THEN None
    assert store.get_claim(canonical) is None


def test_a_stale_claim_is_taken_over_with_its_old_token(store: Store) -> None:
    # GIVEN a claim left by a poller that died
    store.put_claim(claim(token="dead"))
    # WHEN another poller takes it over with a new token, a later time and one more attempt
    later = NOW + timedelta(minutes=10)
    new = claim(token="live", at=later)
    new = Claim(**{**new.__dict__, "attempts": 2})
    taken = store.take_over(new, "dead", ClaimStatus.CLAIMED)
    # THEN it succeeds and the claim is the new one
    assert taken is True
    assert store.get_claim(ISSUE) == new


def test_take_over_with_a_token_that_moved_on_fails(store: Store) -> None:
    # GIVEN a stale claim that someone else already took over
    store.put_claim(claim(token="dead"))
    store.take_over(claim(token="first"), "dead", ClaimStatus.CLAIMED)
    # WHEN a second poller tries to take it over from the same old token
    taken = store.take_over(claim(token="second"), "dead", ClaimStatus.CLAIMED)
    # THEN it loses, and the first taker keeps it
    assert taken is False
    stored = store.get_claim(ISSUE)
    assert stored is not None and stored.claim_token == "first"


def test_take_over_fails_when_the_status_moved_on(store: Store) -> None:
    # GIVEN a claim that reached the queue after it was read as claimed
    store.put_claim(claim(token="t"))
    store.mark_enqueued(ISSUE, "t", NOW)
    # WHEN a poller takes it over as if it were still claimed
    taken = store.take_over(claim(token="new"), "t", ClaimStatus.CLAIMED)
    # THEN it fails and the claim stays enqueued
    assert taken is False
    stored = store.get_claim(ISSUE)
    assert stored is not None and stored.status is ClaimStatus.ENQUEUED


def test_a_released_claim_is_taken_again_as_a_new_generation(store: Store) -> None:
    # GIVEN a launched claim, released through the API
    store.create_project("app", enabled(), NOW)
    store.put_claim(claim(token="t"))
    store.transition(ISSUE, ClaimStatus.CLAIMED, ClaimStatus.LAUNCHED, NOW, session_ref="s-1")
    store.release("app", ISSUE, NOW)
    # WHEN a poller takes it over
    base = claim(token="again", at=NOW + timedelta(hours=1))
    new = Claim(**{**base.__dict__, "attempts": 2, "generation": 2})
    taken = store.take_over(new, "t", ClaimStatus.RELEASED)
    # THEN the claim is a fresh one: claimed, generation 2, no old session reference
    assert taken is True
    assert store.get_claim(ISSUE) == new


def test_mark_enqueued_with_the_claim_token_moves_the_claim_to_enqueued(store: Store) -> None:
    # GIVEN a claim
    store.put_claim(claim(token="t"))
    # WHEN the poller that holds it marks it enqueued
    later = NOW + timedelta(seconds=1)
    marked = store.mark_enqueued(ISSUE, "t", later)
    # THEN it is enqueued
    stored = store.get_claim(ISSUE)
    assert marked is True
    assert stored is not None and (stored.status, stored.updated_at) == (ClaimStatus.ENQUEUED, later)


def test_mark_enqueued_with_a_token_that_lost_the_claim_fails(store: Store) -> None:
    # GIVEN a claim taken over by another poller
    store.put_claim(claim(token="old"))
    store.take_over(claim(token="new"), "old", ClaimStatus.CLAIMED)
    # WHEN the slow original poller marks it enqueued
    marked = store.mark_enqueued(ISSUE, "old", NOW)
    # THEN nothing changes
    stored = store.get_claim(ISSUE)
    assert marked is False
    assert stored is not None and (stored.status, stored.claim_token) == (ClaimStatus.CLAIMED, "new")


def test_mark_enqueued_does_not_move_a_claim_back_from_launched(store: Store) -> None:
    # GIVEN a claim the launcher already launched
    store.put_claim(claim(token="t"))
    store.transition(ISSUE, ClaimStatus.CLAIMED, ClaimStatus.LAUNCHED, NOW)
    # WHEN a late mark_enqueued comes in
    marked = store.mark_enqueued(ISSUE, "t", NOW)
    # THEN it is refused and the claim stays launched
    stored = store.get_claim(ISSUE)
    assert marked is False
    assert stored is not None and stored.status is ClaimStatus.LAUNCHED


def test_mark_enqueued_on_a_missing_claim_fails(store: Store) -> None:
    # GIVEN no claim WHEN it is marked enqueued THEN False, and no claim appears
    assert store.mark_enqueued(ISSUE, "t", NOW) is False
    assert store.get_claim(ISSUE) is None


def test_transition_from_the_current_status_applies_with_session_ref_and_reason(store: Store) -> None:
    # GIVEN an enqueued claim
    store.put_claim(claim(token="t"))
    store.mark_enqueued(ISSUE, "t", NOW)
    # WHEN the launcher moves it to launched with the backend's reference
    later = NOW + timedelta(seconds=30)
    moved = store.transition(ISSUE, ClaimStatus.ENQUEUED, ClaimStatus.LAUNCHED, later, session_ref="s-42")
    # THEN it is launched with the reference
    stored = store.get_claim(ISSUE)
    assert moved is True
    assert stored is not None
    assert (stored.status, stored.session_ref, stored.updated_at) == (ClaimStatus.LAUNCHED, "s-42", later)


def test_transition_accepts_any_of_several_source_states(store: Store) -> None:
    # GIVEN a launching claim
    store.put_claim(claim(token="t"))
    store.transition(ISSUE, ClaimStatus.CLAIMED, ClaimStatus.LAUNCHING, NOW)
    # WHEN it is failed from (enqueued or launching) with a reason
    moved = store.transition(
        ISSUE, (ClaimStatus.ENQUEUED, ClaimStatus.LAUNCHING), ClaimStatus.FAILED, NOW, reason="backend 400"
    )
    # THEN it applies
    stored = store.get_claim(ISSUE)
    assert moved is True
    assert stored is not None and (stored.status, stored.reason) == (ClaimStatus.FAILED, "backend 400")


def test_transition_from_another_status_is_a_no_op(store: Store) -> None:
    # GIVEN a launched claim with a session reference
    store.put_claim(claim(token="t"))
    store.transition(ISSUE, ClaimStatus.CLAIMED, ClaimStatus.LAUNCHED, NOW, session_ref="s-1")
    # WHEN a redelivered request tries to move it from enqueued
    moved = store.transition(ISSUE, ClaimStatus.ENQUEUED, ClaimStatus.LAUNCHING, NOW, session_ref="s-2")
    # THEN nothing changes
    stored = store.get_claim(ISSUE)
    assert moved is False
    assert stored is not None and (stored.status, stored.session_ref) == (ClaimStatus.LAUNCHED, "s-1")


def test_transition_of_a_missing_claim_is_a_no_op(store: Store) -> None:
    # GIVEN no claim WHEN it is transitioned THEN False, and no claim appears
    assert store.transition(ISSUE, ClaimStatus.ENQUEUED, ClaimStatus.LAUNCHED, NOW) is False
    assert store.get_claim(ISSUE) is None


def test_sessions_are_listed_newest_first_in_pages_for_one_project(store: Store) -> None:
    # GIVEN five claims of one project at different times, and one of another project
    for n in range(1, 6):
        store.put_claim(claim(f"github:acme/app#{n}", at=NOW + timedelta(minutes=n)))
    store.put_claim(claim("github:acme/other#1", project_id="other"))
    # WHEN the project's sessions are listed two at a time
    numbers: list[int] = []
    pages = 0
    token: str | None = None
    while True:
        page, token = store.list_sessions("app", 2, token)
        pages += 1
        numbers.extend(c.issue.number for c in page)
        if token is None:
            break
    # THEN all five come back once, newest first, in three pages, none of the other project's
    assert numbers == [5, 4, 3, 2, 1]
    assert pages == 3


def test_listing_sessions_of_a_project_without_claims_is_empty(store: Store) -> None:
    # GIVEN no claims WHEN sessions are listed THEN nothing, no token
    assert store.list_sessions("app", 10, None) == ([], None)


def test_a_sessions_token_of_another_project_raises_invalid_input(store: Store) -> None:
    # GIVEN a next token from listing project A's sessions
    for n in range(1, 4):
        store.put_claim(claim(f"github:acme/app#{n}", at=NOW + timedelta(minutes=n)))
    _, token = store.list_sessions("app", 1, None)
    assert token is not None
    # WHEN it is used to list project B's sessions THEN InvalidInput on nextToken
    with pytest.raises(InvalidInput) as raised:
        store.list_sessions("other", 1, token)
    assert raised.value.field == "nextToken"


@pytest.mark.parametrize("token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_a_bad_sessions_token_raises_invalid_input(store: Store, token: str) -> None:
    # GIVEN a claim WHEN sessions are listed with a token that is not ours THEN InvalidInput
    store.put_claim(claim())
    with pytest.raises(InvalidInput) as raised:
        store.list_sessions("app", 10, token)
    assert raised.value.field == "nextToken"


def test_releasing_a_claim_marks_it_released(store: Store) -> None:
    # GIVEN a launched claim of the project
    store.create_project("app", enabled(), NOW)
    store.put_claim(claim(token="t"))
    store.transition(ISSUE, ClaimStatus.CLAIMED, ClaimStatus.LAUNCHED, NOW)
    # WHEN it is released (spelled in another case)
    later = NOW + timedelta(days=1)
    released = store.release("app", "github:acme/app#7", later)
    # THEN it is released, as returned and as stored
    assert (released.status, released.updated_at) == (ClaimStatus.RELEASED, later)
    assert store.get_claim(ISSUE) == released


def test_releasing_a_backlog_claim_leaves_it_with_no_attempt_so_its_first_launch_counts_one(store: Store) -> None:
    # GIVEN an issue recorded as backlog (it started no session)
    store.create_project("app", enabled(), NOW)
    store.put_claim(claim(token="t", status=ClaimStatus.BACKLOG))
    # WHEN it is released through the API
    released = store.release("app", ISSUE, NOW)
    # THEN it counts no attempt, as returned and as stored, so the take-over's `+ 1` counts one
    assert (released.status, released.attempts, released.launches) == (ClaimStatus.RELEASED, 0, 0)
    assert store.get_claim(ISSUE) == released


def test_releasing_a_launched_claim_keeps_its_attempts(store: Store) -> None:
    # GIVEN a launched claim on its second attempt
    store.create_project("app", enabled(), NOW)
    store.put_claim(replace(claim(token="t"), attempts=2))
    store.transition(ISSUE, ClaimStatus.CLAIMED, ClaimStatus.LAUNCHED, NOW)
    # WHEN it is released THEN both attempts still count
    assert store.release("app", ISSUE, NOW).attempts == 2


def test_releasing_a_claim_forgets_the_projects_pages_so_the_next_poll_rereads_them(store: Store) -> None:
    # GIVEN a project with a cached page and a claim
    store.create_project("app", enabled(), NOW)
    store.commit_page("app", CachedPage("https://x/1", '"a"'))
    store.put_claim(claim())
    # WHEN the claim is released (the domain's rule: the ledger's release, then the cache)
    changes.release_claim(store, store, "app", ISSUE, NOW)
    # THEN the next poll has no ETag to send, so GitHub answers 200 with the issue
    assert store.load_for_poll("app")[1] == {}


def test_replacing_a_config_forgets_the_projects_pages(store: Store) -> None:
    # GIVEN a project with a cached page
    store.create_project("app", enabled(), NOW)
    store.commit_page("app", CachedPage("https://x/1", '"a"'))
    # WHEN its config is replaced through the domain
    changes.replace_config(store, "app", enabled(labels=("agent", "bug")), None, NOW)
    # THEN the next poll reads every page again (the new rule may make cached issues eligible)
    assert store.load_for_poll("app")[1] == {}


# --- clearing a backoff (poll now; a config fix) -------------------------------------------------


def _in_backoff(store: Store, transient: bool = True) -> PollState:
    """Put project "app" in backoff after failures, with the rest of a poll state beside it."""
    state = PollState(
        backoff_until=NOW + timedelta(minutes=5),
        consecutive_failures=3,
        last_error="tracker_unavailable: 502 Bad Gateway",
        last_change_at=NOW - timedelta(hours=1),
        pages_read=2,
        transient=transient,
        primary_costs=(1, 0, 2),
    )
    store.save_poll_state("app", state)
    return state


def _cleared(state: PollState) -> PollState:
    return PollState(
        last_change_at=state.last_change_at, pages_read=state.pages_read, primary_costs=state.primary_costs
    )


def test_clearing_the_backoff_ends_it_and_keeps_the_rest_of_the_poll_state(harness: Harness) -> None:
    # GIVEN a project in backoff after three transient failures
    store = harness.store
    store.create_project("app", enabled(), NOW)
    state = _in_backoff(store)
    harness.reset()
    # WHEN its backoff is cleared
    record = store.clear_backoff("app")
    # THEN in one write, the backoff, the failures and their kind are gone; the last change, the
    # pages read and the primary costs stay (the dispatcher still needs them), as returned and as read
    assert harness.reads_and_writes() == (0, 1)
    assert record.poll == store.get_project("app").poll == _cleared(state)
    assert (record.version, record.config) == (1, enabled())


def test_clearing_the_backoff_of_a_missing_project_raises_and_does_not_create_it(store: Store) -> None:
    # GIVEN no project WHEN its backoff is cleared THEN ProjectNotFound, and still no project
    with pytest.raises(ProjectNotFound):
        store.clear_backoff("nope")
    with pytest.raises(ProjectNotFound):
        store.get_project("nope")


def test_a_config_write_told_to_clear_the_backoff_clears_it_in_the_same_write(harness: Harness) -> None:
    # GIVEN a project in backoff
    store = harness.store
    store.create_project("app", enabled(), NOW)
    state = _in_backoff(store)
    harness.reset()
    # WHEN its config is replaced, told to clear the backoff
    record = store.replace_config("app", enabled(labels=("bug",)), 1, NOW, clear_backoff=True)
    # THEN one write stored the config and cleared the backoff
    assert harness.reads_and_writes() == (0, 1)
    assert record.poll == store.get_project("app").poll == _cleared(state)
    assert record.config == enabled(labels=("bug",))


@pytest.mark.parametrize(
    "fixed",
    [
        enabled(labels=("bug",)),
        enabled(repo="acme/other"),
        ProjectConfig.model_validate(
            {
                "name": "App",
                "trackerIntake": {"enabled": True, "repo": "acme/app", "labels": ["agent"], "credential": "ops"},
            }
        ),
        ProjectConfig.model_validate(
            {
                "name": "App",
                "trackerIntake": {"enabled": True, "repo": "acme/app", "labels": ["agent"], "excludeLabels": []},
            }
        ),
    ],
    ids=["the labels", "the repository", "the credential", "the exclude labels"],
)
def test_a_config_fix_clears_the_backoff_so_the_next_tick_polls(store: Store, fixed: ProjectConfig) -> None:
    # GIVEN a project in backoff
    store.create_project("app", enabled(), NOW)
    state = _in_backoff(store, transient=False)
    # WHEN its rule, repository or credential is changed through the domain
    changes.replace_config(store, "app", fixed, None, NOW)
    # THEN the backoff is gone: the dispatcher polls it on its next tick
    assert store.get_project("app").poll == _cleared(state)


@pytest.mark.parametrize(
    "same_poll",
    [
        ProjectConfig.model_validate(
            {"name": "Renamed", "trackerIntake": {"enabled": True, "repo": "Acme/App", "labels": ["Agent"]}}
        ),
        ProjectConfig.model_validate(
            {
                "name": "App",
                "trackerIntake": {"enabled": True, "repo": "acme/app", "labels": ["agent"], "maxSessionsPerPoll": 3},
            }
        ),
    ],
    ids=["a rename (labels and repository in another case)", "a session cap"],
)
def test_a_config_write_that_polls_the_same_keeps_the_backoff(store: Store, same_poll: ProjectConfig) -> None:
    # GIVEN a project in backoff
    store.create_project("app", enabled(), NOW)
    state = _in_backoff(store)
    # WHEN a config that polls GitHub the same way is written through the domain
    changes.replace_config(store, "app", same_poll, None, NOW)
    # THEN the backoff stands: the failure it waits out is still there
    assert store.get_project("app").poll == state


def test_poll_now_clears_the_backoff_of_a_project_in_backoff(store: Store) -> None:
    # GIVEN a project in backoff
    store.create_project("app", enabled(), NOW)
    state = _in_backoff(store)
    # WHEN a poll is asked for now
    record = changes.poll_now(store, "app")
    # THEN its backoff is gone, as answered and as stored
    assert record.poll == store.get_project("app").poll == _cleared(state)


# --- the backlog mark (domain/backlog.py) -------------------------------------------------------


def test_a_project_created_with_a_backlog_mark_reads_it_back_for_the_poller(store: Store) -> None:
    # GIVEN a project created with its backlog to record since NOW
    store.create_project("app", enabled(), NOW, backlog_since=NOW)
    # WHEN the poller and the API read it
    # THEN both see the mark
    assert store.load_for_poll("app")[0].backlog_since == NOW
    assert store.get_project("app").backlog_since == NOW


def test_a_config_write_starts_keeps_or_drops_the_mark_as_told(store: Store) -> None:
    # GIVEN a project without a mark
    store.create_project("app", enabled(), NOW)
    later, latest = NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)
    # WHEN config writes start it, keep it, then drop it
    started = store.replace_config("app", enabled(), None, later, snapshot=Snapshot.START)
    kept = store.replace_config("app", enabled(), None, latest, snapshot=Snapshot.KEEP)
    dropped = store.replace_config("app", enabled(), None, latest, snapshot=Snapshot.DROP)
    # THEN the mark is the start's moment, then still that, then gone
    assert (started.backlog_since, kept.backlog_since, dropped.backlog_since) == (later, later, None)
    assert store.get_project("app").backlog_since is None


def test_ending_the_backlog_removes_only_the_mark_it_read(store: Store) -> None:
    # GIVEN a mark that a new switch-on replaced after a poll read the first one
    store.create_project("app", enabled(), NOW, backlog_since=NOW)
    later = NOW + timedelta(minutes=1)
    store.replace_config("app", enabled(), None, later, snapshot=Snapshot.START)
    # WHEN that poll ends the backlog it recorded
    ended = store.end_backlog("app", NOW)
    # THEN the newer mark stays, and ending that one removes it
    assert not ended and store.get_project("app").backlog_since == later
    assert store.end_backlog("app", later) and store.get_project("app").backlog_since is None


def test_a_backlog_claim_reads_back_as_backlog(store: Store) -> None:
    # GIVEN an issue recorded as backlog
    assert store.try_claim(claim(status=ClaimStatus.BACKLOG)) is None
    # WHEN it is read, singly and in a batch
    # THEN it is a backlog claim, and a second claim on the issue is refused with it
    assert store.get_claim(ISSUE).status is ClaimStatus.BACKLOG  # type: ignore[union-attr]
    assert [c.status for c in store.get_claims([ISSUE]).values()] == [ClaimStatus.BACKLOG]
    holder = store.try_claim(claim(token="token-2"))
    assert holder is not None and holder.status is ClaimStatus.BACKLOG


@pytest.mark.parametrize(
    ("project_id", "canonical"),
    [("other", ISSUE), ("app", "github:acme/app#999"), ("app", "not a canonical id")],
    ids=["another project's claim", "no claim", "malformed id"],
)
def test_releasing_a_claim_the_project_does_not_hold_raises_claim_not_found(
    store: Store, project_id: str, canonical: str
) -> None:
    # GIVEN app's claim on issue 7
    store.create_project("app", enabled(), NOW)
    store.put_claim(claim())
    # WHEN another project or another issue is released THEN ClaimNotFound, and the claim is untouched
    with pytest.raises(ClaimNotFound):
        store.release(project_id, canonical, NOW)
    stored = store.get_claim(ISSUE)
    assert stored is not None and stored.status is ClaimStatus.CLAIMED


# --- session status reports ------------------------------------------------------------------------


def reported(
    stored: Claim, status: SessionStatus, at: datetime, reports: int, pr_url: str | None = None, timestamp: int = 1
) -> Claim:
    """The claim with one more report kept on it, as the domain builds it."""
    change = StatusChange(status, at, pr_url)
    return replace(
        stored,
        session_status=status,
        pr_url=pr_url or stored.pr_url,
        status_history=(*stored.status_history, change),
        status_reports=reports,
        report_guard=ReportGuard(timestamp, (f"digest-{reports}",)),
    )


def launched(store: Store) -> Claim:
    store.create_project("app", enabled(), NOW)
    store.put_claim(claim(token="t"))
    store.transition(ISSUE, ClaimStatus.CLAIMED, ClaimStatus.LAUNCHED, NOW, session_ref="s-1")
    found = store.get_claim(ISSUE)
    assert found is not None
    return found


def test_a_recorded_status_reads_back_with_its_history_and_guard(store: Store) -> None:
    # GIVEN a launched claim
    stored = launched(store)
    # WHEN two reports are recorded, each on the count it read
    first = reported(stored, SessionStatus.WORKING, NOW, 1)
    assert store.record_status(first, 0) is True
    pr = "https://github.com/acme/app/pull/8"
    second = reported(first, SessionStatus.PR_OPEN, NOW + timedelta(minutes=5), 2, pr, timestamp=2)
    assert store.record_status(second, 1) is True
    # THEN the claim holds the last status, the PR, both reports and the guard; nothing else moved
    assert store.get_claim(ISSUE) == second
    assert second.status is ClaimStatus.LAUNCHED and second.session_ref == "s-1"


def test_a_status_write_on_a_stale_report_count_is_refused(store: Store) -> None:
    # GIVEN a claim another report was recorded on after this one read it
    stored = launched(store)
    assert store.record_status(reported(stored, SessionStatus.WORKING, NOW, 1), 0)
    # WHEN a report built on the claim as first read is written
    late = reported(stored, SessionStatus.MERGED, NOW, 1, timestamp=3)
    # THEN it is refused, and the first report stands
    assert store.record_status(late, 0) is False
    found = store.get_claim(ISSUE)
    assert found is not None and found.session_status is SessionStatus.WORKING


@pytest.mark.parametrize("status", [ClaimStatus.CLAIMED, ClaimStatus.ENQUEUED, ClaimStatus.FAILED])
def test_a_status_write_on_a_claim_with_no_session_is_refused(store: Store, status: ClaimStatus) -> None:
    # GIVEN a claim that is not launching or launched
    store.put_claim(claim(token="t", status=status))
    before = store.get_claim(ISSUE)
    assert before is not None
    # WHEN a status is written on it THEN it is refused, and the claim is untouched
    assert store.record_status(reported(before, SessionStatus.WORKING, NOW, 1), 0) is False
    assert store.get_claim(ISSUE) == before


def test_a_status_write_never_reopens_a_released_claim(store: Store) -> None:
    # GIVEN a launched claim, released after it was read for a report
    stored = launched(store)
    store.release("app", ISSUE, NOW)
    released = store.get_claim(ISSUE)
    # WHEN the report is written THEN it is refused, and the claim stays released as it was
    assert store.record_status(reported(stored, SessionStatus.WORKING, NOW, 1), 0) is False
    assert store.get_claim(ISSUE) == released


def test_a_status_write_for_another_generation_is_refused(store: Store) -> None:
    # GIVEN a launched claim
    stored = launched(store)
    # WHEN a report built for its next generation is written THEN it is refused
    assert store.record_status(replace(reported(stored, SessionStatus.WORKING, NOW, 1), generation=2), 0) is False


def test_a_status_write_on_a_missing_claim_is_refused(store: Store) -> None:
    # GIVEN no claim WHEN a status is written THEN it is refused, and no claim appears
    assert store.record_status(reported(claim(status=ClaimStatus.LAUNCHED), SessionStatus.WORKING, NOW, 1), 0) is False
    assert store.get_claim(ISSUE) is None


def test_taking_a_released_claim_again_clears_its_status_but_keeps_the_replay_guard(store: Store) -> None:
    # GIVEN a launched claim with a reported status, then released
    stored = launched(store)
    first = reported(stored, SessionStatus.MERGED, NOW, 1, "https://github.com/acme/app/pull/8")
    assert store.record_status(first, 0)
    store.release("app", ISSUE, NOW)
    # WHEN a poller takes it again as generation 2
    base = claim(token="again", at=NOW + timedelta(hours=1))
    assert store.take_over(replace(base, generation=2, attempts=2), "t", ClaimStatus.RELEASED)
    # THEN the new generation has no status, PR or history, and the count and guard carry on
    found = store.get_claim(ISSUE)
    assert found is not None
    assert (found.session_status, found.pr_url, found.status_history) == (None, None, ())
    assert (found.status_reports, found.report_guard) == (1, first.report_guard)


# --- token budgets ---------------------------------------------------------------------------------


def test_a_recorded_token_budget_reads_back(store: Store) -> None:
    # GIVEN an exhausted budget
    budget = TokenBudget("abc123", 0, NOW + timedelta(minutes=30))
    store.record_budget(budget)
    # WHEN it is read THEN it is as recorded, and a later record replaces it
    assert store.get_budget("abc123") == budget
    refreshed = TokenBudget("abc123", 4000, NOW + timedelta(hours=1))
    store.record_budget(refreshed)
    assert store.get_budget("abc123") == refreshed


def test_a_budget_keeps_the_lowest_remaining_of_a_window_and_a_later_window_replaces_it(store: Store) -> None:
    # GIVEN pollers that saw one window's budget out of order (70 left, then 80 left)
    window = NOW + timedelta(minutes=3)
    store.record_budget(TokenBudget("key", 70, window, limit=90))
    store.record_budget(TokenBudget("key", 80, window, limit=90))
    # THEN the lowest stands: within a window GitHub's remaining only falls
    assert store.get_budget("key") == TokenBudget("key", 70, window, limit=90)
    # WHEN an earlier window's late observation arrives  THEN it changes nothing
    store.record_budget(TokenBudget("key", 5, NOW, limit=90))
    assert store.get_budget("key") == TokenBudget("key", 70, window, limit=90)
    # WHEN GitHub says the window is spent (a 200 with remaining 0, or a refusal)  THEN that is
    # kept, and blocks until the window's reset
    store.record_budget(TokenBudget("key", 0, window))
    spent = store.get_budget("key")
    assert spent is not None and (spent.remaining, spent.limit) == (0, 90)
    assert spent.blocked_until(NOW) == window
    # WHEN the next window is seen  THEN it replaces the spent one, full again
    later = window + timedelta(minutes=3)
    store.record_budget(TokenBudget("key", 89, later, limit=90))
    assert store.get_budget("key") == TokenBudget("key", 89, later, limit=90)
    # AND a refusal from the window before, arriving late, changes nothing
    store.record_budget(TokenBudget("key", 0, window))
    assert store.get_budget("key") == TokenBudget("key", 89, later, limit=90)


def test_an_unknown_token_has_no_budget(store: Store) -> None:
    # GIVEN no budget recorded WHEN it is read THEN None
    assert store.get_budget("unknown") is None


# --- the credential: pause and pace ---------------------------------------------------------------


def test_a_pace_is_saved_only_over_the_version_it_was_read_at(store: Store) -> None:
    # GIVEN no pace yet, and two ticks that both read "none"
    first = Pace("key", (Grant(NOW, 5),), "p1", 1)
    rival = Pace("key", (Grant(NOW, 7),), "p2", 1)
    # WHEN both save THEN only the first lands
    assert store.save_pace(first) is True
    assert store.save_pace(rival) is False
    assert store.get_pace("key") == first
    # AND the next tick, having read version 1, saves version 2; a stale version 2 does not
    second = Pace("key", (Grant(NOW + timedelta(seconds=60), 3),), "p3", 2)
    assert store.save_pace(second) is True
    assert store.save_pace(Pace("key", (), None, 2)) is False
    assert store.get_pace("key") == second


def test_a_pause_keeps_the_later_moment_and_the_budget_record_leaves_it_alone(store: Store) -> None:
    # GIVEN a credential paused until +10 min
    store.pause("key", NOW + timedelta(minutes=10))
    # WHEN a shorter pause and a budget are recorded
    store.pause("key", NOW + timedelta(minutes=1))
    store.record_budget(TokenBudget("key", 42, NOW + timedelta(hours=1)))
    # THEN the longer pause stands beside the budget
    budget = store.get_budget("key")
    assert budget is not None
    assert budget.paused_until == NOW + timedelta(minutes=10)
    assert (budget.remaining, budget.reset_at) == (42, NOW + timedelta(hours=1))
    assert budget.blocked_until(NOW) == NOW + timedelta(minutes=10)


def test_a_deferral_is_marked_cleared_and_dropped_with_a_new_config(store: Store) -> None:
    # GIVEN a project marked deferred
    store.create_project("app", enabled(), NOW)
    store.set_deferred("app", NOW)
    marked = store.get_project("app").deferred_since
    # WHEN its config is replaced
    store.replace_config("app", enabled(), None, NOW)
    # THEN the mark was there, and is gone (the next tick decides afresh)
    assert marked == NOW
    assert store.get_project("app").deferred_since is None
    # AND a mark on a project that does not exist is ProjectNotFound
    with pytest.raises(ProjectNotFound):
        store.set_deferred("nope", NOW)


# --- acknowledgements and write slots ----------------------------------------------------------


def _ack(version: int, state: AckState = AckState.WRITING, **changes: Any) -> Acknowledgement:
    fields: dict[str, Any] = {
        "kind": Acknowledge.COMMENT,
        "state": state,
        "marker": "m1",
        "started_at": NOW,
        "updated_at": NOW,
        "version": version,
        "attempts": 1,
        "sent": True,
        "slot": NOW + timedelta(seconds=2),
        "lease_until": NOW + timedelta(seconds=62),
    }
    return Acknowledgement(**{**fields, **changes})


def test_an_acknowledgement_is_saved_over_the_version_read_and_reads_back_whole(store: Store) -> None:
    # GIVEN a launched claim without an acknowledgement
    store.put_claim(claim(status=ClaimStatus.LAUNCHED))
    launched = store.get_claim(ISSUE)
    assert launched is not None and launched.ack is None
    # WHEN the first one is saved (none expected), then a second over version 1
    first = _ack(1)
    assert store.save_ack(launched, first, None) is True
    done = _ack(2, AckState.DONE, lease_until=None, url="https://github.com/acme/app/issues/7#issuecomment-1")
    assert store.save_ack(launched, done, 1) is True
    # THEN the claim holds the second, every field as written, and nothing else changed
    stored = store.get_claim(ISSUE)
    assert stored is not None and stored.ack == done
    assert replace(stored, ack=None) == replace(launched, ack=None)


@pytest.mark.parametrize("expected", [None, 1, 3])
def test_an_acknowledgement_over_another_version_is_refused(store: Store, expected: int | None) -> None:
    # GIVEN a claim whose acknowledgement is at version 2
    store.put_claim(claim(status=ClaimStatus.LAUNCHED))
    launched = store.get_claim(ISSUE)
    assert launched is not None
    assert store.save_ack(launched, _ack(1), None) and store.save_ack(launched, _ack(2), 1)
    # WHEN a delivery that read another version saves THEN it loses, and version 2 stays
    assert store.save_ack(launched, _ack(expected + 1 if expected else 1, AckState.DONE), expected) is False
    stored = store.get_claim(ISSUE)
    assert stored is not None and stored.ack == _ack(2)


@pytest.mark.parametrize("status", [ClaimStatus.LAUNCHING, ClaimStatus.RELEASED, ClaimStatus.FAILED])
def test_an_acknowledgement_is_saved_only_on_a_launched_claim(store: Store, status: ClaimStatus) -> None:
    # GIVEN a claim that is not launched (or no longer)
    store.put_claim(claim(status=status))
    current = store.get_claim(ISSUE)
    assert current is not None
    # WHEN an acknowledgement is saved THEN it is refused and nothing is written
    assert store.save_ack(current, _ack(1), None) is False
    assert store.get_claim(ISSUE) == current


def test_a_take_over_clears_the_acknowledgement_for_the_new_generation(store: Store) -> None:
    # GIVEN an acknowledged claim that was released
    store.put_claim(claim(status=ClaimStatus.LAUNCHED))
    launched = store.get_claim(ISSUE)
    assert launched is not None and store.save_ack(launched, _ack(1, AckState.DONE), None)
    store.release("app", ISSUE, NOW)
    # WHEN it is taken again as generation 2
    again = replace(claim(token="token-2", status=ClaimStatus.CLAIMED), generation=2)
    assert store.take_over(again, "token-1", ClaimStatus.RELEASED)
    # THEN it has no acknowledgement, and the new generation's first one needs none expected
    taken = store.get_claim(ISSUE)
    assert taken is not None and taken.ack is None
    store.transition(ISSUE, ClaimStatus.CLAIMED, ClaimStatus.LAUNCHED, NOW)
    relaunched = store.get_claim(ISSUE)
    assert relaunched is not None
    assert store.save_ack(relaunched, _ack(1, marker="m2"), None) is True
    # AND an acknowledgement saved for generation 1 is refused
    assert store.save_ack(launched, _ack(2), 1) is False


def test_write_slots_are_a_second_apart_and_kept_per_credential(store: Store) -> None:
    # GIVEN three writes reserved on one credential in the same instant, and one on another
    slots = [store.reserve_write("cred-a", NOW) for _ in range(3)]
    other = store.reserve_write("cred-b", NOW)
    # THEN each is a second after the one before, and the other credential is not held up
    assert slots == [NOW, NOW + timedelta(seconds=1), NOW + timedelta(seconds=2)]
    assert other == NOW
    # AND an hour and more later the old slots no longer count
    assert store.reserve_write("cred-a", NOW + timedelta(hours=2)) == NOW + timedelta(hours=2)


def test_concurrent_reservations_never_share_a_slot(store: Store) -> None:
    # GIVEN eight launchers reserving on one credential at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        slots = list(pool.map(lambda _: store.reserve_write("cred-a", NOW), range(8)))
    # THEN the slots are distinct and a second apart
    ordered = sorted(slots)
    assert ordered == [NOW + timedelta(seconds=i) for i in range(8)]
