"""Bad data through the real CLI: a located error (source, file, line, column), and nothing
half-loaded; or the configured behaviour, with every row accounted for.

Each case first loads a good file, then runs again on a bad one: the table, the ledger
and the run's rows must show exactly what happened.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow

SPEC = """\
pipeline: bad_data
start_date: 2026-01-01
sources:
  orders:
    extractor: csv
    path: data/orders.csv
    columns: {columns}
loads:
  orders_merge: {{from: orders, write: merge, primary_key: [id]{contract}}}
  orders_append: {{from: orders, write: append{contract}}}
"""
GOOD = "id,amount,note\n1,10,a\n2,20,b\n"
GOOD_ROWS = [(1, 10, "a"), (2, 20, "b")]
COLUMNS = "{id: BIGINT, amount: BIGINT, note: VARCHAR}"


class Case:
    def __init__(self, root: Path, columns: str = COLUMNS, contract: str = "") -> None:
        self.root = root
        (root / "dags").mkdir()
        (root / "data").mkdir()
        (root / "dags" / "bad_data.yaml").write_text(
            SPEC.format(columns=columns, contract=contract)
        )

    def run(self, content: str | bytes) -> tuple[int, str]:
        path = self.root / "data" / "orders.csv"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        result = run_cli("run", "bad_data", cwd=self.root)
        return result.returncode, " ".join((result.stdout + result.stderr).split())

    def rows(self, table: str) -> list[tuple]:
        con = duckdb.connect(str(self.root / "warehouse.duckdb"), read_only=True)
        try:
            cols = [
                r[0]
                for r in con.execute(f'DESCRIBE "{table}"').fetchall()
                if not r[0].startswith("_dagwright")
            ]
            select = ", ".join(f'"{c}"' for c in cols)
            return con.execute(f'SELECT {select} FROM "{table}" ORDER BY ALL').fetchall()
        finally:
            con.close()

    def ledger(self) -> list[tuple]:
        con = duckdb.connect(str(self.root / "warehouse.duckdb"), read_only=True)
        try:
            return con.execute(
                'SELECT table_name, "rows" FROM "_dagwright"."intervals" ORDER BY ALL'
            ).fetchall()
        finally:
            con.close()

    def stage_rows(self) -> dict[str, tuple[int | None, int | None]]:
        import json

        con = duckdb.connect(str(self.root / "warehouse.duckdb"), read_only=True)
        try:
            (stages,) = con.execute(
                'SELECT stages FROM "_dagwright"."runs" ORDER BY started_at DESC LIMIT 1'
            ).fetchall()[0]
        finally:
            con.close()
        return {s["stage"]: (s["rows_in"], s["rows_out"]) for s in json.loads(stages)}


@pytest.fixture
def case(tmp_path: Path) -> Case:
    case = Case(tmp_path)
    code, output = case.run(GOOD)
    assert code == 0, output
    return case


def assert_nothing_changed(case: Case) -> None:
    assert case.rows("orders_merge") == GOOD_ROWS
    assert case.rows("orders_append") == GOOD_ROWS
    assert case.ledger() == [("orders_append", 2), ("orders_merge", 2)]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "id,amount,note\n1,10,a\n2,20,b,extra\n3,30,c\n",
            "source 'orders': data/orders.csv line 3, column 4: the row has 4 fields, "
            "the header 3 (id, amount, note)",
        ),
        (
            "id,amount,note\n1,10,a\n2,20\n3,30,c\n",
            "source 'orders': data/orders.csv line 3, column 'note': the row has 2 fields, "
            "the header 3",
        ),
        (
            "id,amount,note\n1,10,a\n2,twenty,b\n",
            "source 'orders': data/orders.csv line 3, column 'amount': could not convert "
            "'twenty' to BIGINT",
        ),
    ],
    ids=["extra-field", "missing-field", "wrong-type"],
)
def test_malformed_rows_are_located_and_nothing_loads(
    case: Case, content: str, expected: str
) -> None:
    code, output = case.run(content)
    assert code == 1
    assert expected in output
    assert "Traceback" not in output
    assert_nothing_changed(case)


def test_null_in_a_merge_key_refuses_that_load_only(case: Case) -> None:
    code, output = case.run("id,amount,note\n3,30,c\n,40,d\n")
    assert code == 1
    assert (
        "table 'orders_merge': 1 row(s) of the batch have a null in the key (id); "
        "merge needs every key set"
    ) in output
    assert case.rows("orders_merge") == GOOD_ROWS
    # the file changed: its new version replaces what the old one appended
    assert case.rows("orders_append") == [(3, 30, "c"), (None, 40, "d")]


def test_duplicate_keys_in_a_merge_keep_the_last_and_are_counted(case: Case) -> None:
    code, output = case.run("id,amount,note\n2,21,first\n2,22,second\n3,30,c\n")
    assert code == 0, output
    assert case.rows("orders_merge") == [(1, 10, "a"), (2, 22, "second"), (3, 30, "c")]
    assert len(case.rows("orders_append")) == 3  # the new version of the file, once
    rows_in, rows_out = case.stage_rows()["load_orders_merge"]
    assert (rows_in, rows_out) == (3, 2), "the run records 3 rows in, 2 out: 1 duplicate"


def test_added_column_evolves_the_table(case: Case) -> None:
    case_file = "id,amount,note,channel\n3,30,c,web\n"
    (case.root / "dags" / "bad_data.yaml").write_text(
        SPEC.format(
            columns="{id: BIGINT, amount: BIGINT, note: VARCHAR, channel: VARCHAR}", contract=""
        )
    )
    code, output = case.run(case_file)
    assert code == 0, output
    assert case.rows("orders_merge") == [
        (1, 10, "a", None),
        (2, 20, "b", None),
        (3, 30, "c", "web"),
    ]


def test_frozen_schema_refuses_a_new_column(tmp_path: Path) -> None:
    case = Case(tmp_path, contract=", schema_contract: freeze")
    assert case.run(GOOD)[0] == 0
    (case.root / "dags" / "bad_data.yaml").write_text(
        SPEC.format(
            columns="{id: BIGINT, amount: BIGINT, note: VARCHAR, channel: VARCHAR}",
            contract=", schema_contract: freeze",
        )
    )
    code, output = case.run("id,amount,note,channel\n3,30,c,web\n")
    assert code == 1
    assert "channel" in output and "freeze" in output
    assert_nothing_changed(case)


UNTERMINATED = 'id,amount,note\n1,10,a\n2,20,"unterminated\n3,30,c\n'
INVALID_UTF8 = b"id,amount,note\n1,10,a\n2,20,b\xff\xfec\n"
OVERSIZED = f"id,amount,note\n1,10,a\n2,20,{'x' * 2_100_000}\n"


def test_unterminated_quote_fails_and_loads_nothing(case: Case) -> None:
    code, output = case.run(UNTERMINATED)
    assert code == 1
    assert "source 'orders': data/orders.csv" in output
    assert_nothing_changed(case)


def test_unterminated_quote_is_located(tmp_path: Path) -> None:
    code, output = Case(tmp_path).run(UNTERMINATED)
    assert code == 1 and "Traceback" not in output
    assert "data/orders.csv line 3, column 'note'" in output


def test_invalid_utf8_is_located(tmp_path: Path) -> None:
    code, output = Case(tmp_path).run(INVALID_UTF8)
    assert code == 1 and "Traceback" not in output
    assert "data/orders.csv line 3, column 'note'" in output and "UTF-8" in output


def test_invalid_utf8_fails_and_loads_nothing(case: Case) -> None:
    code, output = case.run(INVALID_UTF8)
    assert code == 1
    assert "source 'orders': data/orders.csv line 3" in output
    assert_nothing_changed(case)


def test_oversized_field_is_located(tmp_path: Path) -> None:
    code, output = Case(tmp_path).run(OVERSIZED)
    assert code == 1 and "Traceback" not in output
    assert "data/orders.csv line 3" in output and "line size" in output


def test_oversized_field_fails_and_loads_nothing(case: Case) -> None:
    code, output = case.run(OVERSIZED)
    assert code == 1
    assert "source 'orders': data/orders.csv" in output
    assert len(output) < 5_000, "the error does not dump the oversized field"
    assert_nothing_changed(case)
