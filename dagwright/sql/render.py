"""Render static SQL templates with identifiers quoted by sqlglot for one dialect.

Templates name their identifiers as placeholders (``:target``); values are never part of
the text and are passed as bound parameters by the caller (``?``, written as the target
driver expects, e.g. ``%s`` for psycopg). No SQL is built by formatting. Templates are
written in DuckDB's dialect and rendered in any dialect sqlglot writes.
"""

from __future__ import annotations

from functools import lru_cache

import sqlglot
import sqlglot.expressions as exp

IdentifierLike = str | exp.Expression | list[str]
TEMPLATE_DIALECT = "duckdb"


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def table(name: str, schema: str | None = None) -> exp.Table:
    """A table reference. ``name`` may be ``schema.table``; quoting keeps it literal otherwise."""
    if schema is None and "." in name:
        schema, name = name.split(".", 1)
    return exp.Table(this=ident(name), db=ident(schema) if schema else None)


def columns(names: list[str]) -> exp.Tuple:
    return exp.Tuple(expressions=[exp.column(ident(n)) for n in names])


@lru_cache(maxsize=256)
def _parse(template: str, dialect: str) -> exp.Expression:
    return sqlglot.parse_one(template, dialect=dialect)


def render(template: str, dialect: str, **names: IdentifierLike) -> str:
    """``render("DELETE FROM :t", "duckdb", t=table("x"))`` -> ``DELETE FROM "x"``."""
    values = {k: ident(v) if isinstance(v, str) else v for k, v in names.items()}
    tree = exp.replace_placeholders(_parse(template, TEMPLATE_DIALECT).copy(), **values)
    return tree.sql(dialect=dialect)
