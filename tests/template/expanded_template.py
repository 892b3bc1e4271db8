"""The template as SAM's transform expands it (`sam_transform.py`, run in `.tools`), and what the
tests read of it: resources by type, conditions evaluated for parameter values, a role's statements.
"""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from intake_dev.template import REPO_ROOT

TOOLS_PYTHON = REPO_ROOT / ".tools" / "bin" / "python"
FUNCTIONS = ("DispatcherFunction", "PollerFunction", "LauncherFunction", "ApiFunction")


def run_in_tools(script: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """One of this folder's scripts in SAM CLI's environment, where SAM's translator is."""
    assert TOOLS_PYTHON.exists(), "SAM CLI's environment is missing: make tools (make test installs it)"
    return subprocess.run(
        [str(TOOLS_PYTHON), str(Path(__file__).with_name(script)), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
        check=False,
    )


@cache
def transformed(*parameters: str) -> dict[str, Any]:
    run = run_in_tools("sam_transform.py", str(REPO_ROOT / "template.yaml"), *parameters)
    assert run.returncode == 0, run.stderr[-3000:]
    template: dict[str, Any] = json.loads(run.stdout)
    return template


class Evaluate:
    """CloudFormation's condition functions and Ref, for parameter values (else defaults)."""

    def __init__(self, template: dict[str, Any], **values: str) -> None:
        self.template = template
        defaults = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
        self.values = {**defaults, **values}

    def condition(self, name: str) -> bool:
        return bool(self(self.template["Conditions"][name]))

    def __call__(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((fn, arg),) = node.items()
            match fn:
                case "Ref":
                    return self.values.get(arg, {"Ref": arg})
                case "Condition":
                    return self.condition(arg)
                case "Fn::Equals":
                    return self(arg[0]) == self(arg[1])
                case "Fn::Not":
                    return not self(arg[0])
                case "Fn::And":
                    return all(self(a) for a in arg)
                case "Fn::Or":
                    return any(self(a) for a in arg)
                case "Fn::If":
                    return self(arg[1]) if self.condition(arg[0]) else self(arg[2])
        if isinstance(node, list):
            return [self(n) for n in node]
        return node


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def role_statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    """Every statement the function's role grants: its inline policies (both sides of an !If)
    and the stack's own managed policies it attaches."""
    role_name = template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    role = template["Resources"][role_name]["Properties"]

    def documents(entry: Any) -> list[dict[str, Any]]:
        if isinstance(entry, dict) and set(entry) == {"Fn::If"}:
            return [d for branch in entry["Fn::If"][1:] for d in documents(branch)]
        return [entry["PolicyDocument"]] if isinstance(entry, dict) and "PolicyDocument" in entry else []

    found = [d for entry in role.get("Policies", []) for d in documents(entry)]
    for arn in role.get("ManagedPolicyArns", []):
        own = template["Resources"].get(arn.get("Ref", "")) if isinstance(arn, dict) else None
        if own is not None:
            found.append(own["Properties"]["PolicyDocument"])
    return [statement for document in found for statement in document["Statement"]]
