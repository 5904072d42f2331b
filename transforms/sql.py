"""SQL steps: written once in any dialect sqlglot reads, run on DuckDB or the warehouse.

A step's SQL is compiled before any data moves: parsed in its dialect, its interval
parameters turned into the target's bound placeholders, generated for the engine with
unsupported constructs raising, and every function it calls checked against the engine's
catalog. Running it on DuckDB then binds the query over the staged inputs (which reads no
data) before writing anything, so a query the engine rejects fails before data moves too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import sqlglot
import sqlglot.expressions as exp
from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

from dagwright.sql.variables import is_marker

if TYPE_CHECKING:
    from dagwright.context import Interval, RunContext
    from dagwright.errors import Problem
    from dagwright.spec.pipeline import PipelineSpec
    from dagwright.spec.sections import Transform
    from dagwright.staging import StagedTable
    from dagwright.workspace import Workspace

PARAMETERS = ("interval_start", "interval_end")
"""Values a step may use; written ``$name`` (duckdb), ``:name`` (snowflake, spark...),
``@name`` (bigquery, tsql, mysql) or ``%(name)s`` (postgres), always bound, never inlined."""

ParamStyle = Literal["named", "numeric"]
"""``named``: ``$interval_start`` (DuckDB); ``numeric``: ``$1`` (PostgreSQL server-side)."""


class SqlStepError(Exception):
    """A SQL step that cannot be read or translated; ``line`` is 1-based within the SQL."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class SqlSource:
    text: str
    file: Path | None
    """The .sql file, when the step's SQL lives in one."""


@dataclass(frozen=True)
class CompiledSql:
    """A step's query for one engine, with the names of the values it binds."""

    sql: str
    engine: str
    params: tuple[str, ...] = ()
    style: ParamStyle = "named"
    constants: tuple[tuple[str, Any], ...] = ()
    """Values of the ``${VAR}``s the SQL names (``dagwright.sql.variables``), as bound."""

    def values(
        self, interval: Interval | None, params: dict[str, Any] | None = None
    ) -> dict[str, Any] | list[Any] | None:
        """The bound values: a dict for ``named``, a list in ``$n`` order for ``numeric``.

        ``params``: the run's declared parameters (``dagwright.spec.params``).
        """
        if not self.params:
            return None
        bounds: dict[str, Any] = {**(params or {}), **dict(self.constants)}
        if interval is not None:
            bounds |= {"interval_start": interval.start, "interval_end": interval.end}
        elif any(n in PARAMETERS for n in self.params):
            raise SqlStepError(
                "the SQL uses the data interval but this run has none (pass --start/--end)"
            )
        unset = [n for n in self.params if n not in bounds]
        if unset:
            raise SqlStepError(f"parameter {unset[0]!r} has no value in this run")
        if self.style == "numeric":
            return [bounds[n] for n in self.params]
        return {n: bounds[n] for n in self.params}


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
    return parsed(sql, dialect).copy()


def _known_dialect(name: str) -> bool:
    """``check_dialect``'s test for one name, loading that dialect only (not all ~35)."""
    from sqlglot.dialects.dialect import Dialect

    key = name.lower()
    return not key.startswith("dagwright") and Dialect.get(key) is not None


