"""Snowflake: batches arrive as Parquet files PUT to a stage and loaded with ``COPY INTO``;
data, ledger and watermarks commit in one transaction.

Snowflake's DDL commits the open transaction, so a load runs in two parts: first the
batch's Parquet files are PUT to the internal stage ``_dagwright.DAGWRIGHT_STAGE`` and
copied (``COPY INTO ... MATCH_BY_COLUMN_NAME``, ``PURGE``) into a transient table of the
load's own, which is checked and de-duplicated, and the table is created or evolved;
then one transaction takes the table's lock, checks again that no other run loaded the
batch meanwhile, applies the disposition (``TRUNCATE`` and ``MERGE`` are DML in
Snowflake, so ``replace`` stays atomic) and writes the state, and commits. The staging
table is dropped after the commit. What is not atomic: a table or a column the first part
created stays if the load fails after it (empty, or null in every row); no row and no
state of a failed load ever does.

Snowflake has no advisory locks. A load's transaction first updates the table's row of
``_dagwright.locks``, and Snowflake makes a second transaction's update wait for the first
one's commit (``lock_timeout``; Snowflake locks whole tables, so with the state tables the
transactions of all loads into one database take turns, their staging does not). A load
killed inside its transaction leaves it open until Snowflake aborts it (after four idle
hours, or ``SYSTEM$ABORT_TRANSACTION``); loads wait for that meanwhile.

Names are created quoted, exactly as written (``"daily_sales"``, not ``DAILY_SALES``), as
on the other destinations; a pushed-down step's query is quoted the same way, so its
names match. Query them from Snowflake quoted.

Types (``snowflake_type``): integers ``NUMBER(38, 0)``, floats ``FLOAT``, decimals
``NUMBER(p, s)`` up to 38 digits, strings ``VARCHAR``, binary ``BINARY``, timestamps with a
time zone ``TIMESTAMP_TZ``, without ``TIMESTAMP_NTZ``, JSON documents and Arrow lists,
structs and maps ``VARIANT``. Durations have no Snowflake type and are refused.
"""

from __future__ import annotations

import re
import tempfile
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from pydantic import Field

from dagwright.errors import ConfigError, DagwrightError, DataError
from dagwright.state import crash_point
from loaders.base import DestinationConfig
from loaders.session import Session
from loaders.sql_state import create_state
from loaders.warehouse import ROW, SQLLoader, create_table, lock_key

if TYPE_CHECKING:
    import pyarrow as pa
    import sqlglot.expressions as exp
    from snowflake.connector import SnowflakeConnection

    from dagwright.intervals import Interval

DIALECT = "snowflake"
STATE = "_dagwright"
STAGE_AREA = "DAGWRIGHT_STAGE"
"""The internal stage batches are PUT to (unquoted: PUT and COPY name it bare)."""
COLUMNS = """SELECT column_name, data_type, numeric_precision, numeric_scale,
    character_maximum_length FROM information_schema.columns
    WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position"""
LOCK_DDL = """CREATE TABLE IF NOT EXISTS "_dagwright"."locks" (
    name VARCHAR NOT NULL, taken_at TIMESTAMP_TZ, run_id VARCHAR)"""
LOCK_ROW = """INSERT INTO "_dagwright"."locks" (name) SELECT ?
    WHERE NOT EXISTS (SELECT 1 FROM "_dagwright"."locks" WHERE name = ?)"""
TAKE_LOCK = 'UPDATE "_dagwright"."locks" SET taken_at = CURRENT_TIMESTAMP() WHERE name = ?'
LEASE_DDL = """CREATE TABLE IF NOT EXISTS "_dagwright"."run_leases" (
    name VARCHAR NOT NULL, holder VARCHAR, expires_at TIMESTAMP_TZ)"""
LEASE_ROW = """MERGE INTO "_dagwright"."run_leases" AS l USING (SELECT ? AS name) AS n
    ON l.name = n.name WHEN NOT MATCHED THEN INSERT (name) VALUES (n.name)"""
