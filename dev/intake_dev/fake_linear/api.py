"""The GraphQL API over the workspace: the schema subset in `schema.graphql`, and a resolver for
each root field, connection and write.

Pages follow https://linear.app/developers/pagination: Relay connections with `nodes`, `edges`
and `pageInfo`, `first`/`after` and `last`/`before`, 50 nodes when neither `first` nor `last` is
given. "By default results are ordered by createdAt field. To get most recently updated
resources, you can alternatively order by updatedAt field"; the rate-limiting page adds that
ordering by the updated timestamp gets "the most recently changed data first". So both orders
are descending, newest first; equal timestamps are ordered by id (descending), so pages are
stable. A cursor is the node's id, as Linear's are; `after: X` serves what comes after X in the
order as it is now (X may since have moved, been archived or filtered out). The pagination page
states no largest page; the stand-in refuses `first` or `last` above `max_first` (250, the bound
integrators report Linear enforcing) with an INPUT_ERROR.

Archived issues are left out unless `includeArchived: true` ("Archived resources are hidden by
default from the paginated responses", https://linear.app/developers/graphql).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema, build_schema

from .filters import FilterContext, matches, state_view
from .workspace import Comment, Issue, Label, Reaction, Team, User, iso_ms
from .writes import WriteError

if TYPE_CHECKING:
    from .server import FakeLinear

PAGINATION_DOCS = "https://linear.app/developers/pagination"
DEFAULT_FIRST = 50
COMMENT_INPUT = frozenset({"issueId", "body", "id"})
REACTION_INPUT = frozenset({"issueId", "emoji", "id"})
LABEL_INPUT = frozenset({"name", "teamId", "color", "description", "id"})


@dataclass(frozen=True)
class Context:
    """What every resolver of one request sees."""

    linear: FakeLinear
    viewer_id: str
    now_ms: int
    max_first: int

    @property
    def filters(self) -> FilterContext:
        return FilterContext(self.linear, self.viewer_id, self.now_ms)


@dataclass(frozen=True)
class _Node:
    key: int  # the ordering timestamp
    id: str
    json: dict[str, Any]


@cache
def schema() -> GraphQLSchema:
    """The schema with the stand-in's resolvers attached (built once)."""
    built = build_schema((Path(__file__).with_name("schema.graphql")).read_text())
    resolvers: dict[str, dict[str, Callable[..., Any]]] = {
        "Query": {
            "issues": _issues,
            "issue": _issue,
            "issueLabels": _issue_labels,
            "organization": lambda _, info: _org(info.context),
            "viewer": lambda _, info: _user(info.context, info.context.linear.users[info.context.viewer_id]),
        },
        "Mutation": {
            "commentCreate": _comment_create,
            "reactionCreate": _reaction_create,
            "issueAddLabel": _issue_add_label,
            "issueLabelCreate": _issue_label_create,
        },
        "Issue": {"labels": _issue_label_page, "comments": _issue_comment_page},
    }
    for type_name, fields in resolvers.items():
        gql_type = built.get_type(type_name)
        assert isinstance(gql_type, GraphQLObjectType)
        for name, resolve in fields.items():
            gql_type.fields[name].resolve = resolve
    return built


# --- pages -----------------------------------------------------------------------------


def _page(
    ctx: Context, nodes: list[_Node], args: Mapping[str, Any], key_of: Callable[[str], int | None]
) -> dict[str, Any]:
    """A Relay connection over `nodes` (any order): newest first, `first`/`after`, `last`/`before`."""
    ordered = sorted(nodes, key=lambda n: (n.key, n.id), reverse=True)
    first, last = args.get("first"), args.get("last")
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= ctx.max_first:
            raise WriteError(f"{name} must be between 0 and {ctx.max_first}")
    window = _before(_after(ordered, args.get("after"), key_of), args.get("before"), key_of)
    if first is None and last is None:
        first = DEFAULT_FIRST
    chosen = window[:first] if first is not None else window
    chosen = chosen[max(0, len(chosen) - last) :] if last is not None else chosen
    position = {n.id: at for at, n in enumerate(ordered)}
    return {
        "nodes": [n.json for n in chosen],
        "edges": [{"cursor": n.id, "node": n.json} for n in chosen],
        "pageInfo": {
            "hasNextPage": bool(chosen) and position[chosen[-1].id] < len(ordered) - 1,
            "hasPreviousPage": bool(chosen) and position[chosen[0].id] > 0,
            "startCursor": chosen[0].id if chosen else None,
            "endCursor": chosen[-1].id if chosen else None,
        },
    }


