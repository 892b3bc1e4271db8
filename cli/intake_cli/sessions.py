"""`intake sessions`: which issues became worker sessions, and releasing a claim."""

from __future__ import annotations

import argparse
from typing import Any

from .api_client import ApiClient, add_json_flag, print_json, run, table

_TITLE_WIDTH = 48


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("sessions", help="a project's session ledger (through the API)")
    commands = parser.add_subparsers(dest="sessions_command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="the project's claims, newest first")
    listing.add_argument("id", help="project id")
    add_json_flag(listing)
    listing.set_defaults(func=lambda args: run(args, lambda api: list_sessions(api, args)))

    release = commands.add_parser(
        "release", help="release a claim, so the issue can start a session again on a later poll"
    )
    release.add_argument("id", help="project id")
    release.add_argument("issue_id", metavar="ISSUE_ID", help="canonical id, e.g. github:acme/app#42")
    add_json_flag(release)
    release.set_defaults(func=lambda args: run(args, lambda api: release_claim(api, args)))


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
            s["status"],
            _short(s.get("title") or ""),
            s.get("sessionRef") or s.get("reason") or "",
            _minute(s.get("claimedAt")),
        ]
        for s in sessions
    ]
    print(table(rows, ["ISSUE", "STATUS", "TITLE", "SESSION / REASON", "CLAIMED (UTC)"]))
    return 0


def release_claim(api: ApiClient, args: argparse.Namespace) -> int:
    claim = api.release(args.id, args.issue_id)
    if args.json:
        print_json(claim)
    else:
        print(f"released {claim['issueId']}: the next poll that sees it eligible starts a new session")
    return 0


def _short(text: str) -> str:
    return text if len(text) <= _TITLE_WIDTH else text[: _TITLE_WIDTH - 3] + "..."


def _minute(value: str | None) -> str:
    # 2026-01-01T12:00:00.000000Z -> 2026-01-01 12:00
    return value[:16].replace("T", " ") if value else ""
