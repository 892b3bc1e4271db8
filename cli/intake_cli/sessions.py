"""`intake sessions`: which issues became worker sessions, what their backend reports they are
doing, and releasing a claim."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from collections.abc import Callable
from typing import Any

from tracker_intake.domain.issue import parse_tracker_id

from .api_client import ApiClient, ApiError, UsageError, add_json_flag, print_json, run, table, text_width, utc

# The fields of the API's answers and refusals, as the arguments that name them.
FLAGS = {"id": "ID", "issueId": "ISSUE_ID"}
# A title is cut to fit the terminal, but never below this many columns.
_TITLE_MIN_WIDTH = 12
# The room a title should have before a narrow terminal keeps the columns after it.
_TITLE_ROOM = 24
# Into a pipe, where no terminal says how wide: titles cut as they always were.
_PIPED_TITLE_WIDTH = 48
_COLUMN_GAP = 2
# Ways people write an issue that are not its canonical id: acme/app#42, or its URL.
_SHORTHAND = re.compile(r"(?:https://github\.com/)?(?P<repo>[^/#\s]+/[^/#\s]+?)(?:#|/issues/)(?P<number>\d+)")
# A Linear issue as people name it: its identifier (ENG-123), or its URL (which holds it).
_LINEAR_NAME = re.compile(r"(?:https://linear\.app/[^/\s]+/issue/)?(?P<identifier>[A-Za-z0-9]+-\d+)(?:/\S*)?")
# A Jira issue as people name it: its key (PROJ-123), or its browse URL (which holds it and the site).
_JIRA_NAME = re.compile(r"(?:https://(?P<site>[^/\s]+)/browse/)?(?P<key>[A-Za-z][A-Za-z0-9_]+-\d+)/?")


_ISSUE_ID_HELP = (
    "canonical id, e.g. github:acme/app#42, linear:acme/<uuid> or jira:acme.atlassian.net/10042 "
    "(sessions list shows it)"
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("sessions", help="a project's session ledger (through the API)")
    commands = parser.add_subparsers(dest="sessions_command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="the project's claims, newest first")
    listing.add_argument("id", help="project id")
    add_json_flag(listing)
    listing.set_defaults(func=lambda args: run(args, lambda api: list_sessions(api, args), flags=FLAGS))

    show = commands.add_parser(
        "show", help="one session: its claim, and the status its backend reported, with the history"
    )
    show.add_argument("id", help="project id")
    show.add_argument("issue_id", metavar="ISSUE_ID", help=_ISSUE_ID_HELP)
    add_json_flag(show)
    show.set_defaults(func=lambda args: run(args, lambda api: show_session(api, args), flags=FLAGS))

    release = commands.add_parser(
        "release", help="release a claim, so the issue can start a session again on a later poll"
    )
    release.add_argument("id", help="project id")
    release.add_argument("issue_id", metavar="ISSUE_ID", help=_ISSUE_ID_HELP)
    add_json_flag(release)
    release.set_defaults(func=lambda args: run(args, lambda api: release_claim(api, args), flags=FLAGS))


def list_sessions(api: ApiClient, args: argparse.Namespace) -> int:
    sessions = list(api.sessions(args.id))
    if args.json:
        print_json(sessions)
        return 0
    if not sessions:
        print(f"no sessions yet for {args.id}")
        return 0
    rows = [
        [
            s["issueId"],
            s.get("identifier") or "",
            s.get("url") or "",
            s["status"],
            _reported(s),
            s.get("title") or "",
            s.get("sessionRef") or s.get("reason") or "",
            s.get("prUrl") or "",
            utc(s.get("claimedAt")),
        ]
        for s in sessions
    ]
    headers = ["ISSUE", "IDENTIFIER", "URL", "STATUS", "SESSION STATUS", "TITLE", "SESSION / REASON", "PR", "CLAIMED"]
    if not any(s.get("identifier") for s in sessions):
        # GitHub's canonical id is what people read (and links to its URL): no columns for Linear's or Jira's.
        rows, headers = [row[:1] + row[3:] for row in rows], headers[:1] + headers[3:]
    print(table(*_fit(rows, headers, title="TITLE")))
    return 0


# What a narrow terminal drops first, then next (`intake sessions show` has them all, and --json).
_DROPPED_FIRST = ("URL", "PR", "SESSION / REASON", "CLAIMED", "SESSION STATUS")


def _fit(rows: list[list[str]], headers: list[str], title: str) -> tuple[list[list[str]], list[str]]:
    """The rows and headers so that a line fits the terminal: its width when stdout is one, else
    $COLUMNS, else 80 (shutil's order). On a terminal (or with $COLUMNS), the columns of
    `_DROPPED_FIRST` go, in that order, until
    the title has room for its first words (`_TITLE_ROOM`); the title is then cut to fit (with an
    ellipsis), never below a dozen columns."""
    columns = shutil.get_terminal_size((80, 24)).columns
    shown = list(headers)
    # Into a pipe, with no width asked for ($COLUMNS), every column stays (a script reads them),
    # and titles are cut at _PIPED_TITLE_WIDTH.
    droppable = [h for h in _DROPPED_FIRST if h in headers] if sys.stdout.isatty() or os.environ.get("COLUMNS") else []
    for dropped in (None, *droppable):
        if dropped is not None:
            shown.remove(dropped)
        kept = [[row[headers.index(h)] for h in shown] for row in rows]
        others = sum(_widest(kept, shown, i) + _COLUMN_GAP for i, h in enumerate(shown) if h != title)
        if others + _TITLE_ROOM <= columns:
            break
    at = shown.index(title)
    width = max(_TITLE_MIN_WIDTH, columns - others) if droppable else _PIPED_TITLE_WIDTH
    return [[*row[:at], _short(row[at], width), *row[at + 1 :]] for row in kept], shown


def _widest(rows: list[list[str]], headers: list[str], i: int) -> int:
    return max(text_width(row[i]) for row in [headers, *rows])


def show_session(api: ApiClient, args: argparse.Namespace) -> int:
    wanted = canonical(args.issue_id, lambda: _provider(api, args.id)).lower()
    found = next((s for s in api.sessions(args.id) if s["issueId"].lower() == wanted), None)
    if found is None:
        raise ApiError(404, f"project {args.id!r} has no session for {args.issue_id!r}", [{"field": "issueId"}])
    if args.json:
        print_json(found)
        return 0
    lines = [
        ("issue", found["issueId"]),
        *([("identifier", found["identifier"])] if found.get("identifier") else []),
        ("title", found.get("title") or "-"),
        ("url", found.get("url") or "-"),
        ("status", f"{found['status']} (generation {found.get('generation', 1)}, attempts {found.get('attempts', 1)})"),
        ("claimed", utc(found.get("claimedAt")) or "-"),
        ("session", " ".join(filter(None, [found.get("sessionRef"), found.get("sessionUrl")])) or "-"),
        ("last error", found.get("reason") or "-"),
        ("session status", found.get("sessionStatus") or "none reported"),
        ("pull request", found.get("prUrl") or "-"),
        ("on the issue", _acknowledgement(found.get("acknowledgement"))),
    ]
    width = max(len(label) for label, _ in lines)
    print("\n".join(f"{label.ljust(width)}  {value}" for label, value in lines))
    history = found.get("statusHistory") or []
    if history:
        print("history")
        for change in history:
            print(
                f"  {utc(change.get('at'))}  {change['status']}"
                + (f"  {change['prUrl']}" if change.get("prUrl") else "")
            )
    return 0


def release_claim(api: ApiClient, args: argparse.Namespace) -> int:
    claim = api.release(args.id, canonical(args.issue_id, lambda: _provider(api, args.id)))
    if args.json:
        print_json(claim)
    else:
        print(f"released {claim['issueId']}: the next poll that sees it eligible starts a new session")
        ack = claim.get("acknowledgement") or {}
        if ack.get("kind") == "label" and ack.get("state") in ("done", "writing"):
            # The label intake added is one of the default exclusions: the issue stays skipped.
            print(
                "note: intake labelled this issue in-progress when it launched the session, and in-progress "
                "issues are skipped (excludeLabels): remove the label on GitHub for a new session to start"
            )
    return 0


def canonical(issue_id: str, provider: Callable[[], str | None] = lambda: None) -> str:
    """The issue id as given when it is canonical (github:owner/repo#number, linear:workspace/uuid,
    jira:site/id); otherwise a usage error that shows the canonical form of what was meant, when it
    can tell. `provider` names the project's tracker, asked only then: an identifier such as
    ENG-123 may be Linear's or Jira's."""
    try:
        parse_tracker_id(issue_id)
    except ValueError:
        raise UsageError(
            f"ISSUE_ID {issue_id[:80]!r} is not a canonical issue id: {_meant(issue_id, provider)}"
        ) from None
    return issue_id


def _provider(api: ApiClient, project_id: str) -> str | None:
    """The tracker the project polls, or None when the API cannot say."""
    try:
        intake = api.project(project_id).get("trackerIntake") or {}
    except ApiError:
        return None
    return str(intake.get("provider") or "github")


_WHERE_SHOWN = "intake sessions list PROJECT shows it beside"


def _meant(issue_id: str, provider: Callable[[], str | None]) -> str:
    """What to write instead: the canonical form of a GitHub shorthand, or where a Linear or Jira id is shown."""
    given = issue_id.strip()
    if given.startswith("linear:"):
        return "write it as linear:workspace/uuid, the issue's id (a UUID), not its identifier"
    if given.startswith("jira:"):
        return "write it as jira:site/id, the issue's numeric id, not its key"
    shorthand = _SHORTHAND.fullmatch(given)
    if shorthand:
        return f"write it as github:{shorthand['repo']}#{shorthand['number']}"
    jira = _JIRA_NAME.fullmatch(given)
    if jira and (jira["site"] or not _LINEAR_NAME.fullmatch(given) or provider() == "jira"):
        site = jira["site"] or "site"
        return f"a Jira issue is named by its id, jira:{site}/id; {_WHERE_SHOWN} {jira['key'].upper()}"
    linear = _LINEAR_NAME.fullmatch(given)
    if linear:
        return (
            f"a Linear issue is named by its id, linear:workspace/uuid; {_WHERE_SHOWN} {linear['identifier'].upper()}"
        )
    return "write it as github:owner/repo#number, linear:workspace/uuid or jira:site/id"


def _acknowledgement(ack: dict[str, Any] | None) -> str:
    """`comment done https://...`, `reaction refused: GitHub refused ... (403: ...)`, or `-`."""
    if not ack:
        return "-"
    text = f"{ack['kind']} {ack['state']}"
    if ack.get("nextAttemptAt"):
        text += f" (next try {utc(ack['nextAttemptAt'])})"
    if ack.get("url"):
        text += f" {ack['url']}"
    if ack.get("detail"):
        text += f": {ack['detail']}"
    return text


def _reported(session: dict[str, Any]) -> str:
    """The backend's last reported status, and when: `pr_open 2026-11-24T12:03:10Z`."""
    status = session.get("sessionStatus")
    if not status:
        return "-"
    history = session.get("statusHistory") or []
    return f"{status} {utc(history[-1].get('at'))}" if history else str(status)


def _short(text: str, width: int) -> str:
    """`text` in at most `width` terminal columns, cut with an ellipsis."""
    if text_width(text) <= width:
        return text
    while text_width(text) > width - 1:
        text = text[:-1]
    return text + "…"
