"""How the REST API v3 renders the site's entities (issue, user, status, project, comment), as the
response schemas of https://developer.atlassian.com/cloud/jira/platform/rest/v3/ show them.

Datetimes are rendered in the reading user's profile time zone, `2026-01-05T09:00:00.000+0000`.
`emailAddress` is left out when the user's profile hides it (the GDPR migration guide: "fields
such as email will only be returned by the API if the user has permitted that data to be visible").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .workspace import STATUS_CATEGORIES, STATUS_NAMES, Comment, IssueSnapshot, Project, User, jira_datetime

ISSUE_FIELDS = ("summary", "description", "labels", "assignee", "reporter", "status", "created", "updated", "project")
ALL_FIELDS = ("*all", "*navigable")


@dataclass(frozen=True)
class View:
    """Who reads, and under which base URL (the site's, or the gateway's `/ex/jira/{cloudId}`)."""

    api_base: str
    zone: str
    users: dict[str, User]
    projects: dict[str, Project]


def user(view: View, account_id: str | None) -> dict[str, Any] | None:
    if account_id is None:
        return None
    who = view.users[account_id]
    rendered: dict[str, Any] = {
        "self": f"{view.api_base}/rest/api/3/user?accountId={who.account_id}",
        "accountId": who.account_id,
        "accountType": who.account_type,
        "displayName": who.display_name,
        "active": who.active,
        "timeZone": who.time_zone,
    }
    if who.email_visible:
        rendered["emailAddress"] = who.email
    return rendered


def status(view: View, category: str) -> dict[str, Any]:
    category_id, category_name, color = STATUS_CATEGORIES[category]
    return {
        "self": f"{view.api_base}/rest/api/3/status/{category_id}",
        "id": str(category_id),
        "name": STATUS_NAMES[category],
        "statusCategory": {
            "self": f"{view.api_base}/rest/api/3/statuscategory/{category_id}",
            "id": category_id,
            "key": category,
            "colorName": color,
            "name": category_name,
        },
    }


def project(view: View, the_project: Project) -> dict[str, Any]:
    return {
        "self": f"{view.api_base}/rest/api/3/project/{the_project.id}",
        "id": the_project.id,
        "key": the_project.key,
        "name": the_project.name,
        "projectTypeKey": "software",
        "simplified": False,
    }


def wanted_fields(requested: list[str] | None) -> tuple[str, ...] | None:
    """The fields to render: None when the request named none (search then answers only ids)."""
    if not requested:
        return None
    if any(name in ALL_FIELDS for name in requested):
        return ISSUE_FIELDS
    return tuple(name for name in ISSUE_FIELDS if name in requested)


def issue(view: View, snapshot: IssueSnapshot, fields: tuple[str, ...] | None) -> dict[str, Any]:
    if fields is None:
        return {"id": snapshot.id}
    values: dict[str, Any] = {
        "summary": lambda: snapshot.summary,
        "description": lambda: snapshot.description,
        "labels": lambda: list(snapshot.labels),
        "assignee": lambda: user(view, snapshot.assignee),
        "reporter": lambda: user(view, snapshot.reporter),
        "status": lambda: status(view, snapshot.status_category),
        "created": lambda: jira_datetime(snapshot.created_ms, view.zone),
        "updated": lambda: jira_datetime(snapshot.updated_ms, view.zone),
        "project": lambda: project(view, view.projects[snapshot.project_id]),
    }
    return {
        "expand": "",
        "id": snapshot.id,
        "self": f"{view.api_base}/rest/api/3/issue/{snapshot.id}",
        "key": snapshot.key,
        "fields": {name: values[name]() for name in fields},
    }


def comment(view: View, the_comment: Comment) -> dict[str, Any]:
    author = user(view, the_comment.author)
    return {
        "self": f"{view.api_base}/rest/api/3/issue/{the_comment.issue_id}/comment/{the_comment.id}",
        "id": the_comment.id,
        "author": author,
        "body": the_comment.body,
        "updateAuthor": author,
        "created": jira_datetime(the_comment.created_ms, view.zone),
        "updated": jira_datetime(the_comment.updated_ms, view.zone),
        "jsdPublic": True,
    }
