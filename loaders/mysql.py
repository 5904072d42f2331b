"""MySQL and MariaDB: batches arrive through ``LOAD DATA LOCAL INFILE``; data, ledger and
watermarks commit in one InnoDB transaction.

MySQL's DDL commits the open transaction, so a load runs in two parts under a named lock
of the table (``GET_LOCK``, held by the session for the whole load): first the batch is
staged in a temporary table (``CREATE TEMPORARY TABLE`` and ``LOAD DATA`` commit
nothing), checked and de-duplicated, and the table is created or evolved; then one
transaction applies the disposition (``replace`` deletes rather than truncates, since
``TRUNCATE`` is DDL) and writes the state. What is not atomic: a table or a column the
first part created stays if the load fails after it (empty, or null in every row); no
row and no state of a failed load ever does.

``LOAD DATA LOCAL`` turns bad values into warnings, not errors; every warning of a
batch fails the load with the row and column MySQL names, so nothing is truncated
silently.

Types (``column_type``): strings ``LONGTEXT``, binary ``LONGBLOB``, timestamps
``DATETIME(6)`` in UTC (the session's time zone is UTC; a time zone is not kept),
booleans ``BOOLEAN`` (``TINYINT(1)``), decimals ``DECIMAL(p, s)`` up to 65 digits, JSON
documents and Arrow lists, structs and maps ``JSON`` (MariaDB stores it as checked
``LONGTEXT``). Durations have no MySQL type and are refused.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from pydantic import Field

from dagwright.errors import ConfigError, DagwrightError, DataError
from dagwright.state import crash_point
from loaders.base import DestinationConfig
from loaders.session import Session
from loaders.sql_state import SQLState, create_state
from loaders.warehouse import ROW, SQLLoader, create_table, lock_key

if TYPE_CHECKING:
    import pyarrow as pa
    import pymysql
    import sqlglot.expressions as exp

    from dagwright.intervals import Interval
    from dagwright.state import RunRecord

DIALECT = "mysql"
COLUMNS = """SELECT column_name, column_type FROM information_schema.columns
    WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ?
    ORDER BY ordinal_position"""
JSON_CHECKED = """SELECT constraint_name FROM information_schema.check_constraints
    WHERE constraint_schema = COALESCE(?, DATABASE()) AND table_name = ?
      AND check_clause LIKE 'json_valid(%'"""
"""MariaDB's JSON columns: ``LONGTEXT`` with a ``json_valid`` check named as the column."""
DROP_TEMPORARY = "DROP TEMPORARY TABLE IF EXISTS :stage"
SESSION = (
    "SET time_zone = '+00:00', innodb_lock_wait_timeout = {seconds}, sql_notes = 0, "
    "wait_timeout = 31536000, "
    "sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES')"
)
"""Every session: UTC; strict (a value that does not fit fails, never truncates); notes
off, so the warnings a ``LOAD DATA`` leaves are its refused values only; a lock
connection idle through a long run is not dropped (with the run's lock)."""
COLLATIONS = {True: "utf8mb4_nopad_bin", False: "utf8mb4_0900_bin"}
"""Binary, no-pad collations (MariaDB, MySQL 8): keys and values compare as DuckDB and
PostgreSQL compare them, case, accents and trailing spaces included."""
GET_LOCK = "SELECT GET_LOCK(?, ?)"
RELEASE_LOCK = "SELECT RELEASE_LOCK(?)"
IS_FREE_LOCK = "SELECT IS_FREE_LOCK(?)"
JSON_FIELD = 245
TINY_FIELD = 1
TIME_FIELD = 11
LONGLONG_FIELD = 8
UNSIGNED_FLAG = 32
"""PyMySQL's ``FIELD_TYPE`` codes and ``FLAG.UNSIGNED`` (``pymysql.constants``)."""

