"""Run parameters (``params:``) and ``${VAR}`` in SQL: values reach SQL bound, never pasted."""

from __future__ import annotations

import pytest

from tests.conftest import Project

SPEC = """
pipeline: orders_by_id
start_date: 2026-01-01
params:
  min_id: 990
  wanted: {type: string, default: shipped, description: the status kept}
sources:
  orders: {extractor: csv, path: data/shop/orders.csv}
transforms:
  picked:
    sql: |
      select order_id, status from orders
      where order_id > ${BIG_THRESHOLD:-0} and order_id >= $min_id and status = $wanted
loads:
  picked: {from: picked, write: replace}
"""


def _expected(project: Project, low: int, status: str) -> list[tuple]:
    import csv

    with open(project.root / "data" / "shop" / "orders.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return sorted(
        (int(r["order_id"]),) for r in rows if int(r["order_id"]) >= low and r["status"] == status
    )


@pytest.fixture
def params_project(project: Project) -> Project:
    project.write_spec("orders_by_id", SPEC)
    return project


def test_defaults_and_cli_overrides_are_bound(params_project: Project) -> None:
    project = params_project
    ran = project.cli("run", "orders_by_id")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert sorted(project.query("select order_id from picked")) == _expected(
        project, 990, "shipped"
    )
    again = project.cli(
        "run", "orders_by_id", "--param", "min_id=950", "--param", "wanted=refunded"
    )
    assert again.returncode == 0, again.stdout + again.stderr
    got = sorted(project.query("select order_id from picked"))
    assert got == _expected(project, 950, "refunded") and got


def test_the_injection_string_loads_nothing_extra(params_project: Project) -> None:
    project = params_project
    assert project.cli("run", "orders_by_id", env={"BIG_THRESHOLD": "995"}).returncode == 0
    before = sorted(project.query("select order_id from picked"))
    assert before == [r for r in _expected(project, 990, "shipped") if r[0] > 995]
    injected = project.cli("run", "orders_by_id", env={"BIG_THRESHOLD": "0 or 1=1"})
    assert injected.returncode == 1
    assert "Could not convert string '0 or 1=1'" in " ".join(injected.stdout.split())
    assert sorted(project.query("select order_id from picked")) == before


def test_bad_params_are_refused_before_the_run(params_project: Project) -> None:
    project = params_project
    wrong = project.cli("run", "orders_by_id", "--param", "min_id=abc")
    assert wrong.returncode == 1
    assert "parameter 'min_id': 'abc' is not a integer" in wrong.stdout + wrong.stderr
    unknown = project.cli("run", "orders_by_id", "--param", "min_ids=3")
    assert unknown.returncode == 1
    assert "unknown parameter 'min_ids' (did you mean 'min_id'?)" in unknown.stdout + unknown.stderr
    unshaped = project.cli("run", "orders_by_id", "--param", "min_id")
    assert "--param 'min_id': write NAME=VALUE" in unshaped.stdout + unshaped.stderr
    assert not project.warehouse.exists()


def test_a_parameter_the_spec_does_not_declare_is_located(project: Project) -> None:
    project.write_spec(
        "undeclared",
        SPEC.replace("orders_by_id", "undeclared").replace("$wanted", "$status_wanted"),
    )
    checked = project.cli("validate")
    assert checked.returncode == 1
    assert (
        "undeclared.yaml:12:81: transform 'picked': unknown parameter 'status_wanted'"
        in checked.stdout
    )
    assert "unknown parameter 'status_wanted'" in checked.stdout, checked.stdout


@pytest.mark.parametrize(
    ("sql", "where", "message"),
    [
        ("select * from orders where status = 'x${T}'", "10:48", "is part of a quoted string"),
        ("select count(*) as ${T} from orders", "10:29", "stands neither for a value"),
        ("select ${T}(order_id) from orders", "10:17", "stands neither for a value"),
    ],
)
def test_a_variable_that_is_not_a_value_or_a_name_is_refused(
    project: Project, sql: str, where: str, message: str
) -> None:
    spec = SPEC.replace("orders_by_id", "refused").split("transforms:")[0]
    spec += f"transforms:\n  picked:\n    sql: {sql}\nloads:\n  picked: {{from: picked}}\n"
    project.write_spec("refused", spec)
    checked = project.cli("validate", env={"T": "1"})
    assert checked.returncode == 1
    assert f"refused.yaml:{where}: transform 'picked': ${{T}} {message}" in checked.stdout, (
        checked.stdout
    )


def test_variables_in_sql_without_a_step_are_refused(project: Project) -> None:
    project.write_spec(
        "filtered",
        """
        pipeline: filtered
        start_date: 2026-01-01
        sources:
          orders: {extractor: csv, path: data/shop/orders.csv}
        transforms:
          kept:
            inputs: [orders]
            ops:
              - filter: order_id > ${LIMIT:-5}
        loads:
          kept: {from: kept}
        """,
    )
    checked = project.cli("validate")
    assert checked.returncode == 1
    assert "filtered.yaml:9:17: transforms.kept.ops.0.filter: ${VAR} is not allowed" in (
        checked.stdout
    ), checked.stdout


def test_a_variable_naming_a_schema_is_quoted() -> None:
    import os

    from transforms.sql import compile_sql

    os.environ["DAGWRIGHT_TEST_SCHEMA"] = 'x"; drop table y; --'
    try:
        compiled = compile_sql(
            "select * from ${DAGWRIGHT_TEST_SCHEMA}.orders where id = ${DAGWRIGHT_TEST_SCHEMA}",
            "snowflake",
            "postgres",
            "numeric",
        )
    finally:
        del os.environ["DAGWRIGHT_TEST_SCHEMA"]
    assert compiled.sql == 'SELECT * FROM "x""; drop table y; --".orders WHERE id = $1'
    assert compiled.values(None) == ['x"; drop table y; --']


def test_airflow_dag_params_come_from_the_spec(params_project: Project) -> None:
    """In a subprocess: importing Airflow here would change how later tests in this
    worker look connections up (an imported Airflow is asked for undefined ones)."""
    import subprocess
    import sys

    probe = (
        "import sys; from dagwright.airflow.blueprint import blueprint_of; "
        "from dagwright.airflow.factory import build_dag; "
        "from dagwright.spec.load import load_spec; from pathlib import Path; "
        "dag = build_dag(blueprint_of(load_spec(Path(sys.argv[1])))); "
        "print(dag.params['min_id'], dag.params['wanted'], "
        "dag.params.get_param('wanted').description, sep='|')"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe, str(params_project.dags / "orders_by_id.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **__import__("os").environ,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_HOME": str(params_project.root / "airflow"),
        },
    )
    assert shown.stdout.strip().splitlines()[-1] == "990|shipped|the status kept", shown.stderr
