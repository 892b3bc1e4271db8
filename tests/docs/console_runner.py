"""The docs' console samples, run: every ```console block of README.md and docs/**/*.md.

The convention (docs authors write to it):

- In a console block, a line starting with `$ ` is a command; a command line ending with ` \\`
  goes on with the next line. Every other line is the expected output of the command before it.
  A line that is exactly `...` matches any number of lines (none too); `...` inside a line
  matches any text in that line. Output before a block's first `$ ` is an error, except in a
  terminal block (below), which may go on from the terminal as it was.
- Each page with console blocks runs in a session of its own: one `intake local --offline`
  stack, started in-process (`LocalStack`), which says its banner, `ticking every 60s; ...` and
  ticks once at start, as `intake local` does (without LINEAR_API_KEY, JIRA_EMAIL and
  JIRA_API_TOKEN, so that it sets the sample workspace's key and the sample site's email and
  token and says so); and one bash, in a temporary directory, whose commands share the page's
  environment (`export` in one block holds in the next). The shell's
  environment is the test's, less GITHUB_TOKEN and INTAKE_* (so a developer's own do not change
  what a sample prints), plus INTAKE_API_URL (the stack's API), GH (the GitHub stand-in), PATH
  with this Python's bin directory first (`intake` is the venv's), COLUMNS=200, NO_COLOR=1 and
  PYTHONUNBUFFERED=1 (stdout and stderr interleave as on a terminal; stderr is merged). A
  command reads no input (its stdin is /dev/null); `$?` in the next one is its exit status, and
  a mismatch says it. A command gets 120 s; a sample's shell refuses to run the samples again.
- A block after the comment `<!-- console: terminal -->` (blank lines between allowed) shows
  intake local's terminal: its `$ ` line, if any, is the block's first line and the page's first
  terminal block's, and must be `intake local --offline ...` (any path to `intake`) or
  `make local` (then the recipe line make echoes, read from the Makefile, comes first); it is not
  run. Its lines are compared with what the stack said since the page's previous terminal block.
  Each expected line starting with `tick ` runs one tick first (the dispatcher, the polls, the
  launch queue drained and the launches said: `LocalStack.tick`, as intake local's loop does),
  except that the tick intake local runs at start is the first terminal block's first.
- Commands are run with the documented ports of 127.0.0.1 (or localhost) replaced by the
  stack's: 3000 (the config API), 5000 (the embedded AWS) and 40215 (the GitHub stand-in).

Both sides are normalised before they are compared:

- the session's directory: `DIR/x` -> `x`, `DIR` alone -> `.` (the stack keeps its state in
  `DIR/.intake-local`, which a user's `intake local` names `.intake-local`);
- ISO-8601 UTC times (`2026-11-24T12:00:00Z`, `...00.123456Z`, `+00:00`) -> `<time>`;
  `12:00:00 UTC` -> `<time> UTC`;
- UUIDs -> `<uuid>`;
- `127.0.0.1:<digits>` -> `127.0.0.1:<port>`;
- durations as the CLI says them (`42 s`, `4 min 5 s`, `7115 h 54 min`: a pickup time, or
  "updated 3 s ago") -> `<duration>`;
- trailing whitespace, and blank lines at the end of a command's output, dropped; runs of two or
  more spaces -> two (columns aligned to other widths still match).

A mismatch fails with the page, the line of the command and of its block, the command, a
unified diff of the expected and actual lines, normalised, and what was printed with the
documented ports and paths (ready to paste into the page).
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TextIO
from urllib.parse import urlsplit

from intake_dev.local import HandlerOutput, LocalOptions, LocalStack

REPO = Path(__file__).resolve().parents[2]
TERMINAL_MARK = "<!-- console: terminal -->"
# The ports the docs show, as a user's `intake local` has them (the stand-in's is any free one:
# the docs show this one, and a user reads theirs from the banner).
DOC_API_PORT, DOC_AWS_PORT, DOC_GITHUB_PORT = 3000, 5000, 40215
# Set in every sample's shell: a sample that ran the samples again (pytest, make test) is refused.
GUARD = "INTAKE_CONSOLE_SAMPLE"
COMMAND_TIMEOUT = 120.0

# A plain count, independent of the fence parser: every line that opens a console fence.
CONSOLE_FENCE = re.compile(r"^[ \t]*(?:`{3,}|~{3,})console(?=[ \t]|$)", re.MULTILINE)
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


class SampleError(AssertionError):
    """A console sample that cannot be run, or did not print what its page says."""


class SampleSyntaxError(SampleError):
    """A console block that breaks the convention."""


class SampleMismatch(SampleError):
    """A command (or the terminal) printed something other than what the page shows."""


# --- reading a page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    page: str  # as the failure names it: the path from the repository's root
    line: int  # of the opening fence, from 1
    body: tuple[str, ...]
    terminal: bool


@dataclass
class Step:
    command: str  # "" in a terminal block that goes on from the terminal as it was
    line: int
    expected: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Fences:
    blocks: list[Block]
    nested: int  # console fences shown inside another fence (an example of one): not run


def scan(text: str, page: str) -> Fences:
    """The console blocks of a Markdown page, in order."""
    lines = text.splitlines()
    blocks: list[Block] = []
    nested = 0
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):  # inline code
            i += 1
            continue
        end = _closing(lines, i, opening["fence"])
        body = lines[i + 1 : end]
        if _info_word(opening["info"]) == "console":
            terminal = _marked_terminal(lines, i)
            blocks.append(Block(page, i + 1, tuple(_dedent(body, len(opening["indent"]))), terminal))
        else:
            nested += sum(1 for line in body if CONSOLE_FENCE.match(line))
        i = end + 1
    return Fences(blocks, nested)


def _closing(lines: Sequence[str], start: int, fence: str) -> int:
    """The line that closes the fence opened at `start` (the end of the page if none does)."""
    closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
    return next((j for j in range(start + 1, len(lines)) if closing.match(lines[j])), len(lines))


def _info_word(info: str) -> str:
    words = info.split()
    return words[0] if words else ""


def _marked_terminal(lines: Sequence[str], fence: int) -> bool:
    before = next((line.strip() for line in reversed(lines[:fence]) if line.strip()), "")
    return before == TERMINAL_MARK


def _dedent(body: Iterable[str], indent: int) -> list[str]:
    return [line[min(indent, len(line) - len(line.lstrip(" \t"))) :] for line in body]


def page_blocks(path: Path, root: Path = REPO) -> Fences:
    return scan(path.read_text(encoding="utf-8"), _shown(path, root))


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def doc_pages(root: Path = REPO) -> list[Path]:
    """README.md and every Markdown page of docs/, whether or not it has console blocks."""
    pages = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    return [page for page in pages if page.is_file()]


def sample_pages(root: Path = REPO) -> list[Path]:
    """The pages with console blocks: one session each."""
    return [page for page in doc_pages(root) if page_blocks(page, root).blocks]


def parse_steps(block: Block) -> list[Step]:
    """The block's commands, each with its expected output."""
    steps: list[Step] = []
    lines = list(block.body)
    i = 0
    while i < len(lines):
        line_no = block.line + 1 + i
        if lines[i].startswith("$ "):
            command = [lines[i][2:]]
            while command[-1].endswith(" \\") and i + 1 < len(lines):
                i += 1
                command.append(lines[i])
            steps.append(Step("\n".join(command), line_no))
        elif not steps and block.terminal:
            steps.append(Step("", line_no, [lines[i]]))
        elif not steps:
            raise SampleSyntaxError(
                f"{block.page}:{line_no}: the console block at line {block.line} has output before its first"
                f" `$ ` command: {lines[i]!r} (a block showing intake local's terminal follows {TERMINAL_MARK})"
            )
        else:
            steps[-1].expected.append(lines[i])
        i += 1
    if not steps:
        raise SampleSyntaxError(f"{block.page}:{block.line}: an empty console block")
    return steps


