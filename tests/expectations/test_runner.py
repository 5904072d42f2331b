"""Checks between stages, asserted on the warehouse: loaded rows, quarantine, stored results."""

from __future__ import annotations

import json
import logging

import pytest

from dagwright.plan import build_plan
from dagwright.runner import run_pipeline
from dagwright.spec.load import load_spec
from tests.conftest import Project
from tests.expectations.conftest import orders_spec

NOT_NULL_CUSTOMER = "{expect_column_values_to_not_be_null: {column: customer_id}"
IN_SET_STATUS = (
    "{expect_column_values_to_be_in_set: {column: status, value_set: [paid, void, shipped]}"
)


def run(path, **options):
    return run_pipeline(build_plan(load_spec(path)), **options)


def results(project: Project, run_id: str) -> list[dict]:
    cur = project.query(
        "select stage, suite, expectation, severity, success, observed_value, element_count, "
        "unexpected_count, unexpected_sample, exception, rows_quarantined "
        'from "_dagwright".check_results where run_id = ? order by stage, expectation, kwargs',
        [run_id],
    )
    names = [
        "stage",
        "suite",
        "expectation",
        "severity",
        "success",
        "observed",
        "elements",
        "unexpected",
        "sample",
        "exception",
        "quarantined",
    ]
    return [dict(zip(names, row, strict=True)) for row in cur]


def stages(outcome) -> dict[str, tuple[str, str]]:
    return {s.stage: (s.status, s.checks) for s in outcome.record.stages}


def snapshot(project: Project) -> dict[str, list[tuple]]:
    """Everything a load writes: the table, the interval ledger, the watermarks."""
    return {
        "fct": project.query(
            "select * exclude (_dagwright_load_id, _dagwright_loaded_at) from fct_orders order by 1"
        ),
        "intervals": project.query('select * from "_dagwright".intervals order by all'),
        "watermarks": project.query('select * from "_dagwright".watermarks order by all'),
    }


def test_passing_checks_at_every_position(orders_project: Project, caplog) -> None:
    path = orders_spec(
        orders_project,
        source="[orders_loose]",
        transform="[{expect_column_values_to_be_between: {column: amount, min_value: -10, max_value: 100}}]",
        load="[{suite: orders_loose, severity: error}]",
    )
    with caplog.at_level(logging.INFO, logger="dagwright.checks"):
        outcome = run(path)
    assert outcome.ok, outcome.record.error
    assert stages(outcome) == {
        "extract_orders": ("success", ""),
        "check_orders": ("success", "3/3 passed"),
        "transform_kept": ("success", ""),
        "check_kept": ("success", "1/1 passed"),
        "load_fct_orders": ("success", ""),
        "check_load_fct_orders": ("success", "3/3 passed"),
    }
    assert orders_project.query("select count(*) from fct_orders") == [(8,)]
    stored = results(orders_project, outcome.record.run_id)
    assert len(stored) == 7 and all(r["success"] for r in stored)
    by_stage = {(r["stage"], r["expectation"]): r for r in stored}
    count = by_stage[("check_load_fct_orders", "expect_table_row_count_to_be_between")]
    assert json.loads(count["observed"]) == 8 and count["suite"] == "orders_loose"
    between = by_stage[("check_kept", "expect_column_values_to_be_between")]
    assert (between["elements"], between["unexpected"], between["suite"]) == (8, 0, None)
    # the suite result GE renders in Data Docs is stored per check stage
    docs = orders_project.query(
        'select stage, success from "_dagwright".validations where run_id = ? order by 1',
        [outcome.record.run_id],
    )
    assert docs == [("check_kept", True), ("check_load_fct_orders", True), ("check_orders", True)]
    # visible in the task log (Airflow shows the stage's log)
    assert "PASS expect_table_row_count_to_be_between() [error, suite orders_loose]" in caplog.text


