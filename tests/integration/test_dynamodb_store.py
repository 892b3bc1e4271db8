"""DynamoStore's own promises beyond the shared contract: the item layout, the calls it makes, its errors."""

from __future__ import annotations

import hashlib
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.config import Config
from botocore.stub import Stubber

from intake_dev.call_counter import CallCounter
from intake_dev.moto_rigs import atomic_calls
from tracker_intake.adapters.dynamodb import DynamoStore, claim_key, claim_record
from tracker_intake.adapters.dynamodb.items import ClaimItem, Names
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.errors import ItemMalformed, StoreUnavailable
from tracker_intake.domain.records import Claim, ClaimStatus, IssueSnapshot, PollState
from tracker_intake.domain.tracker import CachedPage

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ENABLED = ProjectConfig.model_validate(
    {"name": "App", "trackerIntake": {"enabled": True, "repo": "acme/app", "labels": ["agent"]}}
)
DISABLED = ProjectConfig.model_validate({"name": "App", "trackerIntake": {"enabled": False}})


@pytest.fixture
def store(aws: dict[str, Any]) -> DynamoStore:
    return DynamoStore(aws["table_name"], aws["dynamodb"])


def raw_item(store: DynamoStore, pk: str, sk: str) -> dict[str, Any]:
    response = store.client.get_item(TableName=store.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}})
    item: dict[str, Any] = response.get("Item", {})
    return item


def test_a_project_item_holds_camel_case_attributes_and_the_sparse_index_keys(store: DynamoStore) -> None:
    # GIVEN an intake-enabled project
    store.create_project("app", ENABLED, NOW)
    # WHEN its item is read raw
    item = raw_item(store, "PROJECT#app", "PROJECT")
    # THEN it has the documented attributes, config as a camelCase map without nulls
    assert set(item) == {"pk", "sk", "projectId", "config", "version", "createdAt", "updatedAt", "gsi1pk", "gsi1sk"}
    assert (item["gsi1pk"], item["gsi1sk"], item["version"]) == (
        {"S": "INTAKE#ENABLED"},
        {"S": "PROJECT#app"},
        {"N": "1"},
    )
    intake = item["config"]["M"]["trackerIntake"]["M"]
    assert "maxSessionsPerPoll" in intake and "excludeLabels" not in intake
    assert item["createdAt"] == {"S": "2026-03-01T12:00:00.000000Z"}


def test_disabling_intake_removes_the_index_keys_from_the_item(store: DynamoStore) -> None:
    # GIVEN an enabled project
    store.create_project("app", ENABLED, NOW)
    # WHEN intake is disabled
    store.replace_config("app", DISABLED, 1, NOW)
    # THEN the item no longer carries gsi1pk/gsi1sk (the index stays sparse)
    item = raw_item(store, "PROJECT#app", "PROJECT")
    assert "gsi1pk" not in item and "gsi1sk" not in item


def test_saving_poll_state_is_one_update_of_the_poll_attributes_only(aws: dict[str, Any]) -> None:
    # GIVEN a project
    store = DynamoStore(aws["table_name"], aws["dynamodb"])
    store.create_project("app", ENABLED, NOW)
    calls: list[dict[str, Any]] = []
    store.client.meta.events.register(
        "provide-client-params.dynamodb.UpdateItem", lambda params, **_: calls.append(params)
    )
    counter = CallCounter(store.client)
    # WHEN the poller saves a failure state
    store.save_poll_state("app", PollState(backoff_until=NOW, consecutive_failures=1, last_error="x"))
    # THEN it is one conditional UpdateItem naming only poll attributes
    assert counter.log == ["UpdateItem"]
    (params,) = calls
    assert set(params["ExpressionAttributeNames"].values()) == {
        "backoffUntil",
        "consecutiveFailures",
        "lastError",
        "lastChangeAt",
        "pagesRead",
        "failureTransient",
        "primaryCosts",
        "checkedAt",
    }
    assert params["ConditionExpression"] == "attribute_exists(pk)"


