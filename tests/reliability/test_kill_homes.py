"""SIGKILL a run while a replace load renames its step's table into place (a workspace home).

The load's rename, lineage columns and state commit together: killed before the commit,
the table stays as it was, the home stays in the file, and the next run drops the home and
loads the table as a clean run does.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.reliability.support import KILLPOINT, child_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("kill")]

SPEC = """\
pipeline: homes
start_date: 2026-01-01
sources:
  items:
    extractor: csv
    path: data/items.csv
transforms:
  doubled:
    sql: select id, amount * 2 as amount from items
loads:
  doubled_items: {from: doubled, write: replace}
"""


def write_items(root: Path, first: int, rows: int) -> None:
    lines = ["id,amount"] + [f"{i},{i % 97}" for i in range(first, first + rows)]
    (root / "data" / "items.csv").write_text("\n".join(lines) + "\n")


def run(root: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(KILLPOINT), "run", "homes"],
        cwd=root,
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def state(root: Path) -> tuple[list[tuple], list[tuple], list[tuple]]:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        table = con.execute("SELECT COUNT(*), MIN(id), SUM(amount) FROM doubled_items").fetchall()
        homes = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, '__dagwright')"
        ).fetchall()
        runs = con.execute('SELECT status FROM "_dagwright"."runs" ORDER BY started_at').fetchall()
        return table, homes, runs
    finally:
        con.close()


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_kill_around_the_rename_keeps_the_table_and_the_next_run_drops_the_home(
    tmp_path: Path, when: str
) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "dags" / "homes.yaml").write_text(SPEC)
    write_items(tmp_path, 1, 3000)
    first = run(tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    before, homes, _ = state(tmp_path)
    assert homes == []

    write_items(tmp_path, 10_001, 2000)
    env = {"KILL_WORD": "ALTER", "KILL_STATEMENT": "1", "KILL_WHEN": when}
    killed = run(tmp_path, env)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    table, homes, _ = state(tmp_path)
    assert table == before  # the rename was never committed
    assert len(homes) == 1 and homes[0][0].endswith("_transform_doubled"), homes

    rerun = run(tmp_path)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    table, homes, runs = state(tmp_path)
    assert table == [(2000, 10_001, sum(i % 97 for i in range(10_001, 12_001)) * 2)]
    assert homes == []
    assert [r[0] for r in runs] == ["success", "abandoned", "success"]
