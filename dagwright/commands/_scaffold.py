"""The files ``dagwright init`` writes: a small working project over generated shop data.

Kept as text here (not package data) so a plain install always carries them.
"""

from __future__ import annotations

PIPELINE = "sales_daily"
DEMO_START, DEMO_END = "2026-01-01", "2026-01-08"
DEMO_ORDERS = 600

SPEC = """\
# yaml-language-server: $schema=../dagwright.schema.json
# An example pipeline over the generated shop data in data/shop/ (regenerate: make data).
# Every key is described in the reference: dagwright schema, or docs/spec-reference.md.
pipeline: sales_daily
description: Paid orders of the example shop, with revenue, and sales per day and segment.
schedule: "@daily"                  # one run per day; its data interval is that day
start_date: 2026-01-01
owner: data-eng
retries: 1

sources:
  orders:
    extractor: csv
    path: data/shop/orders.csv
    incremental: {cursor: ordered_at, use_interval: true}   # only the run's interval
    expect: [orders_raw]            # expectations/orders_raw.yaml, checked before loading
  order_lines: {extractor: csv, path: data/shop/order_lines.csv}
  products:
    extractor: csv
    path: data/shop/products.csv
    columns: {unit_price: "DECIMAL(10,2)"}
  customers: {extractor: csv, path: data/shop/customers.csv}

transforms:
  paid_orders:
    # SQL is written once, in any dialect sqlglot reads, and runs on DuckDB.
    sql: |
      select o.order_id, o.customer_id,
             coalesce(nullif(c.segment, ''), 'unknown') as segment,
             o.ordered_at,
             sum(l.quantity * p.unit_price) as revenue
      from orders o
      join order_lines l on l.order_id = o.order_id
      join products p on p.product_id = l.product_id
      join customers c on c.customer_id = o.customer_id
      where o.status in ('paid', 'shipped') and l.quantity > 0
      group by all
    tests:                          # run by `dagwright test` and tests/test_transforms.py
      - name: void orders are left out and revenue is quantity times price
        given:
          orders:
            - {order_id: 1, customer_id: 7, ordered_at: "2026-01-02 10:00:00", status: paid}
            - {order_id: 2, customer_id: 7, ordered_at: "2026-01-02 11:00:00", status: void}
          order_lines:
            - {line_id: 1, order_id: 1, product_id: 3, quantity: 2}
            - {line_id: 2, order_id: 2, product_id: 3, quantity: 5}
          products:
            - {product_id: 3, name: kettle, category: kitchen, unit_price: 12.5}
          customers:
            - {customer_id: 7, name: Ada, email: ada@example.com, segment: "", country: DE}
        expect:
          - {order_id: 1, segment: unknown, revenue: 25.0}
  daily_sales:
    polars: transforms.sales:daily_sales   # transforms/sales.py
    inputs: [paid_orders]

destination: {loader: duckdb, path: warehouse.duckdb}

loads:
  fct_orders: {from: paid_orders, write: merge, primary_key: [order_id]}
  agg_daily_sales: {from: daily_sales, write: delete_insert, interval_column: order_date}
"""

SUITE = """\
# Raw orders as they arrive: referenced from a spec as `expect: [orders_raw]`.
# severity: error stops the run before loading; warn records and goes on;
# quarantine sets the failing rows aside (see `dagwright quarantine`).
suite: orders_raw
description: Every order has an id, a customer and a known status.
severity: error
expectations:
  - expect_column_values_to_not_be_null: {column: order_id}
  - expect_column_values_to_be_unique: {column: order_id}
  - expect_column_values_to_be_in_set:
      column: status
      value_set: [paid, shipped, void, refunded]
  - expect_column_values_to_not_be_null: {column: customer_id}
    severity: warn
"""