STATE_DDL = [
    "CREATE DATABASE IF NOT EXISTS `_dagwright`",
    """CREATE TABLE IF NOT EXISTS `_dagwright`.`runs` (
        run_id VARCHAR(255) PRIMARY KEY, pipeline VARCHAR(255) NOT NULL,
        interval_start DATETIME(6), interval_end DATETIME(6), status VARCHAR(32) NOT NULL,
        started_at DATETIME(6) NOT NULL, finished_at DATETIME(6), error LONGTEXT,
        stages LONGTEXT, runner VARCHAR(255)) ENGINE=InnoDB""",
    """CREATE TABLE IF NOT EXISTS `_dagwright`.`intervals` (
        pipeline VARCHAR(191) NOT NULL, table_name VARCHAR(191) NOT NULL,
        interval_start DATETIME(6), interval_end DATETIME(6), run_id VARCHAR(255) NOT NULL,
        `rows` BIGINT NOT NULL, loaded_at DATETIME(6) NOT NULL,
        KEY (pipeline, table_name)) ENGINE=InnoDB""",
    """CREATE TABLE IF NOT EXISTS `_dagwright`.`watermarks` (
        pipeline VARCHAR(191) NOT NULL, source VARCHAR(191) NOT NULL,
        table_name VARCHAR(191) NOT NULL, value LONGTEXT, run_id VARCHAR(255) NOT NULL,
        updated_at DATETIME(6) NOT NULL, PRIMARY KEY (pipeline, source, table_name))
        ENGINE=InnoDB""",
    """CREATE TABLE IF NOT EXISTS `_dagwright`.`files` (
        pipeline VARCHAR(191) NOT NULL, table_name VARCHAR(191) NOT NULL,
        source VARCHAR(191) NOT NULL, path LONGTEXT NOT NULL, size BIGINT NOT NULL,
        modified BIGINT NOT NULL, sha256 VARCHAR(64), run_id VARCHAR(255) NOT NULL,
        loaded_at DATETIME(6) NOT NULL, KEY (pipeline, table_name)) ENGINE=InnoDB""",
    """CREATE TABLE IF NOT EXISTS `_dagwright`.`loads` (
        run_id VARCHAR(255) NOT NULL, pipeline VARCHAR(191) NOT NULL,
        table_name VARCHAR(191) NOT NULL, disposition VARCHAR(32) NOT NULL,
        interval_start DATETIME(6), interval_end DATETIME(6), `rows` BIGINT NOT NULL,
        loaded_at DATETIME(6) NOT NULL, notes LONGTEXT) ENGINE=InnoDB""",
]
UPSERTS = {
    "runs": """INSERT INTO `_dagwright`.`runs`
        (run_id, pipeline, interval_start, interval_end, status, started_at, finished_at,
         error, stages, runner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON DUPLICATE KEY UPDATE status = VALUES(status), finished_at = VALUES(finished_at),
        error = VALUES(error), stages = VALUES(stages)""",
}
"""The run log's upsert: MySQL has no ``ON CONFLICT``."""


class MySQLState(SQLState):
    """A local run holds a named lock on its run id while it lives; the server releases
    it with the connection when the process dies, however it dies."""

    @contextmanager
    def hold(self, run: RunRecord) -> Iterator[None]:
        loader = self.loader
        assert isinstance(loader, MySQLLoader)
        with loader.session() as s:
            s.execute(
                GET_LOCK, [_lock_name(loader.state_database, "run", run.pipeline, run.run_id), 0]
            )
            yield

    def alive(self, run: RunRecord, exclusive: bool) -> bool:
        loader = self.loader
        assert isinstance(loader, MySQLLoader)
        with loader.session() as s:
            name = _lock_name(loader.state_database, "run", run.pipeline, run.run_id)
            return not s.scalar(IS_FREE_LOCK, [name])


class MySQLConfig(DestinationConfig):
    """A MySQL or MariaDB database, reached through a named connection."""

    loader: Literal["mysql"] = "mysql"
    connection: str = Field(
        description=(
            "Connection name: the URL (mysql://user:password@host:3306/db) in env "
            "DAGWRIGHT_CONN_<NAME>, or the Airflow connection."
        )
    )
    schema_: str | None = Field(
        default=None,
        alias="schema",
        description="Database for tables given without one (default: the connection's).",
    )
    lock_timeout: float = Field(
        default=60.0, description="Seconds a load waits for another load of the same table."
    )
    load_batch_rows: int = Field(
        default=200_000, ge=1, description="Rows per file sent through LOAD DATA LOCAL INFILE."
    )