TAKE_LEASE = """UPDATE "_dagwright"."run_leases"
    SET holder = ?, expires_at = DATEADD(SECOND, ?, CURRENT_TIMESTAMP())
    WHERE name = ? AND (holder IS NULL OR expires_at < CURRENT_TIMESTAMP())
      AND NOT EXISTS (SELECT 1 FROM "_dagwright"."run_leases" AS other
        WHERE other.name = ? AND other.holder IS NOT NULL
          AND other.expires_at >= CURRENT_TIMESTAMP())"""
"""Snowflake enforces no unique key: two first runs racing can each insert the lease's
row, so a lease is free only when no row of its name is held."""
RENEW_LEASE = """UPDATE "_dagwright"."run_leases"
    SET expires_at = DATEADD(SECOND, ?, CURRENT_TIMESTAMP()) WHERE name = ? AND holder = ?"""
FREE_LEASE = """UPDATE "_dagwright"."run_leases" SET holder = NULL, expires_at = NULL
    WHERE name = ? AND holder = ?"""
LEASE_SECONDS = 120
"""How long a run's lease outlives its last renewal (every third of it): a killed run's
lease lapses by then, and the next run takes it."""
CREATE_STAGE_AREA = 'CREATE STAGE IF NOT EXISTS "_dagwright".DAGWRIGHT_STAGE'
UPSERTS = {
    "runs": """MERGE INTO "_dagwright"."runs" AS t USING (SELECT ? AS run_id, ? AS pipeline,
        CAST(? AS TIMESTAMP_TZ) AS interval_start, CAST(? AS TIMESTAMP_TZ) AS interval_end,
        ? AS status, CAST(? AS TIMESTAMP_TZ) AS started_at,
        CAST(? AS TIMESTAMP_TZ) AS finished_at, ? AS error,
        ? AS stages, ? AS runner) AS s ON t.run_id = s.run_id
        WHEN MATCHED THEN UPDATE SET status = s.status, finished_at = s.finished_at,
            error = s.error, stages = s.stages
        WHEN NOT MATCHED THEN INSERT (run_id, pipeline, interval_start, interval_end, status,
            started_at, finished_at, error, stages, runner)
        VALUES (s.run_id, s.pipeline, s.interval_start, s.interval_end, s.status,
            s.started_at, s.finished_at, s.error, s.stages, s.runner)""",
}
"""The run log's upsert (outside any transaction: fakesnow runs no MERGE inside one)."""
PUT_FILE = "PUT 'file:///batch.parquet' @stage AUTO_COMPRESS = FALSE OVERWRITE = TRUE"
COPY_FILES = """COPY INTO stage FROM @stage FILE_FORMAT = (TYPE = PARQUET)
    MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE ON_ERROR = ABORT_STATEMENT PURGE = TRUE"""
"""Templates of the bulk path: the file, the folder and the table are set as sqlglot
nodes (``SnowflakeLoader._put``, ``_copy``)."""
VARIANTS = ("VARIANT", "OBJECT", "ARRAY")
INSTANT_TYPES = {"TIMESTAMP_TZ": "TIMESTAMPTZ", "TIMESTAMP_LTZ": "TIMESTAMPLTZ"}
NUMBERS = ("port", "login_timeout", "network_timeout", "socket_timeout")
"""Connection URL options (``?port=443&login_timeout=30``) the connector takes as numbers."""
MAX_TEXT = 16_777_216
"""``VARCHAR``'s default (and largest) length: ``information_schema`` gives it for ``VARCHAR``."""


class SnowflakeConfig(DestinationConfig):
    """A Snowflake database, reached through a named connection."""

    loader: Literal["snowflake"] = "snowflake"
    connection: str = Field(
        description=(
            "Connection name: the URL (snowflake://user:password@account/database/schema"
            "?warehouse=WH&role=ROLE) in env DAGWRIGHT_CONN_<NAME>, or the Airflow connection."
        )
    )
    schema_: str | None = Field(
        default=None,
        alias="schema",
        description="Schema for tables given without one (default: the connection's, else PUBLIC).",
    )
    lock_timeout: float = Field(
        default=300.0,
        description=(
            "Seconds a load waits for the lock of another load's transaction (Snowflake locks "
            "whole tables, so loads of the state tables wait for each other), and a run for "
            "another run of its pipeline and interval."
        ),
    )
    file_rows: int = Field(
        default=1_000_000, ge=1, description="Rows per Parquet file PUT to the stage."
    )


