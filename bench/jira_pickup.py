"""(q) Pickup latency of Jira projects with search lag: issue updated -> enqueued, p50 and p95, at
100 projects on one API token (what (p) found one token, and one site, sustains), with Jira's
search showing a change 60 s and 5 minutes after it is made.

The world of bench/jira_world.py on a simulated clock (no figure depends on the machine's speed):
the real dispatcher and poll, the real `JiraTracker` against the loopback stand-in with its
`search_lag_seconds`. Every project starts unpolled, as when a deployment's Jira projects are
switched on. From the first minute, 2 % of the projects a minute get a new matching issue at a
random moment of the minute (seeded; the clock is moved to that moment, so the lag runs from the
issue's `updated`); pickup runs from `updated` to the poll that enqueued it, and an issue still
waiting at the end counts as waiting until then.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from .jira_world import SEED, START, jira_world, searches
from .linear_world import longest_waits, quantiles

TARGETS = {"throttled_total": 0, "not_picked_up_total": 0}
PROJECTS = 100
NEW_ISSUE_SHARE = 0.02
MINUTES = 30
LAGS = (60, 300)


def simulate(lag: int, projects: int = PROJECTS, minutes: int = MINUTES) -> dict[str, Any]:
    rng = random.Random(SEED)
    with jira_world(projects, search_lag_s=lag) as world:
        for minute in range(minutes):
            if minute:
                world.minute(rng, NEW_ISSUE_SHARE)
            else:
                world.minute()
        end = world.clock.now().timestamp()
        log = searches(world.jira.requests)
        sent, opened, polled, summaries = world.queue.sent, world.opened, world.invoker.polled, world.summaries
    start = START.timestamp()
    # Issues opened in the last lag + 2 minutes cannot show in search yet: counted apart.
    due = {i: at for i, at in opened.items() if at <= end - lag - 120}
    waits = [sent.get(issue, end) - at for issue, at in due.items()]
    per_minute = Counter(int((r.at - start) // 60) for r in log if not r.throttled)
    return {
        "projects": projects,
        "search_lag_s": lag,
        "minutes": minutes,
        "issues_opened": len(opened),
        "issues_due": len(due),
        "issues_not_picked_up": sum(1 for i in due if i not in sent),
        "pickup_s": quantiles(waits),
        "searches": sum(per_minute.values()),
        "searches_per_minute": [per_minute[m] for m in range(minutes)],
        "throttled": sum(1 for r in log if r.throttled),
        "slowed_total": sum(s.slowed_busy for s in summaries),
        "skipped_paused_total": sum(s.skipped_budget for s in summaries),
        "longest_project_wait_s": max(longest_waits(polled, projects, start, end)),
    }


def run() -> dict[str, Any]:
    lag60, lag300 = (simulate(lag) for lag in LAGS)
    return {
        "lag_60": lag60,
        "lag_300": lag300,
        "pickup_p50_lag60_s": lag60["pickup_s"]["p50"],
        "pickup_p95_lag60_s": lag60["pickup_s"]["p95"],
        "pickup_p50_lag300_s": lag300["pickup_s"]["p50"],
        "pickup_p95_lag300_s": lag300["pickup_s"]["p95"],
        "throttled_total": lag60["throttled"] + lag300["throttled"],
        "not_picked_up_total": lag60["issues_not_picked_up"] + lag300["issues_not_picked_up"],
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