def test_clearing_the_backoff_is_one_update_that_removes_the_failure_attributes_only(aws: dict[str, Any]) -> None:
    # GIVEN a project in backoff
    store = DynamoStore(aws["table_name"], aws["dynamodb"])
    store.create_project("app", ENABLED, NOW)
    store.save_poll_state("app", PollState(backoff_until=NOW, consecutive_failures=1, last_error="x", pages_read=2))
    calls: list[dict[str, Any]] = []
    store.client.meta.events.register(
        "provide-client-params.dynamodb.UpdateItem", lambda params, **_: calls.append(params)
    )
    counter = CallCounter(store.client)
    # WHEN its backoff is cleared ("poll now")
    store.clear_backoff("app")
    # THEN one conditional UpdateItem removes the backoff, the failures and their kind, nothing else
    assert counter.log == ["UpdateItem"]
    (params,) = calls
    assert params["UpdateExpression"].startswith("REMOVE ")
    assert set(params["ExpressionAttributeNames"].values()) == {
        "backoffUntil",
        "consecutiveFailures",
        "lastError",
        "failureTransient",
    }
    assert params["ConditionExpression"] == "attribute_exists(pk)"


def test_replacing_the_config_is_one_update_that_leaves_poll_attributes_alone(aws: dict[str, Any]) -> None:
    # GIVEN a project
    store = DynamoStore(aws["table_name"], aws["dynamodb"])
    store.create_project("app", ENABLED, NOW)
    calls: list[dict[str, Any]] = []
    store.client.meta.events.register(
        "provide-client-params.dynamodb.UpdateItem", lambda params, **_: calls.append(params)
    )
    counter = CallCounter(store.client)
    # WHEN the API replaces the config
    store.replace_config("app", DISABLED, 1, NOW)
    # THEN one UpdateItem touches config, version, updatedAt and the index keys, nothing else
    assert counter.log == ["UpdateItem"]
    (params,) = calls
    # ... and drops a deferral mark, which belonged to the config it replaces
    assert set(params["ExpressionAttributeNames"].values()) == {
        "config",
        "updatedAt",
        "gsi1pk",
        "gsi1sk",
        "deferredSince",
    }
    assert "version = version + :one" in params["UpdateExpression"]


def test_the_steady_state_poll_read_is_exactly_one_query(store: DynamoStore) -> None:
    # GIVEN a project with cached pages
    store.create_project("app", ENABLED, NOW)
    for n in range(5):
        store.commit_page("app", CachedPage(f"https://x/{n}", f'"{n}"'))
    counter = CallCounter(store.client)
    # WHEN it is loaded for a poll
    store.load_for_poll("app")
    # THEN that is one Query and nothing else
    assert counter.log == ["Query"]


def test_an_etag_item_is_keyed_by_a_hash_of_the_url(store: DynamoStore) -> None:
    # GIVEN a page URL
    url = "https://api.github.com/repositories/1/issues?labels=agent&page=2"
    # WHEN its ETag is committed
    store.commit_page("app", CachedPage(url, 'W/"abc"', "https://api.github.com/x?page=3"))
    # THEN the item sits under the project with sk ETAG#<sha256(url)[:32]>, the ETag kept verbatim
    item = raw_item(store, "PROJECT#app", "ETAG#" + hashlib.sha256(url.encode()).hexdigest()[:32])
    assert (item["etag"], item["path"], item["nextUrl"]) == (
        {"S": 'W/"abc"'},
        {"S": url},
        {"S": "https://api.github.com/x?page=3"},
    )


def test_a_claim_item_is_keyed_lower_cased_and_indexed_by_project_and_time(store: DynamoStore) -> None:
    # GIVEN a claim on an issue spelled with capitals
    snapshot = IssueSnapshot(7, "Fix it", "https://github.com/Acme/App/issues/7", ("agent",), (), "", None)
    store.put_claim(Claim("github:Acme/App#7", "app", ClaimStatus.CLAIMED, "t", NOW, snapshot))
    # WHEN its item is read raw
    item = raw_item(store, "ISSUE#github:acme/app#7", "ISSUE")
    # THEN the key is lower-cased, the id kept as spelled, and the sessions index points at the project
    assert item["canonicalId"] == {"S": "github:Acme/App#7"}
    assert (item["gsi1pk"], item["gsi1sk"]) == ({"S": "SESSIONS#app"}, {"S": "2026-03-01T12:00:00.000000Z"})
    assert item["status"] == {"S": "claimed"} and item["attempts"] == {"N": "1"}


