"""dagwright's MySQL dialect: the rewrites sqlglot lacks when generating SQL for MariaDB.

The MySQL destination (``loaders.mysql``) is MariaDB or MySQL; the rules here hold on
MariaDB 10.11 (the server the differential corpus runs on), which lacks some of MySQL 8's
window and grouping syntax. Imported only when SQL is generated for MySQL
(``dialects.dialect_for``).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot.expressions as exp
from sqlglot.dialects.mysql import MySQL

Generator = MySQL.Generator


def _contains(self: Generator, e: exp.Contains) -> str:
    """MariaDB's CONTAINS is the spatial MBR test; LOCATE finds a substring (as STRPOS)."""
    found = exp.func("LOCATE", e.expression, e.this)
    return self.sql(exp.Paren(this=exp.GT(this=found, expression=exp.Literal.number(0))))


def _affix(side: str) -> Callable[[Generator, exp.Func], str]:
    """STARTS_WITH / ENDS_WITH as LEFT / RIGHT of the prefix's length, compared. The length
    check is needed: MariaDB's ``=`` ignores trailing spaces (PAD SPACE collations), so
    ``'a' = 'a '`` holds; between strings of the same length it compares every character."""

    def generate(self: Generator, e: exp.Func) -> str:
        text, affix = e.this, e.expression
        part = exp.func(side, text, exp.func("CHAR_LENGTH", affix.copy()))
        long_enough = exp.GTE(
            this=exp.func("CHAR_LENGTH", text.copy()),
            expression=exp.func("CHAR_LENGTH", affix.copy()),
        )
        same = exp.EQ(this=part, expression=affix.copy())
        return self.sql(exp.Paren(this=exp.and_(same, long_enough)))

    return generate


def _split_part(self: Generator, e: exp.SplitPart) -> str:
    """SPLIT_PART(s, d, n): MariaDB has none; the n-th part is SUBSTRING_INDEX of
    SUBSTRING_INDEX, and '' when s has fewer than n parts (SUBSTRING_INDEX would give the
    last part). Only for a positive literal n and a non-empty literal delimiter: negative
    and zero positions and empty delimiters mean different things in different dialects."""
    text, delimiter, index = e.this, e.args.get("delimiter"), e.args.get("part_index")
    if not (isinstance(delimiter, exp.Literal) and delimiter.is_string and delimiter.name):
        self.unsupported("SPLIT_PART with a delimiter that is not a non-empty string literal")
        return self.function_fallback_sql(e)
    if not (isinstance(index, exp.Literal) and index.is_int and int(index.name) >= 1):
        self.unsupported("SPLIT_PART of a part that is not a positive integer literal")
        return self.function_fallback_sql(e)
    removed = exp.func("REPLACE", text.copy(), delimiter.copy(), exp.Literal.string(""))
    occurrences = (
        f"(CHAR_LENGTH({self.sql(text)}) - CHAR_LENGTH({self.sql(removed)})) "
        f"/ {len(delimiter.name)}"
    )
    inner = exp.func("SUBSTRING_INDEX", text.copy(), delimiter.copy(), index.copy())
    part = exp.func("SUBSTRING_INDEX", inner, delimiter.copy(), exp.Literal.number(-1))
    return f"CASE WHEN {occurrences} < {int(index.name) - 1} THEN '' ELSE {self.sql(part)} END"


def _count_if(self: Generator, e: exp.CountIf) -> str:
    """COUNT_IF(c): MariaDB has none; COUNT of a CASE counts the rows where c is true (0 for
    none, as COUNT_IF; SUM would give NULL)."""
    case = exp.Case(ifs=[exp.If(this=e.this, true=exp.Literal.number(1))])
    return self.func("COUNT", case)


def _name(full: str, abbreviated: str) -> Callable[[Generator, exp.Func], str]:
    """MONTHNAME/DAYNAME: Snowflake's are abbreviated ('Jan', 'Mon'), MariaDB's are not."""

    def generate(self: Generator, e: exp.Func) -> str:
        fmt = abbreviated if e.args.get("abbreviated") is not False else full
        return self.func("DATE_FORMAT", e.this, exp.Literal.string(fmt))

    return generate


def _date_from_parts(self: Generator, e: exp.DateFromParts) -> str:
    """DATEFROMPARTS(y, m, d): MariaDB has no such function; MAKEDATE(y, 1) plus m - 1
    months and d - 1 days is that date (for parts that make a valid date)."""
    year, month, day = (e.args.get(k) for k in ("year", "month", "day"))
    if month is None or day is None:
        self.unsupported("DATE_FROM_PARTS without a month and a day")
        return self.function_fallback_sql(e)
    return (
        f"DATE_ADD(DATE_ADD(MAKEDATE({self.sql(year)}, 1), "
        f"INTERVAL ({self.sql(month)}) - 1 MONTH), INTERVAL ({self.sql(day)}) - 1 DAY)"
    )


