"""The subject project's tracker, seen through what the fault matrix needs of it: its issues and
the oracle of which are eligible, its rule, its faults, and its requests as the world reads them.

The world (world.py) is the same for every tracker: the `healthy` project is always acme/healthy
on the GitHub stand-in, and `subject` is either acme/subject on the same stand-in (the GitHub
column, sharing the token with `healthy`), team ENG of workspace acme on the Linear stand-in
(the Linear column, on its own key: the Linear stand-in's faults are not aimed at a team, so a
Linear `healthy` project would meet them too) or project PROJ of site acme.atlassian.net on the
Jira stand-in (the Jira column, on its own email and API token, for the same reason). Cases never
branch on the tracker; what differs lives here, as in tests/trackers/boards.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from harness import JIRA_TOKEN, LINEAR_KEY, TOKEN

from intake_dev.fake_github import FakeGitHub
from intake_dev.fake_jira import FakeJira
from intake_dev.fake_jira import IssueSnapshot as JiraIssue
from intake_dev.fake_linear import BotActor, FakeLinear, IssueSnapshot
from tracker_intake.adapters.github_token import token_key
from tracker_intake.domain.credentials import jira_key, linear_key

if TYPE_CHECKING:
    from reliability.world import World

TRACKERS = ("github", "linear", "jira")
LABEL = "agent"
EXCLUDED = {"in-progress", "in-review"}
SUBJECT_REPO = "acme/subject"
LINEAR_TEAM = "ENG"
MEMBER, GUEST = "member@acme.test", "guest@acme.test"
# The GitHub stand-in's faults, by the status each answers with.
GITHUB_FAULT_OF_STATUS = {500: "server_error", 502: "bad_gateway", 503: "service_unavailable", 504: "gateway_timeout"}


@dataclass(frozen=True)
class SeenRequest:
    """A request from a stand-in's log: where it went (a repository, a team), its status, its path."""

    where: str | None
    status: int
    path: str


class Subject(Protocol):
    provider: str  # "github" | "linear" | "jira": the column
    name: str  # "GitHub" | "Linear" | "Jira", as check names say it
    where: str  # how the timeline names the subject's requests
    credential: str  # the budget key of the subject's credential
    shares_credential_with_healthy: bool
    env: dict[str, str]  # what the poller's and dispatcher's settings add (the tracker's URL)
    linear_key: str | None
    jira_token: tuple[str, str] | None

    def seed(self) -> dict[str, bool]:
        """The subject's issues (two pages of a full read): canonical id -> eligible by the test's oracle."""
        ...

    def rule(self) -> dict[str, Any]:
        """The subject's `trackerIntake` rule (without `enabled`)."""
        ...

    def issue(self, title: str) -> str:
        """The canonical id of the seeded issue with this title."""
        ...

    def add_issue(self, title: str) -> str:
        """A new eligible issue; its canonical id."""
        ...

    def fail(self, world: World, status: int, *, times: int = 1, page: int | None = None) -> None:
        """Answer the subject's next `times` requests with `status` (`page`: only that page's request)."""
        ...

    def reset(self, times: int = 1) -> None:
        """Reset the connection of the subject's next `times` requests."""
        ...

    def low_budget(self) -> None:
        """Leave the credential a low budget (it is recorded for the dispatcher's pacing)."""
        ...

    def new_requests(self) -> list[SeenRequest]:
        """Requests the subject's own stand-in received since the last call (none: the world reads
        the GitHub stand-in's log for both projects)."""
        ...

    def settled(self, requests: list[SeenRequest]) -> tuple[str, bool]:
        """The check that a steady tick's subject requests show nothing changed: its name, whether it holds."""
        ...


def eligible_on_github(issue: dict[str, Any]) -> bool:
    """The test's own oracle of docs/design.md's eligibility rule (independent of the domain code)."""
    names = {(label if isinstance(label, str) else label["name"]).casefold() for label in issue["labels"]}
    return issue["state"] == "open" and "pull_request" not in issue and LABEL in names and not (names & EXCLUDED)


