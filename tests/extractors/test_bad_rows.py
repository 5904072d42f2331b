"""``bad_rows: fail | reject``: a CSV's bad lines, all of them in one run, through the real CLI.

The messy file holds good lines and bad lines of eight kinds. ``reject`` loads every good
row in one run and sets every bad line aside, listed by ``dagwright quarantine`` beside
the rows a check quarantined; ``fail`` fails once, naming every bad line.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow

SPEC = """\
pipeline: messy
start_date: 2026-01-01
sources:
  orders:
    extractor: csv
    path: data/orders.csv
    columns: {{id: INTEGER, amount: "DECIMAL(12,2)", day: DATE, note: VARCHAR}}
    bad_rows: {mode}
    expect:
      - {{expect_column_values_to_be_between: {{column: amount, min_value: 0}}, severity: quarantine}}
loads:
  fct_orders: {{from: orders, write: replace}}
"""
INTERVAL = ("--start", "2026-01-01", "--end", "2026-01-02")
ENV = {"COLUMNS": "400"}

GOOD_TAIL = {
    "stray-quote": b'{k},3.00,2026-01-03,say 5" of rope',
    "quoted-newline": b'{k},4.00,2026-01-04,"two\nlines"',
    "doubled-quote": b'{k},5.00,2026-01-05,"a ""quoted"" word"',
}
"""Good lines DuckDB's strict reader takes as they are (the test counts their keys)."""
BAD = {
    "too-many-fields": b"{k},1.00,2026-01-01,a,extra",
    "too-few-fields": b"{k},1.00",
    "not-a-decimal": b"{k},abc,2026-01-01,a",
    "not-an-integer": b"{k}x,1.00,2026-01-01,a",
    "bad-date": b"{k},1.00,2026-13-45,a",
    "invalid-utf8": b"{k},1.00,2026-01-01,caf\xe9 \xff",
    "over-long": b"{k},1.00,2026-01-01," + b"x" * 2_100_000,
}
UNCLOSED = b'{k},1.00,2026-01-01,"never closed'
"""The eighth kind, last in the file: an unclosed quote takes in every line after it."""
QUARANTINED = 999
"""A good line whose amount fails the quarantine check."""


def messy_file() -> tuple[bytes, list[int], dict[str, int]]:
    """The file, the keys of its good lines, and the physical line of each bad kind."""
    lines: list[bytes] = [b"id,amount,day,note"]
    good: list[int] = []
    bad: dict[str, int] = {}
    key = 100

    def physical() -> int:
        return sum(line.count(b"\n") + 1 for line in lines) + 1

    def add_good() -> None:
        nonlocal key
        key += 1
        lines.append(b"%d,%d.25,2026-01-01,good" % (key, key))
        good.append(key)

    add_good()
    for kind, template in BAD.items():
        key += 1
        bad[kind] = physical()
        lines.append(template.replace(b"{k}", str(key).encode()))
        add_good()
        if kind == "bad-date":
            lines.append(b"")  # an empty line: skipped, neither a row nor a bad line
    for template in GOOD_TAIL.values():
        key += 1
        lines.append(template.replace(b"{k}", str(key).encode()))
        good.append(key)
    lines.append(b"%d,-1.00,2026-01-01,negative" % QUARANTINED)
    good.append(QUARANTINED)
    add_good()
    bad["unclosed-quote"] = physical()
    lines.append(UNCLOSED.replace(b"{k}", b"77777"))
    return b"\n".join(lines) + b"\n", good, bad


