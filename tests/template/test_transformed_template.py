"""The template as SAM's transform expands it: what CloudFormation is really given.

The raw YAML can say one thing and the transform another (the schedule switch did: SAM turns
`Enabled: !If [...]` into ENABLED whatever the condition), so these tests read the output of
SAM's own translator (`sam_transform.py`, run in `.tools`, where SAM CLI installs it), and
evaluate its conditions for given parameter values (`expanded_template.py`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from expanded_template import FUNCTIONS, Evaluate, resources, run_in_tools, transformed

from intake_dev.template import REPO_ROOT, load_template
from tracker_intake.domain.errors import AuthFailed, RepoNotFound

OBSERVABILITY = REPO_ROOT / "layers" / "intake" / "tracker_intake" / "observability.py"


@pytest.mark.parametrize(("switch", "state"), [("true", "ENABLED"), ("false", "DISABLED")])
def test_the_schedule_switch_reaches_the_rule_cloudformation_creates(switch: str, state: str) -> None:
    # GIVEN the template as SAM transforms it, with ScheduleEnabled set
    template = transformed(f"ScheduleEnabled={switch}")
    (rule,) = resources(template, "AWS::Events::Rule").values()
    # WHEN the rule's State is evaluated for that value
    # THEN the schedule is on or off as asked
    assert Evaluate(template, ScheduleEnabled=switch)(rule["Properties"]["State"]) == state


def test_every_function_logs_to_a_group_that_expires() -> None:
    # GIVEN the transformed template
    template = transformed()
    groups = resources(template, "AWS::Logs::LogGroup")
    for name in FUNCTIONS:
        # WHEN the function's log group is followed
        target = template["Resources"][name]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        # THEN it is a group of the stack, kept LogRetentionDays (30 by default)
        assert groups[target]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 30


def _alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources(template, "AWS::CloudWatch::Alarm").values()]


def _watching(template: dict[str, Any], metric: str, **dimensions: Any) -> list[dict[str, Any]]:
    found = []
    for alarm in _alarms(template):
        dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        if alarm["MetricName"] == metric and all(dims.get(k) == v for k, v in dimensions.items()):
            found.append(alarm)
    return found


def test_each_function_has_an_errors_and_a_throttles_alarm() -> None:
    template = transformed()
    for name in FUNCTIONS:
        for metric in ("Errors", "Throttles"):
            assert len(_watching(template, metric, FunctionName={"Ref": name})) == 1, (name, metric)


def test_the_dead_letter_queue_and_the_service_signals_are_watched() -> None:
    # GIVEN the transformed template
    template = transformed()
    # THEN messages in the DLQ, sustained auth and not-found poll failures, rejected launches and
    # a paused credential each have an alarm
    assert _watching(
        template, "ApproximateNumberOfMessagesVisible", QueueName={"Fn::GetAtt": ["LaunchDeadLetterQueue", "QueueName"]}
    )
    for kind in (AuthFailed.kind, RepoNotFound.kind):
        (alarm,) = _watching(template, "PollsFailed", ErrorKind=kind)
        # sustained: a failing project backs off 5, 10, 20 minutes..., so it fails a few times an
        # hour; one failure (a blip) does not alarm
        assert alarm["Period"] * alarm["EvaluationPeriods"] >= 3600 and alarm["Threshold"] >= 2
    assert _watching(template, "LaunchesRejected") and _watching(template, "CredentialPaused")
    # AND every custom metric an alarm watches is one the code emits, in the namespace it uses
    emitted = OBSERVABILITY.read_text()
    for alarm in _alarms(template):
        if alarm["Namespace"] == "TrackerIntake":
            assert f'"{alarm["MetricName"]}"' in emitted, alarm["MetricName"]
            assert {"Name": "service", "Value": "tracker-intake"} in alarm["Dimensions"]


def test_a_slow_pickup_alarms_when_its_p95_stays_above_five_minutes_for_fifteen() -> None:
    # GIVEN the transformed template
    template = transformed()
    # WHEN the alarm on PickupSeconds is read
    (alarm,) = _watching(template, "PickupSeconds", service="tracker-intake")
    # THEN it watches the 95th percentile, above 300 s, in every period of a quarter of an hour
    assert alarm["ExtendedStatistic"] == "p95" and "Statistic" not in alarm
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (300, "GreaterThanThreshold")
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 900
    assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]
    # AND a quiet stretch (no launch, no data) is no alarm
    assert alarm["TreatMissingData"] == "notBreaching"


def test_the_operations_dashboard_shows_pickup_p50_and_p95() -> None:
    # GIVEN the operations dashboard, its references filled in as CloudFormation would
    template = transformed()
    (board,) = resources(template, "AWS::CloudWatch::Dashboard").values()
    body = json.loads(re.sub(r"\$\{[^}]+\}", "x", board["Properties"]["DashboardBody"]["Fn::Sub"]))
    # WHEN its widgets are read
    (pickup,) = [
        w["properties"] for w in body["widgets"] if any("PickupSeconds" in m for m in w["properties"]["metrics"])
    ]
    # THEN PickupSeconds is drawn as its p50 and its p95 (the second line repeats the first's metric)
    first, second = pickup["metrics"]
    assert first[:4] == ["TrackerIntake", "PickupSeconds", "service", "tracker-intake"]
    assert (first[-1]["stat"], second) == ("p50", ["...", {"stat": "p95", "label": "p95"}])


def test_a_silent_dispatcher_alarms_only_while_the_schedule_is_on() -> None:
    template = transformed()
    (alarm,) = [
        r
        for r in resources(template, "AWS::CloudWatch::Alarm").values()
        if r["Properties"]["MetricName"] == "Invocations"
    ]
    assert alarm["Condition"] == "ScheduleOn"
    assert alarm["Properties"]["TreatMissingData"] == "breaching"
    assert alarm["Properties"]["ComparisonOperator"] == "LessThanThreshold"


@pytest.mark.parametrize(
    ("parameters", "actions"),
    [
        ({}, None),
        ({"AlarmEmail": "ops@example.com"}, [{"Ref": "AlarmTopic"}]),
        ({"AlarmTopicArn": "arn:aws:sns:us-east-1:111122223333:ops"}, ["arn:aws:sns:us-east-1:111122223333:ops"]),
        (
            {"AlarmEmail": "ops@example.com", "AlarmTopicArn": "arn:aws:sns:us-east-1:111122223333:ops"},
            ["arn:aws:sns:us-east-1:111122223333:ops"],
        ),
    ],
)
def test_alarms_notify_the_topic_asked_for_or_nobody(parameters: dict[str, str], actions: list[Any] | None) -> None:
    # GIVEN the transformed template and the alarm parameters
    template = transformed(*(f"{k}={v}" for k, v in parameters.items()))
    evaluate = Evaluate(template, **parameters)
    # WHEN each alarm's actions are evaluated
    for alarm in _alarms(template):
        got = evaluate(alarm["AlarmActions"])
        # THEN they are the given topic, the created one, or none at all
        assert (None if got == {"Ref": "AWS::NoValue"} else got) == actions
    # AND the topic is created only for an address without a topic of its own
    topic = template["Resources"].get("AlarmTopic")
    assert topic is not None and evaluate.condition(topic["Condition"]) == (actions == [{"Ref": "AlarmTopic"}])


def test_the_launcher_knows_the_launch_queue_s_last_delivery() -> None:
    # The acknowledgement gives up on the last delivery rather than send a launched request to
    # the dead-letter queue: the launcher's count must be the queue's.
    template = transformed()
    queue = template["Resources"]["LaunchQueue"]["Properties"]
    env = template["Resources"]["LauncherFunction"]["Properties"]["Environment"]["Variables"]
    assert int(env["LAUNCH_MAX_RECEIVES"]) == int(queue["RedrivePolicy"]["maxReceiveCount"])
    assert env["QUEUE_URL"] == {"Ref": "LaunchQueue"}


def test_the_launcher_may_do_on_the_launch_queue_what_its_handler_does() -> None:
    # Receive and delete (SQS's mapping), change visibility (a write slot's wait) and send (a
    # waiting acknowledgement is parked in a group of its own): moto checks no IAM, so this does.
    template = transformed()
    role_name = template["Resources"]["LauncherFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    role = template["Resources"][role_name]["Properties"]
    actions = {
        action
        for policy in role.get("Policies", [])
        if "PolicyDocument" in policy  # the others are the webhook secret's, behind a condition
        for statement in policy["PolicyDocument"]["Statement"]
        if "LaunchQueue" in json.dumps(statement.get("Resource"))
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    wanted = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:SendMessage"}
    assert wanted <= {a.removesuffix("*") for a in actions}, actions


def test_the_table_outlives_the_stack() -> None:
    table = transformed()["Resources"]["IntakeTable"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize(("tracing", "mode", "api"), [("Disabled", "PassThrough", False), ("Active", "Active", True)])
def test_tracing_is_off_unless_asked_for_and_then_on_everywhere(tracing: str, mode: str, api: bool) -> None:
    # GIVEN the transformed template with the Tracing parameter (Disabled by default)
    template = transformed(f"Tracing={tracing}")
    evaluate = Evaluate(template, Tracing=tracing)
    # WHEN each function's X-Ray mode, its INTAKE_TRACING and the API stage's tracing are evaluated
    for name in FUNCTIONS:
        properties = template["Resources"][name]["Properties"]
        assert evaluate(properties["TracingConfig"]["Mode"]) == mode
        assert evaluate(properties["Environment"]["Variables"]["INTAKE_TRACING"]) == tracing
    (stage,) = resources(template, "AWS::ApiGateway::Stage").values()
    # THEN all follow the one parameter
    assert evaluate(stage["Properties"]["TracingEnabled"]) is api
    assert template["Parameters"]["Tracing"]["Default"] == "Disabled"


@pytest.mark.parametrize(("parameters", "arch"), [({}, "arm64"), ({"Architecture": "x86_64"}, "x86_64")])
def test_every_function_runs_on_the_architecture_asked_for_with_the_layer_built_for_it(
    parameters: dict[str, str], arch: str
) -> None:
    # GIVEN the transformed template with the Architecture parameter (arm64 by default)
    template = transformed(*(f"{k}={v}" for k, v in parameters.items()))
    evaluate = Evaluate(template, **parameters)
    layers = resources(template, "AWS::Lambda::LayerVersion")
    # WHEN each function's architectures and layers are evaluated
    for name in FUNCTIONS:
        properties = template["Resources"][name]["Properties"]
        (layer,) = [layers[ref["Ref"]] for ref in evaluate(properties["Layers"])]
        # THEN the function runs on that architecture, with a layer created for it alone
        assert evaluate(properties["Architectures"]) == [arch]
        assert evaluate.condition(layer["Condition"])
        assert layer["Properties"]["CompatibleArchitectures"] == [arch]
    # AND the stack creates that one layer and not the other architecture's
    assert [
        layer["Properties"]["CompatibleArchitectures"]
        for layer in layers.values()
        if evaluate.condition(layer["Condition"])
    ] == [[arch]]
    assert template["Parameters"]["Architecture"]["Default"] == "arm64"


def test_the_api_function_has_a_reserve_of_its_own_beside_the_poller_s() -> None:
    # GIVEN the transformed template with its default parameters
    template = transformed()
    evaluate = Evaluate(template)
    functions = {name: template["Resources"][name]["Properties"] for name in FUNCTIONS}
    # WHEN the reserved concurrency of the API and of the poller are evaluated
    api = functions["ApiFunction"]["ReservedConcurrentExecutions"]
    poller = functions["PollerFunction"]["ReservedConcurrentExecutions"]
    # THEN the API's is a parameter of its own, 10 by default: a flood on the open status route is
    # throttled there, and the poller keeps its own reserve (GitHubMaxConcurrency)
    assert api == {"Ref": "ApiReservedConcurrency"} and poller == {"Ref": "GitHubMaxConcurrency"}
    assert (int(evaluate(api)), int(evaluate(poller))) == (10, 20)
    parameter = template["Parameters"]["ApiReservedConcurrency"]
    assert parameter["Type"] == "Number" and 1 <= parameter["MinValue"] <= 10 <= parameter["MaxValue"] <= 100
    assert "starve" in parameter["Description"]
    # AND both reserves together leave Lambda's default account limit (1,000) its 100 unreserved
    largest = int(template["Parameters"]["GitHubMaxConcurrency"]["MaxValue"]) + int(parameter["MaxValue"])
    assert largest <= 1000 - 100


@pytest.mark.parametrize("value", ["false", "true"])
def test_the_launcher_is_told_whether_to_log_whole_prompts(value: str) -> None:
    # GIVEN the transformed template with SessionLogPrompts set
    template = transformed(f"SessionLogPrompts={value}")
    env = template["Resources"]["LauncherFunction"]["Properties"]["Environment"]["Variables"]
    # WHEN the launcher's SESSION_LOG_PROMPTS is evaluated
    # THEN it is the parameter's value, and prompts stay out of the logs unless asked for
    assert Evaluate(template, SessionLogPrompts=value)(env["SESSION_LOG_PROMPTS"]) == value
    parameter = template["Parameters"]["SessionLogPrompts"]
    assert parameter["Default"] == "false" and sorted(parameter["AllowedValues"]) == ["false", "true"]


def _skips(resource: dict[str, Any]) -> dict[str, str]:
    return {s["id"]: s.get("comment", "") for s in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])}


def test_every_checkov_skip_in_the_template_gives_its_reason() -> None:
    # GIVEN the checkov findings template.yaml skips (`make checkov` fails on any other)
    written = {name: _skips(r) for name, r in load_template()["Resources"].items() if _skips(r)}
    assert written
    # WHEN their comments are read
    # THEN each skip says why, in a sentence
    for name, skips in written.items():
        for check, comment in skips.items():
            assert re.fullmatch(r"CKV_AWS_\d+", check), (name, check)
            assert len(comment) > 40 and comment.endswith("."), (name, check, comment)


def test_the_skips_reach_what_sam_makes_of_each_function_and_of_the_api_stage(tmp_path: Path) -> None:
    # GIVEN the skips written on the SAM resources of template.yaml
    written = load_template()["Resources"]
    # WHEN the template is expanded for checkov (`make checkov`)
    run = run_in_tools("for_checkov.py", str(REPO_ROOT / "template.yaml"), str(tmp_path / "template.json"))
    assert run.returncode == 0, run.stderr[-3000:]
    scanned = json.loads((tmp_path / "template.json").read_text())["Resources"]
    # THEN SAM carries each function's to the function it makes
    for name in FUNCTIONS:
        assert scanned[name]["Type"] == "AWS::Lambda::Function"
        assert _skips(scanned[name]) == _skips(written[name]) != {}, name
    # AND the API's reach the stage it deploys (SAM leaves them on the RestApi: the script copies them)
    (stage,) = [r for r in scanned.values() if r["Type"] == "AWS::ApiGateway::Stage"]
    assert stage["Properties"]["RestApiId"] == {"Ref": "IntakeApi"}
    assert _skips(stage) == _skips(written["IntakeApi"]) != {}
    # AND nothing but the stage's Metadata differs from the plain expansion
    del stage["Metadata"]
    assert scanned == transformed()["Resources"]
