"""SQL steps: written once in any dialect sqlglot reads, run on DuckDB or the warehouse."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot
import sqlglot.expressions as exp
from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError


class SqlStepError(Exception):
    """A SQL step that cannot be read or translated; ``line`` is 1-based within the SQL."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class SqlSource:
    text: str
    file: Path | None
    """The .sql file, when the step's SQL lives in one."""


def read_sql(sql: str | None, sql_file: str | None, project_root: Path) -> SqlSource:
    if sql is not None:
        return SqlSource(sql, None)
    assert sql_file is not None
    path = Path(sql_file)
    path = path if path.is_absolute() else project_root / path
    try:
        return SqlSource(path.read_text(encoding="utf-8"), path)
    except OSError as exc:
        raise SqlStepError(f"cannot read SQL file {sql_file!r}: {exc.strerror}") from None


def parse(sql: str, dialect: str) -> exp.Expression:
    """Parse one statement, raising ``SqlStepError`` with the line of a syntax error."""
    try:
        statements = [s for s in sqlglot.parse(sql, dialect=dialect) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        detail = first.get("description") or str(exc).splitlines()[0]
        detail = re.sub(r"<Token token_type: \S+, text: (.*?), line: .*?>", r"'\1'", detail)
        raise SqlStepError(f"SQL syntax error ({dialect}): {detail}", first.get("line")) from None
    except sqlglot.errors.TokenError as exc:
        raise SqlStepError(f"SQL syntax error ({dialect}): {exc}") from None
    if len(statements) != 1:
        raise SqlStepError(f"a SQL step holds exactly one query, found {len(statements)}")
    return statements[0]


def referenced_tables(tree: exp.Expression) -> list[str]:
    """Names of the tables a query reads, excluding its own CTEs."""
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    names: list[str] = []
    for table in tree.find_all(exp.Table):
        if table.name and table.name not in ctes and not table.db and table.name not in names:
            names.append(table.name)
    return names


def translate(tree: exp.Expression, target: str) -> str:
    """Generate ``tree`` for the ``target`` dialect; constructs it cannot express raise."""
    try:
        return tree.sql(dialect=target, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise SqlStepError(f"cannot translate to {target}: {exc}") from None


def run_sql(name: str, step: Any, inputs: dict[str, Any], out: str, ctx: Any) -> str:
    """Run a SQL step on an in-memory DuckDB over the staged inputs; return the SQL as run."""
    import duckdb

    from dagwright.errors import StageError
    from dagwright.staging import local_path, open_output

    source = read_sql(step.sql, step.sql_file, ctx.project_root)
    try:
        query = translate(parse(source.text, step.dialect), "duckdb")
    except SqlStepError as exc:
        raise StageError(f"transform_{name}", str(exc)) from None
    con = duckdb.connect()
    try:
        for input_name, staged in inputs.items():
            con.read_parquet(local_path(staged.uri)).create_view(input_name)
        params = interval_params(query, ctx)
        try:
            con.sql(query, params=params).write_parquet(open_output(out))
        except duckdb.Error as exc:
            raise StageError(f"transform_{name}", f"DuckDB: {exc}") from None
    finally:
        con.close()
    return query


def interval_params(query: str, ctx: Any) -> dict[str, Any] | None:
    """Bind ``$interval_start``/``$interval_end`` when the query uses them."""
    names = [n for n in ("interval_start", "interval_end") if f"${n}" in query]
    if not names:
        return None
    interval = ctx.interval
    if interval is None:
        raise SqlStepError(
            "the SQL uses the data interval but this run has none (pass --start/--end)"
        )
    return {n: getattr(interval, n.removeprefix("interval_")) for n in names}
