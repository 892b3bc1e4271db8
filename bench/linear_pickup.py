"""(n) Pickup latency of Linear projects: issue opened -> enqueued, p50 and p95, at 100 and 1,000
projects on one API key, and at 100 over four keys of four users (25 each: what (m) found one key
sustains at a minute's cadence).

The world of bench/linear_world.py on a simulated clock (no figure depends on the machine's
speed): the real dispatcher and poll, the real `LinearTracker` against the loopback stand-in at
Linear's published API-key limits. Every project starts unpolled with a full key, as a deployment
does when its Linear projects are switched on. From the first minute, 0.2 % of the projects a
minute (at least one) get a new matching issue at a random moment of the minute before the tick
(seeded); pickup is from the issue's `updatedAt` to the poll that enqueued it. An issue not
picked up by the end counts as waiting until then, so a starved project shows.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .linear_world import SEED, START, graphql, linear_world, longest_waits, quantiles

TARGETS = {"ratelimited_keyed": 0, "keyed_pickup_p95_s": "<= 60"}
NEW_ISSUE_SHARE = 0.002
MINUTES = 90
KEYED_MINUTES = 30


@dataclass(frozen=True)
class Scenario:
    projects: int
    keys: int = 1
    minutes: int = MINUTES


SCENARIOS = (Scenario(100), Scenario(1000), Scenario(100, keys=4, minutes=KEYED_MINUTES))


def simulate(scenario: Scenario) -> dict[str, Any]:
    rng = random.Random(SEED)
    with linear_world(scenario.projects, scenario.keys) as world:
        for minute in range(scenario.minutes):
            if minute:
                world.open_issues(rng, NEW_ISSUE_SHARE)
            world.tick()
        end = world.clock.now().timestamp()
        log = graphql(world.linear.requests)
        sent, opened, polled, summaries = world.queue.sent, world.opened, world.invoker.polled, world.summaries
    start = START.timestamp()
    waits = [sent.get(issue, end) - at for issue, at in opened.items()]
    per_minute = Counter(int((r.at - start) // 60) for r in log if not r.rate_limited)
    limited = [r for r in log if r.rate_limited]
    idle = [m for m in range(scenario.minutes) if per_minute[m] == 0]
    return {
        "projects": scenario.projects,
        "keys": scenario.keys,
        "minutes": scenario.minutes,
        "issues_opened": len(opened),
        "issues_not_picked_up": sum(1 for i in opened if i not in sent),
        "pickup_s": quantiles(waits),
        "queries": sum(per_minute.values()),
        "polls_per_minute": [per_minute[m] for m in range(scenario.minutes)],
        "ratelimited": len(limited),
        "ratelimited_at_min": [round((r.at - start) / 60, 1) for r in limited],
        "minutes_without_a_poll": len(idle),
        "first_minute_without_a_poll": idle[0] if idle else None,
        "slowed_total": sum(s.slowed_busy for s in summaries),
        "skipped_paused_total": sum(s.skipped_budget for s in summaries),
        "longest_project_wait_s": max(longest_waits(polled, scenario.projects, start, end)),
    }


def run() -> dict[str, Any]:
    one_key_100, one_key_1000, keyed = (simulate(s) for s in SCENARIOS)
    return {
        "one_key_100": one_key_100,
        "one_key_1000": one_key_1000,
        "four_keys_100": keyed,
        "pickup_p50_100_s": one_key_100["pickup_s"]["p50"],
        "pickup_p95_100_s": one_key_100["pickup_s"]["p95"],
        "pickup_p50_1000_s": one_key_1000["pickup_s"]["p50"],
        "pickup_p95_1000_s": one_key_1000["pickup_s"]["p95"],
        "keyed_pickup_p95_s": keyed["pickup_s"]["p95"],
        "ratelimited_one_key": one_key_100["ratelimited"] + one_key_1000["ratelimited"],
        "ratelimited_keyed": keyed["ratelimited"],
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
