"""dagwright's Snowflake dialect: the rewrites sqlglot lacks when generating Snowflake SQL.

Each rule keeps the source's meaning where Snowflake's function of the same name means
something else. Imported only when SQL is generated for Snowflake (``dialects.dialect_for``).
"""

from __future__ import annotations

import sqlglot.expressions as exp
from sqlglot.dialects.snowflake import Snowflake

from dagwright.sql.rules import SECONDS, elapsed_unit

Generator = Snowflake.Generator
_CONCAT_WS = Generator.TRANSFORMS.get(exp.ConcatWs)
_REGEXP_LIKE = Generator.TRANSFORMS.get(exp.RegexpLike)


def _elapsed(self: Generator, e: exp.TimestampDiff) -> str:
    """TIMESTAMP_DIFF (BigQuery), TIMESTAMPDIFF (MySQL) count whole units elapsed;
    Snowflake's TIMESTAMPDIFF counts unit boundaries crossed (24.5 hours from 23:45 is 25
    there): whole microseconds elapsed, divided and truncated."""
    unit = elapsed_unit(self, e)
    if unit is None:
        return self.function_fallback_sql(e)
    micros = exp.DateDiff(this=e.this, expression=e.expression, unit=exp.var("MICROSECOND"))
    ratio = exp.Div(this=micros, expression=exp.Literal.number(int(SECONDS[unit] * 1_000_000)))
    return self.sql(exp.cast(exp.func("TRUNC", ratio), exp.DType.BIGINT))


def _regexp_like(self: Generator, e: exp.RegexpLike) -> str:
    """REGEXP_CONTAINS (BigQuery), RLIKE (Spark, MySQL), regexp_matches (DuckDB) find the
    pattern anywhere; Snowflake's REGEXP_LIKE must match the whole string."""
    if e.args.get("full_match"):
        return _REGEXP_LIKE(self, e) if _REGEXP_LIKE else self.function_fallback_sql(e)
    args = [e.this, e.expression]
    if e.args.get("flag") is not None:
        position, occurrence, start = (exp.Literal.number(n) for n in (1, 1, 0))
        args += [position, occurrence, start, e.args["flag"]]
    found = exp.func("REGEXP_INSTR", *args)
    return self.sql(exp.Paren(this=exp.GT(this=found, expression=exp.Literal.number(0))))


def _concat_ws(self: Generator, e: exp.ConcatWs) -> str:
    """CONCAT_WS that skips NULLs (Spark, DuckDB, MySQL, PostgreSQL): Snowflake's returns
    NULL for any NULL, and sqlglot's COALESCE(x, '') keeps their separators ('CN,'). Each
    value is prefixed with the separator (NULL stays NULL, then ''), and the first
    separator is cut off."""
    if e.args.get("coalesce") is False or len(e.expressions) < 2:
        return _CONCAT_WS(self, e) if _CONCAT_WS else self.function_fallback_sql(e)
    separator, *values = e.expressions
    parts = [
        exp.Coalesce(
            this=exp.DPipe(this=separator.copy(), expression=v.copy(), safe=True),
            expressions=[exp.Literal.string("")],
        )
        for v in values
    ]
    joined = parts[0]
    for part in parts[1:]:
        joined = exp.DPipe(this=joined, expression=part, safe=True)
    start = exp.Add(this=exp.Length(this=separator.copy()), expression=exp.Literal.number(1))
    return self.sql(exp.Substring(this=joined, start=start))


def _datetime_trunc(self: Generator, e: exp.DatetimeTrunc) -> str:
    unit = e.text("unit").upper()
    if unit.startswith("WEEK") or unit.startswith("ISO"):
        self.unsupported(f"DATETIME_TRUNC to {unit}: week starts differ")
    return self.func("DATE_TRUNC", exp.Literal.string(unit), e.this)


class DagwrightSnowflake(Snowflake):
    """Snowflake with the rewrites sqlglot lacks."""

    class Generator(Snowflake.Generator):
        TRANSFORMS = {
            **Snowflake.Generator.TRANSFORMS,
            exp.TimestampDiff: _elapsed,
            exp.RegexpLike: _regexp_like,
            exp.ConcatWs: _concat_ws,
            exp.DatetimeTrunc: _datetime_trunc,
        }
