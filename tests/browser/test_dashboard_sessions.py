"""The project page's sessions table and charts in Chromium, with 1,000 sessions seeded in the
local stack's ledger: the table sorts, filters, searches and pages across them, a row opens the
inspector, the charts have axes and show the days without sessions as zero, and axe finds nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import api, axe_violations, body, open_page, put_claims, seeded_claim, until, wait
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

from intake_dev.local import LocalStack
from tracker_intake.domain.records import Claim, ClaimStatus, SessionStatus

pytestmark = pytest.mark.timeout(300)

PROJECT = "busy"
REPO = "acme/busy"
SEEDED = 1000
QUIET_DAYS = (2, 4, 7)  # days ago (UTC) without a claim: the chart shows them as zero
STATUSES = (ClaimStatus.LAUNCHED, ClaimStatus.LAUNCHED, ClaimStatus.FAILED, ClaimStatus.RELEASED, ClaimStatus.BACKLOG)
SEARCHED = 777  # the one session whose title says "unicorn"
TABLE = "table[aria-label='Sessions']"
PER_DAY = "Sessions started per day, last 14 days"


def seeded_claims(now: datetime) -> list[Claim]:
    """1,000 claims over the last 20 UTC days but the quiet ones: #1 the newest claim, each next
    one older; one in ten launched reports PR open; #777 is the only "unicorn"."""
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    days = [d for d in range(20) if d not in QUIET_DAYS]
    claims = []
    for n in range(1, SEEDED + 1):
        day = days[(n - 1) * len(days) // SEEDED]
        # Within its day, newest first; today's claims are all before now.
        claimed = min(
            today - timedelta(days=day) + timedelta(hours=23) - timedelta(seconds=n * 60), now - timedelta(seconds=n)
        )
        status = STATUSES[n % len(STATUSES)]
        reports = SessionStatus.PR_OPEN if status is ClaimStatus.LAUNCHED and n % 10 == 1 else None
        title = "Unicorn crash on export" if n == SEARCHED else f"Retry the webhook on a 502 ({n})"
        picked_up_after = timedelta(seconds=30 + n % 90)
        claims.append(seeded_claim(REPO, PROJECT, n, status, claimed, title, picked_up_after, reports))
    return claims


@pytest.fixture(scope="module")
def claims(stack: LocalStack, browser: WebDriver) -> Iterator[list[Claim]]:
    """The project `busy` (intake on, never polled here) with its 1,000 claims, and a 1400x1000 window."""
    answer = api(stack, "POST", "/projects", json={"id": PROJECT, "name": "Busy", "trackerIntake": {
        "enabled": True, "repo": REPO, "labels": ["agent"]}})  # fmt: skip
    assert answer.status_code == 201, answer.text
    seeded = seeded_claims(datetime.now(UTC).replace(microsecond=0))
    put_claims(stack, seeded)
    browser.set_window_size(1400, 1000)
    yield seeded


def open_sessions(driver: WebDriver, stack: LocalStack) -> WebElement:
    """The project page, once its table counts all 1,000 sessions."""
    open_page(driver, stack, f"/projects/{PROJECT}")
    wait(driver, f"{TABLE} tbody tr", timeout=30)
    wait(driver, ".table-count", "1,000 sessions", timeout=30)
    return driver.find_element(By.CSS_SELECTOR, TABLE)


def rows(driver: WebDriver) -> list[list[str]]:
    """The table's body rows, each as its cells' text."""
    table = driver.find_element(By.CSS_SELECTOR, TABLE)
    return [
        [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
        for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")
    ]


def header(driver: WebDriver, name: str) -> WebElement:
    for th in driver.find_elements(By.CSS_SELECTOR, f"{TABLE} thead th"):
        if th.text.strip().rstrip("▲▼").strip() == name:
            return th
    raise AssertionError(f"no column {name!r}:\n{body(driver)}")


def sort_by(driver: WebDriver, name: str, direction: str) -> None:
    """Click the column's header until it sorts `direction` ("ascending" or "descending")."""
    for _ in range(2):
        if header(driver, name).get_attribute("aria-sort") == direction:
            return
        header(driver, name).find_element(By.TAG_NAME, "button").click()
    until(driver, lambda d: header(d, name).get_attribute("aria-sort") == direction)


def says(driver: WebDriver, text: str) -> None:
    until(driver, lambda d: text in body(d))


def page_button(driver: WebDriver, name: str) -> WebElement:
    return driver.find_element(By.XPATH, f"//button[normalize-space()='{name}']")


def test_the_first_row_is_in_view_and_the_table_pages_across_1000_sessions(
    stack: LocalStack, browser: WebDriver, claims: list[Claim]
) -> None:
    # GIVEN 1,000 sessions WHEN the project page opens at 1400x1000
    open_sessions(browser, stack)
    # THEN the newest claim is the first row, in view without scrolling; 25 rows, page 1 of 40
    first = browser.find_element(By.CSS_SELECTOR, f"{TABLE} tbody tr")
    assert browser.execute_script("return arguments[0].getBoundingClientRect().bottom <= window.innerHeight", first)
    assert rows(browser)[0][0] == "#1" and len(rows(browser)) == 25
    assert header(browser, "Claimed").get_attribute("aria-sort") == "descending"
    says(browser, "Page 1 of 40")
    assert not page_button(browser, "Previous page").is_enabled()
    # WHEN paged to the end THEN #976 to #1000, "Next page" disabled
    for page in range(2, 41):
        page_button(browser, "Next page").click()
        says(browser, f"Page {page} of 40")
    assert rows(browser)[0][0] == "#976" and rows(browser)[-1][0] == "#1000"
    assert not page_button(browser, "Next page").is_enabled()
    page_button(browser, "Previous page").click()
    says(browser, "Page 39 of 40")


def test_the_table_sorts_by_its_columns(stack: LocalStack, browser: WebDriver, claims: list[Claim]) -> None:
    # GIVEN 1,000 sessions WHEN sorted by Issue, ascending then descending THEN #1 first, then #1000
    open_sessions(browser, stack)
    sort_by(browser, "Issue", "ascending")
    assert [r[0] for r in rows(browser)[:3]] == ["#1", "#2", "#3"]
    assert header(browser, "Claimed").get_attribute("aria-sort") == "none"
    sort_by(browser, "Issue", "descending")
    assert rows(browser)[0][0] == "#1000"
    # WHEN sorted by Claimed, oldest first THEN the oldest claim first
    sort_by(browser, "Claimed", "ascending")
    oldest = min(claims, key=lambda c: c.claimed_at)
    assert rows(browser)[0][0] == f"#{oldest.issue.number}"
    # WHEN sorted by Status THEN "backlog" first
    sort_by(browser, "Status", "ascending")
    assert rows(browser)[0][2] == "backlog"


def test_the_table_filters_by_status_and_searches(stack: LocalStack, browser: WebDriver, claims: list[Claim]) -> None:
    # GIVEN 1,000 sessions WHEN filtered by "failed"
    open_sessions(browser, stack)
    failed = sum(1 for c in claims if c.status is ClaimStatus.FAILED)
    reporting = sum(1 for c in claims if c.session_status is SessionStatus.PR_OPEN)
    status = Select(browser.find_element(By.CSS_SELECTOR, "select[aria-label='Filter by status']"))
    assert [o.text for o in status.options] == ["All statuses", "backlog", "failed", "launched", "PR open", "released"]
    status.select_by_visible_text("failed")
    # THEN only the failed ones, counted
    wait(browser, ".table-count", f"{failed} sessions")
    assert {r[2] for r in rows(browser)} == {"failed"}
    # WHEN filtered by what the session's backend reported THEN those
    status.select_by_visible_text("PR open")
    wait(browser, ".table-count", f"{reporting} sessions")
    assert all(r[2].startswith("PR open") for r in rows(browser))
    # WHEN all statuses again and a search for a word of one title THEN that one session
    status.select_by_visible_text("All statuses")
    search = browser.find_element(By.CSS_SELECTOR, "input[aria-label='Search sessions']")
    search.send_keys("UNICORN")
    wait(browser, ".table-count", "1 session")
    assert [r[0] for r in rows(browser)] == [f"#{SEARCHED}"]
    # WHEN a search matches nothing THEN it says so
    search.send_keys(" nowhere")
    wait(browser, f"{TABLE} tbody", "No sessions match")
    # WHEN a canonical id is searched THEN its session
    search.clear()
    search.send_keys(f"github:{REPO}#999")
    until(browser, lambda d: [r[0] for r in rows(d)] == ["#999"])


def test_a_row_opens_the_inspector_on_a_click_and_on_enter(
    stack: LocalStack, browser: WebDriver, claims: list[Claim]
) -> None:
    # GIVEN the table WHEN a row is clicked THEN the inspector opens on its issue
    open_sessions(browser, stack)
    browser.find_elements(By.CSS_SELECTOR, f"{TABLE} tbody tr")[1].find_elements(By.TAG_NAME, "td")[1].click()
    dialog = wait(browser, "[role=dialog]")
    assert f"github:{REPO}#2" in dialog.text
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)  # the dialog holds the focus
    until(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, "[role=dialog]"))
    # WHEN Enter is pressed on a focused row THEN the inspector opens on that one
    row = browser.find_elements(By.CSS_SELECTOR, f"{TABLE} tbody tr")[2]
    browser.execute_script("arguments[0].focus()", row)
    row.send_keys(Keys.ENTER)
    assert f"github:{REPO}#3" in wait(browser, "[role=dialog]").text


