"""The metrics the functions emit, read from their code (an `ast` scan, not a list kept by hand).

A metric is emitted by `metrics.add_metric(name, unit, value)` or `single_metric(name=...)`; its
name is a string, either of two (`a if x else b`), a value of a module-level dict of strings
(`_LAUNCH_METRICS[outcome]`), or a local variable assigned one of those in the same function. A
call whose name is none of these stops the scan, saying where.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from intake_dev.template import REPO_ROOT

SOURCES = (REPO_ROOT / "layers" / "intake" / "tracker_intake", REPO_ROOT / "functions")
FUNCTIONS = REPO_ROOT / "functions"
METRIC_CALLS = frozenset({"add_metric", "single_metric"})


class UnreadableMetric(Exception):
    """A metric call whose name the scan cannot tell: make it one of the forms above."""


@dataclass(frozen=True)
class EmittedMetric:
    name: str
    unit: str
    # The function whose body emits it (`record_poll`), and the Lambda functions that call that.
    recorder: str
    functions: tuple[str, ...]


def emitted_metrics(sources: tuple[Path, ...] = SOURCES, functions: Path = FUNCTIONS) -> list[EmittedMetric]:
    """Every metric name the code emits, once each, in the order the code emits them."""
    callers = _recorder_callers(functions)
    found: dict[str, EmittedMetric] = {}
    for path in sorted(p for source in sources for p in source.rglob("*.py")):
        for name, unit, recorder in _scan(path):
            own = (path.relative_to(functions).parts[0],) if path.is_relative_to(functions) else ()
            found.setdefault(name, EmittedMetric(name, unit, recorder, own or callers.get(recorder, ())))
    return list(found.values())


def _scan(path: Path) -> list[tuple[str, str, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    scan = _MetricCalls(path, _string_dicts(tree))
    scan.visit(tree)
    return scan.found


@dataclass
class _MetricCalls(ast.NodeVisitor):
    path: Path
    dicts: Mapping[str, list[str]]
    function: str = "<module>"
    local: Mapping[str, list[ast.expr]] = field(default_factory=dict)
    found: list[tuple[str, str, str]] = field(default_factory=list)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer = self.function, self.local
        self.function, self.local = node.name, _assignments(node)
        self.generic_visit(node)
        self.function, self.local = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        if _callee(node) in METRIC_CALLS:
            unit = _unit(_argument(node, 1, "unit"))
            for name in self._names(_argument(node, 0, "name"), node):
                self.found.append((name, unit, self.function))
        self.generic_visit(node)

    def _names(self, expr: ast.expr | None, call: ast.Call) -> list[str]:
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return [expr.value]
        if isinstance(expr, ast.IfExp):
            return self._names(expr.body, call) + self._names(expr.orelse, call)
        if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name) and expr.value.id in self.dicts:
            return list(self.dicts[expr.value.id])
        if isinstance(expr, ast.Name) and expr.id in self.local:
            return [name for value in self.local[expr.id] for name in self._names(value, call)]
        shown = self.path.relative_to(REPO_ROOT) if self.path.is_relative_to(REPO_ROOT) else self.path
        where = f"{shown}:{call.lineno}"
        raise UnreadableMetric(f"{where}: cannot tell the metric's name from {ast.unparse(call)[:80]}")


def _assignments(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, list[ast.expr]]:
    """The values the function assigns to each plain local name (`name = ...`)."""
    found: dict[str, list[ast.expr]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            found.setdefault(node.targets[0].id, []).append(node.value)
    return found


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[position] if len(call.args) > position else None


def _unit(expr: ast.expr | None) -> str:
    """`MetricUnit.Seconds` -> `Seconds`."""
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return ast.unparse(expr) if expr is not None else ""


def _string_dicts(tree: ast.Module) -> dict[str, list[str]]:
    """The module-level dicts whose values are all strings: name -> values."""
    found: dict[str, list[str]] = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        target = node.target if isinstance(node, ast.AnnAssign) else target
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(target, ast.Name) and isinstance(value, ast.Dict):
            values = [v.value for v in value.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
            if len(values) == len(value.values):
                found[target.id] = values
    return found


def _recorder_callers(functions: Path) -> dict[str, tuple[str, ...]]:
    """Which Lambda functions (their folders) call each function by name: `record_poll` -> (`poller`,)."""
    callers: dict[str, set[str]] = {}
    for app in sorted(functions.glob("*/app.py")):
        for name in _called_names(ast.parse(app.read_text(), filename=str(app))):
            callers.setdefault(name, set()).add(app.parent.name)
    return {name: tuple(sorted(folders)) for name, folders in callers.items()}


def _called_names(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            yield node.func.id
