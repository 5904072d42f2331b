"""The framework's own sqlglot dialect rules for the engines that run SQL steps.

sqlglot translates most constructs between dialects, but where it has no rule for a
source function in the target it emits the function unchanged, and the SQL fails only
when the engine runs it. Where a faithful rewrite exists, it is added here as a rule of
a subclass of the target dialect's generator. Where none exists, ``unknown_functions``
finds the function before any data moves: every function the generated SQL calls must
exist in the engine's catalog (DuckDB's ``duckdb_functions()``, PostgreSQL's ``pg_proc``,
MariaDB's functions: ``catalogs/mysql_catalog.py``).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import sqlglot.expressions as exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.duckdb import DuckDB

from dagwright.sql.rules import elapsed

ENGINES = ("duckdb", "postgres", "mysql")
"""Dialects with a catalog of functions to check against (the engines dagwright runs)."""

_SYNTAX = frozenset(
    {
        "CAST",
        "TRY_CAST",
        "EXTRACT",
        "COALESCE",
        "NULLIF",
        "GREATEST",
        "LEAST",
        "ROW",
        "ARRAY",
        "EXISTS",
        "POSITION",
        "SUBSTRING",
        "TRIM",
        "OVERLAY",
        "GROUPING",
        "ROLLUP",
        "CUBE",
        "GROUPING SETS",
        "INTERVAL",
        "CASE",
        "VALUES",
        "IN",
        "ANY",
        "ALL",
        "SOME",
        "COLLATE",
        "STRUCT",
        "MAP",
        "LIST",
    }
)
"""Calls that are grammar, not catalog functions."""

_CALL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\(")


def _median_double(self: DuckDB.Generator, e: exp.Median) -> str:
    """DuckDB's MEDIAN keeps a DECIMAL's scale (17.875 becomes 17.87); the sources do not."""
    return self.func("MEDIAN", exp.cast(e.this, exp.DType.DOUBLE))


class DagwrightDuckDB(DuckDB):
    """DuckDB with the rewrites sqlglot lacks."""

    class Generator(DuckDB.Generator):
        TRANSFORMS = {
            **DuckDB.Generator.TRANSFORMS,
            exp.TimestampDiff: elapsed,
            exp.Median: _median_double,
            # DuckDB's OCTET_LENGTH takes BLOBs only; STRLEN counts a string's bytes.
            exp.ByteLength: lambda self, e: self.func("STRLEN", e.this),
        }


BOUNDARY_DATEDIFF = frozenset({"snowflake", "redshift", "tsql"})
"""Dialects whose DATEDIFF counts unit boundaries crossed (documented), not whole units."""


def normalize(tree: exp.Expression, dialect: str) -> exp.Expression:
    """Make the source dialect's meaning explicit where sqlglot's parse leaves it implicit."""
    source = dialect.lower()
    if source in BOUNDARY_DATEDIFF:
        for node in tree.find_all(exp.DateDiff, exp.TsOrDsDiff):
            node.set("date_part_boundary", True)
    if source == "tsql":
        # T-SQL's FLOAT is FLOAT(53), an 8-byte double; FLOAT(1..24) is a 4-byte real.
        for node in tree.find_all(exp.DataType):
            if node.this == exp.DType.FLOAT:
                size = node.expressions[0].name if node.expressions else "53"
                if not size.isdigit() or int(size) > 24:
                    node.replace(exp.DataType.build("DOUBLE"))
    if source in ("tsql", "mysql"):
        # CHOOSE(i, a, b, ...) (T-SQL) and ELT(i, a, b, ...) (MySQL): the i-th value, else NULL.
        for node in list(tree.find_all(exp.Anonymous, exp.Elt)):
            if isinstance(node, exp.Elt):
                index, values = node.this, list(node.expressions)
            elif node.name.upper() == "CHOOSE" and len(node.expressions) >= 2:
                index, *values = node.expressions
            else:
                continue
            if values:
                node.replace(
                    exp.Case(
                        this=index.copy(),
                        ifs=[
                            exp.If(this=exp.Literal.number(i), true=v.copy())
                            for i, v in enumerate(values, 1)
                        ],
                    )
                )
    for group in tree.find_all(exp.Group):
        for kind, cls in (("rollup", exp.Rollup), ("cube", exp.Cube)):
            marks = group.args.get(kind) or []
            if len(marks) == 1 and not marks[0].expressions and group.expressions:
                # MySQL's GROUP BY a, b WITH ROLLUP is GROUP BY ROLLUP (a, b).
                group.set(kind, [cls(expressions=list(group.expressions))])
                group.set("expressions", [])
    return tree


def _own(name: str) -> type[Dialect] | None:
    """dagwright's subclass of a dialect, imported only when that dialect is generated."""
    if name == "duckdb":
        return DagwrightDuckDB
    if name == "postgres":
        from dagwright.sql.postgres import DagwrightPostgres

        return DagwrightPostgres
    if name == "mysql":
        from dagwright.sql.mysql import DagwrightMySQL

        return DagwrightMySQL
    if name == "snowflake":
        from dagwright.sql.snowflake import DagwrightSnowflake

        return DagwrightSnowflake
    return None


def dialect_for(name: str) -> Dialect:
    """The dialect dagwright generates ``name`` with: its own subclass where it has one."""
    own = _own(name.lower())
    return own() if own else Dialect.get_or_raise(name)


def known_dialects() -> list[str]:
    return sorted(n for n in Dialect.classes if n and not n.startswith("dagwright"))


def check_dialect(name: str) -> str | None:
    """An error message when sqlglot cannot read ``name``, else ``None``."""
    if name.lower() in Dialect.classes and not name.lower().startswith("dagwright"):
        return None
    from dagwright.errors import did_you_mean

    return (
        f"unknown SQL dialect {name!r}{did_you_mean(name.lower(), known_dialects())}; "
        f"known: {', '.join(known_dialects())}"
    )


@lru_cache(maxsize=4)
def catalog(engine: str) -> frozenset[str]:
    """Upper-cased names of the functions ``engine`` has."""
    if engine == "duckdb":
        import duckdb

        con = duckdb.connect()
        try:
            rows = con.sql("SELECT DISTINCT function_name FROM duckdb_functions()").fetchall()
        finally:
            con.close()
        return frozenset(r[0].upper() for r in rows)
    path = Path(__file__).parent / "catalogs" / f"{engine}.json"
    names = json.loads(path.read_text(encoding="utf-8"))["functions"]
    return frozenset(n.upper() for n in names)


def called_functions(sql: str, engine: str) -> list[str]:
    """Names of the functions ``sql`` (in ``engine``'s dialect) calls, in order, once each."""
    import sqlglot

    tree = sqlglot.parse_one(sql, dialect=dialect_for(engine))
    names: list[str] = []
    for node in tree.find_all(exp.Func):
        if isinstance(node, exp.Anonymous):
            name = node.name.upper()
        else:
            match = _CALL.match(node.sql(dialect=dialect_for(engine)))
            if not match:
                continue
            name = match.group(1).upper()
        if name not in names and name not in _SYNTAX:
            names.append(name)
    return names


def unknown_functions(sql: str, engine: str) -> list[str]:
    """Functions ``sql`` calls that ``engine`` does not have (none for engines not listed)."""
    if engine not in ENGINES:
        return []
    have = catalog(engine)
    return [n for n in called_functions(sql, engine) if n not in have]
