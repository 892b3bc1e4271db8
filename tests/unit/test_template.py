"""template.yaml keeps the promises of the design: IAM-only API, FIFO queue with a DLQ, PITR table,
no poller retries, least-privilege policies scoped to this stack, and lint-clean."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from intake_dev.template import REPO_ROOT, TEMPLATE, load_template

TOOLS_BIN = REPO_ROOT / ".tools" / "bin"

# The SAM policy templates a function here may use. Each is scoped by its parameters.
SAM_POLICY_TEMPLATES = {
    "DynamoDBCrudPolicy",
    "DynamoDBReadPolicy",
    "DynamoDBWritePolicy",
    "SQSSendMessagePolicy",
    "SQSPollerPolicy",
    "LambdaInvokePolicy",
    "AWSSecretsManagerGetSecretValuePolicy",
    "SSMParameterReadPolicy",
    "KMSDecryptPolicy",
}


def resources() -> dict[str, Any]:
    found: dict[str, Any] = load_template()["Resources"]
    return found


def parameters() -> dict[str, Any]:
    found: dict[str, Any] = load_template().get("Parameters", {})
    return found


def functions() -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in resources().items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def global_function() -> dict[str, Any]:
    found: dict[str, Any] = load_template().get("Globals", {}).get("Function", {})
    return found


def function_setting(function: str, key: str) -> Any:
    """A function's own setting, else the one from Globals."""
    return functions()[function].get(key, global_function().get(key))


def referenced_names(value: Any) -> Iterator[str]:
    """Every logical id or parameter a template value refers to (Ref, GetAtt, Sub, Condition)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                yield inner[0] if isinstance(inner, list) else str(inner).split(".", 1)[0]
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                yield from (m.split(".", 1)[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text))
                if isinstance(inner, list):
                    yield from referenced_names(inner[1])
            elif key == "Condition" and isinstance(inner, str):
                yield from referenced_names(load_template()["Conditions"][inner])
            elif key == "Fn::If":
                yield from referenced_names(load_template()["Conditions"][inner[0]])
                yield from referenced_names(inner[1:])
            else:
                yield from referenced_names(inner)
    elif isinstance(value, list):
        for item in value:
            yield from referenced_names(item)


def is_stack_reference(value: Any) -> bool:
    """A !Ref / !GetAtt / !Sub of this template's own resources or parameters (pseudo ones don't count)."""
    names = set(referenced_names(value))
    own = set(resources()) | set(parameters())
    return bool(names) and bool(names & own)


def is_stack_prefixed(value: Any) -> bool:
    """A !Sub ARN whose resource name starts with this stack's name: `…:secret:${AWS::StackName}/*`,
    or a folder under it (`…:secret:${AWS::StackName}/linear-oauth/*`)."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("Fn::Sub"), str)
        and ":${AWS::AccountId}:" in value["Fn::Sub"]
        and re.search(r":\$\{AWS::StackName\}/(?:[a-z0-9-]+/)*\*$", value["Fn::Sub"]) is not None
    )


def unconditional(policy: Any) -> Iterator[Any]:
    """A policy entry, or both branches of an `!If` around one (AWS::NoValue dropped)."""
    if isinstance(policy, dict) and set(policy) == {"Fn::If"}:
        for branch in policy["Fn::If"][1:]:
            if branch != {"Ref": "AWS::NoValue"}:
                yield from unconditional(branch)
    else:
        yield policy


def function_policies() -> Iterator[tuple[str, Any]]:
    for name, props in functions().items():
        for policy in props.get("Policies", []):
            for entry in unconditional(policy):
                yield name, entry


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def python_minor(runtime: str) -> int:
    match = re.fullmatch(r"python3\.(\d+)", runtime)
    assert match, f"{runtime!r} is not a python3.x runtime"
    return int(match[1])


# --- the API -----------------------------------------------------------------------------


def test_api_default_authorizer_is_aws_iam() -> None:
    # GIVEN the template's REST APIs
    apis = {n: r["Properties"] for n, r in resources().items() if r["Type"] == "AWS::Serverless::Api"}
    # WHEN their auth is read
    # THEN there is one, and its default authorizer is AWS_IAM
    assert apis, "the template has no AWS::Serverless::Api"
    for name, props in apis.items():
        assert props.get("Auth", {}).get("DefaultAuthorizer") == "AWS_IAM", name