def test_error_after_extract_leaves_destination_untouched(orders_project: Project) -> None:
    good = orders_spec(orders_project, source="[orders_loose]", write="append")
    first = run(good)
    assert first.ok, first.record.error
    before = snapshot(orders_project)

    bad = orders_spec(orders_project, source="[orders_strict]", write="append")
    # the file is loaded already: a plain rerun needs nothing; --reprocess reads it again
    assert run(bad).record.status == "skipped"
    outcome = run(bad, reprocess=True)
    assert not outcome.ok
    assert snapshot(orders_project) == before
    assert stages(outcome)["check_orders"][0] == "failed"
    for later in ("transform_kept", "load_fct_orders"):
        assert stages(outcome)[later][0] == "skipped"
    error = outcome.record.error
    assert "stage 'check_orders': 2 blocking check(s) failed on source 'orders'" in error
    assert (
        "expect_column_values_to_not_be_null(column=customer_id) (suite orders_strict): "
        "2 of 8 rows unexpected" in error
    )
    assert "expect_column_values_to_be_in_set(column=status) (suite orders_strict): " in error
    assert "'bogus'" in error and "nothing downstream of this check was loaded" in error
    stored = {
        r["expectation"] + str(r["unexpected"]): r
        for r in results(orders_project, outcome.record.run_id)
    }
    assert stored["expect_column_values_to_be_in_set2"]["success"] is False
    assert json.loads(stored["expect_column_values_to_be_in_set2"]["sample"]) == ["bogus", "bogus"]
    assert stored["expect_column_values_to_not_be_null2"]["success"] is False
    (status,) = orders_project.query(
        'select status from "_dagwright".runs where run_id = ?', [outcome.record.run_id]
    )[0]
    assert status == "failed"


def test_error_after_transform_blocks_the_load(orders_project: Project) -> None:
    outcome = run(
        orders_spec(
            orders_project,
            transform=f"[{IN_SET_STATUS}}}]",
        )
    )
    assert not outcome.ok
    assert stages(outcome)["check_kept"][0] == "failed"
    assert stages(outcome)["load_fct_orders"][0] == "skipped"
    assert "failed on transform 'kept'" in outcome.record.error
    tables = orders_project.query(
        "select table_name from information_schema.tables where table_name = 'fct_orders'"
    )
    assert tables == []


def test_error_after_load_fails_the_run_and_says_so(orders_project: Project) -> None:
    outcome = run(
        orders_spec(
            orders_project,
            load="[{expect_table_row_count_to_be_between: {min_value: 100}}]",
        )
    )
    assert not outcome.ok
    assert stages(outcome)["load_fct_orders"][0] == "success"
    assert stages(outcome)["check_load_fct_orders"][0] == "failed"
    assert "expect_table_row_count_to_be_between(): observed 8" in outcome.record.error
    assert "the table 'fct_orders' was already loaded" in outcome.record.error
    (stored,) = results(orders_project, outcome.record.run_id)
    assert (stored["success"], stored["observed"]) == (False, "8")


def test_warn_records_and_loads_everything(orders_project: Project) -> None:
    path = orders_spec(
        orders_project,
        source=f"[{{suite: orders_strict, severity: warn}}, {NOT_NULL_CUSTOMER}, severity: warn}}]",
        load="[{expect_column_values_to_be_between: {column: amount, min_value: 0}, severity: warn}]",
    )
    outcome = run(path)
    assert outcome.ok, outcome.record.error
    assert stages(outcome)["check_orders"] == ("success", "2/5 passed, 3 warned")
    assert stages(outcome)["check_load_fct_orders"] == ("success", "0/1 passed, 1 warned")
    assert orders_project.query("select count(*) from fct_orders") == [(8,)]
    warned = [r for r in results(orders_project, outcome.record.run_id) if not r["success"]]
    assert {(r["stage"], r["expectation"], r["severity"], r["unexpected"]) for r in warned} == {
        ("check_orders", "expect_column_values_to_not_be_null", "warn", 2),
        ("check_orders", "expect_column_values_to_be_in_set", "warn", 2),
        ("check_load_fct_orders", "expect_column_values_to_be_between", "warn", 1),
    }
    negative = next(r for r in warned if r["stage"] == "check_load_fct_orders")
    assert json.loads(negative["sample"]) == [-3.0]


