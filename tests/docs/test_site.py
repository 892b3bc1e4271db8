"""The documentation site: it builds strictly (a broken link or anchor, or a page left out of the
navigation, fails), every file in docs/ is reachable, the README stays the front door, and the
screenshots are the browser tests' own."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from intake_dev.template import REPO_ROOT

DOCS = REPO_ROOT / "docs"
MKDOCS = Path(sys.executable).parent / "mkdocs"
# What the site's build reads besides docs/ and mkdocs.yml: the generator of the reference pages
# and the files its pages include as snippets.
BUILD_INPUTS = ("mkdocs.yml", "BENCHMARKS.md", "CONTRIBUTING.md", "dev/intake_dev/docs_reference.py")
README_MAX_LINES = 150


def build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """`mkdocs build --strict` of the site whose mkdocs.yml is in `root`, as `make docs` runs it."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [str(MKDOCS), "build", "--strict", "--site-dir", str(site)]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)


class _Loader(yaml.SafeLoader):
    """mkdocs.yml names Python objects (`!!python/name:`): read them as plain strings."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    return loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None


_Loader.add_multi_constructor("tag:yaml.org,2002:python/", _any_tag)


def nav_pages() -> set[str]:
    config = yaml.load((REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)

    def walk(item: Any) -> Iterator[str]:
        if isinstance(item, str):
            yield item
        elif isinstance(item, list):
            for child in item:
                yield from walk(child)
        elif isinstance(item, dict):
            for child in item.values():
                yield from walk(child)

    return set(walk(config["nav"]))


def generated_pages() -> set[str]:
    """The pages the reference generator writes as the site builds (not files in docs/)."""
    source = (REPO_ROOT / "dev" / "intake_dev" / "docs_reference.py").read_text(encoding="utf-8")
    return set(re.findall(r"\"(reference/[a-z-]+\.md)\"", source))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    built = build(REPO_ROOT, target)
    assert built.returncode == 0, built.stdout + built.stderr
    return target


def copy_of_the_docs(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(DOCS, root / "docs")
    for name in BUILD_INPUTS:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, root / name)
    return root


def test_the_site_builds_strictly_with_no_warning(site: Path) -> None:
    # GIVEN the site built as `make docs` builds it (the fixture fails on a non-zero exit)
    # THEN it has the home page, a page of each of the four sections, and the generated reference
    for page in ("index.html", "tutorials/first-hour/index.html", "how-to/preview/index.html"):
        assert (site / page).is_file(), page
    for page in ("design/index.html", "reference/cli/index.html", "reference/api/index.html"):
        assert (site / page).is_file(), page


def test_every_markdown_file_in_docs_is_in_the_navigation() -> None:
    # GIVEN the markdown files in docs/ and the pages the generator writes
    files = {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md")}
    # WHEN they are held against mkdocs.yml's nav
    nav = nav_pages()
    # THEN each file is in the nav, and each nav entry is a file or a generated page
    assert files - nav == set(), "pages in docs/ that no one can reach: add them to the nav or remove them"
    assert nav - files - generated_pages() == set(), "nav entries with no page"


def test_every_screenshot_is_shown_on_a_page_and_taken_by_the_browser_tests() -> None:
    # GIVEN the screenshots in docs/, the pages, and the browser tests' shot() calls
    shots = {path.stem for path in (DOCS / "screenshots").glob("*.png")}
    pages = "\n".join(path.read_text(encoding="utf-8") for path in DOCS.rglob("*.md"))
    browser = "\n".join(path.read_text(encoding="utf-8") for path in (REPO_ROOT / "tests" / "browser").glob("*.py"))
    taken = set(re.findall(r"shot\(\w+, \"([a-z-]+)\"\)", browser))
    # THEN each is shown somewhere, and the browser tests take each (reports/screenshots/)
    assert {shot for shot in shots if f"screenshots/{shot}.png" not in pages} == set()
    assert shots - taken == set(), "screenshots no browser test takes: they would go stale"


def test_a_page_left_out_of_the_navigation_fails_the_build(tmp_path: Path) -> None:
    # GIVEN a copy of the docs with one page that no nav entry names
    root = copy_of_the_docs(tmp_path)
    (root / "docs" / "orphan.md").write_text("# Orphan\n\nNo one links here.\n", encoding="utf-8")
    # WHEN it is built as make docs builds it
    built = build(root, tmp_path / "site")
    # THEN the build fails, naming the page
    assert built.returncode != 0
    assert "orphan.md" in built.stdout + built.stderr


def test_a_link_to_a_missing_anchor_fails_the_build(tmp_path: Path) -> None:
    # GIVEN a copy of the docs where the home page links to an anchor the design page lacks
    root = copy_of_the_docs(tmp_path)
    home = root / "docs" / "index.md"
    home.write_text(home.read_text(encoding="utf-8") + "\n[gone](design.md#no-such-heading)\n", encoding="utf-8")
    # WHEN it is built THEN the build fails, naming the anchor
    built = build(root, tmp_path / "site")
    assert built.returncode != 0
    assert "no-such-heading" in built.stdout + built.stderr


def test_the_readme_is_the_front_door_and_its_links_resolve() -> None:
    # GIVEN the README
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    # THEN it is short, and every relative link names a file in the tree
    assert len(text.splitlines()) <= README_MAX_LINES
    links = [target.split("#")[0] for target in re.findall(r"\]\(([^)#:]+(?:#[^)]*)?)\)", text)]
    assert links, "the README links into the docs"
    assert [link for link in links if not (REPO_ROOT / link).exists()] == []
