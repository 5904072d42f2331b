"""A small orders project with known dirty rows, and helpers to run it with checks."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import Project

ORDERS = """\
order_id,customer_id,status,amount
1,10,paid,10.0
2,11,paid,20.0
3,,paid,5.0
4,12,bogus,7.0
5,13,void,-3.0
6,,bogus,1.0
7,14,shipped,8.0
8,15,paid,9.0
"""
"""Rows 3 and 6 lack a customer, 4 and 6 have an unknown status, 5 a negative amount."""

STRICT = """\
suite: orders_strict
expectations:
  - expect_column_values_to_not_be_null: {column: order_id}
  - expect_column_values_to_be_unique: {column: order_id}
  - expect_column_values_to_not_be_null: {column: customer_id}
  - expect_column_values_to_be_in_set: {column: status, value_set: [paid, void, shipped]}
"""

LOOSE = """\
suite: orders_loose
expectations:
  - expect_column_values_to_not_be_null: {column: order_id}
  - expect_column_values_to_be_unique: {column: order_id}
  - expect_table_row_count_to_be_between: {min_value: 1, max_value: 100}
"""


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test validates checks against GE afresh (no shared 'valid before' cache)."""
    monkeypatch.setenv("DAGWRIGHT_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def orders_project(project: Project) -> Project:
    (project.root / "data" / "orders.csv").write_text(ORDERS)
    suites = project.root / "expectations"
    suites.mkdir()
    (suites / "orders_strict.yaml").write_text(STRICT)
    (suites / "orders_loose.yaml").write_text(LOOSE)
    return project


def orders_spec(
    project: Project,
    source: str = "[]",
    transform: str = "[]",
    load: str = "[]",
    write: str = "replace",
    name: str = "orders",
) -> Path:
    """A pipeline: orders.csv -> (check) -> transform ``kept`` -> (check) -> load -> (check)."""
    text = f"""
    pipeline: {name}
    start_date: 2026-01-01
    sources:
      orders:
        extractor: csv
        path: data/orders.csv
        expect: {source}
    transforms:
      kept:
        sql: select order_id, customer_id, status, amount from orders
        expect: {transform}
    loads:
      fct_orders: {{from: kept, write: {write}, expect: {load}}}
    """
    return project.write_spec(name, textwrap.dedent(text))
