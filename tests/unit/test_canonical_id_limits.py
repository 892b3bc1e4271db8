"""The canonical id's limits and refusals, and the SQS deduplication id pinned to its first form.

Sharp enough for `make mutation`: each test fails on a defect the broader property tests in
test_canonical_id.py let through.
"""

from __future__ import annotations

import hashlib

import pytest

from tracker_intake.domain.issue import canonical_id, dedupe_key, deduplication_id, parse_canonical_id


def test_the_first_generations_deduplication_id_is_the_hash_of_the_dedupe_key_alone() -> None:
    # GIVEN an issue whose claim was queued before claims had generations: SQS deduplicated its
    # request on the sha256 of its dedupe key, with nothing appended
    built = "github:Acme/App#7"
    # WHEN the first generation's id is computed today, with the generation named or not
    # THEN it is still that hash, so a redelivery of the old request and a new one are one message
    assert deduplication_id(built) == hashlib.sha256(b"github:acme/app#7").hexdigest()
    assert deduplication_id(built, 1) == "b6566bc5d569f703930a70d6291bb27c3af5327c89b60cf174ca79fe05a59c68"


@pytest.mark.parametrize("generation", [0, 2, 3])
def test_every_other_generation_hashes_the_dedupe_key_with_its_number(generation: int) -> None:
    # GIVEN a claim taken again (or a generation number that is not the first)
    built = "github:Acme/App#7"
    # WHEN its deduplication id is computed
    # THEN it is the hash of `<dedupe key>#<generation>`: new, and the same on every retry
    expected = hashlib.sha256(f"{dedupe_key(built)}#{generation}".encode()).hexdigest()
    assert deduplication_id(built, generation) == expected


@pytest.mark.parametrize(
    ("owner", "accepted"),
    [("a" * 39, True), ("a" * 40, False), ("a-b", True), ("a--b", False), ("-ab", False), ("ab-", False)],
)
def test_an_owner_is_a_github_login_of_at_most_39_characters(owner: str, accepted: bool) -> None:
    # GIVEN an owner at or past GitHub's login rules (39 characters, single inner hyphens)
    value = f"github:{owner}/r#1"
    # WHEN its canonical id is built and parsed
    # THEN it is accepted exactly when GitHub would accept the login
    if accepted:
        assert canonical_id(owner, "r", 1) == value and parse_canonical_id(value).owner == owner
    else:
        with pytest.raises(ValueError, match="cannot be a canonical issue id"):
            canonical_id(owner, "r", 1)
        with pytest.raises(ValueError, match="is not a canonical issue id"):
            parse_canonical_id(value)


@pytest.mark.parametrize(("repo", "accepted"), [("r" * 100, True), ("r" * 101, False), ("a.b_c-d", True)])
def test_a_repository_name_has_at_most_100_characters(repo: str, accepted: bool) -> None:
    # GIVEN a repository name at or past GitHub's 100 characters
    value = f"github:o/{repo}#1"
    # WHEN its canonical id is parsed  THEN it is accepted exactly up to 100
    if accepted:
        assert parse_canonical_id(value).repo == repo and canonical_id("o", repo, 1) == value
    else:
        with pytest.raises(ValueError, match="is not a canonical issue id"):
            parse_canonical_id(value)


@pytest.mark.parametrize(("number", "accepted"), [(10**17, True), (10**18 - 1, True), (10**18, False)])
def test_an_issue_number_has_at_most_18_digits(number: int, accepted: bool) -> None:
    # GIVEN an issue number of 18 digits or of 19 (past what a claim key is built for)
    # WHEN its canonical id is built
    # THEN 18 digits are accepted and read back as the same number, 19 refused
    if accepted:
        assert parse_canonical_id(canonical_id("o", "r", number)).number == number
    else:
        with pytest.raises(ValueError, match="cannot be a canonical issue id"):
            canonical_id("o", "r", number)


@pytest.mark.parametrize("number", [0, -1, True, False])
def test_a_number_below_one_or_a_boolean_is_refused_as_not_a_positive_integer(number: int) -> None:
    # GIVEN an issue number below 1, or a bool (an int to Python)
    # WHEN a canonical id is built from it
    # THEN the refusal says what is wrong with the number, before any pattern is tried
    with pytest.raises(ValueError, match=rf"^issue number must be a positive integer, got {number!r}$"):
        canonical_id("o", "r", number)


def test_a_refused_canonical_id_quotes_only_the_first_characters_of_its_parts() -> None:
    # GIVEN an owner and a repository name far longer than GitHub allows (from an untrusted event)
    owner, repo = "o" * 40 + "X" * 1000, "r" * 100 + "Y" * 1000
    # WHEN a canonical id is built from them
    # THEN the refusal quotes the first 40 characters of the owner and 100 of the name, no more
    with pytest.raises(ValueError) as refused:
        canonical_id(owner, repo, 5)
    assert str(refused.value) == f"{'o' * 40!r}/{'r' * 100!r}#5 cannot be a canonical issue id"


def test_a_refused_canonical_id_string_is_quoted_to_80_characters() -> None:
    # GIVEN a long string that is not a canonical id
    value = "g" * 80 + "Z" * 1000
    # WHEN it is parsed
    # THEN the refusal quotes its first 80 characters, no more
    with pytest.raises(ValueError) as refused:
        parse_canonical_id(value)
    assert str(refused.value) == f"{'g' * 80!r} is not a canonical issue id (github:owner/repo#number)"
