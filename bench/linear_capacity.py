"""(m) How many Linear projects one API key keeps at a one-minute cadence, and which bucket binds.

The world of bench/linear_world.py: the real dispatcher and poll over the in-memory store, the
real `LinearTracker` against the loopback stand-in at Linear's published limits for an API key
(1,500 requests and 250,000 complexity points an hour, leaky buckets), ticks a minute apart on a
simulated clock. Everything is read from the stand-in's request log: RATELIMITED answers, each
project's polls, and each answer's rate-limit headers (what is left in both buckets, and which
one binds as intake reads them).

A key sustains N projects when, over an hour and a minute (the hourly reconcile included): no
RATELIMITED answer, no project slowed or deferred by the dispatcher, every project polled every
minute, and the binding bucket no lower after the last tick than after the first (a bucket that
falls a little every minute is being used up, not sustained: the run says how fast). The
candidate is what the binding bucket refills a minute, in polls (requests: 1,500 / 60 = 25;
points: 250,000 / 60 / a query's points); it is checked, and so is one more. Beyond it, twice as
many projects show what the pacing does once the bucket's stock is spent.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from intake_dev.fake_linear.limits import API_KEY_COMPLEXITY, API_KEY_REQUESTS

from .linear_world import START, binding, graphql, linear_world, longest_waits, remaining

TARGETS = {"ratelimited_total": 0, "sustained_projects_per_key": ">= 1", "sustained_checked": True}
MINUTES = 61  # one tick past the hour: the first poll's reconcile comes round again
OVER_MINUTES = 60


def run_at(projects: int, minutes: int = MINUTES) -> dict[str, Any]:
    """`projects` one-team projects on one key, ticked `minutes` times a minute apart."""
    with linear_world(projects) as world:
        for _ in range(minutes):
            world.tick()
        log = graphql(world.linear.requests)
        summaries = world.summaries
    start = START.timestamp()
    answered = [r for r in log if not r.rate_limited]
    per_tick = Counter(int((r.at - start) // 60) for r in answered)
    last_of_tick = {int((r.at - start) // 60): r for r in answered}
    left = [remaining(last_of_tick[m]) for m in sorted(last_of_tick)]
    # The first tick's time to the last tick's: a project polled every tick waits 60 s at most.
    waits = longest_waits(world.invoker.polled, projects, start, start + 60 * (minutes - 1) + 1)
    return {
        "projects": projects,
        "minutes": minutes,
        "queries": len(answered),
        "ratelimited": sum(1 for r in log if r.rate_limited),
        "points_per_query": sorted({r.complexity or 0 for r in answered}),
        "points": sum(r.complexity or 0 for r in answered),
        "polls_per_minute_min": min(per_tick[m] for m in range(minutes)),
        "polls_per_minute_max": max(per_tick[m] for m in range(minutes)),
        "polls_per_minute": [per_tick[m] for m in range(minutes)],
        "slowed_total": sum(s.slowed_busy for s in summaries),
        "deferred_total": sum(s.deferred for s in summaries),
        "max_wait_s": max(waits),
        "requests_left_after_tick": {"first": left[0][0], "last": left[-1][0], "min": min(r for r, _ in left)},
        "points_left_after_tick": {"first": left[0][1], "last": left[-1][1], "min": min(p for _, p in left)},
        "requests_bucket_fall_per_minute": round((left[0][0] - left[-1][0]) / max(len(left) - 1, 1), 2),
        "binding_bucket": dict(Counter(str(binding(r)) for r in answered)),
    }


def sustained(figures: dict[str, Any]) -> bool:
    left = figures["requests_left_after_tick"]
    return bool(
        figures["ratelimited"] == 0
        and figures["slowed_total"] == 0
        and figures["deferred_total"] == 0
        and figures["polls_per_minute_min"] == figures["projects"]
        and figures["max_wait_s"] <= 60
        and left["last"] >= left["first"]
    )


def run() -> dict[str, Any]:
    probe = run_at(1, minutes=2)
    points = max(probe["points_per_query"])
    by_requests, by_points = API_KEY_REQUESTS // 60, API_KEY_COMPLEXITY // 60 // points
    candidate = min(by_requests, by_points)
    at = run_at(candidate)
    above = run_at(candidate + 1)
    over = run_at(2 * candidate, minutes=OVER_MINUTES)
    return {
        "limits": {"requests_per_hour": API_KEY_REQUESTS, "complexity_per_hour": API_KEY_COMPLEXITY},
        "points_per_query": points,
        "polls_a_minute_by_requests": by_requests,
        "polls_a_minute_by_points": by_points,
        "binds": "requests" if by_requests <= by_points else "complexity",
        "at_candidate": at,
        "one_more": above,
        "twice": over,
        "sustained_projects_per_key": candidate if sustained(at) else 0,
        "sustained_checked": sustained(at) and not sustained(above),
        "ratelimited_total": at["ratelimited"] + above["ratelimited"] + over["ratelimited"],
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
