"""`intake demo` (what `make demo` runs): the offline walk-through, step by step.

It starts `intake local --offline` in-process on free ports, drives it through the real CLI,
and checks each claim it makes; the exit code is 0 only if every step did what it says.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .local import HandlerOutput, LocalOptions, LocalStack

PROJECT = "widgets"
LINEAR_PROJECT = "widgets-eng"
JIRA_PROJECT = "widgets-proj"


class Demo:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.failures: list[str] = []

    def step(self, text: str) -> None:
        print(f"\n== {text}", flush=True)

    def check(self, ok: bool, claim: str) -> None:
        print(f"   {'ok ' if ok else 'FAIL'} {claim}", flush=True)
        if not ok:
            self.failures.append(claim)

    def cli(self, *args: str) -> str:
        shown = " ".join(["intake", *args])
        print(f"$ {shown}", flush=True)
        done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, "-m", "intake_cli.main", "--api-url", self.stack.api_url, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        output = (done.stdout + done.stderr).rstrip()
        if output:
            print("\n".join(f"  {line}" for line in output.splitlines()), flush=True)
        self.check(done.returncode == 0, f"`{shown}` exited 0")
        return output

    def github_statuses(self) -> list[int]:
        return [r.status for r in self.stack.github.requests_for(self.stack.sample.full_name)]

    def run(self) -> int:
        started = time.monotonic()
        repo = self.stack.sample
        self.create_project(repo)
        expected = self.first_tick(repo)
        self.unchanged_tick()
        self.new_issue_tick(repo)
        self.release(expected[0])
        linear = self.linear_project()
        jira = self.jira_project()
        return self.summary(len(expected) + 2 + len(linear) + len(jira), time.monotonic() - started)

    def create_project(self, repo: Any) -> None:
        self.step(f"1. create a project for {repo.full_name}, with intake on the label 'agent'")
        print(
            "   (--tracker-backlog all: the issues open now start sessions too; the default, new,\n"
            "   would record them without a session and start only issues that match later)",
            flush=True,
        )
        self.cli(
            "project", "create", PROJECT, "--name", "Widgets", "--git-origin", f"git@github.com:{repo.full_name}.git"
        )
        self.cli(
            "project", "set-config", PROJECT, "--tracker-intake", "--tracker-label", "agent", "--tracker-backlog", "all"
        )
        self.cli("project", "show", PROJECT)

    def first_tick(self, repo: Any) -> list[str]:
        """The first tick's sessions, checked against the sample's eligible issues; those issues."""
        self.step("2. first tick: every open issue labelled 'agent' by a trusted author becomes a session")
        self.stack.github.clear_requests()
        first = self.stack.tick()
        expected = _eligible(repo)
        self.check(
            sorted(first.new_sessions) == sorted(expected), f"{len(expected)} new sessions, one per eligible issue"
        )
        self.check(sorted(first.launched) == sorted(expected), "the launcher started each of them")
        strangers = _labelled_by_strangers(repo)
        self.check(
            bool(strangers) and not set(strangers) & set(first.new_sessions),
            f"the issue a stranger labelled 'agent' ({', '.join(strangers)}, author_association NONE) started nothing",
        )
        return expected

    def unchanged_tick(self) -> None:
        self.step("3. second tick: nothing changed, so GitHub answers 304 and nothing starts")
        self.stack.github.clear_requests()
        second = self.stack.tick()
        statuses = self.github_statuses()
        self.check(bool(statuses) and set(statuses) == {304}, f"GitHub answered {statuses} (304 costs no rate limit)")
        self.check(second.new_sessions == [], "no new session")

    def new_issue_tick(self, repo: Any) -> None:
        self.step("4. someone opens a new issue labelled 'agent'")
        issue = repo.add_issue("Widget export drops the last row", labels=["agent"], body="Repro: export 3 rows.")
        new_id = f"github:{repo.full_name}#{issue['number']}"
        print(f"   opened {new_id}", flush=True)

        self.step("5. next tick: exactly one new session")
        third = self.stack.tick()
        self.check(third.new_sessions == [new_id], f"exactly one new session: {new_id}")

    def release(self, released: str) -> None:
        self.step("6. release a claim: the issue is taken again on the next tick")
        self.cli("sessions", "release", PROJECT, released)
        fourth = self.stack.tick()
        self.check(fourth.new_sessions == [released], f"{released} started again, and nothing else")
        self.cli("sessions", "list", PROJECT)

    def linear_project(self) -> list[str]:
        """A Linear project beside the GitHub one, on the sample workspace; the sessions it started."""
        sample = self.stack.linear_sample
        self.step(f"7. a Linear project beside it: team {sample.team} of the workspace {sample.url_key}, label 'agent'")
        print(
            f"   (the offline stack serves a sample Linear workspace at {self.stack.linear.url};\n"
            "   the project is created through the config API, as the dashboard does)",
            flush=True,
        )
        self.create_linear_project(sample)
        self.step("8. next tick: each open issue labelled 'agent' by a workspace member becomes a session")
        self.stack.linear.clear_requests()
        tick = self.stack.tick()
        expected: list[str] = sample.eligible()
        started = [i for i in tick.new_sessions if i.startswith("linear:")]
        self.check(sorted(started) == sorted(expected), f"{len(expected)} new Linear sessions, one per eligible issue")
        self.check(sorted(expected) == sorted(i for i in tick.launched if i.startswith("linear:")), "each launched")
        guests = [issue.identifier for issue in sample.by_guests()]
        self.check(
            bool(guests) and not {sample.canonical_id(i) for i in sample.by_guests()} & set(started),
            f"the issue a guest labelled 'agent' ({', '.join(guests)}) started nothing",
        )
        self.check(len(self.stack.linear.requests) == 1, "one GraphQL request to Linear for the project")
        self.step("9. the CLI names each Linear session by its identifier (ENG-1) beside its canonical id")
        listing = self.cli("sessions", "list", LINEAR_PROJECT).splitlines()
        for issue in sample.current():
            if sample.canonical_id(issue) in expected:
                row = next((line for line in listing if sample.canonical_id(issue) in line), "")
                self.check(issue.identifier in row, f"{issue.identifier} beside {sample.canonical_id(issue)}")
        return expected

    def create_linear_project(self, sample: Any) -> None:
        rule = {"provider": "linear", "team": sample.team}
        self.create_through_api(LINEAR_PROJECT, "Widgets (Linear)", rule)

    def jira_project(self) -> list[str]:
        """A Jira project beside the others, on the sample site; the sessions it started."""
        sample = self.stack.jira_sample
        self.step(f"10. a Jira project beside them: project {sample.project} of the site {sample.site}, label 'agent'")
        print(
            f"   (the offline stack serves a sample Jira site at {self.stack.jira.base_url}, without search lag;\n"
            "   the project is created through the config API, as the dashboard does)",
            flush=True,
        )
        rule = {"provider": "jira", "site": sample.site, "project": sample.project}
        self.create_through_api(JIRA_PROJECT, "Widgets (Jira)", rule)
        self.step("11. next tick: each open issue labelled 'agent' by a licensed user becomes a session")
        self.stack.jira.clear_requests()
        tick = self.stack.tick()
        expected: list[str] = sample.eligible()
        started = [i for i in tick.new_sessions if i.startswith("jira:")]
        self.check(sorted(started) == sorted(expected), f"{len(expected)} new Jira sessions, one per eligible issue")
        self.check(sorted(expected) == sorted(i for i in tick.launched if i.startswith("jira:")), "each launched")
        customers = sample.by_customers()
        self.check(
            bool(customers) and not {sample.canonical_id(i) for i in customers} & set(started),
            f"the issue a JSM customer labelled 'agent' ({', '.join(i.key for i in customers)}) started nothing",
        )
        searches = [r for r in self.stack.jira.requests if r.path.endswith("/search/jql")]
        self.check(len(searches) == 1, "one search request to Jira for the project")
        self.step("12. the CLI names each Jira session by its key (PROJ-1) beside its canonical id")
        listing = self.cli("sessions", "list", JIRA_PROJECT).splitlines()
        for issue in sample.current():
            if sample.canonical_id(issue) in expected:
                row = next((line for line in listing if sample.canonical_id(issue) in line), "")
                self.check(issue.key in row, f"{issue.key} beside {sample.canonical_id(issue)}")
        return expected

    def create_through_api(self, project: str, name: str, rule: dict[str, Any]) -> None:
        import requests

        body = {
            "id": project,
            "name": name,
            "gitOrigin": f"git@github.com:{self.stack.sample.full_name}.git",
            "trackerIntake": {"enabled": True, **rule, "labels": ["agent"], "backlog": "all"},
        }
        print(f"$ POST {self.stack.api_url}/projects {json.dumps(body)}", flush=True)
        answer = requests.post(f"{self.stack.api_url}/projects", json=body, timeout=30)
        print(f"  {answer.status_code} {answer.reason}", flush=True)
        self.check(answer.status_code == 201, f"the API created {project} (201)")

    def summary(self, total: int, elapsed: float) -> int:
        """The walk-through's last words, and its exit code: 0 only if every step did what it claims."""
        self.step("summary")
        print(
            f"   {total} sessions started over 6 ticks, on GitHub, Linear and Jira;"
            f" 1 tick cost only 304 answers; {elapsed:.1f}s",
            flush=True,
        )
        if self.failures:
            print(f"   {len(self.failures)} step(s) did not do what they claim:", flush=True)
            for failure in self.failures:
                print(f"   - {failure}", flush=True)
            return 1
        print("   every step did what it claims", flush=True)
        return 0


