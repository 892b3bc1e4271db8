"""The canonical issue id `github:owner/repo#n`, its parser, the dedupe key and the SQS dedup id."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker_intake.domain.issue import (
    Issue,
    IssueRef,
    canonical_id,
    dedupe_key,
    deduplication_id,
    parse_canonical_id,
)

# Owners and names in GitHub's own character rules.
owners = st.from_regex(r"[A-Za-z0-9]{1,12}(-[A-Za-z0-9]{1,12}){0,2}", fullmatch=True)
names = st.from_regex(r"[A-Za-z0-9_-]{1,20}(\.[A-Za-z0-9_-]{1,10}){0,2}", fullmatch=True)
numbers = st.integers(min_value=1, max_value=10**12)
# Text without the canonical form's separators or whitespace: mostly outside GitHub's rules.
segments = st.text(
    alphabet=st.characters(blacklist_characters="/#", blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs")),
    min_size=1,
    max_size=30,
).filter(lambda s: not any(ch.isspace() for ch in s))


def test_canonical_id_is_spelled_as_github_spells_the_repo() -> None:
    # GIVEN a mixed-case owner and repo
    # WHEN the canonical id is built
    built = canonical_id("Acme", "App", 42)
    # THEN it keeps GitHub's spelling
    assert built == "github:Acme/App#42"


def test_issue_and_ref_carry_the_same_canonical_id() -> None:
    # GIVEN an issue and a reference to the same issue
    issue = Issue(owner="Acme", repo="App", number=7, title="t", url="https://github.com/Acme/App/issues/7")
    ref = IssueRef("Acme", "App", 7)
    # WHEN their canonical ids are read
    # THEN both are the canonical id of owner/repo#number
    assert issue.canonical_id == ref.canonical_id == "github:Acme/App#7"


@given(owner=owners, repo=names, number=numbers)
def test_parse_undoes_canonical_id(owner: str, repo: str, number: int) -> None:
    # GIVEN any GitHub owner, repo and issue number
    # WHEN the canonical id is built and parsed back
    ref = parse_canonical_id(canonical_id(owner, repo, number))
    # THEN the parts come back unchanged
    assert ref == IssueRef(owner, repo, number)


@given(owner=segments, repo=segments, number=numbers)
def test_build_and_parse_agree_on_every_segment(owner: str, repo: str, number: int) -> None:
    # GIVEN any owner and repo text without separators or whitespace (most outside GitHub's rules)
    spelled = f"github:{owner}/{repo}#{number}"
    # WHEN a canonical id is built from it, and its spelling is parsed
    try:
        built: str | None = canonical_id(owner, repo, number)
    except ValueError:
        built = None
    try:
        parsed: str | None = parse_canonical_id(spelled).canonical_id
    except ValueError:
        parsed = None
    # THEN both accept it and agree, or both refuse it: no stored id is one the parser rejects
    assert built == parsed
    assert built in (None, spelled)


@given(owner=owners, repo=names, number=numbers)
def test_dedupe_key_is_the_lower_cased_canonical_id(owner: str, repo: str, number: int) -> None:
    # GIVEN a canonical id
    built = canonical_id(owner, repo, number)
    # WHEN its dedupe key is taken
    key = dedupe_key(built)
    # THEN it is the canonical id with owner and repo lower-cased
    assert key == canonical_id(owner.lower(), repo.lower(), number)


@given(owner=owners, repo=names, number=numbers)
def test_dedupe_key_ignores_the_case_of_owner_and_repo(owner: str, repo: str, number: int) -> None:
    # GIVEN the same issue spelled with its owner and repo in different case
    one = canonical_id(owner, repo, number)
    other = canonical_id(owner.swapcase(), repo.upper(), number)
    # WHEN their dedupe keys are taken
    # THEN they are the same key (GitHub names are case-insensitive)
    assert dedupe_key(one) == dedupe_key(other)


@given(owner=owners, repo=names, number=numbers)
def test_dedupe_key_is_idempotent(owner: str, repo: str, number: int) -> None:
    # GIVEN a dedupe key
    key = dedupe_key(canonical_id(owner, repo, number))
    # WHEN the key itself is deduped again
    # THEN nothing changes
    assert dedupe_key(key) == key


@given(owner=owners, repo=names, a=numbers, b=numbers)
def test_different_issues_have_different_dedupe_keys(owner: str, repo: str, a: int, b: int) -> None:
    # GIVEN two issue numbers of one repository
    # WHEN their dedupe keys are taken
    same = dedupe_key(canonical_id(owner, repo, a)) == dedupe_key(canonical_id(owner, repo, b))
    # THEN the keys agree exactly when the numbers do
    assert same == (a == b)


def test_acme_app_and_acme_app_lower_are_one_repository() -> None:
    # GIVEN the issue example from the design: Acme/App and acme/app
    # WHEN their dedupe keys are taken
    # THEN they collide, as one repository must
    assert dedupe_key("github:Acme/App#1") == dedupe_key("github:acme/app#1") == "github:acme/app#1"


@given(owner=owners, repo=names, number=numbers, generation=st.integers(min_value=1, max_value=10**6))
def test_deduplication_id_is_stable_and_fits_sqs(owner: str, repo: str, number: int, generation: int) -> None:
    # GIVEN an issue's canonical id and a claim generation
    built = canonical_id(owner, repo, number)
    # WHEN the SQS deduplication id is computed twice
    first = deduplication_id(built, generation)
    second = deduplication_id(built, generation)
    # THEN it is the same both times, at most 128 characters, of characters SQS accepts
    assert first == second
    assert len(first) <= 128
    assert re.fullmatch(r"[0-9a-f]+", first)


@given(owner=owners, repo=names, number=numbers)
def test_deduplication_id_ignores_case(owner: str, repo: str, number: int) -> None:
    # GIVEN the same issue spelled in two cases
    # WHEN their deduplication ids are computed
    # THEN they are equal, so SQS drops the second send
    assert deduplication_id(canonical_id(owner, repo, number)) == deduplication_id(
        canonical_id(owner.upper(), repo.lower(), number)
    )


def test_deduplication_id_defaults_to_the_first_generation() -> None:
    # GIVEN a canonical id
    built = "github:Acme/App#9"
    # WHEN the id is computed with and without generation 1
    # THEN both agree (ids sent before generations existed keep deduplicating)
    assert deduplication_id(built) == deduplication_id(built, 1)


@given(owner=owners, repo=names, number=numbers, generation=st.integers(min_value=2, max_value=10**6))
def test_a_retaken_claim_gets_a_new_deduplication_id(owner: str, repo: str, number: int, generation: int) -> None:
    # GIVEN an issue whose claim was released and taken again
    built = canonical_id(owner, repo, number)
    # WHEN the later generation's id is computed
    # THEN it differs from the first one, so SQS does not drop it as a duplicate
    assert deduplication_id(built, generation) != deduplication_id(built, 1)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "github:o/r",
        "github:o/r#",
        "github:o/r#0",
        "github:o/r#01",
        "github:o/r#-1",
        "github:o/r#1.5",
        "github:o/r#x",
        "gitlab:o/r#1",
        "GITHUB:o/r#1",
        "o/r#1",
        "github:o#1",
        "github:/r#1",
        "github:o/#1",
        "github:o/r/x#1",
        "github:o/r#1#2",
        "github:o r/x#1",
        " github:o/r#1",
        "github:o/r#1 ",
        "github:o/r#1\n",
    ],
)
def test_malformed_canonical_id_is_refused(value: str) -> None:
    # GIVEN a string that is not exactly github:owner/repo#number
    # WHEN it is parsed
    # THEN it is refused
    with pytest.raises(ValueError, match="not a canonical issue id"):
        parse_canonical_id(value)


@pytest.mark.parametrize("number", [0, -1])
def test_canonical_id_refuses_non_positive_numbers(number: int) -> None:
    # GIVEN an issue number below 1
    # WHEN a canonical id is built from it
    # THEN it is refused
    with pytest.raises(ValueError):
        canonical_id("o", "r", number)


def test_canonical_id_refuses_a_boolean_number() -> None:
    # GIVEN True where an issue number belongs (bool is an int in Python)
    # WHEN a canonical id is built from it
    # THEN it is refused rather than spelled "#True"
    with pytest.raises(ValueError):
        canonical_id("o", "r", True)


@pytest.mark.parametrize(
    ("owner", "repo"),
    [("", "r"), ("o", ""), ("o/x", "r"), ("o", "r/x"), ("o", "r#1"), ("o o", "r"), ("o", "r\n")],
)
def test_canonical_id_refuses_parts_it_could_not_parse_back(owner: str, repo: str) -> None:
    # GIVEN an owner or repo holding a separator, whitespace or nothing
    # WHEN a canonical id is built from it
    # THEN it is refused, so no id is ever stored that the parser would reject
    with pytest.raises(ValueError):
        canonical_id(owner, repo, 1)