# The session backend is not an AWS principal: it signs its status reports with the webhook key,
# which ApiFunction checks (docs/design.md, "Session status from the backend"). The only event
# that turns IAM off, and only for that route.
STATUS_REPORT_EVENT = ("ApiFunction", "ReportSessionStatus")


def test_no_api_event_turns_auth_off_but_the_signed_status_report() -> None:
    # GIVEN every Api event of every function
    events = [
        (function, event, spec.get("Properties", {}))
        for function, props in functions().items()
        for event, spec in props.get("Events", {}).items()
        if spec["Type"] == "Api"
    ]
    # WHEN their Auth overrides are read
    # THEN none but the status report sets the authorizer to NONE, and each one is attached to
    # the IAM-protected API
    assert events
    for function, event, props in events:
        if (function, event) == STATUS_REPORT_EVENT:
            assert props["Auth"] == {"Authorizer": "NONE"}
            assert (props["Path"], props["Method"]) == ("/sessions/{issueId}/status", "POST")
        else:
            assert props.get("Auth", {}).get("Authorizer") != "NONE", f"{function}.{event}"
        assert "RestApiId" in props, f"{function}.{event} would create an implicit API without IAM auth"
    assert STATUS_REPORT_EVENT in {(function, event) for function, event, _ in events}


