"""Issue 6: dlt loading the same Arrow data (the Parquet file read into one Arrow table)
into DuckDB or PostgreSQL with a write disposition (merge on order_id)."""

import os

os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import dlt  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

dest, write, parquet, folder, dataset = sys.argv[1:6]
if dest == "duckdb":
    destination = dlt.destinations.duckdb(str(Path(folder) / "warehouse.duckdb"))
else:
    destination = dlt.destinations.postgres(os.environ["BENCH_PG_URL"])
pipeline = dlt.pipeline(
    pipeline_name=f"bench_load_{dest}",
    destination=destination,
    dataset_name=dataset,
    pipelines_dir=str(Path(folder) / ".dlt"),
)
hints = {"primary_key": "order_id"} if write == "merge" else {}
info = pipeline.run(pq.read_table(parquet), table_name="orders", write_disposition=write, **hints)
info.raise_on_failed_jobs()