@lru_cache(maxsize=256)
def parsed(sql: str, dialect: str) -> exp.Expression:
    """``parse`` once per process, the tree shared by every caller: read it, never change it.

    Validation reads a step's tables, compiles it, and the run compiles it again.
    """
    from dagwright.sql.dialects import check_dialect

    problem = None if _known_dialect(dialect) else check_dialect(dialect)
    if problem:
        raise SqlStepError(problem)
    if "${" in sql:
        from dagwright.sql.variables import mark

        sql = mark(sql)
    try:
        statements = [s for s in sqlglot.parse(sql, dialect=dialect) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        detail = first.get("description") or str(exc).splitlines()[0]
        detail = re.sub(r"<Token token_type: \S+, text: (.*?), line: .*?>", r"'\1'", detail)
        raise SqlStepError(
            f"SQL syntax error ({dialect}): {detail}", first.get("line"), first.get("col")
        ) from None
    except sqlglot.errors.TokenError as exc:
        raise SqlStepError(f"SQL syntax error ({dialect}): {exc}") from None
    if len(statements) != 1:
        raise SqlStepError(f"a SQL step holds exactly one query, found {len(statements)}")
    if not isinstance(statements[0], exp.Query):
        kind = statements[0].key.upper()
        raise SqlStepError(f"a SQL step is one query (SELECT ...), found {kind}", 1, 1)
    return statements[0]


@lru_cache(maxsize=256)
def tables_of(sql: str, dialect: str, qualified: bool = False) -> tuple[str, ...]:
    """``referenced_tables`` of a step's SQL, once per process (validation, then the plan)."""
    return tuple(referenced_tables(parsed(sql, dialect), qualified))


def referenced_tables(tree: exp.Expression, qualified: bool = False) -> list[str]:
    """Names of the tables a query reads, excluding its own CTEs.

    ``qualified``: include ``schema.table`` names (destination tables of a pushed-down step).
    """
    nodes = list(tree.find_all(exp.CTE, exp.Table))  # one walk: sqlglot's walks are slow
    ctes = {node.alias_or_name for node in nodes if isinstance(node, exp.CTE)}
    names: list[str] = []
    for table in (node for node in nodes if isinstance(node, exp.Table)):
        if not table.name or (table.name in ctes and not table.db):
            continue
        if is_marker(table.name) or (table.db and is_marker(table.db)):
            continue  # a ``${VAR}`` name: known when the step compiles
        if table.db and not qualified:
            continue
        name = f"{table.db}.{table.name}" if table.db else table.name
        if name not in names:
            names.append(name)
    return names


def engine_of(spec: PipelineSpec, step: Transform) -> str:
    """The engine a SQL step runs on: DuckDB, or the destination's dialect when pushed down."""
    if not step.pushdown:
        return "duckdb"
    from dagwright import plugins

    return plugins.plugin(plugins.LOADERS, spec.model.destination.loader).dialect


def translation_problems(
    spec: PipelineSpec, name: str, step: Transform, source: SqlSource
) -> list[Problem]:
    """A step's translation problems for ``dagwright validate``, located in its file."""
    from dagwright.errors import Problem

    engine = engine_of(spec, step)
    if step.dialect == engine and not _may_hold_parameters(source.text, step.dialect):
        # Nothing to translate or bind: generating the engine's own SQL back cannot fail,
        # and compiling costs as much as parsing (hundreds of specs at Airflow's parse).
        return []
    try:
        compile_sql(source.text, step.dialect, engine, allowed=tuple(spec.model.params))
    except SqlStepError as exc:
        where = sql_location(spec, name, step, source, exc.line, exc.column)
        assert where is not None
        return [Problem(where[0], where[1], where[2], f"transform {name!r}: {exc}")]
    return []


def _position(node: exp.Expression) -> tuple[int | None, int | None]:
    """Line and column of ``node`` in the SQL text, or of the first descendant that has one."""
    for candidate in node.walk():
        meta = candidate.meta if isinstance(candidate, exp.Expression) else {}
        if meta.get("line"):
            col = meta.get("col")
            if col is not None and meta.get("start") is not None and meta.get("end") is not None:
                col -= meta["end"] - meta["start"]
            return meta["line"], col
    return None, None


def _parameter_name(node: exp.Expression) -> str | None:
    inner = node.this
    if isinstance(inner, exp.Expression):
        return inner.name if not isinstance(inner, exp.Literal) or inner.is_string else None
    return inner if isinstance(inner, str) else None


def _text_position(text: str, name: str) -> tuple[int | None, int | None]:
    match = re.search(rf"[:@$(?{{]{re.escape(name)}\b" if name != "?" else r"\?", text)
    if not match:
        return None, None
    before = text[: match.start()]
    return before.count("\n") + 1, match.start() - (before.rfind("\n") + 1) + 1


_PARAMETER_MARKS = re.compile(r"[?$:@%{]")


def _may_hold_parameters(text: str, dialect: str) -> bool:
    """False when no placeholder can be in ``text``: sqlglot's own dialects write them with
    one of ``? $ : @ % {``. Looking for them in the tree walks it (slow in sqlglot)."""
    from sqlglot.dialects.dialect import Dialect

    cls = Dialect.get(dialect.lower())
    builtin = cls is not None and cls.__module__.startswith("sqlglot.")
    return not builtin or _PARAMETER_MARKS.search(text) is not None


def bind_parameters(
    tree: exp.Expression, style: ParamStyle, text: str = "", allowed: tuple[str, ...] = ()
) -> tuple[exp.Expression, list[str]]:
    """Turn the dialect's placeholders for the interval bounds and the ``allowed`` run
    parameters (and ``${VAR}`` values) into the engine's."""
    from dagwright.sql.variables import PREFIX

    tree = tree.copy()
    order: list[str] = []
    known = PARAMETERS + tuple(a.lower() for a in allowed)
    for node in list(tree.find_all(exp.Placeholder, exp.Parameter)):
        name = _parameter_name(node)
        if name is None or (name.lower() not in known and not name.startswith(PREFIX)):
            shown = node.sql() if name is None else name
            line, col = _position(node)
            if line is None:
                line, col = _text_position(text, name or "?")
            raise SqlStepError(
                f"unknown parameter {shown!r}: a SQL step can bind "
                + ", ".join(known)
                + " (written $name, :name, @name or %(name)s; declare others in params:)",
                line,
                col,
            )
        name = name.lower()
        if name not in order:
            order.append(name)
        if style == "numeric":
            node.replace(exp.Parameter(this=exp.Literal.number(order.index(name) + 1)))
        else:
            node.replace(exp.Placeholder(this=name))
    return tree, order


def _locate_unsupported(tree: exp.Expression, engine: str) -> tuple[int | None, int | None]:
    """Where the smallest sub-expression that ``engine`` cannot express is."""
    from dagwright.sql.dialects import dialect_for

    dialect = dialect_for(engine)
    failing: exp.Expression | None = None
    for node in tree.walk():
        if not isinstance(node, exp.Expression) or node is tree:
            continue
        try:
            node.sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)
        except UnsupportedError:
            failing = node
        except Exception:  # noqa: BLE001 - a fragment that cannot stand alone tells nothing
            continue
    return _position(failing) if failing is not None else (None, None)


