"""(r) The dashboard's weight and its first load: the committed bundle gzipped against its budget
(dashboard/budget.json), and a project page with 1,000 sessions opened cold in Chromium.

The local stack (`intake local --offline`'s parts: the real handlers on moto, on loopback) serves
the committed bundle and the API. One project is created through the API and 1,000 claims are
put in its ledger (launched, backlog, failed and released, claimed over 30 days). Each load is a
new Chromium (Debian's, headless, a fresh profile, the cache disabled too) with a 1400x1000
window. Before the page loads, a MutationObserver is installed (CDP
`Page.addScriptToEvaluateOnNewDocument`) that records `performance.now()` (milliseconds since
the navigation started) when the first row of the sessions table is in the document. Once the
page has made no request for a while, its resource entries give the bytes it fetched and the API
requests it made to show the 1,000 sessions.
"""

from __future__ import annotations

import gzip
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

from intake_dev.chromium import driver as chromium_driver
from intake_dev.template import REPO_ROOT

BUDGET = json.loads((REPO_ROOT / "dashboard" / "budget.json").read_text(encoding="utf-8"))
ASSETS = REPO_ROOT / "cli" / "intake_cli" / "web" / "assets"
SESSIONS = 1000
LOADS = 5
PROJECT = "first-load"
# The first row of the sessions table, as the dashboard renders it (dashboard/src/SessionsTable.tsx).
FIRST_ROW = 'table[aria-label="Sessions"] tbody tr'
# Counts, so the targets do not depend on the machine (the times are reported, not targeted): the
# bundle within its budget, every session read, and the first row shown once the first page of
# sessions is in (a page that waits for all of them makes the first row wait for the slowest).
TARGETS = {
    "js_gzip_kb": f"<= {BUDGET['jsGzipKB']}",
    "css_gzip_kb": f"<= {BUDGET['cssGzipKB']}",
    "sessions_fetched": SESSIONS,
    "sessions_requests_before_first_row": 1,
}
# Quiet this long after the first row: the page has fetched what it shows (it polls every 15 s).
SETTLED_S = 2.0

_OBSERVER = """
(() => {
  const selector = %s;
  const seen = () => {
    if (window.__firstRowMs === undefined && document.querySelector(selector)) {
      window.__firstRowMs = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(seen);
  observer.observe(document, { childList: true, subtree: true });
})();
"""

_RESOURCES = """
const entries = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")];
return entries.map(e => ({name: e.name, type: e.initiatorType, transfer: e.transferSize, body: e.encodedBodySize,
                          start: e.startTime, end: e.responseEnd}));
"""


def gzip_kb(kind: str) -> float:
    paths = sorted(ASSETS.glob(f"*.{kind}"))
    return round(sum(len(gzip.compress(p.read_bytes(), compresslevel=9)) for p in paths) / 1000, 1)


@contextmanager
def _stack() -> Iterator[Any]:
    from intake_dev.local import LocalOptions, running

    with (
        tempfile.TemporaryDirectory(prefix="bench-first-load-") as scratch,
        running(LocalOptions(port=0, aws_port=0, offline=True, log_file=Path(scratch) / "local.log")) as local,
    ):
        yield local


def seed(stack: Any, count: int = SESSIONS) -> None:
    """A GitHub project with intake on, and `count` claims in its ledger, put as a poll puts them."""
    from tracker_intake.adapters.dynamodb import DynamoLedger, DynamoTable
    from tracker_intake.domain.records import Claim, ClaimStatus, IssueSnapshot

    project = {
        "id": PROJECT,
        "name": "First load",
        "gitOrigin": "git@github.com:acme/widgets.git",
        "trackerIntake": {"enabled": True, "repo": "acme/widgets", "labels": ["agent"]},
    }
    requests.post(f"{stack.api_url}/projects", json=project, timeout=10).raise_for_status()
    ledger = DynamoLedger(DynamoTable(stack.resources["table_name"], client=stack.dynamodb))
    now = datetime.now(UTC).replace(microsecond=0)
    statuses = [ClaimStatus.LAUNCHED] * 7 + [ClaimStatus.BACKLOG, ClaimStatus.FAILED, ClaimStatus.RELEASED]
    for n in range(1, count + 1):
        claimed = now - timedelta(minutes=43 * n)  # about 30 days for 1,000, newest first
        url = f"https://github.com/acme/widgets/issues/{n}"
        status = statuses[n % len(statuses)]
        launched = status is ClaimStatus.LAUNCHED
        title = f"Issue {n}: fix the widget's {('frobnicator', 'gasket', 'sprocket')[n % 3]}"
        created = (claimed - timedelta(days=3)).isoformat()
        updated = (claimed - timedelta(seconds=20 + n % 90)).isoformat()  # picked up 20 to 110 s later
        issue = IssueSnapshot(n, title, url, ("agent",), (), "", created, updated_at=updated)
        claim = Claim(
            canonical_id=f"github:acme/widgets#{n}",
            project_id=PROJECT,
            status=status,
            claim_token=f"token-{n}",
            claimed_at=claimed,
            issue=issue,
            updated_at=claimed + timedelta(seconds=5),
            session_ref=f"session-{n}" if launched else None,
            reason="the backend refused the launch" if status is ClaimStatus.FAILED else None,
        )
        assert ledger.put_claim(claim), claim.canonical_id


