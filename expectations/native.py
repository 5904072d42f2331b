"""The most used expectations, evaluated in DuckDB with Great Expectations' semantics.

A stage's native expectations run as one aggregate query over its rows (counts of
missing and unexpected values per expectation, uniqueness by grouping), and, only for
those that found unexpected rows, one more query each for their first unexpected values
(``partial_unexpected_list``) or, for quarantine, every failing row's position. The
outcomes are those GE's pandas engine gives for the same rows, as ``expectations.engine``
hands its data to GE (NaN counts as missing, decimals of up to 15 digits compare as
floats); ``tests/expectations/test_native.py`` holds the two equal on generated batches.

An expectation has a native form only for the arguments and column types listed here
(``accepts`` and ``applies``); any other runs in Great Expectations. Nothing here imports
Great Expectations.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import sqlglot.expressions as exp

from expectations.forms import NULL_CHECKS, accepts, regex_form
from expectations.outcomes import SAMPLE, Data, Outcome
from expectations.suites import CheckItem

ROW = "__dagwright_row"
"""The input position of a row, added to the rows the queries read."""


def applies(item: CheckItem, schema: pa.Schema, json_columns: Collection[str] = ()) -> bool:
    """Whether the native form gives GE's answer on these column types: comparisons
    only on types pandas compares the same way (strings, 64-bit floats, integers,
    decimals pandas holds as floats; booleans for nulls and uniqueness). JSON columns
    are left to GE but for ``not_be_null``."""
    if not accepts(item.type, item.kwargs, item.engine):
        return False
    if item.type.startswith("expect_table_"):
        return True
    kwargs = item.kwargs
    names = [kwargs["column"]] if "column" in kwargs else list(kwargs.get("column_list") or [])
    if any(n not in schema.names for n in names):
        return True
    kinds = [_kind(schema.field(n).type) for n in names]
    if item.type == "expect_column_values_to_not_be_null":
        return True
    if any(k is None for k in kinds) or any(n in json_columns for n in names):
        return False
    if item.type in (
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
    ):
        return True
    (kind,) = kinds or [None]
    if item.type.endswith("_in_set"):
        values = kwargs["value_set"]
        if all(isinstance(v, str) for v in values):
            return kind == "string" or not values
        return kind == "number"
    if item.type == "expect_column_values_to_be_between":
        return kind == "number"
    return kind == "string"


def _kind(t: pa.DataType) -> str | None:
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_integer(t) or pa.types.is_float64(t):
        return "number"
    if pa.types.is_decimal(t) and t.precision <= 15:
        return "number"
    if pa.types.is_boolean(t):
        return "bool"
    return None


@dataclass
class _Check:
    """One native expectation's SQL: which rows are missing, which are unexpected."""

    index: int
    item: CheckItem
    missing: exp.Expression | None = None
    unexpected: exp.Expression | None = None
    values: list[str] = field(default_factory=list)
    group: list[str] = field(default_factory=list)
    """Columns whose duplicate values make a row unexpected (uniqueness)."""
    table: bool = False


class _Query:
    """Builds one query's SQL, holding its bound values."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def value(self, value: Any) -> exp.Expression:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return exp.Placeholder(this=name)


def _col(name: str) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True))


def _value(name: str, schema: pa.Schema) -> exp.Expression:
    """The column as GE sees it in pandas: NaN is missing, short decimals are floats."""
    t = schema.field(name).type
    column = _col(name)
    if pa.types.is_floating(t):
        nan = exp.cast(exp.Literal.string("NaN"), exp.DataType.build("DOUBLE"))
        return exp.Nullif(this=column, expression=nan)
    if pa.types.is_decimal(t):
        return _as_arrow_float(column, t.scale)
    return column


def _as_arrow_float(column: exp.Expression, scale: int) -> exp.Expression:
    """A decimal as Arrow casts it to float64 for GE: the unscaled integer times the
    double nearest 10^-scale (10.37 becomes 10.370000000000001), not DuckDB's own cast."""
    double = exp.DataType.build("DOUBLE")
    unscaled = exp.cast(
        exp.Mul(
            this=exp.cast(column, exp.DataType.build(f"DECIMAL(38, {scale})")),
            expression=exp.Literal.number(10**scale),
        ),
        exp.DataType.build("BIGINT"),
    )
    step = exp.cast(exp.Literal.string(repr(float(f"1e-{scale}"))), double)
    return exp.Mul(this=exp.cast(unscaled, double), expression=step)


