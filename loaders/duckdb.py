"""DuckDB, the embedded default warehouse: one file, nothing to start.

DuckDB lets one process write a database file at a time; that file lock is the
concurrency guard, and a second writer waits for it (``lock_timeout``) before failing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from dagwright.errors import ConfigError, DagwrightError
from dagwright.sql.render import columns, render, table
from dagwright.state import RunRecord, StateUpdate, decode_watermark, encode_watermark
from loaders.base import DestinationConfig, Loader, LoadResult

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from dagwright.spec.sections import Load
    from dagwright.staging import StagedTable

DIALECT = "duckdb"
STAGE = "__dagwright_stage"

STATE_DDL = [
    'CREATE SCHEMA IF NOT EXISTS "_dagwright"',
    """CREATE TABLE IF NOT EXISTS "_dagwright"."runs" (
        run_id VARCHAR PRIMARY KEY, pipeline VARCHAR NOT NULL,
        interval_start TIMESTAMPTZ, interval_end TIMESTAMPTZ, status VARCHAR NOT NULL,
        started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ, error VARCHAR, stages VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS "_dagwright"."intervals" (
        pipeline VARCHAR NOT NULL, table_name VARCHAR NOT NULL,
        interval_start TIMESTAMPTZ, interval_end TIMESTAMPTZ, run_id VARCHAR NOT NULL,
        rows BIGINT NOT NULL, loaded_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS "_dagwright"."watermarks" (
        pipeline VARCHAR NOT NULL, source VARCHAR NOT NULL, table_name VARCHAR NOT NULL,
        value VARCHAR, run_id VARCHAR NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (pipeline, source, table_name))""",
]

UPSERT_RUN = """INSERT OR REPLACE INTO "_dagwright"."runs"
    (run_id, pipeline, interval_start, interval_end, status, started_at, finished_at, error, stages)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"""
SELECT_RUNS = """SELECT run_id, pipeline, interval_start, interval_end, status, started_at,
    finished_at, error, stages FROM "_dagwright"."runs"
    WHERE ? IS NULL OR pipeline = ? ORDER BY started_at DESC LIMIT ?"""
SELECT_WATERMARKS = """SELECT source, table_name, value FROM "_dagwright"."watermarks"
    WHERE pipeline = ?"""
SELECT_INTERVALS = """SELECT table_name, interval_start, interval_end, run_id, rows, loaded_at
    FROM "_dagwright"."intervals" WHERE pipeline = ? ORDER BY interval_start, table_name"""
PREVIOUS_LOADS = """SELECT run_id FROM "_dagwright"."intervals"
    WHERE pipeline = ? AND table_name = ?
      AND interval_start IS NOT DISTINCT FROM ? AND interval_end IS NOT DISTINCT FROM ?"""
DELETE_LEDGER = """DELETE FROM "_dagwright"."intervals"
    WHERE pipeline = ? AND table_name = ?
      AND interval_start IS NOT DISTINCT FROM ? AND interval_end IS NOT DISTINCT FROM ?"""
INSERT_LEDGER = """INSERT INTO "_dagwright"."intervals"
    (pipeline, table_name, interval_start, interval_end, run_id, rows, loaded_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)"""
UPSERT_WATERMARK = """INSERT OR REPLACE INTO "_dagwright"."watermarks"
    (pipeline, source, table_name, value, run_id, updated_at) VALUES (?, ?, ?, ?, ?, ?)"""

STAGE_PLAIN = "CREATE OR REPLACE TEMP TABLE :stage AS SELECT * FROM READ_PARQUET(?)"
STAGE_LINEAGE = """CREATE OR REPLACE TEMP TABLE :stage AS
    SELECT *, CAST(? AS VARCHAR) AS _dagwright_load_id,
           CAST(? AS TIMESTAMPTZ) AS _dagwright_loaded_at
    FROM READ_PARQUET(?)"""
DEDUPE = """CREATE OR REPLACE TEMP TABLE :stage AS
    SELECT * EXCLUDE (__dagwright_row) FROM (
        SELECT *, ROW_NUMBER() OVER () AS __dagwright_row FROM :stage
    ) QUALIFY ROW_NUMBER() OVER (PARTITION BY :keys ORDER BY __dagwright_row DESC) = 1"""
STAGE_FROM_VIEW = "CREATE OR REPLACE TEMP TABLE :stage AS SELECT * FROM __dagwright_rows"
CREATE_SCHEMA = "CREATE SCHEMA IF NOT EXISTS :schema"
CREATE_EMPTY = "CREATE TABLE IF NOT EXISTS :target AS SELECT * FROM :stage LIMIT 0"
REPLACE = "CREATE OR REPLACE TABLE :target AS SELECT * FROM :stage"
INSERT = "INSERT INTO :target BY NAME SELECT * FROM :stage"
DELETE_KEYS = "DELETE FROM :target WHERE :keys IN (SELECT :keys FROM :stage)"
DELETE_LOAD_IDS = "DELETE FROM :target WHERE _dagwright_load_id IN (SELECT UNNEST(?))"
DELETE_INTERVAL = "DELETE FROM :target WHERE :column >= ? AND :column < ?"
COUNT_STAGE = "SELECT COUNT(*) FROM :stage"
DESCRIBE = "DESCRIBE :relation"
SELECT_ALL = "SELECT * FROM :target"


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


class DuckDBLoader(Loader[DuckDBConfig]):
    config_model = DuckDBConfig
    dialect = DIALECT

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
                for ddl in STATE_DDL:
                    con.execute(ddl)
            yield con
        finally:
            con.close()

    def _target(self, name: str):  # noqa: ANN202 - a sqlglot Table
        return table(name, None if "." in name else self.config.schema_)

    def plan_load(self, table_name: str, load: Load) -> list[str]:
        target = self._target(table_name)
        stage = table(STAGE)
        statements = [render(STAGE_LINEAGE if load.lineage else STAGE_PLAIN, DIALECT, stage=stage)]
        if load.write in ("merge", "scd2"):
            statements.append(render(DEDUPE, DIALECT, stage=stage, keys=columns(load.primary_key)))
        if load.write == "replace":
            statements.append(render(REPLACE, DIALECT, target=target, stage=stage))
            return statements
        statements.append(render(CREATE_EMPTY, DIALECT, target=target, stage=stage))
        if load.write == "append" and load.lineage:
            statements.append(render(DELETE_LOAD_IDS, DIALECT, target=target))
        elif load.write in ("merge", "scd2"):
            keys = columns(load.primary_key)
            statements.append(render(DELETE_KEYS, DIALECT, target=target, stage=stage, keys=keys))
        elif load.write == "delete_insert":
            if load.merge_key:
                keys = columns(load.merge_key)
                statements.append(
                    render(DELETE_KEYS, DIALECT, target=target, stage=stage, keys=keys)
                )
            else:
                statements.append(
                    render(DELETE_INTERVAL, DIALECT, target=target, column=load.interval_column)
                )
        statements.append(render(INSERT, DIALECT, target=target, stage=stage))
        return statements

    def load(
        self, table_name: str, load: Load, data: StagedTable, state: StateUpdate
    ) -> LoadResult:
        from dagwright.staging import local_path

        target = self._target(table_name)
        stage = table(STAGE)
        now = datetime.now(UTC)
        executed: list[str] = []

        def run(sql: str, params: list[Any] | None = None) -> Any:
            executed.append(sql)
            return con.execute(sql, params or [])

        with self.connect() as con:
            run("BEGIN TRANSACTION")
            try:
                if load.lineage:
                    run(
                        render(STAGE_LINEAGE, DIALECT, stage=stage),
                        [state.run_id, now, local_path(data.uri)],
                    )
                else:
                    run(render(STAGE_PLAIN, DIALECT, stage=stage), [local_path(data.uri)])
                if load.write in ("merge", "scd2"):
                    run(render(DEDUPE, DIALECT, stage=stage, keys=columns(load.primary_key)))
                if target.db:
                    run(render(CREATE_SCHEMA, DIALECT, schema=target.args["db"]))
                previous = [
                    r[0]
                    for r in con.execute(
                        PREVIOUS_LOADS,
                        [state.pipeline, table_name, state.interval_start, state.interval_end],
                    ).fetchall()
                ]
                if load.write == "replace":
                    run(render(REPLACE, DIALECT, target=target, stage=stage))
                else:
                    run(render(CREATE_EMPTY, DIALECT, target=target, stage=stage))
                    self._evolve(con, target, stage, executed)
                    if load.write == "append":
                        if load.lineage and previous and state.interval_start is not None:
                            run(render(DELETE_LOAD_IDS, DIALECT, target=target), [previous])
                    elif load.write in ("merge", "scd2"):
                        keys = columns(load.primary_key)
                        run(render(DELETE_KEYS, DIALECT, target=target, stage=stage, keys=keys))
                    elif load.merge_key:
                        keys = columns(load.merge_key)
                        run(render(DELETE_KEYS, DIALECT, target=target, stage=stage, keys=keys))
                    elif state.interval_start is not None:
                        run(
                            render(
                                DELETE_INTERVAL, DIALECT, target=target, column=load.interval_column
                            ),
                            [state.interval_start, state.interval_end],
                        )
                    run(render(INSERT, DIALECT, target=target, stage=stage))
                rows = int(con.execute(render(COUNT_STAGE, DIALECT, stage=stage)).fetchone()[0])
                key = [state.pipeline, table_name, state.interval_start, state.interval_end]
                con.execute(DELETE_LEDGER, key)
                con.execute(INSERT_LEDGER, key + [state.run_id, rows, now])
                for source, value in state.watermarks.items():
                    if value is not None:
                        con.execute(
                            UPSERT_WATERMARK,
                            [
                                state.pipeline,
                                source,
                                table_name,
                                encode_watermark(value),
                                state.run_id,
                                now,
                            ],
                        )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return LoadResult(table=table_name, rows=rows, sql=executed)

    def _evolve(
        self, con: duckdb.DuckDBPyConnection, target: Any, stage: Any, executed: list[str]
    ) -> None:
        """Add the batch's new columns to the table (contract ``evolve``)."""
        import sqlglot.expressions as exp

        have = {r[0] for r in con.execute(render(DESCRIBE, DIALECT, relation=target)).fetchall()}
        for name, type_name, *_ in con.execute(
            render(DESCRIBE, DIALECT, relation=stage)
        ).fetchall():
            if name in have:
                continue
            alter = exp.Alter(
                this=target.copy(),
                kind="TABLE",
                actions=[
                    exp.ColumnDef(
                        this=exp.to_identifier(name, quoted=True),
                        kind=exp.DataType.build(type_name, dialect=DIALECT),
                    )
                ],
            ).sql(DIALECT)
            executed.append(alter)
            con.execute(alter)

    def append_rows(self, table_name: str, data: pa.Table) -> None:
        target = self._target(table_name)
        stage = table(STAGE)
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                con.register("__dagwright_rows", data)
                con.execute(render(STAGE_FROM_VIEW, DIALECT, stage=stage))
                con.unregister("__dagwright_rows")
                if target.db:
                    con.execute(render(CREATE_SCHEMA, DIALECT, schema=target.args["db"]))
                con.execute(render(CREATE_EMPTY, DIALECT, target=target, stage=stage))
                self._evolve(con, target, stage, [])
                con.execute(render(INSERT, DIALECT, target=target, stage=stage))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def read_table(self, table_name: str) -> pa.Table:
        with self.connect(read_only=True) as con:
            return con.execute(render(SELECT_ALL, DIALECT, target=self._target(table_name))).arrow()

    def record_run(self, run: RunRecord) -> None:
        with self.connect() as con:
            con.execute(
                UPSERT_RUN,
                [
                    run.run_id,
                    run.pipeline,
                    run.interval_start,
                    run.interval_end,
                    run.status,
                    run.started_at,
                    run.finished_at,
                    run.error,
                    run.stages_json(),
                ],
            )

    def recent_runs(self, pipeline: str | None, limit: int = 20) -> list[RunRecord]:
        if not self.path.exists():
            return []
        with self.connect() as con:
            rows = con.execute(SELECT_RUNS, [pipeline, pipeline, limit]).fetchall()
        return [
            RunRecord(
                run_id=r[0],
                pipeline=r[1],
                interval_start=r[2],
                interval_end=r[3],
                status=r[4],
                started_at=r[5],
                finished_at=r[6],
                error=r[7],
                stages=RunRecord.parse_stages(r[8]),
            )
            for r in rows
        ]

    def watermarks(self, pipeline: str) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        with self.connect() as con:
            rows = con.execute(SELECT_WATERMARKS, [pipeline]).fetchall()
        lowest: dict[str, Any] = {}
        for source, _table, value in rows:
            decoded = decode_watermark(value)
            if source not in lowest or decoded < lowest[source]:
                lowest[source] = decoded
        return lowest

    def loaded_intervals(self, pipeline: str) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.connect() as con:
            cur = con.execute(SELECT_INTERVALS, [pipeline])
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
