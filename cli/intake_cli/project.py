"""`intake project`: list, show, create, delete projects and set their intake config."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from itertools import islice
from typing import Any

from .api_client import ApiClient, add_json_flag, print_json, run, table, utc

# The project's fields, by their path in the API's body, as the flags (or arguments) that set
# them: a refusal names what the user typed. Kept beside the flags they name.
FLAGS = {
    "id": "ID",
    "name": "--name",
    "gitOrigin": "--git-origin",
    "trackerIntake.enabled": "--tracker-intake",
    "trackerIntake.provider": "--tracker-provider",
    "trackerIntake.team": "--tracker-team",
    "trackerIntake.site": "--tracker-site",
    "trackerIntake.project": "--tracker-project",
    "trackerIntake.repo": "--tracker-repo",
    "trackerIntake.labels": "--tracker-label",
    "trackerIntake.assignee": "--tracker-assignee",
    "trackerIntake.excludeLabels": "--tracker-exclude-label",
    "trackerIntake.maxSessionsPerPoll": "--max-sessions-per-poll",
    "trackerIntake.authors": "--tracker-author",
    "trackerIntake.memberWriteCheck": "--tracker-member-write-check",
    "trackerIntake.backlog": "--tracker-backlog",
    "trackerIntake.acknowledge": "--tracker-acknowledge",
    "trackerIntake.credential": "--tracker-credential",
}
# Each tracker's own fields: a rule moved to another tracker drops the old one's (the API refuses
# them by name), and its authors go back to the new tracker's default (the kinds differ).
_ONLY_ON = {"github": ("repo", "memberWriteCheck"), "linear": ("team",), "jira": ("site", "project")}


Action = Callable[[ApiClient, argparse.Namespace], int]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("project", help="projects and their intake config (through the API)")
    commands = parser.add_subparsers(dest="project_command", metavar="COMMAND", required=True)
    _command(commands, "list", list_projects, "list every project", arguments=_no_arguments)
    _command(commands, "show", show_project, "a project's config, intake status and version")
    _command(
        commands,
        "poll",
        poll_project,
        "poll a project on the next tick (within a minute): clears its backoff ('retry now')",
    )
    _command(
        commands,
        "preview",
        preview_project,
        "what the project's stored rule would pick up now, and which project holds each issue "
        "(through the API, within the deployment credential's budget)",
    )
    _command(
        commands,
        "activity",
        project_activity,
        "a project's recent polls, newest first: each that changed, failed or started something, "
        "and a quiet one every 10 minutes",
        _activity_arguments,
    )
    _command(commands, "create", create_project, "create a project (intake off; see set-config)", _create_arguments)
    _command(commands, "delete", delete_project, "delete a project (its session ledger stays)")
    _command(
        commands,
        "set-config",
        set_config,
        "change a project's tracker intake (reads the current version, so concurrent edits are safe)",
        _config_arguments,
    )
    _command(commands, "update", update_project, "change a project's name or git origin", _update_arguments)


def _project_id(command: argparse.ArgumentParser) -> None:
    command.add_argument("id")


def _no_arguments(command: argparse.ArgumentParser) -> None:
    pass


def _command(
    commands: Any,
    name: str,
    action: Action,
    summary: str,
    arguments: Callable[[argparse.ArgumentParser], None] = _project_id,
) -> None:
    """One `intake project` command: its arguments, then --json; it runs `action` against the API."""
    command = commands.add_parser(name, help=summary)
    arguments(command)
    add_json_flag(command)
    command.set_defaults(func=lambda args: run(args, lambda api: action(api, args), flags=FLAGS))


def _activity_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("id")
    command.add_argument("--limit", type=_positive, default=20, help="how many polls (default 20)")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _create_arguments(create: argparse.ArgumentParser) -> None:
    create.add_argument("id", help="1-64 lower-case letters, digits and '-'")
    create.add_argument("--name")
    create.add_argument("--git-origin", help="e.g. git@github.com:acme/app.git (intake can poll its repo)")


def _update_arguments(update: argparse.ArgumentParser) -> None:
    update.add_argument("id")
    name = update.add_mutually_exclusive_group()
    name.add_argument("--name")
    name.add_argument("--clear-name", action="store_true")
    origin = update.add_mutually_exclusive_group()
    origin.add_argument("--git-origin", help="e.g. git@github.com:acme/app.git")
    origin.add_argument("--clear-git-origin", action="store_true")


def _config_arguments(config: argparse.ArgumentParser) -> None:
    """set-config's flags, each field's in its turn: a value, or the flag that clears or resets it."""
    config.add_argument("id")
    _switch_and_repo_flags(config)
    _rule_flags(config)
    _author_flags(config)
    _launch_flags(config)


def _switch_and_repo_flags(config: argparse.ArgumentParser) -> None:
    switch = config.add_mutually_exclusive_group()
    switch.add_argument("--tracker-intake", dest="enabled", action="store_true", default=None, help="turn on")
    switch.add_argument("--no-tracker-intake", dest="enabled", action="store_false", help="turn off")
    config.add_argument(
        "--tracker-provider",
        choices=["github", "linear", "jira"],
        help="the tracker to poll: 'github' (default), 'linear' (then --tracker-team) or 'jira' (then "
        "--tracker-site and --tracker-project); switching drops the other trackers' fields and resets the "
        "authors to the new tracker's default",
    )
    config.add_argument(
        "--tracker-team", metavar="KEY", help="Linear only, and required there: the team's key, e.g. ENG"
    )
    config.add_argument(
        "--tracker-site",
        metavar="HOST",
        help="Jira only, and required there: the site's host name, e.g. acme.atlassian.net",
    )
    config.add_argument(
        "--tracker-project",
        metavar="KEY",
        help="Jira only, and required there: the key of the project whose issues to take, e.g. PROJ",
    )
    repo = config.add_mutually_exclusive_group()
    repo.add_argument(
        "--tracker-repo", metavar="OWNER/NAME", help="GitHub only; default: derived from the project's git origin"
    )
    repo.add_argument("--clear-tracker-repo", action="store_true", help="drop the override: use the git origin's repo")


def _rule_flags(config: argparse.ArgumentParser) -> None:
    """Which issues match: labels, assignee, labels that exclude, and how many a poll takes."""
    labels = config.add_mutually_exclusive_group()
    labels.add_argument(
        "--tracker-label", metavar="LABEL", action="append", help="issues need every label (repeatable)"
    )
    labels.add_argument("--clear-tracker-labels", action="store_true", help="no label rule")
    assignee = config.add_mutually_exclusive_group()
    assignee.add_argument(
        "--tracker-assignee",
        metavar="WHO",
        help="a GitHub login, on Linear an email, on Jira an account id or an email; '*' (anyone) or 'none' "
        "(unassigned)",
    )
    assignee.add_argument("--clear-tracker-assignee", action="store_true", help="no assignee rule")
    exclude = config.add_mutually_exclusive_group()
    exclude.add_argument(
        "--tracker-exclude-label",
        metavar="LABEL",
        action="append",
        help="skip issues with this label (repeatable; default in-progress, in-review)",
    )
    exclude.add_argument(
        "--reset-tracker-exclude-labels", action="store_true", help="back to the default (in-progress, in-review)"
    )
    exclude.add_argument("--no-tracker-exclude-labels", action="store_true", help="skip no issue for its labels")
    config.add_argument("--max-sessions-per-poll", metavar="N", type=int)


def _author_flags(config: argparse.ArgumentParser) -> None:
    """Whose issues may start sessions."""
    authors = config.add_mutually_exclusive_group()
    authors.add_argument(
        "--tracker-author",
        metavar="KIND",
        action="append",
        help="whose issues may start sessions (repeatable, replaces the list): on GitHub an author_association, "
        "e.g. CONTRIBUTOR (default OWNER, MEMBER, COLLABORATOR); on Linear MEMBER, GUEST or APP (default MEMBER); "
        "on Jira MEMBER, APP or CUSTOMER (default MEMBER)",
    )
    authors.add_argument(
        "--reset-tracker-authors",
        action="store_true",
        help="back to the tracker's default (GitHub: OWNER, MEMBER, COLLABORATOR; Linear and Jira: MEMBER)",
    )
    member_check = config.add_mutually_exclusive_group()
    member_check.add_argument(
        "--tracker-member-write-check",
        dest="member_write_check",
        action="store_true",
        default=None,
        help="GitHub only: take a MEMBER's issue only if GitHub says they may write to the repository (the default)",
    )
    member_check.add_argument(
        "--no-tracker-member-write-check",
        dest="member_write_check",
        action="store_false",
        help="take a MEMBER's issue without that check: every member of the organisation, read-only "
        "ones included, can then write the prompt of a worker that can push",
    )


def _launch_flags(config: argparse.ArgumentParser) -> None:
    """What happens once intake is on: the backlog, the acknowledgement, the credential polled with."""
    config.add_argument(
        "--tracker-backlog",
        choices=["new", "all"],
        help="on switching intake on: 'new' (default) records the matching issues without sessions; "
        "'all' starts a session for each",
    )
    config.add_argument(
        "--tracker-acknowledge",
        choices=["none", "reaction", "comment", "label"],
        help="what to write on an issue once its session is launched: 'none' (default, read-only), "
        "'reaction' (eyes; not on Jira), 'comment' (names the session) or 'label' (in-progress); needs write "
        "access to issues",
    )
    credential = config.add_mutually_exclusive_group()
    credential.add_argument(
        "--tracker-credential", metavar="NAME", help="poll with this registered credential (intake credentials list)"
    )
    credential.add_argument(
        "--clear-tracker-credential", action="store_true", help="poll with the deployment's default credential"
    )


def list_projects(api: ApiClient, args: argparse.Namespace) -> int:
    projects = list(api.projects())
    if args.json:
        print_json(projects)
        return 0
    if not projects:
        print("no projects yet: intake project create ID")
        return 0
    rows = [
        [
            p["id"],
            p.get("name") or "",
            p["intake"]["state"],
            _where(p),
            ",".join((p.get("trackerIntake") or {}).get("labels", [])),
            str(p["version"]),
        ]
        for p in projects
    ]
    print(table(rows, ["ID", "NAME", "INTAKE", "REPO", "LABELS", "VERSION"]))
    return 0


def _where(project: dict[str, Any]) -> str:
    """The REPO column: the repository polled, a Linear rule's team (`linear:ENG`) or a Jira rule's
    site and project (`jira:acme.atlassian.net/PROJ`)."""
    intake = project.get("trackerIntake") or {}
    if intake.get("provider") == "linear":
        return f"linear:{intake.get('team') or '-'}"
    if intake.get("provider") == "jira":
        return f"jira:{intake.get('site') or '-'}/{intake.get('project') or '-'}"
    return str(project["intake"].get("repo") or "")


def show_project(api: ApiClient, args: argparse.Namespace) -> int:
    project = api.project(args.id)
    if args.json:
        print_json(project)
    else:
        print(describe(project))
    return 0


def poll_project(api: ApiClient, args: argparse.Namespace) -> int:
    before = (api.project(args.id).get("intake") or {}).get("state")
    project = api.poll(args.id)
    if args.json:
        print_json(project)
        return 0
    cleared = {"backoff": "backoff cleared; ", "error": "failures cleared; "}.get(before or "", "")
    deferred = (project.get("intake") or {}).get("deferredSince")
    wait = " or, while its credential's budget is taken, a tick or more later" if deferred else ""
    print(f"{project['id']}: {cleared}polled on the next tick (within a minute){wait}")
    return 0


def preview_project(api: ApiClient, args: argparse.Namespace) -> int:
    """The API's preview of the stored rule: each issue it takes, with the claim that holds it and,
    when another project's claim holds it, that project (one session per issue, across projects)."""
    preview = api.preview(args.id)
    if args.json:
        print_json(preview)
        return 0
    eligible: list[dict[str, Any]] = preview.get("eligible") or []
    print(f"{preview.get('repo')}: {len(eligible)} issue{'' if len(eligible) == 1 else 's'} match the rule now")
    rows = [[_issue(i), _holder(i), str(i.get("title") or "")[:60]] for i in eligible]
    if rows:
        print(table(rows, ["ISSUE", "CLAIM", "TITLE"]))
    held = int(preview.get("heldElsewhere") or 0)
    print(f"saving would start {preview.get('wouldStart', 0)} session(s) now")
    if held:
        print(
            f"{held} of them {'is' if held == 1 else 'are'} held by another project: one session per issue, "
            "across every project; the project that claimed it first keeps it"
        )
    skipped = preview.get("skipped") or []
    if skipped:
        print(f"skipped: {len(skipped)} (--json says why each)")
    return 0


