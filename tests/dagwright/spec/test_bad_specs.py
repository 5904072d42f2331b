"""A corpus of malformed specs through the real ``dagwright validate``, in a subprocess.

Each file in ``bad_specs/`` is wrong in one way; ``bad_specs/EXPECTED.txt`` holds the exact
``file:line:column: message`` lines the CLI must print for it (a line ending in ``[...]``
matches any text from there on: lists of installed plugins and dialects grow).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "bad_specs"
FILES = sorted(p.name for p in CORPUS.glob("*.yaml"))
WILDCARD = "[...]"


def expected() -> dict[str, list[str]]:
    lines: dict[str, list[str]] = defaultdict(list)
    for line in (CORPUS / "EXPECTED.txt").read_text(encoding="utf-8").splitlines():
        if line.strip():
            lines[line.split(":", 1)[0]].append(line)
    return lines


@pytest.fixture(scope="module")
def validated() -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAGWRIGHT_TEST_UNSET")}
    env |= {"COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "validate", CORPUS.name],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def reported(result: subprocess.CompletedProcess[str]) -> dict[str, list[str]]:
    lines: dict[str, list[str]] = defaultdict(list)
    for line in result.stdout.splitlines():
        if line.startswith(f"{CORPUS.name}/"):
            line = line.removeprefix(f"{CORPUS.name}/")
            lines[line.split(":", 1)[0]].append(line)
    return lines


def test_corpus_covers_every_problem_class() -> None:
    assert len(FILES) >= 40
    assert sorted(expected()) == FILES, "every spec needs its expected lines, and only those"


def test_every_spec_is_invalid_and_no_traceback(
    validated: subprocess.CompletedProcess[str],
) -> None:
    output = validated.stdout + validated.stderr
    assert validated.returncode == 1
    assert "Traceback" not in output
    assert "internal error" not in output
    assert f"{len(FILES)} spec(s) checked: 0 valid, {len(FILES)} invalid" in validated.stdout


@pytest.mark.parametrize("name", FILES)
def test_bad_spec_reports_exact_error(
    name: str, validated: subprocess.CompletedProcess[str]
) -> None:
    want, got = expected()[name], reported(validated)[name]
    assert len(got) == len(want), f"{name}: got {got}"
    for wanted, line in zip(want, got, strict=True):
        if wanted.endswith(WILDCARD):
            assert line.startswith(wanted.removesuffix(WILDCARD)), line
        else:
            assert line == wanted


def test_python_tags_ran_nothing(validated: subprocess.CompletedProcess[str]) -> None:
    assert validated.returncode == 1
    assert not Path("/tmp/dagwright_pwned").exists()
