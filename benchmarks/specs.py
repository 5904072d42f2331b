"""The dagwright specs the benchmark runs, written as YAML text into throwaway projects."""

from __future__ import annotations

import json
from pathlib import Path

FCT_SQL = """\
select o.order_id, o.customer_id, c.segment, c.country, o.ordered_at, o.amount
from orders o join customers c on c.customer_id = o.customer_id
where o.status <> 'void'"""
DAILY_SQL = """\
select cast(ordered_at as date) as order_date, segment,
       count(*) as orders, sum(amount) as revenue
from fct group by all"""
CHECKS = [
    {"expect_column_values_to_not_be_null": {"column": "order_id"}},
    {"expect_column_values_to_be_unique": {"column": "order_id"}},
    {"expect_column_values_to_be_between": {"column": "amount", "min_value": 0, "max_value": 1000}},
    {
        "expect_column_values_to_be_in_set": {
            "column": "status",
            "value_set": ["paid", "shipped", "void", "refunded"],
        }
    },
]


NL = "\n"


def _q(value: object) -> str:
    """A YAML scalar (JSON is valid YAML), so paths and SQL need no hand escaping."""
    return json.dumps(value)


def job_a(
    name: str, orders: Path, customers: Path, checks: bool = False, lineage: bool = True
) -> str:
    """Job A as a spec; the SQL carries the name, so no two specs share a SQL text.

    ``lineage=False`` writes the script's tables exactly (no lineage columns)."""
    expect = f"\n    expect: {_q(CHECKS)}" if checks else ""
    options = "" if lineage else ", lineage: false"
    return f"""\
pipeline: {name}
start_date: 2026-01-01
schedule: "@daily"
sources:
  orders:
    extractor: csv
    path: {_q(str(orders))}{expect}
  customers:
    extractor: csv
    path: {_q(str(customers))}
transforms:
  fct:
    sql: {_q(f"-- {name}{NL}{FCT_SQL}")}
  daily:
    sql: {_q(f"-- {name}{NL}{DAILY_SQL}")}
loads:
  fct_orders: {{from: fct, write: replace{options}}}
  agg_daily_orders: {{from: daily, write: replace{options}}}
"""


def job_b(name: str, connection: str, incremental: bool) -> str:
    inc = "\n    incremental: {cursor: updated_at}" if incremental else ""
    write = "append" if incremental else "replace"
    return f"""\
pipeline: {name}
start_date: 2026-01-01
sources:
  orders:
    extractor: postgres
    connection: {connection}
    table: public.orders{inc}
loads:
  orders: {{from: orders, write: {write}}}
"""


def write_project(root: Path, specs: dict[str, str]) -> Path:
    (root / "dags").mkdir(parents=True, exist_ok=True)
    for name, text in specs.items():
        (root / "dags" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return root


HAND_WRITTEN_DAG = '''\
"""Job A written by hand as an Airflow DAG: what one dagwright spec replaces."""
from datetime import datetime, timedelta

from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator


def extract(source, path):
    return {{"source": source, "path": path}}


def transform(name, sql):
    return {{"name": name, "sql": sql}}


def load(table, write):
    return {{"table": table, "write": write}}


with DAG(
    dag_id="{name}",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["bench"],
    default_args={{"owner": "data-eng", "retries": 2, "retry_delay": timedelta(minutes=5)}},
) as dag:
    extract_orders = PythonOperator(
        task_id="extract_orders", python_callable=extract,
        op_kwargs={{"source": "orders", "path": "data/orders.csv"}},
    )
    extract_customers = PythonOperator(
        task_id="extract_customers", python_callable=extract,
        op_kwargs={{"source": "customers", "path": "data/customers.csv"}},
    )
    transform_fct = PythonOperator(
        task_id="transform_fct", python_callable=transform,
        op_kwargs={{"name": "fct", "sql": {fct_sql!r}}},
    )
    transform_daily = PythonOperator(
        task_id="transform_daily", python_callable=transform,
        op_kwargs={{"name": "daily", "sql": {daily_sql!r}}},
    )
    load_fct_orders = PythonOperator(
        task_id="load_fct_orders", python_callable=load,
        op_kwargs={{"table": "fct_orders", "write": "replace"}},
    )
    load_agg_daily_orders = PythonOperator(
        task_id="load_agg_daily_orders", python_callable=load,
        op_kwargs={{"table": "agg_daily_orders", "write": "replace"}},
    )
    [extract_orders, extract_customers] >> transform_fct >> transform_daily
    transform_fct >> load_fct_orders
    transform_daily >> load_agg_daily_orders
'''


def hand_written_dag(name: str) -> str:
    return HAND_WRITTEN_DAG.format(name=name, fct_sql=FCT_SQL, daily_sql=DAILY_SQL)
