"""Schemathesis hooks for the config API: the refusals its schema cannot state, and no others.

Loaded by `st run` through SCHEMATHESIS_HOOKS. A JSON Schema cannot say "at least one label
when enabled" or "unique ignoring case", and cannot know which `nextToken` values the API
handed out. Schemathesis therefore sends schema-valid requests that break those rules and
reports the 4xx as "schema-valid request rejected" (ST202). Such a failure is dropped only when
the request really breaks one of these rules (checked here, independently of the API's code)
and the API's answer names exactly the fields of the rules it broke. Every other failure stands.
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData

# (path, nextToken) the API has answered with, in this run: a token is for the list it came from.
_HANDED_OUT: set[tuple[str, str]] = set()
# Credentials registered in this run (PUT /credentials/{name} answered 200, not removed since).
_REGISTERED: set[str] = {"default"}
_DEFAULT_EXCLUDES = ("in-progress", "in-review")
# The remote URLs the API documents it derives a repository from (README, "Configuring a
# project"), written here independently of the API's code.
_GITHUB_REMOTE = re.compile(
    r"(?:git@[Gg][Ii][Tt][Hh][Uu][Bb]\.[Cc][Oo][Mm]:|https://[Gg][Ii][Tt][Hh][Uu][Bb]\.[Cc][Oo][Mm]/"
    r"|ssh://git@[Gg][Ii][Tt][Hh][Uu][Bb]\.[Cc][Oo][Mm](?::22)?/)"
    r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}/[A-Za-z0-9._-]{1,100}?(?:\.git)?/?"
)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return
    if isinstance(body, dict) and isinstance(body.get("nextToken"), str):
        _HANDED_OUT.add((case.formatted_path, body["nextToken"]))
    if case.operation.path == "/credentials/{name}":
        name = str((case.path_parameters or {}).get("name"))
        if case.method.upper() == "PUT" and response.status_code == 200:
            _REGISTERED.add(name)
        elif case.method.upper() == "DELETE" and response.status_code == 204:
            _REGISTERED.discard(name)


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """False drops the failure."""
    if not isinstance(failure, RejectedPositiveData):
        return True
    named = _fields_named(response)
    if not named:
        return True
    broken = _broken_rules(case)
    return not (named <= broken)


def _fields_named(response: Any) -> set[str]:
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return set()
    if not isinstance(body, dict):
        return set()
    return {str(item.get("field")) for item in body.get("errors") or [] if isinstance(item, dict)}


def _broken_rules(case: Any) -> set[str]:
    """The fields whose cross-field rule this request breaks (as the API names them)."""
    broken: set[str] = set()
    body = case.body if isinstance(case.body, dict) else {}
    if case.operation.path.endswith("/preview"):
        # A preview reads the stored project and GitHub: a repository GitHub does not hold, or a
        # stored gitOrigin no repository derives from, is the state of the world (the answer
        # names the field), as an unknown project id is (404).
        broken |= {"trackerIntake.repo", "gitOrigin"}
        # ... and so is a registered credential's secret (the fuzzer registers made-up ARNs).
        broken.add("trackerIntake.credential")
    if_match = {k.lower(): v for k, v in (case.headers or {}).items()}.get("if-match")
    version = body.get("version")
    named = int(if_match.removeprefix("W/").strip('"')) if isinstance(if_match, str) and if_match != "*" else None
    if named is not None and version is not None and named != version:
        broken.add("version")  # the header and the body must name the same version
    token = (case.query or {}).get("nextToken")
    if isinstance(token, str) and (case.formatted_path, token) not in _HANDED_OUT:
        broken.add("nextToken")
    kind = body.get("kind") if case.operation.path == "/credentials/{name}" else None
    if kind is not None and (kind == "app") != (body.get("appId") is not None):
        broken.add("appId")  # a GitHub App credential has an app id; no other kind has one
    intake = body.get("trackerIntake")
    if not isinstance(intake, dict):
        return broken
    broken |= _tracker_rules(intake)
    credential = intake.get("credential")
    if isinstance(credential, str) and credential not in _REGISTERED:
        broken.add("trackerIntake.credential")  # a config names only a registered credential
    labels = [x for x in intake.get("labels") or [] if isinstance(x, str)]
    excludes = intake.get("excludeLabels")
    for field, values in (("labels", labels), ("excludeLabels", excludes or [])):
        folded = [v.casefold() for v in values if isinstance(v, str)]
        if len(set(folded)) != len(folded):
            broken.add(f"trackerIntake.{field}")
    if intake.get("enabled") is True:
        if not labels and intake.get("assignee") is None:
            broken.add("trackerIntake.labels")
        effective = _DEFAULT_EXCLUDES if excludes is None else excludes
        if {v.casefold() for v in labels} & {v.casefold() for v in effective if isinstance(v, str)}:
            broken.add("trackerIntake.labels")
        origin = body.get("gitOrigin")
        derivable = isinstance(origin, str) and _GITHUB_REMOTE.fullmatch(origin.strip())
        if intake.get("provider") != "linear" and intake.get("repo") is None and not derivable:
            # The repo is derived from gitOrigin: the API names gitOrigin when it cannot be,
            # trackerIntake.repo when there is none.
            broken.add("gitOrigin" if origin is not None else "trackerIntake.repo")
    return broken


# Linear's creator kinds and Jira's reporter kinds (README, "Who may start a session"); GitHub's
# associations are the others.
_LINEAR_AUTHORS = {"MEMBER", "GUEST", "APP"}
_JIRA_AUTHORS = {"MEMBER", "APP", "CUSTOMER"}
_GITHUB_AUTHORS = {"OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER"}
_GITHUB_AUTHORS |= {"MANNEQUIN", "NONE"}
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
# An Atlassian account id (as the config's pattern has it): 24 letters and digits, or number:uuid.
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9]{24}|[0-9]{1,10}:[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def _tracker_rules(intake: dict[str, Any]) -> set[str]:
    """A rule takes its own tracker's fields only: on Linear a team (required), an email assignee and
    creator kinds, never a repo or memberWriteCheck; on Jira a site and a project (required), an
    account id or email assignee, reporter kinds and no reaction; on GitHub none of those."""
    provider = intake.get("provider", "github")
    if provider == "jira":
        return _jira_rules(intake)
    assignee = intake.get("assignee")
    authors = {a for a in intake.get("authors") or [] if isinstance(a, str)}
    email = isinstance(assignee, str) and "@" in assignee
    if provider == "linear":
        named = {"team": intake.get("team") is None, "repo": intake.get("repo") is not None}
        named["memberWriteCheck"] = intake.get("memberWriteCheck") is not None
        named["assignee"] = isinstance(assignee, str) and assignee not in ("*", "none") and not email
        named["authors"] = "authors" in intake and not authors <= _LINEAR_AUTHORS
    else:
        login = isinstance(assignee, str) and (assignee in ("*", "none") or _LOGIN.fullmatch(assignee) is not None)
        named = {"team": intake.get("team") is not None, "assignee": assignee is not None and not login}
        named["authors"] = not authors <= _GITHUB_AUTHORS
    named["site"] = provider != "jira" and intake.get("site") is not None
    named["project"] = provider != "jira" and intake.get("project") is not None
    return {f"trackerIntake.{field}" for field, broke in named.items() if broke}


def _jira_rules(intake: dict[str, Any]) -> set[str]:
    assignee = intake.get("assignee")
    person = isinstance(assignee, str) and assignee not in ("*", "none")
    authors = {a for a in intake.get("authors") or [] if isinstance(a, str)}
    named = {
        "site": intake.get("site") is None,
        "project": intake.get("project") is None,
        "repo": intake.get("repo") is not None,
        "team": intake.get("team") is not None,
        "memberWriteCheck": intake.get("memberWriteCheck") is not None,
        "assignee": person and "@" not in str(assignee) and not _ACCOUNT_ID.fullmatch(str(assignee)),
        "authors": "authors" in intake and not authors <= _JIRA_AUTHORS,
        "acknowledge": intake.get("acknowledge") == "reaction",
    }
    return {f"trackerIntake.{field}" for field, broke in named.items() if broke}
