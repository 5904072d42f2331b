"""Exactly once per table: files taken once, runs at once, a failed load, the run log.

Each test runs the real ``dagwright`` CLI in subprocesses and asserts what a user would
look at: the rows of the tables, the per-load records in ``_dagwright.loads``, the exit
code and the message.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import Project, run_cli
from tests.reliability.support import KILLPOINT
from tests.reliability.sweep import KINDS, Sweep, place_data, write_rows

pytestmark = [pytest.mark.slow]

FILES = """\
pipeline: landing
start_date: 2026-01-01
sources:
  orders:
    extractor: csv
    path: data/in/*.csv
    columns: {id: BIGINT, amount: BIGINT}
loads:
  orders: {from: orders, write: append}
"""


def write(path: Path, rows: list[tuple[int, int]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("id,amount\n" + "".join(f"{i},{a}\n" for i, a in rows))


def loads(project: Project, table: str) -> int:
    """How many loads committed into ``table`` (one record per load, never rewritten)."""
    return project.query('select count(*) from "_dagwright".loads where table_name = ?', [table])[
        0
    ][0]


def test_the_same_file_appended_twice_is_loaded_once(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.dags.mkdir()
    project.write_spec("landing", FILES)
    write(tmp_path / "data" / "in" / "a.csv", [(1, 10), (2, 20)])
    first = project.cli("run", "landing")
    assert first.returncode == 0, first.stdout + first.stderr
    (run_id,) = project.query('select run_id from "_dagwright".runs')[0]

    again = project.cli("run", "landing")
    assert again.returncode == 0, again.stdout + again.stderr
    said = " ".join(again.stdout.split())
    assert "every file of source 'orders' is loaded already" in said
    assert run_id in said, "the skip names the run that loaded the file"
    assert project.query("select id, amount from orders order by 1") == [(1, 10), (2, 20)]
    assert loads(project, "orders") == 1
    # when no table needs anything the whole run is 'skipped', each load saying why
    (status, stages) = project.query(
        'select status, stages from "_dagwright".runs order by started_at desc limit 1'
    )[0]
    assert status == "skipped" and "every file of source 'orders' is loaded already" in stages

    # a touched file (new time, same content) is the same file
    stamp = time.time() + 5
    os.utime(tmp_path / "data" / "in" / "a.csv", (stamp, stamp))
    assert project.cli("run", "landing").returncode == 0
    assert loads(project, "orders") == 1

    # a new file: only its rows are added
    write(tmp_path / "data" / "in" / "b.csv", [(3, 30)])
    assert project.cli("run", "landing").returncode == 0
    assert project.query("select id from orders order by 1") == [(1,), (2,), (3,)]
    assert loads(project, "orders") == 2

    # a file whose content changed replaces what its earlier version added
    write(tmp_path / "data" / "in" / "a.csv", [(1, 11), (2, 21), (4, 40)])
    assert project.cli("run", "landing").returncode == 0
    assert project.query("select id, amount from orders order by 1") == [
        (1, 11),
        (2, 21),
        (3, 30),
        (4, 40),
    ]

    # --reprocess loads every file again and replaces what each loaded: no second copy
    reprocessed = project.cli("run", "landing", "--reprocess")
    assert reprocessed.returncode == 0, reprocessed.stdout + reprocessed.stderr
    assert project.query("select count(*), count(distinct id) from orders") == [(4, 4)]
    taken = project.query('select path, run_id from "_dagwright".files order by 1')
    assert [p for p, _ in taken] == ["data/in/a.csv", "data/in/b.csv"]
    assert len({r for _, r in taken}) == 1, "one run holds both files now"


def test_an_append_nothing_bounds_must_say_it_appends_snapshots(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.dags.mkdir()
    project.write_spec(
        "snap",
        """\
        pipeline: snap
        start_date: 2026-01-01
        sources:
          a: {extractor: csv, path: data/a.csv}
          b: {extractor: csv, path: data/b.csv}
        transforms:
          both: {sql: select * from a join b using (id)}
        loads:
          t: {from: both, write: append}
        """,
    )
    result = project.cli("validate")
    assert result.returncode == 1
    out = " ".join(result.stdout.split())
    assert (
        "snap.yaml:9:" in out and "load 't' appends, but it reads several sources ('a', 'b')" in out
    )
    assert "set snapshot: true if each run should append a new snapshot" in out
    text = (project.dags / "snap.yaml").read_text()
    (project.dags / "snap.yaml").write_text(
        text.replace("write: append}", "write: append, snapshot: true}")
    )
    assert project.cli("validate", "--static").returncode == 0


MYSQL_KINDS = ("append_files", "append_cursor", "merge", "scd2")
"""On MariaDB, the kinds whose runs lock differently (files taken, a cursor, keyed loads):
the run lock is the destination's, whatever the kind; every kind runs on DuckDB and
PostgreSQL."""
SNOWFLAKE_KINDS = ("append_files", "merge")
"""On Snowflake (fakesnow, about 30 s a case), files taken and a keyed load: both load
twice without the run's lease."""
TWO_RUNS = (
    [(k, d) for d in ("duckdb", "postgres") for k in KINDS]
    + [(k, "mysql") for k in MYSQL_KINDS]
    + [(k, "snowflake") for k in SNOWFLAKE_KINDS]
)


@pytest.mark.parametrize(("kind", "destination"), TWO_RUNS)
def test_two_runs_at_once_give_one_clean_result(
    kind: str, destination: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The first run is held inside its first load (its second COMMIT: the first is its
    check stage's) while the second starts and gets through its own checks; the second
    waits for the pipeline's run lock, then finds what it would load already loaded."""
    fixture = {"postgres": "postgres", "mysql": "mariadb", "snowflake": "fakesnow"}.get(destination)
    server = request.getfixturevalue(fixture) if fixture else None
    clean = Sweep.create(tmp_path / "clean", kind, destination, server)
    place_data(clean.root, kind, "first")
    done = clean.run("first")
    assert done.returncode == 0, done.stdout + done.stderr
    expected = clean.state()
    assert expected["tables"]["raw"], "the clean run loaded rows"

    both = Sweep.create(tmp_path / "both", kind, destination, server)
    place_data(both.root, kind, "first")
    slow = {"SLOW_WORD": "COMMIT", "SLOW_STATEMENT": "2", "SLOW_SECONDS": "7"}
    first = both.popen("first", slow)
    time.sleep(1.5)
    second = both.popen("first")
    outs = [p.communicate(timeout=180) for p in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), outs
    assert both.state() == expected
    statuses = both.statuses()
    assert statuses.count("success") >= 1 and "running" not in statuses, statuses
    clean.drop()
    both.drop()


def test_a_failed_load_in_one_table_then_a_rerun_appends_nothing_twice(tmp_path: Path) -> None:
    """A cursor source feeds two append tables; one refuses the batch (its schema contract),
    the other commits. After the fix, the rerun loads the refused table from its own mark
    and gives the committed one nothing again."""
    spec = textwrap.dedent(
        """\
        pipeline: twice
        start_date: 2026-01-01
        sources:
          events:
            extractor: csv
            path: data/events.csv
            columns: {id: BIGINT, ts: TIMESTAMP, k: INTEGER, amount: BIGINT}
            incremental: {cursor: ts}
        loads:
          good: {from: events, write: append}
          strict: {from: events, write: append, schema_contract: freeze}
        """
    )

    def project(name: str) -> Project:
        p = Project(tmp_path / name)
        p.dags.mkdir(parents=True)
        (p.dags / "twice.yaml").write_text(spec)
        write_rows(p.root / "data" / "events.csv", [1])
        return p

    clean = project("clean")
    assert clean.cli("run", "twice").returncode == 0
    broken = project("broken")
    import duckdb

    con = duckdb.connect(str(broken.warehouse))
    con.execute("create table strict (id varchar)")  # a table the batch does not fit
    con.close()
    failed = broken.cli("run", "twice")
    assert failed.returncode == 1
    assert "table 'strict': schema contract 'freeze' refuses this batch" in " ".join(
        failed.stdout.split()
    )
    assert broken.query("select count(*) from good") == clean.query("select count(*) from good")
    con = duckdb.connect(str(broken.warehouse))
    con.execute("drop table strict")  # the fix
    con.close()
    rerun = broken.cli("run", "twice")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    for table in ("good", "strict"):
        sql = f"select id, ts, k, amount from {table} order by all"
        assert broken.query(sql) == clean.query(sql), table
    assert loads(broken, "good") == 1, "the committed table took nothing twice"


def test_status_understands_a_range_run_and_the_schedule_bounds(
    tmp_path: Path, shop_data: Path
) -> None:
    import shutil

    from tests.conftest import REPO

    project = Project(tmp_path)
    project.dags.mkdir()
    shutil.copy(REPO / "dags" / "shop_daily.yaml", project.dags)
    shutil.copytree(shop_data, tmp_path / "data" / "shop")
    shutil.copytree(REPO / "expectations", tmp_path / "expectations")
    ran = project.cli("run", "shop_daily", "--start", "2026-01-01", "--end", "2026-01-08")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    status = run_cli(
        "status",
        "shop_daily",
        "--start",
        "2025-12-25",
        "--end",
        "2026-01-10",
        "--all",
        cwd=tmp_path,
    )
    assert status.returncode == 0, status.stderr
    lines = [line for line in status.stdout.splitlines() if "2026-" in line or "2025-" in line]
    assert not any("2025-12" in line for line in lines), "nothing before start_date"
    assert "7 loaded, 0 failed, 2 missing" in status.stdout
    backfill = project.cli("backfill", "shop_daily", "--start", "2026-01-01", "--end", "2026-01-08")
    assert backfill.returncode == 0
    assert "nothing to do: all 7 intervals of shop_daily are loaded" in backfill.stdout
    future = run_cli(
        "status", "shop_daily", "--start", "2026-01-01", "--end", "2099-01-01", cwd=tmp_path
    )
    assert "2099" not in future.stdout, "intervals still under way are not listed"


def test_a_killed_run_is_marked_abandoned_with_the_reason_and_its_staged_files_go(
    tmp_path: Path,
) -> None:
    import signal

    from tests.reliability.support import child_env

    project = Project(tmp_path)
    project.dags.mkdir()
    project.write_spec("landing", FILES)
    write(tmp_path / "data" / "in" / "a.csv", [(i, i) for i in range(1000)])
    env = child_env({"DAGWRIGHT_WORKSPACE": "0", "KILL_WORD": "COMMIT", "KILL_STATEMENT": "1"})
    killed = subprocess.run(
        [sys.executable, str(KILLPOINT), "run", "landing"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    (dead,) = project.query("select run_id from \"_dagwright\".runs where status = 'running'")[0]
    staged = tmp_path / ".dagwright" / "staging" / "landing" / dead
    assert any(staged.glob("*.parquet")), "the killed run left its staged files"

    rerun = project.cli("run", "landing", env={"DAGWRIGHT_WORKSPACE": "0"})
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    runs = dict(project.query('select run_id, status from "_dagwright".runs'))
    (error,) = project.query('select error from "_dagwright".runs where run_id = ?', [dead])[0]
    assert runs[dead] == "abandoned"
    (alive,) = [r for r in runs if r != dead]
    assert f"ended without finishing (killed or crashed); found by run {alive}" in error
    assert not staged.exists(), "the next run removed the killed run's staged files"
    assert project.query("select count(*), count(distinct id) from orders") == [(1000, 1000)]
