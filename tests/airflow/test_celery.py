"""The shop pipeline on a real CeleryExecutor cluster whose workers share no disk.

Started here on 127.0.0.1: Redis (the broker), the moto S3 server (the staging root,
``DAGWRIGHT_STAGING_ROOT=s3://...``), the scheduler, dag-processor and api-server, and two
Celery workers, each with its own working directory, temporary folder and staging cache.
The metadata database and the warehouse are the tests' PostgreSQL server. What the
workers share on disk is what a deployment ships to every worker: the DAG folder and its
input files. Every stage output crosses between workers through the object store.

One cluster, three acts:

1. a three-interval ``dagwright backfill --via airflow``: both workers run tasks, and
   every staged output in XCom is an ``s3://`` object (never a local path);
2. a worker SIGKILLed in the middle of a load (its transaction written, not committed):
   Airflow notices the lost heartbeat and retries the load on the other worker; the
   warehouse then equals a local run of the same four intervals, row for row;
3. a staged object deleted while the load that reads it waits to start: the load fails
   naming the object, its table takes nothing of that interval, and the failed run's
   staging stays in the bucket for ``dagwright staging`` to list and purge.

The pipeline is the example's data flow without its Great Expectations checks, as in
``test_scheduler.py`` (a check task imports GE in every task process).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.airflow.conftest import AirflowHome, add_dag_file
from tests.airflow.test_scheduler import airflow_cli, airflow_services, scheduler_env
from tests.conftest import Project
from tests.dagwright.test_backfill import SHOP
from tests.support.redis import redis_server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("airflow")]

DEADLINE = float(os.environ.get("DAGWRIGHT_AIRFLOW_E2E_DEADLINE", "300"))
WORKERS = ("worker-a", "worker-b")
SCHEMA = "celery_shop"
DESTINATION = "destination: {loader: postgres, connection: %s, schema: %s}\n"


def cluster_spec(connection: str) -> str:
    spec = SHOP.replace(
        "2026-01-01", "2026-01-01\nend_date: 2026-01-31\nretries: 2\nretry_delay: 1s"
    )
    return spec + DESTINATION % (connection, SCHEMA)


def new_database(postgres, prefix: str) -> str:  # noqa: ANN001
    database = f"{prefix}_{uuid.uuid4().hex[:8]}"
    postgres.execute(f'CREATE DATABASE "{database}"')
    return f"{postgres.url.rsplit('/', 1)[0]}/{database}"


def pg(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute(sql, params).fetchall()


@contextmanager
def celery_workers(env: dict[str, str], root: Path) -> Iterator[dict[str, subprocess.Popen]]:
    """Two Celery workers, each in its own folder (cwd, TMPDIR, staging cache, task logs)."""
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name in WORKERS:
            home = root / name
            (home / "tmp").mkdir(parents=True)
            own = {
                **env,
                "DAGWRIGHT_TEST_WORKER": name,
                "TMPDIR": str(home / "tmp"),
                "DAGWRIGHT_STAGING_CACHE": str(home / "cache"),
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            }
            args = ["celery", "worker", "--concurrency", "2", "--skip-serve-logs",
                    "--celery-hostname", f"{name}@%h"]  # fmt: skip
            out = (root / f"{name}.log").open("w")
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "airflow", *args],
                env=own,
                cwd=home,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        yield procs
    finally:
        for proc in procs.values():
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in procs.values():
            proc.wait(timeout=20)


def metadata(env: dict[str, str], sql: str) -> list[tuple]:
    return pg(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], sql)


def run_states(env: dict[str, str]) -> dict[str, str]:
    return dict(metadata(env, "SELECT run_id, state FROM dag_run WHERE dag_id = 'shop_lean'"))


def wait_for(what: str, done, logs: Path):  # noqa: ANN001, ANN201
    """``done()``'s first truthy value, polled for up to DEADLINE seconds."""
    value = None
    started = time.monotonic()
    while time.monotonic() - started < DEADLINE:
        value = done()
        if value:
            return value
        time.sleep(2)
    tails = "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}" for p in sorted(logs.glob("*.log"))
    )
    raise AssertionError(f"timed out waiting for {what}: {value!r}\n{tails}")


def tries(env: dict[str, str], run_id: str) -> list[tuple[str, int, str, str]]:
    """(task, try, worker, state) of every try of a run, from history and current rows."""
    rows = metadata(
        env,
        "SELECT task_id, try_number, hostname, state FROM task_instance_history "
        f"WHERE run_id = '{run_id}' UNION ALL "
        "SELECT task_id, try_number, hostname, state FROM task_instance "
        f"WHERE run_id = '{run_id}'",
    )
    return sorted((t, int(n), h or "", s or "") for t, n, h, s in rows)


