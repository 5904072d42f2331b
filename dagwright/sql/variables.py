"""``${VAR}`` inside SQL: a bound value or a quoted name, never text pasted into the query.

Elsewhere in a spec ``${VAR}`` is replaced as the YAML is read. In SQL that would let a
variable's value change the query (``amount > ${T}`` with ``T="0 or 1=1"``), so the
SQL keeps its ``${VAR}``s and a step compiles them here: each becomes a marker
identifier the dialect's parser accepts, and after parsing a marker standing for a value
(``amount > ${T}``, ``'${T}'``) becomes a bound parameter, one standing for a table or
schema name (``from ${SCHEMA}.orders``) a quoted identifier; anything else is refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import sqlglot.expressions as exp

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_MARKER = "__dagwright_var_{}__"
_MARKED = re.compile(r"__dagwright_var_(\d+)__", re.IGNORECASE)
PREFIX = "var_"
"""Bound parameters made from variables are named ``var_<name>`` (lowercase)."""


class VariableError(ValueError):
    """A ``${VAR}`` that SQL cannot take; ``index`` is its place among the text's variables."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


def variables(text: str) -> list[tuple[str, str | None]]:
    """The ``(name, default)`` of each ``${VAR}`` in ``text``, in order."""
    return [(m.group(1), m.group(2)) for m in VARIABLE.finditer(text)]


def resolved(text: str, environ: Mapping[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """Each variable of ``text`` with its value now; ``VariableError`` for one unset."""
    env = os.environ if environ is None else environ
    found = []
    for index, (name, default) in enumerate(variables(text)):
        if name not in env and default is None:
            raise VariableError(
                f"environment variable {name} is not set "
                f"(export it, or write ${{{name}:-default}})",
                index,
            )
        found.append((name, env.get(name, default or "")))
    return tuple(found)


def mark(text: str) -> str:
    """``text`` with its ``${VAR}``s replaced by marker identifiers, for the parser."""
    count = iter(range(1_000_000))
    return VARIABLE.sub(lambda _: _MARKER.format(next(count)), text)


def is_marker(name: str) -> bool:
    """``name`` is a ``${VAR}``'s marker (a table named by a variable)."""
    return _MARKED.search(name) is not None


def value(text: str) -> Any:
    """A variable's text as the value SQL compares: an integer or number when it reads as
    one, else the text itself (bound as a string, so ``0 or 1=1`` is just a string)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def substitute(
    tree: exp.Expression, values: tuple[tuple[str, str], ...]
) -> tuple[exp.Expression, dict[str, Any]]:
    """Replace the markers in a parsed query; the bound values by parameter name.

    Raises ``VariableError`` for a marker in any other place (an alias, a function name,
    part of a quoted string).
    """
    bound: dict[str, Any] = {}

    def name_of(index: int) -> str:
        return values[index][0]

    for node in list(tree.walk()):
        if isinstance(node, exp.Literal) and node.is_string and _MARKED.search(node.this):
            whole = _MARKED.fullmatch(node.this)
            index = int(_MARKED.search(node.this).group(1))  # type: ignore[union-attr]
            if not whole:
                raise VariableError(
                    f"${{{name_of(index)}}} is part of a quoted string: SQL cannot bind a "
                    f"piece of a string; write '...' || ${{{name_of(index)}}} instead",
                    index,
                )
            name = f"{PREFIX}{name_of(index).lower()}_text"
            bound[name] = values[index][1]
            node.replace(exp.Placeholder(this=name))
        elif isinstance(node, exp.Identifier) and _MARKED.search(node.name):
            whole = _MARKED.fullmatch(node.name)
            index = int(_MARKED.search(node.name).group(1))  # type: ignore[union-attr]
            parent = node.parent
            names = {exp.Table: ("this", "db", "catalog"), exp.Column: ("table", "db")}
            if whole and node.arg_key in names.get(type(parent), ()):
                node.replace(exp.to_identifier(values[index][1], quoted=True))
            elif whole and isinstance(parent, exp.Column) and node.arg_key == "this":
                if parent.table:
                    raise VariableError(_elsewhere(name_of(index)), index)
                name = PREFIX + name_of(index).lower()
                bound[name] = value(values[index][1])
                parent.replace(exp.Placeholder(this=name))
            else:
                raise VariableError(_elsewhere(name_of(index)), index)
    left = _MARKED.search(tree.sql())
    if left:
        raise VariableError(_elsewhere(name_of(int(left.group(1)))), int(left.group(1)))
    return tree, bound


def _elsewhere(name: str) -> str:
    return (
        f"${{{name}}} stands neither for a value (amount > ${{{name}}}) nor for a table or "
        f"schema name (from ${{{name}}}.orders): SQL is never pasted together from variables; "
        "declare a params: entry for a value, or write the SQL out"
    )


def position(text: str, index: int) -> tuple[int, int]:
    """Line and column (1-based) of the ``index``-th ``${VAR}`` in ``text``."""
    match = list(VARIABLE.finditer(text))[index]
    before = text[: match.start()]
    return before.count("\n") + 1, match.start() - (before.rfind("\n") + 1) + 1
