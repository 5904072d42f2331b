"""The example user-written extractor, run like any other source."""

from __future__ import annotations

import os
import time

from tests.conftest import Project
from tests.extractors.conftest import extracted

SPEC = """
sources:
  inbox:
    extractor: example_file_inventory
    folder: inbox
    pattern: "*.csv"
    batch_size: 2
    incremental: {cursor: modified_at}
loads:
  inbox_files: {from: inbox, write: merge, primary_key: [path]}
"""


def _touch(project: Project, name: str, text: str, mtime: float) -> None:
    path = project.root / "inbox" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def test_lists_files_and_reads_only_new_ones_next_time(project: Project, run_spec) -> None:
    start = time.time() - 3600
    for i, name in enumerate(["a.csv", "b.csv", "sub/c.csv", "skip.txt"]):
        _touch(project, name, "x" * (i + 1), start + i)
    first = run_spec("inventory", SPEC)
    assert first.ok, first.record.error
    assert extracted(first, "inbox") == 3
    assert project.query("select path, size_bytes from inbox_files order by path") == [
        ("a.csv", 1),
        ("b.csv", 2),
        ("sub/c.csv", 3),
    ]

    _touch(project, "b.csv", "yyyyy", start + 100)
    _touch(project, "d.csv", "z", start + 101)
    second = run_spec("inventory", SPEC)
    assert second.ok, second.record.error
    assert extracted(second, "inbox") == 2
    assert project.query("select path, size_bytes from inbox_files order by path") == [
        ("a.csv", 1),
        ("b.csv", 5),
        ("d.csv", 1),
        ("sub/c.csv", 3),
    ]


def test_missing_folder_is_a_clear_error(project: Project, run_spec) -> None:
    outcome = run_spec("inventory", SPEC)
    assert not outcome.ok
    assert "source 'inbox': folder 'inbox' does not exist" in outcome.record.error