def expected_per_day(claims: list[Claim], today: date) -> dict[str, int]:
    """Claims on each of the last 14 UTC days, every day there."""
    counted = Counter(c.claimed_at.astimezone(UTC).date() for c in claims)
    return {
        (today - timedelta(days=d)).isoformat(): counted.get(today - timedelta(days=d), 0) for d in range(13, -1, -1)
    }


def test_the_charts_have_axes_and_show_the_days_without_sessions_as_zero(
    stack: LocalStack, browser: WebDriver, claims: list[Claim]
) -> None:
    # GIVEN 1,000 sessions over 20 days, none 2, 4 and 7 days ago WHEN the page opens
    open_sessions(browser, stack)
    chart = wait(browser, "figure", PER_DAY)
    # THEN one bar a day for 14 days, each counting that UTC day's claims, the quiet days at 0
    bars = {
        b.get_attribute("data-day"): int(b.get_attribute("data-count") or -1)
        for b in chart.find_elements(By.CSS_SELECTOR, "rect[data-day]")
    }
    today = datetime.now(UTC).date()
    assert bars == expected_per_day(claims, today)
    for quiet in QUIET_DAYS:
        day = (today - timedelta(days=quiet)).isoformat()
        assert bars[day] == 0
        bar = chart.find_element(By.CSS_SELECTOR, f"rect[data-day='{day}']")
        assert "bar-zero" in (bar.get_attribute("class") or "") and bar.size["height"] > 0  # a visible zero
    # AND both axes have tick labels: dates under, counts beside
    under = [t.text for t in chart.find_elements(By.CSS_SELECTOR, ".visx-axis-bottom .visx-axis-tick text")]
    beside = [t.text for t in chart.find_elements(By.CSS_SELECTOR, ".visx-axis-left .visx-axis-tick text")]
    assert len(under) >= 7 and all(under), under
    assert beside[0] == "0" and len(beside) >= 3, beside
    # WHEN the chart has the keyboard's focus and moves to a quiet day THEN its tooltip says 0
    image = chart.find_element(By.CSS_SELECTOR, "svg[role=img]")
    browser.execute_script("arguments[0].focus()", image)
    for _ in range(QUIET_DAYS[0]):
        image.send_keys(Keys.ARROW_LEFT)
    assert wait(browser, ".chart-tooltip").text.endswith(": 0 sessions")
    # AND the pickup latency chart has a point per session with a known latency, and both axes
    latency = wait(browser, "figure", "Pickup latency")
    known = sum(1 for s in all_sessions(stack) if s.get("pickupSeconds") is not None)
    assert known > 0
    assert len(latency.find_elements(By.CSS_SELECTOR, "circle.latency-point")) == known
    assert all(
        t.text.endswith((" s", " min", " h"))
        for t in latency.find_elements(By.CSS_SELECTOR, ".visx-axis-left .visx-axis-tick text")
    )
    assert [t.text for t in latency.find_elements(By.CSS_SELECTOR, ".visx-axis-bottom .visx-axis-tick text") if t.text]


def all_sessions(stack: LocalStack) -> list[dict[str, object]]:
    """Every session of the project, as the API lists them, page after page."""
    items: list[dict[str, object]] = []
    token: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 100, **({"nextToken": token} if token else {})}
        page = api(stack, "GET", f"/projects/{PROJECT}/sessions", params=params).json()
        items += page["items"]
        token = page.get("nextToken")
        if not token:
            return items


def test_axe_finds_nothing_on_the_sessions_table_and_charts(
    stack: LocalStack, browser: WebDriver, claims: list[Claim]
) -> None:
    # GIVEN the page with 1,000 sessions, a tooltip open WHEN axe runs THEN no violations
    open_sessions(browser, stack)
    image = wait(browser, "figure", PER_DAY).find_element(By.CSS_SELECTOR, "svg[role=img]")
    browser.execute_script("arguments[0].focus()", image)
    wait(browser, ".chart-tooltip")
    assert axe_violations(browser) == []
