"""Great Expectations' own expectation classes: lookup, argument checks, row-level or not.

Importing this module imports Great Expectations (seconds): only code that has checks
to run or validate imports it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations  # noqa: E402,F401 - registers the core expectations
from great_expectations.exceptions import ExpectationNotFoundError  # noqa: E402
from great_expectations.expectations.expectation import (  # noqa: E402
    ColumnMapExpectation,
    ColumnPairMapExpectation,
    Expectation,
    MulticolumnMapExpectation,
)
from great_expectations.expectations.registry import (  # noqa: E402
    get_expectation_impl,
    list_registered_expectation_implementations,
)

CROSS_ROW = frozenset(
    {
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
        "expect_multicolumn_values_to_be_unique",
        "expect_column_values_to_be_increasing",
        "expect_column_values_to_be_decreasing",
        "expect_column_value_z_scores_to_be_less_than",
        "expect_column_values_to_not_be_outliers",
    }
)
"""Row-level expectations whose verdict on a row depends on other rows: never chunked."""


@lru_cache(maxsize=1)
def expectation_names() -> tuple[str, ...]:
    return tuple(sorted(list_registered_expectation_implementations()))


def expectation_class(name: str) -> type[Expectation] | None:
    if not name.startswith("expect_"):
        return None
    try:
        return get_expectation_impl(name)
    except ExpectationNotFoundError:
        return None


def is_row_level(cls: type[Expectation]) -> bool:
    """A map expectation: GE can say which rows failed it."""
    return issubclass(
        cls, (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)
    )


def is_chunkable(cls: type[Expectation], name: str) -> bool:
    """Row-level and row-local: validating chunk by chunk gives the exact answer."""
    return is_row_level(cls) and name not in CROSS_ROW


def build(name: str, kwargs: dict[str, Any]) -> Expectation:
    cls = expectation_class(name)
    if cls is None:
        raise ValueError(f"unknown expectation type {name!r}")
    return cls(**kwargs)


def argument_problems(cls: type[Expectation], name: str, kwargs: dict[str, Any]) -> list[str]:
    """GE's own validation of the arguments, one readable message per argument."""
    from dagwright.errors import did_you_mean

    try:
        cls(**kwargs)
    except Exception as exc:  # noqa: BLE001 - pydantic (v1 or v2) validation errors
        errors = getattr(exc, "errors", None)
        if not callable(errors):
            return [f"{name}: {exc}"]
        grouped: dict[str, list[dict[str, Any]]] = {}
        for err in errors():
            key = ".".join(str(p) for p in err.get("loc", ()) or ("__root__",))
            grouped.setdefault(key, []).append(err)
        fields = sorted(_fields(cls))
        messages: list[str] = []
        for key, errs in grouped.items():
            kind = str(errs[0].get("type", ""))
            if "missing" in kind:
                messages.append(f"{name}: missing required argument {key!r}")
            elif "extra" in kind:
                messages.append(f"{name}: unknown argument {key!r}{did_you_mean(key, fields)}")
            elif key == "__root__":
                if any("extra" in str(e[0].get("type", "")) for e in grouped.values()):
                    continue
                messages.append(f"{name}: {errs[0]['msg']}")
            elif len(errs) > 1:
                messages.append(f"{name}: invalid value for argument {key!r}: {kwargs.get(key)!r}")
            else:
                messages.append(f"{name}: argument {key!r}: {errs[0]['msg']}")
        return messages
    return []


def _fields(cls: type[Expectation]) -> list[str]:
    fields = getattr(cls, "model_fields", None) or getattr(cls, "__fields__", {})
    return list(fields)


def columns_of(kwargs: dict[str, Any]) -> list[str] | None:
    """The columns an expectation reads, or ``None`` when it looks at the whole table."""
    if "row_condition" in kwargs:
        return None
    cols: list[str] = []
    for key in ("column", "column_A", "column_B"):
        if isinstance(kwargs.get(key), str):
            cols.append(kwargs[key])
    if isinstance(kwargs.get("column_list"), list):
        cols += [str(c) for c in kwargs["column_list"]]
    return cols or None
