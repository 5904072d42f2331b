"""SQL databases: PostgreSQL, SQLite, and anything SQLAlchemy can reach.

A source reads a table (optionally some of its columns) or a query, in chunks. PostgreSQL
goes through ADBC, which streams Arrow record batches straight from the server (or
connectorx on request); every other database, and PostgreSQL without ADBC, goes through
SQLAlchemy with a server-side cursor. The connection is a name resolved by
``dagwright.connections`` (``DAGWRIGHT_CONN_<NAME>`` or an Airflow connection); a SQLite
database may also be given as a file ``path``, which holds no secret.

SQL is built by sqlglot in the database's dialect: identifiers quoted, values (watermarks,
interval bounds) bound as parameters in the driver's own parameter style.

JSON columns (PostgreSQL ``json``/``jsonb``, MySQL ``JSON``, a SQLite table's columns
declared ``JSON``) arrive as Arrow's canonical ``arrow.json`` extension over utf8: the
documents' text, as the database gives it, never parsed into Python objects.

Under a stage ``execution_timeout`` the running query is cancellable
(``dagwright.timeouts``): ADBC cancels its statement, psycopg its connection's query,
SQLite interrupts; connectorx offers no cancel, so its read runs to its end.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from dagwright.errors import ConfigError, DagwrightError, DataError
from extractors.base import Extractor, SourceConfig

if TYPE_CHECKING:
    import pyarrow as pa
    import sqlglot.expressions as exp

    from dagwright.connections import Connection

Engine = Literal["auto", "adbc", "connectorx", "sqlalchemy"]

_DIALECTS = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "sqlite": "sqlite",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mssql": "tsql",
    "oracle": "oracle",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "redshift": "redshift",
    "duckdb": "duckdb",
    "trino": "trino",
}
_MARKER = re.compile(r"__dwparam_(\w+?)__")
_JSON_OIDS = (114, 3802)
"""PostgreSQL's ``json`` and ``jsonb`` type OIDs (a psycopg description's ``type_code``)."""
_MYSQL_JSON = 245
"""MySQL's JSON field type (``pymysql.constants.FIELD_TYPE.JSON``, MySQLdb's too)."""


class SqlSourceConfig(SourceConfig):
    """Read a table or a query from a SQL database."""

    extractor: Literal["sql", "postgres", "sqlite"]
    connection: str | None = Field(
        default=None,
        description=(
            "Connection name: DAGWRIGHT_CONN_<NAME> (a URL) or an Airflow connection id. "
            "Credentials never go in the spec."
        ),
    )
    path: str | None = Field(
        default=None, description="sqlite only: the database file, relative to the project root."
    )
    table: str | None = Field(default=None, description="Table to read, e.g. public.orders.")
    columns: list[str] | None = Field(default=None, description="Columns of the table to read.")
    query: str | None = Field(default=None, description="A SELECT to read instead of a table.")
    dialect: str | None = Field(
        default=None, description="sqlglot dialect of the query; by default the database's."
    )
    chunk_size: int = Field(default=50_000, ge=1, description="Rows per record batch.")
    engine: Engine = Field(
        default="auto",
        description=(
            "auto: ADBC for PostgreSQL, SQLAlchemy otherwise. connectorx reads full extracts "
            "only (it binds no values): incremental reads fall back to ADBC."
        ),
    )

    @model_validator(mode="after")
    def _shape(self) -> SqlSourceConfig:
        if bool(self.table) == bool(self.query):
            raise ValueError("give exactly one of table or query")
        if self.columns and not self.table:
            raise ValueError("columns selects from a table; with a query, list them in the query")
        if self.path and self.extractor != "sqlite":
            raise ValueError("path is for sqlite; other databases need a connection")
        if bool(self.path) == bool(self.connection):
            raise ValueError(
                "give a connection (its URL comes from the environment or Airflow)"
                + (" or a path" if self.extractor == "sqlite" else "")
            )
        return self


class SqlExtractor(Extractor[SqlSourceConfig]):
    """JSON columns (PostgreSQL ``json`` and ``jsonb``, MySQL ``JSON``, and the columns of
    a SQLite table declared ``JSON``) arrive as JSON documents, with every engine: the
    documents' text, never parsed, typed as Arrow's ``arrow.json`` extension. They load
    as ``JSON`` in DuckDB and ``jsonb`` in PostgreSQL, and a SQL step reads their fields
    (``payload->>'sku'`` on DuckDB; in a step pushed down to PostgreSQL, written with
    ``dialect: postgres``). SQL NULL and the JSON document ``null`` stay apart. Checks
    read a JSON column as its text (``not_null``, ``unique``, ``in_set``, regexes work);
    the ones that order or average values (``between``, ``max``...) skip it with a note.

    Under the pipeline's ``execution_timeout``, the running query is cancelled on the
    server when the time is up (ADBC cancels its statement, psycopg its query, SQLite
    interrupts); connectorx cannot be cancelled, so its read runs to its end first.
    """

    config_model = SqlSourceConfig

    @classmethod
    def needs(cls, config: SqlSourceConfig) -> tuple[str, list[tuple[str, ...]]]:
        """PostgreSQL reads through ADBC, connectorx or SQLAlchemy with psycopg (the
        ``postgres`` extra has all three); other databases through SQLAlchemy."""
        if config.engine == "connectorx":
            return "postgres", [("connectorx",)]
        if config.extractor == "postgres":
            return "postgres", [("adbc_driver_postgresql",), ("sqlalchemy", "psycopg")]
        return "sql", [("sqlalchemy",)]

    def describe(self) -> str:
        what = f"table {self.config.table}" if self.config.table else "a query"
        where = self.config.connection or self.config.path
        return f"read {what} from {self.config.extractor} {where!r}"

    def _connection(self) -> Connection:
        from dagwright.connections import Connection, resolve

        cfg = self.config
        if cfg.path:
            path = (
                cfg.path if os.path.isabs(cfg.path) else str(self.context.project_root / cfg.path)
            )
            conn = Connection(name=cfg.path, scheme="sqlite", database=path)
        else:
            assert cfg.connection is not None
            try:
                conn = resolve(cfg.connection, _example(cfg.extractor))
            except ConfigError as exc:
                raise ConfigError(f"source {self.name!r}: {exc}") from None
        base = conn.scheme.split("+", 1)[0]
        if cfg.extractor == "postgres" and base not in ("postgresql", "postgres"):
            raise ConfigError(
                f"source {self.name!r}: extractor postgres needs a postgresql:// connection, "
                f"got {conn.scheme}://"
            )
        if cfg.extractor == "sqlite" and base != "sqlite":
            raise ConfigError(
                f"source {self.name!r}: extractor sqlite needs a sqlite:/// connection, "
                f"got {conn.scheme}://"
            )
        if base == "sqlite" and not os.path.isfile(conn.database or ""):
            raise DataError(
                f"source {self.name!r}: SQLite database file {conn.database!r} does not exist; "
                "check the path (a missing file is never created)"
            )
        return conn

    def _dialect(self, conn: Connection) -> str:
        return self.config.dialect or _DIALECTS.get(conn.scheme.split("+", 1)[0], "postgres")

    def _bounds(self) -> tuple[dict[str, Any], Any]:
        """Bound values of the incremental filter (``lower``/``upper``) and the old watermark."""
        inc = self.config.incremental
        previous = self.context.watermarks.get(self.name)
        if inc is None:
            return {}, None
        interval = self.context.interval
        if inc.use_interval:
            if interval is None:
                return {}, previous
            return {"lower_incl": interval.start, "upper": interval.end}, previous
        lower = previous if previous is not None else inc.initial_value
        if lower is None:
            return {}, previous
        if inc.lookback is not None and not isinstance(lower, (int, float, str)):
            lower = lower - inc.lookback
        return {"lower": lower}, previous

    def select(self, dialect: str, bounds: dict[str, Any]) -> exp.Select:
        import sqlglot
        import sqlglot.expressions as exp

        from dagwright.sql.render import ident, table

        cfg = self.config
        if cfg.table:
            cols = [exp.column(ident(c)) for c in cfg.columns or []] or [exp.Star()]
            query = exp.select(*cols).from_(table(cfg.table))
        else:
            assert cfg.query is not None
            try:
                inner = sqlglot.parse_one(cfg.query, dialect=dialect)
            except sqlglot.errors.ParseError as exc:
                raise ConfigError(
                    f"source {self.name!r}: the query does not parse: {exc}"
                ) from None
            if not isinstance(inner, exp.Query):
                raise ConfigError(
                    f"source {self.name!r}: query must be a SELECT (a source only reads), "
                    f"got {inner.key.upper()}"
                )
            if not bounds:
                return inner  # type: ignore[return-value]
            query = exp.select(exp.Star()).from_(inner.subquery("_dagwright_src"))
        inc = cfg.incremental
        if inc is not None and bounds:
            cursor = exp.column(ident(inc.cursor))
            ops = {"lower": exp.GT, "lower_incl": exp.GTE, "upper": exp.LT}
            for key in bounds:
                query = query.where(ops[key](this=cursor, expression=exp.Placeholder(this=key)))
        return query

    def batches(self) -> Iterator[pa.RecordBatch]:
        from dagwright.connections import redact
        from dagwright.timeouts import timed_out

        conn = self._connection()
        dialect = self._dialect(conn)
        bounds, previous = self._bounds()
        self.new_watermark = previous
        query = self.select(dialect, bounds)
        params = {k: _param(v, dialect) for k, v in bounds.items()}
        shown = query.sql(dialect=dialect, pretty=True)
        self.sql.append(shown + (f"\n-- bound: {', '.join(params)}" if params else ""))
        engine = self._engine(conn, bool(params))
        reader = {"adbc": _adbc, "connectorx": _connectorx, "sqlalchemy": _sqlalchemy}[engine]
        try:
            for batch in reader(conn, query, dialect, params, self.config.chunk_size):
                self._track(batch)
                yield batch
        except DagwrightError as exc:
            if (late := timed_out()) is not None:
                raise late from None
            raise type(exc)(f"source {self.name!r}: {redact(str(exc))}") from None
        except Exception as exc:  # noqa: BLE001 - driver errors become one clean line
            if (late := timed_out()) is not None:  # cancelled by the stage's timeout
                raise late from None
            raise _driver_error(self.name, conn, exc) from None

    def preview(self, con: Any) -> Any:
        """The columns and types of the rows this source would read, from a ``LIMIT 0``
        query on the database (no row is read)."""
        import pyarrow as pa
        import sqlglot.expressions as exp

        from dagwright.connections import redact

        conn = self._connection()
        dialect = self._dialect(conn)
        query = exp.select(exp.Star()).from_(self.select(dialect, {}).subquery("_preview"))
        reader = {"adbc": _adbc, "connectorx": _connectorx, "sqlalchemy": _sqlalchemy}[
            self._engine(conn, False)
        ]
        try:
            batches = list(reader(conn, query.limit(0), dialect, {}, self.config.chunk_size))
        except DagwrightError as exc:
            raise type(exc)(f"source {self.name!r}: {redact(str(exc))}") from None
        except Exception as exc:  # noqa: BLE001 - driver errors become one clean line
            raise _driver_error(self.name, conn, exc) from None
        if not batches:
            return None
        return con.from_arrow(pa.Table.from_batches(batches))

    def _engine(self, conn: Connection, has_params: bool) -> str:
        import importlib.util

        wanted = self.config.engine
        postgres = conn.scheme.split("+", 1)[0] in ("postgresql", "postgres")
        adbc = postgres and importlib.util.find_spec("adbc_driver_postgresql") is not None
        if wanted == "connectorx" and not has_params:
            return "connectorx"
        if wanted in ("auto", "adbc", "connectorx") and adbc:
            return "adbc"
        if wanted == "adbc":
            raise ConfigError(
                f"source {self.name!r}: engine adbc needs PostgreSQL and adbc-driver-postgresql "
                "(pip install 'dagwright[postgres]')"
            )
        return "sqlalchemy"

    def _track(self, batch: pa.RecordBatch) -> None:
        inc = self.config.incremental
        if inc is None or batch.num_rows == 0:
            return
        import pyarrow.compute as pc

        if inc.cursor not in batch.schema.names:
            raise DataError(
                f"incremental cursor column {inc.cursor!r} is not among the columns read "
                f"({', '.join(batch.schema.names)})"
            )
        top = pc.max(batch.column(inc.cursor)).as_py()
        if top is not None and (self.new_watermark is None or top > self.new_watermark):
            self.new_watermark = top


def _param(value: Any, dialect: str) -> Any:
    """SQLite has no timestamp type: datetimes compare as its ISO text."""
    from datetime import datetime

    if dialect == "sqlite" and isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    return value


def render(query: exp.Expression, dialect: str, paramstyle: str, values: dict[str, Any]) -> tuple:
    """SQL text in ``dialect`` and its parameters in the driver's ``paramstyle``."""
    import sqlglot.expressions as exp

    tree = query.copy()
    for node in list(tree.find_all(exp.Placeholder)):
        node.replace(exp.var(f"__dwparam_{node.name}__"))
    sql = tree.sql(dialect=dialect)
    if not values:
        return sql, None
    if paramstyle in ("format", "pyformat"):
        sql = sql.replace("%", "%%")
    order = [m.group(1) for m in _MARKER.finditer(sql)]
    styles = {
        "qmark": lambda n, i: "?",
        "numeric": lambda n, i: f":{i}",
        "named": lambda n, i: f":{n}",
        "format": lambda n, i: "%s",
        "pyformat": lambda n, i: f"%({n})s",
        "numeric_dollar": lambda n, i: f"${i}",
    }
    style = styles[paramstyle]
    counter = iter(range(1, len(order) + 1))
    sql = _MARKER.sub(lambda m: style(m.group(1), next(counter)), sql)
    if paramstyle in ("named", "pyformat"):
        return sql, {n: values[n] for n in order}
    return sql, tuple(values[n] for n in order)


