"""The Linear adapter of the `IssueWriter` port: the acknowledgement's comment, reaction or label.

Linear (https://linear.app/developers/graphql; the mutations as its schema publishes them):
`commentCreate(input: {issueId, body})`, `reactionCreate(input: {issueId, emoji})`,
`issueAddLabel(id, labelId)`, with the label found by name (`issueLabels`) or made for the
issue's team (`issueLabelCreate`). A mutation is sent once: a retry could write twice, and the
acknowledgement decides what an interrupted write means (`find_comment`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tracker_intake.adapters.linear_http import LinearClient
from tracker_intake.domain.errors import BadTrackerResponse, TrackerError, WriteRefused
from tracker_intake.domain.issue import LinearRef, TrackerRef

COMMENT = """
mutation IntakeComment($input: CommentCreateInput!) {
  commentCreate(input: $input) { success comment { id url } }
}
"""
REACTION = """
mutation IntakeReaction($input: ReactionCreateInput!) {
  reactionCreate(input: $input) { success reaction { id } }
}
"""
COMMENTS = """
query IntakeComments($id: String!, $since: DateTimeOrDuration!) {
  issue(id: $id) { comments(first: 50, filter: {updatedAt: {gte: $since}}) { nodes { body url } } }
}
"""
TEAM = """
query IntakeIssueTeam($id: String!) { issue(id: $id) { team { id } } }
"""
# The issue's team's label, or a workspace label (one of no team): another team's label of the
# same name cannot go on the issue.
LABELS = """
query IntakeLabel($name: String!, $teamId: ID!) {
  issueLabels(
    first: 1
    filter: {name: {eqIgnoreCase: $name}, or: [{team: {id: {eq: $teamId}}}, {team: {null: true}}]}
  ) { nodes { id } }
}
"""
LABEL_CREATE = """
mutation IntakeLabelCreate($input: IssueLabelCreateInput!) {
  issueLabelCreate(input: $input) { success issueLabel { id } }
}
"""
LABEL_ADD = """
mutation IntakeLabelAdd($id: String!, $labelId: String!) {
  issueAddLabel(id: $id, labelId: $labelId) { success }
}
"""


class LinearIssueWriter:
    """Writes on Linear issues with one credential."""

    def __init__(self, client: LinearClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"LinearIssueWriter({self._client!r})"

    def add_reaction(self, issue: TrackerRef, content: str) -> str | None:
        ref = _linear(issue)
        variables = {"input": {"issueId": ref.issue_id, "emoji": content}}
        self._succeeded(self._mutate(REACTION, variables, ref, "the reaction"), "reactionCreate", ref)
        return None

    def add_comment(self, issue: TrackerRef, body: str) -> str | None:
        ref = _linear(issue)
        data = self._mutate(COMMENT, {"input": {"issueId": ref.issue_id, "body": body}}, ref, "the comment")
        comment = self._succeeded(data, "commentCreate", ref).get("comment")
        url = comment.get("url") if isinstance(comment, dict) else None
        return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None

    def find_comment(self, issue: TrackerRef, containing: str, since: datetime) -> str | None:
        ref = _linear(issue)
        moment = since.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        answer = self._client.query(COMMENTS, {"id": ref.issue_id, "since": moment}, _where(ref, "the comments"))
        found = answer.data.get("issue")
        if not isinstance(found, dict):
            raise WriteRefused(_missing(ref))
        for comment in _nodes(found.get("comments")):
            body, url = comment.get("body"), comment.get("url")
            if isinstance(body, str) and containing in body and isinstance(url, str):
                return url
        return None

    def add_label(self, issue: TrackerRef, label: str) -> str | None:
        ref = _linear(issue)
        where = _where(ref, f"the label {label!r}")
        found = self._client.query(TEAM, {"id": ref.issue_id}, where).data.get("issue")
        team = found.get("team") if isinstance(found, dict) else None
        if not isinstance(team, dict) or not isinstance(team.get("id"), str):
            raise WriteRefused(_missing(ref))
        answer = self._client.query(LABELS, {"name": label, "teamId": team["id"]}, where)
        labels = _nodes(answer.data.get("issueLabels"))
        if labels:
            label_id = labels[0].get("id")
        else:
            made = self._mutate(
                LABEL_CREATE, {"input": {"name": label, "teamId": team["id"]}}, ref, f"the label {label!r}"
            )
            created = self._succeeded(made, "issueLabelCreate", ref).get("issueLabel")
            label_id = created.get("id") if isinstance(created, dict) else None
        if not isinstance(label_id, str):
            raise BadTrackerResponse(f"Linear's answer names no label {label!r} for {ref.canonical_id}")
        added = self._mutate(LABEL_ADD, {"id": ref.issue_id, "labelId": label_id}, ref, f"the label {label!r}")
        self._succeeded(added, "issueAddLabel", ref)
        return None

    def _mutate(self, document: str, variables: dict[str, Any], ref: LinearRef, what: str) -> dict[str, Any]:
        try:
            return dict(self._client.mutate(document, variables, _where(ref, what)).data)
        except TrackerError as e:
            if type(e) is BadTrackerResponse:  # Linear refused the mutation itself: trying again cannot help
                raise WriteRefused(str(e)) from e
            raise

    def _succeeded(self, data: dict[str, Any], field: str, ref: LinearRef) -> dict[str, Any]:
        payload = data.get(field)
        if not isinstance(payload, dict) or payload.get("success") is not True:
            raise WriteRefused(f"Linear did not carry out {field} on {ref.canonical_id}")
        return payload


def _linear(issue: TrackerRef) -> LinearRef:
    if not isinstance(issue, LinearRef):
        raise WriteRefused(f"{issue.canonical_id} is not a Linear issue; a Linear credential cannot write on it")
    return issue


def _missing(ref: LinearRef) -> str:
    return f"Linear has no issue {ref.canonical_id} (deleted, or not visible to the credential)"


def _where(ref: LinearRef, what: str) -> str:
    return f"{what} on {ref.canonical_id}"


def _nodes(connection: Any) -> list[dict[str, Any]]:
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    return [node for node in nodes if isinstance(node, dict)] if isinstance(nodes, list) else []
