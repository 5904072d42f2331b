"""Column lineage across SQL steps, ops, Polars functions and pushed-down steps."""

from __future__ import annotations

from pathlib import Path

from dagwright.lineage import column_lineage, table_lineage
from dagwright.spec.load import load_spec
from tests.conftest import run_cli
from tests.transforms.test_sql import make_project

SPEC = """
transforms:
  clean_customers:
    dialect: snowflake
    sql: |
      select customer_id, upper(trim(name)) as name,
             iff(segment is null or segment = '', 'unknown', segment) as segment
      from customers
  order_facts:
    dialect: bigquery
    sql: |
      WITH shipped AS (SELECT * FROM orders WHERE status = 'shipped')
      SELECT s.order_id, c.segment, s.amount * 1.2 AS gross, CONCAT(c.name, '#', CAST(s.order_id AS STRING)) AS label
      FROM shipped s JOIN clean_customers c ON c.customer_id = s.customer_id
  renamed:
    inputs: [order_facts]
    ops:
      - rename: {gross: gross_amount}
      - derive: {net: "gross_amount / 1.2"}
  by_segment:
    pushdown: true
    sql: select segment, sum(gross) as total from fct_orders group by segment
loads:
  fct_orders: {from: order_facts, write: replace}
  fct_renamed: {from: renamed, write: replace}
  agg_segment: {from: by_segment, write: replace}
"""


def test_loaded_column_traced_to_source_columns_across_stages(tmp_path: Path) -> None:
    spec = load_spec(make_project(tmp_path, SPEC))
    label = column_lineage(spec, "fct_orders", "label")
    assert label.sources() == ["customers.name", "orders.order_id"]
    rendered = "\n".join(label.render())
    assert (
        "order_facts.label  [transform]  SQL: c.name || '#' || CAST(s.order_id AS TEXT)" in rendered
    )
    assert "clean_customers.name  [transform]  SQL: UPPER(TRIM(customers.name))" in rendered
    assert column_lineage(spec, "fct_orders", "segment").sources() == ["customers.segment"]


def test_lineage_through_ops_and_pushdown(tmp_path: Path) -> None:
    spec = load_spec(make_project(tmp_path, SPEC))
    assert column_lineage(spec, "fct_renamed", "net").sources() == ["orders.amount"]
    total = column_lineage(spec, "agg_segment", "total")
    assert total.sources() == ["orders.amount"]
    assert "fct_orders.gross  [table]  loaded from order_facts" in "\n".join(total.render())


def test_table_lineage_lists_every_named_column(tmp_path: Path) -> None:
    spec = load_spec(make_project(tmp_path, SPEC))
    assert table_lineage(spec, "fct_orders") == [
        ("order_id", ["orders.order_id"]),
        ("segment", ["customers.segment"]),
        ("gross", ["orders.amount"]),
        ("label", ["customers.name", "orders.order_id"]),
    ]


def test_lineage_command(tmp_path: Path) -> None:
    make_project(tmp_path, SPEC)
    result = run_cli("lineage", "p", "fct_orders.gross", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "fct_orders.gross  [load]  from order_facts"
    assert "orders.amount  [source]  extractor csv" in result.stdout
    missing = run_cli("lineage", "p", "fct_order.gross", cwd=tmp_path)
    assert missing.returncode == 1
    assert "loads no table 'fct_order' (did you mean 'fct_orders'?)" in missing.stderr


def test_table_fed_by_a_polars_step_lists_the_loaded_columns(tmp_path: Path) -> None:
    from dagwright.plan import build_plan
    from dagwright.runner import run_pipeline
    from tests.transforms.test_ops import STEPS

    spec = make_project(
        tmp_path,
        """
        transforms:
          top:
            polars: transforms.steps:biggest_order
            inputs: [orders, customers]
        loads:
          fct_top: {from: top, write: replace}
        """,
        {"transforms/steps.py": STEPS},
    )
    before = run_cli("lineage", "p", "fct_top", cwd=tmp_path)
    assert "columns are not named by the spec" in before.stdout
    assert run_pipeline(build_plan(load_spec(spec))).ok
    after = run_cli("lineage", "p", "fct_top", cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    assert "  segment <- (polars transforms.steps:biggest_order: opaque to lineage" in after.stdout