def check_terminal(block: Block, steps: Sequence[Step], first: bool) -> None:
    """A terminal block's command (if any) starts intake local offline, on its first line, in the
    page's first terminal block: the runner starts one stack a page, before the page's first block."""
    for index, step in enumerate(steps):
        if not step.command:
            continue
        where = f"{block.page}:{step.line}: in the terminal block at line {block.line}, `$ {step.command}`"
        if not starts_local(step.command):
            raise SampleSyntaxError(f"{where} is not `intake local --offline ...` or `make local`")
        if index > 0 or not first:
            raise SampleSyntaxError(
                f"{where} must be the first line of the page's first terminal block: one stack runs a page"
            )


def starts_local(command: str) -> bool:
    words = _words(command)
    if words == ["make", "local"]:
        return True
    return len(words) >= 3 and Path(words[0]).name == "intake" and words[1] == "local" and "--offline" in words[2:]


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command, comments=True)
    except ValueError:
        return []


def make_echo(target: str, makefile: Path = REPO / "Makefile") -> list[str]:
    """The recipe lines `make TARGET` echoes (those not starting with @), variables expanded."""
    text = makefile.read_text(encoding="utf-8")
    variables = dict(re.findall(r"^([A-Z_][A-Z0-9_]*) :?= (.*)$", text, re.MULTILINE))
    recipe = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n?)+)", text, re.MULTILINE)
    if recipe is None:
        raise SampleError(f"the Makefile has no target {target!r}")
    lines = [line[1:] for line in recipe.group(1).splitlines()]
    return [_expand(line, variables) for line in lines if not line.startswith("@")]