def _boundaries(self: Generator, e: exp.DateDiff | exp.TsOrDsDiff) -> str:
    """DATEDIFF(unit, start, end) that counts unit boundaries crossed (Snowflake, Redshift,
    T-SQL; ``dialects.normalize`` marks them): sqlglot's MySQL DATEDIFF drops the unit and
    counts days. Calendar arithmetic on the parts counts boundaries exactly; a DATEDIFF
    without that mark keeps MySQL's whole units elapsed (TIMESTAMPDIFF)."""
    unit = e.text("unit").upper() or "DAY"
    end, start = self.sql(e, "this"), self.sql(e, "expression")
    if not e.args.get("date_part_boundary"):
        if unit == "DAY":
            return self.func("DATEDIFF", e.this, e.expression)
        return f"TIMESTAMPDIFF({unit}, {start}, {end})"
    days = f"DATEDIFF({end}, {start})"
    count = {
        "YEAR": f"(YEAR({end}) - YEAR({start}))",
        "QUARTER": f"((YEAR({end}) * 4 + QUARTER({end})) - (YEAR({start}) * 4 + QUARTER({start})))",
        "MONTH": f"((YEAR({end}) * 12 + MONTH({end})) - (YEAR({start}) * 12 + MONTH({start})))",
        "DAY": days,
    }
    hours = f"({days} * 24 + HOUR({end}) - HOUR({start}))"
    minutes = f"({hours} * 60 + MINUTE({end}) - MINUTE({start}))"
    count |= {
        "HOUR": hours,
        "MINUTE": minutes,
        "SECOND": f"({minutes} * 60 + SECOND({end}) - SECOND({start}))",
    }
    if unit not in count:
        self.unsupported(f"DATEDIFF in {unit} units (boundaries crossed)")
        return self.function_fallback_sql(e)
    return count[unit]


_TRUNCATED = {
    "YEAR": "MAKEDATE(YEAR({x}), 1)",
    "QUARTER": "DATE_ADD(MAKEDATE(YEAR({x}), 1), INTERVAL QUARTER({x}) - 1 QUARTER)",
    "MONTH": "DATE_SUB(DATE({x}), INTERVAL DAYOFMONTH({x}) - 1 DAY)",
    "WEEK": "DATE_SUB(DATE({x}), INTERVAL WEEKDAY({x}) DAY)",
    "DAY": "DATE({x})",
    "HOUR": "DATE_FORMAT({x}, '%Y-%m-%d %H:00:00')",
    "MINUTE": "DATE_FORMAT({x}, '%Y-%m-%d %H:%i:00')",
    "SECOND": "DATE_FORMAT({x}, '%Y-%m-%d %H:%i:%s')",
}


def _truncate(self: Generator, e: exp.Func) -> str:
    """DATE_TRUNC and its kin as a DATETIME, as DuckDB's and PostgreSQL's: sqlglot's MySQL
    rule returns a string for timestamps and counts weeks from a Sunday; ``WEEK`` here is
    the ISO week (from Monday), as DuckDB reads it. Other week starts are refused."""
    unit_arg = e.args.get("unit")
    unit = "" if isinstance(unit_arg, exp.WeekStart) else e.text("unit").upper()
    if unit not in _TRUNCATED:
        shown = unit or self.sql(unit_arg)
        self.unsupported(f"{e.sql_name()} to {shown}")
        return self.function_fallback_sql(e)
    return f"CAST({_TRUNCATED[unit].format(x=self.sql(e, 'this'))} AS DATETIME)"


def _regexp_like(self: Generator, e: exp.RegexpLike) -> str:
    """REGEXP_LIKE / REGEXP_CONTAINS: MariaDB has no REGEXP_LIKE function; ``s REGEXP p``
    finds p anywhere in s (as the case of its collation, binary on the corpus server)."""
    if e.args.get("flag") is not None or e.args.get("full_match"):
        self.unsupported("REGEXP_LIKE with flags or a full match")
    return self.binary(e, "REGEXP")


def _refuse(what: str) -> Callable[[Generator, exp.Expression], str]:
    def generate(self: Generator, e: exp.Expression) -> str:
        self.unsupported(what)
        return self.function_fallback_sql(e) if isinstance(e, exp.Func) else e.sql()

    return generate