def _is_null(e: exp.Expression) -> exp.Expression:
    return exp.Is(this=e, expression=exp.Null())


def _not_null(e: exp.Expression) -> exp.Expression:
    return exp.not_(_is_null(e))


def _build(i: int, item: CheckItem, schema: pa.Schema, q: _Query) -> _Check:
    kwargs = item.kwargs
    kind = item.type
    check = _Check(i, item)
    if kind.startswith("expect_table_row_count"):
        check.table = True
        return check
    if kind == "expect_compound_columns_to_be_unique":
        columns = list(kwargs["column_list"])
        values = [_value(c, schema) for c in columns]
        nulls = [_is_null(v) for v in values]
        any_missing = kwargs.get("ignore_row_if") == "any_value_is_missing"
        check.missing = exp.or_(*nulls) if any_missing else exp.and_(*nulls)
        check.values, check.group = columns, columns
        return check
    column = kwargs["column"]
    v = _value(column, schema)
    check.values = [column]
    if kind == "expect_column_values_to_not_be_null":
        check.unexpected = _is_null(v)
        return check
    if kind == "expect_column_values_to_be_null":
        check.unexpected = _not_null(v)
        return check
    check.missing = _is_null(v)
    if kind == "expect_column_values_to_be_unique":
        check.group = [column]
        return check
    check.unexpected = exp.and_(_not_null(v), exp.not_(_passes(kind, kwargs, v, q)))
    return check


def _passes(kind: str, kwargs: dict[str, Any], v: exp.Expression, q: _Query) -> exp.Expression:
    """The condition a present value meets to be expected."""
    if kind.endswith("_in_set"):
        values = list(dict.fromkeys(kwargs["value_set"]))
        found: exp.Expression = (
            exp.In(this=v.copy(), expressions=[q.value(x) for x in values])
            if values
            else exp.false()
        )
        return found if kind == "expect_column_values_to_be_in_set" else exp.not_(found)
    if kind == "expect_column_values_to_be_between":
        return _within(v, kwargs, q)
    if kind == "expect_column_value_lengths_to_be_between":
        return _within(exp.Length(this=v.copy()), kwargs, q)
    if kind == "expect_column_value_lengths_to_equal":
        return exp.EQ(this=exp.Length(this=v.copy()), expression=q.value(kwargs["value"]))
    pattern, ends = regex_form(kwargs["regex"]) or (kwargs["regex"], False)
    found = _matches(v, pattern, q)
    if ends:
        chopped = exp.func("left", v.copy(), exp.Literal.number(-1))
        newline = exp.func("ends_with", v.copy(), q.value("\n"))
        found = exp.or_(found, exp.and_(newline, _matches(chopped, pattern, q)))
    matched = exp.paren(found)
    return matched if kind == "expect_column_values_to_match_regex" else exp.not_(matched)


def _matches(v: exp.Expression, pattern: str, q: _Query) -> exp.Expression:
    return exp.func("regexp_matches", v.copy(), q.value(pattern))


def _within(v: exp.Expression, kwargs: dict[str, Any], q: _Query) -> exp.Expression:
    parts: list[exp.Expression] = []
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is not None:
        cls = exp.GT if kwargs.get("strict_min") else exp.GTE
        parts.append(cls(this=v.copy(), expression=q.value(low)))
    if high is not None:
        cls = exp.LT if kwargs.get("strict_max") else exp.LTE
        parts.append(cls(this=v.copy(), expression=q.value(high)))
    return exp.and_(*parts)


