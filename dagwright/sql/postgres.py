"""dagwright's PostgreSQL dialect: the rewrites sqlglot lacks when generating PostgreSQL.

Imported only when SQL is generated for PostgreSQL (``dialects.dialect_for``), so a run
on DuckDB never loads sqlglot's PostgreSQL dialect.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot.expressions as exp
from sqlglot.dialects.postgres import Postgres

from dagwright.sql.rules import elapsed


def _gt_zero(call: exp.Expression) -> exp.Expression:
    return exp.GT(this=call, expression=exp.Literal.number(0))


def _contains_pg(self: Postgres.Generator, e: exp.Contains) -> str:
    return self.sql(exp.Paren(this=_gt_zero(exp.func("STRPOS", e.this, e.expression))))


def _array_size_pg(self: Postgres.Generator, e: exp.ArraySize) -> str:
    return self.sql(exp.func("CARDINALITY", e.this))


def _char_pg(self: Postgres.Generator, e: exp.Chr) -> str:
    return self.sql(exp.func("CHR", *e.expressions))


def _string_agg_pg(self: Postgres.Generator, e: exp.GroupConcat) -> str:
    """STRING_AGG takes text only; MySQL's GROUP_CONCAT and LISTAGG convert their values."""
    e = e.copy()
    target = e.this.this if isinstance(e.this, exp.Order) else e.this
    if not (isinstance(target, exp.Cast) and target.to.is_type(*exp.DataType.TEXT_TYPES)):
        target.replace(exp.cast(target.copy(), exp.DType.TEXT))
    return _PG_GROUP_CONCAT(self, e)


_PG_GROUP_CONCAT = Postgres.Generator.TRANSFORMS[exp.GroupConcat]


def _ends_with_pg(self: Postgres.Generator, e: exp.EndsWith) -> str:
    suffix = e.expression
    tail = exp.func("RIGHT", e.this, exp.func("LENGTH", suffix.copy()))
    return self.sql(exp.Paren(this=exp.EQ(this=tail, expression=suffix)))


def _name_pg(pattern: str, abbreviated: str) -> Callable[[Postgres.Generator, exp.Func], str]:
    """MONTHNAME/DAYNAME (Snowflake: 'Jan', 'Mon'): TO_CHAR with the same English names."""

    def generate(self: Postgres.Generator, e: exp.Func) -> str:
        fmt = abbreviated if e.args.get("abbreviated") is not False else pattern
        return self.func("TO_CHAR", e.this, exp.Literal.string(fmt))

    return generate


def _regexp_extract_pg(self: Postgres.Generator, e: exp.RegexpExtract) -> str:
    """REGEXP_EXTRACT(s, re): the first group if the pattern has one, else the match; so does
    PostgreSQL's SUBSTRING(s FROM re). Positions, occurrences and groups have no equivalent."""
    group = e.args.get("group")
    if group is not None and not (isinstance(group, exp.Literal) and group.name == "1"):
        self.unsupported("REGEXP_EXTRACT of a group other than the first")
    for arg in ("position", "occurrence", "parameters"):
        if e.args.get(arg) is not None:
            self.unsupported(f"REGEXP_EXTRACT with {arg}")
    return f"SUBSTRING({self.sql(e, 'this')} FROM {self.sql(e, 'expression')})"


def _datetime_trunc_pg(self: Postgres.Generator, e: exp.DatetimeTrunc) -> str:
    unit = e.text("unit").upper()
    if unit.startswith("WEEK") or unit.startswith("ISO"):
        self.unsupported(f"DATETIME_TRUNC to {unit}: week starts differ")
    return self.func("DATE_TRUNC", exp.Literal.string(unit), e.this)


def _stuff_pg(self: Postgres.Generator, e: exp.Stuff) -> str:
    """STUFF (T-SQL), INSERT (Snowflake): OVERLAY(s PLACING x FROM start FOR length)."""
    return (
        f"OVERLAY({self.sql(e, 'this')} PLACING {self.sql(e, 'expression')} "
        f"FROM {self.sql(e, 'start')} FOR {self.sql(e, 'length')})"
    )


def _int(value: exp.Expression) -> exp.Expression:
    """PostgreSQL's EXTRACT gives NUMERIC, which MAKE_DATE does not take."""
    return value if isinstance(value, exp.Literal) else exp.cast(value, exp.DType.INT)


def _json_operator(kind: type[exp.Expression]) -> Callable[[Postgres.Generator, exp.Func], str]:
    """``->`` / ``->>`` instead of ``JSON_EXTRACT_PATH[_TEXT]`` for one key: the functions
    take only ``json``, the operators ``json`` and ``jsonb`` alike (a loaded JSON column is
    jsonb). A longer path is ``#>>`` / ``#>`` with the keys as an array."""
    original = Postgres.Generator.TRANSFORMS[kind]

    operator = "#>>" if kind is exp.JSONExtractScalar else "#>"

    def generate(self: Postgres.Generator, e: exp.Func) -> str:
        path = e.expression
        steps = path.expressions[1:] if isinstance(path, exp.JSONPath) else []
        keys = [
            str(step.this)
            for step in steps
            if isinstance(step, exp.JSONPathKey | exp.JSONPathSubscript)
            and isinstance(step.this, str | int)
        ]
        if len(steps) == 1 and len(keys) == 1:
            e = e.copy()
            e.set("only_json_types", True)
        elif steps and len(keys) == len(steps):
            array = exp.Array(expressions=[exp.Literal.string(k) for k in keys])
            return f"{self.sql(e, 'this')} {operator} {self.sql(array)}"
        return original(self, e)

    return generate


class DagwrightPostgres(Postgres):
    """PostgreSQL with the rewrites sqlglot lacks."""

    class Generator(Postgres.Generator):
        TRANSFORMS = {
            **Postgres.Generator.TRANSFORMS,
            exp.Contains: _contains_pg,
            exp.ArraySize: _array_size_pg,
            exp.Chr: _char_pg,
            exp.TimestampDiff: elapsed,
            exp.GroupConcat: _string_agg_pg,
            exp.EndsWith: _ends_with_pg,
            exp.Monthname: _name_pg("FMMonth", "Mon"),
            exp.Dayname: _name_pg("FMDay", "Dy"),
            exp.RegexpExtract: _regexp_extract_pg,
            exp.ByteLength: lambda self, e: self.func("OCTET_LENGTH", e.this),
            exp.DatetimeTrunc: _datetime_trunc_pg,
            exp.Stuff: _stuff_pg,
            exp.JSONExtract: _json_operator(exp.JSONExtract),
            exp.JSONExtractScalar: _json_operator(exp.JSONExtractScalar),
            exp.DateFromParts: lambda self, e: self.func(
                "MAKE_DATE", *(_int(e.args[k]) for k in ("year", "month", "day"))
            ),
        }

        def star_sql(self, expression: exp.Star) -> str:
            for arg, words in (("except_", "EXCEPT"), ("replace", "REPLACE"), ("rename", "RENAME")):
                if expression.args.get(arg):
                    self.unsupported(
                        f"SELECT * {words} (...): postgres cannot exclude or replace columns "
                        "of *; list the columns instead"
                    )
            return super().star_sql(expression)
