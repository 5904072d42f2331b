"""Job A with dlt: load both CSVs (DuckDB reader, Arrow batches), then SQL in the warehouse."""

import os

# A standalone dlt user has no Airflow: skip dlt's probe of Airflow Variables (it needs
# Airflow's metadata DB and costs seconds here only because Airflow shares this venv),
# and send no telemetry from a benchmark.
os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import sys
from pathlib import Path

import dlt  # noqa: E402
from dlt.sources.filesystem import filesystem, read_csv_duckdb

orders_csv, customers_csv, warehouse, workdir = sys.argv[1:5]


def csv_resource(path: str, name: str):
    files = filesystem(bucket_url=Path(path).resolve().parent.as_uri(), file_glob=Path(path).name)
    return (files | read_csv_duckdb(chunk_size=500_000, use_pyarrow=True)).with_name(name)


pipeline = dlt.pipeline(
    pipeline_name="bench_job_a",
    destination=dlt.destinations.duckdb(warehouse),
    dataset_name="raw",
    pipelines_dir=str(Path(workdir) / ".dlt"),
)
pipeline.run(
    [csv_resource(orders_csv, "orders"), csv_resource(customers_csv, "customers")],
    write_disposition="replace",
)
with pipeline.sql_client() as client:
    client.execute_sql(
        """
        CREATE OR REPLACE TABLE main.fct_orders AS
        SELECT o.order_id, o.customer_id, c.segment, c.country, o.ordered_at, o.amount
        FROM raw.orders o JOIN raw.customers c ON c.customer_id = o.customer_id
        WHERE o.status <> 'void'
        """
    )
    client.execute_sql(
        """
        CREATE OR REPLACE TABLE main.agg_daily_orders AS
        SELECT CAST(ordered_at AS DATE) AS order_date, segment,
               COUNT(*) AS orders, SUM(amount) AS revenue
        FROM main.fct_orders GROUP BY ALL
        """
    )