TRANSFORM = '''\
"""Polars steps of this project: each takes its inputs as LazyFrames, by name."""

import polars as pl


def daily_sales(paid_orders: pl.LazyFrame) -> pl.LazyFrame:
    """Orders, customers and revenue per day and segment."""
    return (
        paid_orders.with_columns(order_date=pl.col("ordered_at").dt.date())
        .group_by("order_date", "segment")
        .agg(
            orders=pl.len(),
            customers=pl.col("customer_id").n_unique(),
            revenue=pl.col("revenue").sum(),
        )
        .sort("order_date", "segment")
    )
'''

TEST = '''\
"""The project's tests: the spec's transform tests, and the Polars step on a few rows."""

from datetime import date, datetime
from pathlib import Path

import polars as pl

from dagwright.transform_tests import assert_transform_tests
from transforms.sales import daily_sales

ROOT = Path(__file__).resolve().parents[1]


def test_spec_transform_tests_pass():
    assert_transform_tests(ROOT / "dags" / "sales_daily.yaml")


def test_daily_sales_sums_revenue_per_day_and_segment():
    orders = pl.LazyFrame(
        {
            "order_id": [1, 2, 3],
            "customer_id": [7, 7, 8],
            "segment": ["consumer", "consumer", "corporate"],
            "ordered_at": [
                datetime(2026, 1, 2, 9),
                datetime(2026, 1, 2, 17),
                datetime(2026, 1, 3, 8),
            ],
            "revenue": [10.0, 5.5, 20.0],
        }
    )
    result = daily_sales(orders).collect().to_dicts()
    assert result == [
        {"order_date": date(2026, 1, 2), "segment": "consumer", "orders": 2, "customers": 1,
         "revenue": 15.5},
        {"order_date": date(2026, 1, 3), "segment": "corporate", "orders": 1, "customers": 1,
         "revenue": 20.0},
    ]
'''

MAKEFILE = """\
# `make demo` runs the example pipeline and writes its report; `make test` runs the tests.
# Both create .venv and install dagwright into it on first use; to reuse a virtualenv that
# already has dagwright and pytest: make test DAGWRIGHT_VENV=/path/to/venv
PYTHON ?= python3
DAGWRIGHT ?= {requirement}
DAGWRIGHT_VENV ?=
VENV := $(if $(DAGWRIGHT_VENV),$(DAGWRIGHT_VENV),.venv)
BIN := $(VENV)/bin
READY := $(if $(DAGWRIGHT_VENV),,$(VENV)/.dagwright-installed)
# The project's own transforms/, extractors/ ... import beside dagwright's built-in ones.
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))

.PHONY: demo test run report data schema clean

$(VENV)/.dagwright-installed:
\t$(PYTHON) -m venv $(VENV)
\t$(BIN)/python -m pip install --quiet --disable-pip-version-check '$(DAGWRIGHT)' 'pytest=={pytest}'
\ttouch $@

demo: $(READY)
\t$(BIN)/dagwright run {pipeline} --start {start} --end {end}
\t$(BIN)/dagwright report

test: $(READY)
\t$(BIN)/python -m pytest -q -p no:cacheprovider tests

run: $(READY)
\t$(BIN)/dagwright run {pipeline}

report: $(READY)
\t$(BIN)/dagwright report

data: $(READY)
\t$(BIN)/dagwright sample-data --orders {orders}

schema: $(READY)
\t$(BIN)/dagwright schema -o dagwright.schema.json

clean:
\trm -rf .dagwright warehouse.duckdb warehouse.duckdb.wal
"""

AIRFLOW_DAGS = '''\
"""The one file Airflow parses: every dagwright spec (*.yaml) in this folder becomes a DAG.

A spec that fails validation becomes a paused DAG under its own name, tagged
``dagwright-broken-spec``, whose page lists every problem with its file, line and column
(it is not an import error: those would stop Airflow running the other pipelines of this
file); every valid spec still loads as its own DAG.
"""

from dagwright.airflow.factory import build_dags

globals().update(build_dags(__file__))
'''

