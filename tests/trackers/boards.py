"""One contract, every tracker: a `Board` is a tracker's stand-in seen through what the contract
suites need of it (add a matching issue, change one, close one, spend the credential's budget,
fail requests), and the `board` fixture runs each test once per tracker, on the real handlers
over moto (`harness.Pipeline`).

Each board's methods say, in their docstrings, what they do on that tracker's stand-in; the
tests never branch on the tracker.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

import pytest
from harness import JIRA_TOKEN, LINEAR_KEY, TOKEN, Pipeline

from intake_dev.fake_github import FakeGitHub
from intake_dev.fake_jira import FakeJira
from intake_dev.fake_linear import FakeLinear
from tracker_intake.adapters.jira import adf_text

LABEL = "agent"
# The GitHub stand-in's faults, by the status each answers with.
FAULT_OF_STATUS = {500: "server_error", 502: "bad_gateway", 503: "service_unavailable", 504: "gateway_timeout"}


class Board(Protocol):
    provider: str
    pipe: Pipeline

    def rule(self, **extra: Any) -> dict[str, Any]:
        """A `trackerIntake` rule that watches this board for the `agent` label."""
        ...

    def add(self, title: str, *, labels: tuple[str, ...] = (LABEL,), trusted: bool = True) -> str:
        """A new open issue; its canonical id. `trusted` False: by an author the default rule refuses."""
        ...

    def relabel(self, issue_id: str, labels: tuple[str, ...]) -> None:
        """Set the issue's labels (which changes it on the tracker)."""
        ...

    def close(self, issue_id: str) -> None: ...

    def fail_next(self, n: int, status: int = 502) -> None:
        """Answer the next `n` requests with `status`."""
        ...

    def heal(self) -> None:
        """Drop the faults still waiting."""
        ...

    def spend_budget(self) -> None:
        """Leave the credential no request: the tracker refuses the next one as rate-limited."""
        ...

    def requests(self) -> int:
        """Requests the stand-in has answered (faults included)."""
        ...

    def comments(self, issue_id: str) -> list[str]:
        """The bodies of the issue's comments."""
        ...

    def reactions(self, issue_id: str) -> int:
        """How many reactions the issue has."""
        ...

    def labels(self, issue_id: str) -> list[str]:
        """The names of the issue's labels."""
        ...


class GitHubBoard:
    """acme/app on the GitHub stand-in; an untrusted author is `NONE` to the repository."""

    provider = "github"

    def __init__(self, pipe: Pipeline, github: FakeGitHub) -> None:
        self.pipe = pipe
        self.github = github
        self.repo = github.add_repo("acme", "app")

    def rule(self, **extra: Any) -> dict[str, Any]:
        return {"repo": "acme/app", "labels": [LABEL], **extra}

    def add(self, title: str, *, labels: tuple[str, ...] = (LABEL,), trusted: bool = True) -> str:
        association = "COLLABORATOR" if trusted else "NONE"
        issue = self.repo.add_issue(title, labels=list(labels), author_association=association)
        return f"github:acme/app#{issue['number']}"

    def _number(self, issue_id: str) -> int:
        return int(issue_id.rpartition("#")[2])

    def relabel(self, issue_id: str, labels: tuple[str, ...]) -> None:
        self.repo.update_issue(self._number(issue_id), labels=[{"name": label} for label in labels])

    def close(self, issue_id: str) -> None:
        self.repo.close_issue(self._number(issue_id))

    def fail_next(self, n: int, status: int = 502) -> None:
        self.github.inject(FAULT_OF_STATUS[status], times=n)

    def heal(self) -> None:
        self.github.clear_faults()

    def spend_budget(self) -> None:
        self.github.set_rate_limit(TOKEN, remaining=0, reset_in=600)

    def requests(self) -> int:
        return len(self.github.requests)

    def comments(self, issue_id: str) -> list[str]:
        return [c["body"] for c in self.repo.comments(self._number(issue_id))]

    def reactions(self, issue_id: str) -> int:
        return len(self.repo.reactions(self._number(issue_id)))

    def labels(self, issue_id: str) -> list[str]:
        return [label["name"] for label in self.repo.issue(self._number(issue_id))["labels"]]


