"""The browser tests' shared fixtures and helpers: the local stack (the real handlers on moto, the
GitHub stand-in on loopback), Debian's headless Chromium driven by Selenium, and the helpers that
find, wait for, photograph and axe-check what the dashboard shows.

Fixtures are module-scoped: each test file gets its own stack and browser, shared by its tests.
Test files import the helpers with `from conftest import ...`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import quote

import pytest
import requests
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from intake_dev import chromium
from intake_dev.local import LocalOptions, LocalStack, running
from intake_dev.template import REPO_ROOT
from tracker_intake.adapters.dynamodb import DynamoLedger, DynamoTable
from tracker_intake.domain.records import Acknowledgement, Claim, ClaimStatus, IssueSnapshot, SessionStatus
from tracker_intake.domain.signing import report_signature

AXE = REPO_ROOT / "dashboard" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = REPO_ROOT / "reports" / "screenshots"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    log = tmp_path_factory.mktemp("dashboard") / "local.log"
    with running(LocalOptions(port=0, aws_port=0, offline=True, log_file=log)) as local:
        yield local


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    # CSP violations are logged in the browser's log
    driver = chromium.driver(1200, 1000, {"goog:loggingPrefs": {"browser": "ALL"}})
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


# --- helpers -------------------------------------------------------------------------------------


def wait(driver: WebDriver, css: str, text: str | None = None, timeout: float = 15) -> WebElement:
    """The first element matching `css` (holding `text`, if given) once it is there."""

    def found(d: WebDriver) -> WebElement | bool:
        try:
            for element in d.find_elements(By.CSS_SELECTOR, css):
                if text is None or text in element.text:
                    return element
        except StaleElementReferenceException:  # React replaced it while we looked: look again
            pass
        return False

    try:
        element = cast(WebElement, WebDriverWait(driver, timeout).until(found))
    except TimeoutException:
        raise AssertionError(
            f"{css!r} {'with ' + repr(text) if text else ''} never appeared:\n{body(driver)}"
        ) from None
    return element


def until(driver: WebDriver, condition: Callable[[WebDriver], object], timeout: float = 10) -> None:
    """Wait for `condition`, looking again when React replaced an element mid-look."""
    WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def body(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


def field(driver: WebDriver, label: str) -> WebElement:
    """The control a visible <label> names (how a screen reader finds it, too)."""
    for element in driver.find_elements(By.TAG_NAME, "label"):
        if element.text.strip() == label:
            target = element.get_attribute("for")
            return driver.find_element(By.ID, str(target))
    raise AssertionError(f"no field labelled {label!r}:\n{body(driver)}")


def choice(driver: WebDriver, text: str) -> WebElement:
    """The radio button or check box whose wrapping <label> starts with `text`."""
    for element in driver.find_elements(By.CSS_SELECTOR, "label.choice"):
        if element.text.strip().startswith(text):
            return element.find_element(By.TAG_NAME, "input")
    raise AssertionError(f"no choice {text!r}:\n{body(driver)}")


def button(driver: WebDriver, name: str) -> WebElement:
    for element in driver.find_elements(By.TAG_NAME, "button"):
        if element.text.strip() == name or element.get_attribute("aria-label") == name:
            return element
    raise AssertionError(f"no button {name!r}:\n{body(driver)}")


def shot(driver: WebDriver, name: str) -> None:
    """The page as it is now, whole (the window grows to its height for the picture)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(1200, max(1000, min(height, 4000)))
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    driver.set_window_size(1200, 1000)


def axe_violations(driver: WebDriver) -> list[dict[str, Any]]:
    driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then(r => done(r.violations.map("
        "v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target)}))));"
    )
    return cast(list[dict[str, Any]], result)


def api(stack: LocalStack, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{stack.api_url}{path}", timeout=10, **kwargs)


def open_page(driver: WebDriver, stack: LocalStack, route: str = "/") -> None:
    """A fresh load of the page at `route` (a change of hash alone would keep the app's state)."""
    driver.get(f"{stack.api_url}/#{route}")
    driver.refresh()


# --- seeding ---------------------------------------------------------------------------------------


def report_status(stack: LocalStack, issue_id: str, body: dict[str, Any]) -> requests.Response:
    """What a session backend sends: the status, signed with the stack's webhook key."""
    text = json.dumps(body)
    stamp = str(int(time.time()))
    signature = report_signature(stack.options.webhook_secret, stamp, "POST", issue_id, text.encode())
    headers = {"Content-Type": "application/json", "X-Intake-Timestamp": stamp, "X-Intake-Signature": signature}
    return api(stack, "POST", f"/sessions/{quote(issue_id, safe='')}/status", data=text, headers=headers)


def ledger(stack: LocalStack) -> DynamoLedger:
    """The stack's ledger, as its handlers read and write it."""
    return DynamoLedger(DynamoTable(stack.resources["table_name"], client=stack.dynamodb))


def seeded_claim(
    repo: str,
    project_id: str,
    number: int,
    status: ClaimStatus,
    claimed: datetime,
    title: str,
    picked_up_after: timedelta,
    session_status: SessionStatus | None = None,
) -> Claim:
    """Issue `number` of `repo` (labelled agent) as a poll claimed it `picked_up_after` its last
    update and a launch left it: a launched one with its session, a failed one with the reason."""
    url = f"https://github.com/{repo}/issues/{number}"
    updated = (claimed - picked_up_after).isoformat()
    return Claim(
        canonical_id=f"github:{repo}#{number}",
        project_id=project_id,
        status=status,
        claim_token=f"seed-{number}",
        claimed_at=claimed,
        issue=IssueSnapshot(number, title, url, ("agent",), (), "", None, updated_at=updated),
        updated_at=claimed + timedelta(seconds=4),
        session_ref=f"session-{number}" if status is ClaimStatus.LAUNCHED else None,
        session_status=session_status,
        reason="the session backend answered 503" if status is ClaimStatus.FAILED else None,
    )


def put_claims(stack: LocalStack, claims: Iterable[Claim]) -> None:
    """Claims put in the stack's ledger as a poll puts them."""
    into = ledger(stack)
    for claim in claims:
        assert into.put_claim(claim), claim.canonical_id


def record_ack(stack: LocalStack, issue_id: str, ack: Acknowledgement) -> None:
    """What a launcher records on a launched claim once it acknowledged (or tried to) on the issue."""
    claims = ledger(stack)
    claim = claims.get_claim(issue_id)
    assert claim is not None and claim.ack is None, claim
    assert claims.save_ack(claim, ack, None)
