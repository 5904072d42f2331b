"""Pipelines scheduled on the tables of other pipelines, as Airflow assets.

The layers project: ``raw`` loads ``raw_orders`` daily; ``cleaned`` reads it
(``extractor: warehouse``) and loads ``clean_orders``; ``marts`` reads that. In Airflow the
readers are scheduled on the loaders' assets, partitioned by data interval, so an upstream
interval (a scheduled run, a backfill) runs the same interval downstream.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.airflow.conftest import REPO, AirflowHome, add_dag_file
from tests.airflow.test_factory import describe_dagbag
from tests.airflow.test_scheduler import airflow_cli, airflow_services, scheduler_env
from tests.conftest import Project

pytestmark = pytest.mark.xdist_group("airflow")

LAYERS = REPO / "tests" / "projects" / "layers"
DAYS = ["2026-01-01", "2026-01-02", "2026-01-03"]
DEADLINE = float(os.environ.get("DAGWRIGHT_AIRFLOW_E2E_DEADLINE", "170"))


def _layers(root: Path) -> Project:
    shutil.copytree(LAYERS, root, dirs_exist_ok=True)
    return Project(root)


def test_readers_are_scheduled_on_the_partitioned_assets_of_the_tables_they_read(
    tmp_path: Path, airflow_home: AirflowHome
) -> None:
    layers = _layers(tmp_path / "layers")
    add_dag_file(layers.dags)
    dags = describe_dagbag(airflow_home, layers.dags)["dags"]
    assert dags["raw"]["timetable"] == "CronDataIntervalTimetable"
    assert dags["cleaned"]["timetable"] == "PartitionedAssetTimetable"
    assert dags["marts"]["timetable"] == "PartitionedAssetTimetable"
    # the same identity as the loading task's outlet: name and URI
    assert (
        "name='raw_orders', uri='x-dagwright://duckdb/raw_orders'"
        in (dags["cleaned"]["asset_condition"])
    )
    assert (
        "name='clean_orders', uri='x-dagwright://duckdb/clean_orders'"
        in (dags["marts"]["asset_condition"])
    )
    assert dags["raw"]["tasks"]["load_raw_orders"]["outlets"] == ["raw_orders"]


def test_a_reader_that_does_not_read_the_table_keeps_plain_asset_events(
    tmp_path: Path, airflow_home: AirflowHome
) -> None:
    """Airflow runs only partition-aware DAGs on partitioned events: a table's events are
    partitioned only when a pipeline reads the table and waits on it."""
    layers = _layers(tmp_path / "layers")
    for name in ("cleaned", "marts"):
        (layers.dags / f"{name}.yaml").unlink()
    layers.write_spec(
        "copy",
        """\
        pipeline: copy
        schedule: [raw_orders]
        start_date: 2026-01-01
        sources:
          orders: {extractor: csv, path: data/orders.csv}
        destination: {loader: duckdb, path: warehouse.duckdb}
        loads:
          all_orders: {from: orders, write: replace}
        """,
    )
    add_dag_file(layers.dags)
    code = """
    import json
    from airflow.dag_processing.dagbag import DagBag
    dags = DagBag("dags").dags
    print("@@" + json.dumps({
        "copy": type(dags["copy"].timetable).__name__,
        "keyed": dags["raw"].get_task("load_raw_orders").op_kwargs,
    }))
    """
    out = airflow_home.python(code, layers.dags)
    assert out == {"copy": "AssetTriggeredTimetable", "keyed": {}}


def test_waiting_on_partitioned_and_plain_tables_at_once_is_a_broken_spec(
    tmp_path: Path, airflow_home: AirflowHome
) -> None:
    layers = _layers(tmp_path / "layers")
    marts = layers.dags / "marts.yaml"
    marts.write_text(marts.read_text().replace("[clean_orders]", "[clean_orders, fx_rates]"))
    add_dag_file(layers.dags)
    described = describe_dagbag(airflow_home, layers.dags)
    assert described["errors"] == {}
    dag = described["dags"]["marts"]
    assert "dagwright-broken-spec" in dag["tags"]
    assert (
        "dags/marts.yaml:4:1: schedule: clean_orders is partitioned by data interval but "
        "fx_rates is not"
    ) in " ".join(dag["doc_md"].split())
    assert described["dags"]["cleaned"]["timetable"] == "PartitionedAssetTimetable"


def _runs(project: Project) -> list[tuple[str, str, str, str]]:
    """Finished runs: pipeline, status, interval start day, run id (none while locked)."""
    import duckdb

    try:
        rows = project.query(
            'SELECT pipeline, status, interval_start, run_id FROM "_dagwright"."runs" '
            "WHERE finished_at IS NOT NULL"
        )
    except (duckdb.Error, OSError):
        return []
    return [(p, s, f"{i:%Y-%m-%d}" if i else "", r) for p, s, i, r in rows]


MARTS = {
    "daily_revenue": "SELECT order_date, revenue, orders FROM daily_revenue ORDER BY 1",
    "customer_totals": "SELECT customer_id, revenue, orders FROM customer_totals ORDER BY 1",
    "clean_orders": "SELECT order_id, status, amount FROM clean_orders ORDER BY 1",
}


@pytest.mark.slow
def test_a_backfill_of_the_first_pipeline_flows_through_the_others_interval_by_interval(
    tmp_path: Path, postgres
) -> None:
    layers = _layers(tmp_path / "layers")
    # An end date in the past: the scheduler runs raw only for the backfill's intervals.
    raw = layers.dags / "raw.yaml"
    raw.write_text(raw.read_text().replace("2026-01-01\n", "2026-01-01\nend_date: 2026-01-04\n"))
    local = _layers(tmp_path / "local")
    shutil.copy(raw, local.dags / "raw.yaml")
    for day, following in zip(DAYS, [*DAYS[1:], "2026-01-04"], strict=True):
        done = local.cli("run", "raw", "--downstream", "--start", day, "--end", following)
        assert done.returncode == 0, done.stdout + done.stderr

    airflow_home = AirflowHome(tmp_path / "airflow_home")
    airflow_home.home.mkdir()
    add_dag_file(layers.dags)
    env = scheduler_env(airflow_home, layers.dags, postgres)
    migrated = airflow_cli(env, "db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    started = time.monotonic()
    with airflow_services(env, airflow_home.home):
        backfill = None
        while time.monotonic() - started < 90:  # until the dag-processor has parsed the DAGs
            backfill = layers.cli(
                "backfill", "raw", "--start", DAYS[0], "--end", "2026-01-04",
                "--via", "airflow", "--parallel", "2", env=env,
            )  # fmt: skip
            if backfill.returncode == 0:
                break
            time.sleep(3)
        assert backfill is not None and backfill.returncode == 0, backfill.stdout + backfill.stderr
        assert "Airflow created 3 run(s) for 3 interval(s)" in " ".join(backfill.stdout.split())
        runs: list[tuple[str, str, str, str]] = []
        while time.monotonic() - started < DEADLINE:
            runs = _runs(layers)
            if len(runs) >= 9:
                break
            time.sleep(3)
        logs = "\n".join(
            (airflow_home.home / f"{n}.log").read_text(errors="replace")[-3000:]
            for n in ("scheduler", "dag-processor")
        )
    assert len(runs) == 9, f"runs {runs}\n{logs}"
    assert all(status == "success" for _, status, _, _ in runs), runs
    by_pipeline = {p: sorted(day for q, _, day, _ in runs if q == p) for p, *_ in runs}
    assert by_pipeline == {"raw": DAYS, "cleaned": DAYS, "marts": DAYS}
    assert all(r.startswith("backfill__") for p, _, _, r in runs if p == "raw")
    assert all(r.startswith("asset_triggered__") for p, _, _, r in runs if p != "raw")
    ledger = 'SELECT DISTINCT table_name, interval_start FROM "_dagwright"."intervals"'
    loaded = {(t, f"{s:%Y-%m-%d}") for t, s in layers.query(ledger)}
    assert {(t, d) for t in ("raw_orders", "clean_orders", "daily_revenue") for d in DAYS} <= loaded
    assert loaded == {(t, f"{s:%Y-%m-%d}") for t, s in local.query(ledger)}
    for table, sql in MARTS.items():
        assert layers.query(sql) == local.query(sql), table


def test_a_partition_key_names_the_interval_a_run_loads(tmp_path: Path) -> None:
    """``<start>/<end>`` as the loads write it, or a bare start typed in Airflow's trigger
    form, which takes the interval schedule the pipeline shares with the ones it reads."""
    from datetime import UTC, datetime

    from dagwright.airflow.tasks import key_run_interval, load_plan
    from dagwright.errors import DagwrightError

    layers = _layers(tmp_path / "layers")
    plan = load_plan(str(layers.dags / "marts.yaml"))
    day = (datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC))
    keyed = key_run_interval(plan, "2026-01-02T00:00:00+00:00/2026-01-03T00:00:00+00:00")
    assert (keyed.start, keyed.end) == day
    bare = key_run_interval(plan, "2026-01-02")
    assert (bare.start, bare.end) == day
    with pytest.raises(DagwrightError, match="partition key 'us' is not a data interval"):
        key_run_interval(plan, "us")
