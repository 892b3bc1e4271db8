"""Every console sample of the docs runs, and prints what its page shows (see console_runner)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from console_runner import (
    CONSOLE_FENCE,
    GUARD,
    REPO,
    Normaliser,
    PageSession,
    SampleError,
    SampleMismatch,
    SampleSyntaxError,
    Shell,
    doc_pages,
    make_echo,
    matches,
    page_blocks,
    parse_steps,
    plan,
    run_page,
    sample_pages,
    scan,
    substitute_ports,
)

PAGES = sample_pages()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(REPO)) for page in PAGES])
def test_page_prints_what_it_shows(page: Path, tmp_path: Path) -> None:
    # GIVEN a page with console blocks
    blocks = page_blocks(page).blocks
    # WHEN its blocks run, in order, in one session (a stack and a shell)
    ran = run_page(page, tmp_path)
    # THEN each printed what the page shows (run_page raises a diff otherwise), and none was left out
    assert ran == len(blocks)


def test_every_console_fence_of_the_docs_is_collected() -> None:
    # GIVEN every page of the docs, counted with a plain regex as well as by the runner's parser
    for page in doc_pages():
        text = page.read_text(encoding="utf-8")
        fences = scan(text, str(page))
        # THEN every console fence is a block that runs, or an example shown inside another fence
        assert len(fences.blocks) + fences.nested == len(CONSOLE_FENCE.findall(text)), page


# --- the drift the runner catches, on pages of its own --------------------------------------------


def test_wrong_output_fails_with_a_diff_naming_the_line(tmp_path: Path) -> None:
    # GIVEN a page whose second command shows output it does not print
    page = tmp_path / "page.md"
    page.write_text("# A page\n\n```console\n$ echo hello\nhello\n$ echo world\nplanet\n```\n", encoding="utf-8")
    # WHEN it runs
    with pytest.raises(SampleMismatch) as failed:
        run_page(page, tmp_path / "session")
    # THEN the failure names the page, the command's line and block, the command, and the diff
    message = str(failed.value)
    assert "page.md:6 (console block at line 3): `echo world` (exit status 0)" in message
    assert "-planet\n+world" in message


def test_a_page_of_right_samples_runs_against_the_stack(tmp_path: Path) -> None:
    # GIVEN a page showing the terminal, a shell sharing its variables, and the documented ports
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- console: terminal -->\n"
        "```console\n"
        "$ intake local --offline\n"
        "...\n"
        "config API on http://127.0.0.1:3000  (intake --api-url http://127.0.0.1:3000 project list)\n"
        "...\n"
        "tick 1: 0 projects polled, 0 not modified, 0 changed\n"
        "```\n\n"
        "```console\n"
        "$ export ANSWER=42\n"
        "$ echo $ANSWER \\\n"
        "  and more\n"
        "42 and more\n"
        "$ curl -s http://127.0.0.1:3000/projects\n"
        '{"items":[],"nextToken":null}\n'
        "$ intake project create widgets --git-origin git@github.com:acme/widgets.git\n"
        "created project widgets (version 1)\n"
        "```\n\n"
        "<!-- console: terminal -->\n\n"
        "```console\n"
        "tick 2: 0 projects polled, 0 not modified, 0 changed\n"
        "```\n",
        encoding="utf-8",
    )
    # WHEN it runs
    # THEN every block ran and matched: the API was reached on its real port, the tick ran
    assert run_page(page, tmp_path / "session") == 3


def test_a_terminal_block_that_needs_a_tick_more_fails_with_the_terminals_diff(tmp_path: Path) -> None:
    # GIVEN a terminal block that shows one tick more than it lists
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- console: terminal -->\n```console\n$ make local\n...\n"
        "tick 1: 0 projects polled, 0 not modified, 0 changed\n```\n\n"
        "<!-- console: terminal -->\n```console\ntick 2: 0 projects polled, 0 not modified, 0 changed\n"
        "tick 2: 0 projects polled, 0 not modified, 0 changed\n```\n",
        encoding="utf-8",
    )
    # WHEN it runs
    with pytest.raises(SampleMismatch) as failed:
        run_page(page, tmp_path / "session")
    # THEN the terminal's actual lines are in the diff: the second tick line ran a third tick
    assert "page.md:10 (console block at line 9): the intake local terminal" in str(failed.value)
    assert "+tick 3: 0 projects polled, 0 not modified, 0 changed" in str(failed.value)


def test_a_page_without_console_blocks_starts_nothing(tmp_path: Path) -> None:
    # GIVEN a page whose only samples are sh
    page = tmp_path / "page.md"
    page.write_text("# Deploy\n\n```sh\naws cloudformation describe-stacks\n```\n", encoding="utf-8")
    # WHEN it runs
    # THEN nothing ran (and no stack was started: its directory stays unmade)
    assert run_page(page, tmp_path / "session") == 0
    assert not (tmp_path / "session").exists()


# --- the convention, checked before anything starts ----------------------------------------------


def test_output_before_the_first_command_is_an_error() -> None:
    # GIVEN a shell block starting with a line of output
    [block] = scan("intro\n\n```console\nhello\n$ echo hello\n```\n", "page.md").blocks
    # WHEN its steps are read
    # THEN it is refused, naming the line
    with pytest.raises(SampleSyntaxError, match=r"page\.md:4: the console block at line 3 has output before"):
        parse_steps(block)


def test_a_terminal_block_may_go_on_from_the_terminal() -> None:
    # GIVEN a terminal block without a command
    [block] = scan("<!-- console: terminal -->\n\n```console\ntick 2: x\n```\n", "page.md").blocks
    # WHEN its steps are read
    # THEN its lines are what the terminal shows next
    [step] = parse_steps(block)
    assert (block.terminal, step.command, step.expected) == (True, "", ["tick 2: x"])


@pytest.mark.parametrize(
    "command",
    ["intake project list", "intake local --github-url https://api.github.com", "make demo"],
)
def test_a_terminal_block_must_start_intake_local_offline(command: str) -> None:
    # GIVEN a terminal block whose command is not the offline stack
    fences = scan(f"<!-- console: terminal -->\n```console\n$ {command}\nbanner\n```\n", "page.md")
    # WHEN the page is planned
    # THEN it is refused before anything starts
    with pytest.raises(SampleSyntaxError, match=re.escape("is not `intake local --offline ...` or `make local`")):
        plan(fences)


def test_only_the_first_terminal_block_may_start_the_stack() -> None:
    # GIVEN two terminal blocks that both start intake local
    block = "<!-- console: terminal -->\n```console\n$ make local\n...\n```\n"
    # WHEN the page is planned
    # THEN the second is refused: one stack runs a page
    with pytest.raises(SampleSyntaxError, match=r"page\.md:9: .* must be the first line of the page's first"):
        plan(scan(block + "\n" + block, "page.md"))


@pytest.mark.parametrize(
    "command", ["make local", "make local   # = intake local --offline", ".venv/bin/intake local --offline --fresh"]
)
def test_the_ways_to_start_intake_local_offline_are_accepted(command: str) -> None:
    fences = scan(f"<!-- console: terminal -->\n```console\n$ {command}\n...\n```\n", "page.md")
    assert len(plan(fences)) == 1


def test_make_local_shows_the_recipe_make_echoes() -> None:
    # GIVEN the Makefile's local target
    # WHEN the runner reads what `make local` echoes
    # THEN it is the command it runs, its variables expanded
    assert make_echo("local") == [".venv/bin/intake local --offline"]


def test_console_fences_inside_other_fences_are_examples_not_samples() -> None:
    # GIVEN a page that shows the convention inside a four-backtick fence, and one real sample
    text = "````markdown\n```console\n$ echo shown\n```\n````\n\n```console\n$ echo run\nrun\n```\n"
    # WHEN it is scanned
    fences = scan(text, "page.md")
    # THEN only the real one runs; the other is counted as an example
    assert [block.line for block in fences.blocks] == [7]
    assert fences.nested == 1
    assert len(fences.blocks) + fences.nested == len(CONSOLE_FENCE.findall(text))


def test_inline_code_at_the_start_of_a_line_opens_no_fence() -> None:
    text = "```console``` blocks run:\n\n```console\n$ echo run\nrun\n```\n"
    assert [block.line for block in scan(text, "page.md").blocks] == [3]


def test_a_fenced_block_indented_in_a_list_is_read_without_its_indent() -> None:
    [block] = scan("1. Run:\n\n   ```console\n   $ echo hi\n   hi\n   ```\n", "page.md").blocks
    [step] = parse_steps(block)
    assert (step.command, step.expected, step.line) == ("echo hi", ["hi"], 4)


# --- matching and normalising -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "actual", "matched"),
    [
        (["a", "...", "d"], ["a", "b", "c", "d"], True),
        (["a", "...", "d"], ["a", "d"], True),  # ... matches no line too
        (["...", "d"], ["a", "d", "x"], False),  # but the lines after it must all match
        (["..."], [], True),
        (["a", "..."], ["a", "b"], True),
        (["a ... d"], ["a b c d"], True),  # ... inside a line: any text, in that line
        (["a ... d"], ["a b", "c d"], False),
        (["x...y"], ["xy"], True),
        (["a.b"], ["axb"], False),  # nothing else is a pattern
        (["a"], ["a", "b"], False),
        (["a", "b"], ["a"], False),
    ],
)
def test_ellipsis_rules(expected: list[str], actual: list[str], matched: bool) -> None:
    assert matches(expected, actual) is matched


def test_ports_of_loopback_are_normalised_on_both_sides() -> None:
    normal = Normaliser()
    assert normal.line("config API on http://127.0.0.1:3000") == normal.line("config API on http://127.0.0.1:41793")
    assert normal.line("at 127.0.0.1:5000/x") == "at 127.0.0.1:<port>/x"


def test_documented_ports_in_a_command_become_the_stacks() -> None:
    ports = {3000: 41793, 5000: 38211, 40215: 45569}
    command = (
        "curl http://127.0.0.1:3000/projects http://localhost:5000 $GH http://127.0.0.1:40215/x http://127.0.0.1:8080"
    )
    assert substitute_ports(command, ports) == (
        "curl http://127.0.0.1:41793/projects http://localhost:38211 $GH http://127.0.0.1:45569/x http://127.0.0.1:8080"
    )


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("claimed 2026-11-24T12:00:00Z", "claimed <time>"),
        ("at 2026-11-24T12:00:00.123456Z.", "at <time>."),
        ("at 2026-11-24T12:00:00+00:00", "at <time>"),
        ("paused until 14:03:59 UTC (rate limited)", "paused until <time> UTC (rate limited)"),
        ("id 0b7f4c1e-3f7a-4d2b-9d7e-5a1f2c3b4d5e", "id <uuid>"),
        ("pickup last 7115 h 54 min (p50 4 min 5 s)", "pickup last <duration> (p50 <duration>)"),
        ("updated 3 s ago", "updated <duration> ago"),
        ("0 session(s) now", "0 session(s) now"),
        ("trailing   ", "trailing"),
    ],
)
def test_what_varies_between_runs_is_normalised(text: str, normal: str) -> None:
    assert Normaliser().line(text) == normal


def test_columns_aligned_to_another_width_still_match() -> None:
    # GIVEN a table the docs aligned to a port of 4 digits, printed with a time of another width
    expected = ["ISSUE                   STATUS", "github:acme/widgets#15  launched"]
    actual = ["ISSUE                    STATUS", "github:acme/widgets#15   launched"]
    # WHEN both are normalised
    normal = Normaliser()
    # THEN runs of spaces are two on both sides
    assert normal.lines(expected) == normal.lines(actual) == ["ISSUE  STATUS", "github:acme/widgets#15  launched"]


def test_the_sessions_directory_reads_as_the_current_one() -> None:
    normal = Normaliser(("/tmp/pytest-1/session",))
    assert normal.line("state /tmp/pytest-1/session/.intake-local/state") == "state .intake-local/state"
    assert normal.line("cwd /tmp/pytest-1/session") == "cwd ."


def test_blank_lines_at_the_end_of_an_output_are_dropped() -> None:
    assert Normaliser().lines(["a", "", "  "]) == ["a"]


def test_a_commands_exit_status_is_there_for_the_next(tmp_path: Path) -> None:
    # GIVEN a page's shell, after a command that failed
    shell = Shell(tmp_path, {"PATH": os.environ["PATH"]})
    try:
        assert shell.run("(exit 3)") == ([], 3)
        # WHEN the next command shows `$?`
        # THEN it is the status of the command before it, as in a terminal
        assert shell.run("echo $?") == (["3"], 0)
        assert shell.run("echo $?") == (["0"], 0)
    finally:
        shell.close()


def test_a_syntax_error_fails_the_command_not_the_shell(tmp_path: Path) -> None:
    shell = Shell(tmp_path, {"PATH": os.environ["PATH"]})
    try:
        output, status = shell.run("if then")
        assert status == 2 and "syntax error" in output[0]
        assert shell.run("printf 'no newline'") == (["no newline"], 0)
    finally:
        shell.close()


def test_a_session_inside_a_sample_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the environment of a sample's shell (a sample that ran pytest, say)
    monkeypatch.setenv(GUARD, "1")
    # WHEN a page's session starts
    # THEN it refuses, before it starts a stack
    with pytest.raises(SampleError, match="inside a console sample"), PageSession(tmp_path / "session"):
        pass
    assert not (tmp_path / "session").exists()
