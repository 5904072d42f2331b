"""Explicit column types between Arrow, DuckDB and PostgreSQL, and the schema contract.

Every Arrow type a batch can carry maps to one SQL type per dialect (``sql_type``).
PostgreSQL has no nested types, so lists, structs and maps become ``JSONB``; DuckDB keeps
them nested. JSON documents (a source's ``json``/``jsonb`` column) travel as Arrow's
canonical ``arrow.json`` extension over utf8 and load as ``JSON`` in DuckDB, ``JSONB`` in
PostgreSQL. Types are compared as sqlglot ``DataType``s, so a table's type read back
from the database compares with a batch's type whatever the spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlglot.expressions as exp

from dagwright.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

T = exp.DataType.Type

INTEGERS: dict[T, tuple[bool, int]] = {
    T.TINYINT: (True, 8),
    T.SMALLINT: (True, 16),
    T.INT: (True, 32),
    T.BIGINT: (True, 64),
    T.INT128: (True, 128),
    T.UTINYINT: (False, 8),
    T.USMALLINT: (False, 16),
    T.UINT: (False, 32),
    T.UBIGINT: (False, 64),
}
FLOATS = {T.FLOAT: 32, T.DOUBLE: 64}
TEXTS = {T.VARCHAR, T.TEXT, T.CHAR, T.NVARCHAR, T.NCHAR, T.TINYTEXT, T.MEDIUMTEXT, T.LONGTEXT}
TIMESTAMPS = {T.TIMESTAMP, T.TIMESTAMP_S, T.TIMESTAMP_MS, T.TIMESTAMP_NS, T.DATETIME}
JSONS = {T.JSON, T.JSONB}
DECIMALS = {T.DECIMAL, T.BIGDECIMAL}


def build(text: str, dialect: str) -> exp.DataType:
    return exp.DataType.build(text, dialect=dialect)


def sql_type(arrow_type: pa.DataType, dialect: str, column: str = "?") -> exp.DataType:
    """The SQL type a column of ``arrow_type`` gets in ``dialect`` (duckdb or postgres)."""
    import pyarrow as pa
    import pyarrow.types as at

    pg = dialect == "postgres"
    t = arrow_type
    if is_json(t):
        return build("JSONB" if pg else "JSON", dialect)
    if at.is_dictionary(t):
        return sql_type(t.value_type, dialect, column)
    if at.is_null(t):
        return build("TEXT", dialect)
    if at.is_boolean(t):
        return build("BOOLEAN", dialect)
    if at.is_integer(t):
        bits, signed = t.bit_width, at.is_signed_integer(t)
        if pg:
            if signed:
                return build(
                    {8: "SMALLINT", 16: "SMALLINT", 32: "INTEGER"}.get(bits, "BIGINT"), dialect
                )
            return build(
                {8: "SMALLINT", 16: "INTEGER", 32: "BIGINT"}.get(bits, "NUMERIC(20, 0)"), dialect
            )
        names = {8: "TINYINT", 16: "SMALLINT", 32: "INTEGER", 64: "BIGINT"}
        return build(("" if signed else "U") + names[bits], dialect)
    if at.is_floating(t):
        return build("DOUBLE" if t.bit_width == 64 else "REAL", dialect)
    if at.is_decimal(t):
        if not pg and t.precision > 38:
            return build("DOUBLE", dialect)
        return build(f"DECIMAL({int(t.precision)}, {int(t.scale)})", dialect)
    if at.is_string(t) or at.is_large_string(t) or _is(t, "is_string_view"):
        return build("TEXT" if pg else "VARCHAR", dialect)
    if at.is_binary(t) or at.is_large_binary(t) or at.is_fixed_size_binary(t):
        return build("BYTEA" if pg else "BLOB", dialect)
    if at.is_date(t):
        return build("DATE", dialect)
    if at.is_time(t):
        return build("TIME", dialect)
    if at.is_timestamp(t):
        return build("TIMESTAMPTZ" if t.tz else "TIMESTAMP", dialect)
    if at.is_duration(t):
        return build("INTERVAL", dialect)
    nested = at.is_list(t) or at.is_large_list(t) or at.is_fixed_size_list(t)
    if nested or at.is_struct(t) or at.is_map(t):
        if pg:
            return build("JSONB", dialect)
        return _duckdb_nested(t)
    if isinstance(t, pa.BaseExtensionType):
        return sql_type(t.storage_type, dialect, column)
    raise DataError(
        f"column {column!r} has Arrow type {t}, which dagwright cannot load yet; "
        "hint: cast it to a string or a number in a transform"
    )


JSON_EXTENSION = "arrow.json"


def json_type() -> pa.DataType:
    """The Arrow type of a JSON column: the canonical ``arrow.json`` extension over utf8."""
    import pyarrow as pa

    return pa.json_(pa.string())


def is_json(arrow_type: pa.DataType) -> bool:
    """Whether ``arrow_type`` holds JSON documents (the ``arrow.json`` extension)."""
    return getattr(arrow_type, "extension_name", None) == JSON_EXTENSION


def as_json(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A utf8 array of JSON texts as an ``arrow.json`` array (unchanged if it is one)."""
    import pyarrow as pa

    if is_json(array.type):
        return array
    if isinstance(array, pa.ChunkedArray):
        return pa.chunked_array([as_json(c) for c in array.chunks], json_type())
    if not pa.types.is_string(array.type):
        array = array.cast(pa.string())
    return pa.ExtensionArray.from_storage(json_type(), array)


