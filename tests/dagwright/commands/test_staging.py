"""``dagwright staging``: a failed run keeps its staged files, listed with their state, and
purged by age or state; a successful run leaves nothing behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.conftest import Project

SPEC = """
pipeline: fragile
start_date: 2026-01-01
sources:
  orders: {extractor: csv, path: data/shop/orders.csv}
transforms:
  amounts:
    sql: select order_id, cast(status as integer) as broken from orders
  counted:
    sql: select count(*) as n from orders
loads:
  %s: {from: %s, write: replace}
"""


def rows(out: str) -> dict[str, list[str]]:
    """The table's rows by run id."""
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines()]
    return {c[0]: c for c in cells if len(c) == 5 and c[0] not in ("run id", "")}


def staged(project: Project, pipeline: str) -> list[str]:
    folder = project.root / ".dagwright" / "staging" / pipeline
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def age(folder: Path, days: int) -> None:
    then = time.time() - days * 86400
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (then, then))


def test_failed_runs_keep_their_staging_until_purged(project: Project) -> None:
    project.write_spec("fragile", SPEC % ("counts", "counted"))
    ok = project.cli("run", "fragile")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert staged(project, "fragile") == []

    project.write_spec("fragile", SPEC % ("amounts", "amounts"))
    failures = []
    for _ in range(2):
        failed = project.cli("run", "fragile")
        assert failed.returncode == 1, failed.stdout + failed.stderr
        failures.append(failed)
    kept = staged(project, "fragile")
    assert len(kept) == 2, kept
    folder = project.root / ".dagwright" / "staging" / "fragile"
    assert all(any((folder / run).rglob("*.parquet")) for run in kept)
    # a folder the run log does not know (its run's log is gone): state unknown
    (folder / "stray-run").mkdir()
    (folder / "stray-run" / "extract_orders.parquet").write_bytes(b"x" * 10)
    age(folder / kept[0], days=10)
    age(folder / "stray-run", days=10)

    listed = project.cli("staging", env={"COLUMNS": "200"})
    assert listed.returncode == 0, listed.stdout + listed.stderr
    table = rows(listed.stdout)
    assert set(table) == {*kept, "stray-run"}, listed.stdout
    assert {table[r][2] for r in kept} == {"failed"}
    assert table["stray-run"][2] == "unknown" and table[kept[0]][4] == "10d"
    assert "3 staged run(s)" in listed.stdout

    young = project.cli("staging", "fragile", "--purge", "--failed", "--older-than", "7d")
    assert young.returncode == 0, young.stdout + young.stderr
    assert "removed 1 staged run(s)" in young.stdout
    assert staged(project, "fragile") == sorted([kept[1], "stray-run"])

    rest = project.cli("staging", "--purge")
    assert "removed 2 staged run(s)" in rest.stdout, rest.stdout
    assert staged(project, "fragile") == []
    assert "no staged runs" in project.cli("staging").stdout


def test_a_bad_age_is_refused(project: Project) -> None:
    bad = project.cli("staging", "--purge", "--older-than", "a week")
    assert bad.returncode != 0
    assert "--older-than: 'a week' is not a duration" in bad.stdout + bad.stderr


def test_a_running_run_is_never_purged(project: Project, load_pipeline) -> None:  # noqa: ANN001
    from datetime import UTC, datetime

    from dagwright.executor import make_loader
    from dagwright.plan import build_plan
    from dagwright.state import RunRecord

    spec = project.write_spec("fragile", SPEC % ("counts", "counted"))
    loader = make_loader(build_plan(load_pipeline(spec)))
    try:
        started = datetime.now(UTC)
        loader.state.record_run(
            RunRecord("busy", "fragile", None, None, "running", started, runner="airflow")
        )
    finally:
        loader.close()
    folder = project.root / ".dagwright" / "staging" / "fragile" / "busy"
    folder.mkdir(parents=True)
    (folder / "extract_orders.parquet").write_bytes(b"x" * 10)

    listed = project.cli("staging", env={"COLUMNS": "200"})
    assert rows(listed.stdout)["busy"][2] == "running", listed.stdout
    purged = project.cli("staging", "--purge")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert "no staged runs to remove" in purged.stdout
    assert staged(project, "fragile") == ["busy"]
