"""The domain's modules import one another without a cycle (issue 27), counting every import:
those under `if TYPE_CHECKING:` and those inside functions too, since a cycle there is still
two modules that cannot be read one without the other."""

from __future__ import annotations

import ast
from pathlib import Path

import tracker_intake.domain

Graph = dict[str, set[str]]


def import_graph(package_dir: Path, package: str) -> Graph:
    """Each module of the package (by its short name) and the package's modules it imports."""
    modules = {path.stem for path in package_dir.glob("*.py") if path.stem != "__init__"}
    graph: Graph = {}
    for module in sorted(modules):
        tree = ast.parse((package_dir / f"{module}.py").read_text(encoding="utf-8"))
        graph[module] = {name for node in ast.walk(tree) for name in _imported(node, package, modules)}
        graph[module].discard(module)
    return graph


def _imported(node: ast.AST, package: str, modules: set[str]) -> set[str]:
    """The package's modules one import statement names (none for any other statement)."""
    if isinstance(node, ast.Import):
        return {_short(alias.name, package) for alias in node.names} & modules
    if not isinstance(node, ast.ImportFrom):
        return set()
    if node.level == 1:  # from .x import y, or from . import x
        base = node.module
    elif node.level == 0 and node.module is not None and (node.module + ".").startswith(package + "."):
        base = node.module[len(package) + 1 :] or None
    else:
        return set()  # another package (or a parent of this one)
    if base is None:
        return {alias.name for alias in node.names} & modules
    return {base.split(".")[0]} & modules


def _short(name: str, package: str) -> str:
    return name[len(package) + 1 :].split(".")[0] if name.startswith(package + ".") else ""


def find_cycle(graph: Graph) -> list[str] | None:
    """One cycle, as the modules along it with the first repeated at the end; None without one."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            if (cycle := visit(imported)) is not None:
                return cycle
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        if (cycle := visit(module)) is not None:
            return cycle
    return None


def test_the_domain_has_no_import_cycle() -> None:
    # GIVEN the domain package's import graph, TYPE_CHECKING and function-local imports included
    package_dir = Path(tracker_intake.domain.__file__).parent
    graph = import_graph(package_dir, "tracker_intake.domain")
    assert "ports" in graph and "records" in graph["ports"]  # the graph is read, not empty
    # WHEN a cycle is looked for
    cycle = find_cycle(graph)
    # THEN there is none
    assert cycle is None, "import cycle in tracker_intake.domain: " + " -> ".join(cycle or [])


def test_a_cycle_closed_under_type_checking_is_found(tmp_path: Path) -> None:
    # GIVEN a package whose modules a -> b -> c import one another, c importing a back only for types
    package_dir = tmp_path / "shapes"
    package_dir.mkdir()
    (package_dir / "__init__.py").write_text("")
    (package_dir / "a.py").write_text("from .b import B\n")
    (package_dir / "b.py").write_text("import shapes.c\n\nB = 1\n")
    (package_dir / "c.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from shapes.a import A\n"
    )
    (package_dir / "d.py").write_text("def late():\n    from . import a\n")
    # WHEN a cycle is looked for
    cycle = find_cycle(import_graph(package_dir, "shapes"))
    # THEN it is named, module by module
    assert cycle == ["a", "b", "c", "a"]


def test_a_function_local_import_counts(tmp_path: Path) -> None:
    # GIVEN two modules, one importing the other inside a function, the other importing it back
    package_dir = tmp_path / "shapes"
    package_dir.mkdir()
    (package_dir / "a.py").write_text("import os\nfrom .b import B\n")
    (package_dir / "b.py").write_text("B = 1\n\ndef late():\n    from . import a\n")
    # WHEN a cycle is looked for
    cycle = find_cycle(import_graph(package_dir, "shapes"))
    # THEN it is found
    assert cycle == ["a", "b", "a"]
