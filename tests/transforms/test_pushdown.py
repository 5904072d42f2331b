"""Pushed-down SQL steps on a real PostgreSQL destination: translated to its dialect,
checked with PREPARE, run over the loaded tables, the rows loaded downstream."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from dagwright.plan import build_plan
from dagwright.runner import run_pipeline
from dagwright.spec.load import load_spec
from tests.transforms.test_sql import JANUARY, make_project


@pytest.fixture
def pg_destination(postgres, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    name = f"pd_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(f"DAGWRIGHT_CONN_{name.upper()}", postgres.url)
    return name, f"s_{name}"


def test_pushdown_runs_in_postgres(tmp_path: Path, postgres, pg_destination) -> None:
    connection, schema = pg_destination
    spec = make_project(
        tmp_path,
        f"""
        transforms:
          by_customer:
            dialect: snowflake
            pushdown: true
            sql: |
              select customer_id, count_if(status = 'shipped') as shipped,
                     sum(iff(amount > 10, amount, 0)) as big_amount,
                     max(datediff(hour, ordered_at, :interval_end)) as max_age_hours
              from fct_orders
              where ordered_at >= :interval_start and ordered_at < :interval_end
              group by customer_id
        destination: {{loader: postgres, connection: {connection}, schema: {schema}}}
        loads:
          fct_orders: {{from: orders, write: replace}}
          agg_customers: {{from: by_customer, write: replace}}
        """,
    )
    plan = build_plan(load_spec(spec))
    outcome = run_pipeline(plan, JANUARY)
    assert outcome.ok, outcome.record.error
    ran = outcome.results["transform_by_customer"].sql[0]
    assert f'"{schema}"."fct_orders"' in ran and "$1" in ran and "2026" not in ran
    rows = postgres.execute(
        f'SELECT customer_id, shipped, big_amount, max_age_hours FROM "{schema}".agg_customers ORDER BY 1'
    )
    assert [(c, s, float(b), h) for c, s, b, h in rows] == [(1, 1, 20.0, 744), (2, 1, 0.0, 396)]


def test_pushdown_rejected_by_postgres_names_the_step(tmp_path: Path, pg_destination) -> None:
    connection, schema = pg_destination
    spec = make_project(
        tmp_path,
        f"""
        transforms:
          broken:
            dialect: tsql
            pushdown: true
            sql: |
              SELECT customer_id,
                     no_such_column AS x FROM fct_orders
        destination: {{loader: postgres, connection: {connection}, schema: {schema}}}
        loads:
          fct_orders: {{from: orders, write: replace}}
          out: {{from: broken, write: replace}}
        """,
    )
    outcome = run_pipeline(build_plan(load_spec(spec)), JANUARY, keep_staging=True)
    assert not outcome.ok
    error = outcome.record.error or ""
    assert "transform 'broken'" in error and "postgres rejects the translated SQL" in error
    assert "no_such_column" in error
    assert not list(tmp_path.rglob("transform_broken.parquet"))


def test_pushdown_translation_is_checked_for_the_destination_dialect(tmp_path: Path) -> None:
    from dagwright.errors import SpecError

    spec = make_project(
        tmp_path,
        """
        transforms:
          p50:
            dialect: snowflake
            pushdown: true
            sql: |
              select status,
                     approx_percentile(amount, 0.5) as p50 from fct_orders group by status
        destination: {loader: postgres, connection: nowhere}
        loads:
          fct_orders: {from: orders}
          agg: {from: p50}
        """,
    )
    with pytest.raises(SpecError) as caught:
        load_spec(spec)
    assert str(caught.value).startswith(
        f"{spec}:13:14: transform 'p50': function APPROX_PERCENTILE"
    )
    assert "no faithful postgres translation" in str(caught.value)
