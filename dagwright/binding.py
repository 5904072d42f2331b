"""Deep validation: a spec bound against its sources' real columns before any data moves.

Each source gives its columns and types without its data (``Extractor.preview``: a CSV
sniff of a sample, a Parquet footer, declared columns), as an empty table on an
in-memory DuckDB. The plan's steps then run in their real engines over those empty
tables: a SQL step is bound (and run, on no rows) by DuckDB, a Polars function is called
on empty LazyFrames, ``ops`` are applied; so a column the source does not have, a
function of the wrong dialect, a type name that does not exist or a Polars function
that cannot be imported is found by ``dagwright validate``, at its file, line and column.
Loads' keys and interval columns and the checks' columns are then looked up in the
columns each stage computes. A source that cannot be reached is a warning naming what
was not checked (``validate --strict`` makes it an error).

The Airflow parse never does this: it stays static and cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from dagwright.errors import ConfigError, DagwrightError, Problem, did_you_mean

if TYPE_CHECKING:
    import duckdb

    from dagwright.pipelines import PipelineGraph
    from dagwright.plan import Plan
    from dagwright.spec.pipeline import PipelineSpec
    from dagwright.spec.sections import Transform
    from dagwright.spec.yaml_source import Loc

Columns = list[tuple[str, str]]


@dataclass
class Binding:
    """What binding a spec found: problems, warnings, and each stage's output columns."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    columns: dict[str, Columns] = field(default_factory=dict)
    """By source or transform name: the columns and DuckDB types it produces."""


def bind(spec: PipelineSpec, graph: PipelineGraph | None = None) -> Binding:
    """Bind every stage of ``spec`` against its sources' columns (see the module doc).

    A source reading a table that another spec of the project loads (``graph``, by
    default the project's) takes that spec's output columns: the reading pipeline is
    checked against what the loading one will write, before either has run.
    """
    import duckdb

    from dagwright.pipelines import graph_of, project_graph
    from dagwright.plan import build_plan

    if graph is None:
        graph = project_graph(spec.project_root) if (spec.project_root / "dags").is_dir() else None
        graph = graph or graph_of([spec])
    plan = build_plan(spec)
    found = Binding()
    con = duckdb.connect()
    try:
        _Binder(plan, con, found, graph).run()
    finally:
        con.close()
    return found


def _produced(graph: PipelineGraph, spec: PipelineSpec, table: str) -> tuple[str, Columns] | None:
    """The loading spec's name and the columns its load of ``table`` writes, if known."""
    found = graph.producer(spec, table)
    if found is None:
        return None
    producer, load = found
    key = (producer.name, load)
    if key not in graph.columns:
        graph.columns[key] = None  # a circle of pipelines binds each once
        bound = bind(producer, graph)
        graph.columns[key] = bound.columns.get(producer.model.loads[load].from_)
    columns = graph.columns[key]
    return None if columns is None else (producer.name, columns)


