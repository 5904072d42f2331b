"""Transform unit tests: given rows in, expected rows out, a readable diff when they differ."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwright.spec.load import load_spec
from dagwright.transform_tests import assert_transform_tests, run_spec_tests
from tests.conftest import run_cli
from tests.transforms.test_sql import make_project

SPEC = """
transforms:
  labelled:
    dialect: snowflake
    sql: |
      select order_id, iff(amount >= 10, 'big', 'small') as size, amount
      from orders
      where ordered_at >= :interval_start and ordered_at < :interval_end
    tests:
      - name: sizes inside the interval
        interval: [2026-01-01T00:00:00, 2026-02-01T00:00:00]
        given:
          orders:
            - {order_id: 1, amount: 10.0, ordered_at: 2026-01-05T10:00:00}
            - {order_id: 2, amount: 9.99, ordered_at: 2026-01-31T23:59:59}
            - {order_id: 3, amount: 50.0, ordered_at: 2026-02-01T00:00:00}
        expect:
          - {order_id: 2, size: small}
          - {order_id: 1, size: big}
      - name: wrong on purpose
        interval: [2026-01-01T00:00:00, 2026-02-01T00:00:00]
        given:
          orders:
            - {order_id: 1, amount: 10.0, ordered_at: 2026-01-05T10:00:00}
            - {order_id: 2, amount: 1.0, ordered_at: 2026-01-06T10:00:00}
        expect:
          - {order_id: 1, size: small}
          - {order_id: 2, size: small}
      - name: missing column
        interval: [2026-01-01T00:00:00, 2026-02-01T00:00:00]
        given:
          orders: [{order_id: 1, amount: 10.0, ordered_at: 2026-01-05T10:00:00}]
        expect: [{order_id: 1, colour: red}]
      - name: input not given
        given:
          customers: [{customer_id: 1}]
        expect: []
  top:
    inputs: [orders]
    ops:
      - deduplicate: {keys: [customer_id], order_by: [-amount], keep: first}
      - select: [customer_id, order_id]
    tests:
      - name: ordered comparison
        ordered: true
        given:
          orders:
            - {customer_id: 1, order_id: 10, amount: 5}
            - {customer_id: 1, order_id: 11, amount: 7}
            - {customer_id: 2, order_id: 12, amount: 1}
        expect:
          - {customer_id: 1, order_id: 11}
          - {customer_id: 2, order_id: 12}
loads:
  t: {from: labelled}
  u: {from: top}
"""


def test_outcomes_and_row_diff(tmp_path: Path) -> None:
    spec = load_spec(make_project(tmp_path, SPEC))
    outcomes = {o.test: o for o in run_spec_tests(spec)}
    assert outcomes["sizes inside the interval"].ok, outcomes["sizes inside the interval"].message
    assert outcomes["ordered comparison"].ok, outcomes["ordered comparison"].message
    wrong = outcomes["wrong on purpose"]
    assert not wrong.ok
    assert wrong.message.splitlines() == [
        "1 expected row(s) missing, 1 unexpected row(s) (2 expected, 2 produced)",
        "    order_id | size",
        "  - 1 | 'small'",
        "  + 1 | 'big'",
        "  (- expected but not produced, + produced but not expected)",
    ]
    assert "the output has no column(s) ['colour']" in outcomes["missing column"].message
    assert "the test gives no rows for ['orders']" in outcomes["input not given"].message


def test_from_pytest(tmp_path: Path) -> None:
    path = make_project(tmp_path, SPEC)
    assert_transform_tests(path, "top")
    with pytest.raises(AssertionError, match=r"p\.labelled: wrong on purpose\n1 expected row"):
        assert_transform_tests(path)


def test_command_exit_code_and_report(tmp_path: Path) -> None:
    make_project(tmp_path, SPEC)
    result = run_cli("test", "p", cwd=tmp_path)
    assert result.returncode == 1
    assert "PASS  p.labelled: sizes inside the interval" in result.stdout
    assert "FAIL  p.labelled: wrong on purpose" in result.stdout
    assert result.stdout.rstrip().endswith("5 test(s): 2 passed, 3 failed")


def test_example_pipeline_tests_pass(example_project) -> None:
    assert_transform_tests(example_project.dags / "shop_daily.yaml")
    outcomes = run_spec_tests(load_spec(example_project.dags / "shop_daily.yaml"))
    assert outcomes and all(o.ok for o in outcomes)
