"""DuckDB, the embedded default warehouse: one file, nothing to start.

DuckDB lets one process write a database file at a time; that file lock is the
concurrency guard, and a second writer waits for it (``lock_timeout``) before failing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from dagwright.errors import ConfigError, DagwrightError, DataError
from dagwright.sql.render import ident
from loaders.base import DestinationConfig
from loaders.session import Session
from loaders.sql_state import create_state
from loaders.warehouse import LOAD_ID, LOADED_AT, ROW, SQLLoader

if TYPE_CHECKING:
    from datetime import datetime

    import duckdb
    import pyarrow as pa
    import sqlglot.expressions as exp

    from dagwright.intervals import Interval
    from dagwright.spec.sections import Load
    from dagwright.state import StateUpdate
    from dagwright.workspace import Workspace

DIALECT = "duckdb"
_HELD: dict[str, duckdb.DuckDBPyConnection] = {}
"""Database files this process holds open for a run (see ``run_lock``)."""

SOURCE = "__dagwright_source"
KEPT = "__dagwright_kept"
KEPT_WITH_TABLE = """SELECT
    (SELECT COUNT(*) FROM duckdb_constraints() WHERE database_name = current_database()
        AND ((schema_name = COALESCE(?, current_schema()) AND table_name = ?)
             OR referenced_table = ?))
  + (SELECT COUNT(*) FROM duckdb_tables() WHERE database_name = current_database()
        AND schema_name = COALESCE(?, current_schema()) AND table_name = ?
        AND (comment IS NOT NULL OR cardinality(tags) > 0 OR index_count > 0))
  + (SELECT COUNT(*) FROM duckdb_columns() WHERE database_name = current_database()
        AND schema_name = COALESCE(?, current_schema()) AND table_name = ?
        AND (comment IS NOT NULL OR column_default IS NOT NULL OR cardinality(tags) > 0
             OR is_generated))"""
"""What dropping a table would lose besides its rows: constraints (and foreign keys to
it), indexes, comments, tags, column defaults and generated columns."""
COLUMNS = """SELECT column_name, data_type FROM information_schema.columns
    WHERE table_catalog = current_database() AND table_schema = COALESCE(?, current_schema())
      AND table_name = ? ORDER BY ordinal_position"""


class DuckDBConfig(DestinationConfig):
    """An embedded DuckDB database file."""

    loader: Literal["duckdb"] = "duckdb"
    path: str = Field(
        default="warehouse.duckdb", description="Database file, relative to the project root."
    )
    schema_: str | None = Field(
        default=None, alias="schema", description="Schema for tables given without one."
    )
    lock_timeout: float = Field(
        default=60.0, description="Seconds to wait for another process's write lock."
    )


class DuckDBLoader(SQLLoader[DuckDBConfig]):
    """JSON columns (a source's ``json``/``jsonb``, the ``arrow.json`` extension) load as
    DuckDB ``JSON``: ``payload->>'$.sku'`` reads a field, in SQL steps and queries alike.
    """

    config_model = DuckDBConfig
    dialect = DIALECT
    one_writer = True

    @property
    def path(self) -> Path:
        path = Path(self.config.path)
        return path if path.is_absolute() else self.project_root / path

    def describe(self) -> str:
        return f"duckdb {self.config.path}"

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the file, waiting while another process holds its write lock."""
        import duckdb

        held = _HELD.get(str(self.path.absolute()))
        if held is not None:
            cursor = held.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
            return
        if read_only and not self.path.exists():
            raise ConfigError(f"warehouse {self.path} does not exist yet: run a pipeline first")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.config.lock_timeout
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise DagwrightError(
                        f"warehouse {self.path} is locked by another process "
                        f"(waited {self.config.lock_timeout:.0f}s): {exc}"
                    ) from None
                time.sleep(0.2)
        try:
            if not read_only:
                create_state(lambda sql: con.execute(sql).fetchall())
            yield con
        finally:
            con.close()

    @contextmanager
    def run_lock(self, pipeline: str, interval: Interval | None = None) -> Iterator[bool]:
        """Keep the file open for the whole run: DuckDB's own lock keeps other processes out.

        Connections this process opens meanwhile are cursors of the held one.
        """
        key = str(self.path.absolute())
        if key in _HELD:
            yield False  # another run of this process holds it: not exclusive
            return
        with self.connect() as con:
            _HELD[key] = con
            try:
                yield True
            finally:
                _HELD.pop(key, None)

    def batch_columns(self, uri: str) -> dict[str, exp.DataType]:
        """A workspace batch's types read from DuckDB itself (a run then never imports
        pyarrow); a Parquet batch's, or one of types Arrow maps otherwise, from Arrow.

        A workspace column DuckDB holds as ``JSON`` keeps that type even when the other
        columns go through Arrow (DuckDB exports JSON to Arrow as plain text)."""
        from dagwright.staging import engine_types
        from loaders.typemap import duckdb_sql_type

        held = engine_types(uri)
        if held is not None:
            types = {name: duckdb_sql_type(kind) for name, kind in held}
            if all(t is not None for t in types.values()):
                return types  # type: ignore[return-value]
            arrow = super().batch_columns(uri)
            return {name: types.get(name) or kind for name, kind in arrow.items()}
        return super().batch_columns(uri)

    def open_workspace(self) -> Workspace | None:
        """An in-memory catalog on the connection ``run_lock`` holds, for the run's stages.

        The homes a killed run left in the file go first (see ``take_over``).
        """
        held = _HELD.get(str(self.path.absolute()))
        if held is None:
            return None
        import duckdb

        from dagwright.workspace import Workspace

        try:
            workspace = Workspace(held)
        except duckdb.Error:
            return None  # the stages exchange Parquet files instead
        workspace.drop_stale_homes()
        return workspace

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
        """A replace load of a batch the run stored beside its table (a workspace home):
        the home is renamed into place, not copied row by row.

        Only when that gives the table a copy would: the home has the batch's columns, and
        an existing table has exactly the columns the copy would keep and nothing that
        dropping it loses (``KEPT_WITH_TABLE``). Lineage columns are added with the load's
        values as defaults, which are then dropped (DuckDB binds no parameter there).
        """
        import sqlglot.expressions as exp

        from dagwright import workspace

        held = workspace.entry(uri)
        if load.write != "replace" or held is None or not held.home or held.where is None:
            return None
        if not _same(columns_of(s, held.where), batch):
            return None
        have = columns_of(s, target)
        wanted = self._table_types(load, batch)
        if have is not None and (not _same(have, wanted) or _kept_with(s, target)):
            return None
        out: list[tuple[exp.Expression, list[str]]] = []
        if have is not None:
            out.append((exp.Drop(tables=[target.copy()], kind="TABLE"), []))
        renamed = exp.AlterRename(this=exp.Table(this=ident(target.name)))
        out.append((exp.Alter(this=held.where.copy(), kind="TABLE", actions=[renamed]), []))
        values = {LOAD_ID: state.run_id, LOADED_AT: now.isoformat()}
        for name, dtype in self._system_types(load).items():
            default = exp.cast(exp.Literal.string(values[name]), dtype.copy())
            column = exp.ColumnDef(
                this=ident(name),
                kind=dtype.copy(),
                constraints=[exp.ColumnConstraint(kind=exp.DefaultColumnConstraint(this=default))],
            )
            out.append((exp.Alter(this=target.copy(), kind="TABLE", actions=[column]), []))
            drop_default = exp.AlterColumn(this=ident(name), drop=True)
            out.append((exp.Alter(this=target.copy(), kind="TABLE", actions=[drop_default]), []))
        return out

    def _target(self, name: str) -> exp.Table:
        return self.target(name)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.connect() as con:
            yield DuckDBSession(con)

    def stage(self, s: Session, stage: exp.Table, uri: str, cols: dict[str, exp.DataType]) -> None:
        stage_view(s, stage, uri, cols)

    def staging_statements(
        self, stage: exp.Table, cols: dict[str, exp.DataType]
    ) -> list[exp.Expression | str]:
        import sqlglot.expressions as exp

        return [staged_batch(stage, exp.Table(this=ident(SOURCE)), "file_row_number", cols)]

    def dedupe_statements(self, stage: exp.Table, keys: list[str]) -> list[exp.Expression | str]:
        """The staged batch is a view: keep its last row per key in a temporary table.

        Only the kept rows are held in memory, and only for merge and scd2.
        """
        import sqlglot.expressions as exp

        from dagwright.sql.render import render, table

        last = exp.select(exp.Max(this=exp.column(ident(ROW)))).from_(stage.copy())
        last = last.group_by(*[exp.column(ident(k)) for k in keys])
        kept = (
            exp.select(exp.Star())
            .from_(stage.copy())
            .where(exp.In(this=exp.column(ident(ROW)), query=exp.Subquery(this=last)))
        )
        return [
            exp.Create(
                this=table(KEPT),
                kind="TABLE",
                expression=kept,
                properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
            ),
            render("DROP VIEW :stage", DIALECT, stage=stage),
            render("ALTER TABLE :kept RENAME TO :stage", DIALECT, kept=KEPT, stage=stage.name),
        ]

    def table_columns(self, s: Session, target: exp.Table) -> dict[str, exp.DataType] | None:
        return columns_of(s, target)

    def is_conflict(self, exc: BaseException) -> bool:
        import duckdb

        return isinstance(exc, duckdb.TransactionException) and "conflict" in str(exc).lower()

    def wrap_error(self, exc: Exception) -> Exception:
        import duckdb

        if isinstance(exc, duckdb.ConversionException | duckdb.ConstraintException):
            return DataError(f"the warehouse refused the batch: {exc}")
        if isinstance(exc, duckdb.Error):
            return DagwrightError(f"duckdb {self.path}: {exc}")
        return exc

    def has_state(self) -> bool:
        return self.path.exists() or str(self.path.absolute()) in _HELD

    def fetch_arrow(self, s: Session, sql: str) -> pa.Table:
        assert isinstance(s, DuckDBSession)
        return s.con.sql(sql).to_arrow_table()

    def read_table(self, table_name: str) -> pa.Table:
        if not self.has_state():
            raise ConfigError(f"warehouse {self.path} does not exist yet: run a pipeline first")
        return super().read_table(table_name)


class DuckDBSession(Session):
    dialect = DIALECT

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        super().__init__()
        self.con = con

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        cur = self.con.execute(sql, list(params) if params else [])
        return cur.fetchall() if cur.description else []


def stage_view(s: Session, stage: exp.Table, uri: str, cols: dict[str, exp.DataType]) -> None:
    """A temporary view of the batch's rows, cast to ``cols``, numbered in batch order.

    Nothing is copied: the view reads the run's workspace table (numbered by ``rowid``) or
    the staged Parquet file (``file_row_number``) as the load's statements run, so a load
    holds no second copy of the batch in memory.
    """
    import sqlglot.expressions as exp

    from dagwright import workspace
    from dagwright.staging import local_path

    assert isinstance(s, DuckDBSession)
    held = workspace.entry(uri)
    if held is not None and held.where is not None:
        source, order = held.where.copy(), "rowid"
    else:
        s.con.register(SOURCE, s.con.read_parquet(local_path(uri), file_row_number=True))
        source, order = exp.Table(this=ident(SOURCE)), "file_row_number"
    s.run(staged_batch(stage, source, order, cols))


def staged_batch(
    stage: exp.Table,
    source: exp.Expression,
    order: str,
    cols: dict[str, exp.DataType],
    kind: str = "VIEW",
) -> exp.Create:
    """``CREATE TEMPORARY <kind> stage AS SELECT CAST(col AS type)..., order AS row FROM src``."""
    import sqlglot.expressions as exp

    select = exp.select(
        *[
            exp.alias_(exp.Cast(this=exp.column(ident(n)), to=t.copy()), ident(n))
            for n, t in cols.items()
        ],
        exp.alias_(exp.column(order), ident(ROW)),
    ).from_(source)
    return exp.Create(
        this=stage.copy(),
        kind=kind,
        expression=select,
        properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
    )


def stage_parquet(s: Session, stage: exp.Table, uri: str, cols: dict[str, exp.DataType]) -> None:
    """A temporary table of the Parquet file's rows, cast to ``cols``, numbered in file order.

    For the Parquet loader's in-memory session; the DuckDB loader stages a view.
    """
    import sqlglot.expressions as exp

    from dagwright.staging import local_path

    read = exp.Anonymous(
        this="read_parquet",
        expressions=[
            exp.Placeholder(),
            exp.EQ(this=exp.var("file_row_number"), expression=exp.true()),
        ],
    )
    s.run(staged_batch(stage, read, "file_row_number", cols, kind="TABLE"), [local_path(uri)])


def _same(have: dict[str, exp.DataType] | None, wanted: dict[str, exp.DataType]) -> bool:
    """The same columns, in the same order, of the same DuckDB types."""
    if have is None:
        return False
    listed = [(n, t.sql(DIALECT)) for n, t in have.items()]
    return listed == [(n, t.sql(DIALECT)) for n, t in wanted.items()]


def _kept_with(s: Session, target: exp.Table) -> bool:
    schema = target.args.get("db")
    name = target.name
    schema_name = schema.name if schema else None
    params = [schema_name, name, name, schema_name, name, schema_name, name]
    return bool(s.execute(KEPT_WITH_TABLE, params)[0][0])


def columns_of(s: Session, target: exp.Table) -> dict[str, exp.DataType] | None:
    from loaders.typemap import build

    schema = target.args.get("db")
    rows = s.execute(COLUMNS, [schema.name if schema else None, target.name])
    return {name: build(kind, DIALECT) for name, kind in rows} or None
