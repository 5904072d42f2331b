"""``dagwright backfill`` and ``dagwright status``, asserted on the warehouse and the ledger."""

from __future__ import annotations

import csv
from datetime import datetime

from tests.conftest import Project

LEDGER = 'SELECT DISTINCT interval_start FROM "_dagwright"."intervals" ORDER BY 1'

SHOP = """
pipeline: shop_lean
schedule: "@daily"
start_date: 2026-01-01
sources:
  orders:
    extractor: csv
    path: data/shop/orders.csv
    incremental: {cursor: ordered_at, use_interval: true}
  order_lines: {extractor: csv, path: data/shop/order_lines.csv}
  customers: {extractor: csv, path: data/shop/customers.csv}
transforms:
  order_revenue:
    sql: |
      select o.order_id, o.ordered_at, cast(o.ordered_at as date) as order_date,
             sum(l.quantity) as units
      from orders o join order_lines l on l.order_id = o.order_id
      where o.status not in ('void', 'refunded') and l.quantity > 0
      group by all
  daily:
    sql: select order_date, count(*) as orders, sum(units) as units from order_revenue group by 1
loads:
  dim_customers: {from: customers, write: replace}
  fct_orders: {from: order_revenue, write: merge, primary_key: [order_id]}
  agg_daily: {from: daily, write: delete_insert, interval_column: order_date}
"""


def orders_between(project: Project, start: str, end: str) -> set[int]:
    """Order ids the example pipeline must load for [start, end): not void/refunded, with lines."""
    data = project.root / "data" / "shop"
    with (data / "order_lines.csv").open(newline="") as f:
        with_lines = {int(r["order_id"]) for r in csv.DictReader(f) if int(r["quantity"]) > 0}
    lo, hi = datetime.fromisoformat(start), datetime.fromisoformat(end)
    with (data / "orders.csv").open(newline="") as f:
        return {
            int(r["order_id"])
            for r in csv.DictReader(f)
            if lo <= datetime.fromisoformat(r["ordered_at"]) < hi
            and r["status"] not in ("void", "refunded")
            and int(r["order_id"]) in with_lines
        }


def days(project: Project) -> list[str]:
    return [f"{r[0]:%Y-%m-%d}" for r in project.query(LEDGER)]


