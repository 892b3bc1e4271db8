"""Runs the benchmarks, writes bench/results.json, prints a table.

    .venv/bin/python -m bench.run                 # every group (what `make bench` runs)
    .venv/bin/python -m bench.run rate_limit      # one group; the others in results.json stay

Each group in results.json carries the exact command that produced it, its targets, and the
machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from .common import RESULTS, fake_aws_env, machine

GROUPS = (
    "steady_state",
    "rate_limit",
    "fanout",
    "cold_import",
    "memory",
    "pacing",
    "claims",
    "durations",
    "credentials",
    "acknowledge",
    "pickup",
    "linear_steady_state",
    "linear_capacity",
    "linear_pickup",
    "jira_steady_state",
    "jira_capacity",
    "jira_pickup",
    "dashboard_first_load",
)


def _runner(group: str) -> tuple[Callable[[], dict[str, Any]], dict[str, Any]]:
    """The group's `run` and its targets (imported late: each module pulls in what it needs)."""
    if group == "steady_state":
        from . import steady_state as module
    elif group == "rate_limit":
        from . import rate_limit as module  # type: ignore[no-redef]
    elif group == "fanout":
        from . import fanout as module  # type: ignore[no-redef]
    elif group == "cold_import":
        from . import cold_import as module  # type: ignore[no-redef]
    elif group == "memory":
        from . import memory as module  # type: ignore[no-redef]
    elif group == "pacing":
        from . import pacing as module  # type: ignore[no-redef]
    elif group == "claims":
        from . import claims as module  # type: ignore[no-redef]
    elif group == "durations":
        from . import durations as module  # type: ignore[no-redef]
    elif group == "credentials":
        from . import credentials as module  # type: ignore[no-redef]
    elif group == "acknowledge":
        from . import acknowledge as module  # type: ignore[no-redef]
    elif group == "pickup":
        from . import pickup as module  # type: ignore[no-redef]
    elif group == "linear_steady_state":
        from . import linear_steady_state as module  # type: ignore[no-redef]
    elif group == "linear_capacity":
        from . import linear_capacity as module  # type: ignore[no-redef]
    elif group == "linear_pickup":
        from . import linear_pickup as module  # type: ignore[no-redef]
    elif group == "jira_steady_state":
        from . import jira_steady_state as module  # type: ignore[no-redef]
    elif group == "jira_capacity":
        from . import jira_capacity as module  # type: ignore[no-redef]
    elif group == "jira_pickup":
        from . import jira_pickup as module  # type: ignore[no-redef]
    elif group == "dashboard_first_load":
        from . import dashboard_first_load as module  # type: ignore[no-redef]
    else:
        raise ValueError(group)
    return module.run, dict(module.TARGETS)


def _meets(value: Any, target: Any) -> bool:
    """A number target is a maximum (equality for counts); a string is `<= x`, `< x` or `>= x`."""
    if isinstance(target, str):
        op, _, bound = target.partition(" ")
        if op == ">=":
            return bool(value >= float(bound))
        return bool(value <= float(bound) if op == "<=" else value < float(bound))
    return bool(value == target)


def measure(group: str) -> dict[str, Any]:
    run, targets = _runner(group)
    started = time.perf_counter()
    figures = run()
    figures["targets"] = targets
    figures["meets_targets"] = all(_meets(figures[key], target) for key, target in targets.items())
    figures["command"] = f".venv/bin/python -m bench.run {group}"
    figures["bench_seconds"] = round(time.perf_counter() - started, 1)
    figures["machine"] = machine()
    return figures


def table(results: dict[str, Any], groups: tuple[str, ...]) -> str:
    rows = [("group", "figure", "value", "target", "ok")]
    for group in groups:
        figures = results[group]
        for key, target in figures["targets"].items():
            ok = "yes" if _meets(figures[key], target) else "NO"
            rows.append((group, key, _show(figures[key]), _show(target), ok))
        for key in _EXTRA.get(group, ()):
            rows.append((group, key, _show(figures[key]), "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for group in groups:
        lines.append(f"{group}: {results[group]['command']}  ({results[group]['bench_seconds']} s)")
    return "\n".join(lines)


# Figures shown beside the targeted ones, to read them by.
_EXTRA = {
    "steady_state": ("member_warm_up_sessions", "member_kept_new_issue_sessions"),
    "rate_limit": ("steady_units", "steady_naive_units", "steady_ratio_vs_naive"),
    "fanout": ("projects", "credentials", "wall_s", "floor_s", "invokes_per_s", "index_read_s", "end_to_end_wall_s"),
    "pickup": ("outage_pickup_p95_today_s", "outage_pickup_p95_before_s"),
    "linear_steady_state": ("poll_complexity_points", "poll_writes_per_tick_mean", "bulk_poll_writes_per_tick_max"),
    "linear_capacity": ("points_per_query", "binds", "polls_a_minute_by_requests", "polls_a_minute_by_points"),
    "linear_pickup": (
        "pickup_p50_100_s",
        "pickup_p95_100_s",
        "pickup_p50_1000_s",
        "pickup_p95_1000_s",
        "ratelimited_one_key",
    ),
    "jira_steady_state": ("poll_writes_per_tick_mean", "bulk_requests_per_tick_mean"),
    "jira_capacity": (
        "binds",
        "oauth_points_per_project_hour",
        "oauth_sustained_projects_by_points",
        "oauth_searches_per_project_hour_half",
    ),
    "jira_pickup": ("pickup_p50_lag60_s", "pickup_p95_lag60_s", "pickup_p50_lag300_s", "pickup_p95_lag300_s"),
    "dashboard_first_load": ("first_row_p50_ms", "first_row_max_ms", "transfer_bytes", "api_requests"),
    "cold_import": ("ratio_vs_boto3", "boto3_ms", "api_ms", "api_first_get_ms"),
    "memory": ("rss_before_poll_mb", "pages"),
    "pacing": ("capacity_projects_at_600", "capacity_projects_at_900", "unpaced_refusals_total"),
    "claims": ("c_dynamodb_reads",),
    "durations": ("poll_ms", "poll_without_services_ms", "tick_ms", "tick_without_services_cpu_ms"),
    "acknowledge": ("launchers",),
    "credentials": (
        "sustained_projects_1_credential",
        "sustained_projects_4_credentials",
        "mint_ms_per_installation_hour_per_container",
    ),
}


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", metavar="group", help=f"any of {', '.join(GROUPS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; known: {', '.join(GROUPS)}")
    groups = tuple(args.groups) or GROUPS
    fake_aws_env()
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for group in groups:
        print(f"bench: {group} ...", flush=True)
        results[group] = measure(group)
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print()
    print(table(results, groups))
    print(f"\nwritten to {RESULTS.relative_to(RESULTS.parents[1])}")
    missed = [g for g in groups if not results[g]["meets_targets"]]
    if missed:
        print(f"targets missed: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