class SnowflakeLoader(SQLLoader[SnowflakeConfig]):
    """JSON columns load as ``VARIANT``; a pushed-down step reads their fields with
    Snowflake's paths (``payload:sku::VARCHAR``, written with ``dialect: snowflake``)."""

    config_model = SnowflakeConfig
    dialect = DIALECT
    transactional_ddl = False
    temporary_stage = False
    clustering = True
    _state_ready: bool = False
    SYSTEM_TYPES: ClassVar[dict[str, str]] = {
        "text": "VARCHAR",
        "timestamptz": "TIMESTAMPTZ",
        "boolean": "BOOLEAN",
    }

    @classmethod
    def needs(cls, config: SnowflakeConfig) -> tuple[str, list[tuple[str, ...]]]:
        return "snowflake", [("snowflake.connector",)]

    def describe(self) -> str:
        return f"snowflake connection {self.config.connection!r}"

    @cached_property
    def _login(self) -> dict[str, Any]:
        from dagwright.connections import resolve

        example = "snowflake://user:password@account/database/schema?warehouse=WH"
        conn = resolve(self.config.connection, example)
        if conn.scheme.split("+", 1)[0] != "snowflake":
            raise ConfigError(
                f"connection {self.config.connection!r} is {conn.scheme}://, not a Snowflake "
                f"URL ({example})"
            )
        database, _, schema = (conn.database or "").partition("/")
        if not database:
            raise ConfigError(
                f"connection {self.config.connection!r} names no database; hint: write it "
                f"after the account ({example})"
            )
        login: dict[str, Any] = {
            "account": conn.host or "",
            "user": conn.login or "",
            "password": conn.password or "",
            "database": database,
            "schema": self.config.schema_ or schema or "PUBLIC",
        }
        for key, value in conn.extra.items():
            login[key] = int(value) if key in NUMBERS and value.isdigit() else value
        return login

    def connect(self) -> SnowflakeConnection:
        import os

        import snowflake.connector

        os.environ.setdefault("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
        settings = {
            "login_timeout": 60,
            "network_timeout": 300,
            **self._login,
            "paramstyle": "qmark",
            "autocommit": True,
            "session_parameters": {
                "LOCK_TIMEOUT": max(1, int(self.config.lock_timeout)),
                "TIMEZONE": "UTC",
            },
        }
        try:
            return snowflake.connector.connect(**settings)
        except snowflake.connector.errors.Error as exc:
            raise ConfigError(f"cannot connect to Snowflake ({self.describe()}): {exc}") from None

    @contextmanager
    def session(self) -> Iterator[Session]:
        con = self.connect()
        try:
            s = SnowflakeSession(con)
            if not self._state_ready:
                self._create_state(s)
            yield s
        finally:
            con.close()

    def _create_state(self, s: Session) -> None:
        create_state(s.execute, migrations=[])  # upper-case names: no older state to mend
        s.execute(LOCK_DDL)
        s.execute(LEASE_DDL)
        s.execute(CREATE_STAGE_AREA)
        self._state_ready = True

    @property
    def _stage_area(self) -> str:
        from dagwright.sql.render import ident

        return f"{ident(STATE).sql(DIALECT)}.{STAGE_AREA}"

    def _sql(self, template: str) -> str:
        from loaders import sql_state

        if template == sql_state.UPSERT_RUN:
            return UPSERTS["runs"]
        return super()._sql(template)

    def target(self, name: str) -> exp.Table:
        """Every table named with its schema: ``CREATE SCHEMA`` changes the current one."""
        from dagwright.sql.render import table

        return table(name, None if "." in name else str(self._login["schema"]))

    @contextmanager
    def run_lock(self, pipeline: str, interval: Interval | None = None) -> Iterator[bool]:
        """One local run of a pipeline and interval at a time: a lease row, taken when free
        or lapsed and renewed while the run lives (Snowflake has no session locks), so a
        killed run's lease lapses after ``LEASE_SECONDS``. Runs of other intervals go on
        in parallel (backfills)."""
        import time

        window = [interval.start.isoformat(), interval.end.isoformat()] if interval else []
        name = f"{lock_key('runs of', pipeline, *window) & 0xFFFFFFFFFFFFFFFF:016x}"
        holder = uuid.uuid4().hex
        deadline = time.monotonic() + self.config.lock_timeout
        with self.session() as s:
            s.execute(LEASE_ROW, [name])
            while not _changed(s.execute(TAKE_LEASE, [holder, LEASE_SECONDS, name, name])):
                if time.monotonic() > deadline:
                    raise DagwrightError(
                        f"another run of {pipeline!r} for this interval is writing to "
                        f"{self.describe()} (waited {self.config.lock_timeout:g}s); hint: let "
                        f"it finish, or raise lock_timeout (a killed run's lease lapses "
                        f"after {LEASE_SECONDS}s)"
                    )
                time.sleep(0.5)
            done = threading.Event()
            keeper = threading.Thread(
                target=self._renew, args=(name, holder, done), name="dagwright-lease", daemon=True
            )
            keeper.start()
            try:
                yield False
            finally:
                done.set()
                keeper.join(timeout=30)
                with suppress(Exception):  # unreleased, it lapses
                    s.execute(FREE_LEASE, [name, holder])

    def _renew(self, name: str, holder: str, done: threading.Event) -> None:
        """Renew the lease every third of its life until ``done``; a failed renewal is
        tried again every few seconds (on a new session) while the lease still runs, and
        a lease found taken by another run is reported, not silently lost."""
        import logging
        import time

        log = logging.getLogger("dagwright.snowflake")
        renewed = time.monotonic()
        wait = LEASE_SECONDS / 3
        while not done.wait(wait):
            try:
                with self.session() as keeper:
                    changed = _changed(keeper.execute(RENEW_LEASE, [LEASE_SECONDS, name, holder]))
            except Exception as exc:  # noqa: BLE001 - the run goes on; the next try may work
                late = time.monotonic() - renewed
                log.warning("cannot renew the run's lease (%.0fs since the last): %s", late, exc)
                wait = 5.0
                continue
            if not changed:
                log.error(
                    "the run's lease lapsed and another run holds it: both may now load; "
                    "hint: raise lock_timeout only after finding why renewals failed"
                )
                return
            renewed, wait = time.monotonic(), LEASE_SECONDS / 3

    def stage_table(self, suffix: str = "") -> exp.Table:
        """A transient table per load in the state schema: ``COPY INTO`` cannot fill a
        temporary table, and loads of other runs must not share one."""
        from dagwright.sql.render import table

        return table(f"stage_{uuid.uuid4().hex[:16]}{suffix}", STATE)

    def lock(self, s: Session, pipeline: str, table_name: str) -> None:
        """The table's lock row, updated first in the load's transaction: a second load's
        update waits until the first commits (Snowflake locks the table it changes)."""
        name = f"{lock_key(pipeline, table_name) & 0xFFFFFFFFFFFFFFFF:016x}"
        s.execute(LOCK_ROW, [name, name])
        s.execute(TAKE_LOCK, [name])

    def system_type(self, kind: str) -> exp.DataType:
        from loaders.typemap import build

        return build(self.SYSTEM_TYPES[kind], DIALECT)

    def column_type(self, arrow_type: pa.DataType, column: str) -> exp.DataType:
        return snowflake_type(arrow_type, column)

    def declared_type(self, text: str) -> exp.DataType:
        """A declared type as Snowflake keeps it (a ``TIMESTAMP`` is ``TIMESTAMP_NTZ``, every
        integer type ``NUMBER(38, 0)``)."""
        import sqlglot.expressions as exp

        from loaders.typemap import INTEGERS, build

        parsed = build(text, "duckdb")
        T = exp.DType
        if parsed.this in INTEGERS:
            return build("DECIMAL(38, 0)", DIALECT)
        if parsed.this in (T.TIMESTAMP, T.DATETIME, T.TIMESTAMP_NS):
            return build("TIMESTAMPNTZ", DIALECT)
        if parsed.this in (T.BLOB, T.VARBINARY):
            return build("BINARY", DIALECT)
        if parsed.this in (T.JSON, T.JSONB):
            return build("VARIANT", DIALECT)
        return parsed

    def table_properties(self, load: Any) -> list[exp.Expression]:
        import sqlglot.expressions as exp

        from dagwright.sql.render import ident

        if not load.cluster_by:
            return []
        return [exp.ClusterProperty(expressions=[exp.column(ident(c)) for c in load.cluster_by])]

    def staging_statements(
        self, stage: exp.Table, cols: dict[str, exp.DataType]
    ) -> list[exp.Expression | str]:
        return [self._stage_create(stage, cols), "PUT <batch files>", self._copy(stage, "<load>")]

    def _stage_create(self, stage: exp.Table, cols: dict[str, exp.DataType]) -> exp.Create:
        import sqlglot.expressions as exp

        from loaders.typemap import build

        create = create_table(stage, {**cols, ROW: build("BIGINT", DIALECT)})
        create.set("exists", False)
        create.set("properties", exp.Properties(expressions=[exp.TransientProperty()]))
        return create

    def _copy(self, stage: exp.Table, folder: str) -> str:
        """``COPY INTO`` the stage table from the load's folder of the stage area."""
        import sqlglot.expressions as exp

        copy = _template(COPY_FILES)
        copy.set("this", stage.copy())
        copy.set("files", [exp.Table(this=exp.var(f"@{self._stage_area}/{folder}/"))])
        return copy.sql(DIALECT)

    def _put(self, path: Path, folder: str) -> str:
        """``PUT`` a local file into the load's folder of the stage area."""
        import sqlglot.expressions as exp

        put = _template(PUT_FILE)
        put.set("this", exp.Literal.string(f"file://{path}"))
        put.set("target", exp.var(f"@{self._stage_area}/{folder}/"))
        return put.sql(DIALECT)

    def stage(self, s: Session, stage: exp.Table, uri: str, cols: dict[str, exp.DataType]) -> None:
        import pyarrow.parquet as pq
        import sqlglot.expressions as exp

        from dagwright.sql.render import ident
        from dagwright.staging import local_path

        s.run(self._stage_create(stage, cols))
        folder = stage.name
        parquet = pq.ParquetFile(local_path(uri))
        offset = 0
        with tempfile.TemporaryDirectory(prefix="dagwright-snowflake-") as tmp:
            for n, batch in enumerate(parquet.iter_batches(batch_size=self.config.file_rows)):
                path = Path(tmp) / f"part{n:05d}.parquet"
                pq.write_table(staged_batch(batch, offset), path)
                offset += batch.num_rows
                s.execute(self._put(path, folder))
                if n == 0:
                    crash_point("stage:copy")
            s.executed.append(f"PUT <{n + 1 if offset else 0} file(s)> @{self._stage_area}")
            if offset:
                s.run(self._copy(stage, folder))
        for name, dtype in cols.items():  # a JSON document arrives as its text
            if dtype.this == exp.DType.VARIANT and _is_text(parquet.schema_arrow, name):
                column = exp.column(ident(name))
                parsed = exp.func("PARSE_JSON", exp.cast(column.copy(), exp.DType.VARCHAR))
                s.run(
                    exp.update(
                        stage.copy(),
                        {column.copy(): parsed},
                        where=exp.Not(this=exp.Is(this=column.copy(), expression=exp.null())),
                    )
                )

    def table_columns(self, s: Session, target: exp.Table) -> dict[str, exp.DataType] | None:
        schema = target.args.get("db")
        key = [schema.name if schema else str(self._login["schema"]), target.name]
        rows = s.execute(COLUMNS, key)
        return {r[0]: read_type(*r[1:]) for r in rows} or None

    def wrap_error(self, exc: Exception) -> Exception:
        import snowflake.connector.errors as e

        if isinstance(exc, e.Error):
            errno, message = getattr(exc, "errno", None), _message(exc)
            if errno in (625, 626) or "lock" in message.lower() and "timeout" in message.lower():
                return DagwrightError(
                    f"another load held a lock this one needs for more than "
                    f"{self.config.lock_timeout:g}s ({self.describe()}); hint: retry later "
                    "or raise lock_timeout"
                )
            if errno in (100038, 100035, 100037, 100039, 100040, 100071, 100072, 100078):
                return DataError(f"Snowflake refused the batch: {message}")
            return DagwrightError(f"Snowflake ({self.describe()}): {message}")
        return exc

    def fetch_arrow(self, s: Session, sql: str, params: Any = None) -> pa.Table:
        import pyarrow as pa

        assert isinstance(s, SnowflakeSession)
        with s.con.cursor() as cur:
            cur.execute(sql, _bindings(params) if params else None)
            names = [d[0] for d in cur.description or ()]
            rows = cur.fetch_arrow_all(force_return_table=True)
        if rows is None or not rows.num_rows:
            return pa.table({n: pa.array([], pa.null()) for n in names})
        return plain_arrow(rows)

    def read_table(self, table_name: str) -> pa.Table:
        """The table's rows; its ``VARIANT`` columns as the lists and structs they were
        loaded from (Snowflake gives them as JSON text)."""
        from dagwright.sql.render import render
        from loaders.typemap import json_column

        target = self.target(table_name)
        with self.session() as s:
            rows = self.fetch_arrow(s, render("SELECT * FROM :target", DIALECT, target=target))
        for i, field in enumerate(rows.schema):
            if getattr(field.type, "extension_name", None) == "arrow.json":
                column = json_column(rows.column(i).combine_chunks().storage.to_pylist())
                rows = rows.set_column(i, field.name, column)
        return rows

    def run_pushdown(self, compiled: CompiledQuery, values: Any, path: str) -> None:
        """Run a pushed-down step's query here and write its rows to ``path``. The query is
        quoted as written (the tables' names are), its parameters bound as ``?``."""
        import pyarrow.parquet as pq
        import snowflake.connector.errors as e

        from dagwright.errors import QueryRefused

        sql, names = qmark(as_written(compiled.sql), set(values or ()))
        with self.session() as s:
            try:
                table = self.fetch_arrow(s, sql, [values[n] for n in names])
            except e.Error as exc:
                raise QueryRefused(_message(exc)) from None
        pq.write_table(table, path)


class CompiledQuery(Protocol):
    """A pushed-down step's query as the pushdown stage compiled it for Snowflake."""

    sql: str


class SnowflakeSession(Session):
    """Values bind server-side (``?``); instants as ``TIMESTAMP_TZ``, decimals as text."""

    dialect = DIALECT

    def __init__(self, con: SnowflakeConnection) -> None:
        super().__init__()
        self.con = con

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        with self.con.cursor() as cur:
            cur.execute(sql, _bindings(params) if params else None)
            return [tuple(r) for r in cur.fetchall()] if cur.description else []


def _bindings(params: Sequence[Any]) -> list[Any]:
    """Values as the connector binds them exactly: an aware datetime as ``TIMESTAMP_TZ``
    (unmarked, it would bind as a wall clock), a decimal as its text."""
    out: list[Any] = []
    for value in params:
        if isinstance(value, datetime):
            out.append(("TIMESTAMP_TZ" if value.tzinfo else "TIMESTAMP_NTZ", value))
        elif isinstance(value, Decimal):
            out.append(("TEXT", str(value)))
        else:
            out.append(value)
    return out


def as_written(sql: str) -> str:
    """A query with its names quoted as written: Snowflake folds unquoted names to upper
    case, and dagwright's tables and columns are created quoted (``"customer_id"``). Names
    Snowflake itself defines stay unquoted: ``INFORMATION_SCHEMA`` views and their columns,
    and the columns of table functions (``f.value`` of ``LATERAL FLATTEN(...) f``)."""
    import sqlglot
    import sqlglot.expressions as exp

    from dagwright.sql.dialects import dialect_for

    tree = sqlglot.parse_one(sql, read=DIALECT)
    system: set[int] = set()
    functions = {
        source.alias_or_name.lower()
        for source in tree.find_all(exp.Lateral, exp.Unnest, exp.TableFromRows)
        if source.alias_or_name
    }
    for node in tree.find_all(exp.Table):
        if "information_schema" in (node.db.lower(), node.name.lower()):
            system.update(id(i) for i in node.find_all(exp.Identifier))
            functions.add(node.alias_or_name.lower())
    for node in tree.find_all(exp.Lateral, exp.Unnest, exp.TableFromRows):
        alias = node.args.get("alias")
        if alias is not None:
            system.update(id(c) for c in alias.columns)
    tables = list(tree.find_all(exp.Table))
    only_system = bool(tables) and all(id(t.this) in system for t in tables)
    for column in tree.find_all(exp.Column):
        if only_system or (column.table and column.table.lower() in functions):
            system.add(id(column.this))
    for ident in tree.find_all(exp.Identifier):
        if id(ident) not in system:
            ident.set("quoted", True)
    return tree.sql(dialect_for(DIALECT))


_NAMED = re.compile(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)\b")


def qmark(sql: str, names: set[str]) -> tuple[str, list[str]]:
    """A compiled step's ``:name`` parameters as ``?``, with their names in order; text in
    quoted names and strings, ``::`` casts and paths (``payload:sku``) stay as they are."""
    out, order, quote, i = [], [], "", 0
    while i < len(sql):
        ch = sql[i]
        if quote:
            if ch == quote:
                quote = ""
        elif sql.startswith(("/*", "--"), i):  # a comment, kept as it is
            end = sql.find("*/", i + 2) + 2 if ch == "/" else sql.find("\n", i)
            end = len(sql) if end < i + 2 else end
            out.append(sql[i:end])
            i = end
            continue
        elif ch in "'\"":
            quote = ch
        elif (
            ch == ":"
            and (i == 0 or sql[i - 1] != ":")
            and (match := _NAMED.match(sql, i))
            and match.group(1) in names
        ):
            out.append("?")
            order.append(match.group(1))
            i = match.end()
            continue
        out.append(ch)
        i += 1
    return "".join(out), order


def _changed(rows: list[tuple]) -> bool:
    """Whether an ``UPDATE`` changed a row (Snowflake returns the count as its result)."""
    return bool(rows and rows[0][0])


def _template(sql: str) -> exp.Expression:
    import sqlglot

    return sqlglot.parse_one(sql, read=DIALECT)


def _message(exc: BaseException) -> str:
    text = getattr(exc, "raw_msg", None) or str(exc)
    try:
        from dagwright.connections import redact
    except ImportError:  # pragma: no cover
        return str(text).strip()
    return redact(str(text)).strip()


def _is_text(schema: pa.Schema, name: str) -> bool:
    import pyarrow.types as at

    from loaders.typemap import is_json

    t = schema.field(name).type
    return is_json(t) or at.is_string(t) or at.is_large_string(t)


def staged_batch(batch: pa.RecordBatch, offset: int) -> pa.Table:
    """A batch as the stage's Parquet file: numbered rows (``ROW``, for "the last row of a
    key wins"), and the columns Snowflake's Parquet reader cannot take made plain."""
    import pyarrow as pa

    columns = [_plain(batch.column(i)) for i in range(batch.num_columns)]
    rows = pa.array(range(offset, offset + batch.num_rows), pa.int64())
    return pa.table([*columns, rows], names=[*batch.schema.names, ROW])


def _plain(array: pa.Array) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as at

    t = array.type
    if isinstance(t, pa.BaseExtensionType):
        return _plain(array.storage)
    if at.is_dictionary(t):
        return _plain(array.dictionary_decode())
    if at.is_null(t):
        return pa.nulls(len(array), pa.string())
    if at.is_floating(t) and t.bit_width == 16:
        return pc.cast(array, pa.float32())
    if at.is_timestamp(t) and t.unit == "ns":
        return pc.cast(array, pa.timestamp("us", t.tz), safe=False)
    if at.is_unsigned_integer(t) and t.bit_width == 64:
        return pc.cast(array, pa.decimal128(20, 0))
    if str(t) in ("string_view", "binary_view"):
        return pc.cast(array, pa.string() if str(t) == "string_view" else pa.binary())
    return array


def plain_arrow(rows: pa.Table) -> pa.Table:
    """The connector's Arrow result as the other loaders give theirs: no Snowflake field
    metadata, instants in microseconds and ``UTC``, ``VARIANT`` as ``arrow.json`` text."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as at

    from loaders.typemap import as_json

    columns, fields = [], []
    for field, column in zip(rows.schema, rows.columns, strict=True):
        kind = (field.metadata or {}).get(b"logicalType", b"").decode()
        t = field.type
        if kind in VARIANTS:
            column = as_json(column.cast(pa.string()))
        elif at.is_timestamp(t):
            column = pc.cast(column, pa.timestamp("us", "UTC" if t.tz else None), safe=False)
        fields.append(pa.field(field.name, column.type))
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def read_type(
    data_type: str, precision: int | None, scale: int | None, length: int | None
) -> exp.DataType:
    """A column's type from ``information_schema.columns``, as ``snowflake_type`` gives a
    batch column."""
    from loaders.typemap import build

    kind = data_type.upper()
    if kind in ("NUMBER", "DECIMAL", "NUMERIC"):
        return build(f"DECIMAL({precision or 38}, {scale or 0})", DIALECT)
    if kind in ("FLOAT", "DOUBLE", "REAL"):
        return build("DOUBLE", DIALECT)
    if kind in ("TEXT", "VARCHAR", "STRING"):
        return build("VARCHAR" if not length or length >= MAX_TEXT else f"VARCHAR({length})",
                     DIALECT)  # fmt: skip
    if kind in VARIANTS:
        return build("VARIANT", DIALECT)
    if kind in INSTANT_TYPES:
        return build(INSTANT_TYPES[kind], DIALECT)
    if kind == "TIMESTAMP_NTZ":
        return build("TIMESTAMPNTZ", DIALECT)
    return build(kind, DIALECT)


def snowflake_type(arrow_type: pa.DataType, column: str = "?") -> exp.DataType:
    """The Snowflake type a batch column of ``arrow_type`` gets."""
    import pyarrow as pa
    import pyarrow.types as at

    from loaders.typemap import build, is_json

    t = arrow_type

    def of(text: str) -> exp.DataType:
        return build(text, DIALECT)

    if is_json(t):
        return of("VARIANT")
    if at.is_dictionary(t):
        return snowflake_type(t.value_type, column)
    if at.is_null(t) or at.is_string(t) or at.is_large_string(t) or str(t) == "string_view":
        return of("VARCHAR")
    if at.is_boolean(t):
        return of("BOOLEAN")
    if at.is_integer(t):
        return of("DECIMAL(38, 0)")
    if at.is_floating(t):
        return of("DOUBLE")
    if at.is_decimal(t):
        if t.precision > 38:
            raise DataError(
                f"column {column!r} is decimal({t.precision}, {t.scale}); Snowflake keeps at "
                "most 38 digits. hint: cast it in a transform"
            )
        return of(f"DECIMAL({int(t.precision)}, {int(t.scale)})")
    if at.is_binary(t) or at.is_large_binary(t) or at.is_fixed_size_binary(t):
        return of("BINARY")
    if at.is_date(t):
        return of("DATE")
    if at.is_time(t):
        return of("TIME")
    if at.is_timestamp(t):
        return of("TIMESTAMPTZ" if t.tz else "TIMESTAMPNTZ")
    nested = at.is_list(t) or at.is_large_list(t) or at.is_fixed_size_list(t)
    if nested or at.is_struct(t) or at.is_map(t):
        return of("VARIANT")
    if isinstance(t, pa.BaseExtensionType):
        return snowflake_type(t.storage_type, column)
    raise DataError(
        f"column {column!r} has Arrow type {t}, which Snowflake has no type for; "
        "hint: cast it to a string or a number in a transform"
    )
