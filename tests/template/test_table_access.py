"""What each function's role may do on the tables, as SAM expands the template: the actions its code
makes, each on the partitions it makes them on (docs/design.md, "Table layout"), and no more. The
intake table and its index, and the activity log's own table, are three places.

The keys are made by the adapter's own key functions, so a partition renamed in the code and not
in the template fails here rather than in AWS (moto checks no IAM). The code each grant serves
is named beside its statement in template.yaml.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest
from expanded_template import FUNCTIONS, role_statements, transformed

from tracker_intake.adapters.dynamodb.credentials import CREDENTIALS_PK
from tracker_intake.adapters.dynamodb.table import (
    INTAKE_ENABLED,
    activity_pk,
    budget_pk,
    claim_pk,
    project_pk,
    sessions_pk,
)
from tracker_intake.domain.credentials import app_key

TABLE = {"Fn::GetAtt": ["IntakeTable", "Arn"]}
INDEX = {"Fn::Sub": "${IntakeTable.Arn}/index/gsi1"}
ACTIVITY_TABLE = {"Fn::GetAtt": ["ActivityTable", "Arn"]}
PLACES = ("table", "index", "activity")

# One key of each partition, as the code writes it.
PARTITIONS = {
    "project": project_pk("demo"),
    "claim": claim_pk("github:octo/demo#7"),
    "token": budget_pk("0123456789abcdef"),
    "app": budget_pk(app_key("123", 456)),
    "credentials": CREDENTIALS_PK,
    "enabled": INTAKE_ENABLED,
    "sessions": sessions_pk("demo"),
    "activity": activity_pk("demo"),
}
TOKENS = {"token", "app"}  # a credential's items: a token's key, or an app installation's

# (action, on the table or its index) -> the partitions the function's code reaches with it.
NEEDS: dict[str, dict[tuple[str, str], set[str]]] = {
    "DispatcherFunction": {
        ("Query", "index"): {"enabled"},
        ("GetItem", "table"): TOKENS | {"credentials"},
        ("PutItem", "table"): TOKENS,
        ("UpdateItem", "table"): {"project"},
    },
    "PollerFunction": {
        ("Query", "table"): {"project"},
        # The project's permission cache (PROJECT#<id>/PERMISSION#...) is read and written too.
        ("GetItem", "table"): {"claim", "project", "credentials"} | TOKENS,
        ("BatchGetItem", "table"): {"claim", "project"},
        ("PutItem", "table"): {"claim", "project"},
        ("UpdateItem", "table"): {"claim", "project"} | TOKENS,
        ("PutItem", "activity"): {"activity"},  # record_poll, and nothing else on the log's table
    },
    "LauncherFunction": {
        ("GetItem", "table"): {"claim", "project", "credentials"} | TOKENS,
        ("PutItem", "table"): TOKENS,
        ("UpdateItem", "table"): {"claim", "project"} | TOKENS,
    },
    "ApiFunction": {
        ("Scan", "table"): set(PARTITIONS),  # the project listing: no partition to condition on
        ("Query", "table"): {"project", "credentials"},
        ("Query", "activity"): {"activity"},  # list_polls, and nothing else on the log's table
        ("Query", "index"): {"sessions"},
        ("GetItem", "table"): {"project", "claim", "credentials"} | TOKENS,
        ("BatchGetItem", "table"): {"claim", "project"},  # a stored project's kept permissions
        ("PutItem", "table"): {"project", "credentials"} | TOKENS,
        ("UpdateItem", "table"): {"project", "claim"} | TOKENS,
        ("DeleteItem", "table"): {"project", "credentials"},
        ("BatchWriteItem", "table"): {"project"},
    },
}
ACTIONS = ("GetItem", "BatchGetItem", "Query", "Scan", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def table_statements(function: str) -> list[dict[str, Any]]:
    return [
        s
        for s in role_statements(transformed(), function)
        if any(str(a).startswith("dynamodb:") for a in as_list(s["Action"]))
    ]


def where(resource: Any) -> str:
    if resource == TABLE:
        return "table"
    if resource == INDEX:
        return "index"
    if resource == ACTIVITY_TABLE:
        return "activity"
    raise AssertionError(f"a DynamoDB grant on {resource!r}: not the table, its index gsi1 or the activity table")


def allowed(function: str, action: str, place: str, key: str) -> bool:
    """Whether a request of `action` on `place` whose partition key is `key` is allowed."""
    for statement in table_statements(function):
        if f"dynamodb:{action}" not in as_list(statement["Action"]):
            continue
        if place not in {where(r) for r in as_list(statement["Resource"])}:
            continue
        patterns = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
        if patterns is None or any(fnmatchcase(key, p) for p in patterns):
            return True
    return False


def grants(function: str) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for action in ACTIONS:
        for place in PLACES:
            reached = {name for name, key in PARTITIONS.items() if allowed(function, action, place, key)}
            if reached:
                found[(action, place)] = reached
    return found


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_may_do_on_the_table_what_its_code_does_and_nothing_more(function: str) -> None:
    # GIVEN the function's role as SAM expands it
    # WHEN each action is tried on one key of each partition, on the table, its index and the activity table
    # THEN exactly the actions its code makes are allowed, each on the partitions it reaches
    assert grants(function) == NEEDS[function]


@pytest.mark.parametrize("function", [f for f in FUNCTIONS if f != "ApiFunction"])
def test_only_the_api_may_scan_delete_or_batch_write(function: str) -> None:
    # GIVEN a function other than the API (DynamoDBCrudPolicy gave all of them these, on every item)
    # WHEN its table statements are read
    actions = {a for s in table_statements(function) for a in as_list(s["Action"])}
    # THEN none scans, deletes or writes in batches
    assert not actions & {"dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}, actions


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_grant_but_the_api_s_scan_is_held_to_named_partitions(function: str) -> None:
    # GIVEN the function's table statements
    for statement in table_statements(function):
        # WHEN its condition is read
        leading = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
        # THEN it names the partitions its requests may lead with (a Scan leads with none)
        if as_list(statement["Action"]) == ["dynamodb:Scan"]:
            assert function == "ApiFunction" and "Condition" not in statement
        else:
            assert leading and "*" not in leading, (function, statement)
            assert set(statement["Condition"]) == {"ForAllValues:StringLike"}, statement


@pytest.mark.parametrize("function", [f for f in FUNCTIONS if f != "ApiFunction"])
def test_no_function_but_the_api_writes_a_registered_credential(function: str) -> None:
    # GIVEN the registered credentials' partition (their kind and secret ARN)
    # WHEN every write is tried on it
    # THEN only the API (PUT and DELETE /credentials/{name}) may
    for action in WRITES:
        assert not allowed(function, action, "table", CREDENTIALS_PK), (function, action)
    assert allowed("ApiFunction", "PutItem", "table", CREDENTIALS_PK)
    assert allowed("ApiFunction", "DeleteItem", "table", CREDENTIALS_PK)


def test_index_queries_are_held_to_the_index_partition_each_function_reads() -> None:
    # GIVEN a query of gsi1 is checked against the index's own partition key
    # WHEN the dispatcher and the API query it
    # THEN the dispatcher reads the intake-enabled projects only, the API a project's sessions only
    assert allowed("DispatcherFunction", "Query", "index", INTAKE_ENABLED)
    assert not allowed("DispatcherFunction", "Query", "index", sessions_pk("demo"))
    assert allowed("ApiFunction", "Query", "index", sessions_pk("demo"))
    assert not allowed("ApiFunction", "Query", "index", INTAKE_ENABLED)
    assert not any(allowed(f, "Query", "index", sessions_pk("demo")) for f in ("PollerFunction", "LauncherFunction"))


def test_the_poller_may_keep_its_permission_cache_in_the_project_partition() -> None:
    # GIVEN an item of the project's partition (PROJECT#<id>, sk PERMISSION#...)
    key = project_pk("demo")
    # WHEN the poller reads it, alone or in a batch, and writes it
    # THEN each is allowed
    for action in ("GetItem", "BatchGetItem", "PutItem"):
        assert allowed("PollerFunction", action, "table", key), action


def test_only_the_poller_writes_the_activity_log_and_only_the_api_reads_it() -> None:
    # GIVEN one project's activity log, in its own table
    key = activity_pk("demo")
    # WHEN every action of every function is tried on it
    reached = {(f, a) for f in FUNCTIONS for a in ACTIONS if allowed(f, a, "activity", key)}
    # THEN the poller only puts an entry, the API only queries the log, and nothing else touches it
    assert reached == {("PollerFunction", "PutItem"), ("ApiFunction", "Query")}
