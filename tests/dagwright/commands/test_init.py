"""``dagwright init``: a new project whose ``make test`` and ``make demo`` pass at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dagwright.cli import main

REPO = Path(__file__).resolve().parents[3]


def make(project: Path, *targets: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "DAGWRIGHT_VENV", "PYTHONPATH")
    }
    return subprocess.run(
        ["make", "--no-print-directory", *targets],
        cwd=project,
        env={**clean, "COLUMNS": "200", "NO_COLOR": "1", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def new_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "acme"
    assert main(["--project", str(tmp_path), "init", "acme", "--dagwright-source", str(REPO)]) == 0
    assert "next: cd" in capsys.readouterr().out
    return folder


def test_init_writes_the_standard_layout_installing_dagwright_from_this_checkout(
    new_project: Path,
) -> None:
    """The checkout is built into a wheel in the project's vendor/, named relatively: no
    path of this machine is in the project, so a colleague who clones it installs the same."""
    for folder in ("dags", "extractors", "transforms", "loaders", "expectations", "tests"):
        assert (new_project / folder).is_dir(), folder
    spec = (new_project / "dags" / "sales_daily.yaml").read_text()
    assert spec.startswith("# yaml-language-server: $schema=../dagwright.schema.json\n")
    assert (new_project / "dagwright.schema.json").is_file()
    assert (new_project / "data" / "shop" / "orders.csv").read_text().count("\n") == 601
    # Without a virtualenv to reuse, the Makefile installs dagwright from vendor/.
    (wheel,) = (new_project / "vendor").glob("dagwright-*-py3-none-any.whl")
    dry = make(new_project, "-n", "test")
    assert dry.returncode == 0, dry.stderr
    assert f"pip install --quiet --disable-pip-version-check './vendor/{wheel.name}[checks]'" in (
        dry.stdout
    )
    for path in new_project.rglob("*"):
        if path.is_file() and path.suffix in (".yaml", ".md", ".toml", ".py", ".json", ""):
            assert str(REPO) not in path.read_text(errors="replace"), path


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path, capsys) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    assert main(["--project", str(tmp_path), "init", "busy"]) == 1
    assert "exists and is not empty: choose a new folder" in capsys.readouterr().err
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_new_project_make_test_and_make_demo_pass(new_project: Path) -> None:
    venv = str(Path(sys.executable).parent.parent)
    tested = make(new_project, "test", DAGWRIGHT_VENV=venv)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "2 passed" in tested.stdout

    demo = make(new_project, "demo", DAGWRIGHT_VENV=venv)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "sales_daily run" in demo.stdout and "success" in demo.stdout
    reports = list((new_project / ".dagwright" / "reports" / "sales_daily").glob("*.html"))
    assert len(reports) == 1 and str(reports[0]) in demo.stdout
    import duckdb

    con = duckdb.connect(str(new_project / "warehouse.duckdb"), read_only=True)
    try:
        days = con.execute("SELECT COUNT(DISTINCT order_date) FROM agg_daily_sales").fetchall()
    finally:
        con.close()
    assert days == [(7,)]


def test_by_default_the_project_installs_dagwright_from_where_this_one_came_from(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from dagwright.commands.init import dagwright_requirement

    monkeypatch.delenv("DAGWRIGHT_SOURCE", raising=False)
    # This checkout is installed with pip install -e . (make test, .ci/run): vendored.
    assert (
        dagwright_requirement(None, tmp_path) == "./vendor/dagwright-0.1.0-py3-none-any.whl[checks]"
    )
    assert (tmp_path / "vendor" / "dagwright-0.1.0-py3-none-any.whl").is_file()
    assert dagwright_requirement("dagwright==0.1.0", tmp_path) == "dagwright[checks]==0.1.0"
