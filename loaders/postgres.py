"""PostgreSQL: batches arrive through COPY, and each load is one transaction.

The batch is streamed from the staged Parquet file in Arrow record batches, each turned
into CSV by Arrow's C++ writer and sent with ``COPY ... FROM STDIN`` into a temporary
table of the session; the disposition, the ledger, the watermarks and the load log are
then applied and committed together. Loads of one (pipeline, table) are serialised by
``pg_advisory_xact_lock`` taken inside the transaction, so the lock ends with it.

Types: Arrow lists, structs and maps load as ``JSONB``, and so do JSON documents (the
``arrow.json`` extension a source's ``json``/``jsonb`` column arrives as); timestamps
with a time zone as ``TIMESTAMPTZ``, without as ``TIMESTAMP`` (nanoseconds round to
microseconds); decimals as ``NUMERIC(p, s)``; unsigned 64-bit integers as
``NUMERIC(20, 0)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from dagwright.errors import ConfigError, DagwrightError, DataError
from dagwright.state import crash_point
from loaders.base import DestinationConfig
from loaders.session import Session
from loaders.sql_state import SQLState, create_state
from loaders.warehouse import ROW, SQLLoader, create_table, lock_key

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa
    import sqlglot.expressions as exp

    from dagwright.intervals import Interval
    from dagwright.state import RunRecord

DIALECT = "postgres"

COLUMNS = """SELECT a.attname, format_type(a.atttypid, a.atttypmod)
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = COALESCE(CAST(? AS TEXT), current_schema()) AND c.relname = ?
      AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum"""
LOCK_TIMEOUT = "SELECT set_config('lock_timeout', ?, FALSE)"
XACT_LOCK = "SELECT pg_advisory_xact_lock(?)"
RUN_LOCK = "SELECT pg_advisory_lock(?)"
TRY_RUN_LOCK = "SELECT pg_try_advisory_lock(?)"
RUN_UNLOCK = "SELECT pg_advisory_unlock(?)"
JSON_TYPES = ("json", "jsonb")
JSON_OIDS = (114, 3802)
"""The type OIDs of ``json`` and ``jsonb``, as a cursor's description gives them."""


class PostgresState(SQLState):
    """A local run holds a session-level advisory lock on its run id while it lives; the
    server drops it with the connection when the process dies, however it dies."""

    @contextmanager
    def hold(self, run: RunRecord) -> Iterator[None]:
        loader = self.loader
        assert isinstance(loader, PostgresLoader)
        con = loader.connect()
        try:
            con.execute(_render(RUN_LOCK), [lock_key("run", run.pipeline, run.run_id)])
            yield
        finally:
            con.close()

    def alive(self, run: RunRecord, exclusive: bool) -> bool:
        loader = self.loader
        assert isinstance(loader, PostgresLoader)
        key = lock_key("run", run.pipeline, run.run_id)
        with loader.connect() as con:
            got = con.execute(_render(TRY_RUN_LOCK), [key]).fetchone()
            if got and got[0]:
                con.execute(_render(RUN_UNLOCK), [key])
                return False
        return True


class PostgresConfig(DestinationConfig):
    """A PostgreSQL database, reached through a named connection."""

    loader: Literal["postgres"] = "postgres"
    connection: str = Field(
        description=(
            "Connection name: the URL in env DAGWRIGHT_CONN_<NAME>, or the Airflow connection."
        )
    )
    schema_: str | None = Field(
        default=None, alias="schema", description="Schema for tables given without one."
    )
    lock_timeout: float = Field(
        default=60.0, description="Seconds a load waits for another load of the same table."
    )
    copy_batch_rows: int = Field(
        default=100_000, ge=1, description="Rows per Arrow batch sent through COPY."
    )