def test_taking_over_a_claim_moves_its_sessions_index_time(store: DynamoStore) -> None:
    # GIVEN a stale claim
    snapshot = IssueSnapshot(7, "Fix it", "u", (), (), "", None)
    old = Claim("github:acme/app#7", "app", ClaimStatus.CLAIMED, "old", NOW, snapshot)
    store.put_claim(old)
    # WHEN it is taken over later
    later = NOW + timedelta(minutes=10)
    store.take_over(
        Claim("github:acme/app#7", "app", ClaimStatus.CLAIMED, "new", later, snapshot, 2), "old", old.status
    )
    # THEN the index time is the new claim time
    item = raw_item(store, "ISSUE#github:acme/app#7", "ISSUE")
    assert item["gsi1sk"] == {"S": "2026-03-01T12:10:00.000000Z"}


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError"],
)
def test_a_throttled_or_failed_call_becomes_store_unavailable(code: str) -> None:
    # GIVEN DynamoDB answering the poll's Query with a throttling error
    client = boto3.client("dynamodb", region_name="us-east-1")
    store = DynamoStore("intake-table", client)
    with Stubber(client) as stub:
        stub.add_client_error("query", service_error_code=code, http_status_code=400)
        # WHEN the poller loads the project THEN a typed StoreUnavailable, chained to the SDK error
        with pytest.raises(StoreUnavailable) as raised:
            store.load_for_poll("app")
    assert raised.value.__cause__ is not None


def test_a_missing_table_becomes_store_unavailable(aws: dict[str, Any]) -> None:
    # GIVEN a store pointed at a table that does not exist
    store = DynamoStore("no-such-table", aws["dynamodb"])
    # WHEN anything is read THEN StoreUnavailable, not a botocore error
    with pytest.raises(StoreUnavailable):
        store.get_project("app")


def test_an_unreachable_endpoint_becomes_store_unavailable() -> None:
    # GIVEN a client whose endpoint refuses connections (nothing listens on port 9)
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1),
    )
    store = DynamoStore("intake-table", client)
    # WHEN the dispatcher reads the index THEN StoreUnavailable
    with pytest.raises(StoreUnavailable):
        list(store.intake_enabled())


def test_a_lost_conditional_write_is_an_outcome_not_an_error(aws: dict[str, Any]) -> None:
    # GIVEN a claim already present
    store = DynamoStore(aws["table_name"], aws["dynamodb"])
    snapshot = IssueSnapshot(7, "Fix it", "u", (), (), "", None)
    claim = Claim("github:acme/app#7", "app", ClaimStatus.CLAIMED, "t", NOW, snapshot)
    store.put_claim(claim)
    counter = CallCounter(store.client)
    # WHEN it is claimed again THEN the put reports False after exactly one call
    assert store.put_claim(claim) is False
    assert counter.log == ["PutItem"]


def test_a_malformed_claim_item_is_a_typed_error_naming_it_not_a_key_error(store: DynamoStore) -> None:
    # GIVEN a claim item without its claim token and with a status no release writes
    key = claim_key("github:acme/app#7")
    store.client.put_item(
        TableName=store.table_name,
        Item={
            **key,
            "canonicalId": {"S": "github:acme/app#7"},
            "projectId": {"S": "app"},
            "status": {"S": "dancing"},
            "claimedAt": {"S": "2026-03-01T12:00:00.000000Z"},
        },
    )
    # WHEN the ledger reads it
    with pytest.raises(ItemMalformed) as caught:
        store.get_claim("github:acme/app#7")
    # THEN the error names the item and each wrong attribute, and its callers see the store failing
    assert caught.value.item == f"{key['pk']['S']}/{key['sk']['S']}"
    assert "claimToken" in caught.value.problem and "status" in caught.value.problem
    assert isinstance(caught.value, StoreUnavailable) and not caught.value.transient


def test_a_malformed_project_item_is_a_typed_error(store: DynamoStore) -> None:
    # GIVEN a project item whose version is not a number
    store.create_project("app", ENABLED, NOW)
    store.client.update_item(
        TableName=store.table_name,
        Key={"pk": {"S": "PROJECT#app"}, "sk": {"S": "PROJECT"}},
        UpdateExpression="SET version = :v",
        ExpressionAttributeValues={":v": {"S": "three"}},
    )
    # WHEN the store reads it
    with pytest.raises(ItemMalformed) as caught:
        store.get_project("app")
    # THEN the error names the item and the attribute
    assert caught.value.item == "PROJECT#app/PROJECT" and "version" in caught.value.problem


