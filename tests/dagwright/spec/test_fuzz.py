"""Fuzz the spec reader: whatever the text, it loads or raises ``SpecError``, nothing else.

``DAGWRIGHT_FUZZ_EXAMPLES`` sets the examples per strategy (default 150);
``DAGWRIGHT_FUZZ_REPORT=path`` appends how many examples ran.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dagwright.errors import SpecError
from dagwright.spec.load import load_spec

EXAMPLES = int(os.environ.get("DAGWRIGHT_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RAN: Counter[str] = Counter()
ROOT = Path(tempfile.mkdtemp(prefix="dagwright_fuzz_"))
(ROOT / "dags").mkdir()

VALID = {
    "pipeline": "fuzzed",
    "schedule": "@daily",
    "start_date": "2026-01-01",
    "sources": {
        "orders": {"extractor": "csv", "path": "data/orders.csv"},
        "customers": {"extractor": "csv", "path": "data/customers.csv"},
    },
    "transforms": {
        "joined": {"sql": "select * from orders join customers using (customer_id)"},
        "daily": {"polars": "transforms.shop:daily_revenue", "inputs": ["joined"]},
    },
    "destination": {"loader": "duckdb", "path": "warehouse.duckdb"},
    "loads": {
        "fct": {"from": "joined", "write": "merge", "primary_key": ["order_id"]},
        "agg": {"from": "daily", "write": "delete_insert", "interval_column": "order_date"},
    },
}
VALID_TEXT = yaml.safe_dump(VALID, sort_keys=False)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["@daily", "* * * * *", "${HOME}", "${NOPE_NOT_SET}", "merge", "csv"]),
    st.dates().map(str),
    st.builds(
        "{}-{:02d}-{:02d}".format, st.integers(0, 10000), st.integers(0, 13), st.integers(0, 32)
    ),
    st.sampled_from(["2026-02-30", "2026-02-29T25:00:00", "0s", "-1", "99999999999d", "1h-5m"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
paths = st.lists(
    st.sampled_from(
        [*VALID, "orders", "joined", "fct", "sql", "write", "extractor", "inputs", "path", 0]
    ),
    min_size=1,
    max_size=4,
)


def check(text: str, strategy: str) -> None:
    RAN[strategy] += 1
    path = ROOT / "dags" / "fuzzed.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_spec(path)
    except SpecError as exc:
        assert exc.problems, "a SpecError names at least one problem"
        for problem in exc.problems:
            assert problem.line >= 1 and problem.column >= 1


def put(data: Any, path: list[Any], value: Any) -> Any:
    """``data`` with ``value`` placed at ``path`` (creating or replacing what is there)."""
    if not path:
        return value
    key, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {**data, str(key): put(data.get(str(key)), rest, value)}
    if isinstance(data, list) and isinstance(key, int) and data:
        copy = list(data)
        copy[key % len(copy)] = put(copy[key % len(copy)], rest, value)
        return copy
    return {str(key): put(None, rest, value)}


@FUZZ
@given(st.text(max_size=300))
def test_any_text(text: str) -> None:
    check(text, "any text")


@FUZZ
@given(paths, values)
def test_valid_spec_with_one_value_replaced(path: list[Any], value: Any) -> None:
    data = put(VALID, path, value)
    try:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        return
    check(text, "structured mutation")


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID_TEXT)), st.text(max_size=3)), max_size=4))
def test_valid_text_with_characters_changed(edits: list[tuple[int, str]]) -> None:
    text = VALID_TEXT
    for at, insert in edits:
        text = text[:at] + insert + text[at + 1 :]
    check(text, "character edits")


@FUZZ
@given(
    st.lists(
        st.sampled_from(["&a ", "*a", "!!python/object:os.system ", "!tag ", "<<: ", "? ", "- "]),
        max_size=3,
    ),
    st.integers(0, len(VALID_TEXT)),
)
def test_valid_text_with_yaml_features_inserted(tokens: list[str], at: int) -> None:
    check(VALID_TEXT[:at] + "".join(tokens) + VALID_TEXT[at:], "YAML features")


dates = st.one_of(
    st.dates(),
    st.datetimes(),
    st.builds(
        "{}-{:02d}-{:02d}".format, st.integers(0, 10000), st.integers(0, 13), st.integers(0, 32)
    ),
)
durations = st.one_of(st.integers(-(10**12), 10**12), st.from_regex(r"\A\d{0,13}[dhms]\Z"))


@FUZZ
@given(dates, dates, durations, durations)
def test_dates_ranges_and_durations(start: Any, end: Any, timeout: Any, lookback: Any) -> None:
    data = put(VALID, ["start_date"], start)
    data = put(data, ["end_date"], end)
    data = put(data, ["execution_timeout"], timeout)
    data = put(data, ["sources", "orders", "incremental"], {"cursor": "id", "lookback": lookback})
    check(yaml.safe_dump(data, sort_keys=False), "dates and durations")


@pytest.fixture(scope="module", autouse=True)
def report_examples() -> Any:
    yield
    path = os.environ.get("DAGWRIGHT_FUZZ_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{dict(RAN)} total={sum(RAN.values())}\n")
