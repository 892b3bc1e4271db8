"""(p) How many Jira projects one API token keeps at a one-minute cadence, what binds, and how
many one OAuth 2.0 (3LO) app's hourly points quota keeps.

The world of bench/jira_world.py: the real dispatcher and poll over the in-memory store, the real
`JiraTracker` against the loopback stand-in on a simulated clock, ticks a minute apart, every
search of a tick at its instant (the dispatcher invokes a tick's polls at once). API-token traffic
is subject to Jira's burst limit only (per second, per endpoint and method, for the whole site;
the stand-in's 100 POST a second, Atlassian publishing no figure), not to the points quota. A
token sustains N projects when, for `MINUTES` minutes: no 429 in the stand-in's log, no project
slowed, deferred or skipped for a paused credential, every project polled every minute.

The 3LO app: its points are read from the stand-in (`FakeJira.remaining`, the quota's hour
aligned to the clock hour; 1 point a request plus 1 for each issue, user or project it returns)
over the first clock hour of `OAUTH_PROJECTS` projects, the first polls and their reconcile
included; 65,000 over the points a project spends in that hour is what the quota sustains. It is
then checked on a scaled quota (the same points per project, a tenth of the projects' need less
or more), so the pacing's answer to a spent quota shows.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from intake_dev.fake_jira.limits import BURST_PER_SECOND, OAUTH_POINTS_PER_HOUR

from .jira_world import START, jira_world, key_of, searches
from .linear_world import longest_waits

TARGETS = {
    "throttled_at_sustained": 0,
    "starved_projects_one_more": 0,
    "sustained_projects_per_token": ">= 1",
    "sustained_checked": True,
    # An OAuth app's points, paced on Jira's quota headers, never run out before the hour's reset.
    "oauth_throttled_quota_short": 0,
    "oauth_throttled_quota_half": 0,
}
MINUTES = 12  # past the overlap's 10 minutes after the first polls moved the watermark
OAUTH_PROJECTS = 10
OAUTH_MINUTES = 61


def run_at(projects: int, *, minutes: int = MINUTES, tokens: int = 1, **options: Any) -> dict[str, Any]:
    with jira_world(projects, tokens=tokens, **options) as world:
        for _ in range(minutes):
            world.minute()
        log = world.jira.requests
        summaries = world.summaries
        polled = world.invoker.polled
    start = START.timestamp()
    found = searches(log)
    answered = [r for r in found if not r.throttled]
    throttled = [r for r in log if r.throttled]
    per_tick = Counter(int((r.at - start) // 60) for r in answered)
    # Each project's answered searches, by the project its JQL names (a 429 carries no JQL).
    answers = Counter(re.search(r'project = "(\w+)"', r.jql or "")[1] for r in answered if r.jql)  # type: ignore[index]
    never = [key_of(n) for n in range(projects) if answers[key_of(n)] == 0]
    waits = longest_waits(polled, projects, start, start + 60 * (minutes - 1) + 1)
    return {
        "projects": projects,
        "tokens": tokens,
        "minutes": minutes,
        "searches": len(answered),
        "other_requests": sum(1 for r in log if r not in found),
        "throttled": len(throttled),
        "throttled_reasons": dict(Counter(str(r.reason) for r in throttled)),
        "throttled_at_min": sorted({round((r.at - start) / 60, 1) for r in throttled}),
        "searches_per_minute": sorted(set(per_tick[m] for m in range(minutes))),
        "polls_per_minute_min": min(per_tick[m] for m in range(minutes)),
        "slowed_total": sum(s.slowed_busy for s in summaries),
        "deferred_total": sum(s.deferred for s in summaries),
        "skipped_paused_total": sum(s.skipped_budget for s in summaries),
        "max_wait_s": max(waits),
        "invoked_every_minute": min((len(v) for v in polled.values()), default=0) == minutes,
        "projects_never_answered": len(never),
        "projects_never_answered_keys": never[:5] + (["..."] if len(never) > 5 else []),
    }


def sustained(figures: dict[str, Any]) -> bool:
    return bool(
        figures["throttled"] == 0
        and figures["slowed_total"] == 0
        and figures["deferred_total"] == 0
        and figures["skipped_paused_total"] == 0
        and figures["polls_per_minute_min"] == figures["projects"]
        and figures["max_wait_s"] <= 60
        and figures["projects_never_answered"] == 0
    )


def oauth_hour(projects: int, minutes: int, points_per_hour: int | None = None) -> dict[str, Any]:
    """`projects` on one 3LO app: points spent in the first clock hour, 429s, polls."""
    with jira_world(projects, oauth=True, oauth_points_per_hour=points_per_hour) as world:
        for _ in range(minutes):
            world.minute()
        left = world.after_tick
        log = world.jira.requests
        summaries = world.summaries
    start = START.timestamp()
    quota = points_per_hour or OAUTH_POINTS_PER_HOUR
    throttled = [r for r in log if r.throttled]
    first_hour = min(60, minutes)
    return {
        "projects": projects,
        "minutes": minutes,
        "quota": quota,
        "points_spent_first_hour": quota - left[first_hour - 1],
        "searches_first_hour": sum(1 for r in searches(log) if not r.throttled and r.at < start + 3600),
        "requests_first_hour": sum(1 for r in log if not r.throttled and r.at < start + 3600),
        "throttled": len(throttled),
        "throttled_reasons": dict(Counter(str(r.reason) for r in throttled)),
        "throttled_at_min": sorted({round((r.at - start) / 60, 1) for r in throttled}),
        "skipped_paused_total": sum(s.skipped_budget for s in summaries),
        "points_left_after_tick": left,
    }


def run() -> dict[str, Any]:
    burst = BURST_PER_SECOND["POST"]
    at = run_at(burst)
    above = run_at(burst + 1)
    two_tokens = run_at(burst + 20, tokens=2)
    hour = oauth_hour(OAUTH_PROJECTS, OAUTH_MINUTES)
    per_project = hour["points_spent_first_hour"] / OAUTH_PROJECTS
    by_points = int(OAUTH_POINTS_PER_HOUR // per_project)
    # The same quota per project, scaled to ten projects: enough for 10, then for 9 (10 % short),
    # then for 5 (half): paced, the short quotas poll less often and are never refused.
    enough = oauth_hour(OAUTH_PROJECTS, OAUTH_MINUTES, hour["points_spent_first_hour"])
    short = oauth_hour(OAUTH_PROJECTS, OAUTH_MINUTES, int(hour["points_spent_first_hour"] * 0.9))
    half = oauth_hour(OAUTH_PROJECTS, OAUTH_MINUTES, int(hour["points_spent_first_hour"] * 0.5))
    return {
        "burst_per_second": dict(BURST_PER_SECOND),
        "at_burst": at,
        "one_more": above,
        "two_tokens_one_site": two_tokens,
        "binds": "burst (searches a second, per site)",
        "sustained_projects_per_token": burst if sustained(at) else 0,
        "sustained_checked": sustained(at) and not sustained(above),
        "throttled_at_sustained": at["throttled"],
        # A project over the burst limit should wait its turn, not be refused every minute.
        "starved_projects_one_more": above["projects_never_answered"],
        "oauth_hour": hour,
        "oauth_points_per_project_hour": round(per_project, 1),
        "oauth_sustained_projects_by_points": by_points,
        "oauth_scaled_quota_enough": enough,
        "oauth_scaled_quota_short": short,
        "oauth_scaled_quota_half": half,
        "oauth_throttled_quota_short": short["throttled"],
        "oauth_throttled_quota_half": half["throttled"],
        # Polls a project got in the first hour on a quota half what polling every minute takes.
        "oauth_searches_per_project_hour_half": round(half["searches_first_hour"] / OAUTH_PROJECTS, 1),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