def _adbc(
    conn: Connection, query: exp.Expression, dialect: str, values: dict[str, Any], chunk: int
) -> Iterator[pa.RecordBatch]:
    import adbc_driver_postgresql.dbapi as adbc

    from dagwright.timeouts import cancellable

    sql, params = render(query, dialect, "numeric_dollar", values)
    url = conn.with_scheme("postgresql").url
    with adbc.connect(url) as db, db.cursor() as cur, cancellable(cur.adbc_cancel):
        cur.execute(sql, params)
        for batch in _rechunk(cur.fetch_record_batch(), chunk):
            yield _plain_types(batch)


def _plain_types(batch: pa.RecordBatch) -> pa.RecordBatch:
    """ADBC hands PostgreSQL numeric over as an opaque string: make it a decimal. JSON
    (``json``, ``jsonb``) it hands over as ``arrow.json``, which stays (over utf8)."""
    import pyarrow as pa

    arrays, fields = [], []
    for column, field in zip(batch.columns, batch.schema, strict=True):
        if _is_json(field.type):
            column, field = _json_array(column), pa.field(field.name, _json_type())
        elif (
            isinstance(field.type, pa.BaseExtensionType)
            and (field.metadata or {}).get(b"POSTGRESQL:type") == b"numeric"
        ):
            typmod = int((field.metadata or {}).get(b"POSTGRESQL:typmod", b"-1"))
            target = (
                pa.decimal128((typmod - 4) >> 16, (typmod - 4) & 0xFFFF)
                if typmod >= 4
                else pa.decimal128(38, 10)
            )
            column = column.storage.cast(target)
            field = pa.field(field.name, target)
        arrays.append(column)
        fields.append(pa.field(field.name, field.type, field.nullable))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def _connectorx(
    conn: Connection, query: exp.Expression, dialect: str, values: dict[str, Any], chunk: int
) -> Iterator[pa.RecordBatch]:
    import connectorx as cx

    sql, _ = render(query, dialect, "qmark", {})
    url = conn.with_scheme("postgresql" if dialect == "postgres" else conn.scheme).url
    json_columns = _postgres_json_columns(url, query, dialect) if dialect == "postgres" else set()
    reader = cx.read_sql(url, sql, return_type="arrow_stream", batch_size=chunk)
    for batch in _rechunk(reader, chunk):
        yield _with_json(batch, json_columns)


