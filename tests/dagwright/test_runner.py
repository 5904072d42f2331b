"""The local runner, asserted on what lands in the warehouse."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from dagwright.intervals import Interval, parse_when
from dagwright.plan import build_plan
from dagwright.runner import run_pipeline
from tests.conftest import Project

JANUARY = Interval(parse_when("2026-01-01"), parse_when("2026-02-01"))
JANUARY_BOUNDS = (JANUARY.start, JANUARY.end)


def _csv(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / f"{name}.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def expected_shop(folder: Path, start: datetime, end: datetime) -> tuple[dict, dict]:
    """fct_orders revenue per order and agg revenue per (day, segment), computed from the CSVs."""
    price = {p["product_id"]: Decimal(p["unit_price"]) for p in _csv(folder, "products")}
    segment = {c["customer_id"]: (c["segment"] or "unknown") for c in _csv(folder, "customers")}
    lines = defaultdict(list)
    for line in _csv(folder, "order_lines"):
        if int(line["quantity"]) > 0:
            lines[line["order_id"]].append(int(line["quantity"]) * price[line["product_id"]])
    orders: dict[int, Decimal] = {}
    daily: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for order in _csv(folder, "orders"):
        at = datetime.fromisoformat(order["ordered_at"])
        if order["status"] in ("void", "refunded") or not lines[order["order_id"]]:
            continue
        if not (start.replace(tzinfo=None) <= at < end.replace(tzinfo=None)):
            continue
        revenue = sum(lines[order["order_id"]], Decimal(0))
        orders[int(order["order_id"])] = revenue
        daily[(at.date(), segment[order["customer_id"]])] += revenue
    return orders, daily


def _tables(project: Project) -> dict[str, list[tuple]]:
    return {
        "fct": project.query("select order_id, revenue from fct_orders order by order_id"),
        "agg": project.query(
            "select order_date, segment, revenue, orders from agg_daily_revenue order by 1, 2"
        ),
        "dim": project.query(
            "select * exclude (_dagwright_load_id, _dagwright_loaded_at) from dim_customers order by 1"
        ),
    }


def test_example_pipeline_loads_expected_rows(example_project: Project, load_pipeline) -> None:
    plan = build_plan(load_pipeline(example_project.dags / "shop_daily.yaml"))
    outcome = run_pipeline(plan, JANUARY)
    assert outcome.ok, outcome.record.error

    orders, daily = expected_shop(
        example_project.root / "data" / "shop", JANUARY.start, JANUARY.end
    )
    fct = dict(example_project.query("select order_id, revenue from fct_orders"))
    assert fct == orders
    agg = {
        (d, s): Decimal(str(r))
        for d, s, r in example_project.query(
            "select order_date, segment, revenue from agg_daily_revenue"
        )
    }
    assert agg == {k: v.quantize(Decimal("0.01")) for k, v in daily.items()}
    (blank,) = example_project.query("select count(*) from dim_customers where segment = ''")[0]
    assert blank == 0

    record = outcome.record
    loads = {s.stage: s.rows_out for s in record.stages if s.kind == "load"}
    assert loads["load_fct_orders"] == len(orders)
    assert loads["load_agg_daily_revenue"] == len(daily)
    (status,) = example_project.query(
        'select status from "_dagwright".runs where run_id = ?', [record.run_id]
    )[0]
    assert status == "success"


def test_rerun_of_same_interval_changes_nothing(example_project: Project, load_pipeline) -> None:
    plan = build_plan(load_pipeline(example_project.dags / "shop_daily.yaml"))
    assert run_pipeline(plan, JANUARY).ok
    first = _tables(example_project)
    assert run_pipeline(plan, JANUARY).ok
    assert _tables(example_project) == first


def test_daily_intervals_add_up_to_the_month(example_project: Project, load_pipeline) -> None:
    import random

    plan = build_plan(load_pipeline(example_project.dags / "shop_daily.yaml"))
    days = list(range(1, 32))
    random.Random(7).shuffle(days)  # out of order on purpose
    for day in days:
        start = parse_when(f"2026-01-{day:02d}")
        end = parse_when("2026-02-01") if day == 31 else parse_when(f"2026-01-{day + 1:02d}")
        outcome = run_pipeline(plan, Interval(start, end))
        assert outcome.ok, outcome.error
    orders, daily = expected_shop(example_project.root / "data" / "shop", *JANUARY_BOUNDS)
    fct = dict(example_project.query("select order_id, revenue from fct_orders"))
    assert fct == orders
    agg = example_project.query("select order_date, segment, revenue from agg_daily_revenue")
    assert {(d, s): r for d, s, r in agg} == {k: v for k, v in daily.items() if v}
    ledger = example_project.query(
        'select table_name, count(*) from "_dagwright".intervals group by 1 order by 1'
    )
    assert ledger == [("agg_daily_revenue", 31), ("dim_customers", 31), ("fct_orders", 31)]


def test_failed_stage_fails_run_and_leaves_tables(example_project: Project, load_pipeline) -> None:
    path = example_project.dags / "shop_daily.yaml"
    plan = build_plan(load_pipeline(path))
    assert run_pipeline(plan, JANUARY).ok
    before = _tables(example_project)

    broken = path.read_text().replace(
        "sum(l.quantity * p.unit_price)", "sum(l.quantity * p.no_such)"
    )
    path.write_text(broken)
    outcome = run_pipeline(build_plan(load_pipeline(path)), JANUARY)
    assert not outcome.ok
    assert "stage 'transform_order_revenue'" in outcome.record.error
    assert "no_such" in outcome.record.error
    statuses = {s.stage: s.status for s in outcome.record.stages}
    assert statuses["transform_order_revenue"] == "failed"
    assert statuses["load_fct_orders"] == "skipped"
    assert statuses["load_agg_daily_revenue"] == "skipped"
    assert _tables(example_project) == before
    (status, error) = example_project.query(
        'select status, error from "_dagwright".runs where run_id = ?', [outcome.record.run_id]
    )[0]
    assert status == "failed" and "no_such" in error


def test_independent_branches_run_in_parallel(project: Project, load_pipeline) -> None:
    path = project.write_spec(
        "parallel",
        """
        pipeline: parallel
        start_date: 2026-01-01
        sources:
          orders: {extractor: csv, path: data/shop/orders.csv}
        transforms:
          a: {polars: "tests.support.barrier:left", inputs: [orders]}
          b: {polars: "tests.support.barrier:right", inputs: [orders]}
        loads:
          ta: {from: a, write: replace}
          tb: {from: b, write: replace}
        """,
    )
    outcome = run_pipeline(build_plan(load_pipeline(path)), None, max_workers=4)
    assert outcome.ok, outcome.record.error
    assert project.query("select count(*) from ta") == [(5000,)]
    assert project.query("select count(*) from tb") == [(5000,)]


def test_staging_is_parquet_and_removed_after_run(
    example_project: Project, load_pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = build_plan(load_pipeline(example_project.dags / "shop_daily.yaml"))
    outcome = run_pipeline(plan, JANUARY, keep_staging=True)
    staged = outcome.results["extract_orders"].staged
    assert staged is not None and staged.uri.endswith(".parquet")
    assert Path(staged.uri).exists()
    assert staged.rows == 5000

    # stages exchanging Parquet (as on Airflow): the files exist while the run needs them,
    # and the run's staging folder is gone when it ends
    import shutil

    monkeypatch.setenv("DAGWRIGHT_WORKSPACE", "0")
    pipeline_dir = Path(staged.uri).parent.parent
    shutil.rmtree(pipeline_dir)
    seen: dict[str, bool] = {}

    def listener(stage, status, result) -> None:  # noqa: ANN001
        if stage.id == "load_fct_orders" and status == "running":
            seen["during"] = any(pipeline_dir.glob("*/extract_orders.parquet"))

    outcome = run_pipeline(plan, JANUARY, listener=listener)
    assert outcome.ok, outcome.error
    assert seen == {"during": True}, "the run staged its extracts as Parquet files"
    run_dir = Path(outcome.results["extract_orders"].staged.uri).parent
    assert run_dir.name == outcome.record.run_id
    assert not run_dir.exists(), "the run's staged files are removed when it ends"