@pytest.mark.parametrize("position", ["source", "transform"])
def test_quarantine_splits_rows_and_loses_none(orders_project: Project, position: str) -> None:
    checks = f"[{NOT_NULL_CUSTOMER}, severity: quarantine}}, {IN_SET_STATUS}, severity: quarantine}}, orders_loose]"
    path = orders_spec(orders_project, **{position: checks})
    outcome = run(path)
    assert outcome.ok, outcome.record.error
    name = "orders" if position == "source" else "kept"
    stage = f"check_{name}"
    assert stages(outcome)[stage] == ("success", "3/5 passed, 3 rows quarantined")
    loaded = [r[0] for r in orders_project.query("select order_id from fct_orders order by 1")]
    quarantined = orders_project.query(
        "select order_id, _dagwright_run_id, _dagwright_stage, _dagwright_failed, _dagwright_row "
        f"from {name}__quarantine order by order_id"
    )
    assert loaded == [1, 2, 5, 7, 8]
    rid = outcome.record.run_id
    assert quarantined == [
        (3, rid, stage, "expect_column_values_to_not_be_null(column=customer_id)", 2),
        (4, rid, stage, "expect_column_values_to_be_in_set(column=status)", 3),
        (
            6,
            rid,
            stage,
            "expect_column_values_to_not_be_null(column=customer_id); "
            "expect_column_values_to_be_in_set(column=status)",
            5,
        ),
    ]
    rows_in = next(s.rows_in for s in outcome.record.stages if s.stage == stage)
    assert rows_in == 8 == len(loaded) + len(quarantined)
    # the quarantined rows keep their original values and types
    row = orders_project.query(
        f"select customer_id, status, amount from {name}__quarantine where order_id = 6"
    )
    assert row == [(None, "bogus", 1.0)]
    stored = {
        r["expectation"]: r for r in results(orders_project, rid) if r["severity"] == "quarantine"
    }
    assert stored["expect_column_values_to_not_be_null"]["quarantined"] == 2
    assert stored["expect_column_values_to_be_in_set"]["quarantined"] == 2


def test_check_on_a_missing_column_names_the_columns(orders_project: Project) -> None:
    outcome = run(
        orders_spec(
            orders_project, source="[{expect_column_values_to_not_be_null: {column: custmer_id}}]"
        )
    )
    assert not outcome.ok
    assert (
        "expect_column_values_to_not_be_null(column=custmer_id): raised column 'custmer_id' "
        "does not exist (columns: order_id, customer_id, status, amount)"
    ) in outcome.record.error


def test_example_pipeline_checks_pass_and_warn(example_project: Project) -> None:
    from dagwright.intervals import Interval, parse_when

    plan = build_plan(load_spec(example_project.dags / "shop_daily.yaml"))
    january = Interval(parse_when("2026-01-01"), parse_when("2026-02-01"))
    outcome = run_pipeline(plan, january)
    assert outcome.ok, outcome.record.error
    assert stages(outcome)["check_orders"] == ("success", "5/5 passed")
    assert stages(outcome)["check_customers"] == ("success", "0/1 passed, 1 warned")
    (warned,) = [r for r in results(example_project, outcome.record.run_id) if not r["success"]]
    assert (warned["expectation"], warned["unexpected"], warned["elements"]) == (
        "expect_column_values_to_not_be_null",
        36,
        1000,
    )


IMPORTS_AFTER_CLI = """
import json, sys
from dagwright.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "ge": "great_expectations" in sys.modules,
                  "pandas": "pandas" in sys.modules}))
"""

