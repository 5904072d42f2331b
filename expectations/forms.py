"""Which expectations have a native form, and for which arguments.

Nothing here imports Great Expectations or a database: spec validation asks
``accepts`` to know whether a check's arguments need GE's own classes to be checked,
and the run path whether GE needs importing at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

_MAP = {"column", "mostly"}
_ARGUMENTS: dict[str, frozenset[str]] = {
    "expect_column_values_to_not_be_null": frozenset(_MAP),
    "expect_column_values_to_be_null": frozenset(_MAP),
    "expect_column_values_to_be_unique": frozenset(_MAP),
    "expect_compound_columns_to_be_unique": frozenset({"column_list", "mostly", "ignore_row_if"}),
    "expect_column_values_to_be_in_set": frozenset(_MAP | {"value_set"}),
    "expect_column_values_to_not_be_in_set": frozenset(_MAP | {"value_set"}),
    "expect_column_values_to_be_between": frozenset(
        _MAP | {"min_value", "max_value", "strict_min", "strict_max"}
    ),
    "expect_column_value_lengths_to_be_between": frozenset(_MAP | {"min_value", "max_value"}),
    "expect_column_value_lengths_to_equal": frozenset(_MAP | {"value"}),
    "expect_column_values_to_match_regex": frozenset(_MAP | {"regex"}),
    "expect_column_values_to_not_match_regex": frozenset(_MAP | {"regex"}),
    "expect_table_row_count_to_be_between": frozenset({"min_value", "max_value"}),
    "expect_table_row_count_to_equal": frozenset({"value"}),
}
"""The expectations with a native form, and the arguments that form understands."""
_REQUIRED: dict[str, tuple[str, ...]] = {
    "expect_compound_columns_to_be_unique": ("column_list",),
    "expect_column_values_to_be_in_set": ("column", "value_set"),
    "expect_column_values_to_not_be_in_set": ("column", "value_set"),
    "expect_column_value_lengths_to_equal": ("column", "value"),
    "expect_column_values_to_match_regex": ("column", "regex"),
    "expect_column_values_to_not_match_regex": ("column", "regex"),
    "expect_table_row_count_to_equal": ("value",),
}
NULL_CHECKS = frozenset({"expect_column_values_to_not_be_null", "expect_column_values_to_be_null"})
ROW_LEVEL = frozenset(_ARGUMENTS) - {
    "expect_table_row_count_to_be_between",
    "expect_table_row_count_to_equal",
}


def accepts(kind: str, kwargs: dict[str, Any], engine: str | None = None) -> bool:
    """Whether expectation ``kind`` with these arguments has a native form: every
    argument one the form understands, of a type GE accepts too (so GE need not be
    imported to check them). ``engine: great_expectations`` on a check opts out."""
    allowed = _ARGUMENTS.get(kind)
    if allowed is None or engine == "great_expectations":
        return False
    if any(k not in allowed for k in kwargs):
        return False
    required = _REQUIRED.get(kind, ("column",) if "column" in allowed else ())
    if any(k not in kwargs for k in required):
        return False
    if "column" in kwargs and not _name(kwargs["column"]):
        return False
    if "mostly" in kwargs and not (_number(kwargs["mostly"]) and 0 <= kwargs["mostly"] <= 1):
        return False
    return _ARGUMENT_CHECKS.get(kind, _ok)(kwargs)


def _ok(kwargs: dict[str, Any]) -> bool:
    return True


def _name(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _bounds(kwargs: dict[str, Any], kind: Callable[[Any], bool] = _number) -> bool:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is None and high is None:
        return False
    if any(v is not None and not kind(v) for v in (low, high)):
        return False
    if any(not isinstance(kwargs.get(k, False), bool) for k in ("strict_min", "strict_max")):
        return False
    return low is None or high is None or low <= high


def _value_set(kwargs: dict[str, Any]) -> bool:
    values = kwargs["value_set"]
    return isinstance(values, list) and (
        all(isinstance(v, str) for v in values) or all(_number(v) for v in values)
    )


def _compound(kwargs: dict[str, Any]) -> bool:
    columns = kwargs["column_list"]
    return (
        isinstance(columns, list)
        and len(columns) >= 2
        and all(_name(c) for c in columns)
        and len(set(columns)) == len(columns)
        and kwargs.get("ignore_row_if", "all_values_are_missing")
        in ("all_values_are_missing", "any_value_is_missing")
    )


def _regex(kwargs: dict[str, Any]) -> bool:
    return isinstance(kwargs["regex"], str) and regex_form(kwargs["regex"]) is not None


_ARGUMENT_CHECKS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "expect_compound_columns_to_be_unique": _compound,
    "expect_column_values_to_be_in_set": _value_set,
    "expect_column_values_to_not_be_in_set": _value_set,
    "expect_column_values_to_be_between": _bounds,
    "expect_column_value_lengths_to_be_between": lambda k: _bounds(k, _count),
    "expect_column_value_lengths_to_equal": lambda k: _count(k["value"]),
    "expect_column_values_to_match_regex": _regex,
    "expect_column_values_to_not_match_regex": _regex,
    "expect_table_row_count_to_be_between": lambda k: _bounds(k, _count),
    "expect_table_row_count_to_equal": lambda k: _count(k["value"]),
}


def regex_form(pattern: str) -> tuple[str, bool] | None:
    """``pattern`` for DuckDB's RE2, and whether it ends on ``$``; None when RE2 and
    Python's ``re`` (GE's ``str.contains``) could disagree on some string.

    Kept: literals, ``.``, classes of literals and ranges (negated too), repeats up to
    1000, groups, alternation, ``^`` and ``$`` outside classes, no flags. Python's ``$``
    also matches before a final newline; ``$`` patterns are evaluated for that too.
    Refused: ``\\d \\w \\s \\b`` (Unicode in Python, ASCII in RE2), lookarounds,
    backreferences, ``\\A \\Z``, inline flags.
    """
    try:
        from re import _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(pattern)
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return None
    if parsed.state.flags & ~(re.UNICODE | re.NOFLAG) or "\x00" in pattern:
        return None
    ends = [False]
    if not _plain(parsed, ends):
        return None
    return pattern, ends[0]


_SIMPLE_OPS = {"LITERAL", "NOT_LITERAL", "ANY"}


def _plain(parsed: Any, ends: list[bool]) -> bool:
    for op, arg in parsed:
        name = str(op)
        if name in _SIMPLE_OPS:
            continue
        if name == "IN":
            if any(str(o) not in ("LITERAL", "RANGE", "NEGATE") for o, _ in arg):
                return False
        elif name in ("MAX_REPEAT", "MIN_REPEAT"):
            low, high, sub = arg
            if low > 1000 or (high > 1000 and high != _MAXREPEAT) or not _plain(sub, ends):
                return False
        elif name == "SUBPATTERN":
            group, add, remove, sub = arg
            if add or remove or not _plain(sub, ends):
                return False
        elif name == "BRANCH":
            if not all(_plain(b, ends) for b in arg[1]):
                return False
        elif name == "AT":
            if str(arg) == "AT_END":
                ends[0] = True
            elif str(arg) != "AT_BEGINNING":
                return False
        else:
            return False
    return True


def _maxrepeat() -> int:
    from re import _constants  # type: ignore[attr-defined]

    return int(_constants.MAXREPEAT)


_MAXREPEAT = _maxrepeat()


def needs_library(items: Iterable[Any]) -> bool:
    """Whether some check item surely runs in Great Expectations, whatever the column
    types (a run starts importing it early then)."""
    return any(not accepts(i.type, i.kwargs, i.engine) for i in items)