def _postgres_json_columns(url: str, query: exp.Expression, dialect: str) -> set[str]:
    """The query's ``json``/``jsonb`` columns, which connectorx reads as plain strings:
    described by PostgreSQL itself (the query under ``LIMIT 0``, through psycopg)."""
    try:
        import psycopg
    except ImportError:  # without psycopg they stay text
        return set()
    import sqlglot.expressions as exp

    probe = exp.select(exp.Star()).from_(query.subquery("_dagwright_probe")).limit(0)
    with psycopg.connect(url) as db, db.cursor() as cur:
        cur.execute(probe.sql(dialect=dialect))
        return {d.name for d in cur.description or [] if d.type_code in _JSON_OIDS}


def _json_type() -> pa.DataType:
    import pyarrow as pa

    return pa.json_(pa.string())


def _is_json(t: pa.DataType) -> bool:
    return getattr(t, "extension_name", None) == "arrow.json"


def _json_array(array: pa.Array) -> pa.Array:
    """JSON texts (utf8 of any width, or ``arrow.json``) as ``arrow.json`` over utf8."""
    import pyarrow as pa

    if _is_json(array.type):
        array = array.storage
    if array.type != pa.string():
        array = array.cast(pa.string())
    return pa.ExtensionArray.from_storage(_json_type(), array)


