"""Two Airflow runs of one pipeline and data interval, in two processes at once, load it once.

Run A holds the destination inside its first load (it waits before that load's
``COMMIT`` until B has refused or is waiting for the lock) while run B, another ``dag.test()`` process on the same metadata database with
a logical date in the same data interval, reaches the destination:

- DuckDB (the file's lock, ``lock_timeout: 1``): B refuses, with the lock message in its
  run log entry; nothing of B is loaded;
- PostgreSQL (per-table advisory locks, ``lock_timeout: 60``): B waits for A's
  transaction, then reloads the interval, replacing A's rows.

Either way the warehouse equals one clean local run of the interval, with one ledger row
per table.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.conftest import AirflowHome, add_dag_file
from tests.conftest import Project
from tests.reliability.support import write_events

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("airflow")]

SPEC = """\
pipeline: twice
schedule: "@daily"
start_date: 2026-01-01
sources:
  events:
    extractor: csv
    path: data/events.csv
    columns: {{id: BIGINT, ts: TIMESTAMP, k: INTEGER, amount: BIGINT}}
    incremental: {{cursor: ts, use_interval: true}}
transforms:
  daily:
    sql: select k, cast(min(ts) as date) as day, count(*) as n from events group by k
destination: {destination}
loads:
  t_append: {{from: events, write: append}}
  t_merge: {{from: events, write: merge, primary_key: [id]}}
  d_delete_insert: {{from: daily, write: delete_insert, interval_column: day}}
"""
TABLES = ("t_append", "t_merge", "d_delete_insert")
RUN = """
import json, os, sys, time
from datetime import datetime

role, logical_date = sys.argv[1], datetime.fromisoformat(sys.argv[2])
marker = os.environ["HOLD_MARKER"]


def b_is_stopped():
    \"\"\"B has ended (refused), or waits for a PostgreSQL lock that A holds.\"\"\"
    if os.path.exists(marker + ".B_done"):
        return True
    url = os.environ.get("DAGWRIGHT_CONN_TWICE_PG")
    if not url:
        return False
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        sql = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        return con.execute(sql).fetchone()[0] > 0


if role == "A":
    import loaders.duckdb, loaders.postgres
    from loaders.session import Session

    held = []
    for cls in Session.__subclasses__():
        real = cls.execute

        def execute(self, sql, params=None, _real=real):
            seen = self.__dict__.setdefault("_seen", [])
            seen.append(sql)
            if sql.strip().upper() == "COMMIT" and not held and any('"t_append"' in s for s in seen):
                held.append(True)
                open(marker, "w").close()
                deadline = time.monotonic() + 240
                while not b_is_stopped() and time.monotonic() < deadline:
                    time.sleep(0.2)
            return _real(self, sql, params)

        cls.execute = execute

from airflow.dag_processing.dagbag import DagBag

dag = DagBag("dags").dags["twice"]
if role == "B":
    deadline = time.monotonic() + 240
    while not os.path.exists(marker) and not os.path.exists(marker + ".A_done"):
        assert time.monotonic() < deadline, "run A never reached its load"
        time.sleep(0.05)
run = dag.test(logical_date=logical_date)
open(marker + f".{role}_done", "w").close()
print("@@" + json.dumps({"state": str(run.state), "run_id": run.run_id,
                         "interval": [run.data_interval_start.isoformat(),
                                      run.data_interval_end.isoformat()]}))
"""


@pytest.fixture(scope="module")
def metadata_template(postgres, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated Airflow metadata database on PostgreSQL, copied for each test: two
    processes write at once (on SQLite each would wait for the other's transaction)."""
    name = f"airflow_template_{uuid.uuid4().hex[:8]}"
    postgres.execute(f'CREATE DATABASE "{name}"')
    home = AirflowHome(tmp_path_factory.mktemp("airflow_pg_home"))
    migrated = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=metadata_env(home.env(home.home / "dags", **metadata_urls(postgres, name))),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    return name


@pytest.fixture
def metadata_db(postgres, metadata_template: str) -> dict[str, str]:
    """A fresh copy per test: assets of an earlier test's DAG would clash with this one's."""
    name = f"airflow_{uuid.uuid4().hex[:8]}"
    postgres.execute(f'CREATE DATABASE "{name}" TEMPLATE "{metadata_template}"')
    return metadata_urls(postgres, name)


def metadata_urls(postgres: Any, name: str) -> dict[str, str]:
    url = postgres.url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"{url}/{name}",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": f"{url}/{name}",
    }


def metadata_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if "SQL_ALCHEMY_CONNECT_ARGS" not in k}


def start(home: AirflowHome, project: Project, role: str, when: str, **env: str) -> Any:
    return subprocess.Popen(
        [sys.executable, "-c", RUN, role, when],
        env=metadata_env(home.env(project.dags, HOLD_MARKER=str(project.root / "held"), **env)),
        cwd=project.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def outcome(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=300)
    lines = [line for line in out.splitlines() if line.startswith("@@")]
    assert lines, out[-5000:]
    return {**json.loads(lines[-1][2:]), "output": " ".join(out.split())}


def warehouse_state(query: Any) -> dict[str, Any]:
    tables = {}
    for table in TABLES:
        rows = query(f'SELECT * FROM "{table}"')
        cols = [c for c in columns(query, table) if not c.startswith("_dagwright")]
        index = [columns(query, table).index(c) for c in cols]
        tables[table] = sorted(repr(tuple(r[i] for i in index)) for r in rows)
    ledger = query(
        'SELECT table_name, interval_start, interval_end, "rows" FROM "_dagwright"."intervals"'
    )
    return {"tables": tables, "ledger": sorted(map(repr, ledger))}


def columns(query: Any, table: str) -> list[str]:
    return [
        r[0]
        for r in query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        )
    ]


