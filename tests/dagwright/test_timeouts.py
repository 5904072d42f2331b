"""``execution_timeout`` in ``dagwright run``: a stage past its time is cancelled for real
(DuckDB interrupted, PostgreSQL's statement cancelled), fails as timed out, loads nothing."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dagwright.plan import build_plan
from dagwright.runner import RunOutcome, run_pipeline
from dagwright.spec.load import load_spec
from dagwright.timeouts import StageTimeout, cancellable, deadline, duration, timed_out
from tests.conftest import run_cli
from tests.transforms.test_sql import JANUARY, duckdb_tables, make_project

# Hours of work on any machine: a cross join of a trillion rows, aggregated (streamed, so
# neither memory nor disk fills while it runs).
SLOW_DUCKDB = """
        transforms:
          stats:
            dialect: duckdb
            sql: |
              select o.status, sum(r.range % 7) as n
              from orders o cross join range(1000000000000) r
              group by o.status
"""
INTERVAL = ("--start", "2026-01-01", "--end", "2026-02-01")
LIMIT = 60
"""Seconds a run under a 2 s timeout may take before the cancel counts as broken."""


def within(seconds: float, run: Callable[[], Any]) -> Any:
    """``run()``'s result, failing the test (not hanging the suite) if it takes longer."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = run()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still running after {seconds} s: the statement was not cancelled")
    if "error" in box:
        raise box["error"]
    return box["value"]


def timed_out_run(spec: Path, root: Path, stage: str) -> str:
    """``dagwright run`` of ``spec`` (``execution_timeout: 2s``): it fails well within the
    test's limit, saying ``stage`` timed out and was cancelled; its output."""
    started = time.monotonic()
    ran = run_cli("run", str(spec), *INTERVAL, cwd=root, timeout=LIMIT)
    took = time.monotonic() - started
    out = ran.stdout + ran.stderr
    assert ran.returncode == 1, out
    assert took < 30, f"took {took:.1f} s"
    assert (
        f"stage '{stage}' timed out after 2 s (execution_timeout: 2s); "
        "the statement was cancelled" in " ".join(out.split())
    ), out
    return out


def test_duckdb_sql_step_past_its_timeout_is_cancelled_and_loads_nothing(tmp_path: Path) -> None:
    spec = make_project(
        tmp_path,
        "        execution_timeout: 2s"
        + SLOW_DUCKDB
        + """
        loads:
          order_stats: {from: stats, write: replace}
        """,
    )
    out = timed_out_run(spec, tmp_path, "transform_stats")
    assert "rejects the translated SQL" not in out
    assert "Traceback" not in out
    assert "order_stats" not in {r[0] for r in duckdb_tables(tmp_path)}
    # the run log holds the run, failed
    plan = build_plan(load_spec(spec))
    from dagwright.executor import make_loader

    loader = make_loader(plan)
    try:
        (run,) = loader.state.recent_runs("p")
    finally:
        loader.close()
    assert run.status == "failed"
    assert "timed out after 2 s" in (run.error or "")
    stages = {s.stage: s.status for s in run.stages}
    assert stages["transform_stats"] == "failed"
    assert stages["load_order_stats"] == "skipped"


def test_sql_step_on_its_own_duckdb_is_cancelled_too(tmp_path: Path) -> None:
    """Without a run workspace (``keep_staging``) the step runs on an in-memory DuckDB."""
    spec = make_project(
        tmp_path,
        "        execution_timeout: 1s"
        + SLOW_DUCKDB
        + """
        loads:
          order_stats: {from: stats, write: replace}
        """,
    )
    plan = build_plan(load_spec(spec))
    outcome: RunOutcome = within(LIMIT, lambda: run_pipeline(plan, JANUARY, keep_staging=True))
    assert not outcome.ok
    assert "stage 'transform_stats' timed out after 1 s (execution_timeout: 1s)" in (
        outcome.record.error or ""
    )
    assert not list(tmp_path.rglob("transform_stats.parquet"))
    assert "order_stats" not in {r[0] for r in duckdb_tables(tmp_path)}


def test_pushed_down_step_in_duckdb_is_cancelled(tmp_path: Path) -> None:
    spec = make_project(
        tmp_path,
        """
        execution_timeout: 1s
        transforms:
          stats:
            dialect: duckdb
            pushdown: true
            sql: |
              select o.status, sum(r.range % 7) as n
              from fct_orders o cross join range(1000000000000) r
              group by o.status
        loads:
          fct_orders: {from: orders, write: replace}
          order_stats: {from: stats, write: replace}
        """,
    )
    plan = build_plan(load_spec(spec))
    outcome: RunOutcome = within(LIMIT, lambda: run_pipeline(plan, JANUARY))
    assert not outcome.ok
    error = outcome.record.error or ""
    assert "stage 'transform_stats' timed out after 1 s" in error
    assert "the statement was cancelled" in error
    assert "rejects" not in error
    tables = {r[0] for r in duckdb_tables(tmp_path)}
    assert "order_stats" not in tables and "fct_orders" in tables


