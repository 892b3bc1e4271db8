"""The dashboard end to end: real headless Chromium (Debian's), driven by Selenium, against the
local stack (the real handlers on moto, the GitHub stand-in on loopback).

Each view is saved as a screenshot under `reports/screenshots/` (the README's come from there).
Every page is checked with axe-core, and must have no violations.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from conftest import (
    api,
    axe_violations,
    body,
    button,
    choice,
    field,
    open_page,
    record_ack,
    report_status,
    shot,
    until,
    wait,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.command import Command
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from intake_dev.local import LocalStack
from tracker_intake.domain.config import Acknowledge
from tracker_intake.domain.records import Acknowledgement, AckState

pytestmark = pytest.mark.timeout(300)

HEALTH = "[aria-label='Project health']"
# The Issue column's chip of each session on the page (its title is the canonical id).
SESSION_CHIPS = "table[aria-label='Sessions'] tbody td.col-issue a"


def session_row(driver: WebDriver, issue_id: str) -> WebElement:
    """The sessions table's row of `issue_id` (on the page shown)."""
    chip = wait(driver, f"{SESSION_CHIPS}[title='{issue_id}']")
    return chip.find_element(By.XPATH, "./ancestor::tr")


def edit_settings(driver: WebDriver, stack: LocalStack, project: str) -> None:
    """The project's Settings tab, its form opened with "Edit settings"."""
    open_page(driver, stack, f"/projects/{project}/settings")
    wait(driver, "[role=tab][aria-selected=true]", "Settings")
    button(driver, "Edit settings").click()
    wait(driver, "#intake-title")


# --- the journeys ----------------------------------------------------------------------------------


def test_an_empty_dashboard_says_what_to_do_next(stack: LocalStack, browser: WebDriver) -> None:
    # GIVEN no projects WHEN the dashboard opens
    open_page(browser, stack)
    # THEN it says how to create one
    wait(browser, ".empty", "No projects yet")
    assert "intake project create" in body(browser)
    shot(browser, "projects-empty")
    assert axe_violations(browser) == []


def test_create_a_project_with_intake_on_an_assignee(stack: LocalStack, browser: WebDriver) -> None:
    # GIVEN the create sheet
    open_page(browser, stack)
    button(browser, "New project").click()
    wait(browser, "[role=dialog]")
    submit = button(browser, "Create project")
    field(browser, "Project id").send_keys("widgets")
    field(browser, "Git origin").send_keys("git@github.com:acme/widgets.git")
    field(browser, "Tracker intake").click()
    # THEN submit stays disabled until a rule is set, and the missing rule is said
    assert not submit.is_enabled()
    assert "Enabling intake requires a label or an assignee." in body(browser)
    # WHEN an assignee is given
    field(browser, "Assignee").send_keys("*")
    assert submit.is_enabled()
    # AND the backlog choice, `new` unless changed, is counted from a preview, then `all` chosen
    assert choice(browser, "Only issues that match from now on").is_selected()
    button(browser, "Count what all would start").click()
    counted = wait(browser, "[role=dialog] [role=status]", "all would start")
    choice(browser, "Every matching open issue").click()
    assert "Saved with all, this starts" in counted.text
    shot(browser, "create-sheet")
    assert axe_violations(browser) == []
    submit.click()
    # THEN the project page opens, with intake on for any assignee, the backlog included
    wait(browser, "h1", "widgets")
    stored = api(stack, "GET", "/projects/widgets").json()
    assert stored["trackerIntake"]["enabled"] is True and stored["trackerIntake"]["assignee"] == "*"
    assert stored["trackerIntake"]["backlog"] == "all"


def test_a_field_the_api_refuses_shows_its_reason_next_to_it(stack: LocalStack, browser: WebDriver) -> None:
    # GIVEN the create sheet, with an id that is taken
    open_page(browser, stack)
    wait(browser, ".projects")
    button(browser, "New project").click()
    field(browser, "Project id").send_keys("widgets")
    button(browser, "Create project").click()
    # THEN the API's reason is shown under the id field, and nothing is created
    error = wait(browser, "[role=dialog] .field .error", "already exists")
    assert error.get_attribute("id") == field(browser, "Project id").get_attribute("aria-describedby")
    field(browser, "Project id").send_keys(Keys.ESCAPE)


