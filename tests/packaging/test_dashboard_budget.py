"""The dashboard's bundle budget: the committed bundle (cli/intake_cli/web/assets), gzipped as a
browser receives it, stays within dashboard/budget.json, where the budget is stated once.

kB are Vite's (1,000 bytes), so the figures read against `npx vite build`'s own `gzip:` column
(Vite compresses at zlib's default level, a little larger than the level 9 used here).
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path

from intake_dev.template import REPO_ROOT

BUDGET = REPO_ROOT / "dashboard" / "budget.json"
ASSETS = REPO_ROOT / "cli" / "intake_cli" / "web" / "assets"
DOCS_PAGE = REPO_ROOT / "docs" / "how-to" / "dashboard.md"
KINDS = {"js": "jsGzipKB", "css": "cssGzipKB"}


@dataclass(frozen=True)
class Weighed:
    """The gzipped kB of a bundle's JS and CSS, and what goes past the budget (one line each)."""

    kb: dict[str, float]
    over: list[str]


def gzip_kb(path: Path) -> float:
    return len(gzip.compress(path.read_bytes(), compresslevel=9)) / 1000


def weigh(assets: Path, budget: dict[str, float]) -> Weighed:
    kb = {kind: sum(gzip_kb(path) for path in sorted(assets.glob(f"*.{kind}"))) for kind in KINDS}
    over = [
        f"{kind.upper()} is {kb[kind]:.1f} kB gzip, over its budget of {budget[key]} kB ({BUDGET.name}: {key})"
        for kind, key in KINDS.items()
        if kb[kind] > budget[key]
    ]
    return Weighed(kb, over)


def advice(weighed: Weighed) -> str:
    return (
        "; ".join(weighed.over) + ". See what grew in `cd dashboard && npx vite build` (its gzip column, "
        "chunk by chunk), and either trim it or raise the budget in dashboard/budget.json and "
        "docs/how-to/dashboard.md, saying why."
    )


def budget() -> dict[str, float]:
    return dict(json.loads(BUDGET.read_text(encoding="utf-8")))


def test_the_committed_bundle_is_within_its_gzip_budget() -> None:
    # GIVEN the committed bundle and the budget
    assert list(ASSETS.glob("*.js")), f"no bundle in {ASSETS}: run make dashboard"
    # WHEN each asset is gzipped and its kind totalled
    weighed = weigh(ASSETS, budget())
    # THEN neither total is over its budget
    assert weighed.over == [], advice(weighed)


def test_an_asset_over_the_budget_fails_the_check_with_its_size_and_the_budget(tmp_path: Path) -> None:
    # GIVEN a bundle whose JS is 3,000 random bytes (gzip cannot shrink them), and a small CSS file
    (tmp_path / "index-big.js").write_bytes(os.urandom(3000))
    (tmp_path / "index-small.css").write_text("body { margin: 0 }\n", encoding="utf-8")
    # WHEN it is weighed against a budget of 2 kB of JS and 1 kB of CSS
    weighed = weigh(tmp_path, {"jsGzipKB": 2, "cssGzipKB": 1})
    # THEN the JS alone is over, and the message says its size, the budget and where to look
    assert weighed.kb["js"] > 2 and weighed.kb["css"] < 1
    (line,) = weighed.over
    assert line.startswith(f"JS is {weighed.kb['js']:.1f} kB gzip, over its budget of 2 kB")
    assert "npx vite build" in advice(weighed)


def test_the_how_to_page_states_the_budget_budget_json_holds() -> None:
    # GIVEN the budget WHEN the dashboard's how-to page is read
    page = DOCS_PAGE.read_text(encoding="utf-8")
    # THEN it gives the same two figures, so the page cannot drift from the check
    figures = budget()
    assert f"{figures['jsGzipKB']:g} kB of JavaScript" in page and f"{figures['cssGzipKB']:g} kB of CSS" in page