def staged_uris(env: dict[str, str]) -> list[str]:
    rows = metadata(env, "SELECT value::text FROM xcom WHERE key = 'return_value'")
    return [u for (value,) in rows for u in re.findall(r'"uri": "([^"]+)"', value)]


def table_rows(url: str, table: str, where: str = "true") -> list[tuple]:
    """The rows of a table without the lineage columns (load ids differ between runs)."""
    columns = pg(
        url,
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
        "AND table_name = %s AND column_name NOT LIKE '\\_dagwright\\_%%' ORDER BY ordinal_position",
        (SCHEMA, table),
    )
    names = ", ".join(f'"{c[0]}"' for c in columns)
    return sorted(pg(url, f'SELECT {names} FROM "{SCHEMA}"."{table}" WHERE {where}'), key=repr)


@dataclass
class Cluster:
    env: dict[str, str]
    logs: Path
    holds: Path
    bucket: str
    workers: dict[str, subprocess.Popen]
    warehouse: str
    """The URL of the warehouse database, created for this cluster."""


@contextmanager
def airflow_cluster(
    root: Path,
    project: Project,
    postgres,
    s3_server,
    executor: str = "CeleryExecutor",  # noqa: ANN001
) -> Iterator[Cluster]:
    """Scheduler, dag-processor and api-server (and, for Celery, Redis and two workers) on
    ``project``, its warehouse a new database on ``postgres``, staging in a new bucket;
    yields once the DAG is parsed."""
    bucket = s3_server.make_bucket(f"dw-{uuid.uuid4().hex[:8]}")
    warehouse = new_database(postgres, "cluster")
    project.write_spec("shop_lean", cluster_spec("cluster_pg"))
    add_dag_file(project.dags)
    airflow_home = AirflowHome(root / "airflow_home")
    holds = root / "holds"
    holds.mkdir()
    env = scheduler_env(airflow_home, project.dags, postgres)
    with redis_server(root / "redis") as broker:
        env.update(
            s3_server.env,
            AIRFLOW__CORE__EXECUTOR=executor,
            AIRFLOW__CELERY__BROKER_URL=broker,
            AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER="1",
            AIRFLOW__CORE__HOSTNAME_CALLABLE="tests.support.worker_name.hostname",
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT="20",
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="5",
            AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT="90",
            DAGWRIGHT_STAGING_ROOT=f"{bucket}/staging",
            DAGWRIGHT_CONN_CLUSTER_PG=warehouse,
            DAGWRIGHT_TEST_HOLD_DIR=str(holds),
        )
        airflow_home.home.mkdir()
        migrated = airflow_cli(env, "db", "migrate")
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        logs = airflow_home.home
        celery = executor == "CeleryExecutor"
        with (
            airflow_services(env, logs),
            celery_workers(env, logs) if celery else nullcontext({}) as workers,
        ):
            wait_for(
                "the dag-processor to parse shop_lean",
                lambda: metadata(env, "SELECT 1 FROM dag WHERE dag_id = 'shop_lean'"),
                logs,
            )
            yield Cluster(env, logs, holds, bucket, workers, warehouse)


def backfill_three(cluster: Cluster, project: Project) -> tuple[float, dict[str, str]]:
    """``dagwright backfill --via airflow`` of 2026-01-02..05; (seconds until its three
    runs finished, their states)."""
    began = time.monotonic()
    backfill = project.cli(
        "backfill", "shop_lean", "--start", "2026-01-02", "--end", "2026-01-05",
        "--via", "airflow", "--parallel", "3", env=cluster.env,
    )  # fmt: skip
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr
    assert "Airflow created 3 run(s) for 3 interval(s)" in " ".join(backfill.stdout.split())
    states = wait_for(
        "the backfill's three runs to finish",
        lambda: (
            (s := run_states(cluster.env))
            and all(v in ("success", "failed") for v in s.values())
            and len(s) == 3
            and s
        ),
        cluster.logs,
    )
    return time.monotonic() - began, states