def test_sessions_appear_after_a_tick_with_their_canonical_ids(stack: LocalStack, browser: WebDriver) -> None:
    # GIVEN the project with intake on (created above) WHEN the schedule ticks
    stack.tick()
    open_page(browser, stack, "/projects/widgets")
    # THEN its sessions are listed in the table, each chip linking to its issue, its canonical id on hover
    chip = wait(browser, SESSION_CHIPS, "#")
    assert str(chip.get_attribute("href")).startswith("http")
    assert str(chip.get_attribute("title")).startswith("github:acme/widgets#")
    ids = [str(e.get_attribute("title")) for e in browser.find_elements(By.CSS_SELECTOR, SESSION_CHIPS)]
    ledger = [s["issueId"] for s in api(stack, "GET", "/projects/widgets/sessions").json()["items"]]
    assert sorted(ids) == sorted(ledger) and ids
    wait(browser, ".muted", "updated ")
    # AND the health header gives the pickup of the launches (from each issue's update to its launch)
    wait(browser, HEALTH, "p95")
    shot(browser, "project")
    assert axe_violations(browser) == []
    # AND the projects list shows the state, the rule in words and the count
    open_page(browser, stack)
    card = wait(browser, ".project", "widgets")
    assert "ok" in card.text and "with any assignee" in card.text and f"Sessions\n{len(ledger)}" in card.text
    shot(browser, "projects")
    assert axe_violations(browser) == []


def test_a_sessions_reported_status_is_on_its_card_and_its_history_in_the_inspector(
    stack: LocalStack, browser: WebDriver
) -> None:
    # GIVEN a launched session whose backend reported working, then a pull request
    session = api(stack, "GET", "/projects/widgets/sessions").json()["items"][-1]
    issue, generation = session["issueId"], session["generation"]
    pr = f"https://github.com/{issue.split(':', 1)[1].split('#')[0]}/pull/77"
    assert report_status(stack, issue, {"status": "working", "generation": generation}).status_code == 200
    assert report_status(stack, issue, {"status": "pr_open", "prUrl": pr, "generation": generation}).status_code == 200
    # WHEN the project page opens
    open_page(browser, stack, "/projects/widgets")
    # THEN its row shows the reported status beside the claim's
    until(browser, lambda d: "PR open" in session_row(d, issue).text)
    assert "launched" in session_row(browser, issue).text
    # AND the inspector links the pull request, and lists both reports, oldest first
    session_row(browser, issue).click()
    inspector = wait(browser, "[role=dialog]", "Status history")
    repo = issue.split(":", 1)[1].split("#")[0]
    assert inspector.find_element(By.LINK_TEXT, f"pull request {repo}#77").get_attribute("href") == pr
    items = [li.text for li in inspector.find_elements(By.CSS_SELECTOR, "ol.history li")]
    assert len(items) == 2 and "working" in items[0] and "PR open" in items[1], items
    shot(browser, "session-status")
    assert axe_violations(browser) == []
    button(browser, "Close").click()