def jsonable(value: Any) -> Any:
    """A nested Arrow value (``to_pylist``) as JSON can hold it: maps as objects."""
    from datetime import date, datetime, time
    from decimal import Decimal

    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(i, tuple) and len(i) == 2 for i in value):
            return {str(k): jsonable(v) for k, v in value}
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def json_column(texts: list[str | None]) -> pa.Array:
    """A JSON column read back: as the Arrow type its documents share (the lists and
    structs a batch loaded as JSON), else as their text (``arrow.json``)."""
    import json

    import pyarrow as pa

    try:
        return pa.array([None if t is None else json.loads(t) for t in texts])
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return as_json(pa.array(texts, pa.string()))


_DUCKDB_SCALARS = {
    "BOOLEAN": "BOOLEAN",
    "TINYINT": "TINYINT",
    "SMALLINT": "SMALLINT",
    "INTEGER": "INTEGER",
    "BIGINT": "BIGINT",
    "UTINYINT": "UTINYINT",
    "USMALLINT": "USMALLINT",
    "UINTEGER": "UINTEGER",
    "UBIGINT": "UBIGINT",
    "FLOAT": "REAL",
    "DOUBLE": "DOUBLE",
    "VARCHAR": "VARCHAR",
    "BLOB": "BLOB",
    "DATE": "DATE",
    "TIME": "TIME",
    "TIMESTAMP": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
    "JSON": "JSON",
}
_DUCKDB_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def duckdb_sql_type(duckdb_type: str) -> exp.DataType | None:
    """What ``sql_type`` gives a DuckDB column of ``duckdb_type`` once exported to Arrow,
    for the scalar types where that is certain; None for the others (go through Arrow)."""
    text = _DUCKDB_SCALARS.get(duckdb_type)
    if text is None:
        match = _DUCKDB_DECIMAL.fullmatch(duckdb_type)
        if match is None:
            return None
        text = f"DECIMAL({match.group(1)}, {match.group(2)})"
    return build(text, "duckdb")


def _is(t: pa.DataType, predicate: str) -> bool:
    import pyarrow.types as at

    check = getattr(at, predicate, None)
    return bool(check and check(t))


