"""The rules the OpenAPI document publishes are the rules the API enforces.

Each string rule is one regular expression, fullmatched by Python and published as a JSON
Schema `pattern`, which clients (schemathesis among them) read as ECMAScript. The two dialects
differ at the edges (what `\\s` means, what `$` matches), so the published schema is checked
here with a JSON Schema validator that reads patterns as ECMAScript does, against the model's
own validation, on arbitrary text and on text drawn from the pattern itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

import jsonschema
import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker_intake.api.models import NewProject
from tracker_intake.domain.config import TrackerIntake, check_assignee, check_label, check_repo
from tracker_intake.domain.issue import parse_canonical_id
from tracker_intake.domain.patterns import WHITESPACE

_INTAKE = TrackerIntake.model_json_schema()["properties"]
_PROJECT = NewProject.model_json_schema()["properties"]


def _string_schema(prop: dict[str, Any]) -> dict[str, Any]:
    """The string branch of a property (`anyOf: [string, null]`, or the items of an array)."""
    if "items" in prop:
        return dict(prop["items"])
    for option in prop.get("anyOf", [prop]):
        if option.get("type") == "string":
            return dict(option)
    raise AssertionError(f"no string schema in {prop}")


def _accepts(check: Callable[[str], object], value: str) -> bool:
    try:
        check(value)
    except ValueError:
        return False
    return True


RULES: dict[str, tuple[dict[str, Any], Callable[[str], object]]] = {
    "label": (_string_schema(_INTAKE["labels"]), check_label),
    "repo": (_string_schema(_INTAKE["repo"]), check_repo),
    "assignee": (_string_schema(_INTAKE["assignee"]), check_assignee),
}

# Text the rules care about: whitespace of both dialects, separators, controls, letters.
_EDGES = "".join(
    [" \t\n\x0b\x0c\r\x1c\x1f\x85\xa0\u1680\u2000\u2028\u202f\u3000\ufeff", ",/#.-_*@:", "\x00\x7f\x9f", "aZ09éß"]
)
_edge = st.sampled_from(_EDGES)
texts = (
    st.text(alphabet=_edge | st.characters(exclude_categories=["Cs"]), max_size=60)
    # an edge character at either end of plain text: where "no whitespace at the ends" bites
    | st.tuples(_edge | st.just(""), st.text(alphabet="ab-/", min_size=1, max_size=5), _edge | st.just("")).map("".join)
)


@pytest.mark.parametrize("rule", sorted(RULES))
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_the_published_pattern_and_the_validator_agree(rule: str, data: st.DataObject) -> None:
    schema, check = RULES[rule]
    pattern = schema["pattern"]
    # GIVEN arbitrary text, or text drawn from the published pattern itself
    core = pattern.removeprefix("^").removesuffix(r"$(?![\s\S])")
    value = data.draw(texts | st.from_regex(core, fullmatch=True) | st.from_regex(core, fullmatch=True).map(_newline))
    # WHEN the published schema, read as ECMAScript and as Python reads it, and the API's
    # validator judge it
    ecmascript = jsonschema_rs.validator_for(schema).is_valid(value)
    python = jsonschema.Draft202012Validator(schema).is_valid(value)
    enforced = _accepts(check, value)
    # THEN all three agree
    assert ecmascript == python == enforced, (rule, value)


def _newline(value: str) -> str:
    # Python's `$` also matches before a final newline: the published pattern must not.
    return value + "\n"


@settings(max_examples=400, deadline=None)
@given(value=texts | st.from_regex(r"(https|ssh)://[a-z:@]{0,12}@?github\.com/a/b", fullmatch=True))
def test_git_origin_credentials_rule_is_published_as_enforced(value: str) -> None:
    # GIVEN a gitOrigin, with or without user:token@ in it
    schema = _string_schema(_PROJECT["gitOrigin"])
    # WHEN the published schema and the model judge it
    published = jsonschema_rs.validator_for(schema).is_valid(value)
    try:
        NewProject.model_validate({"id": "p", "gitOrigin": value})
        enforced = True
    except ValueError:
        enforced = False
    # THEN they agree
    assert published == enforced, value


_ORIGIN_PARTS = st.sampled_from(
    [
        "git@github.com:",
        "https://github.com/",
        "ssh://git@github.com:22/",
        "https://GitHub.COM/",
        "https://gitlab.com/",
        "https://g\u0131thub.com/",
        "git@G\u0130THUB.com:",
    ]
)
_ORIGIN_TAILS = st.text(alphabet="ab.-_/Gitg \n@:", max_size=16)


@settings(max_examples=600, deadline=None)
@given(
    value=texts
    | st.tuples(_ORIGIN_PARTS, st.sampled_from(["acme/", "a-b/", "-x/", ""]), _ORIGIN_TAILS).map("".join)
    | st.from_regex(
        _string_schema(_PROJECT["gitOrigin"])["pattern"].removeprefix("^").removesuffix(r"$(?![\s\S])"), fullmatch=True
    )
)
def test_a_new_projects_git_origin_rule_is_published_as_enforced(value: str) -> None:
    # GIVEN a gitOrigin: any text, a GitHub (or GitLab) remote with an arbitrary tail, or one the
    # published pattern itself produces
    schema = _string_schema(_PROJECT["gitOrigin"])
    # WHEN the published schema, read as ECMAScript and as Python reads it, and the model judge it
    ecmascript = jsonschema_rs.validator_for(schema).is_valid(value)
    python = jsonschema.Draft202012Validator(schema).is_valid(value)
    try:
        NewProject.model_validate({"id": "p", "gitOrigin": value})
        enforced = True
    except ValueError:
        enforced = False
    # THEN all three agree: a new project's origin is a GitHub remote intake can poll, or refused
    assert ecmascript == python == enforced, value


def test_whitespace_is_exactly_what_python_strips() -> None:
    # GIVEN every code point
    import re
    import sys

    # WHEN the spelled-out whitespace class is compared with str.isspace
    spelled = re.compile(f"[{WHITESPACE}]")
    differ = [hex(c) for c in range(sys.maxunicode + 1) if bool(spelled.fullmatch(chr(c))) != chr(c).isspace()]
    # THEN they are the same set
    assert differ == []


@settings(max_examples=300, deadline=None)
@given(value=texts)
def test_a_label_is_refused_with_a_reason_not_a_shrug(value: str) -> None:
    # GIVEN any text the label rule refuses
    if _accepts(check_label, value):
        return
    # WHEN it is checked
    with pytest.raises(ValueError) as refused:
        check_label(value)
    # THEN the reason names what is wrong (never the catch-all)
    assert "is not a label" not in str(refused.value)


def test_the_canonical_issue_id_is_published_as_parsed() -> None:
    # GIVEN the path parameter's published pattern and a few ids
    from tracker_intake.api.routes import IssueIdParam

    pattern = get_args(IssueIdParam)[1].json_schema_extra["pattern"]
    validator = jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
    for value in ["github:acme/app#42", "github:a-b/c.d_e#1", "github:acme/app#0", "github:-a/b#1", "github:a/b#1\n"]:
        # WHEN both judge it
        try:
            parse_canonical_id(value)
            parsed = True
        except ValueError:
            parsed = False
        # THEN they agree
        assert validator.is_valid(value) == parsed, value
