"""Which issues intake takes: open, not a PR, all labels, the assignee rule, no exclude label,
and an author the rule trusts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tracker_intake.domain.config import DEFAULT_EXCLUDE_LABELS, AuthorAssociation, TrackerIntake
from tracker_intake.domain.eligibility import EligibilityRule, SkipReason, is_eligible, skip_reason
from tracker_intake.domain.issue import Issue, label_names


def issue(labels: tuple[str, ...] = ("bug",), assignees: tuple[str, ...] = (), **fields: Any) -> Issue:
    base = Issue(
        owner="acme",
        repo="app",
        number=1,
        title="Crash on start",
        url="https://github.com/acme/app/issues/1",
        labels=labels,
        assignees=assignees,
        author="octocat",
        author_association="MEMBER",
    )
    return replace(base, **fields)


def swap_some_case(value: str, pattern: list[bool]) -> str:
    return "".join(ch.upper() if pattern[i % len(pattern)] else ch.lower() for i, ch in enumerate(value))


label_text = st.from_regex(r"[a-z][a-z0-9 _-]{0,20}", fullmatch=True)
logins = st.from_regex(r"[a-z0-9]{1,10}(-[a-z0-9]{1,10}){0,2}", fullmatch=True)
case_patterns = st.lists(st.booleans(), min_size=1, max_size=5)


# --- open, and not a pull request ----------------------------------------------------------


def test_open_issue_with_the_label_is_eligible() -> None:
    # GIVEN an open issue carrying the rule's label
    # WHEN it is checked against the rule
    # THEN it is eligible, with no skip reason
    assert skip_reason(issue(), EligibilityRule(labels=("bug",))) is None
    assert is_eligible(issue(), EligibilityRule(labels=("bug",)))


def test_closed_issue_is_skipped_as_closed() -> None:
    # GIVEN a closed issue that otherwise matches
    # WHEN it is checked
    # THEN it is skipped as closed
    assert skip_reason(issue(state="closed"), EligibilityRule(labels=("bug",))) is SkipReason.CLOSED


def test_pull_request_is_skipped_as_pull_request() -> None:
    # GIVEN an open pull request that otherwise matches (the issues API lists PRs too)
    # WHEN it is checked
    # THEN it is skipped as a pull request
    pr = issue(is_pull_request=True)
    assert skip_reason(pr, EligibilityRule(labels=("bug",))) is SkipReason.PULL_REQUEST


# --- labels ---------------------------------------------------------------------------------


def test_every_configured_label_is_required() -> None:
    # GIVEN a rule with two labels and an issue carrying only one
    rule = EligibilityRule(labels=("bug", "agent"))
    # WHEN it is checked
    # THEN it is skipped for a missing label
    assert skip_reason(issue(labels=("bug",)), rule) is SkipReason.MISSING_LABEL


def test_issue_with_all_labels_and_more_is_eligible() -> None:
    # GIVEN a rule with two labels and an issue carrying both plus another
    rule = EligibilityRule(labels=("bug", "agent"))
    # WHEN it is checked
    # THEN it is eligible
    assert is_eligible(issue(labels=("agent", "p1", "bug")), rule)


@given(label=label_text, pattern=case_patterns, rule_pattern=case_patterns)
def test_labels_match_case_insensitively(label: str, pattern: list[bool], rule_pattern: list[bool]) -> None:
    # GIVEN a rule label and the issue's label spelt in a different case
    assume(label.casefold() not in DEFAULT_EXCLUDE_LABELS)
    rule = EligibilityRule(labels=(swap_some_case(label, rule_pattern),))
    # WHEN the issue is checked
    # THEN the labels still match
    assert is_eligible(issue(labels=(swap_some_case(label, pattern),)), rule)


def test_github_label_objects_are_read_by_name() -> None:
    # GIVEN labels as GitHub's API gives them: objects with a name (and other fields)
    raw: list[Any] = [
        {"id": 1, "name": "Bug", "color": "d73a4a", "default": True},
        {"id": 2, "name": "agent", "description": None},
    ]
    # WHEN they are read and the issue is checked
    # THEN the names are used, case-insensitively
    assert label_names(raw) == ("Bug", "agent")
    assert is_eligible(issue(labels=label_names(raw)), EligibilityRule(labels=("bug", "Agent")))


def test_label_strings_and_objects_may_be_mixed() -> None:
    # GIVEN labels given partly as strings, partly as objects
    raw: list[Any] = ["bug", {"name": "agent"}]
    # WHEN they are read
    # THEN both kinds come through, in order
    assert label_names(raw) == ("bug", "agent")


def test_label_objects_without_a_string_name_are_ignored() -> None:
    # GIVEN label items GitHub would never send whole: no name, a null name, a number
    raw: list[Any] = [{"id": 3}, {"name": None}, 17, {"name": "bug"}]
    # WHEN they are read
    # THEN only the usable name is kept
    assert label_names(raw) == ("bug",)


def test_issue_without_labels_is_skipped_when_labels_are_required() -> None:
    # GIVEN a rule with a label and an issue with none
    # WHEN it is checked
    # THEN it is skipped for a missing label
    assert skip_reason(issue(labels=()), EligibilityRule(labels=("bug",))) is SkipReason.MISSING_LABEL


# --- exclude labels -----------------------------------------------------------------------


@pytest.mark.parametrize("excluded", ["in-progress", "in-review", "In-Progress", "IN-REVIEW"])
def test_default_exclude_labels_skip_the_issue(excluded: str) -> None:
    # GIVEN the default rule and a matching issue also labelled in-progress or in-review (any case)
    rule = EligibilityRule(labels=("bug",))
    # WHEN it is checked
    # THEN it is skipped for an excluded label
    assert skip_reason(issue(labels=("bug", excluded)), rule) is SkipReason.EXCLUDED_LABEL


def test_custom_exclude_labels_replace_the_defaults() -> None:
    # GIVEN a rule whose exclude labels are ["wontfix"]
    rule = EligibilityRule(labels=("bug",), exclude_labels=("wontfix",))
    # WHEN issues labelled wontfix and in-progress are checked
    # THEN wontfix is skipped, and in-progress is no longer excluded
    assert skip_reason(issue(labels=("bug", "WontFix")), rule) is SkipReason.EXCLUDED_LABEL
    assert is_eligible(issue(labels=("bug", "in-progress")), rule)


def test_empty_exclude_labels_exclude_nothing() -> None:
    # GIVEN a rule with no exclude labels at all
    rule = EligibilityRule(labels=("bug",), exclude_labels=())
    # WHEN an issue labelled in-review is checked
    # THEN it is eligible
    assert is_eligible(issue(labels=("bug", "in-review")), rule)


def test_rule_from_config_uses_the_configured_exclude_labels() -> None:
    # GIVEN a trackerIntake config with its own exclude labels
    intake = TrackerIntake.model_validate(
        {"enabled": True, "repo": "acme/app", "labels": ["bug"], "excludeLabels": ["blocked"]}
    )
    # WHEN the eligibility rule is made from it
    rule = EligibilityRule.of(intake)
    # THEN it carries the config's labels, assignee and exclude labels, and the default authors
    assert rule == EligibilityRule(
        labels=("bug",),
        assignee=None,
        exclude_labels=("blocked",),
        authors=frozenset({"OWNER", "MEMBER", "COLLABORATOR"}),
    )


def test_rule_from_config_defaults_to_in_progress_and_in_review() -> None:
    # GIVEN a trackerIntake config without exclude labels
    intake = TrackerIntake.model_validate({"enabled": True, "repo": "acme/app", "assignee": "octocat"})
    # WHEN the eligibility rule is made from it
    rule = EligibilityRule.of(intake)
    # THEN the default exclude labels apply
    assert rule.exclude_labels == ("in-progress", "in-review")
    assert rule.assignee == "octocat"


# --- who wrote it ---------------------------------------------------------------------------

TRUSTED_BY_DEFAULT = {AuthorAssociation.OWNER, AuthorAssociation.MEMBER, AuthorAssociation.COLLABORATOR}


@pytest.mark.parametrize("association", list(AuthorAssociation))
def test_by_default_only_owners_members_and_collaborators_start_sessions(association: AuthorAssociation) -> None:
    # GIVEN an issue carrying the trigger label, by an author of this association
    subject = issue(labels=("agent",), author_association=association.value)
    # WHEN the rule of a config that says nothing about authors judges it
    rule = EligibilityRule.of(TrackerIntake.model_validate({"enabled": True, "labels": ["agent"]}))
    # THEN OWNER, MEMBER and COLLABORATOR are taken, and everyone else is an untrusted author
    expected = None if association in TRUSTED_BY_DEFAULT else SkipReason.UNTRUSTED_AUTHOR
    assert skip_reason(subject, rule) is expected


@pytest.mark.parametrize("association", list(AuthorAssociation))
def test_a_widened_rule_takes_exactly_the_associations_it_lists(association: AuthorAssociation) -> None:
    # GIVEN a rule widened explicitly to contributors
    allowed = ["OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR"]
    rule = EligibilityRule.of(TrackerIntake.model_validate({"labels": ["agent"], "authors": allowed}))
    # WHEN an issue by an author of each association is judged
    verdict = skip_reason(issue(labels=("agent",), author_association=association.value), rule)
    # THEN those listed are taken, the others are untrusted authors
    assert verdict is (None if association.value in allowed else SkipReason.UNTRUSTED_AUTHOR)


def test_an_issue_from_none_with_the_trigger_label_is_skipped_as_untrusted() -> None:
    # GIVEN a stranger's issue that an issue form labelled `agent` on a public repository
    subject = issue(labels=("agent",), author="drive-by", author_association="NONE")
    # WHEN the default rule on `agent` judges it
    # THEN it is skipped, and the reason says why
    assert skip_reason(subject, EligibilityRule(labels=("agent",))) is SkipReason.UNTRUSTED_AUTHOR
    assert str(SkipReason.UNTRUSTED_AUTHOR) == "untrusted author"


@pytest.mark.parametrize("association", [None, "", "member", "STAFF"])
def test_a_missing_or_unknown_association_is_never_trusted(association: str | None) -> None:
    # GIVEN an issue whose association is missing, mis-spelled, or one GitHub may add later
    subject = issue(labels=("agent",), author_association=association)
    # WHEN a rule that allows every association GitHub documents judges it
    rule = EligibilityRule(labels=("agent",), authors=frozenset(a.value for a in AuthorAssociation))
    # THEN it is refused: the rule allows only what it names
    assert skip_reason(subject, rule) is SkipReason.UNTRUSTED_AUTHOR


def test_a_rule_mismatch_is_reported_before_the_author() -> None:
    # GIVEN a stranger's issue without the rule's label
    subject = issue(labels=("bug",), author_association="NONE")
    # WHEN it is judged
    # THEN the reason is the label: the author matters only for issues the rule would take
    assert skip_reason(subject, EligibilityRule(labels=("agent",))) is SkipReason.MISSING_LABEL


# --- assignee -----------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["octocat", "OctoCat", "OCTOCAT"])
def test_assignee_login_matches_case_insensitively(spelling: str) -> None:
    # GIVEN a rule for assignee octocat and an issue assigned to Octocat and someone else
    rule = EligibilityRule(assignee=spelling)
    # WHEN it is checked
    # THEN it is eligible
    assert is_eligible(issue(labels=(), assignees=("hubot", "Octocat")), rule)


def test_assignee_login_mismatch_is_skipped() -> None:
    # GIVEN a rule for assignee octocat and an issue assigned to someone else
    rule = EligibilityRule(assignee="octocat")
    # WHEN it is checked
    # THEN it is skipped for the assignee
    assert skip_reason(issue(assignees=("hubot",)), rule) is SkipReason.ASSIGNEE_MISMATCH


def test_assignee_login_requires_an_assignee() -> None:
    # GIVEN a rule for assignee octocat and an unassigned issue
    # WHEN it is checked
    # THEN it is skipped for the assignee
    assert skip_reason(issue(assignees=()), EligibilityRule(assignee="octocat")) is SkipReason.ASSIGNEE_MISMATCH


def test_assignee_star_takes_any_assigned_issue() -> None:
    # GIVEN a rule for assignee "*"
    rule = EligibilityRule(assignee="*")
    # WHEN an assigned and an unassigned issue are checked
    # THEN only the assigned one is eligible
    assert is_eligible(issue(assignees=("anyone",)), rule)
    assert skip_reason(issue(assignees=()), rule) is SkipReason.ASSIGNEE_MISMATCH


def test_assignee_none_takes_only_unassigned_issues() -> None:
    # GIVEN a rule for assignee "none"
    rule = EligibilityRule(assignee="none")
    # WHEN an unassigned and an assigned issue are checked
    # THEN only the unassigned one is eligible
    assert is_eligible(issue(assignees=()), rule)
    assert skip_reason(issue(assignees=("octocat",)), rule) is SkipReason.ASSIGNEE_MISMATCH


def test_no_assignee_rule_ignores_assignees() -> None:
    # GIVEN a label-only rule
    rule = EligibilityRule(labels=("bug",))
    # WHEN assigned and unassigned issues are checked
    # THEN both are eligible
    assert is_eligible(issue(assignees=()), rule)
    assert is_eligible(issue(assignees=("octocat",)), rule)


def test_labels_and_assignee_must_both_match() -> None:
    # GIVEN a rule with a label and an assignee
    rule = EligibilityRule(labels=("bug",), assignee="octocat")
    # WHEN issues matching only one of them are checked
    # THEN neither is eligible
    assert skip_reason(issue(labels=("bug",), assignees=("hubot",)), rule) is SkipReason.ASSIGNEE_MISMATCH
    assert skip_reason(issue(labels=(), assignees=("octocat",)), rule) is SkipReason.MISSING_LABEL


# --- properties ----------------------------------------------------------------------------


@given(
    wanted=st.lists(label_text, min_size=1, max_size=4, unique_by=str.casefold),
    extra=label_text,
    pattern=case_patterns,
)
def test_an_unrelated_label_never_makes_an_eligible_issue_ineligible(
    wanted: list[str], extra: str, pattern: list[bool]
) -> None:
    # GIVEN an eligible issue, and a label that is neither excluded nor required
    rule = EligibilityRule(labels=tuple(wanted))
    assume(not {w.casefold() for w in wanted} & set(DEFAULT_EXCLUDE_LABELS))
    assume(extra.casefold() not in DEFAULT_EXCLUDE_LABELS)
    eligible = issue(labels=tuple(swap_some_case(w, pattern) for w in wanted))
    assert is_eligible(eligible, rule)
    # WHEN the label is added to the issue
    labelled = replace(eligible, labels=(*eligible.labels, extra))
    # THEN it is still eligible
    assert is_eligible(labelled, rule)


@given(
    labels=st.lists(label_text, max_size=4),
    assignees=st.lists(logins, max_size=3),
    excluded=st.lists(label_text, min_size=1, max_size=3),
    pick=st.integers(min_value=0),
    pattern=case_patterns,
    assignee=st.one_of(st.none(), st.just("*"), st.just("none"), logins),
)
def test_an_excluded_label_always_makes_the_issue_ineligible(
    labels: list[str],
    assignees: list[str],
    excluded: list[str],
    pick: int,
    pattern: list[bool],
    assignee: str | None,
) -> None:
    # GIVEN any issue and any rule with exclude labels
    rule = EligibilityRule(labels=tuple(labels[:2]), assignee=assignee, exclude_labels=tuple(excluded))
    base = issue(labels=tuple(labels), assignees=tuple(assignees))
    # WHEN one of the exclude labels (in any case) is added to the issue
    marked = replace(base, labels=(*base.labels, swap_some_case(excluded[pick % len(excluded)], pattern)))
    # THEN it is not eligible
    assert not is_eligible(marked, rule)


@given(
    labels=st.lists(label_text, max_size=4),
    assignees=st.lists(logins, max_size=3),
    state=st.sampled_from(["open", "closed"]),
    is_pr=st.booleans(),
    assignee=st.one_of(st.none(), st.just("*"), st.just("none"), logins),
    wanted=st.lists(label_text, max_size=3),
)
def test_is_eligible_agrees_with_skip_reason(
    labels: list[str],
    assignees: list[str],
    state: str,
    is_pr: bool,
    assignee: str | None,
    wanted: list[str],
) -> None:
    # GIVEN any issue and any rule
    subject = issue(labels=tuple(labels), assignees=tuple(assignees), state=state, is_pull_request=is_pr)
    rule = EligibilityRule(labels=tuple(wanted), assignee=assignee)
    # WHEN both checks are asked
    # THEN an issue is eligible exactly when there is no reason to skip it
    assert is_eligible(subject, rule) == (skip_reason(subject, rule) is None)


@given(
    labels=st.lists(label_text, max_size=4),
    assignees=st.lists(logins, max_size=3),
    is_pr=st.booleans(),
)
def test_closed_issues_and_pull_requests_are_never_eligible(
    labels: list[str], assignees: list[str], is_pr: bool
) -> None:
    # GIVEN any closed issue, or any pull request, and a rule that asks for nothing but "*"
    subject = issue(labels=tuple(labels), assignees=tuple(assignees), state="closed", is_pull_request=is_pr)
    pr = issue(labels=tuple(labels), assignees=tuple(assignees), is_pull_request=True)
    rule = EligibilityRule(assignee="*", exclude_labels=())
    # WHEN they are checked
    # THEN neither is eligible
    assert not is_eligible(subject, rule)
    assert not is_eligible(pr, rule)
