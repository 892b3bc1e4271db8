"""(d) Cold-start import time of each handler module, against a bare `import boto3`, same run.

Each import runs in a fresh Python process whose environment holds only AWS_DEFAULT_REGION
and the function's environment variables from template.yaml (parameters at their defaults,
resources as placeholder names), from the function's own folder as Lambda does (`import app`).
A socket guard in that process refuses any connection or name lookup, so an import that tries
the network is counted (and fails). The figure is the median of several rounds, interleaved;
one unmeasured round first writes the bytecode caches, as a deployed package ships them.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path
from typing import Any

from intake_dev.template import REPO_ROOT, load_template

from .common import PYTHON

TARGETS = {"ratio_vs_boto3": "<= 1.5", "network_calls": 0}
HANDLERS = ("dispatcher", "poller", "launcher", "api")
ROUNDS = 9
REGION = "us-east-1"
ACCOUNT = "123456789012"

_PROBE = r"""
import json, socket, sys, time

attempts = []

def refuse(*args, **kwargs):
    attempts.append(repr(args[1:2]))
    raise OSError("network call at import time")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
started = time.perf_counter()
error = None
try:
    __import__(sys.argv[1])
except Exception as e:
    error = f"{type(e).__name__}: {e}"
ms = (time.perf_counter() - started) * 1000
print(json.dumps({"ms": ms, "network_calls": len(attempts), "error": error, "modules": len(sys.modules)}))
"""


def function_env(handler: str) -> dict[str, str]:
    """The function's environment as Lambda would set it: Globals, then the function's own."""
    template = load_template()
    resources = template["Resources"]
    logical_id = next(
        name
        for name, res in resources.items()
        if res["Type"] == "AWS::Serverless::Function" and res["Properties"].get("CodeUri") == f"functions/{handler}"
    )
    variables = {
        **template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}),
        **resources[logical_id]["Properties"].get("Environment", {}).get("Variables", {}),
    }
    return {name: _resolve(value, template) for name, value in variables.items()}


def _resolve(value: Any, template: dict[str, Any]) -> str:
    if not isinstance(value, dict):
        return str(value)
    if "Ref" in value:
        name = value["Ref"]
        parameter = template.get("Parameters", {}).get(name)
        if parameter is not None:
            if "Default" in parameter:
                return str(parameter["Default"])
            return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}"  # the one required parameter
        kind = template["Resources"][name]["Type"]
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/intake-{name}.fifo"
        return f"intake-{name}"
    return "placeholder"


def probe(module: str, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, "-c", _PROBE, module], cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=120
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def heaviest_imports(handler: str, count: int = 8) -> list[tuple[str, float]]:
    """What `import app` spends its time on: its direct imports by cumulative ms (-X importtime)."""
    env = {"AWS_DEFAULT_REGION": REGION, **function_env(handler)}
    done = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", "import app"],
        cwd=REPO_ROOT / "functions" / handler,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        name = name[1:]  # the space after the bar; then two spaces per level of nesting
        if not cumulative.strip().isdigit():
            continue
        # Depth 1 (two spaces): what app.py itself imports; the rest is nested under those.
        if name.startswith("  ") and not name.startswith("   "):
            rows.append((name.strip(), int(cumulative) / 1000))
    return sorted(rows, key=lambda row: -row[1])[:count]


def run() -> dict[str, Any]:
    targets: dict[str, tuple[str, Path, dict[str, str]]] = {
        handler: ("app", REPO_ROOT / "functions" / handler, {"AWS_DEFAULT_REGION": REGION, **function_env(handler)})
        for handler in HANDLERS
    }
    targets["boto3"] = ("boto3", REPO_ROOT, {"AWS_DEFAULT_REGION": REGION})
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    for round_ in range(ROUNDS + 1):
        for name, (module, cwd, env) in targets.items():
            result = probe(module, cwd, env)
            if result["error"]:
                raise RuntimeError(f"importing {name} failed: {result['error']}")
            if round_:  # round 0 writes the bytecode caches
                samples[name].append(result)
    medians = {name: statistics.median(s["ms"] for s in runs) for name, runs in samples.items()}
    slowest = max(HANDLERS, key=lambda h: medians[h])
    figures: dict[str, Any] = {f"{h}_ms": round(medians[h], 1) for h in HANDLERS}
    figures.update(
        {
            "boto3_ms": round(medians["boto3"], 1),
            "ratio_vs_boto3": round(medians[slowest] / medians["boto3"], 3),
            "slowest_handler": slowest,
            "network_calls": sum(s["network_calls"] for runs in samples.values() for s in runs),
            "modules_loaded": {name: runs[0]["modules"] for name, runs in samples.items()},
            "rounds": ROUNDS,
            "heaviest_imports": {h: heaviest_imports(h) for h in HANDLERS},
            "env": {h: sorted(targets[h][2]) for h in HANDLERS},
            "path": "fresh `python -c` per import, cwd functions/<name>, env = AWS_DEFAULT_REGION + the "
            "template's variables, sockets refused; median of the rounds",
        }
    )
    return figures
