"""Which data interval an Airflow run loads, by how it was triggered (real ``dag.test()`` runs).

- a manual run with a logical date: the interval that date falls in;
- a manual run without one: the latest complete interval before it was triggered;
- a pipeline scheduled on assets (run when another pipeline's table is loaded): no interval,
  a full run, however it is triggered.
"""

from __future__ import annotations

import pytest

from dagwright.intervals import latest_interval
from tests.airflow.conftest import AirflowHome, add_dag_file
from tests.conftest import Project

pytestmark = pytest.mark.xdist_group("airflow")

DAILY = """\
pipeline: daily_events
schedule: "@daily"
start_date: 2026-01-01
sources:
  events:
    extractor: csv
    path: data/events.csv
    incremental: {cursor: ts, use_interval: true}
loads:
  events_by_day: {from: events, write: append}
"""
ON_ASSET = """\
pipeline: on_asset
schedule: [events_by_day]
start_date: 2026-01-01
sources:
  events: {extractor: csv, path: data/events.csv}
loads:
  all_events: {from: events, write: replace}
"""
EVENTS = "id,ts\n1,2026-01-01 10:00:00\n2,2026-01-02 09:00:00\n3,2026-01-02 11:00:00\n"
RUNS = """
import json
from datetime import datetime, UTC
from airflow.dag_processing.dagbag import DagBag

dags = DagBag("dags").dags
out = []
for dag_id, logical in (("daily_events", datetime(2026, 1, 2, 6, tzinfo=UTC)),
                        ("daily_events", None), ("on_asset", None)):
    run = dags[dag_id].test(logical_date=logical)
    out.append({"dag": dag_id, "state": str(run.state), "run_id": run.run_id})
print("@@" + json.dumps(out))
"""


def test_each_kind_of_airflow_run_loads_its_interval(
    project: Project, airflow_home: AirflowHome
) -> None:
    from datetime import UTC, datetime

    (project.root / "data").mkdir(exist_ok=True)
    (project.root / "data" / "events.csv").write_text(EVENTS, encoding="utf-8")
    project.write_spec("daily_events", DAILY)
    project.write_spec("on_asset", ON_ASSET)
    add_dag_file(project.dags)
    before = datetime.now(UTC)
    runs = airflow_home.python(RUNS, project.dags, timeout=300)
    after = datetime.now(UTC)
    assert [r["state"] for r in runs] == ["success"] * 3, runs
    logged = {
        r[0]: (r[1], r[2])
        for r in project.query(
            'SELECT run_id, interval_start, interval_end FROM "_dagwright"."runs"'
        )
    }
    with_date, without, asset = (logged[r["run_id"]] for r in runs)
    assert tuple(f"{t:%Y-%m-%d %H:%M}" for t in with_date) == (
        "2026-01-02 00:00",
        "2026-01-03 00:00",
    )
    latest = {latest_interval("@daily", before), latest_interval("@daily", after)}
    assert (without[0], without[1]) in {(i.start, i.end) for i in latest if i}
    assert asset == (None, None)
    # the logical date's interval holds two events, the asset-scheduled full run all three
    assert project.query('SELECT count(*) FROM "events_by_day"') == [(2,)]
    assert project.query('SELECT count(*) FROM "all_events"') == [(3,)]