def _find_function(tree: exp.Expression, name: str, engine: str) -> exp.Func | None:
    """The source function that becomes a call to ``name`` in ``engine``'s SQL."""
    from dagwright.sql.dialects import dialect_for

    dialect = dialect_for(engine)
    for node in tree.find_all(exp.Func):
        source_name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
        if source_name.upper() == name or node.sql(dialect=dialect).upper().startswith(name + "("):
            return node
    return None


def _source_name(node: exp.Func | None, text: str, fallback: str) -> str:
    """The function's name as the author wrote it."""
    start, end = (
        (node.meta.get("start"), node.meta.get("end")) if node is not None else (None, None)
    )
    if start is not None and end is not None:
        return text[start : end + 1].upper()
    return fallback


def translate(tree: exp.Expression, target: str, copy: bool = True) -> str:
    """Generate ``tree`` for ``target``; constructs it cannot express raise, located.

    ``copy=False``: the generator may rewrite ``tree`` in place (for a tree nobody shares).
    """
    from dagwright.sql.dialects import dialect_for

    try:
        return tree.sql(dialect=dialect_for(target), unsupported_level=ErrorLevel.RAISE, copy=copy)
    except UnsupportedError as exc:
        line, col = _locate_unsupported(tree, target)
        detail = str(exc).strip().replace("\n", "; ")
        raise SqlStepError(f"cannot translate to {target}: {detail}", line, col) from None


def compile_sql(
    text: str,
    dialect: str,
    engine: str = "duckdb",
    style: ParamStyle = "named",
    allowed: tuple[str, ...] = (),
) -> CompiledSql:
    """Parse, bind parameters, translate, and check every function exists in ``engine``.

    ``allowed``: the run parameters the spec declares, besides the interval's. ``${VAR}``s
    in the text are bound or quoted with their values now (``dagwright.sql.variables``).
    """
    from dagwright.sql.variables import VariableError, position, resolved

    try:
        values = resolved(text) if "${" in text else ()
    except VariableError as exc:
        raise SqlStepError(str(exc), *position(text, exc.index)) from None
    return _compile_once(text, dialect, engine, style, allowed, values)


