"""Job sql_steps, the reference: the 22 TPC-H queries run by DuckDB directly.

A fresh DuckDB file; one ``read_parquet`` view per TPC-H table; then
``CREATE TABLE qNN AS <query>`` for each query file, in order.

    python sql_steps_duckdb.py DATA_FOLDER QUERIES_FOLDER WAREHOUSE
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb

TABLES = ("region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem")


def main(data: Path, queries: Path, warehouse: Path) -> None:
    started = time.perf_counter()
    for name in (warehouse.name, warehouse.name + ".wal"):
        (warehouse.parent / name).unlink(missing_ok=True)
    con = duckdb.connect(str(warehouse))
    try:
        for table in TABLES:
            # A view's body cannot take a bound parameter; the paths are our own files.
            path = str(data / f"{table}.parquet").replace("'", "''")
            con.execute(f"CREATE TEMP VIEW {table} AS SELECT * FROM read_parquet('{path}')")
        opened = time.perf_counter()
        for query in sorted(queries.glob("q*.sql")):
            sql = query.read_text(encoding="utf-8").strip().rstrip(";")
            con.execute(f"CREATE TABLE {query.stem} AS\n{sql}\n")
        ran = time.perf_counter()
    finally:
        con.close()
    print(f'{{"phases": {{"queries": {ran - opened:.4f}, "total": {ran - started:.4f}}}}}')


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
