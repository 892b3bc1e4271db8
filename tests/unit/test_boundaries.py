"""The rooms' walls, as checks: who may import whom (every import statement, top level or not).

- the domain imports no adapter, no API, no boto3, botocore or requests;
- what Lambda runs (the layer and the handlers) imports neither the CLI nor the development package,
  nor moto or PyYAML;
- the shipped CLI imports no development package (it names `intake_dev` only as a string, to
  offer `local` and `demo` when a checkout provides it).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "intake" / "tracker_intake"


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in the file; relative imports resolved against its package."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _package_of(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield node.lineno, module


def _package_of(path: Path) -> str:
    for root in (ROOT / "layers" / "intake", ROOT / "cli", ROOT / "dev"):
        if root in path.parents:
            return ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    return ""


def violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in files:
        for line, module in imports(path):
            if any(module == name or module.startswith(name + ".") for name in forbidden):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return found


def python_files(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*.py"))


def test_the_domain_imports_no_adapter_api_or_io_library() -> None:
    forbidden = ("tracker_intake.adapters", "tracker_intake.api", "tracker_intake.wiring", "boto3", "botocore")
    assert violations(python_files(LAYER / "domain"), (*forbidden, "requests")) == []


def test_what_lambda_runs_imports_neither_the_cli_nor_the_development_package() -> None:
    files = python_files(LAYER, ROOT / "functions")
    assert violations(files, ("intake_cli", "intake_dev", "moto", "yaml", "pytest")) == []


def test_the_shipped_cli_imports_no_development_package() -> None:
    assert violations(python_files(ROOT / "cli"), ("intake_dev", "moto", "yaml", "pytest")) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import boto3\n", ["boto3"]),
        ("def f():\n    from ..adapters import dynamodb\n", ["tracker_intake.adapters"]),
        ("from tracker_intake.domain import poll\n", ["tracker_intake.domain"]),
    ],
)
def test_the_check_sees_top_level_nested_and_relative_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, expected: list[str]
) -> None:
    # GIVEN a module inside the domain package with one import (written to a scratch copy)
    fake_root = tmp_path / "layers" / "intake" / "tracker_intake" / "domain"
    fake_root.mkdir(parents=True)
    module = fake_root / "probe.py"
    module.write_text(source)
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    # WHEN its imports are read THEN the import is seen, resolved to its absolute name
    seen = [name for _, name in imports(module)]
    assert any(name.startswith(expected[0]) for name in seen), seen