def test_an_expression_cannot_name_an_attribute_its_item_model_lacks() -> None:
    # GIVEN the claim item's names
    names = Names(ClaimItem)
    # WHEN a field of the model is asked, and then one it lacks
    # THEN the first is its attribute, the second is refused
    assert names.claim_token == "claimToken"
    with pytest.raises(AttributeError, match="ClaimItem has no field 'claimtoken'"):
        _ = names.claimtoken


def project_item(project_id: str) -> dict[str, Any]:
    return {
        "pk": {"S": f"PROJECT#{project_id}"},
        "sk": {"S": "PROJECT"},
        "projectId": {"S": project_id},
        "config": {"M": {}},
        "version": {"N": "1"},
        "gsi1pk": {"S": "INTAKE#ENABLED"},
        "gsi1sk": {"S": f"PROJECT#{project_id}"},
    }


def index_key(project_id: str) -> dict[str, Any]:
    item = project_item(project_id)
    return {k: item[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")}


def test_the_intake_index_is_read_page_by_page_as_it_is_consumed() -> None:
    # GIVEN DynamoDB answering the index Query in two pages
    client = boto3.client("dynamodb", region_name="us-east-1")
    store = DynamoStore("intake-table", client)
    counter = CallCounter(client)
    base = {
        "TableName": "intake-table",
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "INTAKE#ENABLED"}},
    }
    with Stubber(client) as stub:
        stub.add_response("query", {"Items": [project_item("a")], "LastEvaluatedKey": index_key("a")}, base)
        stub.add_response("query", {"Items": [project_item("b")]}, {**base, "ExclusiveStartKey": index_key("a")})
        # WHEN the dispatcher takes the first project
        projects = store.intake_enabled()
        first = next(projects)
        # THEN only the first page has been read
        assert first.project_id == "a"
        assert counter.log == ["Query"]
        # AND the rest follows from the second page, resumed after the first
        assert [r.project_id for r in projects] == ["b"]
        stub.assert_no_pending_responses()


def test_listing_projects_scans_on_until_the_page_is_full_and_resumes_after_the_last_one() -> None:
    # GIVEN a table whose Scan pages hold one project, then ETag-only nothing, then two projects
    client = boto3.client("dynamodb", region_name="us-east-1")
    store = DynamoStore("intake-table", client)
    key = {k: project_item("a")[k] for k in ("pk", "sk")}
    with Stubber(client) as stub:
        stub.add_response("scan", {"Items": [project_item("a")], "LastEvaluatedKey": key})
        stub.add_response("scan", {"Items": [], "LastEvaluatedKey": key})
        stub.add_response("scan", {"Items": [project_item("b"), project_item("c")]})
        # WHEN two projects are asked for
        page, token = store.list_projects(2, None)
    # THEN the page is a and b, and the token resumes after b
    assert [r.project_id for r in page] == ["a", "b"]
    assert token is not None
    with Stubber(client) as stub:
        stub.add_response(
            "scan",
            {"Items": [project_item("c")]},
            {
                "TableName": "intake-table",
                "FilterExpression": "sk = :sk",
                "ExpressionAttributeValues": {":sk": {"S": "PROJECT"}},
                "ExclusiveStartKey": {"pk": {"S": "PROJECT#b"}, "sk": {"S": "PROJECT"}},
            },
        )
        rest, last = store.list_projects(2, token)
    assert ([r.project_id for r in rest], last) == (["c"], None)


def test_atomic_calls_gives_moto_dynamodbs_atomic_conditional_writes(aws: dict[str, Any]) -> None:
    # GIVEN moto made atomic per call, and threads switching as often as the interpreter allows
    atomic_calls(aws["dynamodb"])
    store = DynamoStore(aws["table_name"], aws["dynamodb"])
    snapshot = IssueSnapshot(1, "t", "u", (), (), "", None)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        # WHEN four pollers race to claim each of fifty issues
        winners = []
        for n in range(1, 51):
            barrier = threading.Barrier(4)

            def put(i: int, n: int = n, barrier: threading.Barrier = barrier) -> bool:
                barrier.wait()
                return store.put_claim(Claim(f"github:a/b#{n}", "app", ClaimStatus.CLAIMED, f"t{i}", NOW, snapshot))

            with ThreadPoolExecutor(4) as pool:
                winners.append(sum(pool.map(put, range(4))))
    finally:
        sys.setswitchinterval(previous)
    # THEN every issue had exactly one winner (without atomic_calls, about a third do not)
    assert set(winners) == {1}