def _json_texts(values: tuple | list) -> pa.Array:
    """Values a driver gave for a JSON column as ``arrow.json``: text as it is, anything a
    driver parsed (dicts, lists, numbers) serialised again."""
    import json

    import pyarrow as pa

    texts = [
        v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in values
    ]
    return pa.ExtensionArray.from_storage(_json_type(), pa.array(texts, pa.string()))


def _with_json(batch: pa.RecordBatch, columns: set[str]) -> pa.RecordBatch:
    """``batch`` with ``columns`` (JSON texts) typed ``arrow.json``."""
    import pyarrow as pa

    if not columns:
        return batch
    arrays, fields = [], []
    for column, field in zip(batch.columns, batch.schema, strict=True):
        if field.name in columns:
            column, field = _json_array(column), pa.field(field.name, _json_type())
        arrays.append(column)
        fields.append(field)
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def _rechunk(reader: Any, chunk: int) -> Iterator[pa.RecordBatch]:
    """Batches of at most ``chunk`` rows; one empty batch when there are none (the schema)."""
    empty = True
    for batch in reader:
        for start in range(0, batch.num_rows, chunk):
            empty = False
            yield batch.slice(start, chunk)
    if empty:
        yield _empty_batch(reader.schema)


def _empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)


def _sqlalchemy(
    conn: Connection, query: exp.Expression, dialect: str, values: dict[str, Any], chunk: int
) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa
    import sqlalchemy

    scheme = conn.scheme
    if scheme in ("postgresql", "postgres"):
        scheme = "postgresql+psycopg"
    url = (
        f"sqlite:///{conn.database}"
        if scheme.split("+", 1)[0] == "sqlite"
        else conn.with_scheme(scheme).url
    )
    engine = sqlalchemy.create_engine(url)
    try:
        sql, params = render(query, dialect, engine.dialect.paramstyle, values)
        with engine.connect() as db:
            raw = db.connection.dbapi_connection
            _json_as_text(raw)
            with _cancellable(raw):
                result = db.execution_options(stream_results=True, yield_per=chunk).exec_driver_sql(
                    sql, params
                )
                names = list(result.keys())
                json_columns = _described_json(result.cursor.description, names)
                if scheme.split("+", 1)[0] == "sqlite":
                    json_columns |= _declared_json(db, query)
                schema: pa.Schema | None = None
                for rows in result.partitions(chunk):
                    columns = list(zip(*rows, strict=True))
                    if schema is None:
                        batch = pa.RecordBatch.from_arrays(
                            [
                                _json_texts(c) if n in json_columns else _widen(pa.array(c))
                                for n, c in zip(names, columns, strict=True)
                            ],
                            names,
                        )
                        schema = batch.schema
                    else:
                        batch = _typed_batch(columns, schema)
                    yield batch
                if schema is None:
                    declared = _declared_schema(db, query, names, dialect)
                    yield _empty_batch(
                        pa.schema(
                            [
                                pa.field(f.name, _json_type()) if f.name in json_columns else f
                                for f in declared
                            ]
                        )
                    )
    finally:
        engine.dispose()


