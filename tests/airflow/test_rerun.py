"""A second Airflow run of an interval whose source reads past a watermark loads nothing new,
so it must not load at all: the tables keep the first run's rows (a replace would empty
them, an append would be harmless but a delete_insert would delete the interval)."""

from __future__ import annotations

import pytest

from tests.airflow.conftest import AirflowHome, add_dag_file
from tests.conftest import Project

pytestmark = pytest.mark.xdist_group("airflow")

SPEC = """\
pipeline: cursor_rerun
schedule: "@daily"
start_date: 2026-01-01
sources:
  events:
    extractor: csv
    path: data/events.csv
    columns: {id: BIGINT, ts: TIMESTAMP, amount: BIGINT}
    incremental: {cursor: ts}
loads:
  events_replace: {from: events, write: replace}
  events_append: {from: events, write: append}
"""
EVENTS = "id,ts,amount\n1,2025-12-31 10:00:00,5\n2,2026-01-01 09:00:00,7\n3,2026-01-01 11:00:00,9\n"
RUN_TWICE = """
import json
from datetime import datetime, UTC
import duckdb
from airflow.dag_processing.dagbag import DagBag

def counts():
    con = duckdb.connect("warehouse.duckdb", read_only=True)
    try:
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0]
                for t in ("events_replace", "events_append")}
    finally:
        con.close()

dag = DagBag("dags").dags["cursor_rerun"]
runs = []
for _ in range(2):
    run = dag.test(logical_date=datetime(2026, 1, 1, tzinfo=UTC))
    runs.append({"state": str(run.state), "run_id": run.run_id, "counts": counts()})
print("@@" + json.dumps(runs))
"""


def test_a_second_airflow_run_of_a_watermark_interval_keeps_the_loaded_rows(
    project: Project, airflow_home: AirflowHome
) -> None:
    (project.root / "data").mkdir(exist_ok=True)
    (project.root / "data" / "events.csv").write_text(EVENTS, encoding="utf-8")
    project.write_spec("cursor_rerun", SPEC)
    add_dag_file(project.dags)

    first, second = airflow_home.python(RUN_TWICE, project.dags, timeout=300)

    assert first["state"] == second["state"] == "success"
    assert first["counts"] == {"events_replace": 3, "events_append": 3}
    assert second["counts"] == first["counts"]
    runs = project.query(
        'SELECT run_id, status, stages FROM "_dagwright"."runs" ORDER BY started_at'
    )
    assert [(r[0], r[1]) for r in runs] == [
        (first["run_id"], "success"),
        (second["run_id"], "success"),
    ]
    assert f"already loaded for this interval by run {first['run_id']}" in runs[1][2]