def test_celery_workers_share_nothing_but_the_object_store(
    project: Project, tmp_path: Path, postgres, s3_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    with airflow_cluster(tmp_path, project, postgres, s3_server) as cluster:
        env, holds, bucket, workers = cluster.env, cluster.holds, cluster.bucket, cluster.workers
        logs = cluster.logs
        # 1. three intervals, handed to Airflow, run by both workers through S3
        seconds, states = backfill_three(cluster, project)
        print(f"three-interval backfill on Celery: {seconds:.1f} s")
        assert sorted(states.values()) == ["success"] * 3, states
        used = {h for run in states for _, _, h, _ in tries(env, run)}
        assert set(WORKERS) <= used, used
        uris = staged_uris(env)
        assert uris and all(u.startswith(f"{bucket}/staging/shop_lean/") for u in uris), uris
        assert not (project.root / ".dagwright" / "staging").exists()
        # and no worker keeps a local copy of what its tasks staged or read
        for name in WORKERS:
            assert not list((logs / name / "cache").rglob("*.parquet")), name

        # 2. SIGKILL the worker holding a load between its data and its commit
        (holds / "apply:data.armed").touch()
        trigger = airflow_cli(
            env, "dags", "trigger", "shop_lean", "--logical-date", "2026-01-05T00:00:00+00:00"
        )
        assert trigger.returncode == 0, trigger.stdout + trigger.stderr
        held = holds / "apply:data.held"
        holder = wait_for(
            "a load to reach apply:data",
            lambda: held.exists() and held.read_text().split(),
            logs,
        )
        victim = holder[1]
        os.killpg(workers[victim].pid, signal.SIGKILL)
        workers[victim].wait(timeout=20)
        held.unlink()
        run_id = next(r for r in run_states(env) if r.startswith("manual__"))
        final = wait_for(
            "the killed run to finish",
            lambda: run_states(env)[run_id] in ("success", "failed") and run_states(env)[run_id],
            logs,
        )
        attempts = tries(env, run_id)
        assert final == "success", attempts
        retried = {t for t, n, _, _ in attempts if n > 1}
        assert retried, attempts
        survivor = next(w for w in WORKERS if w != victim)
        for task in retried:
            first = [a for a in attempts if a[0] == task and a[1] == 1]
            last = max(a for a in attempts if a[0] == task)
            assert first and first[0][2] == victim, attempts
            assert last[2] == survivor and last[3] == "success", attempts

        # 3. delete the staged object a load is about to read
        (holds / "run:load_fct_orders.armed").touch()
        earlier = set(run_states(env))
        trigger = airflow_cli(
            env, "dags", "trigger", "shop_lean", "--logical-date", "2026-01-06T00:00:00+00:00"
        )
        assert trigger.returncode == 0, trigger.stdout + trigger.stderr
        held = holds / "run:load_fct_orders.held"
        wait_for(
            "load_fct_orders to start",
            lambda: held.exists() and held.read_text(),
            logs,
        )
        fs = s3_server.filesystem()
        staged = [p for p in fs.find(f"{bucket[5:]}/staging/shop_lean") if "order_revenue" in p]
        assert len(staged) == 1, staged
        fs.rm(staged[0])
        held.unlink()
        (deleted_run,) = set(run_states(env)) - earlier
        final = wait_for(
            "the run missing an object to finish",
            lambda: (
                run_states(env)[deleted_run] in ("success", "failed")
                and run_states(env)[deleted_run]
            ),
            logs,
        )
        assert final == "failed"

    # the warehouse equals a local run of the four intervals the cluster loaded, made
    # into a database of its own (the run log and ledgers live beside the tables)
    local_url = new_database(postgres, "local")
    monkeypatch.setenv("DAGWRIGHT_CONN_LOCAL_PG", local_url)
    local = Project(tmp_path / "local")
    (local.root / "dags").mkdir(parents=True)
    (local.root / "data").symlink_to(project.root / "data")
    local.write_spec("shop_lean", cluster_spec("local_pg"))
    reference = local.cli("backfill", "shop_lean", "--start", "2026-01-02", "--end", "2026-01-06")
    assert reference.returncode == 0, reference.stdout + reference.stderr
    # (the third act's run may have loaded agg_daily for 2026-01-06: its input was intact)
    compared = {
        "dim_customers": "true",
        "fct_orders": "true",
        "agg_daily": "order_date < '2026-01-06'",
    }
    for table, where in compared.items():
        assert table_rows(cluster.warehouse, table, where) == table_rows(local_url, table, where), (
            table
        )
    ledger = pg(
        cluster.warehouse,
        'SELECT DISTINCT interval_start::date::text FROM "_dagwright"."intervals" '
        "WHERE pipeline = 'shop_lean' AND table_name LIKE %s ORDER BY 1",
        ("%fct_orders",),
    )
    assert [d for (d,) in ledger] == ["2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"]

    # the failed run names the missing object and keeps its staging, listed and purged
    error = pg(
        cluster.warehouse, 'SELECT error FROM "_dagwright"."runs" WHERE run_id = %s', (deleted_run,)
    )
    assert error and f"staged file {bucket}/{staged[0].split('/', 1)[1]} is missing" in error[0][0]
    cli_env = {
        **s3_server.env,
        "DAGWRIGHT_STAGING_ROOT": f"{bucket}/staging",
        "DAGWRIGHT_CONN_CLUSTER_PG": cluster.warehouse,
    }
    listed = project.cli("staging", "shop_lean", env=cli_env)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert deleted_run[:20] in listed.stdout and "failed" in listed.stdout, listed.stdout
    purged = project.cli("staging", "--purge", "--failed", env=cli_env)
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert "removed 1 staged run(s)" in purged.stdout, purged.stdout
    assert not [p for p in fs.find(f"{bucket[5:]}/staging/shop_lean") if deleted_run in p]