def _duckdb_nested(t: pa.DataType) -> exp.DataType:
    import pyarrow.types as at

    if at.is_struct(t):
        fields = [
            exp.ColumnDef(
                this=exp.to_identifier(f.name, quoted=True),
                kind=sql_type(f.type, "duckdb", f.name),
            )
            for f in t
        ]
        return exp.DataType(this=T.STRUCT, expressions=fields, nested=True)
    if at.is_map(t):
        return exp.DataType(
            this=T.MAP,
            expressions=[sql_type(t.key_type, "duckdb"), sql_type(t.item_type, "duckdb")],
            nested=True,
        )
    return exp.DataType(this=T.ARRAY, expressions=[sql_type(t.value_type, "duckdb")], nested=True)


def fits(incoming: exp.DataType, column: exp.DataType) -> bool:
    """Whether every value of ``incoming`` is stored unchanged in a ``column`` of that type."""
    a, b = incoming.this, column.this
    if a == b and not incoming.expressions and not column.expressions:
        return True
    if a in INTEGERS and b in INTEGERS:
        (sa, ba), (sb, bb) = INTEGERS[a], INTEGERS[b]
        return (sa == sb and ba <= bb) or (not sa and sb and ba < bb)
    if a in INTEGERS and b in FLOATS:
        return INTEGERS[a][1] <= (16 if FLOATS[b] == 32 else 32)
    if a in FLOATS and b in FLOATS:
        return FLOATS[a] <= FLOATS[b]
    if a in DECIMALS and b in DECIMALS:
        (pa_, sa_), (pb, sb_) = _precision(incoming), _precision(column)
        return sa_ <= sb_ and pa_ - sa_ <= pb - sb_
    if a in INTEGERS and b in DECIMALS:
        digits = {8: 3, 16: 5, 32: 10, 64: 19, 128: 39}[INTEGERS[a][1]]
        precision, scale = _precision(column)
        return digits <= precision - scale
    if a in TEXTS and b in TEXTS:
        return True
    if a in TIMESTAMPS and b in TIMESTAMPS:
        return True
    if a in JSONS and b in JSONS:
        return True
    return incoming.sql("duckdb", identify=True) == column.sql("duckdb", identify=True)


def _precision(t: exp.DataType) -> tuple[int, int]:
    params = [int(p.name) for p in t.expressions if p.name.isdigit()]
    if not params:
        return 18, 3
    return params[0], params[1] if len(params) > 1 else 0


@dataclass
class SchemaDiff:
    """How a batch differs from the table it is loaded into."""

    new: dict[str, exp.DataType] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    widen: dict[str, exp.DataType] = field(default_factory=dict)
    """Columns whose table type is narrower than the batch's and can safely grow."""
    incompatible: dict[str, tuple[exp.DataType, exp.DataType]] = field(default_factory=dict)
    """Columns whose batch type does not fit the table's type: (table type, batch type)."""

    def __bool__(self) -> bool:
        return bool(self.new or self.missing or self.widen or self.incompatible)

    def lines(self, dialect: str) -> list[str]:
        out = [f'  + new column "{c}" {t.sql(dialect)}' for c, t in self.new.items()]
        out += [f'  - missing column "{c}" (in the table, not in the batch)' for c in self.missing]
        for c, t in self.widen.items():
            out.append(f'  ~ column "{c}" would widen to {t.sql(dialect)}')
        for c, (have, got) in self.incompatible.items():
            have_sql, got_sql = have.sql(dialect), got.sql(dialect)
            out.append(f'  ~ column "{c}" is {have_sql} in the table, {got_sql} in the batch')
        return out


def diff(
    table: dict[str, exp.DataType], batch: dict[str, exp.DataType], ignore: set[str]
) -> SchemaDiff:
    result = SchemaDiff()
    for name, incoming in batch.items():
        if name in ignore:
            continue
        have = table.get(name)
        if have is None:
            result.new[name] = incoming
        elif fits(incoming, have):
            continue
        elif fits(have, incoming):
            result.widen[name] = incoming
        else:
            result.incompatible[name] = (have, incoming)
    result.missing = [c for c in table if c not in batch and c not in ignore]
    return result
