"""SQL steps end to end: other dialects run on DuckDB with bound interval values, and
translation problems stop the run before data moves, named and located."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dagwright.errors import SpecError
from dagwright.intervals import Interval
from dagwright.plan import build_plan
from dagwright.runner import run_pipeline
from dagwright.spec.load import load_spec
from tests.conftest import run_cli

JANUARY = Interval(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))

ORDERS = """order_id,customer_id,status,amount,ordered_at
1,1,shipped,10.50,2025-12-31 23:00:00
2,1,shipped,20.00,2026-01-01 00:00:00
3,2,void,5.00,2026-01-15 12:00:00
4,2,shipped,7.25,2026-01-31 23:59:59
5,3,pending,99.00,2026-02-01 00:00:00
"""
CUSTOMERS = """customer_id,name,segment
1,Ada,gold
2,Bob,
3,Chen,silver
"""


def make_project(root: Path, spec: str, files: dict[str, str] | None = None) -> Path:
    (root / "dags").mkdir(exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "orders.csv").write_text(ORDERS)
    (root / "data" / "customers.csv").write_text(CUSTOMERS)
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    path = root / "dags" / "p.yaml"
    path.write_text(
        textwrap.dedent(
            """
            pipeline: p
            start_date: 2026-01-01
            sources:
              orders: {extractor: csv, path: data/orders.csv}
              customers: {extractor: csv, path: data/customers.csv}
            """
        ).lstrip()
        + textwrap.dedent(spec)
    )
    return path


def spec_unchecked(path: Path):  # noqa: ANN201 - a PipelineSpec that skipped cross-checks
    """The spec as a runner on another machine might get it: parsed, not cross-checked."""
    from dagwright.spec.load import PipelineSpec, project_root_for
    from dagwright.spec.model import pipeline_model
    from dagwright.spec.yaml_source import read_yaml

    doc = read_yaml(path)
    model = pipeline_model().model_validate(doc.data)
    return PipelineSpec(path=path, project_root=project_root_for(path), doc=doc, model=model)


def warehouse_rows(root: Path, sql: str) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_steps_in_other_dialects_bind_the_interval_as_values(tmp_path: Path) -> None:
    spec = make_project(
        tmp_path,
        """
        transforms:
          bq:
            dialect: bigquery
            sql: |
              SELECT order_id, amount FROM orders
              WHERE ordered_at >= @interval_start AND ordered_at < @interval_end
          sf:
            dialect: snowflake
            sql: select count(*) as n from orders where ordered_at >= :interval_start and ordered_at < :interval_end and status = 'shipped'
          ts:
            dialect: tsql
            sql: SELECT TOP 1 order_id FROM orders WHERE ordered_at < @interval_end ORDER BY ordered_at DESC
        loads:
          bq_orders: {from: bq, write: replace}
          sf_count: {from: sf, write: replace}
          ts_last: {from: ts, write: replace}
        """,
    )
    outcome = run_pipeline(build_plan(load_spec(spec)), JANUARY)
    assert outcome.ok, outcome.record.error
    assert warehouse_rows(tmp_path, "select order_id from bq_orders order by 1") == [
        (2,),
        (3,),
        (4,),
    ]
    assert warehouse_rows(tmp_path, "select n from sf_count") == [(2,)]
    assert warehouse_rows(tmp_path, "select order_id from ts_last") == [(4,)]
    ran = outcome.results["transform_bq"].sql[0]
    assert "$interval_start" in ran and "2026" not in ran


def test_untranslatable_function_fails_validate_and_run_before_data_moves(tmp_path: Path) -> None:
    spec = make_project(
        tmp_path,
        """
        transforms:
          stats:
            dialect: snowflake
            sql: |
              select status,
                     hll(amount) as distinct_amounts
              from orders group by status
        loads:
          order_stats: {from: stats, write: replace}
        """,
    )
    # line 12 of the spec is the hll(...) line; column 14 is where the call starts
    result = run_cli("validate", str(spec), cwd=tmp_path)
    assert result.returncode == 1
    assert f"{spec}:12:14: transform 'stats': function HLL (snowflake)" in result.stdout
    # `dagwright run` refuses it the same way before any stage starts: nothing was read,
    # staged or written, not even a run log entry
    ran = run_cli("run", str(spec), "--start", "2026-01-01", "--end", "2026-02-01", cwd=tmp_path)
    assert ran.returncode == 1
    assert f"{spec}:12:14: transform 'stats': function HLL (snowflake)" in ran.stdout + ran.stderr
    assert not (tmp_path / ".dagwright" / "staging").exists()
    assert not list(tmp_path.glob("*.duckdb"))
    # a spec that skipped validation is stopped at the step, and nothing is loaded
    outcome = run_pipeline(build_plan(spec_unchecked(spec)), JANUARY, keep_staging=True)
    assert not outcome.ok
    assert f"{spec}:12:14: transform 'stats'" in (outcome.record.error or "")
    assert not list(tmp_path.rglob("transform_stats.parquet"))
    assert {s.stage: s.status for s in outcome.record.stages}["load_order_stats"] == "skipped"
    tables = {r[0] for r in duckdb_tables(tmp_path)}
    assert "order_stats" not in tables


def duckdb_tables(root: Path) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    finally:
        con.close()


def test_translation_error_at_run_time_names_step_file_and_line(tmp_path: Path) -> None:
    spec = make_project(
        tmp_path,
        """
        transforms:
          wide:
            dialect: bigquery
            pushdown: false
            sql_file: transforms/wide.sql
        loads:
          wide_orders: {from: wide, write: replace}
        """,
        {
            "transforms/wide.sql": "SELECT order_id,\n  TIMESTAMPDIFF(MONTH, ordered_at, ordered_at) AS m\nFROM orders\n"
        },
    )
    with pytest.raises(SpecError) as caught:
        load_spec(spec)
    sql_file = tmp_path / "transforms" / "wide.sql"
    assert str(caught.value).startswith(f"{sql_file}:2:")
    assert "transform 'wide'" in str(caught.value)


def test_engine_rejection_is_located_and_writes_nothing(tmp_path: Path) -> None:
    spec = make_project(
        tmp_path,
        """
        transforms:
          bad:
            dialect: mysql
            sql: |
              SELECT order_id,
                     no_such_column + 1 AS x
              FROM orders
        loads:
          bad_orders: {from: bad, write: replace}
        """,
    )
    outcome = run_pipeline(build_plan(load_spec(spec)), JANUARY, keep_staging=True)
    assert not outcome.ok
    error = outcome.record.error or ""
    assert "transform 'bad'" in error and "no_such_column" in error and f"{spec}:" in error
    assert not list(tmp_path.rglob("transform_bad.parquet"))
    assert not (tmp_path / "warehouse.duckdb").exists() or not warehouse_rows(
        tmp_path,
        "select * from information_schema.tables where table_name = 'bad_orders'",
    )


def test_unknown_parameter_and_unknown_input_are_located(tmp_path: Path) -> None:
    spec = make_project(
        tmp_path,
        """
        transforms:
          a:
            dialect: snowflake
            sql: select * from orders where amount > :threshold
          b:
            sql: select * from ordres
        loads:
          t: {from: a}
          u: {from: b}
        """,
    )
    with pytest.raises(SpecError) as caught:
        load_spec(spec)
    text = str(caught.value)
    assert (
        f"{spec}:10:46: transform 'a': unknown parameter" in text
        and "unknown parameter 'threshold'" in text
    )
    assert "transform 'b' reads unknown input 'ordres' (did you mean 'orders'?)" in text


def test_plan_shows_each_step_as_it_runs_on_its_engine(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        """
        transforms:
          flagged:
            dialect: snowflake
            sql: select order_id, iff(amount > 10, 'big', 'small') as size from orders where ordered_at >= :interval_start
          totals:
            dialect: snowflake
            pushdown: true
            sql: select size, count(*) as n from fct_flagged group by size
        loads:
          fct_flagged: {from: flagged, write: replace}
          agg_sizes: {from: totals, write: replace}
        """,
    )
    result = run_cli("plan", "p", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "SQL (snowflake -> duckdb) on duckdb over orders" in out
    assert "CASE WHEN amount > 10 THEN 'big' ELSE 'small' END AS size" in out
    assert "-- bound: interval_start" in out
    assert "SQL (snowflake -> duckdb) in the duckdb destination over fct_flagged" in out
    assert out.index("load_fct_flagged (load)") < out.index("transform_totals (transform)")


def test_pushdown_runs_in_the_duckdb_destination_after_its_loads(tmp_path: Path) -> None:
    spec = make_project(
        tmp_path,
        """
        transforms:
          enriched:
            dialect: snowflake
            sql: |
              select o.order_id, o.amount, iff(c.segment is null or c.segment = '', 'unknown', c.segment) as segment
              from orders o join customers c on c.customer_id = o.customer_id
          by_segment:
            dialect: snowflake
            pushdown: true
            sql: |
              select segment, sum(amount) as revenue, count_if(amount > 10) as big_orders
              from analytics.fct_orders group by segment
        destination: {loader: duckdb, path: warehouse.duckdb}
        loads:
          analytics.fct_orders: {from: enriched, write: replace}
          agg_segments: {from: by_segment, write: replace}
        """,
    )
    plan = build_plan(load_spec(spec))
    assert plan.stages["transform_by_segment"].upstream == ("load_analytics.fct_orders",)
    outcome = run_pipeline(plan, JANUARY)
    assert outcome.ok, outcome.record.error
    rows = warehouse_rows(
        tmp_path, "select segment, revenue, big_orders from agg_segments order by 1"
    )
    assert [(s, float(r), b) for s, r, b in rows] == [
        ("gold", 30.5, 2),
        ("silver", 99.0, 1),
        ("unknown", 12.25, 0),
    ]
    assert '"analytics"."fct_orders"' in outcome.results["transform_by_segment"].sql[0]


def test_pushdown_must_read_loaded_tables(tmp_path: Path) -> None:
    spec = make_project(
        tmp_path,
        """
        transforms:
          agg:
            pushdown: true
            sql: select count(*) as n from fct_order
        loads:
          fct_orders: {from: orders}
          n_orders: {from: agg}
        """,
    )
    with pytest.raises(SpecError) as caught:
        load_spec(spec)
    assert (
        "pushed-down transform 'agg' reads 'fct_order', which is neither a loaded table nor a "
        "warehouse source (did you mean 'fct_orders'?)"
    ) in str(caught.value)
    assert "(did you mean 'fct_orders'?)" in str(caught.value)


def test_postgres_check_rejects_before_running(postgres) -> None:
    from transforms.pushdown import postgres_rows
    from transforms.sql import SqlStepError, compile_sql

    good = compile_sql(
        "select cast(:interval_start as date) as d, datediff(day, :interval_start, :interval_end) as days",
        "snowflake",
        "postgres",
        "numeric",
    )
    con = postgres.connect()
    try:
        columns, rows = postgres_rows(con, good, good.values(JANUARY))
        assert columns == ["d", "days"] and rows[0][1] == 31
        bad = compile_sql(
            "select missing_column from (select 1 as a) as t", "tsql", "postgres", "numeric"
        )
        with pytest.raises(SqlStepError, match="missing_column"):
            postgres_rows(con, bad, None)
    finally:
        con.close()
