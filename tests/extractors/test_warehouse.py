"""Warehouse sources (``extractor: warehouse``): tables of the destination, loaded by another
pipeline or by anyone, read by local and pushed-down steps, incrementally by cursor or by
interval, on DuckDB and on a real PostgreSQL server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest

from dagwright.intervals import Interval
from tests.conftest import Project
from tests.extractors.conftest import extracted, tables, watermark


def _seed(project: Project, sql: str) -> None:
    """A table somebody else loaded into the warehouse."""
    con = duckdb.connect(str(project.warehouse))
    try:
        con.execute(sql)
    finally:
        con.close()


@pytest.fixture
def customers(project: Project) -> Project:
    _seed(
        project,
        "create table customers as select i as id, 'c' || i as name, "
        "case when i % 3 = 0 then 'de' else 'fr' end as country, "
        "timestamptz '2026-01-01 00:00+00' + i * interval '1 hour' as updated_at "
        "from range(1, 31) t(i)",
    )
    return project


def test_local_and_pushed_down_steps_read_a_table_loaded_by_anyone(
    customers: Project, run_spec
) -> None:
    outcome = run_spec(
        "by_country",
        """
        sources:
          customers: {extractor: warehouse, table: customers, columns: [id, country]}
        transforms:
          german:
            sql: select id from customers where country = 'de'
          per_country:
            pushdown: true
            sql: select country, count(*) as customers from customers group by country
        loads:
          german_customers: {from: german, write: replace}
          customers_per_country: {from: per_country, write: replace}
        """,
    )
    assert outcome.ok, outcome.error
    assert extracted(outcome, "customers") == 30
    assert customers.query("select count(*), min(id), max(id) from german_customers") == [
        (10, 3, 30)
    ]
    assert customers.query("select country, customers from customers_per_country order by 1") == [
        ("de", 10),
        ("fr", 20),
    ]


def test_a_cursor_reads_only_rows_past_the_mark(customers: Project, run_spec) -> None:
    body = """
        sources:
          customers:
            extractor: warehouse
            table: customers
            incremental: {cursor: updated_at}
        loads:
          customers_copy: {from: customers, write: append}
        """
    first = run_spec("copy", body)
    assert first.ok, first.error
    assert extracted(first, "customers") == 30
    assert watermark(customers, "copy", "customers") == datetime(2026, 1, 2, 6, tzinfo=UTC)
    _seed(
        customers,
        "insert into customers select i, 'c' || i, 'fr', "
        "timestamptz '2026-01-01 00:00+00' + i * interval '1 hour' from range(31, 36) t(i)",
    )
    second = run_spec("copy", body)
    assert second.ok, second.error
    assert extracted(second, "customers") == 5
    assert customers.query("select count(*), count(distinct id) from customers_copy") == [(35, 35)]


def test_use_interval_reads_the_rows_of_the_run_interval(customers: Project, run_spec) -> None:
    body = """
        schedule: "@daily"
        sources:
          customers:
            extractor: warehouse
            table: customers
            incremental: {cursor: updated_at, use_interval: true}
        loads:
          customers_by_day: {from: customers, write: merge, primary_key: [id]}
        """
    day = Interval(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))
    outcome = run_spec("by_day", body, day)
    assert outcome.ok, outcome.error
    assert extracted(outcome, "customers") == 23  # hours 1..23 of January 1st
    assert customers.query("select min(id), max(id) from customers_by_day") == [(1, 23)]


def test_a_missing_table_is_a_clear_error_and_loads_nothing(project: Project, run_spec) -> None:
    _seed(project, "create table other as select 1 as x")
    outcome = run_spec(
        "missing",
        """
        sources:
          orders: {extractor: warehouse, table: raw_orders}
        loads:
          orders_copy: {from: orders, write: replace}
        """,
    )
    assert not outcome.ok
    assert (
        "source 'orders': the destination has no table or view 'raw_orders'; "
        "run the pipeline that loads it first"
    ) in (outcome.error or "")
    assert "orders_copy" not in tables(project)


def test_an_unknown_column_names_the_table_and_its_columns(customers: Project, run_spec) -> None:
    outcome = run_spec(
        "unknown",
        """
        sources:
          customers: {extractor: warehouse, table: customers, columns: [id, email]}
        loads:
          customers_copy: {from: customers, write: replace}
        """,
    )
    assert not outcome.ok
    assert (
        "source 'customers': customers has no column 'email'; "
        "its columns: id, name, country, updated_at"
    ) in (outcome.error or "")


def test_a_parquet_destination_cannot_be_read_as_a_source(project: Project) -> None:
    project.write_spec(
        "lake",
        """
        pipeline: lake
        start_date: 2026-01-01
        sources:
          orders: {extractor: warehouse, table: raw_orders}
        destination: {loader: parquet, path: lake}
        loads:
          orders_copy: {from: orders, write: replace}
        """,
    )
    result = project.cli("run", "lake")
    assert result.returncode == 1
    assert (
        "source 'orders': the parquet destination cannot be read as a source; warehouse "
        "sources read SQL destinations (duckdb, postgres)"
    ) in " ".join(result.stdout.split())
    assert not (project.root / "lake" / "orders_copy").exists()


def test_a_postgres_table_is_read_in_place_and_locally(project: Project, postgres) -> None:  # noqa: ANN001
    schema = f"wh_{uuid.uuid4().hex[:8]}"
    postgres.execute(f'create schema "{schema}"')
    postgres.execute(
        f'create table "{schema}".payments as select g as id, '
        "case when g % 2 = 0 then 'card' else 'cash' end as method, "
        "(g * 1.5)::numeric(10, 2) as amount from generate_series(1, 40) g"
    )
    project.write_spec(
        "pg_marts",
        f"""
        pipeline: pg_marts
        start_date: 2026-01-01
        sources:
          payments: {{extractor: warehouse, table: payments}}
        transforms:
          by_method:
            pushdown: true
            sql: select method, sum(amount) as total, count(*) as n from payments group by 1
          large:
            sql: select id, amount from payments where amount > 50
        destination: {{loader: postgres, connection: wh, schema: {schema}}}
        loads:
          payments_by_method: {{from: by_method, write: replace}}
          large_payments: {{from: large, write: replace}}
        """,
    )
    env = {"DAGWRIGHT_CONN_WH": postgres.url}
    result = project.cli("run", "pg_marts", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert postgres.execute(
        f'select method, total, n from "{schema}".payments_by_method order by 1'
    ) == [("card", Decimal("630.00"), 20), ("cash", Decimal("600.00"), 20)]
    assert postgres.execute(f'select count(*), min(id) from "{schema}".large_payments') == [(7, 34)]
    plan = project.cli("plan", "pg_marts", env=env)
    assert "read table payments of the destination" in " ".join(plan.stdout.split())