class GitHubSubject:
    """acme/subject on the GitHub stand-in: 101 + 4 issues under the `agent` filter, with a pull
    request, excluded, unlabelled, other-labelled and closed issues."""

    provider, name, where = "github", "GitHub", SUBJECT_REPO
    shares_credential_with_healthy = True
    linear_key: str | None = None
    jira_token: tuple[str, str] | None = None

    def __init__(self, github: FakeGitHub) -> None:
        self.github = github
        self.credential = token_key(TOKEN)
        self.env: dict[str, str] = {}
        self._numbers: dict[str, int] = {}

    def canonical(self, number: int) -> str:
        return f"github:{SUBJECT_REPO}#{number}"

    def seed(self) -> dict[str, bool]:
        subject = self.github.add_repo("acme", "subject")
        subject.add_issue("eligible 1", labels=[LABEL])  # 1
        subject.add_issue("eligible 2", labels=[LABEL, "bug"])  # 2
        subject.add_issue("a pull request", labels=[LABEL], pull_request=True)  # 3
        subject.add_issue("being worked on", labels=[LABEL, "in-progress"])  # 4
        subject.add_issue("no label")  # 5
        subject.add_issue("other label", labels=["docs"])  # 6
        subject.add_issue("closed", labels=[LABEL], state="closed")  # 7
        for n in range(97):  # 8..104: fill page 1 (100 listed) and spill one onto page 2
            subject.add_issue(f"in review {n}", labels=[LABEL, "in-review"])
        subject.add_issue("eligible on page 2", labels=[LABEL])  # 105
        subject.add_issue("eligible on page 2 too", labels=["Agent"], assignees=["octocat"])  # 106
        subject.add_issue("excluded on page 2", labels=[LABEL, "In-Progress"])  # 107
        issues = self.github.repo(SUBJECT_REPO).issues()
        self._numbers = {issue["title"]: issue["number"] for issue in issues}
        return {self.canonical(issue["number"]): eligible_on_github(issue) for issue in issues}

    def rule(self) -> dict[str, Any]:
        return {"repo": SUBJECT_REPO, "labels": [LABEL]}

    def issue(self, title: str) -> str:
        return self.canonical(self._numbers[title])

    def add_issue(self, title: str) -> str:
        return self.canonical(self.github.repo(SUBJECT_REPO).add_issue(title, labels=[LABEL])["number"])

    def fail(self, world: World, status: int, *, times: int = 1, page: int | None = None) -> None:
        self.github.inject(GITHUB_FAULT_OF_STATUS[status], repo=SUBJECT_REPO, times=times, page=page)

    def reset(self, times: int = 1) -> None:
        self.github.inject("connection_reset", repo=SUBJECT_REPO, times=times, page=None)

    def low_budget(self) -> None:
        self.github.set_rate_limit(TOKEN, remaining=60)

    def new_requests(self) -> list[SeenRequest]:
        return []

    def settled(self, requests: list[SeenRequest]) -> tuple[str, bool]:
        statuses = [r.status for r in requests]
        return "subject settled: every page answered 304", bool(statuses) and set(statuses) == {304}


# The subject's team as a full read lists it, newest first (pages of 10, linear.PAGE_SIZE): each
# issue's title, labels and creator's email (None: an integration's issue, a botActor).
LINEAR_LISTED: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("eligible 1", (LABEL,), MEMBER),
    ("eligible 2", (LABEL, "bug"), MEMBER),
    ("by a guest", (LABEL,), GUEST),
    ("by an integration", (LABEL,), None),  # an APP, not trusted by default
    ("being worked on", (LABEL, "in-progress"), MEMBER),
    *((f"in review {n}", (LABEL, "in-review"), MEMBER) for n in range(5)),
    # page 2
    ("eligible on page 2", (LABEL,), MEMBER),
    ("eligible on page 2 too", ("Agent",), MEMBER),
    ("excluded on page 2", (LABEL, "In-Progress"), MEMBER),
)
# Issues of the team a read never lists: no label, another label, closed.
LINEAR_UNLISTED: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("no label", (), "unstarted"),
    ("other label", ("docs",), "unstarted"),
    ("closed", (LABEL,), "completed"),
)


def eligible_on_linear(issue: IssueSnapshot, guests: set[str]) -> bool:
    """The oracle for Linear: open (not completed, canceled or archived), labelled `agent` (any
    case), no excluded label, created by a member (the default `authors`: not a guest, not an app)."""
    names = {label.casefold() for label in issue.labels}
    open_state = issue.state_type not in ("completed", "canceled") and issue.archived_at_ms is None
    by_member = issue.creator is not None and issue.creator not in guests
    return open_state and LABEL in names and not (names & EXCLUDED) and by_member