def project(root: Path, mode: str) -> tuple[list[int], dict[str, int]]:
    (root / "dags").mkdir(exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    (root / "dags" / "messy.yaml").write_text(SPEC.format(mode=mode))
    content, good, bad = messy_file()
    (root / "data" / "orders.csv").write_bytes(content)
    return good, bad


def query(root: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def output(result) -> str:
    return result.stdout + result.stderr


def extract_row(text: str) -> list[str]:
    """The cells of the run summary's extract_orders row."""
    for line in text.splitlines():
        if "extract_orders" in line:
            return [c.strip() for c in re.split(r"[│|┃]", line) if c.strip()]
    raise AssertionError(f"no extract_orders row in:\n{text}")


def test_reject_loads_every_good_row_and_sets_every_bad_line_aside(tmp_path: Path) -> None:
    good, bad = project(tmp_path, "reject")
    assert len(bad) >= 8

    run = run_cli("run", "messy", *INTERVAL, cwd=tmp_path, env=ENV)
    assert run.returncode == 0, output(run)
    # rows read = rows out of the extract + the lines it rejected
    cells = extract_row(run.stdout)
    assert cells[2:4] == [f"{len(good) + len(bad):,}", f"{len(good):,}"], cells
    assert f"{len(bad)} bad line(s) rejected" in run.stdout

    loaded = query(tmp_path, "select count(*), sum(id) from fct_orders")[0]
    assert loaded == (len(good) - 1, sum(good) - QUARANTINED)
    assert query(tmp_path, "select note from fct_orders where note like 'two%'") == [
        ("two\nlines",)
    ]

    rejected = query(
        tmp_path,
        "select line, reason, raw_line from _dagwright.rejected_rows order by line",
    )
    assert [r[0] for r in rejected] == sorted(bad.values())
    by_line = {line: (reason, raw) for line, reason, raw in rejected}
    assert 'could not convert "abc" to DECIMAL(12,2)' in by_line[bad["not-a-decimal"]][0]
    assert "column amount" in by_line[bad["not-a-decimal"]][0]
    assert "INTEGER" in by_line[bad["not-an-integer"]][0]
    assert "DATE" in by_line[bad["bad-date"]][0]
    assert "the row has 5 fields, the header 4" in by_line[bad["too-many-fields"]][0]
    assert "the row has 2 fields, the header 4" in by_line[bad["too-few-fields"]][0]
    assert "UTF-8" in by_line[bad["invalid-utf8"]][0]
    assert by_line[bad["invalid-utf8"]][1].endswith("caf\\xe9 \\xff"), "raw bytes, escaped"
    assert "maximum line size" in by_line[bad["over-long"]][0]
    assert "never closed" in by_line[bad["unclosed-quote"]][0]
    assert by_line[bad["unclosed-quote"]][1] == '77777,1.00,2026-01-01,"never closed'
    assert by_line[bad["too-many-fields"]][1].endswith(",a,extra")

    report = run_cli("report", cwd=tmp_path, env=ENV)
    assert report.returncode == 0, output(report)
    (page,) = (tmp_path / ".dagwright" / "reports" / "messy").glob("*.html")
    assert f"id='rows-rejected'>{len(bad)} of orders<" in page.read_text()

    listing = run_cli("quarantine", "messy", cwd=tmp_path, env=ENV)
    assert listing.returncode == 0, output(listing)
    text = listing.stdout
    assert "check_orders: 1 quarantined row(s)" in text and "negative" in text
    assert f"extract_orders: {len(bad)} rejected line(s)" in text
    for kind, line in bad.items():
        assert re.search(rf"rejected: line {line}\b", text), (kind, line, text)
    assert "could not convert" in text and "never closed" in text

    # a rerun of the interval replaces the rejected lines of the run it redoes
    again = run_cli("run", "messy", *INTERVAL, cwd=tmp_path, env=ENV)
    assert again.returncode == 0, output(again)
    assert query(tmp_path, "select count(*) from _dagwright.rejected_rows") == [(len(bad),)]
    assert query(tmp_path, "select count(distinct run_id) from _dagwright.rejected_rows") == [(1,)]
    assert query(tmp_path, "select count(*), sum(id) from fct_orders")[0] == loaded
    listing = run_cli("quarantine", "messy", cwd=tmp_path, env=ENV)
    assert f"extract_orders: {len(bad)} rejected line(s)" in listing.stdout

    # the file fixed (its bad lines dropped), a rerun leaves no rejected line listed
    clean = [
        line
        for number, line in enumerate(messy_file()[0].split(b"\n"), 1)
        if number not in bad.values()
    ]
    (tmp_path / "data" / "orders.csv").write_bytes(b"\n".join(clean))
    fixed = run_cli("run", "messy", *INTERVAL, cwd=tmp_path, env=ENV)
    assert fixed.returncode == 0, output(fixed)
    assert "rejected" not in fixed.stdout
    assert query(tmp_path, "select count(*) from _dagwright.rejected_rows") == [(0,)]


def test_fail_names_every_bad_line_in_one_run(tmp_path: Path) -> None:
    _good, bad = project(tmp_path, "fail")

    run = run_cli("run", "messy", *INTERVAL, cwd=tmp_path, env=ENV)
    text = " ".join(output(run).split())
    assert run.returncode == 1, text
    assert "Traceback" not in text
    assert f"source 'orders': {len(bad)} bad line(s)" in text
    for kind, line in bad.items():
        assert re.search(rf"data/orders\.csv line {line}[,:]", text), (kind, line, text)
    assert len(text) < 10_000, "the error does not dump the over-long line"
    assert not query(
        tmp_path, "select table_name from duckdb_tables() where table_name = 'fct_orders'"
    )
    assert not query(
        tmp_path, "select table_name from duckdb_tables() where table_name = 'rejected_rows'"
    )


def test_fail_lists_the_first_hundred_then_counts_the_rest(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "dags" / "messy.yaml").write_text(SPEC.format(mode="fail"))
    rows = ["id,amount,day,note"]
    for k in range(1, 261):
        rows.append(f"{k},{'bad' if k % 2 else '1.00'},2026-01-01,n")
    (tmp_path / "data" / "orders.csv").write_text("\n".join(rows) + "\n")

    run = run_cli("run", "messy", *INTERVAL, cwd=tmp_path, env=ENV)
    text = output(run)
    assert run.returncode == 1
    assert "source 'orders': 130 bad line(s)" in text
    listed = re.findall(r"data/orders\.csv line (\d+), column amount", text)
    assert [int(n) for n in listed] == list(range(2, 2 + 2 * 100, 2))
    assert "... and 30 more" in text


STEP_SPEC = """\
pipeline: messy
start_date: 2026-01-01
sources:
  orders:
    extractor: csv
    path: data/orders.csv
    columns: {id: INTEGER, amount: "DECIMAL(12,2)", day: DATE, note: VARCHAR}
    bad_rows: reject
transforms:
  ids:
    sql: select id from orders
loads:
  fct_ids: {from: ids, write: replace}
"""


def test_reject_sets_aside_the_same_lines_when_a_step_reads_one_column(tmp_path: Path) -> None:
    """A SQL step reading only ``id`` reads the source in place: a bad date or invalid
    UTF-8 in other columns still keeps the line out, as the rejected list says."""
    good, bad = project(tmp_path, "reject")
    (tmp_path / "dags" / "messy.yaml").write_text(STEP_SPEC)

    run = run_cli("run", "messy", *INTERVAL, cwd=tmp_path, env=ENV)
    assert run.returncode == 0, output(run)
    assert f"{len(bad)} bad line(s) rejected" in run.stdout
    assert query(tmp_path, "select count(*), sum(id) from fct_ids")[0] == (len(good), sum(good))
    lines = query(tmp_path, "select line from _dagwright.rejected_rows order by line")
    assert [r[0] for r in lines] == sorted(bad.values())