_RESULTS = {
    "not_modified": "quiet",
    "changed": "changed",
    "failed": "failed",
    "config_invalid": "config invalid",
    "credential_paused": "credential paused",
}


def project_activity(api: ApiClient, args: argparse.Namespace) -> int:
    """The project's recent polls as a table: what `intake local` says of each tick, kept."""
    polls = list(islice(api.polls(args.id, page_size=min(args.limit, 100)), args.limit))
    if args.json:
        print_json(polls)
        return 0
    if not polls:
        print(f"{args.id}: no poll recorded yet (the first poll records itself)")
        return 0
    rows = [
        [
            utc(poll["at"]),
            _RESULTS.get(poll["result"], poll["result"]),
            str(poll.get("requests", 0)),
            str(poll.get("pages", 0)),
            str(poll.get("notModified", 0)),
            " ".join(poll.get("newSessions") or []) or "-",
            _poll_trouble(poll),
        ]
        for poll in polls
    ]
    print(table(rows, ["AT", "RESULT", "REQUESTS", "PAGES", "NOT MODIFIED", "NEW SESSIONS", "ERROR"]))
    return 0


def _poll_trouble(poll: dict[str, Any]) -> str:
    """A poll's error and its backoff, its backlog and what it held back, in a few words."""
    parts = []
    if poll.get("errorKind"):
        parts.append(f"{poll['errorKind']}: {str(poll.get('error') or '')[:80]}".rstrip(": "))
    if poll.get("backoffUntil"):
        parts.append(f"until {utc(poll['backoffUntil'])}")
    if poll.get("backlogRecorded"):
        parts.append(f"{poll['backlogRecorded']} recorded as backlog")
    if poll.get("heldBack"):
        parts.append(f"{poll['heldBack']} held back")
    return "; ".join(parts) or "-"


