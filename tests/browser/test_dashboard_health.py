"""The project page health first, in Chromium against the local stack, at 1400x1000: a project in
backoff says why, counts down to its next poll and retries; the first session row is in view
without scrolling; the Activity tab lists the recent polls; the create dialog keeps its Create
button in view and shows the intake fields only with intake on; axe finds nothing on any view.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import api, axe_violations, body, button, field, open_page, until, wait
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from intake_dev.local import LocalStack

pytestmark = pytest.mark.timeout(300)

HEALTH = "[aria-label='Project health']"
FIRST_ROW = "table[aria-label='Sessions'] tbody tr.session-row"
ISSUES = 30


@pytest.fixture(scope="module", autouse=True)
def wide(browser: WebDriver) -> Iterator[None]:
    """The window the issue was seen at: 1400x1000 (the other journeys use 1200x1000)."""
    browser.set_window_size(1400, 1000)
    yield
    browser.set_window_size(1200, 1000)


@pytest.fixture(scope="module")
def health(stack: LocalStack) -> str:
    """Project `health` on acme/health: 30 open issues with an assignee, intake on for any
    assignee with the backlog included, polled once: its sessions are in the ledger."""
    repo = stack.github.add_repo("acme", "health")
    for number in range(1, ISSUES + 1):
        repo.add_issue(f"Health issue {number}", assignees=["marta-k"])
    rule = {"enabled": True, "repo": "acme/health", "assignee": "*", "backlog": "all", "maxSessionsPerPoll": 50}
    answer = api(stack, "POST", "/projects", json={"id": "health", "trackerIntake": rule})
    assert answer.status_code == 201, answer.text
    stack.tick()
    assert api(stack, "GET", "/projects/health/sessions").json()["items"], "the tick started no session"
    return "health"


def in_viewport(driver: WebDriver, element: WebElement) -> bool:
    """Whether the element is whole within the window, as it is now (nothing scrolled)."""
    return bool(
        driver.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "return r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth"
            " && r.height > 0;",
            element,
        )
    )


def viewport(driver: WebDriver) -> dict[str, Any]:
    script = "return {width: window.innerWidth, height: window.innerHeight, y: window.scrollY}"
    return dict(driver.execute_script(script))


def test_a_project_in_backoff_says_why_counts_down_and_retries(stack: LocalStack, browser: WebDriver) -> None:
    # GIVEN a project whose repository GitHub keeps failing for, polled once: it is in backoff
    stack.github.add_repo("acme", "ailing")
    stack.github.inject("server_error", repo="acme/ailing", times=None)
    rule = {"enabled": True, "repo": "acme/ailing", "labels": ["agent"]}
    assert api(stack, "POST", "/projects", json={"id": "ailing", "trackerIntake": rule}).status_code == 201
    stack.tick()
    assert api(stack, "GET", "/projects/ailing").json()["intake"]["backoffUntil"] is not None
    # WHEN its page opens
    open_page(browser, stack, "/projects/ailing")
    header = wait(browser, HEALTH, "Next poll in")
    # THEN the header says the state, the reason in a sentence, and the failure's kind
    assert "in backoff" in header.text, header.text
    reason = header.find_element(By.CSS_SELECTOR, ".reason").text
    assert reason.startswith("The tracker did not answer: ") and reason.endswith("."), reason
    assert "transient failure" in header.text
    # AND a countdown to the next poll, its UTC time on hover, that counts down
    countdown = header.find_element(By.CSS_SELECTOR, ".countdown")
    assert str(countdown.get_attribute("title")).endswith(" UTC")
    first = countdown.text
    until(browser, lambda d: d.find_element(By.CSS_SELECTOR, f"{HEALTH} .countdown").text != first, timeout=5)
    assert axe_violations(browser) == []
    # WHEN Retry now is pressed
    button(browser, "Retry now").click()
    # THEN the page says so, the state is no longer backoff and the countdown is gone
    wait(browser, f"{HEALTH} [role=status]", "Backoff cleared")
    until(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, f"{HEALTH} .countdown"))
    assert "in backoff" not in wait(browser, HEALTH).text
    assert button(browser, "Poll now")
    # AND the API shows the backoff cleared
    assert api(stack, "GET", "/projects/ailing").json()["intake"]["backoffUntil"] is None


def test_the_first_session_row_is_in_view_without_scrolling(stack: LocalStack, browser: WebDriver, health: str) -> None:
    # GIVEN a project with sessions WHEN its page opens at 1400x1000
    open_page(browser, stack, f"/projects/{health}")
    row = wait(browser, FIRST_ROW)
    # THEN the first session row is whole within the window, nothing scrolled (the page's viewport
    # is the window less the browser's own bars: about 1400x860)
    size = viewport(browser)
    assert size["y"] == 0 and size["width"] >= 1300 and size["height"] >= 800, size
    assert in_viewport(browser, row), browser.execute_script("return arguments[0].getBoundingClientRect()", row)
    # AND the health header is compact: about 200 px at most
    height = browser.execute_script(f"return document.querySelector({HEALTH!r}).getBoundingClientRect().height")
    assert height <= 220, height
    assert axe_violations(browser) == []


def test_the_activity_tab_lists_the_recent_polls_after_a_tick(
    stack: LocalStack, browser: WebDriver, health: str
) -> None:
    # GIVEN the project polled (its first poll read its issues and started sessions) and a tick since
    stack.tick()
    polls = api(stack, "GET", f"/projects/{health}/polls").json()["items"]
    assert polls, "no poll recorded"
    # WHEN the Activity tab opens
    open_page(browser, stack, f"/projects/{health}/activity")
    table = wait(browser, "table[aria-label='Recent polls']")
    # THEN it lists the recorded polls, newest first, with the new sessions of the first one
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == len(polls), (len(rows), polls)
    started = next(p for p in reversed(polls) if p["newSessions"])
    row = rows[polls.index(started)]
    assert "changed" in row.text, row.text
    chips = row.find_elements(By.CSS_SELECTOR, "li.identifier")
    assert {c.get_attribute("title") for c in chips} == set(started["newSessions"])
    # AND the header's last poll is the newest one
    assert "Last poll" in wait(browser, HEALTH).text
    assert axe_violations(browser) == []


def test_the_settings_tab_reads_the_rule_and_opens_the_form_on_purpose(
    stack: LocalStack, browser: WebDriver, health: str
) -> None:
    # GIVEN the project's Settings tab
    open_page(browser, stack, f"/projects/{health}/settings")
    summary = wait(browser, "[aria-label='Rule summary']")
    # THEN the rule reads in words, and nothing is editable
    assert "acme/health" in summary.text and "any assignee" in summary.text, summary.text
    assert not browser.find_elements(By.CSS_SELECTOR, "[role=tabpanel] input")
    assert axe_violations(browser) == []
    # WHEN Edit settings is pressed THEN the form opens on the stored rule
    button(browser, "Edit settings").click()
    assert field(browser, "Assignee").get_attribute("value") == "*"
    assert axe_violations(browser) == []


def test_the_create_dialog_keeps_create_in_view_and_intake_fields_behind_the_switch(
    stack: LocalStack, browser: WebDriver
) -> None:
    # GIVEN the projects list
    open_page(browser, stack)
    wait(browser, ".projects")
    assert axe_violations(browser) == []
    # WHEN the create dialog opens
    button(browser, "New project").click()
    wait(browser, "[role=dialog]")
    # THEN with intake off only the project's fields show, and Create is in view
    assert not [e for e in browser.find_elements(By.TAG_NAME, "label") if e.text.strip() == "Assignee"]
    assert in_viewport(browser, button(browser, "Create project"))
    assert axe_violations(browser) == []
    # WHEN intake is switched on (the longest form) THEN the rule's fields show, and Create is still in view
    field(browser, "Tracker intake").click()
    assert field(browser, "Assignee").is_displayed()
    assert in_viewport(browser, button(browser, "Create project")), body(browser)
    assert axe_violations(browser) == []
    # AND at a smaller window too
    browser.set_window_size(1000, 700)
    try:
        until(browser, lambda d: in_viewport(d, button(d, "Create project")))
    finally:
        browser.set_window_size(1400, 1000)
    button(browser, "Cancel").click()