class LinearSubject:
    """Team ENG on the Linear stand-in: two pages of a full read (10 + 3), a guest's issue, an
    integration's, excluded, unlabelled, other-labelled and closed issues; polled with its own key."""

    provider, name, where = "linear", "Linear", f"linear:{LINEAR_TEAM}"
    shares_credential_with_healthy = False
    linear_key: str | None = LINEAR_KEY
    jira_token: tuple[str, str] | None = None

    def __init__(self, linear: FakeLinear) -> None:
        self.linear = linear
        self.credential = linear_key(LINEAR_KEY)
        self.env = {"LINEAR_API_URL": linear.url}
        self._ids: dict[str, str] = {}
        self._seen = 0
        linear.add_team(LINEAR_TEAM)
        linear.add_user(MEMBER, "Mia Member")
        linear.add_user(GUEST, "Gus Guest", guest=True)
        linear.add_api_key(LINEAR_KEY, user=MEMBER)

    def canonical(self, issue_id: str) -> str:
        return f"linear:{self.linear.url_key}/{issue_id}"

    def seed(self) -> dict[str, bool]:
        # updatedAt a second apart, newest first, so the pages hold what LINEAR_LISTED says.
        newest = self.linear.now_ms() - 60_000
        seeded: list[IssueSnapshot] = []
        for n, (title, labels, creator) in enumerate(LINEAR_LISTED):
            bot = BotActor("integration", "Zapier") if creator is None else None
            seeded.append(
                self.linear.add_issue(
                    LINEAR_TEAM, title, labels=labels, creator=creator, bot_actor=bot, at=newest - 1000 * n
                )
            )
        for title, labels, state in LINEAR_UNLISTED:
            seeded.append(
                self.linear.add_issue(
                    LINEAR_TEAM, title, labels=labels, creator=MEMBER, state_type=state, at=newest - 100_000
                )
            )
        self._ids = {issue.title: self.canonical(issue.id) for issue in seeded}
        guests = {GUEST}
        return {self.canonical(issue.id): eligible_on_linear(issue, guests) for issue in seeded}

    def rule(self) -> dict[str, Any]:
        return {"provider": "linear", "team": LINEAR_TEAM, "labels": [LABEL]}

    def issue(self, title: str) -> str:
        return self._ids[title]

    def add_issue(self, title: str) -> str:
        return self.canonical(self.linear.add_issue(LINEAR_TEAM, title, labels=[LABEL], creator=MEMBER).id)

    def fail(self, world: World, status: int, *, times: int = 1, page: int | None = None) -> None:
        if page is None:
            self.linear.fail_next(times, status=status)
            return
        assert page == 2, "the subject has two pages"
        # The stand-in fails the next requests, whoever sends them: armed as page 1's claims are
        # read, the fault meets the request for page 2.
        world.after_dynamodb_call("get_claims", lambda: self.linear.fail_next(times, status=status))

    def reset(self, times: int = 1) -> None:
        self.linear.reset_next(times)

    def low_budget(self) -> None:
        self.linear.set_remaining(LINEAR_KEY, requests=60)

    def spend(self, *, requests: int | None = None, points: int | None = None) -> Callable[[], None]:
        """What spends the key's buckets when it runs (the buckets refill as the clock moves)."""
        return lambda: self.linear.set_remaining(LINEAR_KEY, requests=requests, points=points)

    def new_requests(self) -> list[SeenRequest]:
        log = self.linear.requests
        fresh = [SeenRequest(self.where, r.status, r.operation_name or r.path) for r in log[self._seen :]]
        self._seen = len(log)
        return fresh

    def settled(self, requests: list[SeenRequest]) -> tuple[str, bool]:
        # No validators: a steady poll is one query for what changed since the watermark.
        statuses = [r.status for r in requests]
        return "subject settled: one query for changes, answered 200", statuses == [200]


JIRA_SITE, JIRA_PROJECT = "acme.atlassian.net", "PROJ"
JIRA_SEARCH, JIRA_MYSELF = "/rest/api/3/search/jql", "/rest/api/3/myself"
CUSTOMER, APP_BOT = "carl@customer.test", "zapier-bot@apps.test"
# The subject's project as a full read lists it: open (`statusCategory != Done`), labelled `agent`
# (Jira matches labels ignoring case), oldest `updated` first (the adapter's ORDER BY), pages of 50
# (jira.PAGE_SIZE): each issue's summary, labels and reporter's email.
JIRA_LISTED: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("eligible 1", (LABEL,), MEMBER),
    ("eligible 2", (LABEL, "bug"), MEMBER),
    ("by a customer", (LABEL,), CUSTOMER),  # a Jira Service Management portal customer
    ("by an app", (LABEL,), APP_BOT),  # an app's bot user
    ("being worked on", (LABEL, "in-progress"), MEMBER),
    *((f"in review {n}", (LABEL, "in-review"), MEMBER) for n in range(45)),
    # page 2
    ("eligible on page 2", (LABEL,), MEMBER),
    ("eligible on page 2 too", ("Agent",), MEMBER),
    ("excluded on page 2", (LABEL, "In-Progress"), MEMBER),
)
# Issues of the project a read never lists: no label, another label, done.
JIRA_UNLISTED: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("no label", (), "new"),
    ("other label", ("docs",), "indeterminate"),
    ("done", (LABEL,), "done"),
)


