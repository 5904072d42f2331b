"""Every test the README and the docs pages cite for a promise exists, by file and name.

A promise in the docs is held by the tests it names; when a test is renamed or removed,
the page citing it must change too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [
    "README.md",
    "docs/guarantees.md",
    "docs/staging.md",
    "docs/deployment.md",
    "docs/destinations.md",
    "docs/checks.md",
]
CITED = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")


def citations() -> list[tuple[str, str, str | None]]:
    found = []
    for page in PAGES:
        for path, name in CITED.findall((REPO / page).read_text(encoding="utf-8")):
            found.append((page, path, name or None))
    return found


def test_the_pages_cite_tests() -> None:
    assert len(citations()) > 30


@pytest.mark.parametrize(("page", "path", "name"), citations())
def test_a_cited_test_exists(page: str, path: str, name: str | None) -> None:
    file = REPO / path
    assert file.is_file(), f"{page} cites {path}, which does not exist"
    if name is None:
        return
    tree = ast.parse(file.read_text(encoding="utf-8"))
    names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert name in names, f"{page} cites {path}::{name}, which is not defined there"


def test_the_bad_spec_count_the_readme_gives_is_the_corpus() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    (count,) = re.findall(r"test_bad_specs\.py` \((\d+) specs\)", readme)
    corpus = list((REPO / "tests" / "dagwright" / "spec" / "bad_specs").glob("*.yaml"))
    assert int(count) == len(corpus)