def test_the_api_reads_the_webhook_key_it_checks_status_reports_with() -> None:
    # GIVEN the API function
    api = functions()["ApiFunction"]
    # WHEN its environment and policies are read
    env = api["Environment"]["Variables"]
    secret_policies = [
        p for p in api["Policies"] if isinstance(p, dict) and "Fn::If" in p and p["Fn::If"][0] == "HasWebhookSecret"
    ]
    # THEN it is given the launcher's webhook key, and may read that secret only
    assert env["SESSION_WEBHOOK_SECRET_ARN"] == {"Ref": "SessionWebhookSecretArn"}
    assert secret_policies == [
        {
            "Fn::If": [
                "HasWebhookSecret",
                {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": "SessionWebhookSecretArn"}}},
                {"Ref": "AWS::NoValue"},
            ]
        }
    ]


# --- the launch queue ------------------------------------------------------------------


def test_launch_queue_is_fifo_with_explicit_deduplication() -> None:
    # GIVEN the launch queue
    props = resources()["LaunchQueue"]["Properties"]
    # WHEN its type is read
    # THEN it is FIFO, deduplicating on the ids the poller sends (not on content)
    assert props["FifoQueue"] is True
    assert props.get("ContentBasedDeduplication", False) is False


def test_launch_queue_redrives_to_a_fifo_dead_letter_queue() -> None:
    # GIVEN the launch queue's redrive policy
    redrive = resources()["LaunchQueue"]["Properties"]["RedrivePolicy"]
    # WHEN its target is followed
    (dlq,) = set(referenced_names(redrive["deadLetterTargetArn"]))
    # THEN it is a FIFO queue of this stack, reached after a bounded number of receives
    assert resources()[dlq]["Type"] == "AWS::SQS::Queue"
    assert resources()[dlq]["Properties"]["FifoQueue"] is True
    assert 1 <= int(redrive["maxReceiveCount"]) <= 10


def test_visibility_timeout_is_at_least_six_times_the_launcher_timeout() -> None:
    # GIVEN the launch queue and its consumer
    visibility = int(resources()["LaunchQueue"]["Properties"]["VisibilityTimeout"])
    launcher_timeout = int(function_setting("LauncherFunction", "Timeout"))
    # WHEN they are compared
    # THEN the visibility timeout is at least six times the launcher's timeout
    assert visibility >= 6 * launcher_timeout


def test_launcher_reads_the_queue_with_partial_batch_failures() -> None:
    # GIVEN the event source mappings of the template (an SQS event would also attach a managed
    # policy on every queue; see tests/security/test_template_auth_and_scope.py)
    mappings = [r["Properties"] for r in resources().values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    # WHEN the launcher's mapping is found
    (sqs,) = [m for m in mappings if set(referenced_names(m["FunctionName"])) == {"LauncherFunction"}]
    # THEN it reads LaunchQueue and reports failed items one by one
    assert set(referenced_names(sqs["EventSourceArn"])) == {"LaunchQueue"}
    assert "ReportBatchItemFailures" in sqs["FunctionResponseTypes"]


# --- the table ---------------------------------------------------------------------------


def test_table_is_on_demand_with_pitr_and_encryption() -> None:
    # GIVEN the table
    props = resources()["IntakeTable"]["Properties"]
    # WHEN its settings are read
    # THEN it is billed per request, has point-in-time recovery and server-side encryption
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True


def test_table_has_pk_sk_and_the_sparse_gsi1_index() -> None:
    # GIVEN the table's keys and indexes
    props = resources()["IntakeTable"]["Properties"]
    # WHEN they are read
    keys = [(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]]
    (gsi,) = [i for i in props["GlobalSecondaryIndexes"] if i["IndexName"] == "gsi1"]
    gsi_keys = [(k["AttributeName"], k["KeyType"]) for k in gsi["KeySchema"]]
    # THEN the table is pk/sk, and gsi1 is gsi1pk/gsi1sk
    assert keys == [("pk", "HASH"), ("sk", "RANGE")]
    assert gsi_keys == [("gsi1pk", "HASH"), ("gsi1sk", "RANGE")]


def test_gsi1_keys_are_not_required_attributes_of_every_item() -> None:
    # GIVEN the table definition
    props = resources()["IntakeTable"]["Properties"]
    # WHEN the attributes it declares are listed
    declared = {a["AttributeName"] for a in props["AttributeDefinitions"]}
    # THEN only key attributes are declared (so items without gsi1pk stay out of the index: sparse)
    assert declared == {"pk", "sk", "gsi1pk", "gsi1sk"}


def test_table_survives_stack_deletion() -> None:
    # GIVEN the table resource
    table = resources()["IntakeTable"]
    # WHEN its deletion policies are read
    # THEN the ledger is kept if the stack is deleted or the table replaced
    assert table.get("DeletionPolicy") == "Retain"
    assert table.get("UpdateReplacePolicy") == "Retain"


def test_the_activity_log_has_a_table_of_its_own_swept_by_its_ttl() -> None:
    # GIVEN the activity log's table
    table = resources()["ActivityTable"]
    props = table["Properties"]
    # WHEN its settings are read
    keys = [(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]]
    # THEN it is pk/sk with no index, billed per request, encrypted, recoverable and retained like
    # the intake table, and its TTL sweeps each entry at its expiresAt
    assert keys == [("pk", "HASH"), ("sk", "RANGE")] and "GlobalSecondaryIndexes" not in props
    assert {a["AttributeName"] for a in props["AttributeDefinitions"]} == {"pk", "sk"}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert table.get("DeletionPolicy") == table.get("UpdateReplacePolicy") == "Retain"


def test_only_the_poller_and_the_api_are_told_the_activity_tables_name() -> None:
    # GIVEN every function's environment, and the globals
    # WHEN ACTIVITY_TABLE_NAME is looked for
    told = {
        name
        for name, props in functions().items()
        if "ACTIVITY_TABLE_NAME" in props.get("Environment", {}).get("Variables", {})
    }
    # THEN the poller (which writes the log) and the API (which reads it) have it, as the table's name
    assert told == {"PollerFunction", "ApiFunction"}
    assert "ACTIVITY_TABLE_NAME" not in global_function()["Environment"]["Variables"]
    for name in told:
        assert functions()[name]["Environment"]["Variables"]["ACTIVITY_TABLE_NAME"] == {"Ref": "ActivityTable"}


# --- the poller and the dispatcher -------------------------------------------------


def test_poller_async_invocations_are_never_retried_and_expire_quickly() -> None:
    # GIVEN the poller's asynchronous invoke config
    config = functions()["PollerFunction"]["EventInvokeConfig"]
    # WHEN it is read
    # THEN no retries (the next tick is the retry) and events older than two ticks are dropped
    assert config["MaximumRetryAttempts"] == 0
    assert 60 <= int(config["MaximumEventAgeInSeconds"]) <= 120


def test_poller_concurrency_is_capped_by_a_parameter() -> None:
    # GIVEN the poller's reserved concurrency
    reserved = functions()["PollerFunction"]["ReservedConcurrentExecutions"]
    # WHEN it is followed to its source
    (name,) = set(referenced_names(reserved))
    # THEN it is a template parameter whose allowed values stay within GitHub's 100 concurrent requests
    parameter = parameters()[name]
    assert parameter["Type"] == "Number"
    assert 1 <= int(parameter["Default"]) <= int(parameter["MaxValue"]) <= 100


def test_dispatcher_schedule_rate_is_a_parameter_defaulting_to_one_minute() -> None:
    # GIVEN the dispatcher's schedule events
    (schedule,) = [
        e["Properties"] for e in functions()["DispatcherFunction"]["Events"].values() if e["Type"] == "Schedule"
    ]
    # WHEN its expression is followed
    (name,) = set(referenced_names(schedule["Schedule"]))
    # THEN it is a parameter whose default is rate(1 minute)
    assert parameters()[name]["Default"] == "rate(1 minute)"


def test_schedule_can_be_switched_off_by_a_parameter() -> None:
    # GIVEN the dispatcher's schedule event
    (schedule,) = [
        e["Properties"] for e in functions()["DispatcherFunction"]["Events"].values() if e["Type"] == "Schedule"
    ]
    # WHEN its on/off switch is followed (Enabled or State, directly or through a condition)
    switch = schedule.get("Enabled", schedule.get("State"))
    # THEN it depends on a template parameter
    assert switch is not None, "the schedule has no Enabled/State switch"
    assert set(referenced_names(switch)) & set(parameters()), "the switch does not depend on a parameter"


def test_dispatcher_is_allowed_to_invoke_only_the_poller() -> None:
    # GIVEN the dispatcher's policies
    invoke = [
        entry["LambdaInvokePolicy"]
        for name, entry in function_policies()
        if name == "DispatcherFunction" and isinstance(entry, dict) and "LambdaInvokePolicy" in entry
    ]
    # WHEN the function it may invoke is followed
    # THEN it is the poller
    assert [set(referenced_names(p["FunctionName"])) for p in invoke] == [{"PollerFunction"}]


# --- least privilege ---------------------------------------------------------------------


def test_every_function_has_policies() -> None:
    # GIVEN every function of the template
    # WHEN its policies are listed
    # THEN each has its own (none leans on a shared or admin role)
    for name, props in functions().items():
        assert props.get("Policies"), f"{name} has no Policies"
        assert "Role" not in props, f"{name} uses a role defined elsewhere"


def test_every_policy_is_a_scoped_template_or_statement() -> None:
    # GIVEN every policy entry of every function (both branches of any !If)
    entries = list(function_policies())
    assert entries
    # WHEN each is inspected
    for function, entry in entries:
        # THEN it is a SAM policy template or inline statements, never a managed policy name
        assert isinstance(entry, dict), f"{function}: managed policy {entry!r} is not scoped to this stack"
        if "Statement" in entry:
            for statement in as_list(entry["Statement"]):
                for resource in as_list(statement.get("Resource", [])):
                    assert resource != "*", f"{function}: inline statement on Resource '*'"
                    assert is_stack_reference(resource), f"{function}: {resource!r} is not of this stack"
            continue
        if set(entry) == {"Ref"}:
            # ... or a managed policy this template defines, whose statements are as scoped
            policy = resources().get(entry["Ref"], {})
            assert policy.get("Type") == "AWS::IAM::ManagedPolicy", f"{function}: {entry!r} is not this stack's"
            for statement in as_list(policy["Properties"]["PolicyDocument"]["Statement"]):
                for listed in as_list(statement["Resource"]):
                    for resource in unconditional(listed):
                        assert is_stack_reference(resource) or is_stack_prefixed(resource), (
                            f"{function}: {resource!r} is not of this stack"
                        )
            continue
        (template_name,) = entry
        assert template_name in SAM_POLICY_TEMPLATES, f"{function}: unexpected policy {template_name}"
        arguments = entry[template_name]
        # ... whose every argument is a resource or parameter of this stack
        assert arguments, f"{function}: {template_name} has no scope"
        for key, value in arguments.items():
            assert value != "*", f"{function}: {template_name}.{key} is '*'"
            assert is_stack_reference(value), f"{function}: {template_name}.{key}={value!r} is not of this stack"


def test_no_resource_star_anywhere_in_the_template() -> None:
    # GIVEN the whole template as text
    text = TEMPLATE.read_text()
    # WHEN it is searched for a wildcard resource
    # THEN there is none
    assert not re.search(r"Resource\s*:\s*['\"]?\*", text)


# --- runtime, globals, outputs ---------------------------------------------------------


def test_functions_run_python_3_12_or_newer() -> None:
    # GIVEN every function's runtime (its own, else the global one)
    runtimes = {name: function_setting(name, "Runtime") for name in functions()}
    # WHEN the versions are read
    # THEN each is python3.12 or newer
    for name, runtime in runtimes.items():
        assert python_minor(runtime) >= 12, f"{name}: {runtime}"


def test_shared_layer_is_built_for_the_function_runtime() -> None:
    # GIVEN the layers of the template, each built by the Makefile in its folder
    layers = {n: r for n, r in resources().items() if r["Type"] == "AWS::Serverless::LayerVersion"}
    runtime = global_function()["Runtime"]
    assert layers
    for name, layer in layers.items():
        assert layer["Metadata"]["BuildMethod"] == "makefile", name
        makefile = (REPO_ROOT / layer["Properties"]["ContentUri"] / "Makefile").read_text()
        # WHEN the Makefile's target for the layer and the Python its wheels are for are read
        # THEN there is one, the wheels are for the functions' runtime (python3.12+), and the
        # layer is compatible with that runtime
        assert re.search(rf"\bbuild-{name}\b[^\n]*:", makefile), name
        assert f"--python-version 3.{python_minor(runtime)} " in makefile, name
        assert python_minor(runtime) >= 12 and runtime in layer["Properties"]["CompatibleRuntimes"], name


def test_globals_carry_the_powertools_settings() -> None:
    # GIVEN the functions' global environment
    variables = global_function()["Environment"]["Variables"]
    # WHEN the Powertools settings are read
    # THEN service name, metrics namespace and a parameterised log level are set
    assert variables["POWERTOOLS_SERVICE_NAME"]
    assert variables["POWERTOOLS_METRICS_NAMESPACE"]
    assert set(referenced_names(variables["POWERTOOLS_LOG_LEVEL"])) <= set(parameters())


def test_github_api_url_parameter_defaults_to_github_com() -> None:
    # GIVEN the GitHub API base URL parameter
    # WHEN its default is read
    # THEN it is the public API
    assert parameters()["GitHubApiUrl"]["Default"] == "https://api.github.com"


def test_outputs_name_the_api_url_queue_url_and_both_tables() -> None:
    # GIVEN the stack outputs
    outputs = load_template()["Outputs"]
    # WHEN what they refer to is collected
    referred = set().union(*(referenced_names(o["Value"]) for o in outputs.values()))
    # THEN the API, the launch queue, the intake table and the activity table are among them
    assert {"IntakeApi", "LaunchQueue", "IntakeTable", "ActivityTable"} <= referred


# --- the linters -----------------------------------------------------------------------


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = TOOLS_BIN / args[0]
    if not tool.exists():
        pytest.skip(f"{tool} is not installed (run `make tools`); `make test` runs it regardless")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    return subprocess.run(
        [str(tool), *args[1:]], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=110, check=False
    )


def test_cfn_lint_is_clean() -> None:
    # GIVEN cfn-lint from the tools environment
    # WHEN it checks the template
    result = run_tool("cfn-lint", str(Path(TEMPLATE).relative_to(REPO_ROOT)))
    # THEN it finds nothing
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_is_clean() -> None:
    # GIVEN the SAM CLI from the tools environment
    # WHEN it validates the template with --lint
    result = run_tool("sam", "validate", "--lint", "--region", "us-east-1", "--template-file", str(TEMPLATE))
    # THEN it passes
    assert result.returncode == 0, result.stdout + result.stderr