def _expand(text: str, variables: Mapping[str, str]) -> str:
    for _ in range(10):  # nested variables, a few levels deep
        text = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), ""), text)
    return text


# --- comparing ----------------------------------------------------------------------------------

_ISO_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]00:00)")
_CLOCK_UTC = re.compile(r"\b\d{2}:\d{2}:\d{2} UTC\b")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_LOOPBACK_PORT = re.compile(r"\b127\.0\.0\.1:\d+\b")
_DURATION = re.compile(r"\b\d+ (?:h \d+ min|min \d+ s|s)\b")
_SPACES = re.compile(r" {2,}")
ANY_LINES = "..."


@dataclass(frozen=True)
class Normaliser:
    """What both sides go through before they are compared (see the module's docstring)."""

    directories: tuple[str, ...] = ()

    def line(self, text: str) -> str:
        for directory in self.directories:
            text = text.replace(directory + "/", "").replace(directory, ".")
        text = _ISO_TIME.sub("<time>", text)
        text = _CLOCK_UTC.sub("<time> UTC", text)
        text = _UUID.sub("<uuid>", text)
        text = _LOOPBACK_PORT.sub("127.0.0.1:<port>", text)
        text = _DURATION.sub("<duration>", text)
        return _SPACES.sub("  ", text.rstrip())

    def lines(self, lines: Iterable[str]) -> list[str]:
        normal = [self.line(line) for line in lines]
        while normal and not normal[-1]:
            normal.pop()
        return normal


def matches(expected: Sequence[str], actual: Sequence[str]) -> bool:
    """Whether the actual lines are the expected ones, `...` lines and `...` in lines as wildcards."""
    reach = {0}  # how many actual lines the expected ones so far can have consumed
    for wanted in expected:
        if wanted == ANY_LINES:
            reach = set(range(min(reach), len(actual) + 1)) if reach else set()
            continue
        pattern = _line_pattern(wanted)
        reach = {j + 1 for j in reach if j < len(actual) and pattern.fullmatch(actual[j])}
    return len(actual) in reach


def _line_pattern(line: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in line.split(ANY_LINES)), re.DOTALL)


def difference(expected: Sequence[str], actual: Sequence[str], normaliser: Normaliser) -> list[str]:
    """The unified diff of the normalised sides; [] when they match."""
    want, got = normaliser.lines(expected), normaliser.lines(actual)
    if matches(want, got):
        return []
    return list(difflib.unified_diff(want, got, "expected", "actual", lineterm=""))


def substitute_ports(command: str, ports: Mapping[int, int]) -> str:
    """The command with the documented ports of this machine replaced by the stack's."""

    def real(m: re.Match[str]) -> str:
        return f"{m['host']}:{ports.get(int(m['port']), int(m['port']))}"

    return re.sub(r"\b(?P<host>127\.0\.0\.1|localhost):(?P<port>\d+)\b", real, command)


