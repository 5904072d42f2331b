"""Job B, the reference: PostgreSQL ``COPY ... TO STDOUT`` into a file, DuckDB reads it.

``full`` replaces the table; ``incremental`` copies only rows past the table's
``max(updated_at)`` and appends them.
"""

import os
import sys
import tempfile

import duckdb
import psycopg

mode, warehouse = sys.argv[1:3]
url = os.environ["BENCH_PG_URL"]
COLUMNS = {
    "order_id": "BIGINT",
    "customer_id": "INTEGER",
    "status": "VARCHAR",
    "ordered_at": "TIMESTAMP",
    "amount": "DECIMAL(10,2)",
    "updated_at": "TIMESTAMP",
}
con = duckdb.connect(warehouse)
con.execute("SET enable_progress_bar = false")
watermark = None
if mode == "incremental":
    watermark = con.execute("SELECT max(updated_at) FROM orders").fetchall()[0][0]
with tempfile.NamedTemporaryFile(suffix=".csv", dir=os.path.dirname(warehouse) or ".") as tmp:
    with psycopg.connect(url) as pg, pg.cursor() as cur:
        if watermark is None:
            statement, params = "COPY public.orders TO STDOUT (FORMAT csv)", None
        else:
            statement = (
                "COPY (SELECT * FROM public.orders WHERE updated_at > %s) TO STDOUT (FORMAT csv)"
            )
            params = (watermark,)
        with cur.copy(statement, params) as copy:
            for chunk in copy:
                tmp.write(chunk)
    tmp.flush()
    rows = con.read_csv(tmp.name, header=False, columns=COLUMNS)
    if mode == "full":
        rows.create("orders_new")
        con.execute("CREATE OR REPLACE TABLE orders AS SELECT * FROM orders_new")
        con.execute("DROP TABLE orders_new")
    else:
        rows.insert_into("orders")
con.close()
