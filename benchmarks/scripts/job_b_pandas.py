"""Job B as a PythonOperator would do it: ``pandas.read_sql`` in chunks, into DuckDB."""

import os
import sys

import duckdb
import pandas as pd
import sqlalchemy

mode, warehouse = sys.argv[1:3]
url = os.environ["BENCH_PG_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
engine = sqlalchemy.create_engine(url)
con = duckdb.connect(warehouse)
con.execute("SET enable_progress_bar = false")
query = "SELECT * FROM public.orders"
params = None
if mode == "incremental":
    params = (con.execute("SELECT max(updated_at) FROM orders").fetchall()[0][0],)
    query += " WHERE updated_at > %s"
with engine.connect() as pg:
    chunks = pd.read_sql(query, pg.connection.driver_connection, params=params, chunksize=200_000)
    first = mode == "full"
    for chunk in chunks:
        con.register("chunk", chunk)
        if first:
            con.execute("CREATE OR REPLACE TABLE orders AS SELECT * FROM chunk")
            first = False
        else:
            con.execute("INSERT INTO orders SELECT * FROM chunk")
        con.unregister("chunk")
con.close()