class LinearBoard:
    """Team ENG on the Linear stand-in; an untrusted author is a guest of the workspace."""

    provider = "linear"

    def __init__(self, pipe: Pipeline, linear: FakeLinear) -> None:
        self.pipe = pipe
        self.linear = linear
        linear.add_team("ENG")
        linear.add_user("member@acme.test", "Mia Member")
        linear.add_user("guest@acme.test", "Gus Guest", guest=True)
        linear.add_api_key(LINEAR_KEY, user="member@acme.test")

    def rule(self, **extra: Any) -> dict[str, Any]:
        return {"provider": "linear", "team": "ENG", "labels": [LABEL], **extra}

    def add(self, title: str, *, labels: tuple[str, ...] = (LABEL,), trusted: bool = True) -> str:
        creator = "member@acme.test" if trusted else "guest@acme.test"
        issue = self.linear.add_issue("ENG", title, labels=list(labels), creator=creator)
        return f"linear:acme/{issue.id}"

    def _id(self, issue_id: str) -> str:
        return issue_id.rpartition("/")[2]

    def relabel(self, issue_id: str, labels: tuple[str, ...]) -> None:
        self.linear.update_issue(self._id(issue_id), labels=list(labels))

    def close(self, issue_id: str) -> None:
        self.linear.close_issue(self._id(issue_id))

    def fail_next(self, n: int, status: int = 502) -> None:
        self.linear.fail_next(n, status=status)

    def heal(self) -> None:
        self.linear.clear_faults()

    def spend_budget(self) -> None:
        self.linear.set_remaining(LINEAR_KEY, requests=0)

    def requests(self) -> int:
        return len(self.linear.requests)

    def comments(self, issue_id: str) -> list[str]:
        return [c.body for c in self.linear.issue_comments(self._id(issue_id))]

    def reactions(self, issue_id: str) -> int:
        return len(self.linear.issue_reactions(self._id(issue_id)))

    def labels(self, issue_id: str) -> list[str]:
        return list(self.linear.snapshot(self._id(issue_id)).labels)


def later(board: Board, seconds: float = 61) -> None:
    """Move the pipeline's clock (and with it every stand-in's) on."""
    board.pipe.clock.advance(timedelta(seconds=seconds).total_seconds())


class JiraBoard:
    """Project PROJ on the Jira stand-in (site acme.atlassian.net); an untrusted author is a Jira
    Service Management customer. Search shows a change at once here (its lag is the Jira suite's)."""

    provider = "jira"
    site = "acme.atlassian.net"

    def __init__(self, pipe: Pipeline, jira: FakeJira) -> None:
        self.pipe = pipe
        self.jira = jira
        jira.add_project("PROJ")
        email, token = JIRA_TOKEN
        jira.add_user(email)
        self.member = jira.add_user("mia@acme.test")
        self.customer = jira.add_user("carl@customer.test", account_type="customer")
        jira.add_api_token(email, token)

    def rule(self, **extra: Any) -> dict[str, Any]:
        if extra.get("acknowledge") == "reaction":
            pytest.skip("Jira has no reactions: a Jira rule refuses acknowledge: reaction")
        return {"provider": "jira", "site": self.site, "project": "PROJ", "labels": [LABEL], **extra}

    def add(self, title: str, *, labels: tuple[str, ...] = (LABEL,), trusted: bool = True) -> str:
        reporter = self.member if trusted else self.customer
        issue = self.jira.add_issue("PROJ", title, labels=list(labels), reporter=reporter)
        return f"jira:{self.site}/{issue.id}"

    def _id(self, issue_id: str) -> str:
        return issue_id.rpartition("/")[2]

    def relabel(self, issue_id: str, labels: tuple[str, ...]) -> None:
        self.jira.update_issue(self._id(issue_id), labels=list(labels))

    def close(self, issue_id: str) -> None:
        self.jira.close_issue(self._id(issue_id))

    def fail_next(self, n: int, status: int = 502) -> None:
        self.jira.fail_next(n, status=status)

    def heal(self) -> None:
        self.jira.clear_faults()

    def spend_budget(self) -> None:
        self.jira.throttle_for(600)

    def requests(self) -> int:
        return len(self.jira.requests)

    def comments(self, issue_id: str) -> list[str]:
        return [adf_text(c.body) for c in self.jira.comments(self._id(issue_id))]

    def reactions(self, issue_id: str) -> int:
        return 0

    def labels(self, issue_id: str) -> list[str]:
        return list(self.jira.labels(self._id(issue_id)))
