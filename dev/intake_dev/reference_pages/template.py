"""The deployment's page, from template.yaml (parameters, outputs, alarms) and the metrics the code emits."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from intake_dev.template import load_template
from tracker_intake.metrics_catalog import METRICS

from .markdown import cell, code, generated, heading, page, table
from .metrics import EmittedMetric, emitted_metrics

Resource = Mapping[str, Any]
ALARM = "AWS::CloudWatch::Alarm"
_COMPARISONS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


class MetricWithoutMeaning(Exception):
    """The code emits a metric the catalog (tracker_intake/metrics_catalog.py) does not explain."""


def template_page(template: Resource | None = None, metrics: list[EmittedMetric] | None = None) -> str:
    template = load_template() if template is None else template
    metrics = emitted_metrics() if metrics is None else metrics
    return page(
        "# Parameters, metrics and alarms\n",
        generated(
            "`template.yaml` (its parameters, outputs and alarms) and from the code that emits the metrics (read "
            "by `intake_dev.reference_pages.metrics`, explained by `tracker_intake.metrics_catalog`)"
        ),
        heading(2, "Parameters", "parameters"),
        "Set at deploy time: `sam deploy --parameter-overrides Name=value` (or `sam deploy --guided`, which asks).",
        _parameters(template.get("Parameters", {})),
        heading(2, "Outputs", "outputs"),
        "What the stack answers with (`aws cloudformation describe-stacks`).",
        _outputs(template.get("Outputs", {})),
        heading(2, "Alarms", "alarms"),
        "Each alarm notifies the topic `AlarmTopicArn` names, or the one `AlarmEmail` creates, or nobody.",
        _alarms(template.get("Resources", {})),
        heading(2, "Metrics", "metrics"),
        _metrics_intro(template),
        _metrics(metrics),
    )


def _parameters(parameters: Mapping[str, Resource]) -> str:
    rows = [
        [code(name), str(p.get("Type", "")), _default(p), _allowed(p), cell(str(p.get("Description", "")))]
        for name, p in parameters.items()
    ]
    return table(["parameter", "type", "default", "allowed", "description"], rows)


def _default(parameter: Resource) -> str:
    if "Default" not in parameter:
        return "required"
    value = parameter["Default"]
    return "empty" if value == "" else code(str(value))


def _allowed(parameter: Resource) -> str:
    pieces = []
    if "AllowedValues" in parameter:
        pieces.append(", ".join(code(str(value)) for value in parameter["AllowedValues"]))
    if "AllowedPattern" in parameter:
        pieces.append(f"pattern {code(str(parameter['AllowedPattern']))}")
    low, high = parameter.get("MinValue"), parameter.get("MaxValue")
    if low is not None or high is not None:
        pieces.append(f"{'' if low is None else low}-{'' if high is None else high}")
    return "; ".join(pieces)


def _outputs(outputs: Mapping[str, Resource]) -> str:
    rows = [[code(name), cfn_text(o.get("Value")), cell(str(o.get("Description", "")))] for name, o in outputs.items()]
    return table(["output", "value", "description"], rows)


def cfn_text(value: Any) -> str:
    """A template value as written in YAML's short form: `!Ref X`, `!GetAtt X.Y`, `!Sub ...`."""
    if isinstance(value, Mapping) and len(value) == 1:
        (key, inner), *_ = value.items()
        if key == "Ref":
            return code(f"!Ref {inner}")
        if key == "Fn::GetAtt":
            return code(f"!GetAtt {'.'.join(map(str, inner))}")
        if key == "Fn::Sub":
            return code(f"!Sub {inner if isinstance(inner, str) else inner[0]}")
    return code(value if isinstance(value, str) else json.dumps(value))


def alarms(resources: Mapping[str, Resource]) -> dict[str, Resource]:
    """The template's CloudWatch alarms: logical id -> properties."""
    return {name: r.get("Properties", {}) for name, r in resources.items() if r.get("Type") == ALARM}


def _alarms(resources: Mapping[str, Resource]) -> str:
    rows = [
        [code(name), _alarm_metric(p), _condition(p), cell(str(p.get("AlarmDescription", "")))]
        for name, p in alarms(resources).items()
    ]
    return table(["alarm", "metric", "fires when", "description"], rows)


def _alarm_metric(alarm: Resource) -> str:
    if "MetricName" not in alarm:
        return "metric math: " + ", ".join(
            code(str(m.get("Expression", m.get("Id")))) for m in alarm.get("Metrics", [])
        )
    dimensions = [f"{d['Name']}={_plain(d['Value'])}" for d in alarm.get("Dimensions", [])]
    name = f"{code(alarm['MetricName'])} in {code(str(alarm.get('Namespace', '')))}"
    return name + (f", {code(', '.join(dimensions))}" if dimensions else "")


def _plain(value: Any) -> str:
    return cfn_text(value).strip("`").removeprefix("!Ref ").removeprefix("!GetAtt ")


def _condition(alarm: Resource) -> str:
    statistic = alarm.get("Statistic") or alarm.get("ExtendedStatistic", "")
    comparison = _COMPARISONS.get(str(alarm.get("ComparisonOperator")), str(alarm.get("ComparisonOperator", "")))
    periods, needed = alarm.get("EvaluationPeriods", 1), alarm.get("DatapointsToAlarm")
    text = f"{statistic} {comparison} {alarm.get('Threshold', '')} over {alarm.get('Period', '')} s"
    if int(periods) > 1:
        text += f", {needed or periods} of {periods} periods"
    missing = alarm.get("TreatMissingData")
    return cell(text + (f"; missing data: {missing}" if missing else ""))


def _metrics_intro(template: Resource) -> str:
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    namespace, service = variables.get("POWERTOOLS_METRICS_NAMESPACE"), variables.get("POWERTOOLS_SERVICE_NAME")
    return (
        f"The functions publish these in the namespace {code(str(namespace))}, each with the dimension "
        f"{code(f'service={service}')} (Powertools, in the embedded metric format of their logs). The list is "
        "read from the code that emits them, so it names every metric the functions publish."
    )


def _metrics(metrics: list[EmittedMetric]) -> str:
    missing = [m.name for m in metrics if m.name not in METRICS]
    if missing:
        raise MetricWithoutMeaning(f"add to tracker_intake/metrics_catalog.py what these mean: {', '.join(missing)}")
    rows = [[code(m.name), m.unit, ", ".join(m.functions), cell(METRICS[m.name]), code(m.recorder)] for m in metrics]
    return table(["metric", "unit", "function", "meaning", "emitted in"], rows)