@lru_cache(maxsize=256)
def _compile_once(
    text: str,
    dialect: str,
    engine: str,
    style: ParamStyle,
    allowed: tuple[str, ...],
    variables: tuple[tuple[str, str], ...],
) -> CompiledSql:
    """Validation compiles every step and the run compiles it again: once per process."""
    from dagwright.sql.dialects import normalize, unknown_functions

    constants: dict[str, Any] = {}
    if variables:
        from dagwright.sql.variables import VariableError, mark, position, substitute

        source_tree, original = parsed(text, dialect).copy(), text
        try:
            source_tree, constants = substitute(source_tree, variables)
        except VariableError as exc:
            raise SqlStepError(str(exc), *position(original, exc.index)) from None
        text = mark(original)
    else:
        source_tree = parsed(text, dialect)
    if variables or _may_hold_parameters(text, dialect):
        tree, params = bind_parameters(source_tree, style, text, allowed)
    else:
        tree, params = source_tree.copy(), []
    tree = normalize(tree, dialect)
    try:
        sql = translate(tree, engine, copy=False)
    except SqlStepError:
        # Generating in place rewrote the tree: locate the problem in an untouched one.
        translate(normalize(bind_parameters(source_tree, style, text, allowed)[0], dialect), engine)
        raise
    missing = unknown_functions(sql, engine) if dialect != engine else []
    if missing:
        name = missing[0]
        node = _find_function(source_tree, name, engine)
        written = _source_name(node, text, name)
        line, col = _position(node) if node is not None else (None, None)
        becomes = "passes it through unchanged" if written == name else f"writes it as {name}"
        raise SqlStepError(
            f"function {written} ({dialect}) has no faithful {engine} translation: sqlglot "
            f"{becomes} and {engine} has no function {name.lower()}"
            + (f" (also: {', '.join(missing[1:])})" if len(missing) > 1 else ""),
            line,
            col,
        )
    return CompiledSql(
        sql=sql,
        engine=engine,
        params=tuple(params),
        style=style,
        constants=tuple((n, v) for n, v in constants.items() if n in params),
    )


def compile_step(
    step: Transform,
    project_root: Path,
    engine: str = "duckdb",
    style: ParamStyle = "named",
    allowed: tuple[str, ...] = (),
) -> tuple[CompiledSql, SqlSource]:
    source = read_sql(step.sql, step.sql_file, project_root)
    return compile_sql(source.text, step.dialect, engine, style, allowed), source


def sql_location(
    spec: PipelineSpec | None,
    name: str,
    step: Transform,
    source: SqlSource | None,
    line: int | None,
    column: int | None = None,
) -> tuple[str, int, int] | None:
    """``(file, line, column)`` of a position in a step's SQL: in its .sql file or the spec."""
    if source is not None and source.file is not None:
        return str(source.file), line or 1, column or 1
    if spec is None:
        return None
    key = "sql" if step.sql is not None else "sql_file"
    loc = ("transforms", name, key)
    vline, vcol = spec.doc.position(loc)
    if line is None:
        return spec.doc.path, vline, vcol
    try:
        lines = Path(spec.doc.path).read_text(encoding="utf-8").splitlines()
        head = lines[vline - 1][vcol - 1 :] if vline <= len(lines) else ""
    except OSError:
        head = ""
    if head[:1] in ("|", ">"):
        first = next((t for t in lines[vline:] if t.strip()), "")
        indent = len(first) - len(first.lstrip())
        if head[:1] == ">":
            # A folded block joins its lines: only the block's start can be named.
            return spec.doc.path, vline + 1, indent + 1
        return spec.doc.path, vline + line, indent + (column or 1)
    offset = 1 if head[:1] in ("'", '"') else 0
    return spec.doc.path, vline + line - 1, (vcol + offset + (column or 1) - 1 if line == 1 else 1)


def step_error(
    name: str,
    step: Transform,
    exc: SqlStepError,
    spec: PipelineSpec | None,
    source: SqlSource | None,
) -> str:
    """A message naming the step and where in its file the problem is."""
    where = sql_location(spec, name, step, source, exc.line, exc.column)
    prefix = f"{where[0]}:{where[1]}:{where[2]}: " if where else ""
    return f"{prefix}transform {name!r}: {exc}"


def run_sql(
    name: str,
    step: Transform,
    inputs: dict[str, StagedTable],
    out: str,
    ctx: RunContext,
    spec: PipelineSpec | None = None,
) -> str:
    """Run a SQL step on an in-memory DuckDB over the staged inputs; return the SQL as run.

    With a run workspace, the step runs on a cursor of the warehouse's DuckDB instead and
    its result becomes a workspace table (see ``dagwright.workspace``).
    """
    import duckdb

    from dagwright.errors import StageError
    from dagwright.staging import local_path, open_output
    from dagwright.timeouts import cancellable, timed_out

    source: SqlSource | None = None
    try:
        compiled, source = compile_step(step, ctx.project_root, allowed=tuple(ctx.params))
        params = compiled.values(ctx.interval, ctx.params)
    except SqlStepError as exc:
        raise StageError(f"transform_{name}", step_error(name, step, exc, spec, source)) from None
    workspace = ctx.workspace
    if workspace is not None:
        _run_in_workspace(name, step, inputs, out, workspace, compiled, params, spec, source)
        return compiled.sql
    con = duckdb.connect()
    try:
        for input_name, staged in inputs.items():
            con.read_parquet(local_path(staged.uri)).create_view(input_name)
        with cancellable(con.interrupt):
            try:
                relation = con.sql(compiled.sql, params=params)
            except duckdb.Error as exc:
                located = engine_error(str(exc), compiled, step, source)
                raise StageError(
                    f"transform_{name}", step_error(name, step, located, spec, source)
                ) from None
            if relation is None:
                raise StageError(f"transform_{name}", "the SQL returned no rows (not a query)")
            try:
                relation.write_parquet(open_output(out))
            except duckdb.Error as exc:
                raise timed_out() or StageError(f"transform_{name}", f"DuckDB: {exc}") from None
    finally:
        con.close()
    return compiled.sql