class PostgresLoader(SQLLoader[PostgresConfig]):
    """JSON columns (a source's ``json``/``jsonb``, the ``arrow.json`` extension) load as
    ``jsonb``, as do Arrow lists, structs and maps; a pushed-down step reads their fields
    with PostgreSQL's operators (``payload->>'sku'``, written with ``dialect: postgres``).
    """

    config_model = PostgresConfig
    dialect = DIALECT
    state_class = PostgresState
    primary_keys = True
    table_indexes = True

    _state_ready: bool = False

    @classmethod
    def needs(cls, config: PostgresConfig) -> tuple[str, list[tuple[str, ...]]]:
        return "postgres", [("psycopg",)]

    def describe(self) -> str:
        return f"postgres connection {self.config.connection!r}"

    def url(self) -> str:
        try:
            from dagwright.connections import resolve
        except ImportError:  # pragma: no cover - the connections module ships with the core
            import os

            var = "DAGWRIGHT_CONN_" + self.config.connection.upper()
            if var not in os.environ:
                raise ConfigError(f"connection {self.config.connection!r}: set {var}") from None
            return os.environ[var]
        conn = resolve(self.config.connection)
        scheme = conn.scheme.split("+", 1)[0]
        if scheme not in ("postgres", "postgresql"):
            raise ConfigError(
                f"connection {self.config.connection!r} is {scheme}://, not a PostgreSQL URL"
            )
        return conn.with_scheme("postgresql").url

    def connect(self) -> psycopg.Connection:
        import psycopg

        try:
            return psycopg.connect(self.url(), autocommit=True, connect_timeout=30)
        except psycopg.OperationalError as exc:
            raise ConfigError(
                f"cannot connect to PostgreSQL ({self.describe()}): {_redact(str(exc))}"
            ) from None

    @contextmanager
    def session(self) -> Iterator[Session]:
        con = self.connect()
        try:
            s = PostgresSession(con)
            if not self._state_ready:
                self._create_state(s)
            s.execute(_render(LOCK_TIMEOUT), [f"{int(self.config.lock_timeout * 1000)}ms"])
            yield s
        finally:
            con.close()

    def _create_state(self, s: Session) -> None:
        s.execute("BEGIN")
        try:
            s.execute(_render(XACT_LOCK), [lock_key("dagwright", "state")])
            create_state(s.execute)
            s.execute("COMMIT")
        except BaseException:
            s.execute("ROLLBACK")
            raise
        self._state_ready = True

    @contextmanager
    def run_lock(self, pipeline: str, interval: Interval | None = None) -> Iterator[bool]:
        """One local run of a pipeline and interval at a time: a session-level advisory
        lock, held on a connection of its own for the run (the server drops it if the
        process dies). Runs of other intervals go on in parallel (backfills)."""
        import psycopg

        window = [interval.start.isoformat(), interval.end.isoformat()] if interval else []
        key = lock_key("runs of", pipeline, *window)
        con = self.connect()
        try:
            con.execute(_render(LOCK_TIMEOUT), [f"{int(self.config.lock_timeout * 1000)}ms"])
            try:
                con.execute(_render(RUN_LOCK), [key])
            except psycopg.errors.LockNotAvailable:
                raise DagwrightError(
                    f"another run of {pipeline!r} for this interval is writing to "
                    f"{self.describe()} (waited {self.config.lock_timeout:g}s); hint: let it "
                    "finish, or raise lock_timeout"
                ) from None
            yield False
        finally:
            con.close()

    def lock(self, s: Session, pipeline: str, table_name: str) -> None:
        s.execute(_render(XACT_LOCK), [lock_key(pipeline, table_name)])

    def create_schema(self, s: Session, schema: exp.Identifier) -> None:
        """Concurrent ``CREATE SCHEMA IF NOT EXISTS`` can collide: one at a time."""
        s.execute(_render(XACT_LOCK), [lock_key("schema", schema.name)])
        super().create_schema(s, schema)

    def stage(self, s: Session, stage: exp.Table, uri: str, cols: dict[str, exp.DataType]) -> None:
        import pyarrow.parquet as pq
        import sqlglot.expressions as exp

        from dagwright.sql.render import ident
        from dagwright.staging import local_path
        from loaders.typemap import build

        create = create_table(stage, cols, temp=True)
        identity = exp.ColumnConstraint(kind=exp.GeneratedAsIdentityColumnConstraint(this=True))
        row = exp.ColumnDef(this=ident(ROW), kind=build("BIGINT", DIALECT), constraints=[identity])
        create.this.append("expressions", row)
        s.run(create)
        copy = exp.Copy(
            this=exp.Schema(this=stage.copy(), expressions=[ident(c) for c in cols]),
            kind=True,
            files=[exp.var("STDIN")],
            params=[exp.CopyParameter(this=exp.var("FORMAT"), expression=exp.var("CSV"))],
        )
        sql = copy.sql(DIALECT)
        s.executed.append(sql)
        assert isinstance(s, PostgresSession)
        parquet = pq.ParquetFile(local_path(uri))
        with s.con.cursor() as cur, cur.copy(sql) as pipe:
            for n, batch in enumerate(parquet.iter_batches(batch_size=self.config.copy_batch_rows)):
                pipe.write(to_csv(batch))
                if n == 0:
                    crash_point("stage:copy")

    def table_columns(self, s: Session, target: exp.Table) -> dict[str, exp.DataType] | None:
        from loaders.typemap import build

        schema = target.args.get("db")
        rows = s.execute(_render(COLUMNS), [schema.name if schema else None, target.name])
        return {name: build(kind, DIALECT) for name, kind in rows} or None

    def is_conflict(self, exc: BaseException) -> bool:
        import psycopg.errors as e

        return isinstance(exc, e.SerializationFailure | e.DeadlockDetected)

    def wrap_error(self, exc: Exception) -> Exception:
        import psycopg

        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return DagwrightError(
                f"another load of the same table held its lock for more than "
                f"{self.config.lock_timeout:g}s ({self.describe()}); hint: retry later "
                "or raise lock_timeout"
            )
        if isinstance(exc, psycopg.DataError | psycopg.IntegrityError):
            return DataError(f"PostgreSQL refused the batch: {_redact(str(exc)).strip()}")
        if isinstance(exc, psycopg.Error):
            return DagwrightError(f"PostgreSQL ({self.describe()}): {_redact(str(exc)).strip()}")
        return exc

    def fetch_arrow(self, s: Session, sql: str) -> pa.Table:
        import pyarrow as pa
        from psycopg.types.string import TextLoader

        from loaders.typemap import json_column

        assert isinstance(s, PostgresSession)
        with s.con.cursor() as cur:
            for name in JSON_TYPES:  # JSON as its text, not parsed into Python objects
                cur.adapters.register_loader(name, TextLoader)
            cur.execute(sql)
            names = [d.name for d in cur.description or []]
            json_columns = {d.name for d in cur.description or [] if d.type_code in JSON_OIDS}
            rows = cur.fetchall()
        if not rows:
            return pa.table({n: pa.array([], pa.null()) for n in names})
        columns = {
            n: json_column([r[i] for r in rows]) if n in json_columns else [r[i] for r in rows]
            for i, n in enumerate(names)
        }
        return pa.table(columns)


