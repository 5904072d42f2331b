"""The Snowflake reference of the load job: a plain bulk load written by hand with the same
driver dagwright uses (snowflake-connector-python): a table created for the Parquet file's
columns, the file ``PUT`` as it is to a named stage (under a name of its own: a stage skips
a file name it already loaded), ``COPY INTO`` matching columns by name, ``COMMIT``. No
state, no checks, no merge.

The URL is the loader's (``snowflake://user:password@account/database/schema?options``).
On fakesnow: the stage is unquoted and schema-qualified (PUT refuses a quoted one), the
table permanent (COPY cannot fill a temporary one), names unquoted (upper case)."""

import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import pyarrow.parquet as pq
import snowflake.connector

parquet, table = sys.argv[1:3]
started = time.perf_counter()
os.environ.setdefault("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
url = urlsplit(os.environ["BENCH_SNOWFLAKE_URL"])
database, _, schema = url.path.lstrip("/").partition("/")
schema = schema or "PUBLIC"
options = {"network_timeout": 15, "socket_timeout": 600}  # fakesnow's: see tests/support
options.update((k, int(v) if v.isdigit() else v) for k, v in parse_qsl(url.query))
con = snowflake.connector.connect(
    account=url.hostname,
    user=unquote(url.username or ""),
    password=unquote(url.password or ""),
    database=database,
    schema=schema,
    autocommit=False,
    **options,
)
TYPES = {"int64": "BIGINT", "double": "DOUBLE", "string": "VARCHAR", "large_string": "VARCHAR"}
arrow_schema = pq.read_schema(parquet)


def sql_type(arrow_type: object) -> str:
    name = str(arrow_type)
    if name.startswith("timestamp"):
        return "TIMESTAMP_TZ" if "tz=" in name else "TIMESTAMP_NTZ"
    return TYPES.get(name, "VARCHAR")


columns = ", ".join(f"{f.name} {sql_type(f.type)}" for f in arrow_schema)
stage = f"{schema}.bench_hand_stage"
with tempfile.TemporaryDirectory() as tmp:
    upload = Path(tmp) / f"orders_{uuid.uuid4().hex}.parquet"
    upload.symlink_to(Path(parquet).resolve())
    with con.cursor() as cur:
        cur.execute(f"CREATE OR REPLACE TABLE {table} ({columns})")
        cur.execute(f"CREATE STAGE IF NOT EXISTS {stage}")
        cur.execute(f"PUT 'file://{upload}' @{stage} AUTO_COMPRESS = FALSE")
        cur.execute(
            f"COPY INTO {table} FROM @{stage}/{upload.name} FILE_FORMAT = (TYPE = PARQUET) "
            "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE PURGE = TRUE"
        )
    con.commit()
con.close()
print(json.dumps({"phases": {"load": time.perf_counter() - started}}))