def _json_as_text(raw: Any) -> None:
    """Have psycopg hand JSON over as its text, not parsed into Python objects."""
    adapters = getattr(raw, "adapters", None)
    if adapters is not None and type(raw).__module__.startswith("psycopg"):
        from psycopg.types.string import TextLoader

        for name in ("json", "jsonb"):
            adapters.register_loader(name, TextLoader)
    elif type(raw).__module__.startswith("psycopg2"):
        import psycopg2.extras

        psycopg2.extras.register_default_json(raw, loads=lambda text: text)
        psycopg2.extras.register_default_jsonb(raw, loads=lambda text: text)


def _cancellable(raw: Any) -> Any:
    """The running query cancellable by the stage's timeout, where the driver can cancel
    it from another thread (psycopg 3, psycopg2, sqlite3); other drivers run to the end."""
    import contextlib

    from dagwright.timeouts import cancellable

    for method in ("cancel_safe", "cancel", "interrupt"):
        cancel = getattr(raw, method, None)
        if callable(cancel):
            return cancellable(cancel)
    return contextlib.nullcontext()


def _described_json(description: Any, names: list[str]) -> set[str]:
    """The JSON columns of a result, by the type codes PostgreSQL and MySQL drivers give."""
    found = set()
    for name, column in zip(names, description or [], strict=False):
        code = column[1]
        if isinstance(code, int) and (code in _JSON_OIDS or code == _MYSQL_JSON):
            found.add(name)
    return found


