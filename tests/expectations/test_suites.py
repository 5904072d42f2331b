"""``dagwright validate`` checks expectations against Great Expectations' own classes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from dagwright.errors import SpecError
from dagwright.spec.load import load_spec
from tests.conftest import REPO, Project
from tests.expectations.conftest import orders_spec


def problems(path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return [str(p) for p in info.value.problems]


def test_type_and_argument_problems_are_located(orders_project: Project) -> None:
    path = orders_project.write_spec(
        "bad",
        """
        pipeline: bad
        start_date: 2026-01-01
        sources:
          orders:
            extractor: csv
            path: data/orders.csv
            expect:
              - {expect_column_values_to_be_nul: {column: order_id}}
              - expect_column_values_to_be_in_set: {value_set: [paid]}
              - {expect_column_values_to_be_between: {column: amount, min_valu: 0}}
              - {expect_column_values_to_not_be_null: {column: order_id}, severity: fatal}
              - {expect_table_row_count_to_be_between: {min_value: 1}, severity: quarantine}
              - orders_strct
        loads:
          fct: {from: orders, expect: [{expect_column_values_to_not_be_null: {column: order_id}, severity: quarantine}]}
        """,
    )
    found = problems(path)
    f = str(path)
    assert found == [
        f"{f}:8:10: unknown expectation type 'expect_column_values_to_be_nul' "
        "(did you mean 'expect_column_values_to_be_null'?)",
        f"{f}:9:9: expect_column_values_to_be_in_set: missing required argument 'column'",
        f"{f}:10:10: expect_column_values_to_be_between: unknown argument 'min_valu' "
        "(did you mean 'min_value'?)",
        f"{f}:11:77: unknown severity 'fatal'; use one of error, warn, quarantine",
        f"{f}:12:10: expect_table_row_count_to_be_between: severity quarantine needs a "
        "row-level expectation (expect_column_values_..., column pair or multicolumn); "
        "use error or warn for table-level checks",
        f"{f}:13:9: unknown expectation suite 'orders_strct' (did you mean 'orders_strict'?): "
        f"expected {orders_project.root / 'expectations' / 'orders_strct'}.yaml; "
        "suites: orders_loose, orders_raw, orders_strict",
        f"{f}:15:33: expect_column_values_to_not_be_null: severity quarantine cannot apply "
        "after a load (the rows are already in the table); put the check on the source or "
        "transform instead",
    ]


def test_problems_in_a_suite_point_into_the_suite_file(orders_project: Project) -> None:
    suite = orders_project.root / "expectations" / "broken.yaml"
    suite.write_text(
        textwrap.dedent(
            """\
            suite: broken
            expectations:
              - expect_column_values_to_not_be_null: {column: order_id}
              - expect_column_values_to_be_unique: {}
              - expect_column_value_to_be_unique: {column: order_id}
                severity: warn
            """
        )
    )
    found = problems(orders_spec(orders_project, source="[broken]"))
    assert found == [
        f"{suite}:4:5: expect_column_values_to_be_unique: missing required argument 'column'",
        f"{suite}:5:5: unknown expectation type 'expect_column_value_to_be_unique' "
        "(did you mean 'expect_column_values_to_be_unique'?)",
    ]


def test_validate_command_reports_and_fails(orders_project: Project, capsys) -> None:
    from dagwright.cli import main

    path = orders_spec(
        orders_project, source="[{expect_column_values_to_be_in_set: {column: status}}]"
    )
    capsys.readouterr()
    code = main(["-C", str(orders_project.root), "validate", str(orders_project.dags)])
    assert code == 1
    out = " ".join(capsys.readouterr().out.split())
    line = next(
        n for n, text in enumerate(path.read_text().splitlines(), 1) if "expect_column" in text
    )
    assert f"{path}:{line}:" in out, out
    assert "expect_column_values_to_be_in_set" in out and "value_set" in out, out
    assert "1 invalid" in out


def test_valid_checks_pass_and_need_no_ge_import_after(orders_project: Project) -> None:
    """A spec without checks never imports GE; a spec whose checks were valid before
    does not import it again (the Airflow DAG file parses every spec)."""
    plain = orders_project.write_spec(
        "plain",
        """
        pipeline: plain
        start_date: 2026-01-01
        sources: {orders: {extractor: csv, path: data/orders.csv}}
        loads: {fct: {from: orders}}
        """,
    )
    checked = orders_spec(orders_project, source="[orders_strict]", load="[orders_loose]")
    load_spec(checked)  # validated against GE here, in this process
    script = (
        "import sys\n"
        "from dagwright.spec.load import load_spec\n"
        "from dagwright.cli import build_parser\n"
        "build_parser()\n"
        f"load_spec(__import__('pathlib').Path({str(plain)!r}))\n"
        "assert 'great_expectations' not in sys.modules, 'plain spec imported GE'\n"
        f"load_spec(__import__('pathlib').Path({str(checked)!r}))\n"
        "assert 'great_expectations' not in sys.modules, 'valid checks imported GE again'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_an_unknown_engine_is_located(orders_project: Project) -> None:
    path = orders_project.write_spec(
        "bad_engine",
        """
        pipeline: bad_engine
        start_date: 2026-01-01
        sources:
          orders:
            extractor: csv
            path: data/orders.csv
            expect:
              - {expect_column_values_to_not_be_null: {column: order_id}, engine: pandas}
              - {suite: orders_loose, engine: great_expectation}
        loads:
          fct: {from: orders}
        """,
    )
    f = str(path)
    assert problems(path) == [
        f"{f}:8:75: unknown engine 'pandas'; use one of native, great_expectations",
        f"{f}:9:39: unknown engine 'great_expectation' (did you mean 'great_expectations'?); "
        "use one of native, great_expectations",
    ]