def _cursor(cursor: str, key_of: Callable[[str], int | None]) -> tuple[int, str]:
    key = key_of(cursor)
    if key is None:
        raise WriteError(f"Invalid cursor {cursor!r}")
    return key, cursor


def _after(nodes: list[_Node], cursor: str | None, key_of: Callable[[str], int | None]) -> list[_Node]:
    if cursor is None:
        return nodes
    mark = _cursor(cursor, key_of)
    return [n for n in nodes if (n.key, n.id) < mark]


def _before(nodes: list[_Node], cursor: str | None, key_of: Callable[[str], int | None]) -> list[_Node]:
    if cursor is None:
        return nodes
    mark = _cursor(cursor, key_of)
    return [n for n in nodes if (n.key, n.id) > mark]


def _order_key(order_by: str | None) -> Callable[[Issue | Comment], int]:
    if order_by == "updatedAt":
        return lambda entity: entity.updated_ms
    return lambda entity: entity.created_ms


# --- queries ---------------------------------------------------------------------------


def _issues(_: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    ctx: Context = info.context
    linear, key = ctx.linear, _order_key(args.get("orderBy"))
    chosen = [
        _Node(key(issue), issue.id, _issue_json(ctx, issue))
        for issue in linear.issues.values()
        if (args.get("includeArchived") or issue.archived_ms is None)
        and matches(ctx.filters, "IssueFilter", issue, args.get("filter"))
    ]
    return _page(ctx, chosen, args, lambda i: key(linear.issues[i]) if i in linear.issues else None)


def _issue(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
    return _issue_json(info.context, _find_issue(info.context, id))


def _issue_labels(_: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    ctx: Context = info.context
    return _label_page(ctx, list(ctx.linear.labels.values()), args)


def _issue_label_page(parent: Mapping[str, Any], info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    ctx: Context = info.context
    issue: Issue = parent["_issue"]
    return _label_page(ctx, [ctx.linear.labels[i] for i in issue.label_ids], args)


def _label_page(ctx: Context, labels: Sequence[Label], args: Mapping[str, Any]) -> dict[str, Any]:
    chosen = [
        _Node(label.created_ms, label.id, _label(ctx, label))
        for label in labels
        if matches(ctx.filters, "IssueLabelFilter", label, args.get("filter"))
    ]
    every = ctx.linear.labels
    return _page(ctx, chosen, args, lambda i: every[i].created_ms if i in every else None)


def _issue_comment_page(parent: Mapping[str, Any], info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    ctx: Context = info.context
    issue: Issue = parent["_issue"]
    key = _order_key(args.get("orderBy"))
    chosen = [
        _Node(key(comment), comment.id, _comment(ctx, comment))
        for comment in ctx.linear.issue_comments(issue.id)
        if matches(ctx.filters, "CommentFilter", comment, args.get("filter"))
    ]
    every = ctx.linear.comments
    return _page(ctx, chosen, args, lambda i: key(every[i]) if i in every else None)


def _find_issue(ctx: Context, key: str) -> Issue:
    issue = ctx.linear.find_issue(key)
    if issue is None:
        raise WriteError("Entity not found: Issue")
    return issue


# --- writes ----------------------------------------------------------------------------


def _unsupported(name: str, given: Mapping[str, Any], served: frozenset[str]) -> None:
    extra = sorted(k for k, v in given.items() if v is not None and k not in served)
    if extra:
        raise WriteError(f"the Linear stand-in does not implement {name}.{', '.join(extra)}", "STAND_IN_UNSUPPORTED")


def _comment_create(_: Any, info: GraphQLResolveInfo, input: Mapping[str, Any]) -> dict[str, Any]:
    ctx: Context = info.context
    _unsupported("CommentCreateInput", input, COMMENT_INPUT)
    if not input.get("issueId") or not input.get("body"):
        raise WriteError("A comment needs an issueId and a body")
    comment = ctx.linear.comment_on(_find_issue(ctx, input["issueId"]), input["body"], ctx.viewer_id)
    return {"success": True, "lastSyncId": ctx.linear.next_sync_id(), "comment": _comment(ctx, comment)}


def _reaction_create(_: Any, info: GraphQLResolveInfo, input: Mapping[str, Any]) -> dict[str, Any]:
    ctx: Context = info.context
    _unsupported("ReactionCreateInput", input, REACTION_INPUT)
    if not input.get("issueId"):
        raise WriteError("The stand-in reacts to issues: give an issueId")
    reaction = ctx.linear.react(_find_issue(ctx, input["issueId"]), input["emoji"], ctx.viewer_id)
    return {"success": True, "lastSyncId": ctx.linear.next_sync_id(), "reaction": _reaction(ctx, reaction)}


def _issue_add_label(_: Any, info: GraphQLResolveInfo, id: str, labelId: str) -> dict[str, Any]:
    ctx: Context = info.context
    issue = _find_issue(ctx, id)
    label = ctx.linear.labels.get(labelId)
    if label is None:
        raise WriteError("Entity not found: IssueLabel")
    ctx.linear.label_issue(issue, label)
    return {"success": True, "lastSyncId": ctx.linear.next_sync_id(), "issue": _issue_json(ctx, issue)}


def _issue_label_create(
    _: Any, info: GraphQLResolveInfo, input: Mapping[str, Any], replaceTeamLabels: bool | None = None
) -> dict[str, Any]:
    ctx: Context = info.context
    _unsupported("IssueLabelCreateInput", input, LABEL_INPUT)
    if replaceTeamLabels:
        raise WriteError("the Linear stand-in does not implement replaceTeamLabels", "STAND_IN_UNSUPPORTED")
    label = ctx.linear.create_label(input["name"], input.get("teamId"))
    return {"success": True, "lastSyncId": ctx.linear.next_sync_id(), "issueLabel": _label(ctx, label)}


# --- rendering -------------------------------------------------------------------------


def _org(ctx: Context) -> dict[str, Any]:
    linear = ctx.linear
    return {"id": linear.org_id, "name": linear.org_name, "urlKey": linear.url_key}


def _user(ctx: Context, user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": user.id,
        "name": user.name,
        "displayName": user.name,
        "email": user.email,
        "admin": user.admin,
        "guest": user.guest,
        "active": user.active,
        "app": user.app,
        "isMe": user.id == ctx.viewer_id,
        "organization": _org(ctx),
    }


def _team(team: Team) -> dict[str, Any]:
    return {"id": team.id, "key": team.key, "name": team.name}


def _label(ctx: Context, label: Label) -> dict[str, Any]:
    team = ctx.linear.teams.get(label.team_id or "")
    return {"id": label.id, "name": label.name, "team": _team(team) if team else None}


def _issue_json(ctx: Context, issue: Issue) -> dict[str, Any]:
    linear = ctx.linear
    state = state_view(linear, issue.team_id, issue.state_type)
    bot = issue.bot_actor
    return {
        "_issue": issue,
        "id": issue.id,
        "identifier": linear.identifier(issue),
        "number": float(issue.number),
        "title": issue.title,
        "description": issue.description,
        "url": linear.issue_url(issue),
        "createdAt": iso_ms(issue.created_ms),
        "updatedAt": iso_ms(issue.updated_ms),
        "archivedAt": iso_ms(issue.archived_ms) if issue.archived_ms is not None else None,
        "state": {"id": state.id, "name": state.name, "type": state.type},
        "team": _team(linear.teams[issue.team_id]),
        "assignee": _user(ctx, linear.users.get(issue.assignee_id or "")),
        "creator": _user(ctx, linear.users.get(issue.creator_id or "")),
        "botActor": None
        if bot is None
        else {
            "id": None,
            "type": bot.type,
            "subType": bot.sub_type,
            "name": bot.name,
            "userDisplayName": bot.user_display_name,
            "avatarUrl": None,
        },
    }


def _comment(ctx: Context, comment: Comment) -> dict[str, Any]:
    linear = ctx.linear
    issue = linear.issues[comment.issue_id]
    url = f"{linear.issue_url(issue)}#comment-{comment.id[:8]}"
    return {
        "id": comment.id,
        "body": comment.body,
        "url": url,
        "createdAt": iso_ms(comment.created_ms),
        "updatedAt": iso_ms(comment.updated_ms),
        "user": _user(ctx, linear.users.get(comment.user_id)),
        "botActor": None,
        "issue": lambda info: _issue_json(ctx, issue),
    }


def _reaction(ctx: Context, reaction: Reaction) -> dict[str, Any]:
    issue = ctx.linear.issues[reaction.issue_id]
    return {
        "id": reaction.id,
        "emoji": reaction.emoji,
        "createdAt": iso_ms(reaction.created_ms),
        "updatedAt": iso_ms(reaction.created_ms),
        "user": _user(ctx, ctx.linear.users.get(reaction.user_id)),
        "issue": lambda info: _issue_json(ctx, issue),
    }
