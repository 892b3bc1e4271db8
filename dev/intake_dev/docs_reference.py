"""Writes the documentation site's reference pages, generated from the code, as mkdocs builds it.

mkdocs.yml runs this file through mkdocs-gen-files (`runpy.run_path`, so `__name__` is
"<run_path>"): the pages exist only in the build, never in docs/, and cannot drift from the code.
Importing it writes nothing. `python -m intake_dev.docs_reference DIR` writes them into DIR, to
read them without building the site.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from intake_dev.reference_pages import api_page, cli_page, config_page, template_page

# Where each page goes in the site (mkdocs.yml's nav names these paths), and what builds it.
PAGES: dict[str, Callable[[], str]] = {
    "reference/cli.md": cli_page,
    "reference/api.md": api_page,
    "reference/config.md": config_page,
    "reference/template.md": template_page,
}

__all__ = ["PAGES", "api_page", "cli_page", "config_page", "template_page", "write_into"]


def write_into(directory: Path) -> list[Path]:
    """Every page under `directory`, at its path in the site."""
    written = []
    for name, build in PAGES.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(build(), encoding="utf-8")
        written.append(path)
    return written


def _write_into_build() -> None:
    import mkdocs_gen_files  # only present (and meaningful) while mkdocs builds

    for name, build in PAGES.items():
        with mkdocs_gen_files.open(name, "w") as page:
            page.write(build())


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m intake_dev.docs_reference DIR  (mkdocs runs this file itself)")
        return 2
    for path in write_into(Path(argv[0])):
        print(path)
    return 0


if __name__ == "<run_path>":
    _write_into_build()
elif __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