class MySQLLoader(SQLLoader[MySQLConfig]):
    """JSON columns load as ``JSON``; a pushed-down step reads their fields with
    ``JSON_VALUE(payload, '$.sku')`` (written with ``dialect: mysql``)."""

    config_model = MySQLConfig
    dialect = DIALECT
    state_class = MySQLState
    transactional_ddl = False
    primary_keys = True
    table_indexes = True
    _state_ready: bool = False
    _mariadb: bool | None = None
    SYSTEM_TYPES: ClassVar[dict[str, str]] = {
        "text": "VARCHAR(255)",
        "timestamptz": "DATETIME(6)",
        "boolean": "BOOLEAN",
    }

    @classmethod
    def needs(cls, config: MySQLConfig) -> tuple[str, list[tuple[str, ...]]]:
        return "mysql", [("pymysql",)]

    def describe(self) -> str:
        return f"mysql connection {self.config.connection!r}"

    def _login(self) -> dict[str, Any]:
        from dagwright.connections import resolve

        conn = resolve(self.config.connection, "mysql://user:password@host:3306/db")
        scheme = conn.scheme.split("+", 1)[0]
        if scheme not in ("mysql", "mariadb"):
            raise ConfigError(
                f"connection {self.config.connection!r} is {scheme}://, not a MySQL URL "
                "(mysql://user:password@host:3306/db)"
            )
        if not (conn.database or self.config.schema_):
            raise ConfigError(
                f"connection {self.config.connection!r} names no database; hint: end the URL "
                "with /<database>, or set schema: on the destination"
            )
        return {
            "host": conn.host or "127.0.0.1",
            "port": conn.port or 3306,
            "user": conn.login or "",
            "password": conn.password or "",
            "database": conn.database or self.config.schema_,
        }

    def connect(self) -> pymysql.connections.Connection:
        import pymysql

        seconds = max(1, int(self.config.lock_timeout))
        try:
            return pymysql.connect(
                **self._login(),
                autocommit=True,
                local_infile=True,
                charset="utf8mb4",
                connect_timeout=30,
                init_command=SESSION.format(seconds=seconds),
            )
        except pymysql.err.OperationalError as exc:
            raise ConfigError(f"cannot connect to MySQL ({self.describe()}): {exc}") from None

    @contextmanager
    def session(self) -> Iterator[Session]:
        con = self.connect()
        try:
            s = MySQLSession(con)
            if self._mariadb is None:
                self._mariadb = "mariadb" in str(s.scalar("SELECT VERSION()")).lower()
            if not self._state_ready:
                self._create_state(s)
            yield s
        finally:
            con.close()

    @cached_property
    def state_database(self) -> str:
        """Where this destination's state lives: ``_dagwright_<database>``, one per
        database of the server (as on PostgreSQL, where the state schema is per database),
        so two destinations on one server never read each other's ledger."""
        return state_database(str(self._login()["database"]))

    def _create_state(self, s: Session) -> None:
        with self._named_lock(s, _lock_name("dagwright", "state", self.state_database)):
            ddl = [moved(d, "mysql", self.state_database) for d in STATE_DDL]
            create_state(s.execute, ddl, migrations=[])
        self._state_ready = True

    def _sql(self, template: str) -> str:
        from loaders import sql_state

        if template == sql_state.UPSERT_RUN:
            return moved(UPSERTS["runs"], "mysql", self.state_database)
        return moved(template, "duckdb", self.state_database)

    @contextmanager
    def _named_lock(self, s: Session, name: str, what: str = "") -> Iterator[None]:
        got = s.scalar(GET_LOCK, [name, self.config.lock_timeout])
        if not got:
            raise DagwrightError(
                f"{what or 'another load of the same table'} held its lock for more than "
                f"{self.config.lock_timeout:g}s ({self.describe()}); hint: retry later, "
                "or raise lock_timeout"
            )
        try:
            yield
        finally:
            with suppress(Exception):  # the connection's end releases it too
                s.execute(RELEASE_LOCK, [name])

    def hold_table(
        self, s: Session, pipeline: str, table_name: str
    ) -> AbstractContextManager[None]:
        return self._named_lock(s, _lock_name(self.state_database, pipeline, table_name))

    @contextmanager
    def run_lock(self, pipeline: str, interval: Interval | None = None) -> Iterator[bool]:
        """One local run of a pipeline and interval at a time: a named lock, held on a
        connection of its own for the run (the server drops it if the process dies)."""
        window = [interval.start.isoformat(), interval.end.isoformat()] if interval else []
        what = f"another run of {pipeline!r} for this interval"
        with (
            self.session() as s,
            self._named_lock(
                s, _lock_name(self.state_database, "runs of", pipeline, *window), what
            ),
        ):
            yield False

    def drop_stage(self, s: Session, stage: exp.Table) -> None:
        from dagwright.sql.render import render

        s.execute(render(DROP_TEMPORARY, DIALECT, stage=stage))

    def index_stage(self, s: Session, stage: exp.Table, keys: list[str]) -> None:
        """MariaDB runs ``DELETE ... WHERE k IN (SELECT k FROM stage)`` and the ``EXISTS``
        of scd2 once per row of the table: an index on the staged keys makes each a lookup
        (the staged key columns are ``key_type``s, so they can be indexed)."""
        import sqlglot.expressions as exp

        from dagwright.sql.render import ident

        if not keys:
            return
        columns = [exp.column(ident(k)) for k in keys]
        index = exp.Index(
            this=ident(f"{stage.name}_keys"),
            table=stage.copy(),
            params=exp.IndexParameters(columns=columns),
        )
        s.run(exp.Create(kind="INDEX", this=index))

    def clear(self, target: exp.Table) -> exp.Expression:
        import sqlglot.expressions as exp

        return exp.delete(target.copy())

    def target(self, name: str) -> exp.Table:
        from dagwright.sql.render import table
        from dagwright.state import STATE_SCHEMA

        found = table(name, None if "." in name else self.config.schema_)
        if found.db == STATE_SCHEMA:
            return table(found.name, self.state_database)
        return found

    def system_type(self, kind: str) -> exp.DataType:
        from loaders.typemap import build

        return build(self.SYSTEM_TYPES[kind], DIALECT)

    def table_options(self) -> list[exp.Expression]:
        """A binary collation: the database's default (often case- and accent-insensitive)
        would make a merge take ``'a'`` and ``'A'`` for one key."""
        import sqlglot.expressions as exp

        if self._mariadb is None:
            with self.session():
                pass
        collation = COLLATIONS[bool(self._mariadb)]
        return [
            exp.CharacterSetProperty(this=exp.var("utf8mb4"), default=True),
            exp.CollateProperty(this=exp.var(collation), default=True),
        ]

    def column_type(self, arrow_type: pa.DataType, column: str) -> exp.DataType:
        return mysql_type(arrow_type, column)

    def declared_type(self, text: str) -> exp.DataType:
        """A declared type as MySQL can hold it: a string without a length is
        ``LONGTEXT``, a timestamp ``DATETIME(6)``, a blob ``LONGBLOB``."""
        import sqlglot.expressions as exp

        from loaders.typemap import build

        parsed = build(text, "duckdb")
        T = exp.DType
        if parsed.this in (T.VARCHAR, T.TEXT, T.CHAR) and not parsed.expressions:
            return build("LONGTEXT", DIALECT)
        if parsed.this in (T.TIMESTAMP, T.TIMESTAMPTZ, T.DATETIME, T.TIMESTAMP_NS):
            return build("DATETIME(6)", DIALECT)
        if parsed.this in (T.BLOB, T.VARBINARY) and not parsed.expressions:
            return build("LONGBLOB", DIALECT)
        return parsed

    def key_type(self, dtype: exp.DataType) -> exp.DataType:
        """MySQL keys and indexes cannot hold a ``LONGTEXT`` or ``LONGBLOB`` whole: such a
        column becomes ``VARCHAR(255)`` or ``VARBINARY(255)`` (a longer value is refused)."""
        from loaders.typemap import build

        name = dtype.this.name
        if name.endswith("TEXT"):
            return build("VARCHAR(255)", DIALECT)
        if name.endswith("BLOB"):
            return build("VARBINARY(255)", DIALECT)
        return dtype

    def staging_statements(
        self, stage: exp.Table, cols: dict[str, exp.DataType]
    ) -> list[exp.Expression | str]:
        return [self._stage_table(stage, cols), self._load_data(stage, cols, "<batch file>")]

    def _stage_table(self, stage: exp.Table, cols: dict[str, exp.DataType]) -> exp.Create:
        import sqlglot.expressions as exp

        from dagwright.sql.render import ident
        from loaders.typemap import build

        create = create_table(stage, cols, temp=True)
        create.args["properties"].append("expressions", self.table_options()[1])
        constraints = [
            exp.ColumnConstraint(kind=exp.AutoIncrementColumnConstraint()),
            exp.ColumnConstraint(kind=exp.PrimaryKeyColumnConstraint()),
        ]
        row = exp.ColumnDef(this=ident(ROW), kind=build("BIGINT", DIALECT), constraints=constraints)
        create.this.append("expressions", row)
        return create

    def _load_data(self, stage: exp.Table, cols: dict[str, exp.DataType], path: str) -> str:
        from dagwright.sql.render import ident

        names, sets = [], []
        for n, (name, dtype) in enumerate(cols.items()):
            column = ident(name).sql(DIALECT)
            if dtype.this.name.endswith("BLOB") or dtype.this.name.endswith("BINARY"):
                names.append(f"@v{n}")
                sets.append(f"{column} = UNHEX(@v{n})")
            else:
                names.append(column)
        text = (
            f"LOAD DATA LOCAL INFILE {_quote(path)} INTO TABLE {stage.sql(DIALECT)} "
            "CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' "
            f"ESCAPED BY '' LINES TERMINATED BY '\\n' ({', '.join(names)})"
        )
        return text + (f" SET {', '.join(sets)}" if sets else "")

    def stage(self, s: Session, stage: exp.Table, uri: str, cols: dict[str, exp.DataType]) -> None:
        import pyarrow.parquet as pq

        from dagwright.staging import local_path

        s.run(self._stage_table(stage, cols))
        assert isinstance(s, MySQLSession)
        parquet = pq.ParquetFile(local_path(uri))
        offset = 0
        with tempfile.TemporaryDirectory(prefix="dagwright-mysql-") as tmp:
            path = str(Path(tmp) / "batch.csv")
            statement = self._load_data(stage, cols, path)
            s.executed.append(self._load_data(stage, cols, "<batch file>"))
            for n, batch in enumerate(parquet.iter_batches(batch_size=self.config.load_batch_rows)):
                Path(path).write_bytes(to_csv(batch))
                warnings = s.load_file(statement)
                if warnings:
                    raise DataError(_warning_message(warnings, offset, uri))
                offset += batch.num_rows
                if n == 0:
                    crash_point("stage:copy")

    def dedupe_statements(self, stage: exp.Table, keys: list[str]) -> list[exp.Expression | str]:
        """MySQL cannot read a table it deletes from, nor open a temporary table twice in
        one statement: the rows to keep go to a second temporary table first."""
        import sqlglot.expressions as exp

        from dagwright.sql.render import ident, render, table
        from loaders.typemap import build
        from loaders.warehouse import insert

        keep = table(f"{stage.name}_keep")
        row = exp.column(ident(ROW))
        create = create_table(keep, {ROW: build("BIGINT", DIALECT)}, temp=True)
        create.this.expressions[0].append(
            "constraints", exp.ColumnConstraint(kind=exp.PrimaryKeyColumnConstraint())
        )
        last = (
            exp.select(exp.Max(this=row.copy()).as_(ident(ROW)))
            .from_(stage.copy())
            .group_by(*[exp.column(ident(k)) for k in keys])
        )
        kept = exp.In(this=row.copy(), query=exp.Subquery(this=exp.select(row).from_(keep)))
        return [
            render(DROP_TEMPORARY, DIALECT, stage=keep),
            create,
            insert(keep, [ROW], last),
            exp.delete(stage.copy(), where=exp.Not(this=kept)),
        ]

    def table_columns(self, s: Session, target: exp.Table) -> dict[str, exp.DataType] | None:
        schema = target.args.get("db")
        key = [schema.name if schema else None, target.name]
        rows = s.execute(COLUMNS, key)
        if not rows:
            return None
        checked = {r[0] for r in s.execute(JSON_CHECKED, key)} if self._mariadb else set()
        return {name: read_type(kind, name in checked) for name, kind in rows}

    def is_conflict(self, exc: BaseException) -> bool:
        import pymysql

        return isinstance(exc, pymysql.err.OperationalError) and exc.args[0] in (1213, 1205)

    def wrap_error(self, exc: Exception) -> Exception:
        import pymysql

        if isinstance(exc, pymysql.err.OperationalError) and exc.args[0] == 1205:
            return DagwrightError(
                f"another load of the same table held its lock for more than "
                f"{self.config.lock_timeout:g}s ({self.describe()}); hint: retry later "
                "or raise lock_timeout"
            )
        if isinstance(exc, pymysql.err.DataError | pymysql.err.IntegrityError):
            return DataError(f"MySQL refused the batch: {exc.args[-1]}")
        if isinstance(exc, pymysql.err.OperationalError) and exc.args[0] in (1366, 1292, 4025):
            return DataError(f"MySQL refused the batch: {exc.args[-1]}")
        if isinstance(exc, pymysql.err.MySQLError):
            return DagwrightError(f"MySQL ({self.describe()}): {exc.args[-1]}")
        return exc

    def fetch_arrow(self, s: Session, sql: str, params: Any = None) -> pa.Table:
        import pyarrow as pa

        from loaders.typemap import as_json

        assert isinstance(s, MySQLSession)
        with s.con.cursor() as cur:
            cur.execute(sql, params)
            description = cur.description or ()
            fields = cur._result.fields if cur._result and cur._result.fields else []
            rows = cur.fetchall()
        names = [d[0] for d in description]
        if not rows:
            return pa.table({n: pa.array([], pa.null()) for n in names})
        columns: dict[str, Any] = {}
        for i, d in enumerate(description):
            values = [r[i] for r in rows]
            unsigned = bool(fields and fields[i].flags & UNSIGNED_FLAG)
            if d[1] == JSON_FIELD:
                columns[d[0]] = as_json(pa.array(values, pa.string()))
            elif d[1] == TINY_FIELD and d[3] == 1:  # TINYINT(1): BOOLEAN
                columns[d[0]] = pa.array([None if v is None else bool(v) for v in values])
            elif d[1] == TIME_FIELD:  # PyMySQL gives TIME as a timedelta
                columns[d[0]] = pa.array([_time_of(v) for v in values], pa.time64("us"))
            elif d[1] == LONGLONG_FIELD and unsigned:
                columns[d[0]] = pa.array(values, pa.uint64())
            else:
                columns[d[0]] = pa.array(values)
        return pa.table(columns)

    def read_table(self, table_name: str) -> pa.Table:
        """The table's rows; its JSON columns as the lists and structs they were loaded
        from (MariaDB gives them as text)."""
        from dagwright.sql.render import render
        from loaders.typemap import json_column

        target = self.target(table_name)
        with self.session() as s:
            types = self.table_columns(s, target) or {}
            rows = self.fetch_arrow(s, render("SELECT * FROM :target", DIALECT, target=target))
        for name, dtype in types.items():
            if dtype.this.name == "JSON" and rows.num_rows:
                column = json_column(rows.column(name).cast("string").to_pylist())
                rows = rows.set_column(rows.schema.get_field_index(name), name, column)
        return rows

    def run_pushdown(self, compiled: CompiledQuery, values: Any, path: str) -> None:
        """Run a pushed-down step's query here and write its rows to ``path`` (a query
        MySQL refuses fails before anything is written)."""
        import pyarrow.parquet as pq
        import pymysql

        from dagwright.errors import QueryRefused

        sql = named_pyformat(compiled.sql) if values else compiled.sql
        bound = {k: _bindable(v) for k, v in values.items()} if values else None
        with self.session() as s:
            assert isinstance(s, MySQLSession)
            try:
                table = self.fetch_arrow(s, sql, bound)
            except pymysql.err.MySQLError as exc:
                raise QueryRefused(str(exc.args[-1])) from None
        pq.write_table(table, path)