def test_an_acknowledgement_is_on_its_session_card_and_in_the_inspector(stack: LocalStack, browser: WebDriver) -> None:
    # GIVEN the project's settings, where comment is chosen as the acknowledgement and saved
    edit_settings(browser, stack, "widgets")
    acknowledge = Select(field(browser, "Once a session is launched, write on the issue"))
    assert acknowledge.first_selected_option.get_attribute("value") == "none"
    assert "Anything but none needs write access to issues" in body(browser)
    acknowledge.select_by_value("comment")
    button(browser, "Save").click()
    wait(browser, "[role=status]", "Saved.")
    current = api(stack, "GET", "/projects/widgets").json()
    assert current["trackerIntake"]["acknowledge"] == "comment"
    # AND two launched sessions, one acknowledged with a comment, one whose reaction GitHub refused
    launched = [
        s["issueId"]
        for s in api(stack, "GET", "/projects/widgets/sessions").json()["items"]
        if s["status"] == "launched"
    ]
    assert len(launched) >= 2, launched
    done, refused = launched[:2]
    now = datetime.now(UTC)
    comment = f"https://github.com/acme/widgets/issues/{done.rsplit('#', 1)[1]}#issuecomment-1"
    refusal = "Resource not accessible by integration (403)"
    record_ack(
        stack,
        done,
        Acknowledgement(Acknowledge.COMMENT, AckState.DONE, "m-1", now, now, attempts=1, sent=True, url=comment),
    )
    record_ack(
        stack,
        refused,
        Acknowledgement(Acknowledge.REACTION, AckState.REFUSED, "m-2", now, now, attempts=1, sent=True, detail=refusal),
    )
    # WHEN the page opens again
    open_page(browser, stack, "/projects/widgets")
    # THEN the first row reads "comment done", and its inspector links it to the comment
    until(browser, lambda d: "comment done" in session_row(d, done).text)
    session_row(browser, done).click()
    link = wait(browser, "[role=dialog] a.ack-done")
    assert link.text == "comment done" and link.get_attribute("href") == comment
    button(browser, "Close").click()
    # AND the second shows "reaction refused" as a warning, GitHub's words as its title
    badge = session_row(browser, refused).find_element(By.CSS_SELECTOR, ".ack-refused")
    assert badge.text == "reaction refused" and badge.get_attribute("title") == refusal
    shot(browser, "acknowledgement")
    assert axe_violations(browser) == []
    # AND its inspector says so in full
    session_row(browser, refused).click()
    inspector = wait(browser, "[role=dialog]", "Acknowledgement")
    assert "reaction refused" in inspector.text and refusal in inspector.text, inspector.text
    assert axe_violations(browser) == []
    button(browser, "Close").click()
    # (back to none: the stand-in takes no writes, and the later ticks would try them)
    rule = {"gitOrigin": current["gitOrigin"], "trackerIntake": {**current["trackerIntake"], "acknowledge": "none"}}
    assert api(stack, "PUT", "/projects/widgets/config", json=rule).status_code == 200


def test_edit_the_rule_and_save(stack: LocalStack, browser: WebDriver) -> None:
    # GIVEN the project's settings, opened for editing
    edit_settings(browser, stack, "widgets")
    before = api(stack, "GET", "/projects/widgets").json()["version"]
    # WHEN a label is added and the form saved
    labels = field(browser, "Labels (an issue needs every one)")
    labels.send_keys("agent", Keys.ENTER)
    button(browser, "Save").click()
    # THEN it says Saved, and the API holds the new rule at the next version
    wait(browser, "[role=status]", "Saved.")
    after = api(stack, "GET", "/projects/widgets").json()
    assert after["trackerIntake"]["labels"] == ["agent"] and after["version"] == before + 1


def test_a_concurrent_change_is_a_412_that_offers_a_reload(stack: LocalStack, browser: WebDriver) -> None:
    # GIVEN the project's settings open for editing, and someone else changes the config meanwhile
    edit_settings(browser, stack, "widgets")
    current = api(stack, "GET", "/projects/widgets").json()
    elsewhere = {
        "gitOrigin": current["gitOrigin"],
        "trackerIntake": {**current["trackerIntake"], "maxSessionsPerPoll": 7},
    }
    assert api(stack, "PUT", "/projects/widgets/config", json=elsewhere).status_code == 200
    # WHEN this page saves its (stale) version
    field(browser, "Assignee").send_keys(Keys.BACKSPACE, "marta-k")
    button(browser, "Save").click()
    # THEN nothing is overwritten: it says so, and offers a reload
    wait(browser, "[role=alert]", "changed elsewhere")
    shot(browser, "conflict")
    assert api(stack, "GET", "/projects/widgets").json()["trackerIntake"]["assignee"] == "*"
    button(browser, "Reload the project").click()
    # THEN the form shows the other change
    until(browser, lambda d: field(d, "Max sessions per poll").get_attribute("value") == "7")


