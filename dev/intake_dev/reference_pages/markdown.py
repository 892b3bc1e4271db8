"""Markdown for the generated pages: text from the code made safe for prose and table cells."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

GENERATOR = "dev/intake_dev/docs_reference.py"

# A code span, kept as it is: Markdown reads nothing inside it (a `|` included, in a table).
_CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.S)
# What Markdown (or the HTML it passes through) would otherwise take for markup. `<` has no
# backslash escape in Python-Markdown, hence the entity.
_PROSE = str.maketrans({"\\": "\\\\", "*": "\\*", "_": "\\_", "[": "\\[", "]": "\\]", "<": "&lt;"})
_CELL = str.maketrans({"\\": "\\\\", "*": "\\*", "_": "\\_", "[": "\\[", "]": "\\]", "<": "&lt;", "|": "\\|"})


def generated(source: str) -> str:
    """The note a generated page starts with: where it comes from, and so where to change it."""
    return (
        '!!! info "Generated from the code"\n'
        f"    This page is generated from {source} by `{GENERATOR}` each time the site is built: "
        "to change it, change the code.\n"
    )


def heading(level: int, text: str, anchor: str) -> str:
    """A heading with an explicit anchor, so links to it do not depend on how its text slugifies."""
    return f"{'#' * level} {text} {{#{anchor}}}\n"


def code(text: str) -> str:
    """`text` as a code span, fenced with more backticks than it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def prose(text: str) -> str:
    """Text from the code (a docstring, a help text) as Markdown paragraphs: its code spans kept."""
    return _outside_code(text, _PROSE)


def cell(text: str) -> str:
    """Text from the code as one table cell: one line (paragraphs kept apart), `|` escaped."""
    paragraphs = [" ".join(part.split()) for part in re.split(r"\n\s*\n", text.strip())]
    return "<br>".join(_outside_code(part, _CELL) for part in paragraphs if part)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; the cells are Markdown already (see `cell`)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines) + "\n"


def page(*blocks: str) -> str:
    """Blocks of Markdown, a blank line between each; empty ones left out."""
    return "\n".join(block.rstrip("\n") + "\n" for block in blocks if block.strip())


def section_of(page_text: str, anchor: str) -> str:
    """The part of a generated page under the heading with this anchor, up to the next heading."""
    match = re.search(rf"^#+ .*\{{#{re.escape(anchor)}\}}\n(.*?)(?=^#+ |\Z)", page_text, re.M | re.S)
    return match.group(1) if match else ""


def _outside_code(text: str, escapes: dict[int, str]) -> str:
    pieces: list[str] = []
    last = 0
    for span in _CODE_SPAN.finditer(text):
        pieces.extend([text[last : span.start()].translate(escapes), span.group(0)])
        last = span.end()
    pieces.append(text[last:].translate(escapes))
    return "".join(pieces)