# --- the batch read of claims (read before write) ------------------------------------------------

SNAPSHOT = IssueSnapshot(1, "t", "u", (), (), "", None)


def _claims(store: DynamoStore, count: int) -> list[str]:
    ids = [f"github:a/b#{n}" for n in range(1, count + 1)]
    for n, canonical in enumerate(ids, start=1):
        store.put_claim(Claim(canonical, "app", ClaimStatus.ENQUEUED, f"t{n}", NOW, SNAPSHOT))
    return ids


class Unprocessed:
    """Answers the next `times` BatchGetItem calls with every key unprocessed, as a throttled table does."""

    def __init__(self, client: Any, times: int) -> None:
        self.times = times
        self.calls = 0
        client.meta.events.register("before-parameter-build.dynamodb.BatchGetItem", self.remember)
        client.meta.events.register("before-call.dynamodb.BatchGetItem", self.answer)

    def remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["asked"] = params["RequestItems"]

    def answer(self, context: dict[str, Any], **_: Any) -> Any:
        self.calls += 1
        if self.times <= 0:
            return None
        self.times -= 1
        http = AWSResponse("https://dynamodb.invalid/", 200, HTTPHeaders(), None)  # type: ignore[no-untyped-call]
        return http, {"Responses": {}, "UnprocessedKeys": context["asked"], "ResponseMetadata": {"HTTPStatusCode": 200}}


def test_claims_are_read_in_one_batch_per_hundred_keys_eventually_consistent(aws: dict[str, Any]) -> None:
    # GIVEN 250 claims
    store = DynamoStore(aws["table_name"], aws["dynamodb"])
    ids = _claims(store, 250)
    calls: list[dict[str, Any]] = []
    store.client.meta.events.register(
        "provide-client-params.dynamodb.BatchGetItem", lambda params, **_: calls.append(params)
    )
    counter = CallCounter(store.client)
    # WHEN all of them are read
    found = store.get_claims(ids)
    # THEN three BatchGetItem calls (100, 100, 50 keys), none strongly consistent
    assert len(found) == 250
    assert counter.log == ["BatchGetItem"] * 3
    assert [len(c["RequestItems"][aws["table_name"]]["Keys"]) for c in calls] == [100, 100, 50]
    assert all(c["RequestItems"][aws["table_name"]]["ConsistentRead"] is False for c in calls)


def test_unprocessed_keys_are_retried_with_backoff_until_read(aws: dict[str, Any]) -> None:
    # GIVEN 30 claims and a table that leaves every key unprocessed twice
    store = DynamoStore(aws["table_name"], aws["dynamodb"])
    ids = _claims(store, 30)
    unprocessed = Unprocessed(store.client, times=2)
    waits: list[float] = []
    # WHEN they are read
    found = {
        claim.canonical_id
        for data in store.table.batch_get([claim_key(i) for i in ids], "read claims", sleep=waits.append)
        for claim in [claim_record(data)]
    }
    # THEN the third call read them all, after two waits within the doubling ceilings
    assert found == set(ids)
    assert unprocessed.calls == 3
    assert len(waits) == 2 and 0 <= waits[0] <= 0.05 and 0 <= waits[1] <= 0.1


def test_keys_left_unprocessed_after_every_retry_are_a_store_outage(aws: dict[str, Any]) -> None:
    # GIVEN a table that never processes the keys
    store = DynamoStore(aws["table_name"], aws["dynamodb"])
    ids = _claims(store, 3)
    Unprocessed(store.client, times=100)
    # WHEN they are read THEN it is StoreUnavailable, after a bounded number of attempts
    with pytest.raises(StoreUnavailable, match="unprocessed"):
        list(store.table.batch_get([claim_key(i) for i in ids], "read claims", sleep=lambda _: None))