def cold_load(stack: Any, selector: str = FIRST_ROW) -> dict[str, Any]:
    """One load in a new browser: ms to the first row, and what the page fetched once settled."""
    driver = chromium_driver(1400, 1000)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _OBSERVER % json.dumps(selector)})
        driver.get(f"{stack.api_url}/#/projects/{PROJECT}")
        first_row_ms = _poll(driver, "return window.__firstRowMs ?? null", timeout=60)
        entries = _settled(driver)
        chromium = str(driver.capabilities.get("browserVersion", "?"))
    finally:
        driver.quit()
    origin = urlparse(stack.api_url).netloc
    api = [e for e in entries if e["type"] in ("fetch", "xmlhttprequest") and urlparse(e["name"]).netloc == origin]
    sessions_pages = [e for e in api if f"/projects/{PROJECT}/sessions" in e["name"]]
    assert sessions_pages, f"the page read no sessions: {[e['name'] for e in entries]}"
    return {
        "chromium": chromium,
        "first_row_ms": round(float(first_row_ms), 1),
        "transfer_bytes": sum(int(e["transfer"]) for e in entries),
        "body_bytes": sum(int(e["body"]) for e in entries),
        "api_requests": len(api),
        "sessions_requests": len(sessions_pages),
        "sessions_requests_before_first_row": sum(1 for e in sessions_pages if e["end"] <= first_row_ms),
        # From the first sessions request to the last one's answer: the page reads them in turn.
        "sessions_read_ms": round(float(sessions_pages[-1]["end"] - sessions_pages[0]["start"]), 1),
        "sessions_fetched": _sessions_fetched([e["name"] for e in sessions_pages]),
        "requests": [urlparse(e["name"]).path for e in entries],
    }


def _sessions_fetched(pages: list[str]) -> int:
    """The sessions those pages held: the same URLs read again (a resource entry has no body)."""
    return sum(len(requests.get(url, timeout=10).json()["items"]) for url in pages)


def _poll(driver: Any, script: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value is not None:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{script!r} gave nothing in {timeout} s: is {FIRST_ROW!r} on the page?")


def _settled(driver: Any) -> list[dict[str, Any]]:
    """The resource entries once none was added for SETTLED_S."""
    entries: list[dict[str, Any]] = driver.execute_script(_RESOURCES)
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < SETTLED_S:
        time.sleep(0.25)
        now: list[dict[str, Any]] = driver.execute_script(_RESOURCES)
        if len(now) != len(entries):
            entries, quiet_since = now, time.monotonic()
    return entries


def run(selector: str = FIRST_ROW) -> dict[str, Any]:
    with _stack() as stack:
        seed(stack)
        cold_load(stack, selector)  # unmeasured: the stack's own first requests (its handlers warm up)
        loads = [cold_load(stack, selector) for _ in range(LOADS)]
    times = [load["first_row_ms"] for load in loads]
    last = loads[-1]
    return {
        "js_gzip_kb": gzip_kb("js"),
        "css_gzip_kb": gzip_kb("css"),
        "sessions": SESSIONS,
        "loads": LOADS,
        "first_row_p50_ms": round(statistics.median(times), 1),
        "first_row_max_ms": max(times),
        "first_row_ms": times,
        "transfer_bytes": last["transfer_bytes"],
        "body_bytes": last["body_bytes"],
        "api_requests": last["api_requests"],
        "sessions_requests": last["sessions_requests"],
        "sessions_requests_before_first_row": max(load["sessions_requests_before_first_row"] for load in loads),
        "sessions_read_ms": [load["sessions_read_ms"] for load in loads],
        "sessions_fetched": min(load["sessions_fetched"] for load in loads),
        "requests": last["requests"],
        "selector": selector,
        "chromium": last["chromium"],
    }
