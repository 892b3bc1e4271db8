"""`intake sessions`: which issues became worker sessions, what their backend reports they are
doing, and releasing a claim."""

from __future__ import annotations

import argparse
from typing import Any

from .api_client import ApiClient, ApiError, add_json_flag, print_json, run, table

_TITLE_WIDTH = 48


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("sessions", help="a project's session ledger (through the API)")
    commands = parser.add_subparsers(dest="sessions_command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="the project's claims, newest first")
    listing.add_argument("id", help="project id")
    add_json_flag(listing)
    listing.set_defaults(func=lambda args: run(args, lambda api: list_sessions(api, args)))

    show = commands.add_parser(
        "show", help="one session: its claim, and the status its backend reported, with the history"
    )
    show.add_argument("id", help="project id")
    show.add_argument("issue_id", metavar="ISSUE_ID", help="canonical id, e.g. github:acme/app#42")
    add_json_flag(show)
    show.set_defaults(func=lambda args: run(args, lambda api: show_session(api, args)))

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
            _reported(s),
            _short(s.get("title") or ""),
            s.get("sessionRef") or s.get("reason") or "",
            s.get("prUrl") or "",
            _minute(s.get("claimedAt")),
        ]
        for s in sessions
    ]
    headers = ["ISSUE", "STATUS", "SESSION STATUS", "TITLE", "SESSION / REASON", "PR", "CLAIMED (UTC)"]
    print(table(rows, headers))
    return 0


def show_session(api: ApiClient, args: argparse.Namespace) -> int:
    wanted = args.issue_id.lower()
    found = next((s for s in api.sessions(args.id) if s["issueId"].lower() == wanted), None)
    if found is None:
        raise ApiError(404, f"project {args.id!r} has no session for {args.issue_id!r}", [{"field": "issueId"}])
    if args.json:
        print_json(found)
        return 0
    lines = [
        ("issue", found["issueId"]),
        ("title", found.get("title") or "-"),
        ("url", found.get("url") or "-"),
        ("status", f"{found['status']} (generation {found.get('generation', 1)}, attempts {found.get('attempts', 1)})"),
        ("claimed", _minute(found.get("claimedAt")) or "-"),
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
        print("history (UTC)")
        for change in history:
            print(
                f"  {_minute(change.get('at'))}  {change['status']}"
                + (f"  {change['prUrl']}" if change.get("prUrl") else "")
            )
    return 0


def release_claim(api: ApiClient, args: argparse.Namespace) -> int:
    claim = api.release(args.id, args.issue_id)
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


def _acknowledgement(ack: dict[str, Any] | None) -> str:
    """`comment done https://...`, `reaction refused: GitHub refused ... (403: ...)`, or `-`."""
    if not ack:
        return "-"
    text = f"{ack['kind']} {ack['state']}"
    if ack.get("nextAttemptAt"):
        text += f" (next try {_minute(ack['nextAttemptAt'])}:{ack['nextAttemptAt'][17:19]} UTC)"
    if ack.get("url"):
        text += f" {ack['url']}"
    if ack.get("detail"):
        text += f": {ack['detail']}"
    return text


def _reported(session: dict[str, Any]) -> str:
    """The backend's last reported status, and when: `pr_open 2026-11-24 12:03`."""
    status = session.get("sessionStatus")
    if not status:
        return "-"
    history = session.get("statusHistory") or []
    return f"{status} {_minute(history[-1].get('at'))}" if history else str(status)


def _short(text: str) -> str:
    return text if len(text) <= _TITLE_WIDTH else text[: _TITLE_WIDTH - 3] + "..."


def _minute(value: str | None) -> str:
    # 2026-01-01T12:00:00.000000Z -> 2026-01-01 12:00
    return value[:16].replace("T", " ") if value else ""