def _issue(issue: dict[str, Any]) -> str:
    """The canonical id, with Linear's identifier or Jira's key beside it (`linear:acme/<uuid> ENG-123`)."""
    identifier = issue.get("identifier")
    return f"{issue.get('canonicalId')} {identifier}" if identifier else str(issue.get("canonicalId"))


def _holder(issue: dict[str, Any]) -> str:
    claim, other = issue.get("claim"), issue.get("claimProject")
    if other:
        return f"{claim} (held by {other})"
    return f"{claim} (this project)" if claim else "none"


def create_project(api: ApiClient, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"id": args.id}
    if args.name is not None:
        body["name"] = args.name
    if args.git_origin is not None:
        body["gitOrigin"] = args.git_origin
    project = api.create_project(body)
    if args.json:
        print_json(project)
    else:
        print(f"created project {project['id']} (version {project['version']})")
    return 0


def delete_project(api: ApiClient, args: argparse.Namespace) -> int:
    api.delete_project(args.id)
    if args.json:
        print_json({"id": args.id, "deleted": True})
    else:
        print(f"deleted project {args.id}")
    return 0


def set_config(api: ApiClient, args: argparse.Namespace) -> int:
    def change(config: dict[str, Any]) -> None:
        config["trackerIntake"] = tracker_intake(config.get("trackerIntake") or {}, args)

    return _edit(api, args, change)