def _eligible(repo: Any) -> list[str]:
    """What the sample's rule should take, computed from the sample itself."""
    from tracker_intake.domain.eligibility import EligibilityRule, is_eligible
    from tracker_intake.domain.issue import Issue

    out = []
    for raw in repo.issues():
        issue = Issue(
            owner=repo.owner,
            repo=repo.name,
            number=raw["number"],
            title=raw["title"],
            url=raw.get("html_url", ""),
            labels=tuple(label["name"] if isinstance(label, dict) else label for label in raw.get("labels", [])),
            assignees=tuple(a["login"] for a in raw.get("assignees") or []),
            state=raw.get("state", "open"),
            is_pull_request="pull_request" in raw,
            author_association=raw.get("author_association"),
        )
        if is_eligible(issue, EligibilityRule(labels=("agent",))):
            out.append(issue.canonical_id)
    return out


def _labelled_by_strangers(repo: Any) -> list[str]:
    """Open issues labelled 'agent' whose author has no association with the repository."""
    return [
        f"github:{repo.full_name}#{raw['number']}"
        for raw in repo.issues()
        if raw["author_association"] == "NONE"
        and raw["state"] == "open"
        and "agent" in [label["name"] if isinstance(label, dict) else label for label in raw["labels"]]
    ]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="the offline walk-through (what `make demo` runs)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    log_dir = Path(tempfile.mkdtemp(prefix="intake-demo-"))
    options = LocalOptions(port=0, aws_port=0, offline=True, log_file=log_dir / "intake-local.log")
    print("tracker intake demo: the whole service on this machine (no AWS account, no token, no Docker)")
    terminal = sys.stdout
    with LocalStack(options, say=lambda line: print(f"   {line}", file=terminal, flush=True)) as stack:
        # Powertools prints metrics (EMF) with print(): they belong in the log, not the story.
        sys.stdout = HandlerOutput(stack.log, terminal)  # type: ignore[assignment]
        try:
            code = Demo(stack).run()
        finally:
            sys.stdout = terminal
    print(f"   details: {options.log_file}")
    print("   the dashboard: run `.venv/bin/intake local --offline` and open http://127.0.0.1:3000/")
    return code
