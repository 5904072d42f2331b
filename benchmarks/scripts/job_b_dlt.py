"""Job B with dlt's sql_database source (backend given on the command line)."""

import os

# A standalone dlt user has no Airflow: skip dlt's probe of Airflow Variables (it needs
# Airflow's metadata DB and costs seconds here only because Airflow shares this venv),
# and send no telemetry from a benchmark.
os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import sys
from pathlib import Path

import dlt  # noqa: E402
from dlt.sources.sql_database import sql_table

mode, warehouse, workdir, backend = sys.argv[1:5]
url = os.environ["BENCH_PG_URL"]
if backend != "connectorx":
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
table = sql_table(
    credentials=url,
    table="orders",
    schema="public",
    backend=backend,
    chunk_size=100_000,
    reflection_level="full_with_precision",
    incremental=dlt.sources.incremental("updated_at") if mode == "incremental" else None,
)
pipeline = dlt.pipeline(
    pipeline_name=f"bench_job_b_{mode}",
    destination=dlt.destinations.duckdb(warehouse),
    dataset_name="main",
    pipelines_dir=str(Path(workdir) / ".dlt"),
)
pipeline.run(table, write_disposition="replace" if mode == "full" else "append")
