"""Issues 6 and 19: one dagwright loader (DuckDB, PostgreSQL, MySQL or Snowflake) driven
directly: ``load()`` of a staged Parquet file with one write disposition, as the executor's
load stage calls it."""

import json
import sys
import time
import uuid
from pathlib import Path

import pyarrow.parquet as pq

from dagwright.spec.sections import Load
from dagwright.staging import StagedTable, fingerprint
from dagwright.state import StateUpdate

dest, write, parquet, folder, table = sys.argv[1:6]
started = time.perf_counter()
if dest == "duckdb":
    from loaders.duckdb import DuckDBConfig, DuckDBLoader

    loader = DuckDBLoader(DuckDBConfig(path="warehouse.duckdb"), Path(folder))
elif dest == "mysql":
    from loaders.mysql import MySQLConfig, MySQLLoader

    loader = MySQLLoader(MySQLConfig(connection="bench_mysql"), Path(folder))
elif dest == "snowflake":
    from loaders.snowflake import SnowflakeConfig, SnowflakeLoader

    loader = SnowflakeLoader(SnowflakeConfig(connection="bench_snowflake"), Path(folder))
else:
    from loaders.postgres import PostgresConfig, PostgresLoader

    loader = PostgresLoader(PostgresConfig(connection="bench_pg"), Path(folder))
keys = {"merge": "primary_key", "scd2": "primary_key", "delete_insert": "merge_key"}
spec = {"from": "orders", "write": write}
if write in keys:
    spec[keys[write]] = ["order_id"]
meta = pq.ParquetFile(parquet).metadata
staged = StagedTable(
    uri=parquet, rows=meta.num_rows, fingerprint=fingerprint(meta.schema.to_arrow_schema())
)
state = StateUpdate(
    run_id=uuid.uuid4().hex,
    pipeline="bench_load",
    table=table,
    interval_start=None,
    interval_end=None,
)
try:
    result = loader.load(table, Load.model_validate(spec), staged, state)
finally:
    loader.close()
print(json.dumps({"phases": {"load": time.perf_counter() - started}}))
