"""Issue 4: dlt's filesystem ``read_csv_duckdb`` reader (Arrow batches), extract step only.

``pipeline.extract`` writes the batches to dlt's Parquet extract files; no destination.
(dlt's plain ``read_csv`` yields row dicts through pandas: far slower, not measured.)
"""

import os

os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import dlt  # noqa: E402
from dlt.sources.filesystem import readers  # noqa: E402

csv_path, workdir, expected = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
source = readers(bucket_url=str(csv_path.parent), file_glob=csv_path.name).read_csv_duckdb(
    chunk_size=100_000, use_pyarrow=True
)
pipeline = dlt.pipeline(
    pipeline_name="bench_extract_csv",
    destination=dlt.destinations.duckdb(str(Path(workdir) / "unused.duckdb")),
    dataset_name="main",
    pipelines_dir=str(Path(workdir) / ".dlt"),
)
info = pipeline.extract(source.with_name("orders"))
extracted = sum(
    m.items_count
    for steps in info.metrics.values()
    for step in steps
    for name, m in step["table_metrics"].items()
    if not name.startswith("_dlt")
)
if extracted != expected:
    sys.exit(f"extracted {extracted:,} rows, expected {expected:,}")