class _Binder:
    def __init__(
        self, plan: Plan, con: duckdb.DuckDBPyConnection, found: Binding, graph: PipelineGraph
    ) -> None:
        self.plan = plan
        self.graph = graph
        self.spec = plan.spec
        self.con = con
        self.found = found
        self.unknown: dict[str, str] = {}
        """Names whose columns are not known, with why (for what depends on them)."""

    def run(self) -> None:
        for name in self.spec.model.sources:
            self._source(name)
        for stage in self.plan.ordered():
            if stage.kind == "transform":
                self._transform(stage.name)
        for table in self.spec.model.loads:
            self._load(table)
        self._checks()

    # -- sources -------------------------------------------------------------------------

    def _source(self, name: str) -> None:
        from dagwright.context import RunContext
        from dagwright.executor import make_extractor

        ctx = RunContext("validate", self.plan.pipeline, self.spec.project_root, "")
        config = self.spec.model.sources[name]
        table = config.reads_table()
        if table is not None and self._from_producer(name, table):
            return
        try:
            relation = make_extractor(self.plan, name, ctx).preview(self.con)
            if relation is not None:
                relation.limit(0).create(name)
        except ConfigError as exc:
            self._unknown(name, f"cannot be reached ({_first(exc)})")
            return
        except DagwrightError as exc:
            self._fail(_source_loc(config, str(exc), name), _first(exc))
            self.unknown[name] = "its preview failed"
            return
        except Exception as exc:  # noqa: BLE001 - an engine's refusal of the source itself
            self._fail(("sources", name), f"source {name!r}: {_first(exc)}")
            self.unknown[name] = "its preview failed"
            return
        if relation is None:
            self.unknown[name] = "its columns are known only once it is read"
            return
        self.found.columns[name] = self._columns_of(name)

    def _from_producer(self, name: str, table: str) -> bool:
        """Bind a source reading ``table`` to the columns the spec loading it writes."""
        import sqlglot.expressions as exp

        produced = _produced(self.graph, self.spec, table)
        if produced is None:
            return False
        producer, columns = produced
        config = self.spec.model.sources[name]
        have = [c for c, _ in columns]
        wanted = list(config.columns or have)
        for i, column in enumerate(config.columns or []):
            if column not in have:
                self._fail(
                    ("sources", name, "columns", i),
                    f"source {name!r}: pipeline {producer!r} loads {table} without a column "
                    f"{column!r}{did_you_mean(column, have)}; its columns: {', '.join(have)}",
                )
                wanted.remove(column)
        inc = config.incremental
        lineage = ("_dagwright_load_id", "_dagwright_loaded_at")
        if inc is not None and inc.cursor not in have and inc.cursor not in lineage:
            self._fail(
                ("sources", name, "incremental", "cursor"),
                f"source {name!r}: the cursor {inc.cursor!r} is not a column pipeline "
                f"{producer!r} loads into {table}{did_you_mean(inc.cursor, have)}",
            )
        types = dict(columns)
        defined = [
            exp.ColumnDef(this=exp.to_identifier(c), kind=exp.DataType.build(types[c], "duckdb"))
            for c in wanted
        ]
        create = exp.Create(
            this=exp.Schema(this=exp.to_table(name), expressions=defined), kind="TABLE"
        )
        self.con.execute(create.sql(dialect="duckdb"))
        self.found.columns[name] = self._columns_of(name)
        return True

    def _unknown(self, name: str, why: str) -> None:
        self.unknown[name] = why
        self.found.warnings.append(
            self.spec.problem(
                ("sources", name),
                f"source {name!r} {why}: its columns, and the steps, keys and checks that "
                "use them, were not checked",
            )
        )

    # -- transforms ----------------------------------------------------------------------

    def _transform(self, name: str) -> None:
        step = self.spec.model.transforms[name]
        from dagwright.spec.inputs import transform_inputs

        inputs = [ref for ref, _ in transform_inputs(self.spec).get(name, [])]
        if step.pushdown:
            self.unknown[name] = "it runs in the destination"
            return
        blocked = [i for i in inputs if i in self.unknown]
        if blocked:
            self.unknown[name] = f"its input {blocked[0]!r} is not known"
            return
        try:
            if step.kind == "sql":
                self._sql(name, step)
            else:
                self._frames(name, step, inputs)
        except _Refused:
            self.unknown[name] = "it does not bind"
            return
        self.found.columns[name] = self._columns_of(name)

    def _sql(self, name: str, step: Transform) -> None:
        import duckdb

        from dagwright.spec.params import declared
        from transforms.sql import SqlStepError, compile_step, engine_error, sql_location

        try:
            compiled, source = compile_step(
                step, self.spec.project_root, allowed=tuple(self.spec.model.params)
            )
        except SqlStepError:
            raise _Refused from None  # static validation reports it
        first = self.spec.model.start_date
        start = first if isinstance(first, datetime) else datetime.combine(first, time())
        params = {n.lower(): p.default for n, p in declared(self.spec.model.params).items()}
        from dagwright.intervals import Interval

        values = compiled.values(Interval(start, start + timedelta(days=1)), params)
        try:
            self.con.sql(compiled.sql, params=values).limit(0).create(name)
        except duckdb.Error as exc:
            located = engine_error(str(exc), compiled, step, source)
            where = sql_location(self.spec, name, step, source, located.line, located.column)
            assert where is not None
            self.found.problems.append(
                Problem(where[0], where[1], where[2], f"transform {name!r}: {located}")
            )
            raise _Refused from None

    def _frames(self, name: str, step: Transform, inputs: list[str]) -> None:
        import polars as pl

        from dagwright.errors import StageError

        frames = {i: pl.from_arrow(self.con.table(i).to_arrow_table()).lazy() for i in inputs}
        try:
            if step.kind == "polars":
                from transforms.polars_step import call, lazy, resolve

                assert step.polars is not None
                func = resolve(name, step.polars, self.spec.project_root)
                result = lazy(name, step.polars, call(name, step.polars, func, frames))
            else:
                from transforms.ops import build

                result = build(step, frames, name)
            empty = result.collect()
        except Exception as exc:  # noqa: BLE001 - polars raises many kinds for a bad frame
            detail = (
                str(exc).split(": ", 1)[1]
                if isinstance(exc, StageError)
                else (f"{type(exc).__name__}: {exc}")
            )
            at: Loc = ("transforms", name, step.kind)
            self._fail(_ops_loc(at, detail), f"transform {name!r}: {_polars_message(detail)}")
            raise _Refused from None
        self.con.from_arrow(empty.to_arrow()).create(name)

    # -- loads and checks ----------------------------------------------------------------

    def _load(self, table: str) -> None:
        load = self.spec.model.loads[table]
        have = self.found.columns.get(load.from_)
        if have is None:
            return
        names = [c for c, _ in have]
        keyed: list[tuple[str, Loc, str]] = []
        for key in ("primary_key", "merge_key", "partition_by"):
            for i, column in enumerate(getattr(load, key, []) or []):
                keyed.append((column, ("loads", table, key, i), key))
        for key in ("interval_column", "hard_delete_column"):
            column = getattr(load, key, None)
            if column:
                keyed.append((column, ("loads", table, key), key))
        for column, loc, key in keyed:
            if column not in names:
                self._fail(
                    loc,
                    f"load {table!r}: {key} column {column!r} is not a column of "
                    f"{load.from_!r}{did_you_mean(column, names)} (it has {', '.join(names)})",
                )

    def _checks(self) -> None:
        from expectations.suites import resolve, stage_refs

        model = self.spec.model
        for kind, name, loc, refs in stage_refs(self.spec):
            of = model.loads[name].from_ if kind == "load" else name
            have = self.found.columns.get(of)
            if have is None:
                continue
            names = [c for c, _ in have]
            for item in resolve(self.spec, kind, name, loc, refs).items:
                for column in _item_columns(item.kwargs):
                    if column not in names:
                        self.found.problems.append(
                            item.problem(
                                f"{item.type}: column {column!r} is not a column of {of!r}"
                                f"{did_you_mean(column, names)} (it has {', '.join(names)})"
                            )
                        )

    # -- helpers -------------------------------------------------------------------------

    def _columns_of(self, name: str) -> Columns:
        relation = self.con.table(name)
        return [(c, str(t)) for c, t in zip(relation.columns, relation.types, strict=True)]

    def _fail(self, loc: Loc, message: str) -> None:
        self.found.problems.append(self.spec.problem(loc, message))