# --- running ------------------------------------------------------------------------------------


_STATUS = "__console_sample_status"


class Shell:
    """One bash for a page: a command at a time, its output read up to a sentinel line."""

    def __init__(self, cwd: Path, env: Mapping[str, str], timeout: float = COMMAND_TIMEOUT) -> None:
        self.timeout = timeout
        self._pending = b""
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,  # its own process group: closing ends what its commands left
        )

    def run(self, command: str) -> tuple[list[str], int]:
        """The command's output lines (stderr merged) and its exit status."""
        marker = f"__console_sample_{uuid.uuid4().hex}__".encode()
        # eval: a syntax error is the command's failure, not the end of the shell. The status is
        # kept across the sentinel's printf, so that `echo $?` says the previous command's.
        script = (
            f"(exit ${{{_STATUS}:-0}}); eval {shlex.quote(command)} </dev/null\n{_STATUS}=$?\n"
            f"printf '\\n%s %s\\n' {marker.decode()} \"${_STATUS}\"\n"
        )
        assert self.process.stdin is not None
        self.process.stdin.write(script.encode())
        self.process.stdin.flush()
        output, status = self._read_until(marker, command)
        return output.decode("utf-8", errors="replace").splitlines(), status

    def _read_until(self, marker: bytes, command: str) -> tuple[bytes, int]:
        end = re.compile(b"\n" + re.escape(marker) + rb" (\d+)\n")
        deadline = time.monotonic() + self.timeout
        while (found := end.search(self._pending)) is None:
            chunk = self._read(deadline, command)
            if not chunk:
                raise SampleError(f"the shell ended during `{command}`: {self._pending.decode(errors='replace')}")
            self._pending += chunk
        output, self._pending = self._pending[: found.start()], self._pending[found.end() :]
        return output, int(found.group(1))

    def _read(self, deadline: float, command: str) -> bytes:
        assert self.process.stdout is not None
        left = deadline - time.monotonic()
        ready, _, _ = select.select([self.process.stdout], [], [], max(left, 0))
        if not ready:
            so_far = self._pending.decode(errors="replace")
            raise SampleError(f"`{command}` did not end within {self.timeout:g} s; it printed: {so_far}")
        return os.read(self.process.stdout.fileno(), 65536)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):  # what its commands left behind, if anything
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