PYPROJECT = """\
# Settings for the project's tools; the pipelines themselves live in dags/.
[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]
"""

GITIGNORE = """\
.venv/
.dagwright/
warehouse.duckdb
warehouse.duckdb.wal
__pycache__/
"""

VSCODE = """\
{
  "yaml.schemas": {"./dagwright.schema.json": "dags/*.yaml"}
}
"""

PLUGIN_README = """\
# {folder}/

Your own {kind}s. A module here (this folder has no `__init__.py`, on purpose) extends
dagwright's built-in `{folder}` package, so `{folder}.my_{kind}` imports beside them.
A new {kind} is one class with a pydantic config model, registered under a name in the
`dagwright.{folder}` entry-point group of an installed package; its options then appear
in the JSON Schema (`make schema`) and are validated in every spec.
"""

README = """\
# {name}

A dagwright project: one YAML file per pipeline in `dags/`, run from the command line
into an embedded DuckDB warehouse, or scheduled by Apache Airflow 3 with one task per
stage.

```sh
make demo   # runs the example pipeline for one week of data, then writes its HTML report
make test   # the transform tests
```

Both need Python 3.11+ and `make`; the first run creates `.venv` and installs dagwright
({requirement}; a wheel in `vendor/` is part of the project: commit it with the rest).

## What is here

```
dags/{pipeline}.yaml     the example pipeline: sources, checks, transforms, loads
dags/dagwright_dags.py   the one file Airflow parses; every spec in dags/ becomes a DAG
transforms/sales.py      a Polars step used by the pipeline
expectations/            Great Expectations suites (orders_raw.yaml)
extractors/, loaders/    your own sources and destinations, if you need any
tests/                   pytest: the spec's transform tests and a unit test of sales.py
data/shop/               generated example data (make data regenerates it)
dagwright.schema.json    the JSON Schema of specs; editors complete and check dags/*.yaml
```

## From here to a scheduled pipeline

1. **Run it.** `make demo` runs it for 2026-01-01 to 2026-01-08
   (`.venv/bin/dagwright run {pipeline} --start {start} --end {end}`), and writes a
   report of the run to `.dagwright/reports/`: the stage graph, a timeline, rows in and out
   of each stage, every check with samples of failing values, the SQL as executed and the
   column lineage of each table. Open it in a browser.
2. **Look at the data.** The tables are in `warehouse.duckdb`, which DuckDB (installed
   with dagwright) reads:

```sh
.venv/bin/python -c "import duckdb
con = duckdb.connect('warehouse.duckdb', read_only=True)
con.sql('select * from agg_daily_sales order by all limit 5').show()"
```

3. **Add a pipeline.** `dagwright new orders_api --source http --destination duckdb`
   writes a commented skeleton to `dags/orders_api.yaml` that already validates; fill it
   in, then `dagwright validate` and `dagwright plan orders_api`.
4. **Test the transforms.** Give a transform `tests:` (input rows, expected rows) and run
   `dagwright test` or `make test`.
5. **Backfill.** Run every day of January that is not loaded yet:
   `dagwright backfill {pipeline} --start 2026-01-01 --end 2026-02-01` (`--dry-run` shows
   the intervals first; `--reprocess all` reruns loaded ones too). Rerunning an interval
   replaces its rows: loads are atomic per table, and never duplicate.
6. **Schedule it.** Point Airflow's `dags_folder` at `dags/` (with dagwright installed
   beside Airflow: `pip install 'dagwright[airflow]'`). `dags/dagwright_dags.py` turns
   every spec into a DAG with the spec's schedule, retries and one task per stage; a spec
   that does not validate shows up as a paused DAG under its own name, tagged
   `dagwright-broken-spec`, whose page lists every problem with its file and line.

Every spec key is documented in the JSON Schema (`dagwright schema`) and in dagwright's
spec reference.
"""
