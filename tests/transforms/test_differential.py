"""Differential tests: each corpus SQL step, run by the framework on DuckDB and, translated,
on a real PostgreSQL server, a real MariaDB server and Snowflake's stand-in (fakesnow), must
give the same rows (or, where no faithful translation exists, a clear error naming the
construct and its line before anything runs)."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dagwright.context import Interval, RunContext
from dagwright.errors import StageError
from dagwright.spec.sections import Transform
from tests.transforms.corpus import CASES, TABLES, Case
from transforms.sql import (
    ParamStyle,
    SqlStepError,
    compile_sql,
    parse,
    referenced_tables,
    run_sql,
)

INTERVAL = Interval(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def staged_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The shared tables as staged Parquet files, as an upstream stage would leave them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dagwright.staging import describe

    folder = tmp_path_factory.mktemp("corpus")
    staged = {}
    for name, (columns, rows) in TABLES.items():
        schema = pa.schema([(c, _arrow_type(t)) for c, t, _ in columns])
        table = pa.Table.from_pylist(
            [dict(zip(schema.names, r, strict=True)) for r in rows], schema
        )
        path = folder / f"{name}.parquet"
        pq.write_table(table, path)
        staged[name] = describe(str(path))
    return staged


def _arrow_type(name: str) -> Any:
    import pyarrow as pa

    if name.startswith("decimal"):
        p, s = name[8:-1].split(",")
        return pa.decimal128(int(p), int(s))
    return {
        "int64": pa.int64(),
        "string": pa.string(),
        "date32": pa.date32(),
        "timestamp": pa.timestamp("us"),
    }[name]


@pytest.fixture(scope="module")
def pg(postgres):  # noqa: ANN001, ANN201 - a psycopg connection
    """The same tables on the real PostgreSQL server, in their own schema."""
    from psycopg import sql

    con = postgres.connect()
    with con.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS dw_corpus CASCADE")
        cur.execute("CREATE SCHEMA dw_corpus")
        cur.execute("SET search_path TO dw_corpus")
        for name, (columns, rows) in TABLES.items():
            cur.execute(
                sql.SQL("CREATE TABLE {} ({})").format(
                    sql.Identifier(name),
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(pg_type))
                        for c, _, pg_type in columns
                    ),
                )
            )
            cur.executemany(
                sql.SQL("INSERT INTO {} VALUES ({})").format(
                    sql.Identifier(name), sql.SQL(", ").join(sql.Placeholder() * len(columns))
                ),
                rows,
            )
    yield con
    con.close()


def _mysql_type(arrow_type: str) -> str:
    """The column types the MySQL loader creates (``loaders.mysql``)."""
    if arrow_type.startswith("decimal"):
        return arrow_type.upper()
    return {
        "int64": "BIGINT",
        "string": "LONGTEXT",
        "date32": "DATE",
        "timestamp": "DATETIME(6)",
    }[arrow_type]


@pytest.fixture(scope="module")
def my(mariadb):  # noqa: ANN001, ANN201 - a PyMySQL connection
    """The same tables on the real MariaDB server, in their own database; the session in
    UTC, as the MySQL loader's."""
    con = mariadb.connect()
    with con.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
        cur.execute("DROP DATABASE IF EXISTS dw_corpus")
        cur.execute("CREATE DATABASE dw_corpus")
        cur.execute("USE dw_corpus")
        for name, (columns, rows) in TABLES.items():
            cur.execute(
                f"CREATE TABLE `{name}` ("
                + ", ".join(f"`{c}` {_mysql_type(t)}" for c, t, _ in columns)
                + ")"
            )
            cur.executemany(
                f"INSERT INTO `{name}` VALUES ({', '.join(['%s'] * len(columns))})", rows
            )
    yield con
    con.close()


def _snowflake_type(arrow_type: str) -> str:
    """The column types the Snowflake loader creates (``loaders.snowflake``)."""
    if arrow_type.startswith("decimal"):
        return "NUMBER" + arrow_type[7:]
    return {
        "int64": "NUMBER(38, 0)",
        "string": "VARCHAR",
        "date32": "DATE",
        "timestamp": "TIMESTAMP_NTZ",
    }[arrow_type]


@pytest.fixture(scope="module")
def sf(fakesnow):  # noqa: ANN001, ANN201 - a snowflake.connector connection
    """The same tables on fakesnow, quoted as the Snowflake loader creates them."""
    from loaders.snowflake import _bindings

    con = fakesnow.connect("DW_CORPUS", "PUBLIC", paramstyle="qmark")
    cur = con.cursor()
    for name, (columns, rows) in TABLES.items():
        cur.execute(
            f'CREATE OR REPLACE TABLE "PUBLIC"."{name}" ('
            + ", ".join(f'"{c}" {_snowflake_type(t)}' for c, t, _ in columns)
            + ")"
        )
        marks = "(" + ", ".join(["?"] * len(columns)) + ")"
        cur.execute(
            f'INSERT INTO "PUBLIC"."{name}" VALUES ' + ", ".join([marks] * len(rows)),
            _bindings([v for row in rows for v in row]),
        )
    yield con
    con.close()


def _normal(value: Any) -> Any:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, date) and not isinstance(value, datetime):
        # A day: MySQL's date arithmetic keeps a DATE where DuckDB gives a midnight TIMESTAMP.
        return datetime(value.year, value.month, value.day)
    return value


def _rows(rows: list[tuple], ordered: bool) -> list[tuple]:
    normal = [tuple(_normal(v) for v in row) for row in rows]
    if ordered:
        return normal
    return sorted(normal, key=lambda r: [(v is None, type(v).__name__, str(v)) for v in r])