def _run_in_workspace(
    name: str,
    step: Transform,
    inputs: dict[str, StagedTable],
    out: str,
    workspace: Workspace,
    compiled: CompiledSql,
    params: Any,
    spec: PipelineSpec | None,
    source: SqlSource | None,
) -> None:
    """The step as one ``CREATE TABLE ... AS <query>`` on a cursor of the warehouse.

    A lazy CSV source is bound by ``expose`` (its relation, for the header check) and once
    more by this statement; building the step's relation first and storing it through a
    view bound (and sniffed) it a third time (DuckDB 2.0).
    """
    import duckdb

    from dagwright.errors import StageError
    from dagwright.timeouts import timed_out

    with workspace.cursor() as con:  # a cursor the stage's timeout interrupts
        for input_name, staged in inputs.items():
            workspace.expose(con, input_name, staged.uri)
        try:
            workspace.store_query(con, compiled.sql, params, out)
        except duckdb.Error as exc:
            if (late := timed_out()) is not None:
                raise late from None
            readable = workspace.explain(exc, [s.uri for s in inputs.values()])
            if readable is not None:
                raise StageError(f"transform_{name}", str(readable)) from None
            if isinstance(
                exc, duckdb.BinderException | duckdb.CatalogException | duckdb.ParserException
            ):
                located = engine_error(str(exc), compiled, step, source)
                raise StageError(
                    f"transform_{name}", step_error(name, step, located, spec, source)
                ) from None
            raise StageError(f"transform_{name}", f"DuckDB: {exc}") from None


def engine_error(
    message: str, compiled: CompiledSql, step: Transform, source: SqlSource | None
) -> SqlStepError:
    """An engine's rejection of a query, located in the step's SQL where it names a function.

    Called while handling the engine's error: when the stage's time is up, the error is
    the cancelled statement, and the stage's timeout is raised instead.
    """
    from dagwright.timeouts import timed_out

    if (late := timed_out()) is not None:
        raise late
    first = message.splitlines()[0]
    match = re.search(r"(?:[Ff]unction|function) (?:with name )?\"?([A-Za-z_][\w]*)", first)
    line = col = None
    if source is not None:
        try:
            tree = parse(source.text, step.dialect)
            if match:
                node = _find_function(tree, match.group(1).upper(), compiled.engine)
            else:
                node = _find_named(tree, first)
            line, col = _position(node) if node is not None else (None, None)
            typed = _TYPE_NAMED.search(first)
            if typed:
                line, col = _word_position(source.text, typed.group(1))
        except SqlStepError:
            pass
    return SqlStepError(f"{compiled.engine} rejects the translated SQL: {first}", line, col)


_NAMED = (
    (re.compile(r'column (?:named |name )?"([^"]+)"', re.IGNORECASE), exp.Column),
    (re.compile(r'Referenced column "([^"]+)"'), exp.Column),
)
_TYPE_NAMED = re.compile(r'Type with name "?([A-Za-z_][\w]*)')


def _word_position(text: str, word: str) -> tuple[int | None, int | None]:
    """Where ``word`` is first written in ``text`` (a type name: its tree has no position)."""
    match = re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE)
    if not match:
        return None, None
    before = text[: match.start()]
    return before.count("\n") + 1, match.start() - (before.rfind("\n") + 1) + 1


def _find_named(tree: exp.Expression, message: str) -> exp.Expression | None:
    """The column or type an engine's message names (``column named "x"``), in ``tree``."""
    for pattern, kind in _NAMED:
        found = pattern.search(message)
        if not found:
            continue
        wanted = found.group(1).lower()
        for node in tree.find_all(kind):
            if node.name.lower() == wanted:
                return node
    return None