def _declared_json(db: Any, query: exp.Expression) -> set[str]:
    """A table's columns declared JSON (SQLite tells no type with its rows)."""
    import sqlalchemy
    import sqlglot.expressions as exp

    source = query.find(exp.Table) if isinstance(query, exp.Select) else None
    if source is None or query.find(exp.Subquery):
        return set()
    try:
        columns = sqlalchemy.inspect(db).get_columns(source.name, schema=source.db or None)
    except Exception:  # noqa: BLE001 - no reflection: no JSON columns known
        return set()
    return {c["name"] for c in columns if isinstance(c["type"], sqlalchemy.types.JSON)}


def _declared_schema(db: Any, query: exp.Expression, names: list[str], dialect: str) -> pa.Schema:
    """No rows, so no values to type: the table's declared column types, as rows would be."""
    import datetime as dt
    from decimal import Decimal

    import pyarrow as pa
    import sqlalchemy
    import sqlglot.expressions as exp

    arrow = {
        int: pa.int64(),
        float: pa.float64(),
        str: pa.string(),
        bool: pa.bool_(),
        bytes: pa.binary(),
        dt.datetime: pa.timestamp("us"),
        dt.date: pa.date32(),
    }
    declared: dict[str, pa.DataType] = {}
    source = query.find(exp.Table) if isinstance(query, exp.Select) else None
    if source is not None and not query.find(exp.Subquery):
        try:
            columns = sqlalchemy.inspect(db).get_columns(source.name, schema=source.db or None)
        except Exception:  # noqa: BLE001 - no reflection: fall back to untyped columns
            columns = []
        for column in columns:
            try:
                kind = column["type"].python_type
            except NotImplementedError:
                continue
            if kind is Decimal:
                declared[column["name"]] = pa.decimal128(38, column["type"].scale or 10)
            elif dialect == "sqlite" and kind in (dt.datetime, dt.date):
                declared[column["name"]] = pa.string()
            elif kind in arrow:
                declared[column["name"]] = arrow[kind]
    return pa.schema([(n, declared.get(n, pa.null())) for n in names])


def _widen(array: pa.Array) -> pa.Array:
    """Decimals inferred from one chunk get the widest precision, so later chunks fit."""
    import pyarrow as pa

    if pa.types.is_decimal(array.type):
        return array.cast(pa.decimal128(38, array.type.scale))
    return array


def _typed_batch(columns: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    arrays = []
    for values, field in zip(columns, schema, strict=True):
        if _is_json(field.type):
            arrays.append(_json_texts(values))
            continue
        try:
            arrays.append(pa.array(values, type=field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise DataError(
                f"column {field.name!r} changed type between chunks ({field.type} first, then "
                f"{exc}); cast it in a query, or raise chunk_size"
            ) from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _driver_error(source: str, conn: Connection, exc: Exception) -> DagwrightError:
    from dagwright.connections import redact

    text = " ".join(str(exc).split())
    lowered = text.lower()
    where = conn.safe_url if conn.scheme.split("+", 1)[0] != "sqlite" else conn.database
    if "password authentication failed" in lowered or "authentication failed" in lowered:
        return ConfigError(
            redact(
                f"source {source!r}: the database refused the credentials of connection "
                f"{conn.name!r} ({where}): {text}; check the user and password in its URL"
            )
        )
    refused = ("connection refused", "could not connect", "connection to server", "timeout")
    if any(word in lowered for word in refused):
        return ConfigError(
            redact(
                f"source {source!r}: cannot reach the database of connection {conn.name!r} "
                f"({where}): {text}; check the host and port, and that the server is running"
            )
        )
    return DataError(redact(f"source {source!r}: reading {where} failed: {text}"))


def _example(extractor: str) -> str:
    """A connection URL of the kind a source of this extractor reads, for error messages."""
    if extractor == "sqlite":
        return "sqlite:///data/shop.db"
    if extractor == "postgres":
        return "postgresql://user:password@host:5432/db"
    return "mysql+pymysql://user:password@host:3306/db"