def _edit(api: ApiClient, args: argparse.Namespace, change: Callable[[dict[str, Any]], None]) -> int:
    """Read the project, apply `change` to its config, write it back with the version read."""
    current = api.project(args.id)
    config = {key: current[key] for key in ("name", "gitOrigin", "trackerIntake") if current.get(key) is not None}
    change(config)
    # Sent as If-Match: if someone changed the project since we read it, the API answers 412.
    project = api.replace_config(args.id, config, current["version"])
    if args.json:
        print_json(project)
        return 0
    if project["version"] == current["version"]:
        # The API wrote nothing: the config asked for is the one stored.
        print(f"project {project['id']} unchanged (version {project['version']}): it already reads so")
    else:
        print(f"updated project {project['id']} (version {project['version']})")
    print(describe(project))
    return 0


def tracker_intake(current: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The current `trackerIntake` with the flags given on the command line applied."""
    intake = {key: value for key, value in current.items() if value is not None}
    intake.setdefault("provider", "github")
    if args.tracker_provider is not None and args.tracker_provider != intake["provider"]:
        intake = _on_tracker(intake, args.tracker_provider)
    changes: dict[str, Any] = {
        "enabled": args.enabled,
        "team": args.tracker_team,
        "site": args.tracker_site,
        "project": args.tracker_project,
        "repo": args.tracker_repo,
        "labels": args.tracker_label,
        "assignee": args.tracker_assignee,
        "excludeLabels": args.tracker_exclude_label,
        "maxSessionsPerPoll": args.max_sessions_per_poll,
        "credential": args.tracker_credential,
        "authors": args.tracker_author,
        "memberWriteCheck": args.member_write_check,
        "backlog": args.tracker_backlog,
        "acknowledge": args.tracker_acknowledge,
    }
    intake.update({key: value for key, value in changes.items() if value is not None})
    cleared = {
        "repo": args.clear_tracker_repo,
        "assignee": args.clear_tracker_assignee,
        "excludeLabels": args.reset_tracker_exclude_labels,  # absent means the default
        "credential": args.clear_tracker_credential,  # absent means the default credential
        "authors": args.reset_tracker_authors,  # absent means the default
    }
    for key, clear in cleared.items():
        if clear:
            intake.pop(key, None)
    if args.clear_tracker_labels:
        intake["labels"] = []
    if args.no_tracker_exclude_labels:
        intake["excludeLabels"] = []
    intake.setdefault("enabled", False)
    return intake


def _on_tracker(intake: dict[str, Any], provider: str) -> dict[str, Any]:
    """The rule moved to `provider`: without the old tracker's fields, its authors the new default."""
    dropped = {"authors", *_ONLY_ON.get(intake["provider"], ())}
    return {**{key: value for key, value in intake.items() if key not in dropped}, "provider": provider}


def _member_check(intake: dict[str, Any]) -> str:
    if not intake or intake.get("provider") in ("linear", "jira"):
        return "-"
    if intake.get("memberWriteCheck", True):
        return "on (a MEMBER's issue starts only if they may write)"
    return "off (any MEMBER's issue starts)"


def update_project(api: ApiClient, args: argparse.Namespace) -> int:
    def change(config: dict[str, Any]) -> None:
        for key, value, clear in (
            ("name", args.name, args.clear_name),
            ("gitOrigin", args.git_origin, args.clear_git_origin),
        ):
            if value is not None:
                config[key] = value
            elif clear:
                config.pop(key, None)

    return _edit(api, args, change)


def _pickup(pickup: dict[str, Any] | None) -> list[tuple[str, str]]:
    """How long matching issues waited for their sessions (from the issue's update on GitHub to
    the launch), over the project's recent launches; nothing until one launched."""
    if not pickup:
        return []
    launches = int(pickup["launches"])
    return [
        ("pickup", f"last {waited(pickup['lastSeconds'])} (launched {utc(pickup['lastLaunchedAt'])})"),
        (
            "  over launches",
            f"p50 {waited(pickup['p50Seconds'])}, p95 {waited(pickup['p95Seconds'])} "
            f"({launches} recent launch{'' if launches == 1 else 'es'})",
        ),
    ]


def waited(seconds: float) -> str:
    """ "42 s", "4 min 5 s", "2 h 3 min": a wait as people read it."""
    total = max(0, round(seconds))
    if total < 60:
        return f"{total} s"
    minutes = total // 60
    if minutes < 60:
        return f"{minutes} min {total % 60} s"
    return f"{minutes // 60} h {minutes % 60} min"


_FAILURE_KINDS = {
    "transient": "transient (a 5xx, a reset or a timeout: its backoff starts at about a minute)",
    "persistent": "persistent (needs a fix, see the last error; then intake project poll ID)",
}


def _source(intake: dict[str, Any], status: dict[str, Any]) -> list[tuple[str, str]]:
    """Where the rule reads: a Linear team, a Jira site's project, or a GitHub repository (the tracker
    named only when it is not GitHub)."""
    if intake.get("provider") == "linear":
        return [("  tracker", "linear"), ("  team", intake.get("team") or "-")]
    if intake.get("provider") == "jira":
        return [
            ("  tracker", "jira"),
            ("  site", intake.get("site") or "-"),
            ("  project key", intake.get("project") or "-"),
        ]
    return [("  repo", status.get("repo") or intake.get("repo") or "-")]


def describe(project: dict[str, Any]) -> str:
    """A project as people read it: config first, then how its intake is doing."""
    intake = project.get("trackerIntake") or {}
    status = project.get("intake") or {}
    exclude = intake.get("excludeLabels")
    lines = [
        ("project", project["id"]),
        ("name", project.get("name") or "-"),
        ("git origin", project.get("gitOrigin") or "-"),
        ("version", str(project["version"])),
        ("intake", "on" if intake.get("enabled") else "off"),
        *_source(intake, status),
        ("  labels", ", ".join(intake.get("labels", [])) or "-"),
        ("  assignee", intake.get("assignee") or "-"),
        ("  exclude labels", "in-progress, in-review (default)" if exclude is None else ", ".join(exclude) or "-"),
        ("  max sessions/poll", str(intake.get("maxSessionsPerPoll", "-")) if intake else "-"),
        ("  credential", intake.get("credential") or "default"),
        ("  authors", ", ".join(intake.get("authors", [])) or "-"),
        ("  member check", _member_check(intake)),
        ("  backlog", intake.get("backlog") or "-"),
        ("  acknowledge", intake.get("acknowledge") or "-"),
        ("status", status.get("state", "-")),
    ]
    optional = [
        ("  backoff until", utc(status.get("backoffUntil"))),
        ("  failures in a row", str(status["consecutiveFailures"]) if status.get("consecutiveFailures") else None),
        ("  last error", status.get("lastError")),
        ("  failure", _FAILURE_KINDS.get(status.get("failureKind") or "")),
        ("  config error", status.get("configError")),
        ("  last poll", utc(status.get("checkedAt"))),
        ("  last change", utc(status.get("lastChangeAt"))),
        ("  deferred since", utc(status.get("deferredSince"))),
        ("  recording backlog", f"since {utc(status['backlogSince'])}" if status.get("backlogSince") else None),
        ("  GitHub requests/poll", str(status["requestsPerPoll"]) if status.get("requestsPerPoll") else None),
    ]
    lines.extend((label, value) for label, value in optional if value)
    lines.extend(_pickup(project.get("pickup")))
    width = max(len(label) for label, _ in lines)
    return "\n".join(f"{label.ljust(width)}  {value}" for label, value in lines)