@pytest.fixture
def pg_destination(postgres, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    name = f"to_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(f"DAGWRIGHT_CONN_{name.upper()}", postgres.url)
    return name, f"s_{name}"


def test_pushed_down_step_on_postgres_is_cancelled_on_the_server(
    tmp_path: Path, postgres, pg_destination
) -> None:
    connection, schema = pg_destination
    marker = f"slow_{uuid.uuid4().hex[:8]}"
    spec = make_project(
        tmp_path,
        f"""
        execution_timeout: 2s
        transforms:
          q:
            dialect: postgres
            pushdown: true
            sql_file: q.sql
        destination: {{loader: postgres, connection: {connection}, schema: {schema}}}
        loads:
          fct_orders: {{from: orders, write: replace}}
          slow: {{from: q, write: replace}}
        """,
        files={
            "q.sql": f"select count(*) as {marker} from fct_orders where pg_sleep(600) is null\n"
        },
    )
    out = timed_out_run(spec, tmp_path, "transform_q")
    assert "rejects the translated SQL" not in out and "q.sql:1:1" not in out
    # the statement is gone from the server, not left running there
    active = postgres.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s "
        "AND pid <> pg_backend_pid()",
        (f"%{marker}%",),
    )
    assert active == [(0,)]
    tables = {
        r[0]
        for r in postgres.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        )
    }
    assert "slow" not in tables and "fct_orders" in tables


def test_polars_step_past_its_timeout_fails_when_it_returns(tmp_path: Path) -> None:
    """Python code cannot be interrupted: it runs to its end, then the stage fails."""
    module = f"slow_{uuid.uuid4().hex[:8]}"
    spec = make_project(
        tmp_path,
        f"""
        execution_timeout: 1s
        transforms:
          late:
            polars: transforms.{module}:late
            inputs: [orders]
        loads:
          late_orders: {{from: late, write: replace}}
        """,
        files={
            f"transforms/{module}.py": """
                import time

                def late(orders):
                    time.sleep(3)
                    return orders
                """
        },
    )
    ran = run_cli("run", str(spec), *INTERVAL, cwd=tmp_path, timeout=LIMIT)
    out = " ".join((ran.stdout + ran.stderr).split())
    assert ran.returncode == 1, out
    assert re.search(
        r"stage 'transform_late' ran 3\.\d s, past its timeout of 1 s \(execution_timeout: 1s\)",
        out,
    ), out
    assert "could not be interrupted" in out
    assert "late_orders" not in {r[0] for r in duckdb_tables(tmp_path)}


def test_deadline_calls_what_is_registered_and_nothing_after() -> None:
    calls: list[str] = []
    with deadline("transform_x", 0.2) as limit:
        assert limit is not None and timed_out() is None
        with cancellable(lambda: calls.append("cancel")):
            time.sleep(0.6)
        assert calls == ["cancel"] and limit.cancelled == 1
        error = timed_out()
        assert isinstance(error, StageTimeout)
        assert str(error) == (
            "stage 'transform_x' timed out after 0.2 s (execution_timeout: 0.2s); "
            "the statement was cancelled"
        )
        with pytest.raises(StageTimeout), cancellable(lambda: calls.append("late")):
            pass
    assert calls == ["cancel"]
    assert timed_out() is None
    with deadline("extract_y", 0.1) as limit:
        time.sleep(0.3)  # in Python code when the time ran out: nothing to cancel
        assert "could not be interrupted" in str(timed_out())
        stopped = pytest.raises(StageTimeout, match="stopped before its next statement")
        with stopped, cancellable(lambda: calls.append("next")):
            pass
    assert calls == ["cancel"]
    with cancellable(lambda: calls.append("no stage")):  # no deadline: nothing to do
        pass
    with deadline("transform_x", None) as none:
        assert none is None


def test_durations_read_as_in_a_spec() -> None:
    assert [duration(s) for s in (2, 90, 1800, 5400, 86400, 0.5)] == [
        "2s",
        "1m30s",
        "30m",
        "1h30m",
        "1d",
        "0.5s",
    ]
