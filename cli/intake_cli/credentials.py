"""`intake credentials`: the tracker credentials projects poll with (GitHub, Linear), registered by reference."""

from __future__ import annotations

import argparse
from typing import Any

from .api_client import ApiClient, add_json_flag, print_json, run, table

# A credential's fields, by their path in the API's body, as the arguments that set them.
FLAGS = {"name": "NAME", "kind": "--kind", "appId": "--app-id", "secretArn": "--secret-arn"}
KINDS = ("token", "app", "linear-api-key", "linear-oauth", "jira-api-token", "jira-oauth")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "credentials", help="tracker credentials: GitHub tokens and Apps, Linear keys and OAuth apps (through the API)"
    )
    commands = parser.add_subparsers(dest="credentials_command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="the default credential and those registered")
    add_json_flag(listing)
    listing.set_defaults(func=lambda args: run(args, lambda api: list_credentials(api, args), flags=FLAGS))

    add = commands.add_parser(
        "add",
        help="register (or replace) a credential: the ARN of its secret, never the secret",
        description=(
            "The secret holds a GitHub token (--kind token, the default), a GitHub App's private key in PEM "
            "(--app-id; --kind app), a Linear personal API key (--kind linear-api-key), or a Linear OAuth app's "
            "tokens as JSON: accessToken, refreshToken, clientId, clientSecret (--kind linear-oauth), a Jira API "
            "token as JSON: email and apiToken, or a scoped token's token and cloudId (--kind jira-api-token), or "
            "a Jira OAuth 2.0 (3LO) app's tokens as JSON, with its cloudId (--kind jira-oauth)."
        ),
    )
    add.add_argument("name", help="1-64 lower-case letters, digits and '-'")
    add.add_argument("--secret-arn", required=True, metavar="ARN", help="the Secrets Manager secret's ARN")
    add.add_argument("--app-id", metavar="ID", help="a GitHub App's id: the secret then holds its private key")
    add.add_argument("--kind", choices=KINDS, help="what the secret holds (default: app with --app-id, else token)")
    add_json_flag(add)
    add.set_defaults(func=lambda args: run(args, lambda api: add_credential(api, args), flags=FLAGS))

    remove = commands.add_parser("remove", help="remove a registered credential (not while a project names it)")
    remove.add_argument("name")
    add_json_flag(remove)
    remove.set_defaults(func=lambda args: run(args, lambda api: remove_credential(api, args), flags=FLAGS))

    check = commands.add_parser(
        "check",
        help="which repositories (or Linear teams) of the projects using a credential it can see (reads the tracker)",
    )
    check.add_argument("name", nargs="?", help="one credential (default: every one)")
    add_json_flag(check)
    check.set_defaults(func=lambda args: run(args, lambda api: check_credentials(api, args), flags=FLAGS))


def list_credentials(api: ApiClient, args: argparse.Namespace) -> int:
    answer = api.credentials()
    if args.json:
        print_json(answer)
        return 0
    rows = [
        [c["name"], c["kind"] + (f" {c['appId']}" if c.get("appId") else ""), c.get("secretArn") or "(environment)"]
        for c in [answer["default"], *answer["items"]]
    ]
    print(table(rows, ["NAME", "KIND", "SECRET"]))
    if answer.get("secretPrefix"):
        print(f"\nregistered secrets must be under {answer['secretPrefix']}")
    return 0


def add_credential(api: ApiClient, args: argparse.Namespace) -> int:
    kind = args.kind or ("app" if args.app_id else "token")
    body: dict[str, Any] = {"kind": kind, "secretArn": args.secret_arn}
    if args.app_id:
        body["appId"] = args.app_id
    saved = api.put_credential(args.name, body)
    if args.json:
        print_json(saved)
    else:
        print(
            f"registered credential {saved['name']} ({saved['kind']}); "
            f"projects poll with it after intake project set-config ID --tracker-credential {saved['name']}"
        )
    return 0


def remove_credential(api: ApiClient, args: argparse.Namespace) -> int:
    api.delete_credential(args.name)
    if args.json:
        print_json({"name": args.name, "removed": True})
    else:
        print(f"removed credential {args.name}")
    return 0


def check_credentials(api: ApiClient, args: argparse.Namespace) -> int:
    if args.name:
        names = [args.name]
    else:
        listed = api.credentials()
        names = [c["name"] for c in [listed["default"], *listed["items"]]]
    checks = [api.check_credential(name) for name in names]
    # The API checks every project that names the credential; one with intake off polls nothing,
    # so what it cannot see is said, but is no failure.
    polling = {p["id"] for p in api.projects() if (p.get("trackerIntake") or {}).get("enabled")}
    lines = [(c["credential"], p, p["projectId"] in polling) for c in checks for p in c["projects"]]
    failed = any(on and not p["visible"] for _, p, on in lines)
    if args.json:
        print_json(
            [
                {**c, "projects": [{**p, "intakeEnabled": p["projectId"] in polling} for p in c["projects"]]}
                for c in checks
            ]
        )
        return 1 if failed else 0
    rows = [
        [name, p["projectId"], p.get("repo") or "-", _visible(p["visible"], on), p.get("reason") or ""]
        for name, p, on in lines
    ]
    if not rows:
        print("no project uses " + (f"credential {args.name}" if args.name else "any credential"))
        return 0
    print(table(rows, ["CREDENTIAL", "PROJECT", "REPO", "VISIBLE", "WHY NOT"]))
    # Non-zero when a repository that intake polls cannot be seen: scripts can gate on it.
    return 1 if failed else 0


def _visible(visible: bool, intake_on: bool) -> str:
    if visible:
        return "yes" if intake_on else "yes (intake off)"
    return "no" if intake_on else "no (intake off)"
