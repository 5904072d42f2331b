"""The MySQL reference of the load job: a plain bulk load written by hand with the same
driver dagwright uses (PyMySQL): the Parquet file as CSV (Arrow's writer), a table created
for its columns, ``LOAD DATA LOCAL INFILE``, ``COMMIT``. No state, no checks, no merge."""

import json
import os
import sys
import tempfile
import time
from urllib.parse import unquote, urlsplit

import pyarrow.csv as csv
import pyarrow.parquet as pq
import pymysql

parquet, table = sys.argv[1:3]
started = time.perf_counter()
url = urlsplit(os.environ["BENCH_MYSQL_URL"])
con = pymysql.connect(
    host=url.hostname,
    port=url.port or 3306,
    user=unquote(url.username or ""),
    password=unquote(url.password or ""),
    database=url.path.lstrip("/"),
    local_infile=True,
    autocommit=False,
)
TYPES = {"int64": "BIGINT", "double": "DOUBLE", "string": "LONGTEXT", "large_string": "LONGTEXT"}
data = pq.read_table(parquet)


def sql_type(arrow_type: object) -> str:
    name = str(arrow_type)
    return TYPES.get(name, "DATETIME(6)" if name.startswith("timestamp") else "LONGTEXT")


columns = ", ".join(f"`{f.name}` {sql_type(f.type)}" for f in data.schema)
with tempfile.NamedTemporaryFile(suffix=".csv") as out:
    csv.write_csv(data, out.name, csv.WriteOptions(include_header=False, null_string="NULL"))
    with con.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS `{table}`")
        cur.execute(f"CREATE TABLE `{table}` ({columns})")
        cur.execute(
            f"LOAD DATA LOCAL INFILE '{out.name}' INTO TABLE `{table}` FIELDS TERMINATED BY ',' "
            "OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n'"
        )
    con.commit()
con.close()
print(json.dumps({"phases": {"load": time.perf_counter() - started}}))
