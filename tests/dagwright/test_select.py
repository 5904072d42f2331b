"""``dagwright run --select``: which stages run, what lands in the warehouse, what is refused."""

from __future__ import annotations

import json

import pytest

from dagwright.select import SelectError, Selector, parse_selectors
from tests.conftest import Project

JANUARY = ("--start", "2026-01-01", "--end", "2026-02-01")


def _run(project: Project, *args: str, code: int = 0) -> str:
    result = project.cli("run", "shop_daily", *JANUARY, "--keep-outputs", *args)
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == code, out
    return out


def _last_run(project: Project) -> dict[str, str]:
    """The stages of the latest run in the run log, by status."""
    ((stages,),) = project.query(
        'select stages from "_dagwright".runs order by started_at desc limit 1'
    )
    return {s["stage"]: s["status"] for s in json.loads(stages)}


def _ran(project: Project) -> set[str]:
    return {stage for stage, status in _last_run(project).items() if status == "success"}


def _load_ids(project: Project) -> dict[str, set[str]]:
    return {
        table: {r[0] for r in project.query(f"select distinct _dagwright_load_id from {table}")}
        for table in ("fct_orders", "agg_daily_revenue", "dim_customers")
    }


def test_one_stage_runs_alone_from_the_last_runs_staging(example_project: Project) -> None:
    _run(example_project)
    full = example_project.query(
        "select * exclude (_dagwright_load_id, _dagwright_loaded_at) "
        "from agg_daily_revenue order by all"
    )
    before = _load_ids(example_project)
    with_duckdb_write(example_project, "delete from agg_daily_revenue")

    out = _run(example_project, "--select", "load.agg_daily_revenue")

    assert _ran(example_project) == {"load_agg_daily_revenue"}
    assert "reused from the last runs' staging: transform.daily_revenue (run" in out
    again = example_project.query(
        "select * exclude (_dagwright_load_id, _dagwright_loaded_at) "
        "from agg_daily_revenue order by all"
    )
    assert again == full and len(full) > 100, "the kept output of daily_revenue is loaded"
    after = _load_ids(example_project)
    assert after["fct_orders"] == before["fct_orders"], "fct_orders was not loaded again"
    assert after["dim_customers"] == before["dim_customers"]
    assert after["agg_daily_revenue"] != before["agg_daily_revenue"]


def test_a_plain_run_keeps_no_outputs_and_a_selective_run_says_how_to_keep_them(
    example_project: Project,
) -> None:
    """Keeping is opt-in: a plain run hands data over inside DuckDB and writes no Parquet."""
    result = example_project.cli("run", "shop_daily", *JANUARY)
    assert result.returncode == 0, result.stdout + result.stderr
    last = example_project.root / ".dagwright" / "staging" / "shop_daily" / "_last"
    assert not last.exists()
    refused = example_project.cli("run", "shop_daily", *JANUARY, "--select", "load.fct_orders")
    out = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode == 1, out
    assert "no earlier run kept it (run with --keep-outputs" in out


def test_stage_plus_runs_it_and_everything_downstream(example_project: Project) -> None:
    _run(example_project)
    before = _load_ids(example_project)
    spec = example_project.dags / "shop_daily.yaml"
    spec.write_text(spec.read_text().replace("count(*) as lines", "count(*) + 100 as lines"))

    out = _run(example_project, "--select", "transform.order_revenue+")

    assert _ran(example_project) == {
        "extract_products",
        "extract_order_lines",
        "transform_order_revenue",
        "transform_daily_revenue",
        "load_fct_orders",
        "load_agg_daily_revenue",
    }, "products and order_lines were streamed into the step, not kept: read again"
    statuses = _last_run(example_project)
    assert statuses["extract_orders"] == statuses["transform_clean_customers"] == "skipped"
    assert "check.orders (run" in out and "transform.clean_customers (run" in out
    assert "extract.order_lines: not kept" in out
    ((least,),) = example_project.query("select min(lines) from fct_orders")
    assert least > 100, "the changed SQL made fct_orders"
    after = _load_ids(example_project)
    assert after["dim_customers"] == before["dim_customers"], "dim_customers is not downstream"
    assert after["fct_orders"] != before["fct_orders"]


def test_plus_stage_runs_it_and_everything_upstream_without_an_earlier_run(
    example_project: Project,
) -> None:
    out = _run(example_project, "--select", "+load.dim_customers")

    assert _ran(example_project) == {
        "extract_customers",
        "check_customers",
        "transform_clean_customers",
        "load_dim_customers",
    }
    assert "reused" not in out
    assert example_project.query("select count(*) from dim_customers") == [(1000,)]
    tables = {t for (t,) in example_project.query("select table_name from duckdb_tables()")}
    assert "fct_orders" not in tables and "agg_daily_revenue" not in tables


