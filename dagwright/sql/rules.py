"""Rewrite rules that more than one of dagwright's dialects uses."""

from __future__ import annotations

import sqlglot.expressions as exp
from sqlglot.generator import Generator

SECONDS = {
    "MICROSECOND": 0.000001,
    "MILLISECOND": 0.001,
    "SECOND": 1,
    "MINUTE": 60,
    "HOUR": 3600,
    "DAY": 86400,
}
"""The units of fixed length, in seconds."""


def elapsed_unit(self: Generator, e: exp.TimestampDiff) -> str | None:
    """The fixed-length unit of a whole-units-elapsed difference; ``None`` (reported as
    unsupported) for months and years, whose length varies."""
    unit = e.text("unit").upper() or "DAY"
    if unit.endswith("S") and unit[:-1] in SECONDS:
        unit = unit[:-1]
    if unit not in SECONDS:
        self.unsupported(f"TIMESTAMPDIFF in {unit} units (whole {unit.lower()} units elapsed)")
        return None
    return unit


def elapsed(self: Generator, e: exp.TimestampDiff) -> str:
    """TIMESTAMP_DIFF (BigQuery), TIMESTAMPDIFF (MySQL): whole units elapsed, not boundaries."""
    unit = elapsed_unit(self, e)
    if unit is None:
        return self.function_fallback_sql(e)
    seconds = exp.Extract(
        this=exp.var("epoch"), expression=exp.Sub(this=e.this, expression=e.expression)
    )
    ratio = exp.Div(this=seconds, expression=exp.Literal.number(SECONDS[unit]))
    return self.sql(exp.cast(exp.func("TRUNC", ratio), exp.DType.BIGINT))
