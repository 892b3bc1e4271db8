"""`intake preview`: which issues would intake pick up right now? Read-only, needs no AWS.

Exit codes: 0 success, 2 bad arguments (the config model's own validation), 3 a GitHub error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from tracker_intake.adapters.github import GitHubTracker
from tracker_intake.adapters.github_token import token_from_env
from tracker_intake.domain.clock import SystemClock
from tracker_intake.domain.config import AuthorAssociation, TrackerIntake, field_problems
from tracker_intake.domain.eligibility import EligibilityRule, SkipReason
from tracker_intake.domain.errors import (
    AuthFailed,
    PrimaryRateLimited,
    RepoNotFound,
    SecondaryRateLimited,
    TrackerError,
    WriteAccessUnreadable,
)
from tracker_intake.domain.issue import Issue
from tracker_intake.domain.preview import classify, open_issues
from tracker_intake.domain.tracker import DEFAULT_PAGE_CAP, IssueQuery
from tracker_intake.domain.write_access import Unmetered, WriteAccess, check_writers

from .api_client import utc

DEFAULT_GITHUB_URL = "https://api.github.com"
EXIT_OK, EXIT_USAGE, EXIT_GITHUB = 0, 2, 3

# The config model's field names, as the flags that set them.
_FLAGS = {
    "repo": "--repo",
    "labels": "--label",
    "assignee": "--assignee",
    "excludeLabels": "--exclude-label",
    "authors": "--author",
    "memberWriteCheck": "--no-member-write-check",
}
# Reasons that concern the author: the line names them, with their association.
_ABOUT_THE_AUTHOR = (str(SkipReason.UNTRUSTED_AUTHOR), str(SkipReason.MEMBER_WITHOUT_WRITE), "member: ")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "preview",
        help="list the open issues intake would pick up now (read-only, no AWS)",
        description=(
            "List the open issues of a GitHub repository that intake would turn into sessions, "
            "oldest first. Read-only; uses GITHUB_TOKEN when it is set."
        ),
    )
    _rule_arguments(parser)
    _walk_and_output_arguments(parser)
    parser.set_defaults(func=run)


def _rule_arguments(parser: argparse.ArgumentParser) -> None:
    """The repository and the rule, as a project's config would set them."""
    parser.add_argument("--repo", required=True, metavar="OWNER/NAME", help="the repository to look at")
    parser.add_argument(
        "--label",
        dest="labels",
        action="append",
        default=[],
        metavar="L",
        help="an issue needs every label given (repeat the flag; case-insensitive)",
    )
    parser.add_argument("--assignee", metavar="A", help="a login, '*' (anyone) or 'none' (nobody)")
    parser.add_argument(
        "--exclude-label",
        dest="exclude_labels",
        action="append",
        default=None,
        metavar="L",
        help="skip issues with this label (repeatable; default: in-progress and in-review)",
    )
    parser.add_argument(
        "--author",
        dest="authors",
        action="append",
        default=None,
        metavar="ASSOCIATION",
        help="an author_association whose issues intake takes (repeatable; default: OWNER, MEMBER, COLLABORATOR)",
    )
    parser.add_argument(
        "--no-member-write-check",
        dest="member_write_check",
        action="store_false",
        help="take a MEMBER's issue without asking GitHub whether they may write to the repository "
        "(memberWriteCheck: false; see the README for the risk)",
    )