class PostgresSession(Session):
    dialect = DIALECT

    def __init__(self, con: psycopg.Connection) -> None:
        super().__init__()
        self.con = con

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        with self.con.cursor() as cur:
            cur.execute(sql, list(params) if params else None)
            return cur.fetchall() if cur.description else []

    def sql(self, statement: exp.Expression, with_params: bool = False) -> str:
        """With bound parameters, a ``%`` inside a quoted name is doubled for psycopg."""
        import sqlglot.expressions as exp

        if with_params:

            def escape(node: exp.Expression) -> exp.Expression:
                if isinstance(node, exp.Identifier) and "%" in node.name:
                    return exp.to_identifier(node.name.replace("%", "%%"), quoted=True)
                return node

            statement = statement.transform(escape)
        return statement.sql(dialect=self.dialect)


def to_csv(batch: pa.RecordBatch) -> bytes:
    """One Arrow batch as PostgreSQL CSV: NULL unquoted and empty, every value quoted."""
    import pyarrow as pa
    import pyarrow.csv as csv

    columns = [_csv_ready(batch.column(i)) for i in range(batch.num_columns)]
    table = pa.RecordBatch.from_arrays(columns, names=[f"c{i}" for i in range(len(columns))])
    sink = pa.BufferOutputStream()
    csv.write_csv(table, sink, csv.WriteOptions(include_header=False, quoting_style="all_valid"))
    return sink.getvalue().to_pybytes()


def _csv_ready(array: pa.Array) -> pa.Array:
    """A column Arrow's CSV writer renders as PostgreSQL reads it back."""
    import json

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as at

    from loaders.typemap import jsonable

    t = array.type
    if isinstance(t, pa.BaseExtensionType):  # arrow.json: its text, as JSONB reads it
        return _csv_ready(array.storage)
    if at.is_dictionary(t):
        return _csv_ready(array.dictionary_decode())
    if at.is_null(t):
        return pa.nulls(len(array), pa.string())
    if at.is_floating(t) and t.bit_width == 16:
        return pc.cast(array, pa.float32())
    if at.is_binary(t) or at.is_large_binary(t) or at.is_fixed_size_binary(t):
        return pa.array(
            [None if v is None else "\\x" + v.hex() for v in array.to_pylist()], pa.string()
        )
    if at.is_duration(t):
        micros = pc.cast(pc.cast(array, pa.duration("us")), pa.int64())
        return pa.array(
            [None if v is None else f"{v} microseconds" for v in micros.to_pylist()], pa.string()
        )
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


def _redact(text: str) -> str:
    try:
        from dagwright.connections import redact
    except ImportError:  # pragma: no cover
        return text
    return redact(text)


@cache
def _render(template: str) -> str:
    """Rendered on first use: importing the plugin (to read its config) renders nothing."""
    from dagwright.sql.render import render

    return render(template, DIALECT)