class PageSession:
    """One page's stack and shell; `run_block` runs its blocks in order."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.said: list[str] = []
        self._heard = 0  # how many of `said` a terminal block has shown
        self._terminal_blocks = 0
        self._environ = dict(os.environ)
        self._stdout: TextIO = sys.stdout
        self.stack: LocalStack | None = None
        self.shell: Shell | None = None
        here = str(workdir)
        self.normaliser = Normaliser(tuple(dict.fromkeys([here, str(workdir.resolve())])))
        self.ports: dict[int, int] = {}

    def __enter__(self) -> PageSession:
        if os.environ.get(GUARD):
            raise SampleError(f"console samples run inside a console sample ({GUARD} is set): refused")
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        state = self.workdir / ".intake-local"
        options = LocalOptions(
            port=0, aws_port=0, offline=True, state_dir=state / "state", log_file=state / "intake-local.log"
        )
        # A developer's own key, email or token would change the Linear or the Jira stand-in's
        # line (restored at close).
        for name in ("LINEAR_API_KEY", "JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_API_URL"):
            os.environ.pop(name, None)
        stack = self.stack = LocalStack(options, say=self.said.append).start()
        # As `intake local` does: what the handlers print (their metrics) goes to the log file.
        sys.stdout = HandlerOutput(stack.log, self._stdout)  # type: ignore[assignment]
        stack.announce_schedule()
        stack.tick()
        self.ports = {
            DOC_API_PORT: _port(stack.api_url),
            DOC_AWS_PORT: _port(stack.aws_endpoint),
            DOC_GITHUB_PORT: _port(stack.github.base_url),
        }
        self.shell = Shell(self.workdir, self._shell_env(stack))

    def _shell_env(self, stack: LocalStack) -> dict[str, str]:
        env = {k: v for k, v in self._environ.items() if k != "GITHUB_TOKEN" and not k.startswith("INTAKE_")}
        env.update(
            INTAKE_API_URL=stack.api_url,
            GH=str(stack.github.base_url),
            PATH=os.pathsep.join([str(Path(sys.executable).parent), self._environ.get("PATH", "")]),
            COLUMNS="200",
            NO_COLOR="1",
            PYTHONUNBUFFERED="1",
        )
        env[GUARD] = "1"
        return env

    def close(self) -> None:
        if self.shell is not None:
            self.shell.close()
        if self.stack is not None:
            self.stack.stop()
        sys.stdout = self._stdout
        os.environ.clear()
        os.environ.update(self._environ)

    def run_block(self, block: Block, steps: Sequence[Step]) -> None:
        if block.terminal:
            self._run_terminal(block, steps)
        else:
            self._run_shell(block, steps)

    def _run_shell(self, block: Block, steps: Sequence[Step]) -> None:
        assert self.shell is not None
        for step in steps:
            output, status = self.shell.run(substitute_ports(step.command, self.ports))
            self._check(block, step, f"`{step.command}` (exit status {status})", step.expected, output)

    def _run_terminal(self, block: Block, steps: Sequence[Step]) -> None:
        assert self.stack is not None
        expected = [line for step in steps for line in step.expected]
        ticks = sum(1 for line in expected if line.startswith("tick "))
        if self._terminal_blocks == 0:
            ticks = max(0, ticks - 1)  # intake local's own tick at start
        self._terminal_blocks += 1
        for _ in range(ticks):
            self.stack.tick()
        shown = make_echo("local") if any(_words(step.command) == ["make", "local"] for step in steps) else []
        actual, self._heard = [*shown, *self.said[self._heard :]], len(self.said)
        self._check(block, steps[0], "the intake local terminal", expected, actual)

    def _check(self, block: Block, step: Step, what: str, expected: Sequence[str], actual: Sequence[str]) -> None:
        diff = difference(expected, actual, self.normaliser)
        if diff:
            raise SampleMismatch(_mismatch(block, step, what, diff, self.as_documented(actual)))

    def as_documented(self, lines: Sequence[str]) -> list[str]:
        """Printed lines as a page would show them: the documented ports, the session's directory
        as the current one (a failure shows them, ready to paste)."""
        documented = {real: doc for doc, real in self.ports.items()}

        def port(m: re.Match[str]) -> str:
            return f"127.0.0.1:{documented.get(int(m.group(1)), m.group(1))}"

        shown = []
        for line in lines:
            for directory in self.normaliser.directories:
                line = line.replace(directory + "/", "").replace(directory, ".")
            shown.append(re.sub(r"\b127\.0\.0\.1:(\d+)\b", port, line).rstrip())
        return shown


def _port(url: str) -> int:
    port = urlsplit(url).port
    if port is None:
        raise SampleError(f"no port in {url}")
    return port


def _mismatch(block: Block, step: Step, what: str, diff: Sequence[str], printed: Sequence[str]) -> str:
    return "\n".join(
        [
            f"{block.page}:{step.line} (console block at line {block.line}): {what} printed something else.",
            "Expected (-) and actual (+), normalised:",
            *diff,
            "",
            "Printed, with the documented ports:",
            *printed,
        ]
    )


def plan(fences: Fences) -> list[tuple[Block, list[Step]]]:
    """Every block with its steps, the convention checked before anything starts."""
    planned = [(block, parse_steps(block)) for block in fences.blocks]
    terminals = [(block, steps) for block, steps in planned if block.terminal]
    for index, (block, steps) in enumerate(terminals):
        check_terminal(block, steps, first=index == 0)
    return planned


def run_page(path: Path, workdir: Path, root: Path = REPO) -> int:
    """Runs the page's console blocks in one session; how many ran. A page without any starts nothing."""
    planned = plan(page_blocks(path, root))
    if not planned:
        return 0
    with PageSession(workdir) as session:
        for block, steps in planned:
            session.run_block(block, steps)
    return len(planned)
