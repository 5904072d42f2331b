"""Deterministic benchmark data: the same rows for every contender, every run, every machine.

Rows are computed from their index with integer arithmetic (no random generator), so a
given size always produces byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

STATUSES = ("paid", "shipped", "void", "refunded")
SEGMENTS = ("consumer", "corporate", "home_office")

ORDERS_SQL = """
COPY (
    SELECT i AS order_id,
           CAST((i * 2654435761) % $customers + 1 AS INTEGER) AS customer_id,
           CASE (i * 7) % 20 WHEN 0 THEN 'void' WHEN 1 THEN 'refunded'
                WHEN 2 THEN 'shipped' WHEN 3 THEN 'shipped' WHEN 4 THEN 'shipped'
                WHEN 5 THEN 'shipped' ELSE 'paid' END AS status,
           TIMESTAMP '2026-01-01' + to_seconds(CAST(i * 7776000 // $rows AS BIGINT))
               AS ordered_at,
           CAST(((i * 7919) % 50000) / 100.0 AS DECIMAL(10, 2)) AS amount,
           TIMESTAMP '2026-01-01' + to_milliseconds(i) AS updated_at
    FROM range(1, $rows + 1) t(i)
    ORDER BY i
) TO '{path}' (HEADER, DELIMITER ',')
"""

CUSTOMERS_SQL = """
COPY (
    SELECT i AS customer_id,
           'customer ' || i AS name,
           ['consumer', 'corporate', 'home_office'][i % 3 + 1] AS segment,
           ['DE', 'FR', 'US', 'GB', 'NL', 'ES', 'IT'][i % 7 + 1] AS country
    FROM range(1, $customers + 1) t(i)
    ORDER BY i
) TO '{path}' (HEADER, DELIMITER ',')
"""

ORDERS_COLUMNS = {
    "order_id": "BIGINT",
    "customer_id": "INTEGER",
    "status": "VARCHAR",
    "ordered_at": "TIMESTAMP",
    "amount": "DECIMAL(10,2)",
    "updated_at": "TIMESTAMP",
}


def customers_for(rows: int) -> int:
    return max(100, rows // 10)


def generate(folder: Path, rows: int) -> dict[str, Path]:
    """``orders.csv`` (``rows`` rows) and ``customers.csv`` in ``folder``; reused if present."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"orders": folder / "orders.csv", "customers": folder / "customers.csv"}
    marker = folder / f".complete-{rows}"
    if marker.exists() and all(p.exists() for p in paths.values()):
        return paths
    import duckdb

    params = {"rows": rows, "customers": customers_for(rows)}
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        # COPY targets cannot be bound parameters; the paths are ours, not user input.
        con.execute(ORDERS_SQL.replace("{path}", _sql_path(paths["orders"])), params)
        con.execute(
            CUSTOMERS_SQL.replace("{path}", _sql_path(paths["customers"])),
            {"customers": params["customers"]},
        )
    finally:
        con.close()
    marker.write_text("ok")
    return paths


def generate_in_child(folder: Path, rows: int) -> dict[str, Path]:
    """``generate`` in a child process.

    DuckDB keeps the memory it used; a big parent would then lend its RSS to every
    contender it forks (Linux carries the parent's high-water mark into the child's
    ``ru_maxrss``), so the suite's own process stays small.
    """
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, "-m", "benchmarks.data", str(folder), str(rows)], cwd=repo, check=True
    )
    return generate(folder, rows)


def _sql_path(path: Path) -> str:
    text = str(path)
    if "'" in text:
        raise ValueError(f"benchmark folder paths cannot contain quotes: {text}")
    return text


PG_TABLE_DDL = """
DROP TABLE IF EXISTS public.orders;
CREATE TABLE public.orders (
    order_id BIGINT PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    ordered_at TIMESTAMP NOT NULL,
    amount NUMERIC(10, 2) NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
"""


def load_postgres(url: str, orders_csv: Path, keep_fraction: float = 1.0) -> int:
    """(Re)create ``public.orders`` from the CSV, keeping the first ``keep_fraction`` of rows.

    Returns the number of rows kept; ``add_newest_rows`` later adds the rest, which is
    what an incremental run then picks up.
    """
    import psycopg

    total = _count_lines(orders_csv) - 1
    keep = int(total * keep_fraction)
    with psycopg.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(PG_TABLE_DDL)
        _copy_rows(cur, orders_csv, 0, keep)
        cur.execute("ANALYZE public.orders")
    return keep


def add_newest_rows(url: str, orders_csv: Path, skip: int) -> int:
    """Append the CSV's rows after the first ``skip`` to ``public.orders``."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con, con.cursor() as cur:
        added = _copy_rows(cur, orders_csv, skip, None)
        cur.execute("ANALYZE public.orders")
    return added


def _copy_rows(cur, orders_csv: Path, start: int, stop: int | None) -> int:  # noqa: ANN001
    copied = 0
    with (
        open(orders_csv, "rb") as src,
        cur.copy("COPY public.orders FROM STDIN (FORMAT csv)") as copy,
    ):
        src.readline()
        buffer: list[bytes] = []
        for index, line in enumerate(src):
            if index < start:
                continue
            if stop is not None and index >= stop:
                break
            buffer.append(line)
            if len(buffer) >= 50_000:
                copy.write(b"".join(buffer))
                copied += len(buffer)
                buffer.clear()
        if buffer:
            copy.write(b"".join(buffer))
            copied += len(buffer)
    return copied


def _count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


if __name__ == "__main__":
    import sys

    generate(Path(sys.argv[1]), int(sys.argv[2]))
