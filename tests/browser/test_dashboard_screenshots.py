"""Every view of the dashboard as a person sees it at 1400x1000, for docs/how-to/dashboard.md:
the projects list, a project's Sessions, Activity and Settings tabs (and the settings form), a
project in backoff, the create dialog with intake off and on, and a Linear and a Jira project.

Each is saved under `reports/screenshots/` as `view-*.png` (copied into docs/screenshots by hand:
`cp reports/screenshots/view-*.png docs/screenshots/`), after checking it shows what the docs say
it shows, and that axe finds nothing on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from conftest import (
    SHOTS,
    api,
    axe_violations,
    body,
    button,
    field,
    open_page,
    put_claims,
    record_ack,
    report_status,
    seeded_claim,
    wait,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from intake_dev.local import LocalStack
from tracker_intake.domain.config import Acknowledge
from tracker_intake.domain.records import Acknowledgement, AckState, ClaimStatus

WIDTH, HEIGHT = 1400, 1000
SEEDED = 60  # sessions of `storefront` claimed over the last 3 weeks, some days none
DAYS = (0, 1, 3, 4, 5, 6, 7, 10, 11, 12, 13, 15, 16, 17, 18, 19, 20)  # ago; 2, 8, 9 and 14 had none
LINEAR_RULE = {"enabled": True, "provider": "linear", "team": "ENG", "labels": ["agent"]}
JIRA_RULE = {"enabled": True, "provider": "jira", "site": "acme.atlassian.net", "project": "PROJ", "labels": ["agent"]}


def shot(driver: WebDriver, name: str) -> None:
    """The window as a person sees it at 1400x1000 (conftest's shot() takes the whole page)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def seed_sessions(stack: LocalStack, project_id: str, repo: str, count: int) -> None:
    """`count` claims of `project_id`, as polls and launches over the last 3 weeks left them."""
    now = datetime.now(UTC).replace(microsecond=0)
    midnight = now.replace(hour=0, minute=0, second=0)
    statuses = [ClaimStatus.LAUNCHED] * 6 + [ClaimStatus.BACKLOG, ClaimStatus.FAILED, ClaimStatus.RELEASED]
    titles = ("Export to CSV drops the header row", "Retry the webhook on a 502", "Dark mode for the settings page")
    claims = []
    for n in range(1, count + 1):
        day = midnight - timedelta(days=DAYS[n % len(DAYS)])  # within its UTC day, as the chart counts
        claimed = min(day + timedelta(hours=1 + n % 6, minutes=(7 * n) % 60), now - timedelta(minutes=1))
        status = statuses[n % len(statuses)]
        picked_up_after = timedelta(seconds=15 + (n * 37) % 240)
        claims.append(
            seeded_claim(repo, project_id, 100 + n, status, claimed, f"{titles[n % 3]} ({n})", picked_up_after)
        )
    put_claims(stack, claims)


def report_sessions(stack: LocalStack) -> None:
    """What backends and launchers said of a few of them: a pull request open, a session at work
    and waiting for input, a comment on the issue and a reaction refused."""
    pr = "https://github.com/acme/storefront/pull/7"
    for number, report in ((122, {"status": "pr_open", "prUrl": pr}), (119, {"status": "working"}),
                           (141, {"status": "needs_input"})):  # fmt: skip
        answer = report_status(stack, f"github:acme/storefront#{number}", {**report, "generation": 1})
        assert answer.status_code == 200, answer.text
    now = datetime.now(UTC)
    comment = "https://github.com/acme/storefront/issues/122#issuecomment-1"
    done = Acknowledgement(Acknowledge.COMMENT, AckState.DONE, "a-1", now, now, attempts=1, sent=True, url=comment)
    record_ack(stack, "github:acme/storefront#122", done)
    refused = "GitHub refused the reaction (403): the credential cannot write issues"
    no = Acknowledgement(Acknowledge.REACTION, AckState.REFUSED, "a-2", now, now, attempts=1, sent=True, detail=refused)
    record_ack(stack, "github:acme/storefront#119", no)


def create(stack: LocalStack, project: dict[str, object]) -> None:
    answer = api(stack, "POST", "/projects", json=project)
    assert answer.status_code == 201, answer.text


@pytest.fixture(scope="module")
def projects(stack: LocalStack, browser: WebDriver) -> Iterator[None]:
    """A GitHub project with sessions over 3 weeks and two issues opened a minute and a half ago,
    one GitHub keeps failing for, a Linear and a Jira project on the offline stand-ins, and one
    with intake off; then one tick, so each has polled."""
    stack.github.add_repo("acme", "flaky")
    stack.github.inject("server_error", repo="acme/flaky", times=None)
    storefront = stack.github.add_repo("acme", "storefront")
    opened = datetime.now(UTC) - timedelta(seconds=95)
    for title in ("Checkout button does nothing on Safari", "Add a --dry-run flag to the importer"):
        storefront.add_issue(title, labels=["agent"], created_at=opened)
    origin = "git@github.com:acme/storefront.git"
    create(stack, {"id": "storefront", "name": "Storefront", "gitOrigin": origin, "trackerIntake": {
        "enabled": True, "repo": "acme/storefront", "labels": ["agent"], "backlog": "all"}})  # fmt: skip
    create(stack, {"id": "flaky", "name": "Flaky", "trackerIntake": {
        "enabled": True, "repo": "acme/flaky", "labels": ["agent"]}})  # fmt: skip
    create(stack, {"id": "eng", "name": "Engineering (Linear)", "trackerIntake": LINEAR_RULE})
    create(stack, {"id": "proj", "name": "Widgets (Jira)", "trackerIntake": JIRA_RULE})
    create(stack, {"id": "docs-site", "name": "Docs site"})  # intake off
    seed_sessions(stack, "storefront", "acme/storefront", SEEDED)
    report_sessions(stack)
    stack.tick()
    # The page laid out at 1400x1000 whatever the window's frame takes (this module's browser alone)
    metrics = {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    yield


def tab(driver: WebDriver, name: str) -> None:
    """Open the project page's tab called `name` (WAI-ARIA tabs: role=tab), once it is there."""
    wait(driver, "[role=tab]", name).click()
    wait(driver, "[role=tab][aria-selected=true]", name)


def test_a_project_in_backoff_says_why_when_and_offers_retry(
    stack: LocalStack, browser: WebDriver, projects: None
) -> None:
    # GIVEN a project GitHub failed for on the last tick (first here: its backoff is short)
    # WHEN its page opens
    open_page(browser, stack, "/projects/flaky")
    # THEN its header says it is in backoff, until when, and offers Retry now
    header = wait(browser, "[aria-label='Project health']", "Retry now")
    assert "backoff" in header.text and "Next poll in" in header.text, header.text
    shot(browser, "view-backoff")
    assert axe_violations(browser) == []


def test_the_projects_list_shows_every_projects_state(stack: LocalStack, browser: WebDriver, projects: None) -> None:
    # GIVEN projects on GitHub, Linear and Jira, one in backoff and one with intake off
    # WHEN the dashboard opens
    open_page(browser, stack)
    # THEN each is listed with its state in words
    for project in ("storefront", "flaky", "eng", "proj", "docs-site"):
        wait(browser, ".projects", project)
    assert "intake off" in body(browser)
    shot(browser, "view-projects")
    assert axe_violations(browser) == []


def test_the_sessions_tab_shows_the_table_and_the_charts(stack: LocalStack, browser: WebDriver, projects: None) -> None:
    # GIVEN a project with sessions over 3 weeks WHEN its page opens
    open_page(browser, stack, "/projects/storefront")
    # THEN the health header, the sessions table and both charts are there
    wait(browser, "[aria-label='Project health']")
    wait(browser, "table[aria-label='Sessions'] tbody tr")
    wait(browser, "figure figcaption", "Sessions started per day")
    wait(browser, "figure figcaption", "Pickup latency")
    shot(browser, "view-sessions")
    assert axe_violations(browser) == []
    # AND below the table, the charts have their axes
    chart = wait(browser, "figure", "Sessions started per day")
    assert chart.find_elements(By.CSS_SELECTOR, "svg .visx-axis-bottom, svg [class*=axis]"), chart.text
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", chart)
    shot(browser, "view-charts")


def test_the_activity_tab_lists_the_recent_polls(stack: LocalStack, browser: WebDriver, projects: None) -> None:
    # GIVEN a project polled on the last tick WHEN its Activity tab opens
    open_page(browser, stack, "/projects/storefront")
    tab(browser, "Activity")
    # THEN each recorded poll is listed, newest first: the tick's, which started sessions
    polls = api(stack, "GET", "/projects/storefront/polls").json()["items"]
    wait(browser, "table[aria-label='Recent polls'] tbody tr", "changed")
    rows = browser.find_elements(By.CSS_SELECTOR, "table[aria-label='Recent polls'] tbody tr")
    assert len(rows) == len(polls) >= 1 and polls[0]["newSessions"], polls
    shot(browser, "view-activity")
    assert axe_violations(browser) == []


def test_the_settings_tab_summarises_the_rule_and_opens_the_form(
    stack: LocalStack, browser: WebDriver, projects: None
) -> None:
    # GIVEN a GitHub project WHEN its Settings tab opens
    open_page(browser, stack, "/projects/storefront")
    tab(browser, "Settings")
    # THEN the rule is summarised, read-only
    panel = wait(browser, "[role=tabpanel]", "acme/storefront")
    assert "agent" in panel.text, panel.text
    shot(browser, "view-settings")
    assert axe_violations(browser) == []
    # AND WHEN Edit settings is pressed THEN the form opens
    button(browser, "Edit settings").click()
    wait(browser, "form")
    shot(browser, "view-settings-form")
    assert axe_violations(browser) == []


def test_the_create_dialog_shows_the_intake_fields_only_with_intake_on(
    stack: LocalStack, browser: WebDriver, projects: None
) -> None:
    # GIVEN the create dialog, intake off
    open_page(browser, stack)
    button(browser, "New project").click()
    dialog = wait(browser, "[role=dialog]")
    field(browser, "Project id").send_keys("gadgets")
    field(browser, "Git origin").send_keys("git@github.com:acme/gadgets.git")
    # THEN no intake field shows, and Create is within the window
    assert "Labels" not in dialog.text, dialog.text
    shot(browser, "view-create-off")
    assert axe_violations(browser) == []
    # AND WHEN intake is switched on THEN its fields show
    field(browser, "Tracker intake").click()
    wait(browser, "[role=dialog]", "Labels")
    shot(browser, "view-create-on")
    assert axe_violations(browser) == []


def sessions_of(stack: LocalStack, browser: WebDriver, project: str, chip: str) -> str:
    """The first row of `project`'s sessions table that holds `chip`, once its page has opened."""
    open_page(browser, stack, f"/projects/{project}")
    return str(wait(browser, "table[aria-label='Sessions'] tbody tr", chip).text)


def test_a_linear_projects_sessions_show_their_team_keys(stack: LocalStack, browser: WebDriver, projects: None) -> None:
    # GIVEN a Linear project polled on the last tick WHEN its page opens
    row = sessions_of(stack, browser, "eng", "ENG-")
    # THEN its sessions carry Linear's identifiers (ENG-123), not a GitHub number
    assert "#" not in row.split()[0], row
    shot(browser, "view-linear")
    assert axe_violations(browser) == []


def test_a_jira_projects_sessions_show_their_issue_keys(stack: LocalStack, browser: WebDriver, projects: None) -> None:
    # GIVEN a Jira project polled on the last tick WHEN its page opens
    row = sessions_of(stack, browser, "proj", "PROJ-")
    # THEN its sessions carry Jira's keys (PROJ-123)
    assert "#" not in row.split()[0], row
    shot(browser, "view-jira")
    assert axe_violations(browser) == []