WARM_UP_ORDER = """
import json, sys
from pathlib import Path
from dagwright.plan import build_plan
from dagwright.runner import run_pipeline
from dagwright.spec.load import load_spec
import expectations.runner as checks

started = {}
def listener(stage, status, result):
    if status == "running":
        started[stage.id] = checks._WARM_UP is not None
outcome = run_pipeline(build_plan(load_spec(Path(sys.argv[1]))), listener=listener)
print(json.dumps({"ok": outcome.ok, "warm_up_before": started,
                  "checks": {s.stage: s.checks for s in outcome.record.stages}}))
"""


def _python(script: str, *args: str, cwd) -> dict:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_run_without_checks_never_imports_great_expectations(orders_project: Project) -> None:
    orders_spec(orders_project)
    out = _python(IMPORTS_AFTER_CLI, "run", "orders", cwd=orders_project.root)
    assert out == {"code": 0, "ge": False, "pandas": False}
    assert orders_project.query("select count(*) from fct_orders") == [(8,)]


MEAN = "{expect_column_mean_to_be_between: {column: amount, min_value: 0, max_value: 100}}"
"""An expectation without a native form: Great Expectations evaluates it."""


def test_a_run_with_checks_starts_importing_great_expectations_first(
    orders_project: Project,
) -> None:
    """The import overlaps the extract: it began before any stage started."""
    path = orders_spec(orders_project, source=f"[orders_loose, {MEAN}]")
    out = _python(WARM_UP_ORDER, str(path), cwd=orders_project.root)
    assert out["ok"]
    assert out["warm_up_before"] == {
        "extract_orders": True,
        "check_orders": True,
        "transform_kept": True,
        "load_fct_orders": True,
    }
    assert out["checks"]["check_orders"] == "4/4 passed"


def test_a_run_whose_checks_all_run_natively_never_imports_great_expectations(
    orders_project: Project,
) -> None:
    """Validation and the check stage both do without GE (and pandas) when every check
    has a native form; the results are stored as before (docs/checks.md)."""
    orders_spec(orders_project, source="[orders_loose]", transform="[orders_strict]")
    out = _python(IMPORTS_AFTER_CLI, "run", "orders", cwd=orders_project.root)
    assert out == {"code": 1, "ge": False, "pandas": False}
    rows = orders_project.query(
        "select stage, expectation, success, unexpected_count from _dagwright.check_results "
        "order by stage, expectation, kwargs"
    )
    assert ("check_orders", "expect_table_row_count_to_be_between", True, None) in rows
    assert ("check_kept", "expect_column_values_to_be_in_set", False, 2) in rows
    assert ("check_kept", "expect_column_values_to_not_be_null", False, 2) in rows


def test_engine_great_expectations_forces_the_library(orders_project: Project) -> None:
    path = orders_spec(orders_project, source="[{suite: orders_loose, engine: great_expectations}]")
    out = _python(IMPORTS_AFTER_CLI, "run", "orders", cwd=orders_project.root)
    assert out["code"] == 0 and out["ge"]
    assert path.exists()


def test_checks_read_a_workspace_input_without_writing_parquet(orders_project: Project) -> None:
    """On the local runner the extract's rows stay in the workspace: checked, not staged."""
    from pathlib import Path

    staged: dict[str, bool] = {}

    def listener(stage, status, result) -> None:
        if stage.id == "check_orders" and status == "success":
            staged["parquet"] = Path(result.staged.uri).exists()

    path = orders_spec(orders_project, source="[orders_loose]")
    outcome = run_pipeline(build_plan(load_spec(path)), listener=listener)
    assert outcome.ok, outcome.record.error
    assert stages(outcome)["check_orders"] == ("success", "3/3 passed")
    assert staged == {"parquet": False}

    path = orders_spec(orders_project, source=f"[{NOT_NULL_CUSTOMER}, severity: quarantine}}]")
    outcome = run_pipeline(build_plan(load_spec(path)), listener=listener)
    assert outcome.ok, outcome.record.error
    assert orders_project.query("select count(*) from fct_orders") == [(6,)]
    assert staged == {"parquet": True}, "the passing rows go on as a Parquet file"
