"""Native expectations give Great Expectations' own results (the differential test).

Generated batches (nulls, NaN, infinities, duplicates, Unicode and newlines, decimals,
empty batches) and generated expectations of every native form, with ``mostly`` and
quarantine, are evaluated natively in DuckDB and by GE's pandas engine; every field of
the stored result must be equal: success, element, missing and unexpected counts, the
percentage, the observed value, ``partial_unexpected_list`` and the quarantined rows.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dagwright.errors import Problem
from expectations import forms, native
from expectations.outcomes import Data, Outcome, suite_result
from expectations.suites import CheckItem

FIELDS = (
    "success",
    "element_count",
    "missing_count",
    "unexpected_count",
    "unexpected_percent",
    "observed_value",
    "sample",
    "rows",
    "error",
    "note",
)
SCHEMA = pa.schema(
    [
        ("i", pa.int64()),
        ("f", pa.float64()),
        ("s", pa.string()),
        ("d", pa.decimal128(10, 2)),
        ("e", pa.decimal128(15, 5)),
        ("b", pa.bool_()),
    ]
)
NUMBERS = ("i", "f", "d", "e")
PATTERNS = (
    "^a",
    "a$",
    "^[a-c]+$",
    "x|y",
    "(ab)+",
    ".",
    "^$",
    "[^a]",
    "a.c",
    r"\.",
    "^.{2}$",
    "1$",
    "b*?c",
    "^(a|é)$",
)
"""Patterns with a native form; ``\\d``, lookarounds and flags have none (``test_refused``)."""

ints = st.one_of(st.integers(-3, 3), st.integers(-(2**53), 2**53))
floats = st.one_of(
    st.sampled_from([0.0, -0.0, 1.5, 2.0, float("nan"), float("inf"), float("-inf")]),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
)
texts = st.one_of(
    st.sampled_from(["", "a", "ab", "abc", "x", "a\n", "é", "٣", "1", "ab\n"]),
    st.text(alphabet="abcxy.é٣1\n ", max_size=5),
)
decimals = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False)
long_decimals = st.decimals(min_value=-(10**9), max_value=10**9, places=5, allow_nan=False)
numbers = st.one_of(st.integers(-5, 5), st.floats(-10, 10, allow_nan=False), st.integers())


@st.composite
def batches(draw: st.DrawFn) -> pa.Table:
    n = draw(st.integers(0, 12))

    def column(values: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(st.one_of(st.none(), values), min_size=n, max_size=n))

    return pa.table(
        {
            "i": column(ints),
            "f": column(floats),
            "s": column(texts),
            "d": column(decimals),
            "e": column(long_decimals),
            "b": column(st.booleans()),
        },
        schema=SCHEMA,
    )


def _mostly(draw: st.DrawFn, kwargs: dict[str, Any]) -> dict[str, Any]:
    mostly = draw(st.one_of(st.none(), st.sampled_from([0.0, 0.5, 0.75, 0.9, 1.0])))
    if mostly is not None:
        kwargs["mostly"] = mostly
    return kwargs


def _bounds(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> dict[str, Any]:
    low, high = draw(st.one_of(st.none(), values)), draw(st.one_of(st.none(), values))
    if low is None and high is None:
        low = draw(values)
    if low is not None and high is not None and low > high:
        low, high = high, low
    kwargs: dict[str, Any] = {}
    if low is not None:
        kwargs["min_value"] = low
    if high is not None:
        kwargs["max_value"] = high
    return kwargs


@st.composite
def expectations(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(sorted(forms.ROW_LEVEL | {"expect_table_row_count_to_equal"})))
    kwargs: dict[str, Any]
    if kind in (
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_unique",
    ):
        kwargs = {"column": draw(st.sampled_from(SCHEMA.names))}
    elif kind == "expect_compound_columns_to_be_unique":
        columns = draw(st.lists(st.sampled_from(SCHEMA.names), min_size=2, max_size=3, unique=True))
        kwargs = {"column_list": columns}
        ignore = draw(st.sampled_from([None, "all_values_are_missing", "any_value_is_missing"]))
        if ignore:
            kwargs["ignore_row_if"] = ignore
    elif kind.endswith("_in_set"):
        if draw(st.booleans()):
            column = draw(st.sampled_from(NUMBERS))
            values = draw(st.lists(numbers | st.sampled_from([0, 1, 1.5, 2.0]), max_size=4))
        else:
            column = "s"
            values = draw(st.lists(texts, max_size=4))
        kwargs = {"column": column, "value_set": values}
    elif kind == "expect_column_values_to_be_between":
        kwargs = {"column": draw(st.sampled_from(NUMBERS)), **_bounds(draw, numbers)}
        for key in ("strict_min", "strict_max"):
            if draw(st.booleans()):
                kwargs[key] = draw(st.booleans())
    elif kind == "expect_column_value_lengths_to_be_between":
        kwargs = {"column": "s", **_bounds(draw, st.integers(0, 4))}
    elif kind == "expect_column_value_lengths_to_equal":
        kwargs = {"column": "s", "value": draw(st.integers(0, 3))}
    elif kind in ("expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex"):
        kwargs = {"column": "s", "regex": draw(st.sampled_from(PATTERNS))}
    elif kind == "expect_table_row_count_to_equal":
        return kind, {"value": draw(st.integers(0, 12))}
    else:
        return kind, _bounds(draw, st.integers(0, 12))
    return kind, _mostly(draw, kwargs)


def _items(drawn: list[tuple[str, dict[str, Any]]], quarantine: list[bool]) -> list[CheckItem]:
    return [
        CheckItem(
            kind,
            kwargs,
            "quarantine" if q and kind in forms.ROW_LEVEL else "error",
            None,
            Problem("suite.yaml", 1, 1, ""),
        )
        for (kind, kwargs), q in zip(drawn, quarantine, strict=True)
    ]


def _fields(outcome: Outcome) -> dict[str, Any]:
    return {f: getattr(outcome, f) for f in FIELDS}


def _same(native_outcome: Outcome, library: Outcome) -> None:
    ours, theirs = _fields(native_outcome), _fields(library)
    assert ours == theirs, (native_outcome.item.type, native_outcome.item.kwargs)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    table=batches(),
    drawn=st.lists(expectations(), min_size=1, max_size=5),
    quarantine=st.lists(st.booleans(), min_size=5, max_size=5),
)
def test_native_results_equal_great_expectations(
    table: pa.Table, drawn: list[tuple[str, dict[str, Any]]], quarantine: list[bool]
) -> None:
    from expectations import engine

    items = _items(drawn, quarantine[: len(drawn)])
    assert all(native.applies(i, table.schema) for i in items), [i.kwargs for i in items]
    ours = native.validate(items, list(range(len(items))), Data(table))
    theirs = engine.validate(items, Data(table), 1_000_000)
    for i, library in enumerate(theirs):
        _same(ours[i], library)


def test_native_reads_a_staged_parquet_file_in_row_order(tmp_path: Path) -> None:
    """The file path (DuckDB's own Parquet reader, row numbers from the file) gives the
    same samples and quarantined rows as GE over several row groups."""
    from expectations import engine

    n = 25_000
    table = pa.table(
        {
            "i": [None if k % 997 == 0 else k % 5000 for k in range(n)],
            "s": ["bad" if k % 1234 == 0 else "ok" for k in range(n)],
        }
    )
    path = tmp_path / "rows.parquet"
    pq.write_table(table, path, row_group_size=4096)
    items = _items(
        [
            ("expect_column_values_to_not_be_null", {"column": "i"}),
            ("expect_column_values_to_be_unique", {"column": "i"}),
            ("expect_column_values_to_be_in_set", {"column": "s", "value_set": ["ok"]}),
        ],
        [True, False, True],
    )
    ours = native.validate(items, [0, 1, 2], Data(str(path)))
    theirs = engine.validate(items, Data(str(path)), 1_000_000)
    for i, library in enumerate(theirs):
        _same(ours[i], library)
    assert ours[2].rows == [k for k in range(n) if k % 1234 == 0]
    assert len(ours[1].sample) == 20


@pytest.mark.parametrize(
    ("kind", "kwargs", "why"),
    [
        ("expect_column_values_to_match_regex", {"column": "s", "regex": r"\d"}, "Unicode \\d"),
        ("expect_column_values_to_match_regex", {"column": "s", "regex": "(?i)a"}, "flags"),
        ("expect_column_values_to_match_regex", {"column": "s", "regex": "a(?=b)"}, "lookahead"),
        ("expect_column_values_to_match_regex", {"column": "s", "regex": r"(a)\1"}, "backref"),
        ("expect_column_values_to_be_in_set", {"column": "i", "value_set": ["1"]}, "mixed"),
        ("expect_column_values_to_be_in_set", {"column": "b", "value_set": [1]}, "bool"),
        ("expect_column_values_to_be_between", {"column": "s", "min_value": 1}, "text"),
        ("expect_column_values_to_be_between", {"column": "i", "min_value": "a"}, "bound"),
        ("expect_column_values_to_be_unique", {"column": "i", "row_condition": "i>1"}, "cond"),
        (
            "expect_column_values_to_not_be_null",
            {"column": "i", "result_format": "BOOLEAN_ONLY"},
            "",
        ),
        ("expect_column_mean_to_be_between", {"column": "i", "min_value": 1}, "no form"),
    ],
)
def test_refused_forms_run_in_great_expectations(kind: str, kwargs: dict, why: str) -> None:
    """Whatever could answer differently from GE is left to GE."""
    (item,) = _items([(kind, kwargs)], [False])
    assert not native.applies(item, SCHEMA), why


def test_decimals_longer_than_floats_hold_and_float32_compare_in_the_library() -> None:
    schema = pa.schema([("d", pa.decimal128(20, 2)), ("g", pa.float32())])
    (between, short) = _items(
        [
            ("expect_column_values_to_be_between", {"column": "d", "min_value": 0}),
            ("expect_column_values_to_be_between", {"column": "g", "min_value": 0}),
        ],
        [False, False],
    )
    assert not native.applies(between, schema) and not native.applies(short, schema)
    (nulls,) = _items([("expect_column_values_to_not_be_null", {"column": "g"})], [False])
    assert native.applies(nulls, schema)


def test_accepted_arguments_are_ones_great_expectations_accepts() -> None:
    """``forms.accepts`` lets spec validation skip GE: anything it accepts GE must too."""
    from expectations import gx_types

    cases = [
        ("expect_column_values_to_be_between", {"column": "a", "min_value": 1, "mostly": 0.5}),
        ("expect_column_values_to_be_in_set", {"column": "a", "value_set": []}),
        ("expect_compound_columns_to_be_unique", {"column_list": ["a", "b"]}),
        ("expect_column_value_lengths_to_equal", {"column": "a", "value": 3}),
        ("expect_column_values_to_not_match_regex", {"column": "a", "regex": "^x$"}),
        ("expect_table_row_count_to_be_between", {"min_value": 1}),
        ("expect_table_row_count_to_equal", {"value": 0}),
        ("expect_column_values_to_be_null", {"column": "a"}),
    ]
    for kind, kwargs in cases:
        assert forms.accepts(kind, kwargs), kind
        cls = gx_types.expectation_class(kind)
        assert cls is not None and gx_types.argument_problems(cls, kind, kwargs) == [], kind
    assert not forms.accepts("expect_column_values_to_be_between", {"column": "a"})
    assert not forms.accepts("expect_column_values_to_be_null", {"colum": "a"})
    assert not forms.accepts(
        "expect_column_values_to_be_null", {"column": "a"}, "great_expectations"
    )


def test_suite_result_is_great_expectations_own_document() -> None:
    """The stored suite result, built without GE, is what GE's classes write (and read)."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )

    from expectations import engine

    table = pa.table({"a": [1, None, 2, 2], "s": ["x", "y", None, "x"]})
    items = _items(
        [
            ("expect_column_values_to_not_be_null", {"column": "a"}),
            ("expect_column_values_to_be_in_set", {"column": "s", "value_set": ["x"]}),
            ("expect_table_row_count_to_equal", {"value": 4}),
            ("expect_column_values_to_be_unique", {"column": "nope"}),
        ],
        [False] * 4,
    )
    outcomes = engine.validate(items, Data(table), 1_000_000)
    theirs = ExpectationSuiteValidationResult(
        success=False,
        results=[
            ExpectationValidationResult(
                success=o.success,
                expectation_config=engine.gx_types.build(o.item.type, o.item.kwargs).configuration,
                result=o.summary(),
                exception_info={
                    "raised_exception": bool(o.error),
                    "exception_message": o.error,
                    "exception_traceback": None,
                },
            )
            for o in outcomes
        ],
        suite_name="p.check",
        statistics={
            "evaluated_expectations": 4,
            "successful_expectations": 1,
            "unsuccessful_expectations": 3,
            "success_percent": 25.0,
        },
        meta={"great_expectations_version": engine.gx.__version__},
    ).to_json_dict()
    ours = suite_result("p.check", outcomes)
    for result in ours["results"]:
        result["expectation_config"].pop("meta")
    for result in theirs["results"]:
        result["expectation_config"].pop("meta", None)
    assert ours == theirs
    ExpectationSuiteValidationResult(**suite_result("p.check", outcomes))


def test_evaluate_imports_no_great_expectations_for_native_checks(tmp_path: Path) -> None:
    import subprocess

    script = (
        "import sys, pyarrow as pa\n"
        "from dagwright.errors import Problem\n"
        "from expectations.evaluate import validate\n"
        "from expectations.outcomes import Data\n"
        "from expectations.suites import CheckItem\n"
        "item = CheckItem('expect_column_values_to_be_unique', {'column': 'a'}, 'error', None,"
        " Problem('x', 1, 1, ''))\n"
        "(o,) = validate([item], Data(pa.table({'a': [1, 1, 2]})), 10)\n"
        "print(o.unexpected_count, o.sample, 'great_expectations' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stdout.split() == ["2", "[1,", "1]", "False"]


def test_decimal_and_boolean_samples_are_what_ge_gives() -> None:
    from expectations import engine

    table = pa.table(
        {
            "d": pa.array([Decimal("1.50"), Decimal("1.50"), None], pa.decimal128(6, 2)),
            "b": [True, True, None],
        }
    )
    items = _items(
        [
            ("expect_column_values_to_be_unique", {"column": "d"}),
            ("expect_column_values_to_be_unique", {"column": "b"}),
            ("expect_column_values_to_be_null", {"column": "d"}),
        ],
        [False, False, False],
    )
    ours = native.validate(items, [0, 1, 2], Data(table))
    for i, library in enumerate(engine.validate(items, Data(table), 100)):
        _same(ours[i], library)
    assert ours[0].sample == [1.5, 1.5]


def test_json_columns_are_left_to_the_library_but_for_not_null() -> None:
    schema = pa.schema([("doc", pa.string())])
    unique, present = _items(
        [
            ("expect_column_values_to_be_unique", {"column": "doc"}),
            ("expect_column_values_to_not_be_null", {"column": "doc"}),
        ],
        [False, False],
    )
    assert native.applies(unique, schema) and not native.applies(unique, schema, {"doc"})
    assert native.applies(present, schema, {"doc"})