def run_on_duckdb(case: Case, staged: dict[str, Any], tmp_path: Path) -> tuple[list[str], list]:
    """The case as a pipeline's SQL step: the framework's own code path, on DuckDB."""
    import pyarrow.parquet as pq

    step = Transform(sql=case.sql, dialect=case.dialect)
    needed = referenced_tables(parse(case.sql, case.dialect))
    inputs = {n: staged[n] for n in needed if n in staged}
    ctx = RunContext("test", "corpus", tmp_path, str(tmp_path), interval=INTERVAL)
    out = str(tmp_path / "out.parquet")
    run_sql(case.id, step, inputs, out, ctx)
    table = pq.read_table(out)
    return table.column_names, [tuple(r.values()) for r in table.to_pylist()]


def run_on_postgres(case: Case, con: Any) -> tuple[list[str], list]:
    from transforms.pushdown import postgres_rows

    compiled = compile_sql(case.sql, case.dialect, "postgres", "numeric")
    return postgres_rows(con, compiled, compiled.values(INTERVAL))


def run_on_mysql(case: Case, con: Any) -> tuple[list[str], list]:
    """As ``loaders.mysql`` runs a pushed-down step: ``:name`` placeholders bound by PyMySQL,
    timestamps in UTC."""
    from loaders.mysql import named_pyformat

    compiled = compile_sql(case.sql, case.dialect, "mysql")
    values = compiled.values(INTERVAL)
    assert values is None or isinstance(values, dict)
    with con.cursor() as cur:
        if values:
            cur.execute(named_pyformat(compiled.sql), {k: _normal(v) for k, v in values.items()})
        else:
            cur.execute(compiled.sql)
        return [d[0] for d in cur.description], list(cur.fetchall())


def run_on_snowflake(case: Case, con: Any) -> tuple[list[str], list]:
    """As ``loaders.snowflake`` runs a pushed-down step: its names quoted as written,
    ``:name`` placeholders bound as ``?``, over tables of the loader's types."""
    from loaders.snowflake import _bindings, as_written, qmark

    compiled = compile_sql(case.sql, case.dialect, "snowflake")
    values = compiled.values(INTERVAL) or {}
    assert isinstance(values, dict)
    sql, names = qmark(as_written(compiled.sql), set(values))
    cur = con.cursor()
    cur.execute(sql, _bindings([values[n] for n in names]) if names else None)
    return [d[0] for d in cur.description], [tuple(r) for r in cur.fetchall()]


def duckdb_side(
    case: Case, staged: dict[str, Any], tmp_path: Path
) -> tuple[list[str], list] | None:
    """The case's columns and rows on DuckDB, or ``None`` where DuckDB refuses it as expected."""
    assert case.dialect != "duckdb"
    if not case.duckdb:
        return run_on_duckdb(case, staged, tmp_path)
    with pytest.raises(StageError) as failed:
        run_on_duckdb(case, staged, tmp_path)
    assert case.duckdb in str(failed.value) and f"transform {case.id!r}" in str(failed.value)
    assert not (tmp_path / "out.parquet").exists()
    return None


def assert_refused(case: Case, engine: str, expected: str, style: ParamStyle) -> None:
    """Compiling the case for ``engine`` fails before anything runs, naming the construct
    and its line."""
    with pytest.raises(SqlStepError) as caught:
        compile_sql(case.sql, case.dialect, engine, style)
    assert expected in str(caught.value)
    assert caught.value.line is not None, str(caught.value)


def assert_same_rows(
    case: Case, duck: tuple[list[str], list] | None, other: tuple[list[str], list]
) -> None:
    if duck is None:
        # DuckDB refuses it (no faithful DuckDB form); the engine's own SQL has nothing to
        # be compared with, but must run.
        assert other[1], "the corpus query returned no rows"
        return
    (duck_columns, duck_rows), (other_columns, other_rows) = duck, other
    assert [c.lower() for c in duck_columns] == [c.lower() for c in other_columns]
    assert duck_rows, "the corpus query returned no rows on DuckDB"
    assert _rows(duck_rows, case.ordered) == _rows(other_rows, case.ordered)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_rows_on_duckdb_and_postgres(case: Case, staged_inputs, pg, tmp_path: Path) -> None:
    duck = duckdb_side(case, staged_inputs, tmp_path)
    if case.postgres:
        assert_refused(case, "postgres", case.postgres, "numeric")
        return
    assert_same_rows(case, duck, run_on_postgres(case, pg))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_rows_on_duckdb_and_mysql(case: Case, staged_inputs, my, tmp_path: Path) -> None:
    duck = duckdb_side(case, staged_inputs, tmp_path)
    if case.mysql:
        assert_refused(case, "mysql", case.mysql, "named")
        return
    assert_same_rows(case, duck, run_on_mysql(case, my))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_rows_on_duckdb_and_snowflake(case: Case, staged_inputs, sf, tmp_path: Path) -> None:
    duck = duckdb_side(case, staged_inputs, tmp_path)
    if case.snowflake:
        assert_refused(case, "snowflake", case.snowflake, "named")
        return
    if case.fakesnow:
        with pytest.raises(Exception, match=re.escape(case.fakesnow)):
            run_on_snowflake(case, sf)
        return
    assert_same_rows(case, duck, run_on_snowflake(case, sf))


def test_corpus_covers_every_construct() -> None:
    assert len(CASES) >= 40
    dialects = {c.dialect for c in CASES}
    assert {"snowflake", "bigquery", "tsql", "mysql", "spark", "redshift"} <= dialects
    text = " ".join(c.sql.lower() for c in CASES)
    for construct in (
        "full outer join",
        "right outer join",
        "cross join",
        "left join",
        "over (",
        "qualify",
        "grouping sets",
        "rollup",
        "cube",
        "with ",
        "case ",
        "cast(",
        "dateadd",
        "date_trunc",
    ):
        assert construct in text, construct