def _count_where(condition: exp.Expression | None) -> exp.Expression:
    if condition is None:
        return exp.Literal.number(0)
    return exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=condition.copy()))


def _duplicated(check: _Check, schema: pa.Schema, source: exp.Expression) -> exp.Expression:
    """Rows (not missing) whose value, or tuple of values, occurs more than once."""
    keys = [_value(c, schema) for c in check.group]
    counted = exp.Count(this=exp.Star())
    groups = (
        exp.select(counted.copy().as_("n"))
        .from_(source.copy())
        .where(exp.not_(check.missing.copy()) if check.missing is not None else exp.true())
        .group_by(*keys)
        .having(exp.GT(this=counted.copy(), expression=exp.Literal.number(1)))
    )
    total = exp.select(exp.func("coalesce", exp.Sum(this=exp.column("n")), exp.Literal.number(0)))
    return exp.Subquery(this=total.from_(groups.subquery("g")))


def validate(items: list[CheckItem], which: list[int], data: Data) -> dict[int, Outcome]:
    """The outcomes of ``items[i]`` for ``i`` in ``which``, each ``applies``-checked."""
    columns: list[str] = []
    for i in which:
        kwargs = items[i].kwargs
        for name in [kwargs.get("column"), *(kwargs.get("column_list") or [])]:
            if isinstance(name, str) and name not in columns:
                columns.append(name)
    with _rows(data, columns) as con:
        source = exp.to_table("rows")
        q = _Query()
        checks = [_build(i, items[i], data.schema, q) for i in which]
        select = [exp.Count(this=exp.Star()).as_("n")]
        for c in checks:
            if c.table:
                continue
            select.append(_count_where(c.missing).as_(f"m{c.index}"))
            if c.group:
                select.append(_duplicated(c, data.schema, source).as_(f"u{c.index}"))
            else:
                select.append(_count_where(c.unexpected).as_(f"u{c.index}"))
        query = exp.select(*select).from_(source.copy())
        cursor = con.execute(query.sql("duckdb"), q.params)
        names = [d[0] for d in cursor.description]
        counts = dict(zip(names, cursor.fetchone(), strict=True))
        rows = int(counts["n"])
        data.rows = rows
        return {c.index: _outcome(con, c, counts, rows, data.schema, source) for c in checks}


@contextmanager
def _rows(data: Data, columns: list[str]) -> Iterator[Any]:
    """A DuckDB connection on which the view ``rows`` holds ``columns`` of the data and
    each row's input position (``ROW``): the workspace table already holding the rows,
    the staged Parquet file, or an Arrow copy of the rows for anything else."""
    import duckdb

    from dagwright import workspace
    from dagwright.spool import is_local

    picked = [_col(c) for c in columns]
    held = workspace.entry(data.uri) if data.uri else None
    if held is not None and held.where is not None:
        with held.workspace.cursor() as cur:
            position = exp.column("rowid").as_(ROW)
            _view(cur, exp.select(*picked, position).from_(held.where.copy()))
            yield cur
        return
    con = duckdb.connect()
    try:
        con.execute(SET_UTC)
        if (
            data.uri is not None
            and held is None
            and is_local(data.uri)
            and "file_row_number" not in data.schema.names
        ):
            scan = con.read_parquet(data.uri.removeprefix("file://"), file_row_number=True)
            position = exp.column("file_row_number").as_(ROW)
            scan.select(
                *[duckdb.SQLExpression(e.sql("duckdb")) for e in (*picked, position)]
            ).create_view("rows")
        else:
            con.register("rows_in", _numbered(data, columns))
            con.execute(COPY_IN)
            con.unregister("rows_in")
        yield con
    finally:
        con.close()


SET_UTC = "SET TimeZone = 'UTC'"
COPY_IN = "CREATE TEMP TABLE rows AS SELECT * FROM rows_in"


