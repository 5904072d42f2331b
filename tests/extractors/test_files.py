"""File sources end to end: every format into the warehouse, bad rows located, incremental."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import Project
from tests.extractors.conftest import extracted, tables, watermark


def _write(project: Project, rel: str, text: str) -> None:
    path = project.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_every_format_glob_folder_and_hints_load(project: Project, run_spec) -> None:
    _write(
        project, "in/csv/a.csv", "id,amount,day,note\n1,1.50,31/01/2026,N/A\n2,2.25,01/02/2026,x\n"
    )
    _write(project, "in/csv/b.csv", "id,amount,day,note\n3,3.00,02/02/2026,y\n")
    _write(project, "in/t.tsv", "id\tname\n1\tone, with comma\n2\ttwo\n")
    _write(project, "in/j/rows.json", json.dumps([{"id": 1, "tags": ["a"]}, {"id": 2, "tags": []}]))
    _write(project, "in/j/more.ndjson", '{"id": 3, "tags": ["b", "c"]}\n{"id": 4, "tags": null}\n')
    (project.root / "in/pq").mkdir()
    pq.write_table(pa.table({"id": [1, 2], "price": [1.5, 2.0]}), project.root / "in/pq/p1.parquet")
    pq.write_table(pa.table({"id": [3], "price": [9.25]}), project.root / "in/pq/p2.parquet")

    outcome = run_spec(
        "formats",
        """
        sources:
          c:
            extractor: csv
            path: in/csv/*.csv
            columns: {amount: "DECIMAL(10,2)", day: DATE}
            date_format: "%d/%m/%Y"
            null_values: ["N/A"]
          t: {extractor: files, path: in/t.tsv}
          j: {extractor: json, path: in/j/rows.json}
          n: {extractor: ndjson, path: in/j/more.ndjson}
          p: {extractor: parquet, path: in/pq, columns: {price: "DECIMAL(6,2)"}}
        loads:
          c_rows: {from: c, write: replace}
          t_rows: {from: t, write: replace}
          j_rows: {from: j, write: replace}
          n_rows: {from: n, write: replace}
          p_rows: {from: p, write: replace}
        """,
    )
    assert outcome.ok, outcome.record.error
    assert project.query("select id, amount, day, note from c_rows order by id") == [
        (1, Decimal("1.50"), date(2026, 1, 31), None),
        (2, Decimal("2.25"), date(2026, 2, 1), "x"),
        (3, Decimal("3.00"), date(2026, 2, 2), "y"),
    ]
    assert project.query("select id, name from t_rows order by id") == [
        (1, "one, with comma"),
        (2, "two"),
    ]
    assert project.query("select id, tags from j_rows order by id") == [(1, ["a"]), (2, [])]
    assert project.query("select id, tags from n_rows order by id") == [(3, ["b", "c"]), (4, None)]
    assert project.query("select id, price from p_rows order by id") == [
        (1, Decimal("1.50")),
        (2, Decimal("2.00")),
        (3, Decimal("9.25")),
    ]


def test_fsspec_url_source(project: Project, run_spec) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe("/dagwright-test/orders/1.csv", b"id,v\n1,a\n")
    fs.pipe("/dagwright-test/orders/2.csv", b"id,v\n2,b\n")
    try:
        outcome = run_spec(
            "remote",
            """
            sources:
              o: {extractor: csv, path: "memory://dagwright-test/orders/*.csv"}
            loads:
              o_rows: {from: o, write: replace}
            """,
        )
    finally:
        fs.rm("/dagwright-test", recursive=True)
    assert outcome.ok, outcome.record.error
    assert project.query("select id, v from o_rows order by id") == [(1, "a"), (2, "b")]


BAD_SPEC = """
pipeline: bad_files
start_date: 2026-01-01
sources:
  orders: {extractor: csv, path: in/orders.csv}
  lines: {extractor: csv, path: in/lines.csv}
  refunds: {extractor: csv, path: in/refunds.csv}
loads:
  orders: {from: orders, write: replace}
  lines: {from: lines, write: replace}
  refunds: {from: refunds, write: replace}
"""


def test_bad_files_fail_with_file_line_and_column_and_load_nothing(project: Project) -> None:
    good = "".join(f"{i},{i}.5,2026-01-01\n" for i in range(30_000))
    _write(project, "in/orders.csv", "id,amount,day\n" + good + "30000,abc,2026-01-02\n")
    _write(project, "in/lines.csv", "id,amount,day\n1,2,2026-01-01\n2,3\n3,4,2026-01-03\n")
    project.write_spec("bad_files", BAD_SPEC)
    result = project.cli("run", "bad_files")
    out = result.stdout + result.stderr
    assert result.returncode == 1
    # a value that does not convert, far past DuckDB's type-sniffing sample
    assert (
        "source 'orders': in/orders.csv line 30002, column 'amount': could not convert 'abc' "
        "to DOUBLE; row: '30000,abc,2026-01-02'"
    ) in out
    # a short row: reported, never shifted into the wrong columns
    assert (
        "source 'lines': in/lines.csv line 3, column 'day': the row has 2 fields, the header 3"
        in out
    )
    assert "source 'refunds': no file matches 'in/refunds.csv'" in out
    assert "Traceback" not in out
    assert not {"orders", "lines", "refunds"} & tables(project)


INCREMENTAL = """
sources:
  orders:
    extractor: csv
    path: in/orders/*.csv
    columns: {updated_at: TIMESTAMP}
    incremental: {cursor: updated_at}
loads:
  orders: {from: orders, write: merge, primary_key: [id]}
"""


def test_incremental_runs_load_each_change_once(project: Project, run_spec) -> None:
    header = "id,name,updated_at\n"
    _write(project, "in/orders/1.csv", header + "1,a,2026-01-01 10:00\n2,b,2026-01-01 11:00\n")
    first = run_spec("inc_files", INCREMENTAL)
    assert first.ok, first.record.error
    assert extracted(first, "orders") == 2

    _write(project, "in/orders/2.csv", header + "2,b2,2026-01-02 09:00\n3,c,2026-01-02 10:00\n")
    second = run_spec("inc_files", INCREMENTAL)
    assert second.ok, second.record.error
    assert extracted(second, "orders") == 2

    _write(project, "in/orders/3.csv", header + "4,d,2026-01-03 08:00\n")
    third = run_spec("inc_files", INCREMENTAL)
    assert third.ok, third.record.error
    assert extracted(third, "orders") == 1

    assert project.query("select id, name, updated_at from orders order by id") == [
        (1, "a", datetime(2026, 1, 1, 10)),
        (2, "b2", datetime(2026, 1, 2, 9)),
        (3, "c", datetime(2026, 1, 2, 10)),
        (4, "d", datetime(2026, 1, 3, 8)),
    ]
    assert watermark(project, "inc_files", "orders") == datetime(2026, 1, 3, 8)

    unchanged = run_spec("inc_files", INCREMENTAL)
    assert unchanged.ok, unchanged.record.error
    assert extracted(unchanged, "orders") == 0

    # The warehouse now refuses null names: the next load fails, and nothing moves.
    con = duckdb.connect(str(project.warehouse))
    con.execute("alter table orders alter column name set not null")
    con.close()
    _write(project, "in/orders/4.csv", header + "5,,2026-01-04 08:00\n")
    failed = run_spec("inc_files", INCREMENTAL)
    assert not failed.ok
    assert watermark(project, "inc_files", "orders") == datetime(2026, 1, 3, 8)
    assert project.query("select count(*) from orders") == [(4,)]

    _write(project, "in/orders/4.csv", header + "5,e,2026-01-04 08:00\n")
    fixed = run_spec("inc_files", INCREMENTAL)
    assert fixed.ok, fixed.record.error
    assert extracted(fixed, "orders") == 1
    assert project.query("select id, name from orders where id = 5") == [(5, "e")]
    assert watermark(project, "inc_files", "orders") == datetime(2026, 1, 4, 8)


LOCATED = """
sources:
  rows: {extractor: csv, path: in/rows.csv.gz}
loads:
  rows: {from: rows, write: replace}
"""


def _gzip(project: Project, data: bytes) -> None:
    import gzip

    path = project.root / "in/rows.csv.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data))


def test_faults_past_multi_line_quoted_fields_are_located_in_compressed_files(
    project: Project, run_spec
) -> None:
    head = b'id,memo,note\n1,"two\nlines, and ""quotes""",a\n' + b"2,plain,b\n" * 30_000
    cases = {
        head + b"3,ok,caf\xe9\n": "in/rows.csv.gz line 30004, column 'note': invalid UTF-8 "
        "(byte 0xe9 at position 9 of the line, byte offset 300053 of the file)",
        head + b'3,"never closed,c\n4,x,d\n': "in/rows.csv.gz line 30004, column 'memo': "
        "the quoted field opened on this line is never closed (the file ends inside it, "
        "2 line(s) later)",
        head + b'3,"' + b"y" * 2_000_001 + b'",c\n': "in/rows.csv.gz line 30004, column "
        "'memo': the record is 2,000,008 bytes, over DuckDB's maximum line size of "
        "2,000,000 bytes (this field holds 2,000,001 characters); shorten the field",
    }
    for data, expected in cases.items():
        _gzip(project, data)
        outcome = run_spec("located", LOCATED)
        assert not outcome.ok
        assert expected in outcome.record.error
        assert "rows" not in tables(project)


def test_a_good_file_is_never_scanned_again(project: Project, run_spec, monkeypatch) -> None:
    """The located-error scan runs only after DuckDB failed: here it would fail the run."""
    import extractors.files

    def scanned(*_: object) -> None:
        raise AssertionError("the happy path re-scanned the file")

    monkeypatch.setattr(extractors.files, "scan_csv", scanned)
    _gzip(project, b'id,memo,note\n1,"two\nlines",a\n2,plain,b\n')
    outcome = run_spec("located", LOCATED)
    assert outcome.ok, outcome.record.error
    assert project.query("select count(*) from rows") == [(2,)]