class CompiledQuery(Protocol):
    """A pushed-down step's query as the pushdown stage compiled it for MySQL."""

    sql: str


class MySQLSession(Session):
    """Values bind client-side (PyMySQL's ``%s``); timestamps go in and come out in UTC."""

    dialect = DIALECT

    def __init__(self, con: pymysql.connections.Connection) -> None:
        super().__init__()
        self.con = con

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        with self.con.cursor() as cur:
            if params:
                cur.execute(pyformat(sql), [_bindable(v) for v in params])
            else:
                cur.execute(sql)
            rows = cur.fetchall() if cur.description else ()
        return [tuple(_aware(v) for v in row) for row in rows]

    def load_file(self, statement: str) -> list[tuple]:
        """Run a ``LOAD DATA LOCAL INFILE``; the warnings it raised (level, code, text)."""
        with self.con.cursor() as cur:
            cur.execute(statement)
            if not cur.warning_count:
                return []
            cur.execute("SHOW WARNINGS LIMIT 5")
            return [w for w in cur.fetchall() if w[0] != "Note"]


def pyformat(sql: str) -> str:
    """``sql`` with its ``?`` placeholders as PyMySQL's ``%s`` (and every ``%`` doubled):
    question marks inside quoted names or strings stay as they are."""
    out, quote = [], ""
    for ch in sql:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'`\"":
            quote = ch
        elif ch == "?":
            out.append("%s")
            continue
        out.append("%%" if ch == "%" else ch)
    return "".join(out)


