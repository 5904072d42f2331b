"""GE on chunks of Arrow data gives the same verdicts as GE on the whole frame."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dagwright.errors import Problem, SpecError
from expectations.suites import CheckItem

ROWS = pa.table(
    {
        "id": [1, 2, 3, 4, None, 6, 7, 3, 9, None],
        "status": ["paid", "x", "paid", "void", "paid", "y", "paid", "paid", "z", "paid"],
        "amount": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 100.0],
    }
)
"""id 3 appears at rows 2 and 7 (different chunks of 3); ids are null at rows 4 and 9."""


def item(kind: str, severity: str = "quarantine", **kwargs) -> CheckItem:
    return CheckItem(kind, kwargs, severity, None, Problem("test", 1, 1, ""))


ITEMS = [
    item("expect_column_values_to_be_unique", column="id"),
    item("expect_column_values_to_not_be_null", column="id"),
    item("expect_column_values_to_be_in_set", column="status", value_set=["paid", "void"]),
    item(
        "expect_column_values_to_be_in_set",
        "warn",
        column="status",
        value_set=["paid", "void"],
        mostly=0.7,
    ),
    item("expect_column_values_to_be_between", "error", column="amount", max_value=10, mostly=0.95),
    item("expect_column_max_to_be_between", "error", column="amount", max_value=10),
    item("expect_table_row_count_to_equal", "error", value=10),
]


def verdicts(outcomes) -> list[tuple]:
    return [
        (o.success, o.element_count, o.unexpected_count, sorted(o.rows), o.observed_value, o.error)
        for o in outcomes
    ]


@pytest.mark.parametrize("chunk_rows", [3, 4])
def test_chunked_verdicts_equal_whole_frame(chunk_rows: int, tmp_path: Path) -> None:
    from expectations.engine import Data, validate

    whole = verdicts(validate(ITEMS, Data(ROWS), chunk_rows=1_000))
    assert whole == [
        (False, 10, 2, [2, 7], None, None),
        (False, 10, 2, [4, 9], None, None),
        (False, 10, 3, [1, 5, 8], None, None),
        (True, 10, 3, [], None, None),
        (False, 10, 1, [], None, None),
        (False, None, None, [], 100.0, None),
        (True, None, None, [], 10, None),
    ]
    assert verdicts(validate(ITEMS, Data(ROWS), chunk_rows=chunk_rows)) == whole
    path = tmp_path / "rows.parquet"
    pq.write_table(ROWS, path, row_group_size=2)
    assert verdicts(validate(ITEMS, Data(str(path)), chunk_rows=chunk_rows)) == whole


def test_samples_are_json_safe_and_bounded() -> None:
    from expectations.engine import SAMPLE, Data, validate

    many = pa.table({"v": list(range(100))})
    (outcome,) = validate(
        [item("expect_column_values_to_be_between", "error", column="v", max_value=-1)],
        Data(many),
        chunk_rows=7,
    )
    assert outcome.unexpected_count == 100
    assert outcome.sample == list(range(SAMPLE))


def test_empty_input_still_validates() -> None:
    from expectations.engine import Data, validate

    empty = ROWS.schema.empty_table()
    outcomes = validate(ITEMS[:2] + ITEMS[-1:], Data(empty), chunk_rows=3)
    assert [(o.success, o.element_count) for o in outcomes[:2]] == [(True, 0), (True, 0)]
    assert (outcomes[2].success, outcomes[2].observed_value) == (False, 0)


def test_invalid_arguments_at_run_time_are_spec_errors() -> None:
    from expectations.engine import Data, validate

    with pytest.raises(SpecError, match="missing required argument 'column'"):
        validate([item("expect_column_values_to_be_unique")], Data(ROWS), chunk_rows=3)


def test_date_bounds_compare_with_timestamp_columns() -> None:
    """YAML reads ``2026-01-01`` as a date; pandas refuses to compare it with timestamps."""
    from datetime import UTC, date, datetime

    from expectations.engine import Data, validate

    stamps = [datetime(2026, 1, 5), datetime(2025, 12, 31, 23)]
    table = pa.table(
        {
            "naive": pa.array(stamps, pa.timestamp("us")),
            "aware": pa.array([s.replace(tzinfo=UTC) for s in stamps], pa.timestamp("us", "UTC")),
        }
    )
    checks = [
        item("expect_column_values_to_be_between", "error", column=c, min_value=date(2026, 1, 1))
        for c in ("naive", "aware")
    ]
    outcomes = validate(checks, Data(table), chunk_rows=10)
    assert [(o.success, o.unexpected_count, o.error) for o in outcomes] == [
        (False, 1, None),
        (False, 1, None),
    ]


def test_record_batches_read_once_give_the_whole_frame_verdicts() -> None:
    """Batches of uneven sizes, rechunked by 3: id 3 (rows 2 and 7) is still a duplicate."""
    from expectations.engine import Data, validate

    reads: list[list[str]] = []

    def batches(columns: list[str]):
        reads.append(columns)
        table = ROWS.select(columns)
        for start, length in ((0, 1), (1, 4), (5, 0), (5, 2), (7, 3)):
            yield from table.slice(start, length).to_batches()

    whole = verdicts(validate(ITEMS, Data(ROWS), chunk_rows=1_000))
    data = Data(batches, ROWS.schema)
    assert data.rows is None
    assert verdicts(validate(ITEMS, data, chunk_rows=3)) == whole
    assert data.rows == ROWS.num_rows
    assert reads == [["id", "status", "amount"]]


def test_only_the_columns_expectations_read_are_read() -> None:
    from expectations.engine import Data, validate

    reads: list[list[str]] = []

    def batches(columns: list[str]):
        reads.append(columns)
        return ROWS.select(columns).to_batches(4)

    outcomes = validate(ITEMS[:3], Data(batches, ROWS.schema), chunk_rows=4)
    assert [o.unexpected_count for o in outcomes] == [2, 2, 3]
    assert reads == [["id", "status"]]


def test_an_error_while_reading_reaches_the_caller_and_stops_the_reader() -> None:
    import threading

    from dagwright.errors import DataError
    from expectations.engine import Data, validate

    def batches(columns: list[str]):
        yield from ROWS.select(columns).slice(0, 4).to_batches()
        raise DataError("orders.parquet: row 5, column 'id': not an integer")

    with pytest.raises(DataError, match="row 5, column 'id'"):
        validate(ITEMS, Data(batches, ROWS.schema), chunk_rows=2)
    assert not [t for t in threading.enumerate() if t.name == "checks-reader"]


def test_a_failing_validation_stops_the_reader_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """GE raising on a chunk leaves no reader thread behind, however long the input."""
    import threading

    from expectations import engine

    served = []

    def endless(columns: list[str]):
        while True:
            served.append(1)
            yield ROWS.select(columns).to_batches()[0]

    def broken(*args):
        raise RuntimeError("GE broke")

    monkeypatch.setattr(engine, "_run", broken)
    with pytest.raises(RuntimeError, match="GE broke"):
        engine.validate(ITEMS[1:2], engine.Data(endless, ROWS.schema), chunk_rows=5)
    assert not [t for t in threading.enumerate() if t.name == "checks-reader"]
    assert len(served) < 10


def test_json_columns_are_checked_as_text_or_skipped_with_a_note(tmp_path: Path) -> None:
    """Row-level expectations read a JSON column's text; the ones that order or average
    values are skipped on it with a note, never raised; a column DuckDB hands over as
    text is JSON when the caller says so."""
    from expectations.engine import Data, validate

    docs = ['{"sku": "A1"}', "[1, 2]", "null", '{"sku": "A1"}', '"é"']
    payload = pa.ExtensionArray.from_storage(pa.json_(pa.string()), pa.array(docs))
    table = pa.table({"id": [1, 2, 3, 4, 5], "payload": payload})
    pq.write_table(table, tmp_path / "j.parquet")
    items = [
        item("expect_column_values_to_not_be_null", "error", column="payload"),
        item("expect_column_values_to_be_unique", "error", column="payload"),
        item("expect_column_values_to_match_regex", "error", column="payload", regex="sku"),
        item("expect_column_values_to_be_between", "error", column="payload", min_value=0),
        item("expect_column_max_to_be_between", "error", column="payload", max_value=5),
        item(
            "expect_column_unique_value_count_to_be_between",
            "error",
            column="payload",
            min_value=4,
            max_value=4,
        ),
        item("expect_column_values_to_be_between", "error", column="id", min_value=0),
    ]
    sources = [
        Data(table),
        Data(str(tmp_path / "j.parquet")),
        Data(lambda cols: table.select(cols).to_batches(2), table.schema, 5),
        Data(
            lambda cols: (
                table.cast(pa.schema([("id", pa.int64()), ("payload", pa.string())]))
                .select(cols)
                .to_batches(2)
            ),
            pa.schema([("id", pa.int64()), ("payload", pa.string())]),
            5,
            json_columns=["payload"],
        ),
    ]
    for data in sources:
        for chunk_rows in (2, 100):
            got = validate(items, data, chunk_rows)
            assert [o.error for o in got] == [None] * len(items)
            assert [(o.success, o.unexpected_count) for o in got[:3]] == [
                (True, 0),
                (False, 2),
                (False, 3),
            ]
            assert [o.note is not None for o in got] == [False] * 3 + [True, True] + [False] * 2
            assert got[3].success and got[3].describe().startswith(
                "skipped: column 'payload' holds JSON documents"
            )
            assert got[5].success and got[6].success
