from __future__ import annotations

from dagwright.plan import build_plan
from tests.conftest import Project


def test_example_plan_stages_and_dependencies(example_project: Project, load_pipeline) -> None:
    spec = load_pipeline(example_project.dags / "shop_daily.yaml")
    plan = build_plan(spec)
    stages = plan.stages
    extracts = {s.id for s in stages.values() if s.kind == "extract"}
    assert extracts == {
        "extract_customers",
        "extract_products",
        "extract_orders",
        "extract_order_lines",
    }
    revenue = stages["transform_order_revenue"]
    assert set(revenue.upstream) >= {
        "extract_order_lines",
        "extract_products",
        "transform_clean_customers",
    }
    assert stages["transform_daily_revenue"].upstream == ("transform_order_revenue",)
    assert stages["load_agg_daily_revenue"].upstream == ("transform_daily_revenue",)
    order = [s.id for s in plan.ordered()]
    for stage in stages.values():
        for up in stage.upstream:
            assert order.index(up) < order.index(stage.id)
    assert plan.upstream_extracts("load_fct_orders") == sorted(
        ["extract_customers", "extract_order_lines", "extract_orders", "extract_products"]
    )


def test_checks_become_stages_between(project: Project, load_pipeline) -> None:
    path = project.write_spec(
        "checked",
        """
        pipeline: checked
        start_date: 2026-01-01
        sources:
          orders:
            extractor: csv
            path: data/shop/orders.csv
            expect: [{expect_column_values_to_not_be_null: {column: order_id}}]
        transforms:
          paid:
            sql: select * from orders where status = 'paid'
            expect: [{expect_column_values_to_not_be_null: {column: status}}]
        loads:
          fct_paid:
            from: paid
            expect: [{expect_column_values_to_not_be_null: {column: order_id}}]
        """,
    )
    plan = build_plan(load_pipeline(path))
    assert [s.id for s in plan.ordered()] == [
        "extract_orders",
        "check_orders",
        "transform_paid",
        "check_paid",
        "load_fct_paid",
        "check_load_fct_paid",
    ]
    assert plan.stages["transform_paid"].data_inputs == (("orders", "check_orders"),)
    assert plan.stages["load_fct_paid"].data_inputs == (("paid", "check_paid"),)
    # a step's output is read by its checks and, through them, by its load; a load's own
    # check reads the table, not the output
    assert [s.id for s in plan.readers("transform_paid")] == ["check_paid", "load_fct_paid"]
    assert [s.id for s in plan.readers("extract_orders")] == [
        "check_orders",
        "transform_paid",
    ]
    assert plan.readers("load_fct_paid") == [plan.stages["check_load_fct_paid"]]


def test_plan_has_no_side_effects(example_project: Project) -> None:
    before = sorted(p.relative_to(example_project.root) for p in example_project.root.rglob("*"))
    result = example_project.cli("plan", "shop_daily")
    assert result.returncode == 0, result.stderr
    after = sorted(p.relative_to(example_project.root) for p in example_project.root.rglob("*"))
    assert before == after
    assert "transform_order_revenue (transform)" in result.stdout
    assert "SQL (snowflake -> duckdb)" in result.stdout
    assert 'DELETE FROM "fct_orders" WHERE "order_id" IN' in result.stdout
    assert 'INSERT INTO "fct_orders" (' in result.stdout


def test_plan_reads_as_words_not_reprs(example_project: Project) -> None:
    result = example_project.cli("plan", "shop_daily", env={"COLUMNS": "300"})
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "checks after source 'customers': 1 expectation(s)" in out
    assert "expect_column_values_to_not_be_null(column=email)  [warn]" in out
    assert "[error, suite orders_raw]" in out
    assert "{'" not in out, "no Python dict reprs"
    assert '"<batch columns>"' not in out
    assert 'INSERT INTO "fct_orders" (<the columns of transform_order_revenue>' in out
