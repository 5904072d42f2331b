"""Polars steps: a function, declarative ops, and a SQL step of the same logic agree;
bad ops and bad functions fail naming the step."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwright.errors import SpecError
from dagwright.plan import build_plan
from dagwright.runner import run_pipeline
from dagwright.spec.load import load_spec
from tests.transforms.test_sql import JANUARY, make_project, warehouse_rows

SAME_LOGIC = """
transforms:
  by_sql:
    dialect: snowflake
    sql: |
      select o.order_id, c.name, o.amount * 2 as double_amount,
             iff(c.segment is null or c.segment = '', 'unknown', c.segment) as segment
      from orders o left join customers c on c.customer_id = o.customer_id
      where o.status <> 'void'
      qualify row_number() over (partition by o.customer_id order by o.amount desc) = 1
  by_polars:
    polars: transforms.steps:biggest_order
    inputs: [orders, customers]
  by_ops:
    inputs: [orders, customers]
    ops:
      - filter: "status <> 'void'"
      - deduplicate: {keys: [customer_id], order_by: [-amount], keep: first}
      - join: {with: customers, keys: customer_id, how: left}
      - derive:
          double_amount: "amount * 2"
          segment: "CASE WHEN segment IS NULL OR segment = '' THEN 'unknown' ELSE segment END"
      - select: [order_id, name, double_amount, segment]
loads:
  t_sql: {from: by_sql, write: replace}
  t_polars: {from: by_polars, write: replace}
  t_ops: {from: by_ops, write: replace}
"""

STEPS = """
import polars as pl


def biggest_order(orders: pl.LazyFrame, customers: pl.LazyFrame) -> pl.LazyFrame:
    return (
        orders.filter(pl.col("status") != "void")
        .sort("amount", descending=True)
        .unique(subset=["customer_id"], keep="first", maintain_order=True)
        .join(customers, on="customer_id", how="left")
        .select(
            "order_id",
            "name",
            (pl.col("amount") * 2).alias("double_amount"),
            pl.when(pl.col("segment").is_null() | (pl.col("segment") == ""))
            .then(pl.lit("unknown"))
            .otherwise(pl.col("segment"))
            .alias("segment"),
        )
    )
"""


def test_polars_function_ops_and_sql_give_the_same_rows(tmp_path: Path) -> None:
    spec = make_project(tmp_path, SAME_LOGIC, {"transforms/steps.py": STEPS})
    outcome = run_pipeline(build_plan(load_spec(spec)), JANUARY)
    assert outcome.ok, outcome.record.error
    query = "select order_id, name, cast(double_amount as double), segment from {} order by 1"
    by_sql = warehouse_rows(tmp_path, query.format("t_sql"))
    assert by_sql == [
        (2, "Ada", 40.0, "gold"),
        (4, "Bob", 14.5, "unknown"),
        (5, "Chen", 198.0, "silver"),
    ]
    assert warehouse_rows(tmp_path, query.format("t_polars")) == by_sql
    assert warehouse_rows(tmp_path, query.format("t_ops")) == by_sql


def test_ops_cast_rename_and_bad_expression(tmp_path: Path) -> None:
    spec = make_project(
        tmp_path,
        """
        transforms:
          renamed:
            inputs: [orders]
            ops:
              - cast: {amount: "decimal(12,3)", order_id: string}
              - rename: {amount: amount_usd}
              - select: [order_id, amount_usd]
          broken:
            inputs: [orders]
            ops:
              - filter: "no_such_column > 1"
        loads:
          t_renamed: {from: renamed, write: replace}
          t_broken: {from: broken, write: replace}
        """,
    )
    outcome = run_pipeline(build_plan(load_spec(spec)), JANUARY)
    assert not outcome.ok
    assert warehouse_rows(
        tmp_path,
        "select data_type from information_schema.columns where table_name = 't_renamed' order by ordinal_position",
    )[:2] == [("VARCHAR",), ("DECIMAL(12,3)",)]
    error = outcome.record.error or ""
    assert "transform_broken" in error and "ops[0] (filter)" in error and "no_such_column" in error


def test_ops_spec_errors_are_located(tmp_path: Path) -> None:
    spec = make_project(
        tmp_path,
        """
        transforms:
          two:
            inputs: [orders]
            ops:
              - {select: [a], rename: {a: b}}
        loads:
          t: {from: two, write: replace}
        """,
    )
    with pytest.raises(SpecError) as caught:
        load_spec(spec)
    assert f"{spec}:11:9:" in str(caught.value)
    assert "an op needs exactly one of select, rename" in str(caught.value)


@pytest.mark.parametrize(
    ("reference", "files", "expected"),
    [
        ("transforms.missing_module:f", {}, "cannot import 'transforms.missing_module'"),
        ("transforms.steps:nope", {"transforms/steps.py": STEPS}, "has no function 'nope'"),
        (
            "transforms.broken:f",
            {"transforms/broken.py": "import not_a_real_package\n"},
            "No module named 'not_a_real_package'",
        ),
        (
            "transforms.steps_renamed:biggest_order",
            {
                "transforms/steps_renamed.py": STEPS.replace(
                    "customers: pl.LazyFrame", "clients: pl.LazyFrame"
                )
            },
            "cannot take the inputs",
        ),
    ],
    ids=["no-module", "no-function", "import-error-inside", "wrong-parameters"],
)
def test_polars_function_problems_name_the_step(
    tmp_path: Path, reference: str, files: dict[str, str], expected: str
) -> None:
    spec = make_project(
        tmp_path,
        f"""
        transforms:
          py_step:
            polars: {reference}
            inputs: [orders, customers]
        loads:
          t: {{from: py_step, write: replace}}
        """,
        files,
    )
    outcome = run_pipeline(build_plan(load_spec(spec)), JANUARY)
    assert not outcome.ok
    error = outcome.record.error or ""
    assert "stage 'transform_py_step'" in error and expected in error, error