def eligible_on_jira(issue: JiraIssue, members: set[str]) -> bool:
    """The oracle for Jira: open (status category not Done), labelled `agent` (any case), no
    excluded label, reported by a licensed user of the site (the default `authors`: not a
    customer, not an app)."""
    names = {label.casefold() for label in issue.labels}
    by_member = issue.reporter is not None and issue.reporter in members
    return issue.status_category != "done" and LABEL in names and not (names & EXCLUDED) and by_member


class JiraSubject:
    """Project PROJ on the Jira stand-in: two pages of a full read (50 + 3), a customer's issue,
    an app's, excluded, unlabelled, other-labelled and done issues; polled with its own email and
    API token (harness.JIRA_TOKEN)."""

    provider, name, where = "jira", "Jira", f"jira:{JIRA_PROJECT}"
    shares_credential_with_healthy = False
    linear_key: str | None = None
    jira_token: tuple[str, str] | None = JIRA_TOKEN

    def __init__(self, jira: FakeJira) -> None:
        self.jira = jira
        email, token = JIRA_TOKEN
        self.credential = jira_key(f"{email}:{token}")
        self.env = {"JIRA_API_URL": jira.base_url}
        self._ids: dict[str, str] = {}
        self._seen = 0
        jira.add_project(JIRA_PROJECT)
        jira.add_user(email)
        self.member = jira.add_user(MEMBER)
        jira.add_user(CUSTOMER, account_type="customer")
        jira.add_user(APP_BOT, account_type="app")
        jira.add_api_token(email, token)

    def canonical(self, issue_id: str) -> str:
        return f"jira:{JIRA_SITE}/{issue_id}"

    def seed(self) -> dict[str, bool]:
        # updated a minute apart, oldest first, so the pages hold what JIRA_LISTED says. (A JQL
        # date has minute resolution: issues a second apart would all be read again by every
        # search from the watermark's minute, two pages of them.)
        oldest = self.jira.now_ms() - 60_000 * (len(JIRA_LISTED) + 5)
        seeded: list[JiraIssue] = []
        for n, (summary, labels, reporter) in enumerate(JIRA_LISTED):
            seeded.append(
                self.jira.add_issue(JIRA_PROJECT, summary, labels=labels, reporter=reporter, at=oldest + 60_000 * n)
            )
        for summary, labels, category in JIRA_UNLISTED:
            seeded.append(
                self.jira.add_issue(
                    JIRA_PROJECT, summary, labels=labels, reporter=MEMBER, status_category=category, at=oldest
                )
            )
        self._ids = {issue.summary: self.canonical(issue.id) for issue in seeded}
        members = {self.member}
        return {self.canonical(issue.id): eligible_on_jira(issue, members) for issue in seeded}

    def rule(self) -> dict[str, Any]:
        return {"provider": "jira", "site": JIRA_SITE, "project": JIRA_PROJECT, "labels": [LABEL]}

    def issue(self, title: str) -> str:
        return self._ids[title]

    def add_issue(self, title: str) -> str:
        return self.canonical(self.jira.add_issue(JIRA_PROJECT, title, labels=[LABEL], reporter=MEMBER).id)

    def fail(self, world: World, status: int, *, times: int = 1, page: int | None = None) -> None:
        if page is None:
            self.jira.fail_next(times, status=status)
            return
        assert page == 2, "the subject has two pages"
        # As on Linear: the stand-in fails the next requests, so the fault is armed as page 1's
        # claims are read, and meets the request for page 2.
        world.after_dynamodb_call("get_claims", lambda: self.jira.fail_next(times, status=status))

    def reset(self, times: int = 1) -> None:
        self.jira.reset_next(times)

    def low_budget(self) -> None:
        # An API token has no points quota (only OAuth apps do); what it meets is the burst limit,
        # whose answers say what is left only when it refuses. Nothing to leave low.
        pass

    def throttle(self, seconds: float, reason: str = "jira-burst-based") -> Callable[[], None]:
        """What makes Jira answer 429 (Retry-After `seconds`, `reason`) when it runs."""
        return lambda: self.jira.throttle_for(seconds, reason=reason)

    def new_requests(self) -> list[SeenRequest]:
        log = self.jira.requests
        fresh = [SeenRequest(self.where, r.status, r.path) for r in log[self._seen :]]
        self._seen = len(log)
        return fresh

    def settled(self, requests: list[SeenRequest]) -> tuple[str, bool]:
        # No validators: a steady poll is one search for what changed since the watermark. A
        # container's first search with a lower bound reads the user's time zone first (a JQL
        # date is in that zone), once: after a full read, that can be the steady tick's poll.
        searches = [r.status for r in requests if r.path == JIRA_SEARCH]
        others = [(r.path, r.status) for r in requests if r.path != JIRA_SEARCH]
        zone_once = others in ([], [(JIRA_MYSELF, 200)])
        return "subject settled: one search for changes, answered 200", searches == [200] and zone_once
