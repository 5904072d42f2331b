"""A shop DAG under a real Airflow: scheduler (LocalExecutor), dag-processor, api-server.

Every task runs in its own process, so the staged Parquet files and the XCom references
really cross process boundaries. A manual run with a logical date loads that date's
interval; a ``dagwright backfill --via airflow`` of three intervals then reports the one
the manual run holds (Airflow creates no run there) and must leave the warehouse as the
planner says. The pipeline is the
example's data flow without its Great Expectations checks (``test_dag_run`` runs the full
example through Airflow): a check task imports GE, which costs a minute per task process
on a busy two-core machine and would not fit the time this test may take. The metadata database is a
real PostgreSQL (SQLite, written by four processes at once, fails with "database is locked").
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.airflow.conftest import AirflowHome, add_dag_file
from tests.conftest import Project
from tests.dagwright.test_backfill import SHOP, orders_between

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("airflow")]

DEADLINE = float(os.environ.get("DAGWRIGHT_AIRFLOW_E2E_DEADLINE", "300"))
TABLES = ["agg_daily", "dim_customers", "fct_orders"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def airflow_services(env: dict[str, str], logs: Path) -> Iterator[None]:
    """Start the three services in their own process groups; always kill those groups."""
    procs: list[subprocess.Popen] = []
    port = env["DAGWRIGHT_TEST_API_PORT"]
    commands = {
        "api-server": ["api-server", "--apps", "execution", "--host", "127.0.0.1", "--port", port],
        "dag-processor": ["dag-processor"],
        "scheduler": ["scheduler"],
    }
    try:
        for name, args in commands.items():
            out = (logs / f"{name}.log").open("w")
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "airflow", *args],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        yield
    finally:
        for proc in procs:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def airflow_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def scheduler_env(airflow_home: AirflowHome, dags: Path, postgres) -> dict[str, str]:  # noqa: ANN001
    """The environment of a scheduler, dag-processor and api-server on 127.0.0.1 with
    LocalExecutor and a metadata database of their own on the test PostgreSQL server."""
    database = f"airflow_{uuid.uuid4().hex[:8]}"
    postgres.execute(f'CREATE DATABASE "{database}"')
    url = postgres.url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    port = str(free_port())
    env = airflow_home.env(
        dags,
        DAGWRIGHT_TEST_API_PORT=port,
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__PARALLELISM="4",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}",
        AIRFLOW__API_AUTH__JWT_SECRET="dagwright-test-secret-" + "x" * 48,
        AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT="60",
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="2",
        AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL="5",
        AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME="0.5",
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(airflow_home.home / "logs"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"{url}/{database}",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=f"{url}/{database}",
    )
    for key in (
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC",
    ):
        env.pop(key)
    return env


def loaded_days(project: Project) -> dict[str, set[str]]:
    """Ledger days per table; empty while a task holds the warehouse's write lock."""
    import duckdb

    try:
        rows = project.query('SELECT table_name, interval_start FROM "_dagwright"."intervals"')
    except (duckdb.Error, OSError):
        return {}
    days: dict[str, set[str]] = {}
    for table, start in rows:
        days.setdefault(table, set()).add(f"{start:%Y-%m-%d}")
    return days


def finished_runs(project: Project) -> list[tuple[str, str]]:
    """Finished runs in the run log; none while a task holds the warehouse's write lock."""
    import duckdb

    try:
        return project.query(
            'SELECT run_id, status FROM "_dagwright"."runs" WHERE finished_at IS NOT NULL'
        )
    except (duckdb.Error, OSError):
        return []


def test_airflow_backfill_under_the_scheduler(project: Project, tmp_path: Path, postgres) -> None:
    # An end date in the past: the scheduler adds no run of its own besides the backfill's.
    project.write_spec("shop_lean", SHOP.replace("2026-01-01", "2026-01-01\nend_date: 2026-01-31"))
    # A broken spec beside it must not stop Airflow from running the good one.
    project.write_spec("broken", "pipeline: broken\nschedule: '@daily'\nstart_date: 2026-01-01\n")
    airflow_home = AirflowHome(tmp_path / "airflow_home")
    add_dag_file(project.dags)
    env = scheduler_env(airflow_home, project.dags, postgres)
    airflow_home.home.mkdir()
    migrated = airflow_cli(env, "db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    started = time.monotonic()
    with airflow_services(env, airflow_home.home):
        # A manual run with a logical date takes that date's interval, 2026-01-03, first.
        trigger = None
        while time.monotonic() - started < 120:  # until the dag-processor has parsed the DAG
            trigger = airflow_cli(
                env, "dags", "trigger", "shop_lean", "--logical-date", "2026-01-03T00:00:00+00:00"
            )
            if trigger.returncode == 0:
                break
            time.sleep(3)
        assert trigger is not None and trigger.returncode == 0, trigger.stdout + trigger.stderr
        manual: list[tuple[str, str]] = []
        while time.monotonic() - started < DEADLINE and not manual:
            manual = [r for r in finished_runs(project) if r[0].startswith("manual__")]
            time.sleep(2)
        assert manual and manual[0][1] == "success", manual
        assert loaded_days(project).get("fct_orders") == {"2026-01-03"}

        backfill = project.cli(
            "backfill", "shop_lean", "--start", "2026-01-02", "--end", "2026-01-05",
            "--via", "airflow", "--parallel", "3", env=env,
        )  # fmt: skip
        assert backfill.returncode == 0, backfill.stdout + backfill.stderr
        said = " ".join(backfill.stdout.split())
        assert "3 interval(s) handed to Airflow" in said
        assert "Airflow created 2 run(s) for 3 interval(s)" in said
        assert (
            "not run by this backfill: 2026-01-03 00:00 .. 2026-01-04 00:00 (already exists: "
            f"manual run {manual[0][0]} (success) holds that logical date)"
        ) in said

        want = {"2026-01-02", "2026-01-03", "2026-01-04"}
        days: dict[str, set[str]] = {}
        while time.monotonic() - started < DEADLINE:
            days = loaded_days(project)
            if all(days.get(t) == want for t in TABLES):
                break
            time.sleep(3)
        logs = "\n".join(
            (airflow_home.home / f"{n}.log").read_text(errors="replace")[-2000:]
            for n in ("scheduler", "dag-processor")
        )
        assert all(days.get(t) == want for t in TABLES), f"ledger {days}\n{logs}"

        finished = []
        while time.monotonic() - started < DEADLINE:
            finished = finished_runs(project)
            if len(finished) >= 3:
                break
            time.sleep(2)

    assert sorted(s for _, s in finished) == ["success"] * 3
    assert sorted(r for r, _ in finished if r.startswith("backfill__")) == [
        f"backfill__2026-01-0{d}T00:00:00+00:00" for d in (3, 5)
    ]
    expected = orders_between(project, "2026-01-02", "2026-01-05")
    loaded = [r[0] for r in project.query('SELECT order_id FROM "fct_orders"')]
    assert sorted(loaded) == sorted(expected)
    agg = project.query('SELECT DISTINCT order_date FROM "agg_daily" ORDER BY 1')
    assert [f"{d[0]:%Y-%m-%d}" for d in agg] == ["2026-01-02", "2026-01-03", "2026-01-04"]
    assert project.query('SELECT count(*) FROM "dim_customers"') == [(1000,)]
    staging = project.root / ".dagwright" / "staging" / "shop_lean"
    assert not staging.exists() or not any(staging.iterdir())
