"""The pipeline state of a SQL warehouse, in its ``_dagwright`` schema.

``runs`` is the run log. Each table's record of what it has taken is three tables, all
written by the load's own transaction: ``intervals`` (the interval ledger: one row per
table and interval), ``watermarks`` (per table and source) and ``files`` (per table,
source and path: the version loaded). ``loads`` logs every load. Every statement is a
template rendered for the warehouse's dialect; values are bound parameters.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import sqlglot.expressions as exp

from dagwright.sql.render import ident
from dagwright.state import (
    FileIdentity,
    RunRecord,
    SideRows,
    StateStore,
    StateUpdate,
    TableState,
    TakenFile,
    decode_watermark,
    encode_watermark,
)

if TYPE_CHECKING:
    import sqlglot.expressions as sge

    from loaders.session import Session


class SQLWarehouse(Protocol):
    """What the state store needs of its SQL loader (``loaders.warehouse.SQLLoader``)."""

    def session(self) -> AbstractContextManager[Session]: ...
    def has_state(self) -> bool: ...
    def _sql(self, template: str) -> str: ...
    def _retrying(self, fn: Callable[..., Any], *args: Any) -> Any: ...
    def lock(self, s: Session, pipeline: str, table_name: str) -> None: ...
    def target(self, name: str) -> sge.Table: ...
    def table_columns(self, s: Session, target: sge.Table) -> dict[str, Any] | None: ...
    def stage_side(self, s: Session, path: str, part: int) -> sge.Table: ...
    def append_in(self, s: Session, table_name: str, path: str, stage: sge.Table) -> None: ...
    def drop_stage(self, s: Session, stage: sge.Table) -> None: ...
    def side_table(self, s: Session, table_name: str, path: str) -> None: ...

    transactional_ddl: bool


STATE_DDL = [
    'CREATE SCHEMA IF NOT EXISTS "_dagwright"',
    """CREATE TABLE IF NOT EXISTS "_dagwright"."runs" (
        run_id VARCHAR PRIMARY KEY, pipeline VARCHAR NOT NULL,
        interval_start TIMESTAMPTZ, interval_end TIMESTAMPTZ, status VARCHAR NOT NULL,
        started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ, error VARCHAR, stages VARCHAR,
        runner VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS "_dagwright"."intervals" (
        pipeline VARCHAR NOT NULL, table_name VARCHAR NOT NULL,
        interval_start TIMESTAMPTZ, interval_end TIMESTAMPTZ, run_id VARCHAR NOT NULL,
        rows BIGINT NOT NULL, loaded_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS "_dagwright"."watermarks" (
        pipeline VARCHAR NOT NULL, source VARCHAR NOT NULL, table_name VARCHAR NOT NULL,
        value VARCHAR, run_id VARCHAR NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (pipeline, source, table_name))""",
    """CREATE TABLE IF NOT EXISTS "_dagwright"."files" (
        pipeline VARCHAR NOT NULL, table_name VARCHAR NOT NULL, source VARCHAR NOT NULL,
        path VARCHAR NOT NULL, size BIGINT NOT NULL, modified BIGINT NOT NULL,
        sha256 VARCHAR, run_id VARCHAR NOT NULL, loaded_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS "_dagwright"."loads" (
        run_id VARCHAR NOT NULL, pipeline VARCHAR NOT NULL, table_name VARCHAR NOT NULL,
        disposition VARCHAR NOT NULL, interval_start TIMESTAMPTZ, interval_end TIMESTAMPTZ,
        rows BIGINT NOT NULL, loaded_at TIMESTAMPTZ NOT NULL, notes VARCHAR)""",
]
STATE_MIGRATIONS = [
    (
        """SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = '_dagwright'
            AND table_name = 'runs' AND column_name = 'runner'""",
        'ALTER TABLE "_dagwright"."runs" ADD COLUMN runner VARCHAR',
    ),
]
"""For warehouses whose state an older version created: (a query counting what is there
already, the statement adding it when the count is 0)."""


def create_state(
    execute: Callable[[str], list[tuple]],
    ddl: list[str] = STATE_DDL,
    migrations: list[tuple[str, str]] = STATE_MIGRATIONS,
) -> None:
    """Create the state tables, or bring an older version's up to date; a warehouse whose
    types differ from these gives its own ``ddl`` (MySQL)."""
    for statement in ddl:
        execute(statement)
    for probe, change in migrations:
        if not execute(probe)[0][0]:
            execute(change)


UPSERT_RUN = """INSERT INTO "_dagwright"."runs"
    (run_id, pipeline, interval_start, interval_end, status, started_at, finished_at, error,
     stages, runner)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (run_id) DO UPDATE SET status = excluded.status,
    finished_at = excluded.finished_at, error = excluded.error, stages = excluded.stages"""
SELECT_RUNS = """SELECT run_id, pipeline, interval_start, interval_end, status, started_at,
    finished_at, error, stages, runner FROM "_dagwright"."runs"
    WHERE CAST(? AS VARCHAR) IS NULL OR pipeline = ? ORDER BY started_at DESC LIMIT ?"""
SELECT_INTERVALS = """SELECT table_name, interval_start, interval_end, run_id, rows
    FROM "_dagwright"."intervals" WHERE pipeline = ?"""
SELECT_WATERMARKS = """SELECT table_name, source, value, run_id FROM "_dagwright"."watermarks"
    WHERE pipeline = ?"""
SELECT_FILES = """SELECT table_name, source, path, size, modified, sha256, run_id
    FROM "_dagwright"."files" WHERE pipeline = ?"""
TABLE_MARK = """SELECT value, run_id FROM "_dagwright"."watermarks"
    WHERE pipeline = ? AND table_name = ? AND source = ?"""
TABLE_FILES = """SELECT path, sha256, run_id FROM "_dagwright"."files"
    WHERE pipeline = ? AND table_name = ? AND source = ?"""
INTERVAL_RUNS = """SELECT run_id FROM "_dagwright"."intervals"
    WHERE pipeline = ? AND table_name = ?
      AND interval_start IS NOT DISTINCT FROM ? AND interval_end IS NOT DISTINCT FROM ?"""
LATEST_INTERVAL = """SELECT MAX(interval_start) FROM "_dagwright"."intervals"
    WHERE pipeline = ? AND table_name = ?"""
DELETE_LEDGER = """DELETE FROM "_dagwright"."intervals"
    WHERE pipeline = ? AND table_name = ?
      AND interval_start IS NOT DISTINCT FROM ? AND interval_end IS NOT DISTINCT FROM ?"""
INSERT_LEDGER = """INSERT INTO "_dagwright"."intervals"
    (pipeline, table_name, interval_start, interval_end, run_id, rows, loaded_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)"""
DELETE_WATERMARK = """DELETE FROM "_dagwright"."watermarks"
    WHERE pipeline = ? AND source = ? AND table_name = ?"""
INSERT_WATERMARK = """INSERT INTO "_dagwright"."watermarks"
    (pipeline, source, table_name, value, run_id, updated_at) VALUES (?, ?, ?, ?, ?, ?)"""
"""A watermark is replaced by a delete and an insert in the load's transaction: no upsert
syntax, which each warehouse spells its own way (and fakesnow cannot run in one)."""
DELETE_FILE = """DELETE FROM "_dagwright"."files"
    WHERE pipeline = ? AND table_name = ? AND source = ? AND path = ?"""
DELETE_FILES_OF_RUN = """DELETE FROM "_dagwright"."files"
    WHERE pipeline = ? AND table_name = ? AND run_id = ?"""
INSERT_FILE = """INSERT INTO "_dagwright"."files"
    (pipeline, table_name, source, path, size, modified, sha256, run_id, loaded_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"""
INSERT_LOAD = """INSERT INTO "_dagwright"."loads"
    (run_id, pipeline, table_name, disposition, interval_start, interval_end, rows, loaded_at,
     notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"""


class SQLState(StateStore):
    """``StateStore`` over a SQL loader's sessions; loads call ``conflict`` and ``commit``
    inside their transaction."""

    def __init__(self, loader: SQLWarehouse) -> None:
        self.loader = loader

    def sql(self, template: str) -> str:
        return self.loader._sql(template)

    def session(self) -> AbstractContextManager[Session]:
        return self.loader.session()

    def ready(self) -> bool:
        """Whether the state tables can exist yet (a DuckDB file not created: no)."""
        return self.loader.has_state()

    # -- the run log -------------------------------------------------------------------

    def record_run(self, run: RunRecord) -> None:
        with self.session() as s:
            s.execute(self.sql(UPSERT_RUN), _run_row(run))

    def recent_runs(self, pipeline: str | None, limit: int = 20) -> list[RunRecord]:
        if not self.ready():
            return []
        with self.session() as s:
            rows = s.execute(self.sql(SELECT_RUNS), [pipeline, pipeline, limit])
        return [_run(r) for r in rows]

    # -- what each table has taken ---------------------------------------------------

    def tables(self, pipeline: str) -> dict[str, TableState]:
        if not self.ready():
            return {}
        with self.session() as s:
            intervals = s.execute(self.sql(SELECT_INTERVALS), [pipeline])
            marks = s.execute(self.sql(SELECT_WATERMARKS), [pipeline])
            files = s.execute(self.sql(SELECT_FILES), [pipeline])
        return build_states(intervals, marks, files)

    def conflict(self, s: Session, update: StateUpdate) -> str | None:
        """Why ``update`` no longer fits its table (another run loaded it meanwhile), or
        ``None``. Called under the table's lock, inside the load's transaction."""
        key = [update.pipeline, update.table]
        if update.guard_interval:
            by = s.execute(
                self.sql(INTERVAL_RUNS), key + [update.interval_start, update.interval_end]
            )
            if by:
                return f"run {by[0][0]} loaded this interval into it meanwhile"
        for portion in update.portions:
            if portion.kind == "cursor":
                found = s.execute(self.sql(TABLE_MARK), key + [portion.source])
                mark = decode_watermark(found[0][0]) if found else None
                if mark != portion.after:
                    by = f"run {found[0][1]}" if found else "another run"
                    return (
                        f"{by} moved its mark of source {portion.source!r} to {mark} "
                        f"meanwhile (this run read past {portion.after})"
                    )
            elif portion.kind == "files":
                taken = s.execute(self.sql(TABLE_FILES), key + [portion.source])
                now_held = {path: run for path, _, run in taken}
                for f in portion.files:
                    held = now_held.get(f.path)
                    if held != update.holds.get(f.path) and held != update.run_id:
                        return f"run {held} loaded file {f.path} into it meanwhile"
        return None

    def previous(self, s: Session, update: StateUpdate, has_interval: bool) -> list[str]:
        """The runs whose rows an append of ``update`` removes first: the earlier load of
        the same interval, and the loads it redoes."""
        runs = list(update.replaces)
        if has_interval:
            key = [update.pipeline, update.table, update.interval_start, update.interval_end]
            runs += [r[0] for r in s.execute(self.sql(INTERVAL_RUNS), key)]
        return sorted(set(runs))

    def latest_interval(self, s: Session, pipeline: str, table_name: str) -> Any:
        return s.scalar(self.sql(LATEST_INTERVAL), [pipeline, table_name])

    def commit(
        self,
        s: Session,
        update: StateUpdate,
        disposition: str,
        rows: int,
        now: datetime,
        notes: list[str],
    ) -> None:
        """Write the table's new record; the caller commits it with the data."""
        key = [update.pipeline, update.table, update.interval_start, update.interval_end]
        s.execute(self.sql(DELETE_LEDGER), key)
        s.execute(self.sql(INSERT_LEDGER), key + [update.run_id, rows, now])
        table_key = [update.pipeline, update.table]
        for run_id in update.replaces:
            s.execute(self.sql(DELETE_FILES_OF_RUN), table_key + [run_id])
        for portion in update.portions:
            if portion.mark is not None:
                mark_key = [update.pipeline, portion.source, update.table]
                s.execute(self.sql(DELETE_WATERMARK), mark_key)
                s.execute(
                    self.sql(INSERT_WATERMARK),
                    mark_key + [encode_watermark(portion.mark), update.run_id, now],
                )
            for f in portion.files if portion.kind == "files" else ():
                s.execute(self.sql(DELETE_FILE), table_key + [portion.source, f.path])
                s.execute(
                    self.sql(INSERT_FILE),
                    table_key
                    + [portion.source, f.path, f.size, f.modified, f.sha256]
                    + [update.run_id, now],
                )
        s.execute(
            self.sql(INSERT_LOAD),
            [update.run_id, update.pipeline, update.table, disposition]
            + [update.interval_start, update.interval_end, rows, now, "\n".join(notes) or None],
        )

    # -- what check stages store -------------------------------------------------------

    def store_side_rows(self, parts: list[SideRows], stage: str, superseded: list[str]) -> None:
        import pyarrow.parquet as pq

        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for n, part in enumerate(parts):
                path = f"{tmp}/part{n}.parquet"
                pq.write_table(part.rows, path)
                files.append(path)
            self.loader._retrying(self._store_once, parts, files, stage, superseded)

    def _store_once(
        self, parts: list[SideRows], files: list[str], stage: str, superseded: list[str]
    ) -> None:
        loader = self.loader
        with self.session() as s:
            stages: list[sge.Table] = []
            try:
                if not loader.transactional_ddl:  # DDL would commit the transaction below
                    for n, (part, path) in enumerate(zip(parts, files, strict=True)):
                        loader.side_table(s, part.table, path)
                        stages.append(loader.stage_side(s, path, n))
                s.execute("BEGIN")
                for n, (part, path) in enumerate(zip(parts, files, strict=True)):
                    loader.lock(s, "", part.table)
                    target = loader.target(part.table)
                    if superseded and loader.table_columns(s, target) is not None:
                        where = exp.and_(
                            exp.column(ident(part.stage_column)).eq(exp.Placeholder()),
                            exp.column(ident(part.run_column)).isin(
                                *[exp.Placeholder() for _ in superseded]
                            ),
                        )
                        s.execute(
                            s.sql(exp.delete(target, where), with_params=True),
                            [stage, *superseded],
                        )
                    staged = stages[n] if stages else loader.stage_side(s, path, n)
                    loader.append_in(s, part.table, path, staged)
                s.execute("COMMIT")
            except BaseException:
                with suppress(Exception):
                    s.execute("ROLLBACK")
                raise
            finally:
                if not getattr(loader, "temporary_stage", True):
                    for staged in stages:
                        with suppress(Exception):
                            loader.drop_stage(s, staged)


def build_states(
    intervals: list[tuple], marks: list[tuple], files: list[tuple]
) -> dict[str, TableState]:
    """Each table's record from the rows of the three state tables."""
    states: dict[str, TableState] = {}

    def state(table: str) -> TableState:
        return states.setdefault(table, TableState(table))

    for table, start, end, run_id, rows in intervals:
        state(table).intervals[(start, end)] = (run_id, int(rows))
    for table, source, value, _run_id in marks:
        decoded = decode_watermark(value)
        if decoded is not None:
            state(table).marks[source] = decoded
    for table, source, path, size, modified, sha, run_id in files:
        identity = FileIdentity(path, int(size), int(modified), sha)
        state(table).files.setdefault(source, {})[path] = TakenFile(identity, run_id)
    return states


def _run_row(run: RunRecord) -> list[Any]:
    return [
        run.run_id,
        run.pipeline,
        run.interval_start,
        run.interval_end,
        run.status,
        run.started_at,
        run.finished_at,
        run.error,
        run.stages_json(),
        run.runner,
    ]


def _run(r: tuple) -> RunRecord:
    return RunRecord(
        run_id=r[0],
        pipeline=r[1],
        interval_start=r[2],
        interval_end=r[3],
        status=r[4],
        started_at=r[5],
        finished_at=r[6],
        error=r[7],
        stages=RunRecord.parse_stages(r[8]),
        runner=r[9],
    )