def test_several_selectors_comma_or_repeated(example_project: Project) -> None:
    _run(example_project, "--select", "+load.dim_customers,+load.fct_orders")
    assert {"load_dim_customers", "load_fct_orders"} <= _ran(example_project)
    assert "load_agg_daily_revenue" not in _ran(example_project)
    _run(example_project, "--select", "load.dim_customers", "--select", "fct_orders")
    assert _ran(example_project) == {"load_dim_customers", "load_fct_orders"}


def test_an_upstream_step_changed_since_the_last_run_is_refused(
    example_project: Project,
) -> None:
    _run(example_project)
    dim = example_project.query("select * from dim_customers order by all")
    runs = example_project.query('select count(*) from "_dagwright".runs')
    spec = example_project.dags / "shop_daily.yaml"
    spec.write_text(spec.read_text().replace("trim(name) as name", "upper(trim(name)) as name"))

    out = _run(example_project, "--select", "load.dim_customers", code=1)

    assert (
        "error: cannot run the selected stages of shop_daily from the last run's staging: "
        "transform.clean_customers: the spec of transform.clean_customers changed since run "
    ) in out
    assert "hint: run the stages upstream too (`--select +load.dim_customers`)" in out
    assert "nothing was run" in out
    assert example_project.query("select * from dim_customers order by all") == dim
    assert example_project.query('select count(*) from "_dagwright".runs') == runs


def test_another_interval_than_the_kept_one_is_refused(example_project: Project) -> None:
    _run(example_project)
    fct = example_project.query("select * from fct_orders order by all")

    result = example_project.cli(
        "run", "shop_daily", "--start", "2026-01-02", "--end", "2026-01-03",
        "--select", "load.fct_orders",
    )  # fmt: skip
    out = " ".join(result.stderr.split())
    assert result.returncode == 1, out
    assert "transform.order_revenue: staged by run " in out
    assert (
        "for 2026-01-01T00:00:00+00:00 .. 2026-02-01T00:00:00+00:00, this run is for "
        "2026-01-02T00:00:00+00:00 .. 2026-01-03T00:00:00+00:00"
    ) in out
    assert example_project.query("select * from fct_orders order by all") == fct


def test_no_earlier_run_is_refused(example_project: Project) -> None:
    out = _run(example_project, "--select", "load.fct_orders", code=1)
    assert "transform.order_revenue: no earlier run kept it (run with --keep-outputs" in out
    assert "`--select +load.fct_orders`" in out


def test_a_missing_kept_file_is_refused(example_project: Project) -> None:
    _run(example_project)
    last = example_project.root / ".dagwright" / "staging" / "shop_daily" / "_last"
    (kept,) = last.glob("*.transform_daily_revenue.parquet")
    kept.unlink()
    out = _run(example_project, "--select", "load.agg_daily_revenue", code=1)
    assert f"transform.daily_revenue: its file {kept} (run " in out and "is missing" in out


def test_staging_keeps_one_output_per_stage(example_project: Project) -> None:
    for _ in range(3):
        _run(example_project)
    pipeline = example_project.root / ".dagwright" / "staging" / "shop_daily"
    assert [p.name for p in pipeline.iterdir()] == ["_last"], "no run folder is left"
    kept = sorted(p.name.split(".", 1)[1] for p in (pipeline / "_last").glob("*.parquet"))
    assert len(kept) == len(set(kept)), kept


def test_an_unknown_stage_is_named_with_the_known_ones(example_project: Project) -> None:
    out = _run(example_project, "--select", "transform.order_revenu", code=1)
    assert "error: --select 'transform.order_revenu': no such stage in shop_daily" in out
    assert "(did you mean 'transform.order_revenue'?)" in out
    assert "its stages: extract.customers, extract.products" in out


def test_selectors_parse_as_dbt_writes_them() -> None:
    assert parse_selectors(["a,+b", "c+", " +d+ "]) == [
        Selector("a"),
        Selector("b", upstream=True),
        Selector("c", downstream=True),
        Selector("d", upstream=True, downstream=True),
    ]
    with pytest.raises(SelectError, match="name a stage"):
        parse_selectors(["+"])


def with_duckdb_write(project: Project, sql: str) -> None:
    import duckdb

    con = duckdb.connect(str(project.warehouse))
    try:
        con.execute(sql)
    finally:
        con.close()