def test_a_preview_lists_what_the_drafted_rule_would_pick_up_before_saving(
    stack: LocalStack, browser: WebDriver
) -> None:
    # GIVEN the project page with its rule (any assignee), and a draft not saved: the label
    # documentation, and no assignee
    current = api(stack, "GET", "/projects/widgets").json()
    rule = {"gitOrigin": current["gitOrigin"], "trackerIntake": {"enabled": True, "assignee": "*"}}
    assert api(stack, "PUT", "/projects/widgets/config", json=rule).status_code == 200
    edit_settings(browser, stack, "widgets")
    stored = api(stack, "GET", "/projects/widgets").json()
    field(browser, "Labels (an issue needs every one)").send_keys("documentation", Keys.ENTER)
    assignee = field(browser, "Assignee")
    assignee.send_keys(Keys.END, *[Keys.BACKSPACE] * 40)
    # WHEN it is previewed
    button(browser, "Preview").click()
    # THEN the issues it would take are listed (as the API's preview says), the others with reasons
    listed = wait(browser, ".preview", "What this rule would pick up now")
    expected = api(
        stack, "POST", "/projects/widgets/preview", json={"trackerIntake": {"labels": ["documentation"]}}
    ).json()
    shown = [e.text for e in listed.find_elements(By.CSS_SELECTOR, "ul[aria-label='issues the rule takes'] .canonical")]
    assert shown == [i["canonicalId"] for i in expected["eligible"]] and shown, listed.text
    assert f"Skipped: {len(expected['skipped'])}" in listed.text
    shot(browser, "preview")
    assert axe_violations(browser) == []
    # AND nothing was saved
    assert api(stack, "GET", "/projects/widgets").json()["version"] == stored["version"]


def test_release_a_session_and_see_it_taken_again(stack: LocalStack, browser: WebDriver) -> None:
    # GIVEN a launched session, of a project whose rule (any assignee) still matches its issue
    current = api(stack, "GET", "/projects/widgets").json()
    rule = {"gitOrigin": current["gitOrigin"], "trackerIntake": {"enabled": True, "assignee": "*"}}
    assert api(stack, "PUT", "/projects/widgets/config", json=rule).status_code == 200
    open_page(browser, stack, "/projects/widgets")
    first = str(wait(browser, SESSION_CHIPS).get_attribute("title"))
    # WHEN it is released from its inspector, through the confirmation
    session_row(browser, first).click()
    wait(browser, "[role=dialog]", "Generation")
    button(browser, f"release {first}").click()
    dialog = wait(browser, "[role=dialog]", "will get a new session")
    shot(browser, "release-confirm")
    dialog.find_element(By.CSS_SELECTOR, "button.primary").click()
    until(browser, lambda d: "released" in session_row(d, first).text)
    # AND the schedule ticks
    stack.tick()
    browser.refresh()
    # THEN the issue has a session again, in its second generation
    until(browser, lambda d: "released" not in session_row(d, first).text)
    session_row(browser, first).click()
    inspector = wait(browser, "[role=dialog]", "Generation")
    assert "Generation\n2" in inspector.text, inspector.text
    shot(browser, "inspector")
    assert axe_violations(browser) == []
    button(browser, "Close").click()


