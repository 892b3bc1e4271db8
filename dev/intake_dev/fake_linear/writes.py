"""Writes to an issue, as the mutations `commentCreate`, `reactionCreate`, `issueAddLabel` and
`issueLabelCreate` make them (https://linear.app/developers/graphql, "Queries & Mutations"; the
mutations' arguments and payloads are those of Linear's published schema).

What bumps the issue's `updatedAt` ("The last time at which the entity was meaningfully
updated", the schema's words): adding a label changes the issue, so it does; a reaction is an
entity of its own and does not. Whether a new comment moves its issue's `updatedAt` Linear does
not document; the stand-in bumps it by default (the case a poller must survive: its own comment
makes the issue look updated) and `comment_bumps_issue=False` turns that off.
"""

from __future__ import annotations

from .workspace import Comment, Issue, Label, Reaction, Workspace


class WriteError(Exception):
    """A write Linear refuses (INPUT_ERROR), or one the stand-in does not serve (STAND_IN_UNSUPPORTED)."""

    def __init__(self, message: str, code: str = "INPUT_ERROR") -> None:
        super().__init__(message)
        self.code = code


class Writes(Workspace):
    def comment_on(self, issue: Issue, body: str, user_id: str) -> Comment:
        now = self.now_ms()
        comment = Comment(self._new_id("comment"), issue.id, body, user_id, now, now)
        self.comments[comment.id] = comment
        if self.comment_bumps_issue:
            issue.updated_ms = now
        return comment

    def react(self, issue: Issue, emoji: str, user_id: str) -> Reaction:
        reaction = Reaction(self._new_id("reaction"), issue.id, emoji, user_id, self.now_ms())
        self.reactions[reaction.id] = reaction
        return reaction

    def label_issue(self, issue: Issue, label: Label) -> None:
        """Add a label the issue's team may use (its own or a workspace label); adding one the
        issue has already changes nothing."""
        if label.team_id not in (None, issue.team_id):
            raise WriteError("Label does not belong to the issue's team")
        if label.id in issue.label_ids:
            return
        issue.label_ids.append(label.id)
        issue.updated_ms = self.now_ms()

    def create_label(self, name: str, team_id: str | None) -> Label:
        """A label of a team (by the team's id, Team.id) or of the workspace; a name the team or
        workspace already has, in any case, is refused."""
        if team_id is not None and team_id not in self.teams:
            raise WriteError("Entity not found: Team")
        for label in self.labels.values():
            if label.name.casefold() == name.casefold() and label.team_id in (team_id, None):
                raise WriteError(f"A label named {name!r} already exists")
        label = Label(self._new_id("label"), name, team_id, self.now_ms())
        self.labels[label.id] = label
        return label

    def next_sync_id(self) -> float:
        return float(self._next_sync_id())
