"""The example DAG run by Airflow (``dag.test()``, real SQLite metadata DB) fills the warehouse
exactly as the local runner does, and a second run of the same interval changes nothing."""

from __future__ import annotations

import shutil

import pytest

from dagwright.intervals import Interval, parse_when
from dagwright.plan import build_plan
from dagwright.runner import run_pipeline
from dagwright.spec.load import load_spec
from tests.airflow.conftest import AirflowHome, add_dag_file
from tests.conftest import Project

pytestmark = pytest.mark.xdist_group("airflow")

TABLES = ("dim_customers", "fct_orders", "agg_daily_revenue")

RUN_TWICE = """
import json
from datetime import datetime, UTC
import duckdb
from airflow.dag_processing.dagbag import DagBag

TABLES = {tables!r}

def snapshot():
    con = duckdb.connect("warehouse.duckdb", read_only=True)
    try:
        out = {{}}
        for t in TABLES:
            cols = [r[0] for r in con.execute(f'DESCRIBE "{{t}}"').fetchall()
                    if not r[0].startswith("_dagwright")]
            sel = ", ".join(f'"{{c}}"' for c in cols)
            out[t] = sorted(map(repr, con.execute(f'SELECT {{sel}} FROM "{{t}}"').fetchall()))
        return out
    finally:
        con.close()

dag = DagBag("dags").dags["shop_daily"]
runs = []
for _ in range(2):
    run = dag.test(logical_date=datetime(2026, 1, 1, tzinfo=UTC))
    runs.append({{"state": str(run.state), "run_id": run.run_id,
                 "start": run.data_interval_start.isoformat(),
                 "end": run.data_interval_end.isoformat(), "tables": snapshot()}})
print("@@" + json.dumps(runs))
"""


def local_tables(project: Project, interval: Interval) -> dict[str, list[str]]:
    """The same interval run by ``dagwright run``'s runner, in a copy of the project."""
    other = project.root.parent / "local_copy"
    shutil.copytree(project.root / "data", other / "data")
    shutil.copytree(project.dags, other / "dags", ignore=shutil.ignore_patterns("*.py"))
    plan = build_plan(load_spec(other / "dags" / "shop_daily.yaml"))
    assert run_pipeline(plan, interval).ok
    return snapshot(Project(other))


def snapshot(project: Project) -> dict[str, list[str]]:
    out = {}
    for table in TABLES:
        cols = [
            r[0] for r in project.query(f'DESCRIBE "{table}"') if not r[0].startswith("_dagwright")
        ]
        select = ", ".join(f'"{c}"' for c in cols)
        out[table] = sorted(map(repr, project.query(f'SELECT {select} FROM "{table}"')))
    return out


def test_example_dag_under_dag_test_matches_local_run_and_is_idempotent(
    example_project: Project, airflow_home: AirflowHome
) -> None:
    project = example_project
    add_dag_file(project.dags)
    first, second = airflow_home.python(RUN_TWICE.format(tables=TABLES), project.dags, timeout=300)

    assert first["state"] == second["state"] == "success"
    interval = Interval(parse_when("2026-01-01"), parse_when("2026-01-02"))
    expected = local_tables(project, interval)
    assert first["tables"] == expected
    assert second["tables"] == first["tables"]
    assert len(expected["fct_orders"]) > 100
    assert project.query(
        'SELECT count(*) FROM "fct_orders" WHERE ordered_at >= ?', ["2026-01-02"]
    ) == [(0,)]

    runs = project.query(
        'SELECT run_id, status, interval_start, interval_end, stages FROM "_dagwright"."runs" '
        "ORDER BY started_at"
    )
    assert [r[0] for r in runs] == [first["run_id"], second["run_id"]]
    assert all(r[1] == "success" for r in runs)
    # a manual run with a logical date loads the interval that date falls in (Airflow's own
    # data interval for it is the day before, which a backfill of the date would skip)
    assert (first["start"], first["end"]) == (
        "2025-12-31T00:00:00+00:00",
        "2026-01-01T00:00:00+00:00",
    )
    assert all(
        (r[2].isoformat(), r[3].isoformat())
        == ("2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00")
        for r in runs
    )
    assert '"status": "success"' in runs[0][4] and '"status": "skipped"' not in runs[0][4]
    ledger = project.query(
        'SELECT DISTINCT table_name, interval_start, interval_end FROM "_dagwright"."intervals"'
    )
    assert sorted(r[0] for r in ledger) == sorted(TABLES)
    assert not (project.root / ".dagwright" / "staging" / "shop_daily").exists() or not any(
        (project.root / ".dagwright" / "staging" / "shop_daily").iterdir()
    )

    listed = project.cli("runs", "shop_daily")
    assert listed.returncode == 0, listed.stderr
    assert first["run_id"][:20] in listed.stdout