def test_a_project_in_backoff_shows_its_countdown_and_error(stack: LocalStack, browser: WebDriver) -> None:
    # GIVEN a project whose repository GitHub keeps failing for
    stack.github.add_repo("acme", "flaky")
    stack.github.inject("server_error", repo="acme/flaky", times=None)
    answer = api(
        stack,
        "POST",
        "/projects",
        json={"id": "flaky", "trackerIntake": {"enabled": True, "repo": "acme/flaky", "labels": ["agent"]}},
    )
    assert answer.status_code == 201, answer.text
    # WHEN it is polled
    stack.tick()
    open_page(browser, stack)
    # THEN its card shows backoff, a countdown and the error in a sentence
    card = wait(browser, ".project", "flaky")
    wait(browser, ".project .countdown")
    card = wait(browser, ".project", "flaky")
    assert "backoff" in card.text and "polls again in" in card.text, card.text
    assert "Last error" in card.text
    shot(browser, "projects-backoff")
    assert axe_violations(browser) == []
    # AND its page says the failure is transient beside the backoff, and Retry now clears it
    open_page(browser, stack, "/projects/flaky")
    wait(browser, HEALTH, "transient failure")
    assert axe_violations(browser) == []
    button(browser, "Retry now").click()
    wait(browser, "[role=status]", "Backoff cleared: polled on the next tick")
    assert api(stack, "GET", "/projects/flaky").json()["intake"]["backoffUntil"] is None


def test_the_dashboard_is_usable_from_the_keyboard(stack: LocalStack, browser: WebDriver) -> None:
    # GIVEN the projects page
    open_page(browser, stack)
    wait(browser, ".projects")
    # WHEN the user tabs to "New project" and presses Enter
    page = browser.find_element(By.TAG_NAME, "body")
    for _ in range(10):
        page.send_keys(Keys.TAB)
        if browser.switch_to.active_element.text == "New project":
            break
    assert browser.switch_to.active_element.text == "New project"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    # THEN the sheet opens with the focus in its first field, and Escape closes it
    wait(browser, "[role=dialog]")
    assert browser.switch_to.active_element.get_attribute("id") == field(browser, "Project id").get_attribute("id")
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    WebDriverWait(browser, 5).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[role=dialog]"))
    # AND the focus is back on the button that opened it
    assert browser.switch_to.active_element.text == "New project"


# --- what another site's page cannot do ------------------------------------------------------------


@contextlib.contextmanager
def page_elsewhere(host: str, html: str) -> Iterator[str]:
    """A page served on `host` (another origin than the dashboard's), at the URL yielded."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def security_log(driver: WebDriver) -> list[str]:
    """What the browser logged about the page's security (CSP) since the last look."""
    entries: list[dict[str, Any]] = driver.execute(Command.GET_LOG, {"type": "browser"})["value"]
    return [entry["message"] for entry in entries if entry.get("source") == "security"]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2"], ids=["another-port", "another-site"])
def test_a_page_elsewhere_cannot_frame_the_dashboard(stack: LocalStack, browser: WebDriver, host: str) -> None:
    # GIVEN a page on another loopback port (same site) or another loopback address (another site)
    # that frames the dashboard, to trick a click on release or delete
    security_log(browser)
    html = f'<!doctype html><title>elsewhere</title><iframe id="victim" src="{stack.api_url}/"></iframe>'
    with page_elsewhere(host, html) as url:
        # WHEN the user opens it
        browser.get(url)
        frame = wait(browser, "#victim")
        # THEN the frame holds the browser's error page, not the dashboard
        browser.switch_to.frame(frame)
        try:
            until(browser, lambda d: d.execute_script("return location.href") == "chrome-error://chromewebdata/")
            assert not browser.find_elements(By.CSS_SELECTOR, "nav.top")
        finally:
            browser.switch_to.default_content()
        # AND the browser says why: the answer forbids any frame
        assert any("frame-ancestors 'none'" in message for message in security_log(browser))


def test_the_dashboard_runs_under_its_content_security_policy(stack: LocalStack, browser: WebDriver) -> None:
    # GIVEN a project, and the browser's security log looked at
    api(stack, "POST", "/projects", json={"id": "policy", "name": "Policy"}).raise_for_status()
    security_log(browser)
    # WHEN the projects page and the project's page are opened
    open_page(browser, stack)
    wait(browser, ".projects", "policy")
    open_page(browser, stack, "/projects/policy")
    wait(browser, HEALTH, "intake off")
    # THEN the page's script and style loaded and ran (the content above), and nothing was refused
    assert security_log(browser) == []
