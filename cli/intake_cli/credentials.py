"""`intake credentials`: the GitHub credentials projects poll with, registered by reference."""

from __future__ import annotations

import argparse
from typing import Any

from .api_client import ApiClient, add_json_flag, print_json, run, table


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("credentials", help="GitHub credentials: tokens and GitHub Apps (through the API)")
    commands = parser.add_subparsers(dest="credentials_command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="the default credential and those registered")
    add_json_flag(listing)
    listing.set_defaults(func=lambda args: run(args, lambda api: list_credentials(api, args)))

    add = commands.add_parser(
        "add",
        help="register (or replace) a credential: the ARN of its secret, never the secret",
        description="The secret holds a token, or (with --app-id) a GitHub App's private key in PEM.",
    )
    add.add_argument("name", help="1-64 lower-case letters, digits and '-'")
    add.add_argument("--secret-arn", required=True, metavar="ARN", help="the Secrets Manager secret's ARN")
    add.add_argument("--app-id", metavar="ID", help="a GitHub App's id: the secret then holds its private key")
    add_json_flag(add)
    add.set_defaults(func=lambda args: run(args, lambda api: add_credential(api, args)))

    remove = commands.add_parser("remove", help="remove a registered credential (not while a project names it)")
    remove.add_argument("name")
    remove.set_defaults(func=lambda args: run(args, lambda api: remove_credential(api, args)))

    check = commands.add_parser(
        "check", help="which repositories of the projects using a credential it can see (reads GitHub)"
    )
    check.add_argument("name", nargs="?", help="one credential (default: every one)")
    add_json_flag(check)
    check.set_defaults(func=lambda args: run(args, lambda api: check_credentials(api, args)))


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
    body: dict[str, Any] = {"kind": "app" if args.app_id else "token", "secretArn": args.secret_arn}
    if args.app_id:
        body["appId"] = args.app_id
    saved = api.put_credential(args.name, body)
    if args.json:
        print_json(saved)
    else:
        print(f"registered credential {saved['name']} ({saved['kind']}); projects name it in trackerIntake.credential")
    return 0


def remove_credential(api: ApiClient, args: argparse.Namespace) -> int:
    api.delete_credential(args.name)
    print(f"removed credential {args.name}")
    return 0


def check_credentials(api: ApiClient, args: argparse.Namespace) -> int:
    if args.name:
        names = [args.name]
    else:
        listed = api.credentials()
        names = [c["name"] for c in [listed["default"], *listed["items"]]]
    checks = [api.check_credential(name) for name in names]
    if args.json:
        print_json(checks)
        return 0 if all(p["visible"] for c in checks for p in c["projects"]) else 1
    rows = [
        [c["credential"], p["projectId"], p.get("repo") or "-", "yes" if p["visible"] else "no", p.get("reason") or ""]
        for c in checks
        for p in c["projects"]
    ]
    if not rows:
        print("no project uses " + (f"credential {args.name}" if args.name else "any credential"))
        return 0
    print(table(rows, ["CREDENTIAL", "PROJECT", "REPO", "VISIBLE", "WHY NOT"]))
    # Non-zero when a repository cannot be seen: scripts can gate on it.
    return 0 if all(p["visible"] for c in checks for p in c["projects"]) else 1