class DagwrightMySQL(MySQL):
    """MySQL (as MariaDB 10.11 runs it) with the rewrites sqlglot lacks."""

    class Generator(MySQL.Generator):
        TRANSFORMS = {
            **MySQL.Generator.TRANSFORMS,
            exp.Contains: _contains,
            exp.StartsWith: _affix("LEFT"),
            exp.EndsWith: _affix("RIGHT"),
            exp.SplitPart: _split_part,
            exp.CountIf: _count_if,
            exp.Monthname: _name("%M", "%b"),
            exp.Dayname: _name("%W", "%a"),
            exp.DateFromParts: _date_from_parts,
            exp.ByteLength: lambda self, e: self.func("LENGTH", e.this),
            exp.DateDiff: _boundaries,
            exp.TsOrDsDiff: _boundaries,
            exp.DateTrunc: _truncate,
            exp.TimestampTrunc: _truncate,
            exp.DatetimeTrunc: _truncate,
            exp.RegexpLike: _regexp_like,
            exp.Median: _refuse("MEDIAN: MariaDB has it only as a window function"),
            exp.Grouping: _refuse("GROUPING(): MariaDB has no GROUPING function"),
        }

        def window_sql(self, expression: exp.Window) -> str:
            """LAG/LEAD with a default: MariaDB takes no third argument. The default is the
            value where the row ``offset`` rows away does not exist, counted by ROW_NUMBER
            (and COUNT of the partition, for LEAD) over the same window."""
            call = expression.this
            default = call.args.get("default") if isinstance(call, exp.Lag | exp.Lead) else None
            if default is None:
                return super().window_sql(expression)
            offset = call.args.get("offset") or exp.Literal.number(1)
            if not (isinstance(offset, exp.Literal) and offset.is_int):
                self.unsupported(f"{call.sql_name()} with a default and a computed offset")
                return super().window_sql(expression)
            shifted = expression.copy()
            shifted.this.set("default", None)
            shifted.this.set("offset", offset.copy())
            number = expression.copy()
            number.set("this", exp.RowNumber())
            number.set("spec", None)
            if isinstance(call, exp.Lag):
                exists = f"{self.sql(number)} > {offset.name}"
            else:
                size = expression.copy()
                size.set("this", exp.Count(this=exp.Star()))
                size.set("order", None)
                size.set("spec", None)
                exists = f"{self.sql(size)} - {self.sql(number)} >= {offset.name}"
            shown = self.sql(shifted)
            return f"CASE WHEN {exists} THEN {shown} ELSE {self.sql(default)} END"

        def group_sql(self, expression: exp.Group) -> str:
            """MariaDB has only ``GROUP BY a, b WITH ROLLUP``: a ROLLUP of the whole grouping
            is that; other groupings (GROUPING SETS, CUBE, a partial ROLLUP) are refused."""
            items = list(expression.expressions)
            for key in ("grouping_sets", "cube", "rollup"):
                items += expression.args.get(key) or []
            plain = [
                i for i in items if not isinstance(i, exp.GroupingSets | exp.Cube | exp.Rollup)
            ]
            if len(plain) == len(items):
                return super().group_sql(expression)
            for kind, words in ((exp.GroupingSets, "GROUPING SETS"), (exp.Cube, "CUBE")):
                if any(isinstance(i, kind) for i in items):
                    self.unsupported(f"GROUP BY {words}: MariaDB has only WITH ROLLUP")
                    return super().group_sql(expression)
            rollups = [i for i in items if isinstance(i, exp.Rollup)]
            columns = [*plain, *(c for r in rollups for c in r.expressions)]
            if len(rollups) != 1 or (plain and rollups[0].expressions) or not columns:
                self.unsupported("a ROLLUP of part of the GROUP BY: MariaDB has only WITH ROLLUP")
                return super().group_sql(expression)
            return f"{self.seg('GROUP BY')} {', '.join(self.sql(c) for c in columns)} WITH ROLLUP"

        def ordered_sql(self, expression: exp.Ordered) -> str:
            """NULLS FIRST/LAST in a window with a ROWS frame: sqlglot refuses every frame,
            but an extra ``x IS NULL`` sort key gives the order there as with no frame (a
            RANGE frame is still refused: its offsets need a single sort key)."""
            window = expression.find_ancestor(exp.Window, exp.Select)
            spec = window.args.get("spec") if isinstance(window, exp.Window) else None
            if spec is None or spec.text("kind").upper() != "ROWS":
                return super().ordered_sql(expression)
            window.set("spec", None)
            try:
                return super().ordered_sql(expression)
            finally:
                window.set("spec", spec)

        def star_sql(self, expression: exp.Star) -> str:
            for arg, words in (("except_", "EXCEPT"), ("replace", "REPLACE"), ("rename", "RENAME")):
                if expression.args.get(arg):
                    self.unsupported(
                        f"SELECT * {words} (...): mysql cannot exclude or replace columns "
                        "of *; list the columns instead"
                    )
            return super().star_sql(expression)