_NAMED = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")


def named_pyformat(sql: str) -> str:
    """A compiled step's ``:name`` parameters as PyMySQL's ``%(name)s`` (``%`` doubled);
    text inside quoted names and strings stays as it is."""
    out, quote, i = [], "", 0
    while i < len(sql):
        ch = sql[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'`\"":
            quote = ch
        elif ch == ":" and (match := _NAMED.match(sql, i)):
            out.append(f"%({match.group(1)})s")
            i = match.end()
            continue
        out.append("%%" if ch == "%" else ch)
        i += 1
    return "".join(out)


def _time_of(value: Any) -> Any:
    """A ``TIME`` value (a ``timedelta`` from PyMySQL) as a time of day."""
    from datetime import time, timedelta

    if not isinstance(value, timedelta):
        return value
    micros = round(value.total_seconds() * 1_000_000)
    seconds, micro = divmod(micros, 1_000_000)
    return time(seconds // 3600 % 24, seconds // 60 % 60, seconds % 60, micro)


def _bindable(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


_ROW = re.compile(r"\bat row (\d+)")


def _warning_message(warnings: list[tuple], offset: int, uri: str) -> str:
    """The batch's refused values, with rows counted from 1 over the whole batch."""

    def located(text: str) -> str:
        return _ROW.sub(lambda m: f"at row {int(m.group(1)) + offset}", text)

    lines = "\n".join(f"  {located(str(w[2]))}" for w in warnings)
    return (
        f"MySQL refused values of the batch {uri} (LOAD DATA would have changed them):\n"
        f"{lines}\nhint: cast the column in a transform, or fix the source"
    )


def state_database(database: str) -> str:
    """``_dagwright_<database>``, shortened with a hash to MySQL's 64 characters."""
    import hashlib

    name = f"_dagwright_{database}"
    if len(name) <= 64:
        return name
    return f"{name[:55]}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"


@lru_cache(maxsize=256)
def moved(sql: str, read: str, database: str) -> str:
    """A state statement (read in ``read``'s dialect) on the state tables of ``database``:
    every table of the ``_dagwright`` schema moved there, rendered for MySQL."""
    import sqlglot
    import sqlglot.expressions as exp

    from dagwright.sql.render import ident
    from dagwright.state import STATE_SCHEMA

    def move(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Create) and node.kind in ("SCHEMA", "DATABASE"):
            node = node.copy()
            node.set("this", exp.Table(this=ident(database)))
        elif isinstance(node, exp.Table) and node.db == STATE_SCHEMA:
            node = node.copy()
            node.set("db", ident(database))
        return node

    return sqlglot.parse_one(sql, read=read).transform(move).sql(DIALECT)


def _lock_name(*parts: str) -> str:
    """A named lock (MySQL allows 64 characters) for ``parts``."""
    return f"dagwright:{lock_key(*parts) & 0xFFFFFFFFFFFFFFFF:016x}"


_DISPLAY_WIDTH = re.compile(r"^(tinyint|smallint|mediumint|int|bigint)\(\d+\)")


def read_type(column_type: str, json_checked: bool = False) -> exp.DataType:
    """A column's type as ``information_schema.columns.column_type`` gives it, as the type
    ``mysql_type`` gives a batch column (``tinyint(1)`` is a boolean)."""
    from loaders.typemap import build

    text = column_type.lower()
    if text.startswith("tinyint(1)") and "unsigned" not in text:
        return build("BOOLEAN", DIALECT)
    if json_checked and text == "longtext":
        return build("JSON", DIALECT)
    return build(_DISPLAY_WIDTH.sub(r"\1", text).replace(" zerofill", ""), DIALECT)


def mysql_type(arrow_type: pa.DataType, column: str = "?") -> exp.DataType:
    """The MySQL type a batch column of ``arrow_type`` gets."""
    import pyarrow as pa
    import pyarrow.types as at

    from loaders.typemap import build, is_json

    t = arrow_type

    def of(text: str) -> exp.DataType:
        return build(text, DIALECT)

    if is_json(t):
        return of("JSON")
    if at.is_dictionary(t):
        return mysql_type(t.value_type, column)
    if at.is_null(t):
        return of("LONGTEXT")
    if at.is_boolean(t):
        return of("BOOLEAN")
    if at.is_integer(t):
        name = {8: "TINYINT", 16: "SMALLINT", 32: "INT", 64: "BIGINT"}[t.bit_width]
        return of(name if at.is_signed_integer(t) else f"{name} UNSIGNED")
    if at.is_floating(t):
        return of("DOUBLE" if t.bit_width == 64 else "FLOAT")
    if at.is_decimal(t):
        if t.precision > 65 or t.scale > 30:
            raise DataError(
                f"column {column!r} is decimal({t.precision}, {t.scale}); MySQL keeps at most "
                "65 digits, 30 after the point. hint: cast it in a transform"
            )
        return of(f"DECIMAL({int(t.precision)}, {int(t.scale)})")
    if at.is_string(t) or at.is_large_string(t) or str(t) == "string_view":
        return of("LONGTEXT")
    if at.is_binary(t) or at.is_large_binary(t) or at.is_fixed_size_binary(t):
        return of("LONGBLOB")
    if at.is_date(t):
        return of("DATE")
    if at.is_time(t):
        return of("TIME(6)")
    if at.is_timestamp(t):
        return of("DATETIME(6)")
    nested = at.is_list(t) or at.is_large_list(t) or at.is_fixed_size_list(t)
    if nested or at.is_struct(t) or at.is_map(t):
        return of("JSON")
    if isinstance(t, pa.BaseExtensionType):
        return mysql_type(t.storage_type, column)
    raise DataError(
        f"column {column!r} has Arrow type {t}, which MySQL has no type for; "
        "hint: cast it to a string or a number in a transform"
    )


def to_csv(batch: pa.RecordBatch) -> bytes:
    """One Arrow batch as the CSV ``LOAD DATA`` reads: NULL unquoted, every value quoted."""
    import pyarrow as pa
    import pyarrow.csv as csv

    columns = [_csv_ready(batch.column(i)) for i in range(batch.num_columns)]
    table = pa.RecordBatch.from_arrays(columns, names=[f"c{i}" for i in range(len(columns))])
    sink = pa.BufferOutputStream()
    options = csv.WriteOptions(include_header=False, quoting_style="all_valid", null_string="NULL")
    csv.write_csv(table, sink, options)
    return sink.getvalue().to_pybytes()


def _csv_ready(array: pa.Array) -> pa.Array:
    """A column Arrow's CSV writer renders as MySQL reads it back."""
    import json

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as at

    from loaders.typemap import jsonable

    t = array.type
    if isinstance(t, pa.BaseExtensionType):
        return _csv_ready(array.storage)
    if at.is_dictionary(t):
        return _csv_ready(array.dictionary_decode())
    if at.is_null(t):
        return pa.nulls(len(array), pa.string())
    if at.is_boolean(t):
        return pc.cast(array, pa.int8())
    if at.is_floating(t) and t.bit_width == 16:
        return pc.cast(array, pa.float32())
    if at.is_binary(t) or at.is_large_binary(t) or at.is_fixed_size_binary(t):
        return pa.array([None if v is None else v.hex() for v in array.to_pylist()], pa.string())
    if at.is_timestamp(t):  # DATETIME(6): nanoseconds are cut to microseconds
        return pc.cast(array, pa.timestamp("us"), safe=False)
    if at.is_time(t):
        return pc.cast(array, pa.time64("us"), safe=False)
    if (
        at.is_list(t)
        or at.is_large_list(t)
        or at.is_fixed_size_list(t)
        or at.is_struct(t)
        or at.is_map(t)
    ):
        return pa.array(
            [None if v is None else json.dumps(jsonable(v)) for v in array.to_pylist()],
            pa.string(),
        )
    if str(t) in ("string_view", "binary_view"):
        return pc.cast(array, pa.string())
    return array
