"""`make mutation`'s score: mutmut's results per module, untested mutants counted as survivors and
the equivalent mutants listed in `tests/unit/mutation_equivalents.toml` set aside.

    python -m intake_dev.mutation_score MUTANTS_DIR EQUIVALENTS [--minimum PERCENT]

Each equivalent names its mutant and the line as the mutant has it: a list that no longer matches
the mutants (renumbered after an edit, or a mutant now killed) fails the run, rather than setting
aside a mutant nobody has read.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from mutmut.stats import status_by_exit_code

# A mutant the tests noticed. A timeout counts: the mutant made the code loop or stall.
CAUGHT = frozenset({"killed", "timeout", "caught by type check"})


@dataclass(frozen=True)
class Equivalent:
    mutant: str
    line: str
    reason: str


@dataclass
class ModuleScore:
    module: str
    statuses: dict[str, str]  # mutant -> mutmut's status
    equivalent: frozenset[str]

    @property
    def total(self) -> int:
        return len(self.statuses)

    @property
    def killed(self) -> int:
        return sum(1 for s in self.statuses.values() if s in CAUGHT)

    @property
    def untested(self) -> int:
        return sum(1 for m, s in self.statuses.items() if s == "no tests" and m not in self.equivalent)

    @property
    def survivors(self) -> list[str]:
        return sorted(m for m, s in self.statuses.items() if s not in CAUGHT and m not in self.equivalent)

    @property
    def score(self) -> float:
        counted = self.total - len(self.equivalent)
        return 100.0 * self.killed / counted if counted else 100.0


def load_results(mutants_dir: Path) -> dict[str, dict[str, str]]:
    """Each mutated module's mutants and their status, from mutmut's `.meta` files."""
    results: dict[str, dict[str, str]] = {}
    for meta in sorted(mutants_dir.rglob("*.py.meta")):
        module = ".".join(meta.relative_to(mutants_dir).with_suffix("").with_suffix("").parts)
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        results[module] = {name: status_by_exit_code[code] for name, code in codes.items()}
    return results


def load_equivalents(path: Path) -> list[Equivalent]:
    entries = tomllib.loads(path.read_text())["equivalent"]
    return [Equivalent(e["mutant"], e["line"], e["reason"]) for e in entries]


def _function_source(mutants_dir: Path, module: str, function: str) -> str | None:
    """The source of one function of a mutated module (`x_name__mutmut_3`, or a method's
    `xǁClassǁname__mutmut_3`) as mutmut wrote it."""
    path = mutants_dir / Path(*module.split(".")).with_suffix(".py")
    source = path.read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return ast.get_source_segment(source, node)
    return None


def check_equivalent(mutants_dir: Path, results: dict[str, dict[str, str]], eq: Equivalent) -> str | None:
    """Why the entry does not set its mutant aside (None: it does)."""
    module, _, function = eq.mutant.rpartition(".")
    status = results.get(module, {}).get(eq.mutant)
    if status is None:
        return "no such mutant"
    if status in CAUGHT:
        return f"the tests now catch it ({status}): remove it from the list"
    mutated = _function_source(mutants_dir, module, function)
    original = _function_source(mutants_dir, module, function.rpartition("__mutmut_")[0] + "__mutmut_orig")
    line = " ".join(eq.line.split())

    def has(src: str | None) -> bool:
        return src is not None and any(" ".join(s.split()) == line for s in src.splitlines())

    if not has(mutated) or has(original):
        return f"its mutated line is no longer {eq.line!r} (renumbered?): read it again with mutmut show"
    return None


def unselected_tests(pyproject: Path, tests_dir: Path, modules: set[str]) -> list[str]:
    """The test files that import a mutated module but that mutmut does not run (its
    `pytest_add_cli_args_test_selection`): the kills they would add are missing from the score."""
    selection = tomllib.loads(pyproject.read_text())["tool"]["mutmut"]["pytest_add_cli_args_test_selection"]
    missing = []
    for path in sorted(tests_dir.glob("test_*.py")):
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        if imported & modules and path.as_posix() not in selection:
            missing.append(path.as_posix())
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("mutants_dir", type=Path, help="mutmut's mutants/ folder, after mutmut run")
    parser.add_argument("equivalents", type=Path, help="the equivalent mutants set aside (TOML)")
    parser.add_argument("--minimum", type=float, default=90.0, help="the lowest score a module may have, in percent")
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"), help="where [tool.mutmut] is")
    parser.add_argument("--tests", type=Path, default=Path("tests/unit"), help="the tests mutmut should run")
    args = parser.parse_args(argv)

    results = load_results(args.mutants_dir)
    if not results:
        print(f"no mutmut results in {args.mutants_dir}: run mutmut first", file=sys.stderr)
        return 2
    unchecked = [m for statuses in results.values() for m, s in statuses.items() if s == "not checked"]
    if unchecked:
        print(f"{len(unchecked)} mutants not checked (an interrupted run?), e.g. {unchecked[0]}", file=sys.stderr)
        return 2

    equivalents = load_equivalents(args.equivalents)
    problems = [(eq, check_equivalent(args.mutants_dir, results, eq)) for eq in equivalents]
    stale = [(eq, why) for eq, why in problems if why is not None]
    for eq, why in stale:
        print(f"{args.equivalents}: {eq.mutant}: {why}", file=sys.stderr)

    scores = [
        ModuleScore(module, statuses, frozenset(eq.mutant for eq in equivalents if eq.mutant in statuses))
        for module, statuses in results.items()
    ]
    print(f"{'module':<32} {'killed':>7} {'total':>6} {'untested':>9} {'equivalent':>11} {'score':>8}")
    for s in scores:
        print(f"{s.module:<32} {s.killed:>7} {s.total:>6} {s.untested:>9} {len(s.equivalent):>11} {s.score:>7.1f}%")
    survivors = [m for s in scores for m in s.survivors]
    if survivors:
        kinds = Counter(results[m.rpartition(".")[0]][m] for m in survivors)
        print(f"\n{len(survivors)} not caught ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}):")
        for mutant in survivors:
            print(f"  {mutant}")
    for path in unselected_tests(args.pyproject, args.tests, set(results)):
        print(f"note: {path} imports a mutated module, but mutmut does not run it: add it to [tool.mutmut]")
    low = [s for s in scores if s.score < args.minimum]
    for s in low:
        print(f"{s.module}: {s.score:.1f}% is under {args.minimum:g}%", file=sys.stderr)
    return 1 if low or stale else 0


if __name__ == "__main__":
    sys.exit(main())