def clean_state(project: Project, destination: str, env: dict[str, str], query: Any) -> dict:
    """The same interval run once by the local runner, in a copy of the project."""
    other = Path(tempfile.mkdtemp(prefix="clean_copy_", dir=project.root.parent))
    shutil.copytree(project.root / "data", other / "data")
    (other / "dags").mkdir()
    (other / "dags" / "twice.yaml").write_text(SPEC.format(destination=destination))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagwright.cli",
            "run",
            "twice",
            "--start",
            "2026-01-01",
            "--end",
            "2026-01-02",
        ],
        cwd=other,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return warehouse_state(query(other))


def duckdb_query(root: Path) -> Any:
    import duckdb

    def query(sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    return query


def postgres_query(url: str) -> Any:
    import psycopg

    def query(sql: str, params: list | None = None) -> list[tuple]:
        with psycopg.connect(url, autocommit=True) as con:
            return con.execute(sql.replace("?", "%s"), params or []).fetchall()

    return query


def prepare(project: Project, destination: str) -> None:
    write_events(project.root / "data" / "events.csv", 300, 2)
    project.write_spec("twice", SPEC.format(destination=destination))
    add_dag_file(project.dags)


def run_both(project: Project, home: AirflowHome, **env: str) -> tuple[dict, dict]:
    """A (logical date 2026-01-01 00:00) and B (06:00): two manual Airflow runs, both of
    the interval their logical date falls in (2026-01-01), which ``clean_state`` loads."""
    first = start(home, project, "A", "2026-01-01T00:00:00+00:00", **env)
    second = start(home, project, "B", "2026-01-01T06:00:00+00:00", **env)
    a, b = outcome(first), outcome(second)
    assert os.path.exists(project.root / "held"), "A never held the lock: " + a["output"][-3000:]
    return a, b


def test_duckdb_second_airflow_run_refuses_the_locked_warehouse(
    project: Project, airflow_home: AirflowHome, metadata_db: dict[str, str]
) -> None:
    destination = "{loader: duckdb, path: warehouse.duckdb, lock_timeout: 1}"
    prepare(project, destination)
    a, b = run_both(project, airflow_home, **metadata_db)
    assert a["state"] == "success", a["output"][-3000:]
    assert b["state"] == "failed", b["output"][-3000:]
    assert "warehouse.duckdb is locked by another process (waited 1s)" in b["output"]
    assert "Traceback" not in b["output"].split("is locked by another process")[0][-300:]
    query = duckdb_query(project.root)
    runs = {r[0]: r[1] for r in query('SELECT run_id, status FROM "_dagwright"."runs"')}
    assert runs == {a["run_id"]: "success"}, "B wrote nothing to the warehouse, not even its log"
    state = warehouse_state(query)
    env = metadata_env(airflow_home.env(project.dags))
    assert state == clean_state(project, destination, env, duckdb_query)
    loads = query('SELECT table_name, COUNT(*) FROM "_dagwright"."loads" GROUP BY 1')
    assert sorted(loads) == sorted((t, 1) for t in TABLES), "each table loaded once"


def test_postgres_second_airflow_run_waits_for_the_table_lock(
    project: Project, airflow_home: AirflowHome, postgres, metadata_db: dict[str, str]
) -> None:
    database = f"twice_{uuid.uuid4().hex[:8]}"
    clean = f"clean_{uuid.uuid4().hex[:8]}"
    for name in (database, clean):
        postgres.execute(f'CREATE DATABASE "{name}"')
    base = postgres.url.rsplit("/", 1)[0]
    destination = "{loader: postgres, connection: twice_pg, lock_timeout: 60}"
    prepare(project, destination)
    a, b = run_both(
        project, airflow_home, DAGWRIGHT_CONN_TWICE_PG=f"{base}/{database}", **metadata_db
    )
    assert a["state"] == b["state"] == "success", (a["output"][-2000:], b["output"][-2000:])
    query = postgres_query(f"{base}/{database}")
    loads = query(
        'SELECT run_id, loaded_at FROM "_dagwright"."loads" WHERE table_name = ? ORDER BY 2',
        ["t_append"],
    )
    assert [r[0] for r in loads] == [a["run_id"], b["run_id"]], "B loaded after A committed"
    env = metadata_env(airflow_home.env(project.dags, DAGWRIGHT_CONN_TWICE_PG=f"{base}/{clean}"))
    expected = clean_state(project, destination, env, lambda _: postgres_query(f"{base}/{clean}"))
    state = warehouse_state(query)
    assert state == expected
    assert len(state["ledger"]) == len(TABLES), "one ledger row per table and interval"
