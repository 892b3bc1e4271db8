"""The worker prompt: the issue in, at most 4096 UTF-8 bytes out, the closing instruction kept."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from tracker_intake.domain.launch import PROMPT_CAP_BYTES, build_prompt, idempotency_key
from tracker_intake.domain.session import SessionIssue, SessionRequest

URL = "https://github.com/acme/app/issues/42"
CLOSING = f"When you are done, open a pull request whose description links {URL}."


def request(body: str = "It crashes.", title: str = "Crash on empty config", **issue: object) -> SessionRequest:
    fields: dict[str, object] = {
        "number": 42,
        "title": title,
        "url": URL,
        "labels": ["agent", "bug"],
        "assignees": ["octocat"],
        "body": body,
        **issue,
    }
    return SessionRequest(
        project_id="demo",
        issue_id="github:acme/app#42",
        issue=SessionIssue.model_validate(fields),
        enqueued_at=datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
    )


def size(text: str) -> int:
    return len(text.encode())


def test_prompt_names_title_url_labels_assignees_and_body() -> None:
    # GIVEN a short issue
    # WHEN its prompt is built
    prompt = build_prompt(request())
    # THEN every part of the issue is in it
    assert "Title: Crash on empty config" in prompt
    assert f"URL: {URL}" in prompt
    assert "Labels: agent, bug" in prompt
    assert "Assignees: octocat" in prompt
    assert "It crashes." in prompt


def test_prompt_ends_with_the_closing_instruction() -> None:
    # GIVEN a short issue
    # WHEN its prompt is built
    prompt = build_prompt(request())
    # THEN the last line tells the worker what to deliver
    assert prompt.endswith(CLOSING)


def test_short_prompt_has_no_truncation_notice() -> None:
    # GIVEN an issue that fits
    # WHEN its prompt is built
    prompt = build_prompt(request())
    # THEN nothing says it was truncated
    assert "truncated" not in prompt


def test_issue_without_labels_or_assignees_says_none() -> None:
    # GIVEN an issue with no labels and no assignees
    # WHEN its prompt is built
    prompt = build_prompt(request(labels=[], assignees=[]))
    # THEN both lines say so instead of being blank
    assert "Labels: (none)" in prompt
    assert "Assignees: (none)" in prompt


def test_empty_body_says_no_description() -> None:
    # GIVEN an issue with an empty body
    # WHEN its prompt is built
    prompt = build_prompt(request(body="   "))
    # THEN the prompt says there is no description
    assert "(no description)" in prompt


def test_long_body_is_capped_at_4096_bytes_with_a_notice() -> None:
    # GIVEN a 20,000-character body
    body = "word " * 4_000
    # WHEN its prompt is built
    prompt = build_prompt(request(body=body))
    # THEN the prompt is at most 4096 bytes, says it is truncated and where to read the rest
    assert size(prompt) <= PROMPT_CAP_BYTES
    assert f"the issue body is truncated here; read the rest at {URL}" in prompt


def test_long_body_keeps_the_closing_instruction() -> None:
    # GIVEN a body far over the cap
    # WHEN its prompt is built
    prompt = build_prompt(request(body="x" * 50_000))
    # THEN the closing instruction survives the cut
    assert prompt.endswith(CLOSING)


def test_long_body_keeps_as_much_body_as_fits() -> None:
    # GIVEN a body far over the cap
    # WHEN its prompt is built
    prompt = build_prompt(request(body="x" * 50_000))
    # THEN the body fills the room: the prompt is within a few bytes of the cap
    assert PROMPT_CAP_BYTES - 4 <= size(prompt) <= PROMPT_CAP_BYTES


def test_multibyte_body_is_cut_on_a_character_boundary() -> None:
    # GIVEN a body of 4-byte emoji and 3-byte CJK characters, far over the cap
    body = "🚀日本" * 2_000
    # WHEN its prompt is built
    prompt = build_prompt(request(body=body))
    # THEN the kept part is a whole-character prefix of the body, no replacement characters
    kept = prompt.split("-----\n", 1)[1].split("\n[... the issue body is truncated", 1)[0]
    assert body.startswith(kept)
    assert "\ufffd" not in prompt
    assert size(prompt) <= PROMPT_CAP_BYTES


def test_body_exactly_at_the_limit_is_not_truncated() -> None:
    # GIVEN a body sized so the whole prompt is exactly 4096 bytes
    room = PROMPT_CAP_BYTES - size(build_prompt(request(body="x")))
    prompt = build_prompt(request(body="x" * (room + 1)))
    # WHEN it is built
    # THEN it is kept whole
    assert size(prompt) == PROMPT_CAP_BYTES
    assert "truncated" not in prompt


def test_huge_title_still_fits_and_keeps_the_closing_instruction() -> None:
    # GIVEN a pathological 10,000-character title
    # WHEN the prompt is built
    prompt = build_prompt(request(title="T" * 10_000, body="short"))
    # THEN it still fits and still ends with the closing instruction
    assert size(prompt) <= PROMPT_CAP_BYTES
    assert prompt.endswith(CLOSING)


@given(
    title=st.text(max_size=500),
    body=st.text(max_size=10_000),
    labels=st.lists(st.text(max_size=50), max_size=10),
)
def test_any_issue_gives_a_prompt_within_the_cap_ending_with_the_instruction(
    title: str, body: str, labels: list[str]
) -> None:
    # GIVEN any title, body and labels
    # WHEN the prompt is built
    prompt = build_prompt(request(title=title, body=body, labels=labels))
    # THEN it is at most 4096 UTF-8 bytes and ends with the closing instruction
    assert size(prompt) <= PROMPT_CAP_BYTES
    assert prompt.endswith(CLOSING)


def test_idempotency_key_is_project_and_canonical_id() -> None:
    # GIVEN a first-generation request
    # WHEN its idempotency key is taken
    key = idempotency_key(request())
    # THEN it is the project id and the (lower-cased) canonical id
    assert key == "demo:github:acme/app#42"


def test_idempotency_key_changes_for_a_claim_taken_again() -> None:
    # GIVEN the same issue, taken again after a release (generation 2)
    again = request().model_copy(update={"generation": 2})
    # WHEN the keys are compared
    # THEN the new generation gets its own key, so the backend starts a new session
    assert idempotency_key(again) != idempotency_key(request())
