"""Parallel local backfills into a destination that takes concurrent runs (PostgreSQL)."""

from __future__ import annotations

import csv
from datetime import datetime

from tests.conftest import Project

SPEC = """
pipeline: orders_parallel
schedule: "@daily"
start_date: 2026-01-01
sources:
  orders:
    extractor: csv
    path: data/shop/orders.csv
    incremental: {cursor: ordered_at, use_interval: true}
destination: {loader: postgres, connection: parallel_pg, schema: backfill_parallel}
loads:
  fct_orders: {from: orders, write: merge, primary_key: [order_id]}
  orders_by_day: {from: orders, write: delete_insert, interval_column: ordered_at}
  orders_log: {from: orders, write: append}
"""


TABLES = ["fct_orders", "orders_by_day", "orders_log"]


def _orders(project: Project, start: str, end: str) -> set[int]:
    lo, hi = datetime.fromisoformat(start), datetime.fromisoformat(end)
    with (project.root / "data" / "shop" / "orders.csv").open(newline="") as f:
        return {
            int(r["order_id"])
            for r in csv.DictReader(f)
            if lo <= datetime.fromisoformat(r["ordered_at"]) < hi
        }


def test_parallel_backfill_into_postgres_loads_each_interval_once(
    project: Project,
    postgres,  # noqa: ANN001
) -> None:
    project.write_spec("orders_parallel", SPEC)
    env = {"DAGWRIGHT_CONN_PARALLEL_PG": postgres.url}
    args = ("backfill", "orders_parallel", "--start", "2026-01-01", "--end", "2026-01-05")
    first = project.cli(*args, "--parallel", "2", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "4 interval(s) loaded, 0 failed" in first.stdout
    assert "one writer at a time" not in first.stdout

    expected = _orders(project, "2026-01-01", "2026-01-05")
    fct = postgres.execute("select order_id from backfill_parallel.fct_orders")
    assert sorted(r[0] for r in fct) == sorted(expected)
    by_day = postgres.execute("select count(*) from backfill_parallel.orders_by_day")
    assert by_day == [(len(expected),)]
    log = postgres.execute("select order_id from backfill_parallel.orders_log")
    assert sorted(r[0] for r in log) == sorted(expected), "each order appended once"

    def loads() -> list[tuple]:
        """Committed loads per table and interval (one record per load, never rewritten)."""
        return postgres.execute(
            "select table_name, interval_start, count(*) from _dagwright.loads "
            "where pipeline = 'orders_parallel' group by 1, 2 order by 1, 2"
        )

    assert [(t, n) for t, _, n in loads()] == [(t, 1) for t in TABLES for _ in range(4)]

    again = project.cli(*args, "--parallel", "2", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing to do: all 4 intervals of orders_parallel are loaded" in again.stdout

    redo = project.cli(*args, "--parallel", "2", "--reprocess", "all", env=env)
    assert redo.returncode == 0, redo.stdout + redo.stderr
    assert "4 interval(s) loaded, 0 failed" in redo.stdout
    assert postgres.execute("select count(*) from backfill_parallel.fct_orders") == [
        (len(expected),)
    ]
    assert postgres.execute("select count(*) from backfill_parallel.orders_by_day") == by_day
    log = postgres.execute("select order_id from backfill_parallel.orders_log")
    assert sorted(r[0] for r in log) == sorted(expected), "reprocessing replaced, not added"
    assert [(t, n) for t, _, n in loads()] == [(t, 2) for t in TABLES for _ in range(4)]