def _walk_and_output_arguments(parser: argparse.ArgumentParser) -> None:
    """Where GitHub is, how far to walk, and what to print."""
    parser.add_argument(
        "--github-url",
        default=DEFAULT_GITHUB_URL,
        metavar="URL",
        help=f"the GitHub API (default: {DEFAULT_GITHUB_URL}; GitHub Enterprise: https://HOST/api/v3)",
    )
    parser.add_argument(
        "--max-pages",
        type=int,
        default=DEFAULT_PAGE_CAP,
        metavar="N",
        help=f"stop after N pages of 100 issues, as one poll does (default: {DEFAULT_PAGE_CAP})",
    )
    parser.add_argument("--explain", action="store_true", help="also list the skipped issues and why")
    parser.add_argument("--json", dest="as_json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    intake, problems = _intake_from_flags(args)
    if intake is None or problems:
        for flag, problem in problems:
            print(f"intake preview: {flag}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    rule = EligibilityRule.of(intake)
    owner, _, name = args.repo.partition("/")
    token = token_from_env()
    # --explain must see the issues the rule leaves out, so it lists every open issue
    # and applies the rule here; otherwise GitHub filters first, as the poller does.
    query = IssueQuery(owner, name) if args.explain else IssueQuery(owner, name, rule.labels, rule.assignee)
    tracker = GitHubTracker(args.github_url, token, include_pull_requests=args.explain)
    try:
        issues, truncated, _ = open_issues(tracker, query, args.max_pages)
    except TrackerError as e:
        print(_one_sentence(e, args.repo, token), file=sys.stderr)
        return EXIT_GITHUB

    eligible, skipped = classify(issues, rule)
    # A member's issue is taken only if GitHub says they may write, as a poll does; what cannot be
    # checked is said, not guessed.
    access = WriteAccess(tracker, None, SystemClock(), Unmetered(), project_id=None, owner=owner, repo=name)
    writers = check_writers(access, rule, eligible, failed=lambda e: _one_sentence(e, args.repo, token))
    reasons = sorted(
        [(issue, str(reason)) for issue, reason in [*skipped, *writers.refused]] + writers.unchecked,
        key=lambda pair: (pair[0].created_at.timestamp() if pair[0].created_at else 0.0, pair[0].number),
    )
    if args.as_json:
        _print_json(writers.taken, reasons if args.explain else None)
    else:
        _print_text(args.repo, rule, writers.taken, reasons if args.explain else None)
    _print_notes(args, writers.unchecked, truncated)
    return EXIT_OK


def _print_notes(args: argparse.Namespace, unchecked: list[tuple[Issue, str]], truncated: bool) -> None:
    """What the list leaves out: member issues that could not be checked, pages past the cap."""
    notes = sys.stderr if args.as_json else sys.stdout
    if unchecked and not args.explain:
        count = len(unchecked)
        print(f"note: {count} member issue{'s' if count != 1 else ''} not shown: {unchecked[0][1]}", file=notes)
    if truncated:
        print(
            f"note: stopped after {args.max_pages} page{'s' if args.max_pages != 1 else ''}, "
            "as a poll does; newer issues are not shown",
            file=notes,
        )


def _intake_from_flags(args: argparse.Namespace) -> tuple[TrackerIntake | None, list[tuple[str, str]]]:
    """The flags as the config API would receive them, checked by the same model."""
    problems: list[tuple[str, str]] = []
    url = urlsplit(args.github_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        problems.append(("--github-url", f"{args.github_url[:80]!r} is not an http(s) URL"))
    if not 1 <= args.max_pages <= 100:
        problems.append(("--max-pages", "must be between 1 and 100"))
    config: dict[str, Any] = {"enabled": True, "repo": args.repo, "labels": args.labels}
    if args.assignee is not None:
        config["assignee"] = args.assignee
    if args.exclude_labels is not None:
        config["excludeLabels"] = args.exclude_labels
    if args.authors is not None:
        config["authors"] = args.authors
    if not args.member_write_check:
        config["memberWriteCheck"] = False
    try:
        return TrackerIntake.model_validate(config), problems
    except ValidationError as e:
        for problem in field_problems(e):
            head = problem.field.split(".")[0]
            flag = _FLAGS.get(head, head)
            if head == "labels" and not args.labels and args.assignee is None:
                flag = "--label or --assignee"  # the no-broad-intake rule: either one will do
            problems.append((flag, problem.reason))
        return None, problems


def _one_sentence(error: TrackerError, repo: str, token: str | None) -> str:
    if isinstance(error, PrimaryRateLimited):
        hint = "" if token else " (set GITHUB_TOKEN: unauthenticated requests are limited to 60 an hour)"
        sentence = f"rate limited until {utc(error.reset_at)}{hint}"
    elif isinstance(error, SecondaryRateLimited) and error.retry_at is not None:
        sentence = f"rate limited by GitHub's secondary limit until {utc(error.retry_at)}"
    elif isinstance(error, AuthFailed):
        sentence = "authentication failed (check GITHUB_TOKEN)"
    elif isinstance(error, WriteAccessUnreadable) and not token:
        sentence = "GitHub tells whether a member may write only to a token whose account can push (set GITHUB_TOKEN)"
    elif isinstance(error, RepoNotFound):
        who = "this token" if token else "anonymous requests (set GITHUB_TOKEN for a private repository)"
        sentence = f"repository {repo} not found or not visible to {who}"
    else:
        sentence = str(error)
    return sentence.replace(token, "***") if token else sentence


def _row(issue: Issue) -> dict[str, Any]:
    return {"canonicalId": issue.canonical_id, "number": issue.number, "title": issue.title, "url": issue.url}


def _skipped_row(issue: Issue, reason: str) -> dict[str, Any]:
    row = {**_row(issue), "reason": reason}
    if reason.startswith(_ABOUT_THE_AUTHOR):
        row.update(author=issue.author, authorAssociation=issue.author_association)
    return row


def _print_json(eligible: list[Issue], skipped: list[tuple[Issue, str]] | None) -> None:
    rows = [_row(issue) for issue in eligible]
    if skipped is None:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    out = {
        "eligible": rows,
        "skipped": [_skipped_row(issue, reason) for issue, reason in skipped],
    }
    print(json.dumps(out, indent=2, ensure_ascii=False))


def _print_text(
    repo: str,
    rule: EligibilityRule,
    eligible: list[Issue],
    skipped: list[tuple[Issue, str]] | None,
) -> None:
    every = eligible + [issue for issue, _ in skipped or []]
    id_width = max((len(issue.canonical_id) for issue in every), default=0)
    number_width = max((len(str(issue.number)) + 1 for issue in every), default=0)

    def line(issue: Issue, extra: str = "") -> str:
        return f"  {issue.canonical_id:<{id_width}}  {'#' + str(issue.number):<{number_width}}  {extra}{issue.title}"

    count = f"{len(eligible)} issue{'s' if len(eligible) != 1 else ''}"
    print(f"{repo}: {count} intake would pick up now ({_describe(rule)}), oldest first")
    for issue in eligible:
        print(line(issue))
    if skipped is None:
        return
    print(f"skipped: {len(skipped)}")
    reason_width = max((len(reason) for _, reason in skipped), default=0)
    for issue, reason in skipped:
        by = f" (@{issue.author}, {issue.author_association})" if reason.startswith(_ABOUT_THE_AUTHOR) else ""
        print(line(issue, f"{reason:<{reason_width}}  ") + by)


def _describe(rule: EligibilityRule) -> str:
    parts = []
    if rule.labels:
        parts.append("labels: " + ", ".join(rule.labels))
    if rule.assignee is not None:
        parts.append(f"assignee: {rule.assignee}")
    parts.append("excluding: " + (", ".join(rule.exclude_labels) or "nothing"))
    parts.append("authors: " + ", ".join(a for a in AuthorAssociation if a in rule.authors))
    if not rule.member_write_check and AuthorAssociation.MEMBER in rule.authors:
        parts.append("members unchecked")
    return "; ".join(parts)