def _view(con: Any, query: exp.Select) -> None:
    create = exp.Create(
        this=exp.to_table("rows"),
        kind="VIEW",
        expression=query,
        properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
    )
    con.execute(create.sql("duckdb"))


def _numbered(data: Data, columns: list[str]) -> pa.RecordBatchReader:
    """The data's columns as Arrow batches, each row with its position."""
    import pyarrow.compute as pc

    schema = pa.schema([data.schema.field(c) for c in columns] + [pa.field(ROW, pa.int64())])

    def batches() -> Iterator[pa.RecordBatch]:
        offset = 0
        for batch in data.batches(columns, 1_000_000):
            positions = pc.add(pa.array(range(batch.num_rows), pa.int64()), offset)
            offset += batch.num_rows
            yield pa.RecordBatch.from_arrays([*batch.columns, positions], schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def _outcome(
    con: Any,
    c: _Check,
    counts: dict[str, Any],
    rows: int,
    schema: pa.Schema,
    source: exp.Expression,
) -> Outcome:
    item = c.item
    if c.table:
        kwargs = item.kwargs
        if item.type == "expect_table_row_count_to_equal":
            success = rows == kwargs["value"]
        else:
            low, high = kwargs.get("min_value"), kwargs.get("max_value")
            success = (low is None or rows >= low) and (high is None or rows <= high)
        return Outcome(item, success, observed_value=rows)
    missing = int(counts[f"m{c.index}"])
    unexpected = int(counts[f"u{c.index}"])
    null_check = item.type in NULL_CHECKS
    considered = rows if null_check else rows - missing
    mostly = float(item.kwargs.get("mostly", 1))
    outcome = Outcome(
        item,
        considered == 0 or (considered - unexpected) / considered >= mostly,
        element_count=rows,
        missing_count=None if null_check else missing,
        unexpected_count=unexpected,
        unexpected_percent=100.0 * unexpected / considered if considered else None,
    )
    if unexpected:
        outcome.sample = _sample(con, c, schema, source)
        if item.severity == "quarantine":
            outcome.rows = _positions(con, c, schema, source)
    return outcome


def _failing(c: _Check, schema: pa.Schema, source: exp.Expression, q: _Query) -> exp.Select:
    """The unexpected rows of ``c``, in input order."""
    if not c.group:
        rebuilt = _build(c.index, c.item, schema, q)
        assert rebuilt.unexpected is not None
        return exp.select().from_(source.copy()).where(rebuilt.unexpected).order_by(ROW)
    keys = [_value(n, schema) for n in c.group]
    counted = exp.Window(this=exp.Count(this=exp.Star()), partition_by=keys)
    present = exp.not_(c.missing.copy()) if c.missing is not None else exp.true()
    inner = exp.select(exp.Star(), counted.as_("dup")).from_(source.copy()).where(present)
    return (
        exp.select()
        .from_(inner.subquery("d"))
        .where(exp.GT(this=exp.column("dup"), expression=exp.Literal.number(1)))
        .order_by(ROW)
    )


def _sample(con: Any, c: _Check, schema: pa.Schema, source: exp.Expression) -> list[Any]:
    from expectations.outcomes import jsonable

    q = _Query()
    values = [_value(n, schema).as_(n) for n in c.values]
    query = _failing(c, schema, source, q).select(*values).limit(SAMPLE)
    found = con.execute(query.sql("duckdb"), q.params).fetchall()
    if c.item.type == "expect_compound_columns_to_be_unique":
        return [jsonable(dict(zip(c.values, r, strict=True))) for r in found]
    return [jsonable(r[0]) for r in found]


def _positions(con: Any, c: _Check, schema: pa.Schema, source: exp.Expression) -> list[int]:
    q = _Query()
    query = _failing(c, schema, source, q).select(exp.column(ROW))
    return [int(r[0]) for r in con.execute(query.sql("duckdb"), q.params).fetchall()]
