"""What the SQL warehouse loaders (DuckDB, PostgreSQL) share: one load is one transaction.

A load stages the batch in a temporary table, checks it (keys, interval, schema
contract), applies the write disposition, and writes the interval ledger, the watermarks
and the load log, then commits: all of it or none of it. Every statement is a sqlglot
expression rendered for the loader's dialect; values are bound parameters.

Write dispositions:

- ``append``: insert the batch. A rerun of an interval already in the ledger first deletes
  the rows of the load recorded for it (by ``_dagwright_load_id``), so it never duplicates.
- ``replace``: the table's rows are swapped for the batch's in the transaction.
- ``merge``: upsert on ``primary_key``. Duplicate keys in one batch: the last row in the
  batch wins. Rows flagged by ``hard_delete_column`` delete their key.
- ``delete_insert``: delete the rows whose ``merge_key`` appears in the batch, or whose
  ``interval_column`` falls in the data interval, then insert the batch.
- ``scd2``: keep history on ``primary_key`` with ``valid_from``, ``valid_to`` and
  ``is_current``; a changed row closes the current version at the interval's start (the load
  time without an interval) and opens a new one; ``hard_delete_column`` and
  ``retire_absent`` close versions. Intervals must be loaded in time order; a rerun of the
  newest interval is undone first, so it gives the same history.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import sqlglot.expressions as exp

from dagwright.errors import DagwrightError, DataError
from dagwright.sql.render import ident, render, table
from dagwright.state import StateUpdate, crash_point
from loaders.base import ConfigT, Loader, LoadResult
from loaders.session import Session
from loaders.sql_state import SQLState
from loaders.typemap import SchemaDiff, diff

if TYPE_CHECKING:
    import pyarrow as pa

    from dagwright.spec.sections import Load
    from dagwright.staging import StagedTable

T = TypeVar("T")
LOAD_ID = "_dagwright_load_id"
LOADED_AT = "_dagwright_loaded_at"
VALID_FROM, VALID_TO, IS_CURRENT = "valid_from", "valid_to", "is_current"
ROW = "__dagwright_row"
STAGE = "__dagwright_stage"
LINEAGE = (LOAD_ID, LOADED_AT)
SCD2 = (VALID_FROM, VALID_TO, IS_CURRENT)

CREATE_SCHEMA = "CREATE SCHEMA IF NOT EXISTS :schema"
DROP_STAGE = "DROP TABLE IF EXISTS :stage"
COUNT = "SELECT COUNT(*) FROM :stage"
SELECT_ALL = "SELECT * FROM :target"


class Var(str):
    """A parameter named by the load (``load_id``, ``stamp``...), bound when it runs."""


LOAD_ID_P, LOADED_AT_P, START_P, END_P, STAMP_P = (
    Var(v) for v in ("load_id", "loaded_at", "start", "end", "stamp")
)


def update(target: exp.Expression, values: dict[str, exp.Expression], where: exp.Expression):  # noqa: ANN201
    sets = [exp.EQ(this=_col(k), expression=v) for k, v in values.items()]
    return exp.Update(this=target, expressions=sets, where=exp.Where(this=where))


def _id(name: str) -> exp.Identifier:
    return ident(name)


def _col(name: str, alias: str | None = None) -> exp.Column:
    return exp.Column(this=_id(name), table=_id(alias) if alias else None)


def _key(names: list[str], alias: str | None = None) -> exp.Expression:
    cols = [_col(n, alias) for n in names]
    return cols[0] if len(cols) == 1 else exp.Tuple(expressions=cols)


def _param() -> exp.Placeholder:
    return exp.Placeholder()


def _in_stage(keys: list[str], stage: exp.Table, where: exp.Expression | None = None):  # noqa: ANN202
    query = exp.select(*[_col(k) for k in keys]).from_(stage.copy())
    if where is not None:
        query = query.where(where)
    return exp.In(this=_key(keys), query=exp.Subquery(this=query))


def _same_keys(keys: list[str], left: str, right: str) -> exp.Expression:
    return exp.and_(*[exp.EQ(this=_col(k, left), expression=_col(k, right)) for k in keys])


def _not_flagged(column: str | None, alias: str | None = None) -> exp.Expression | None:
    if not column:
        return None
    return exp.Not(this=exp.Coalesce(this=_col(column, alias), expressions=[exp.false()]))


def insert(target: exp.Table, cols: list[str], query: exp.Select) -> exp.Insert:
    return exp.Insert(
        this=exp.Schema(this=target.copy(), expressions=[_id(c) for c in cols]),
        expression=query,
    )


def create_table(target: exp.Table, cols: dict[str, exp.DataType], temp: bool = False):  # noqa: ANN201
    defs = [exp.ColumnDef(this=_id(n), kind=t.copy()) for n, t in cols.items()]
    props = exp.Properties(expressions=[exp.TemporaryProperty()]) if temp else None
    return exp.Create(
        this=exp.Schema(this=target.copy(), expressions=defs),
        kind="TABLE",
        exists=not temp,
        properties=props,
    )


def alter_add(target: exp.Table, name: str, dtype: exp.DataType) -> exp.Alter:
    return exp.Alter(
        this=target.copy(),
        kind="TABLE",
        actions=[exp.ColumnDef(this=_id(name), kind=dtype.copy())],
    )


def alter_type(target: exp.Table, name: str, dtype: exp.DataType) -> exp.Alter:
    return exp.Alter(
        this=target.copy(),
        kind="TABLE",
        actions=[exp.AlterColumn(this=_id(name), dtype=dtype.copy())],
    )


def index_name(table_name: str, columns: list[str]) -> str:
    """``ix_<table>_<columns>_<hash>``, at most the 63 characters PostgreSQL and MySQL
    allow; the hash of the table and its columns keeps names apart in PostgreSQL's one
    namespace per schema (``orders_v`` on ``x`` and ``orders`` on ``v, x``)."""
    digest = hashlib.sha256("\x00".join([table_name, *columns]).encode()).hexdigest()[:8]
    name = "ix_" + "_".join([table_name.split(".")[-1], *columns])
    return f"{name[:54]}_{digest}"


def lock_key(*parts: str) -> int:
    """A signed 64-bit advisory lock key for (pipeline, table)."""
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class SQLLoader(Loader[ConfigT]):
    """A warehouse reached through SQL; subclasses open sessions and stage batches."""

    dialect: ClassVar[str]
    retries: ClassVar[int] = 3
    state_class: ClassVar[type[SQLState]] = SQLState
    transactional_ddl: ClassVar[bool] = True
    """Whether DDL takes part in a transaction (DuckDB, PostgreSQL). Where it commits the
    open transaction instead (MySQL, Snowflake), a load stages the batch, checks it and
    creates or evolves the table first, under the table's lock (``hold_table``), and only
    then opens the transaction in which the data, the ledger and the watermarks change
    together: a failed load can leave a new empty table or a new column, never rows or
    state of its own."""

    def __init__(self, config: ConfigT, project_root: Path) -> None:
        super().__init__(config, project_root)
        self.state = self.state_class(self)

    # -- what a subclass provides ---------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        raise NotImplementedError
        yield  # pragma: no cover

    def stage(self, s: Session, stage: exp.Table, uri: str, cols: dict[str, exp.DataType]) -> None:
        """Fill the temporary table ``stage`` (columns ``cols`` + ``ROW``) from a Parquet file."""
        raise NotImplementedError

    def table_columns(self, s: Session, target: exp.Table) -> dict[str, exp.DataType] | None:
        """The table's columns and types, ``None`` when it does not exist."""
        raise NotImplementedError

    def lock(self, s: Session, pipeline: str, table_name: str) -> None:
        """Serialise loads of one table (inside the load's transaction)."""

    def hold_table(
        self, s: Session, pipeline: str, table_name: str
    ) -> AbstractContextManager[None]:
        """Serialise loads of one table for the whole load, DDL included, where DDL is not
        transactional (the session's lock); the transaction's ``lock`` does it otherwise."""
        return nullcontext()

    def index_stage(self, s: Session, stage: exp.Table, keys: list[str]) -> None:
        """Index the staged batch on the columns the disposition matches the table by,
        where the engine needs it to (MySQL runs ``IN`` subqueries row by row)."""

    temporary_stage: ClassVar[bool] = True
    """Whether the staged batch is a temporary table, gone with the session; where it is
    not (Snowflake: ``COPY INTO`` fills no temporary table), each load names its own
    (``stage_table``) and drops it when done."""

    def stage_table(self, suffix: str = "") -> exp.Table:
        """The table a load stages its batch in."""
        return table(STAGE + suffix)

    def drop_stage(self, s: Session, stage: exp.Table) -> None:
        s.execute(render(DROP_STAGE, self.dialect, stage=stage))

    def clear(self, target: exp.Table) -> exp.Expression:
        """The statement emptying ``target`` inside the load's transaction (replace)."""
        return exp.TruncateTable(expressions=[target.copy()])

    def column_type(self, arrow_type: pa.DataType, column: str) -> exp.DataType:
        """The SQL type a batch column of ``arrow_type`` gets (``loaders.typemap``)."""
        from loaders.typemap import sql_type

        return sql_type(arrow_type, self.dialect, column)

    primary_keys: ClassVar[bool] = False
    """Whether a new merge or scd2 table gets a PRIMARY KEY constraint (PostgreSQL, MySQL)."""
    table_indexes: ClassVar[bool] = False
    """Whether ``indexes:`` of a load are created with its table (PostgreSQL, MySQL)."""
    clustering: ClassVar[bool] = False
    """Whether ``cluster_by:`` of a load sets its table's clustering key (Snowflake)."""

    def declared_type(self, text: str) -> exp.DataType:
        """The type a load's ``columns:`` declares (written as DuckDB writes types)."""
        from loaders.typemap import build

        return build(text, "duckdb")

    def key_type(self, dtype: exp.DataType) -> exp.DataType:
        """The type of a key or indexed column, where the batch's type cannot be one."""
        return dtype

    def table_properties(self, load: Load) -> list[exp.Expression]:
        """Properties of a new table's ``CREATE TABLE``: ``table_options`` and the load's
        own (Snowflake: ``CLUSTER BY``)."""
        return self.table_options()

    def table_options(self) -> list[exp.Expression]:
        """Properties of every table the loader creates (MySQL: a binary collation)."""
        return []

    def system_type(self, kind: str) -> exp.DataType:
        """The type of a column dagwright adds: ``text``, ``timestamptz`` or ``boolean``."""
        from loaders.typemap import build

        if kind == "text":
            return build("TEXT" if self.dialect == "postgres" else "VARCHAR", self.dialect)
        return build(kind.upper(), self.dialect)

    def create_schema(self, s: Session, schema: exp.Identifier) -> None:
        s.execute(render(CREATE_SCHEMA, self.dialect, schema=schema))

    def is_conflict(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a transaction conflict worth retrying."""
        return False

    def wrap_error(self, exc: Exception) -> Exception:
        return exc

    def target(self, name: str) -> exp.Table:
        return table(name, None if "." in name else getattr(self.config, "schema_", None))

    # -- the contract ------------------------------------------------------------------

    def dedupe(self, s: Session, stage: exp.Table, keys: list[str]) -> None:
        """Keep one staged row per key, the last one in the batch."""
        for statement in self.dedupe_statements(stage, keys):
            s.run(statement)

    def dedupe_statements(self, stage: exp.Table, keys: list[str]) -> list[exp.Expression | str]:
        return [self._dedupe(stage, keys)]

    def staging_statements(
        self, stage: exp.Table, cols: dict[str, exp.DataType]
    ) -> list[exp.Expression | str]:
        """What ``stage`` runs, as ``plan`` shows it: a temporary table of the batch."""
        from loaders.typemap import build

        return [create_table(stage, {**cols, ROW: build("BIGINT", self.dialect)}, True)]

    def take_over(
        self,
        s: Session,
        load: Load,
        target: exp.Table,
        uri: str,
        batch: dict[str, exp.DataType],
        state: StateUpdate,
        now: datetime,
    ) -> list[tuple[exp.Expression, list[str]]] | None:
        """Statements making a table the run already holds in the warehouse the target,
        instead of copying its rows, when the result is the same; ``None`` to copy."""
        return None

    def batch_columns(self, uri: str) -> dict[str, exp.DataType]:
        from dagwright.staging import arrow_schema

        return {f.name: self.column_type(f.type, f.name) for f in arrow_schema(uri)}

    def plan_load(self, table_name: str, load: Load) -> list[str]:
        from loaders.typemap import build

        s = Session()
        s.dialect = self.dialect
        cols = {"<batch columns>": build("TEXT", self.dialect)}
        target, stage = self.target(table_name), table(STAGE)
        statements = [_text(s, x) for x in self.staging_statements(stage, cols)]
        statements += [s.sql(x) for x in self._checks(load, stage, has_interval=True)]
        if load.write in ("merge", "scd2"):
            statements += [_text(s, x) for x in self.dedupe_statements(stage, load.primary_key)]
        statements.append(s.sql(create_table(target, self._table_types(load, cols))))
        apply = self._apply(load, target, stage, list(cols), list(cols), True, ["<previous load>"])
        statements += [s.sql(x) for x, _ in apply]
        return statements

    def load(
        self, table_name: str, load: Load, data: StagedTable, state: StateUpdate
    ) -> LoadResult:
        return self._retrying(self._load_once, table_name, load, data, state)

    def _retrying(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``, again after a transaction conflict; driver errors made readable."""
        for attempt in range(self.retries):
            try:
                return fn(*args)
            except DagwrightError:
                raise
            except Exception as exc:
                if self.is_conflict(exc) and attempt + 1 < self.retries:
                    continue
                wrapped = self.wrap_error(exc)
                if wrapped is exc:
                    raise
                raise wrapped from None
        raise AssertionError("unreachable")

    def _load_once(
        self, table_name: str, load: Load, data: StagedTable, state: StateUpdate
    ) -> LoadResult:
        target, stage = self.target(table_name), self.stage_table()
        batch = self._declared(table_name, load, self.batch_columns(data.uri))
        self._check_reserved(table_name, load, batch)
        now = datetime.now(UTC)
        notes: list[str] = []
        ddl_in_transaction = self.transactional_ddl
        with self.session() as s, self.hold_table(s, state.pipeline, table_name):
            if ddl_in_transaction:
                s.execute("BEGIN")
            try:
                if ddl_in_transaction:
                    self.lock(s, state.pipeline, table_name)
                conflict = self.state.conflict(s, state)
                if conflict is not None:
                    s.execute("ROLLBACK")
                    return self._skipped(s, table_name, conflict)
                crash_point("stage:start")
                self.drop_stage(s, stage)
                keys = _stage_keys(load)
                staged = {n: self.key_type(t) if n in keys else t for n, t in batch.items()}
                self.stage(s, stage, data.uri, staged)
                self.index_stage(s, stage, [k for k in keys if k in batch])
                crash_point("stage:done")
                interval = state.interval_start is not None
                for check in self._checks(load, stage, interval):
                    self._raise_check(s, load, table_name, check, state)
                if load.write in ("merge", "scd2"):
                    self.dedupe(s, stage, load.primary_key)
                rows = int(s.scalar(render(COUNT, self.dialect, stage=stage)))
                crash_point("apply:start")
                if target.args.get("db"):
                    self.create_schema(s, target.args["db"])
                stamp = None
                statements = (
                    None
                    if load.columns
                    else self.take_over(s, load, target, data.uri, batch, state, now)
                )
                cols = list(batch)
                if statements is None:
                    cols = self._contract(s, table_name, load, target, batch, notes)
                crash_point("apply:ddl")
                if not ddl_in_transaction:  # the checks above ran outside it: again, locked
                    s.execute("BEGIN")
                    self.lock(s, state.pipeline, table_name)
                    conflict = self.state.conflict(s, state)
                    if conflict is not None:
                        s.execute("ROLLBACK")
                        return self._skipped(s, table_name, conflict)
                if statements is None:
                    previous = self.state.previous(s, state, interval)
                    stamp = self._scd2_time(s, load, table_name, state, now, bool(previous))
                    statements = self._apply(
                        load, target, stage, cols, list(batch), interval, previous
                    )
                for statement, params in statements:
                    s.run(statement, self._params(params, state, now, stamp))
                crash_point("apply:data")
                self.state.commit(s, state, load.write, rows, now, notes)
                crash_point("apply:state")
                s.execute("COMMIT")
            except BaseException:
                with suppress(Exception):
                    s.execute("ROLLBACK")
                raise
            finally:
                if not self.temporary_stage:
                    with suppress(Exception):  # what a killed load leaves is dropped by hand
                        self.drop_stage(s, stage)
            crash_point("commit:done")
            return LoadResult(table=table_name, rows=rows, sql=s.executed, notes=notes)

    @staticmethod
    def _skipped(s: Session, table_name: str, conflict: str) -> LoadResult:
        return LoadResult(
            table=table_name, rows=0, sql=s.executed, skipped=f"{conflict}; nothing loaded"
        )

    def _sql(self, template: str) -> str:
        return _static(template, self.dialect)

    @staticmethod
    def _params(
        params: list[Any], state: StateUpdate, now: datetime, stamp: datetime | None
    ) -> list[Any] | None:
        values = {
            "load_id": state.run_id,
            "loaded_at": now,
            "start": state.interval_start,
            "end": state.interval_end,
            "stamp": stamp,
        }
        return [values[p] if isinstance(p, Var) else p for p in params] or None

    def _declared(
        self, table_name: str, load: Load, batch: dict[str, exp.DataType]
    ) -> dict[str, exp.DataType]:
        """The batch's types, with the ones the load's ``columns:`` declares instead."""
        unknown = [c for c in load.columns if c not in batch]
        if unknown:
            from dagwright.errors import did_you_mean

            raise DataError(
                f"table {table_name!r}: columns: declares {unknown[0]!r}, which is not in the "
                f"batch{did_you_mean(unknown[0], batch)}; the batch has {', '.join(batch)}"
            )
        return {n: self.declared_type(load.columns[n]) if n in load.columns else t
                for n, t in batch.items()}  # fmt: skip

    def _check_reserved(self, table_name: str, load: Load, batch: dict[str, Any]) -> None:
        reserved = {ROW, *LINEAGE, *(SCD2 if load.write == "scd2" else ())}
        clash = sorted(reserved & set(batch))
        if clash:
            raise DataError(
                f"table {table_name!r}: the batch has column(s) {', '.join(clash)}, which "
                "dagwright adds itself; hint: rename them in a transform"
            )
        for role, names in (
            ("primary_key", load.primary_key),
            ("merge_key", load.merge_key),
            ("interval_column", [load.interval_column] if load.interval_column else []),
            ("hard_delete_column", [load.hard_delete_column] if load.hard_delete_column else []),
        ):
            unknown = [n for n in names if n not in batch]
            if unknown and (role != "interval_column" or load.write == "delete_insert"):
                from dagwright.errors import did_you_mean

                raise DataError(
                    f"table {table_name!r}: {role} column {unknown[0]!r} is not in the batch"
                    f"{did_you_mean(unknown[0], batch)}; the batch has {', '.join(batch)}"
                )

    # -- checks on the staged batch --------------------------------------------------------

    def _checks(self, load: Load, stage: exp.Table, has_interval: bool) -> list[exp.Select]:
        """Queries counting the batch's rows a disposition cannot load; each must give 0."""
        checks = []
        keys = load.primary_key if load.write in ("merge", "scd2") else load.merge_key
        if load.write in ("merge", "scd2") or (load.write == "delete_insert" and keys):
            nulls = exp.or_(*[exp.Is(this=_col(k), expression=exp.null()) for k in keys])
            checks.append(exp.select(exp.Count(this=exp.Star())).from_(stage.copy()).where(nulls))
        if load.write == "delete_insert" and not keys and has_interval:
            column = _col(load.interval_column)
            outside = exp.or_(
                exp.Is(this=column.copy(), expression=exp.null()),
                exp.LT(this=column.copy(), expression=_param()),
                exp.GTE(this=column.copy(), expression=_param()),
            )
            checks.append(exp.select(exp.Count(this=exp.Star())).from_(stage.copy()).where(outside))
        return checks

    def _raise_check(
        self, s: Session, load: Load, table_name: str, check: exp.Select, state: StateUpdate
    ) -> None:
        interval_check = load.write == "delete_insert" and not load.merge_key
        params = [state.interval_start, state.interval_end] if interval_check else None
        bad = int(s.scalar(s.sql(check, bool(params)), params))
        if not bad:
            return
        if interval_check:
            raise DataError(
                f"table {table_name!r}: {bad} row(s) of the batch have {load.interval_column} "
                f"null or outside the data interval [{state.interval_start}, "
                f"{state.interval_end}); delete_insert would not replace them on a rerun. "
                "hint: filter the batch to the interval, or use merge_key"
            )
        keys = load.primary_key if load.write in ("merge", "scd2") else load.merge_key
        raise DataError(
            f"table {table_name!r}: {bad} row(s) of the batch have a null in the key "
            f"({', '.join(keys)}); {load.write} needs every key set. hint: filter or fill them"
        )

    def _dedupe(self, stage: exp.Table, keys: list[str]) -> exp.Delete:
        """Keep one row per key: the last one in the batch."""
        last = (
            exp.select(exp.Max(this=_col(ROW)))
            .from_(stage.copy())
            .group_by(*[_col(k) for k in keys])
        )
        keep = exp.In(this=_col(ROW), query=exp.Subquery(this=last))
        return exp.delete(stage.copy(), where=exp.Not(this=keep))

    # -- schema contract ---------------------------------------------------------------

    def _system_types(self, load: Load) -> dict[str, exp.DataType]:
        types: dict[str, exp.DataType] = {}
        if load.lineage:
            types |= {LOAD_ID: self.system_type("text"), LOADED_AT: self.system_type("timestamptz")}
        if load.write == "scd2":
            types |= {
                VALID_FROM: self.system_type("timestamptz"),
                VALID_TO: self.system_type("timestamptz"),
                IS_CURRENT: self.system_type("boolean"),
            }
        return types

    def _table_types(self, load: Load, batch: dict[str, exp.DataType]) -> dict[str, exp.DataType]:
        return {**batch, **self._system_types(load)}

    def _contract(
        self,
        s: Session,
        table_name: str,
        load: Load,
        target: exp.Table,
        batch: dict[str, exp.DataType],
        notes: list[str],
    ) -> list[str]:
        """Create or evolve the table per the contract; the batch columns to insert."""
        wanted = self._table_types(load, batch)
        have = self.table_columns(s, target)
        if have is None:
            self._create(s, target, table_name, load, wanted)
            return list(batch)
        system = set(self._system_types(load))
        changes = diff(have, wanted, ignore=set())
        changes.missing = [c for c in changes.missing if c not in (*LINEAGE, *SCD2)]
        if not changes:
            return list(batch)
        mode = load.schema_contract
        if mode == "freeze":
            raise DataError(self._contract_message(table_name, mode, changes))
        if changes.incompatible or (mode == "discard_columns" and changes.widen):
            keep = SchemaDiff(incompatible=changes.incompatible)
            if mode == "discard_columns":
                keep.widen = changes.widen
            raise DataError(self._contract_message(table_name, mode, keep))
        cols = list(batch)
        for name, dtype in changes.new.items():
            if mode == "evolve" or name in system:
                s.run(alter_add(target, name, dtype))
            else:
                cols.remove(name)
        for name, dtype in changes.widen.items():
            s.run(alter_type(target, name, dtype))
        dropped = [c for c in changes.new if c not in cols and c not in system]
        if dropped:
            notes.append(f"discarded column(s) not in table {table_name!r}: " + ", ".join(dropped))
        if changes.new and mode == "evolve":
            notes.append(f"added column(s) to {table_name!r}: " + ", ".join(changes.new))
        return cols

    def _create(
        self,
        s: Session,
        target: exp.Table,
        table_name: str,
        load: Load,
        types: dict[str, exp.DataType],
    ) -> None:
        """``CREATE TABLE`` with the load's primary key and properties, then its indexes."""
        keys: list[str] = []
        if self.primary_keys and load.write in ("merge", "scd2"):
            keys = load.primary_key + ([VALID_FROM] if load.write == "scd2" else [])
        indexes = load.index_columns() if self.table_indexes else []
        keyed = set(keys) | {c for cols in indexes for c in cols}
        types = {n: self.key_type(t) if n in keyed else t for n, t in types.items()}
        create = create_table(target, types)
        if keys:
            create.this.append("expressions", exp.PrimaryKey(expressions=[_id(k) for k in keys]))
        properties = self.table_properties(load)
        if properties:
            create.set("properties", exp.Properties(expressions=properties))
        s.run(create)
        for cols in indexes:
            name = index_name(table_name, cols)
            columns = [exp.column(_id(c)) for c in cols]
            index = exp.Index(
                this=_id(name), table=target.copy(), params=exp.IndexParameters(columns=columns)
            )
            s.run(exp.Create(kind="INDEX", this=index))

    def _contract_message(self, table_name: str, mode: str, changes: SchemaDiff) -> str:
        lines = "\n".join(changes.lines(self.dialect))
        hint = (
            "hint: set schema_contract: evolve on this load to accept the change, or fix the source"
            if mode == "freeze"
            else "hint: cast the column in a transform to the table's type, or migrate the table"
        )
        return (
            f"table {table_name!r}: schema contract {mode!r} refuses this batch, "
            f"which differs from the table:\n{lines}\n{hint}"
        )

    # -- write dispositions --------------------------------------------------------------

    def _scd2_time(
        self,
        s: Session,
        load: Load,
        table_name: str,
        state: StateUpdate,
        now: datetime,
        rerun: bool,
    ) -> datetime | None:
        if load.write != "scd2":
            return None
        if state.interval_start is None:
            return now
        latest = self.state.latest_interval(s, state.pipeline, table_name)
        if latest is not None and _utc(latest) > _utc(state.interval_start):
            raise DagwrightError(
                f"table {table_name!r} (scd2): interval {state.interval_start} is older than "
                f"the newest loaded interval {latest}; scd2 history is built in time order. "
                "hint: load intervals in order (drop the table and backfill to rebuild history)"
            )
        return state.interval_start

    def _apply(
        self,
        load: Load,
        target: exp.Table,
        stage: exp.Table,
        cols: list[str],
        batch_cols: list[str],
        has_interval: bool,
        previous: list[str],
    ) -> list[tuple[exp.Expression, list[str]]]:
        """The statements applying the staged batch, each with its parameter names."""
        write = load.write
        lineage = [LOAD_ID, LOADED_AT] if load.lineage else []
        select = exp.select(*[_col(c) for c in cols], *[_param() for _ in lineage])
        params = [LOAD_ID_P, LOADED_AT_P] if lineage else []
        out: list[tuple[exp.Expression, list[str]]] = []
        flagged = _not_flagged(load.hard_delete_column)
        if write == "append" and previous:
            if not load.lineage:
                raise DagwrightError(
                    "append without lineage cannot reload an interval without duplicating it; "
                    "hint: set lineage: true, or use write: delete_insert with interval_column"
                )
            ids = exp.In(this=_col(LOAD_ID), expressions=[_param() for _ in previous])
            out.append((exp.delete(target.copy(), where=ids), list(previous)))
        elif write == "replace":
            out.append((self.clear(target), []))
        elif write == "merge":
            out.append((exp.delete(target.copy(), where=_in_stage(load.primary_key, stage)), []))
        elif write == "delete_insert" and load.merge_key:
            out.append((exp.delete(target.copy(), where=_in_stage(load.merge_key, stage)), []))
        elif write == "delete_insert" and has_interval:
            column = _col(load.interval_column)
            inside = exp.and_(
                exp.GTE(this=column.copy(), expression=_param()),
                exp.LT(this=column.copy(), expression=_param()),
            )
            out.append((exp.delete(target.copy(), where=inside), [START_P, END_P]))
        elif write == "delete_insert":
            where = _in_stage([load.interval_column], stage)
            out.append((exp.delete(target.copy(), where=where), []))
        if write == "scd2":
            return out + self._scd2(load, target, stage, cols, batch_cols, lineage, previous)
        query = select.from_(stage.copy())
        if flagged is not None:
            query = query.where(flagged)
        out.append((insert(target, cols + lineage, query), params))
        return out

    def _scd2(
        self,
        load: Load,
        target: exp.Table,
        stage: exp.Table,
        cols: list[str],
        batch_cols: list[str],
        lineage: list[str],
        previous: list[str],
    ) -> list[tuple[exp.Expression, list[str]]]:
        keys = load.primary_key
        out: list[tuple[exp.Expression, list[str]]] = []

        def current() -> exp.Expression:
            return exp.EQ(this=_col(IS_CURRENT), expression=exp.true())

        def close() -> dict[str, exp.Expression]:
            return {IS_CURRENT: exp.false(), VALID_TO: _param()}

        if previous:
            undo_new = exp.EQ(this=_col(VALID_FROM), expression=_param())
            out.append((exp.delete(target.copy(), where=undo_new), [STAMP_P]))
            reopen = update(
                target.copy(),
                {VALID_TO: exp.null(), IS_CURRENT: exp.true()},
                exp.EQ(this=_col(VALID_TO), expression=_param()),
            )
            out.append((reopen, [STAMP_P]))
        tracked = [c for c in cols if c not in keys and c != load.hard_delete_column]
        changed = exp.or_(
            *[
                exp.Not(this=exp.NullSafeEQ(this=_col(c, "s"), expression=_col(c, "t")))
                for c in tracked
            ]
            or [exp.false()]
        )
        if load.hard_delete_column:
            changed = exp.or_(
                changed,
                exp.Coalesce(this=_col(load.hard_delete_column, "s"), expressions=[exp.false()]),
            )
        matches = (
            exp.select(exp.Literal.number(1))
            .from_(exp.alias_(stage.copy(), "s", table=True))
            .where(exp.and_(_same_keys(keys, "s", "t"), changed))
        )
        closing = update(
            exp.alias_(target.copy(), "t", table=True),
            close(),
            exp.and_(current(), exp.Exists(this=matches)),
        )
        out.append((closing, [STAMP_P]))
        if load.retire_absent:
            present = (
                exp.select(exp.Literal.number(1))
                .from_(exp.alias_(stage.copy(), "s", table=True))
                .where(_same_keys(keys, "s", "t"))
            )
            retire = update(
                exp.alias_(target.copy(), "t", table=True),
                close(),
                exp.and_(current(), exp.Not(this=exp.Exists(this=present))),
            )
            out.append((retire, [STAMP_P]))
        open_now = (
            exp.select(exp.Literal.number(1))
            .from_(exp.alias_(target.copy(), "t", table=True))
            .where(exp.and_(_same_keys(keys, "s", "t"), _col(IS_CURRENT, "t").eq(exp.true())))
        )
        where = exp.Not(this=exp.Exists(this=open_now))
        flagged = _not_flagged(load.hard_delete_column, "s")
        if flagged is not None:
            where = exp.and_(where, flagged)
        query = (
            exp.select(
                *[_col(c, "s") for c in cols],
                *[_param() for _ in lineage],
                _param(),
                exp.null(),
                exp.true(),
            )
            .from_(exp.alias_(stage.copy(), "s", table=True))
            .where(where)
        )
        params = ([LOAD_ID_P, LOADED_AT_P] if lineage else []) + [STAMP_P]
        out.append(
            (insert(target, cols + lineage + [VALID_FROM, VALID_TO, IS_CURRENT], query), params)
        )
        return out

    # -- side tables and state ---------------------------------------------------------

    def side_table(self, s: Session, table_name: str, path: str) -> None:
        """Create or widen a side table for a Parquet file's columns (the DDL of
        ``append_in``; run before the transaction where DDL is not transactional)."""
        target = self.target(table_name)
        batch = self.batch_columns(path)
        if target.args.get("db"):
            self.create_schema(s, target.args["db"])
        have = self.table_columns(s, target)
        if have is None:
            create = create_table(target, batch)
            if self.table_options():
                create.set("properties", exp.Properties(expressions=self.table_options()))
            s.execute(s.sql(create))
        else:
            for name, dtype in batch.items():
                if name not in have:
                    s.execute(s.sql(alter_add(target, name, dtype)))

    def stage_side(self, s: Session, path: str, part: int) -> exp.Table:
        """Stage a Parquet file's rows for ``append_in`` (before the transaction where
        DDL is not transactional). ``part`` numbers the stagings of one transaction."""
        stage = self.stage_table(f"_{part}")
        self.drop_stage(s, stage)
        try:
            self.stage(s, stage, path, self.batch_columns(path))
        except BaseException:
            if not self.temporary_stage:
                with suppress(Exception):
                    self.drop_stage(s, stage)
            raise
        return stage

    def append_in(self, s: Session, table_name: str, path: str, stage: exp.Table) -> None:
        """Append the rows ``stage_side`` staged to a side table inside ``s``'s
        transaction, creating or widening the table where DDL is transactional (check
        results, quarantine; not pipeline loads)."""
        target = self.target(table_name)
        batch = self.batch_columns(path)
        if self.transactional_ddl:
            self.side_table(s, table_name, path)
        query = exp.select(*[_col(c) for c in batch]).from_(stage.copy())
        s.execute(s.sql(insert(target, list(batch), query)))

    def read_table(self, table_name: str) -> pa.Table:
        with self.session() as s:
            return self.fetch_arrow(
                s, render(SELECT_ALL, self.dialect, target=self.target(table_name))
            )

    def fetch_arrow(self, s: Session, sql: str) -> pa.Table:
        raise NotImplementedError

    # -- read by sources (``dagwright.tables.TableReader``) ------------------------------

    system_columns: ClassVar[tuple[str, ...]] = LINEAGE
    readable: ClassVar[bool] = True
    """Whether warehouse sources can read its tables (``dagwright.tables.TableReader``)."""

    def columns_of(self, name: str) -> list[str] | None:
        if not self.has_state():
            return None
        with self.session() as s:
            found = self.table_columns(s, self.target(name))
        return None if found is None else list(found)

    def scan(self, query: exp.Select) -> pa.Table:
        """The rows of ``query``; an empty result keeps the table's column types."""
        with self.session() as s:
            rows = self.fetch_arrow(s, s.sql(query))
            if rows.num_rows or not any(str(f.type) == "null" for f in rows.schema):
                return rows
            source = query.args["from"].this
            types = self.table_columns(s, source) or {}
        return _empty_like(rows, types)

    def has_state(self) -> bool:
        return True


@lru_cache(maxsize=64)
def _static(template: str, dialect: str) -> str:
    """A template without identifiers to fill, rendered once per dialect (not per statement)."""
    return render(template, dialect)


def _stage_keys(load: Load) -> list[str]:
    """The columns a disposition matches the staged batch and the table by."""
    if load.write in ("merge", "scd2"):
        return list(load.primary_key)
    if load.write == "delete_insert":
        return list(load.merge_key) or ([load.interval_column] if load.interval_column else [])
    return []


def _text(s: Session, statement: exp.Expression | str) -> str:
    return statement if isinstance(statement, str) else s.sql(statement)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _empty_like(rows: pa.Table, types: dict[str, exp.DataType]) -> pa.Table:
    """``rows`` (empty, untyped) with the Arrow types of the table's SQL ``types``."""
    import duckdb

    columns = [
        exp.cast(exp.Null(), types[name].copy()).as_(ident(name))
        if name in types
        else exp.Null().as_(ident(name))
        for name in rows.schema.names
    ]
    query = exp.select(*columns).limit(0).sql(dialect="duckdb")
    return duckdb.connect().sql(query).to_arrow_table()
