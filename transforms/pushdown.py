"""Pushed-down SQL steps: the query runs in the destination, over tables already loaded there.

The step is compiled for the destination's dialect (``Loader.dialect``); its table names
are load names, qualified the way the destination qualifies them. The query is checked
on the engine before it runs (DuckDB binds it; PostgreSQL PREPAREs it), and its rows are
staged as Parquet like any transform's output, so loads downstream work unchanged.

A loader runs pushed-down steps by providing ``run_pushdown(compiled, values, path)``,
raising ``dagwright.errors.QueryRefused`` with the engine's message when it refuses one
(and optionally ``pushdown_table(name)`` to qualify a table). DuckDB's is built in here.
For PostgreSQL, ``check_postgres`` and ``postgres_rows`` do the work over a psycopg
connection, so the PostgreSQL loader's ``run_pushdown`` can be a few lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import sqlglot.expressions as exp

from dagwright.errors import ConfigError, QueryRefused, StageError
from dagwright.timeouts import StatementCancelled, cancellable, timed_out
from transforms.sql import (
    CompiledSql,
    ParamStyle,
    SqlSource,
    SqlStepError,
    compile_sql,
    engine_error,
    read_sql,
    step_error,
)

if TYPE_CHECKING:
    from pathlib import Path

    from dagwright.context import RunContext
    from dagwright.spec.pipeline import PipelineSpec
    from dagwright.spec.sections import Transform


class Loader(Protocol):
    """The destination a pushed-down step runs in (a loader: ``loaders.base.Loader``)."""

    dialect: str


STYLES: dict[str, ParamStyle] = {"duckdb": "named", "postgres": "numeric"}


def qualify(sql: str, engine: str, tables: dict[str, exp.Table]) -> str:
    """Point the query's table names at the destination's tables."""
    import sqlglot

    from dagwright.sql.dialects import dialect_for

    dialect = dialect_for(engine)
    tree = sqlglot.parse_one(sql, dialect=dialect)
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for node in list(tree.find_all(exp.Table)):
        key = f"{node.db}.{node.name}" if node.db else node.name
        if node.name in ctes and not node.db or key not in tables:
            continue
        target = tables[key].copy()
        alias = node.args.get("alias") or (
            exp.TableAlias(this=exp.to_identifier(node.name)) if not node.db else None
        )
        if alias is not None:
            target.set("alias", alias)
        node.replace(target)
    return tree.sql(dialect=dialect)


def _table(loader: Loader, name: str) -> exp.Table:
    from dagwright.sql.render import table

    for method in ("pushdown_table", "target", "_target"):
        qualify_name = getattr(loader, method, None)
        if qualify_name is not None:
            return qualify_name(name)
    return table(name)


def compile_pushdown(
    name: str,
    step: Transform,
    loader: Loader,
    project_root: Path,
    tables: dict[str, str],
    allowed: tuple[str, ...] = (),
) -> tuple[CompiledSql, SqlSource | None]:
    engine = loader.dialect
    source: SqlSource | None = None
    source = read_sql(step.sql, step.sql_file, project_root)
    compiled = compile_sql(source.text, step.dialect, engine, STYLES.get(engine, "named"), allowed)
    sql = qualify(compiled.sql, engine, {name: _table(loader, t) for name, t in tables.items()})
    return CompiledSql(sql, engine, compiled.params, compiled.style, compiled.constants), source


def run_pushdown(
    name: str,
    step: Transform,
    tables: dict[str, str],
    out: str,
    ctx: RunContext,
    loader: Loader,
    spec: PipelineSpec | None = None,
) -> str:
    """Run the step in the destination and stage its rows at ``out``; return the SQL run."""
    from dagwright.staging import open_output

    source: SqlSource | None = None
    try:
        source = read_sql(step.sql, step.sql_file, ctx.project_root)
        compiled, source = compile_pushdown(
            name, step, loader, ctx.project_root, tables, tuple(ctx.params)
        )
        values = compiled.values(ctx.interval, ctx.params)
    except SqlStepError as exc:
        raise StageError(f"transform_{name}", step_error(name, step, exc, spec, source)) from None
    runner = getattr(loader, "run_pushdown", None)
    if runner is None and loader.dialect == "duckdb":
        runner = _duckdb_runner(loader)
    if runner is None and loader.dialect == "postgres" and hasattr(loader, "connect"):
        runner = _postgres_runner(loader)
    if runner is None:
        raise ConfigError(
            f"transform {name!r} has pushdown: true, but the {loader.dialect} destination "
            "cannot run pushed-down SQL steps; remove pushdown to run it on DuckDB"
        )
    try:
        runner(compiled, values, open_output(out))
    except (SqlStepError, QueryRefused) as exc:
        if (late := timed_out()) is not None:
            raise late from None
        located = engine_error(str(exc), compiled, step, source)
        raise StageError(
            f"transform_{name}", step_error(name, step, located, spec, source)
        ) from None
    return compiled.sql


def _duckdb_runner(loader: Any) -> Any:
    def run(compiled: CompiledSql, values: Any, path: str) -> None:
        import duckdb

        with loader.connect() as con, cancellable(con.interrupt):
            try:
                relation = con.sql(compiled.sql, params=values)
            except duckdb.Error as exc:
                raise SqlStepError(str(exc)) from None
            try:
                relation.write_parquet(path)
            except duckdb.InterruptException as exc:
                raise _cancelled("duckdb", exc) from None

    return run


def _postgres_runner(loader: Any) -> Any:
    def run(compiled: CompiledSql, values: Any, path: str) -> None:
        con = loader.connect()
        try:
            write_postgres_rows(con, compiled, values, path)
        finally:
            con.close()

    return run


def write_postgres_rows(
    connection: Any, compiled: CompiledSql, values: Any, path: str, batch_rows: int = 50_000
) -> int:
    """Check, then run, a query on PostgreSQL, streaming its rows into a Parquet file."""
    import psycopg
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows_written = 0
    with psycopg.RawCursor(connection) as cur, cancellable(connection.cancel_safe):
        _check_and_execute(cur, compiled, values)
        names = [d.name for d in cur.description or []]
        writer: pq.ParquetWriter | None = None
        try:
            while True:
                rows = cur.fetchmany(batch_rows)
                if not rows and writer is not None:
                    break
                columns = {n: [r[i] for r in rows] for i, n in enumerate(names)}
                batch = (
                    pa.table(columns)
                    if rows
                    else pa.table({n: pa.array([], pa.null()) for n in names})
                )
                if writer is None:
                    writer = pq.ParquetWriter(path, batch.schema)
                writer.write_table(batch.cast(writer.schema))
                rows_written += len(rows)
                if not rows:
                    break
        finally:
            if writer is not None:
                writer.close()
    return rows_written


def check_postgres(cursor: Any, compiled: CompiledSql) -> None:
    """PREPARE the query on the server (parse, bind, plan; no rows read), then drop it.

    ``cursor`` is a psycopg cursor outside a failed transaction; a rejection raises
    ``SqlStepError`` with the server's message, before any data moves.
    """
    import psycopg

    try:
        cursor.execute("PREPARE __dagwright_check AS " + compiled.sql)
    except psycopg.Error as exc:
        raise SqlStepError(str(exc).splitlines()[0]) from None
    cursor.execute("DEALLOCATE __dagwright_check")


def postgres_rows(connection: Any, compiled: CompiledSql, values: Any) -> tuple[list[str], list]:
    """Check, then run, a query compiled for PostgreSQL (``$n`` placeholders, bound server-side)."""
    import psycopg

    with psycopg.RawCursor(connection) as cur, cancellable(connection.cancel_safe):
        _check_and_execute(cur, compiled, values)
        columns = [d.name for d in cur.description or []]
        return columns, cur.fetchall()


def _check_and_execute(cursor: Any, compiled: CompiledSql, values: Any) -> None:
    """PREPARE-check the query, then run it; the server's rejection is a ``SqlStepError``."""
    import psycopg

    check_postgres(cursor, compiled)
    try:
        cursor.execute(compiled.sql, values or None)
    except psycopg.errors.QueryCanceled as exc:
        raise _cancelled("postgres", exc) from None
    except psycopg.Error as exc:
        raise SqlStepError(str(exc).splitlines()[0]) from None


def _cancelled(engine: str, exc: Exception) -> Exception:
    """A cancelled statement: the stage's timeout (``dagwright.timeouts``), or another
    cancel (a server's ``statement_timeout``, an operator), never a rejected query."""
    late = timed_out()
    if late is not None:
        return late
    first = (str(exc).splitlines() or [""])[0]
    return StatementCancelled(f"{engine} cancelled the statement: {first}")