class _Refused(Exception):
    """A step that does not bind (already reported): what reads it is not checked."""


def _first(exc: BaseException) -> str:
    return " ".join(str(exc).split("\n\n")[0].split())


def _polars_message(detail: str) -> str:
    """Polars' first line (and its "did you mean"), without the plan it prints after it."""
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    hint = next((line for line in lines[1:] if line.startswith("Did you mean")), None)
    return lines[0] + (f" ({hint.rstrip('?').lower()}?)" if hint else "")


def _source_loc(config: Any, message: str, name: str) -> Loc:
    """The field of a source a preview's error is about: its path, its column types."""
    if "no file matches" in message and hasattr(config, "path"):
        return ("sources", name, "path")
    if "incremental cursor" in message:
        return ("sources", name, "incremental", "cursor")
    hints = getattr(config, "columns", None)
    if isinstance(hints, dict):
        for column in hints:
            if repr(column) in message or f'"{column}"' in message:
                return ("sources", name, "columns", column)
        if "type" in message.lower():
            return ("sources", name, "columns")
    return ("sources", name)


def _ops_loc(loc: Loc, detail: str) -> Loc:
    import re

    match = re.match(r"ops\[(\d+)\] \((\w+)\)", detail)
    if match and loc[-1] == "ops":
        return (*loc, int(match.group(1)), match.group(2))
    return loc


def _item_columns(kwargs: dict[str, Any]) -> list[str]:
    columns: list[str] = []
    for key in ("column", "column_A", "column_B"):
        if isinstance(kwargs.get(key), str):
            columns.append(kwargs[key])
    listed = kwargs.get("column_list")
    if isinstance(listed, list):
        columns += [c for c in listed if isinstance(c, str)]
    return columns