def test_backfill_loads_exactly_the_range_once_and_reprocess_replaces(project: Project) -> None:
    project.write_spec("shop_lean", SHOP)
    first = project.cli(
        "backfill", "shop_lean", "--start", "2026-01-01", "--end", "2026-01-11", "--parallel", "2"
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert "10 interval(s) loaded, 0 failed, 0 already loaded and skipped" in first.stdout
    assert "duckdb takes one writer at a time" in first.stdout
    assert days(project) == [f"2026-01-{d:02d}" for d in range(1, 11)]
    tables = project.query(
        'SELECT table_name, count(*) FROM "_dagwright"."intervals" GROUP BY 1 ORDER BY 1'
    )
    assert tables == [("agg_daily", 10), ("dim_customers", 10), ("fct_orders", 10)]
    expected = orders_between(project, "2026-01-01", "2026-01-11")
    loaded = [r[0] for r in project.query('SELECT order_id FROM "fct_orders"')]
    assert sorted(loaded) == sorted(expected)
    agg = project.query('SELECT min(order_date), max(order_date), sum(orders) FROM "agg_daily"')
    assert [f"{d:%Y-%m-%d}" for d in agg[0][:2]] == ["2026-01-01", "2026-01-10"]
    assert agg[0][2] == len(expected)
    units = project.query('SELECT sum(units) FROM "agg_daily"')
    runs = project.query('SELECT count(*) FROM "_dagwright"."runs"')

    again = project.cli("backfill", "shop_lean", "--start", "2026-01-01", "--end", "2026-01-11")
    assert again.returncode == 0, again.stderr
    assert "nothing to do: all 10 intervals of shop_lean are loaded" in again.stdout
    assert project.query('SELECT count(*) FROM "_dagwright"."runs"') == runs

    dry = project.cli(
        "backfill", "shop_lean", "--start", "2026-01-09", "--end", "2026-01-13", "--dry-run"
    )
    assert dry.returncode == 0, dry.stderr
    assert "2 of 4 intervals would run (dry run)" in dry.stdout
    assert days(project)[-1] == "2026-01-10"

    redo = project.cli(
        "backfill", "shop_lean", "--start", "2026-01-04", "--end", "2026-01-07",
        "--reprocess", "all",
    )  # fmt: skip
    assert redo.returncode == 0, redo.stdout + redo.stderr
    assert "3 interval(s) loaded, 0 failed, 0 already loaded" in redo.stdout
    reloaded = [r[0] for r in project.query('SELECT order_id FROM "fct_orders"')]
    assert sorted(reloaded) == sorted(expected)
    assert project.query('SELECT sum(units) FROM "agg_daily"') == units
    assert project.query('SELECT count(*) FROM "_dagwright"."intervals"') == [(30,)]

    status = project.cli("status", "shop_lean", "--end", "2026-02-01")
    assert status.returncode == 0, status.stderr
    assert "10 loaded, 0 failed, 21 missing" in status.stdout


FAILS_ON_JAN_3 = """
pipeline: fragile
schedule: "@daily"
start_date: 2026-01-01
sources:
  orders:
    extractor: csv
    path: data/shop/orders.csv
    incremental: {cursor: ordered_at, use_interval: true}
transforms:
  checked:
    sql: |
      select order_id, ordered_at, status,
             case when cast(ordered_at as date) = DATE_VALUE
                  then error('order feed broken for ' || cast(ordered_at as date)) else 1 end as ok
      from orders
loads:
  fct_fragile: {from: checked, write: delete_insert, interval_column: ordered_at}
"""


def test_failed_interval_is_reported_and_the_others_load(project: Project) -> None:
    spec = project.write_spec("fragile", FAILS_ON_JAN_3.replace("DATE_VALUE", "date '2026-01-03'"))
    result = project.cli("backfill", "fragile", "--start", "2026-01-01", "--end", "2026-01-05")
    assert result.returncode == 1
    assert "3 interval(s) loaded, 1 failed" in result.stdout
    row = next(line for line in result.stdout.splitlines() if "2026-01-03 00:00 .." in line)
    assert "failed" in row and "order feed broken for 2026-01-03" in row
    assert days(project) == ["2026-01-01", "2026-01-02", "2026-01-04"]
    dates = project.query('SELECT DISTINCT cast(ordered_at as date) FROM "fct_fragile" ORDER BY 1')
    assert [f"{d[0]:%d}" for d in dates] == ["01", "02", "04"]

    status = project.cli("status", "fragile", "--end", "2026-01-06", "--all")
    assert "3 loaded, 1 failed, 1 missing" in status.stdout
    failed_row = next(line for line in status.stdout.splitlines() if "failed" in line)
    assert "2026-01-03 00:00" in failed_row and "order feed broken" in failed_row

    spec.write_text(FAILS_ON_JAN_3.replace("DATE_VALUE", "date '1999-01-01'"), encoding="utf-8")
    skip_failed = project.cli("backfill", "fragile", "--start", "2026-01-01", "--end", "2026-01-05")
    assert "nothing to do" in skip_failed.stdout
    retry = project.cli(
        "backfill", "fragile", "--start", "2026-01-01", "--end", "2026-01-05",
        "--reprocess", "failed",
    )  # fmt: skip
    assert retry.returncode == 0, retry.stdout + retry.stderr
    assert "1 interval(s) loaded, 0 failed, 3 already loaded and skipped" in retry.stdout
    assert days(project) == ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]


def test_backfill_errors_are_clear(example_project: Project) -> None:
    bad = example_project.cli(
        "backfill", "shop_daily", "--start", "2026-01-05", "--end", "2026-01-01"
    )
    assert bad.returncode == 1
    assert "error: --end must be after --start" in bad.stderr
    short = example_project.cli(
        "backfill", "shop_daily", "--start", "2026-01-01T06:00", "--end", "2026-01-01T18:00"
    )
    assert short.returncode == 1
    assert "no complete @daily interval lies between" in short.stderr
