"""Pipelines that build on each other (``dagwright.pipelines``): the graph of who reads whose
tables, drawn by ``list``, named by ``plan``, checked by ``validate`` and followed by
``backfill`` of several pipelines (docs/pipelines.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dagwright.errors import DagwrightError
from tests.conftest import REPO, Project

RANGE = ("--start", "2026-01-01", "--end", "2026-01-04")
DAYS = ["2026-01-01", "2026-01-02", "2026-01-03"]


@pytest.fixture
def layers(tmp_path: Path) -> Project:
    shutil.copytree(REPO / "tests" / "projects" / "layers", tmp_path, dirs_exist_ok=True)
    return Project(tmp_path)


def _text(result) -> str:  # noqa: ANN001 - CompletedProcess
    return " ".join((result.stdout + result.stderr).split())


def _runs(project: Project) -> list[tuple[str, str, str]]:
    rows = project.query(
        'select pipeline, status, interval_start from "_dagwright".runs order by started_at'
    )
    return [(p, s, f"{i:%Y-%m-%d}") for p, s, i in rows]


def test_the_graph_orders_pipelines_after_those_they_read(layers: Project) -> None:
    from dagwright.pipelines import project_graph

    graph = project_graph(layers.root)
    assert [s.name for s in graph.order()] == ["raw", "cleaned", "marts"]
    assert [s.name for s in graph.order(["marts", "raw"])] == ["raw", "marts"]
    assert graph.upstream("marts") == ["cleaned"]
    assert graph.downstream("raw") == ["cleaned"]
    assert [s.name for s in graph.with_downstream("cleaned")] == ["cleaned", "marts"]


def test_pipelines_reading_each_other_in_a_circle_are_refused(layers: Project) -> None:
    from dagwright.pipelines import project_graph

    raw = layers.dags / "raw.yaml"
    raw.write_text(
        raw.read_text()
        .replace("extractor: csv\n    path: data/orders.csv", "extractor: warehouse\n    table: daily_revenue")
        .replace("cursor: ordered_at, use_interval: true", "cursor: order_date")
        .replace("primary_key: [order_id]", "primary_key: [order_date]")
    )  # fmt: skip
    with pytest.raises(DagwrightError, match="in a circle: cleaned -> raw -> marts -> cleaned"):
        project_graph(layers.root).order()


def test_list_draws_the_graph_of_pipelines(layers: Project) -> None:
    result = layers.cli("list")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index("│ raw ") < out.index("│ cleaned ") < out.index("│ marts ")
    tree = out[out.index("pipelines that build on each other") :].splitlines()
    assert [line.strip() for line in tree[1:4]] == [
        "raw",
        "-> cleaned  (reads raw_orders)",
        "-> marts  (reads clean_orders)",
    ]


def test_plan_names_the_spec_that_loads_a_read_table(layers: Project) -> None:
    result = layers.cli("plan", "cleaned")
    assert result.returncode == 0, result.stderr
    assert (
        "read table raw_orders of the destination (loaded by pipeline 'raw', load "
        "'raw_orders', dags/raw.yaml)"
    ) in _text(result)


def test_validate_checks_a_read_table_against_the_spec_that_loads_it(layers: Project) -> None:
    """Before anything ran (no warehouse yet) the columns come from ``raw``'s output."""
    ok = layers.cli("validate", "--strict")
    assert ok.returncode == 0, _text(ok)
    cleaned = layers.dags / "cleaned.yaml"
    cleaned.write_text(
        cleaned.read_text().replace(
            "    table: raw_orders\n", "    table: raw_orders\n    columns: [order_id, ordered]\n"
        )
    )
    bad = layers.cli("validate")
    assert bad.returncode == 1
    assert (
        "dags/cleaned.yaml:9:25: source 'orders': pipeline 'raw' loads raw_orders without a "
        "column 'ordered' (did you mean 'ordered_at'?); its columns: order_id, customer_id, status, amount, ordered_at"
    ) in _text(bad)
    assert not layers.warehouse.exists()


def test_a_backfill_of_several_pipelines_runs_them_in_dependency_order(
    layers: Project, tmp_path: Path
) -> None:
    result = layers.cli("backfill", "marts", "raw", "cleaned", *RANGE)
    assert result.returncode == 0, _text(result)
    runs = _runs(layers)
    assert [p for p, _, _ in runs] == ["raw"] * 3 + ["cleaned"] * 3 + ["marts"] * 3
    assert all(status == "success" for _, status, _ in runs)
    assert [d for p, _, d in runs if p == "marts"] == DAYS
    revenue = "select order_date::varchar, revenue::varchar from daily_revenue order by 1"
    assert [d for d, _ in layers.query(revenue)] == DAYS

    other = Project(tmp_path / "downstream")
    shutil.copytree(REPO / "tests" / "projects" / "layers", other.root)
    flowed = other.cli("backfill", "raw", "--downstream", *RANGE)
    assert flowed.returncode == 0, _text(flowed)
    assert [p for p, _, _ in _runs(other)] == [p for p, _, _ in runs]
    totals = "select customer_id, revenue, orders from customer_totals order by 1"
    cleaned = "select order_id, status, amount, ordered_at from clean_orders order by 1"
    for sql in (revenue, totals, cleaned):
        assert other.query(sql) == layers.query(sql)


def test_a_failed_upstream_backfill_stops_the_pipelines_reading_it(layers: Project) -> None:
    cleaned = layers.dags / "cleaned.yaml"
    cleaned.write_text(cleaned.read_text().replace("lower(status) as status", "no_such as status"))
    result = layers.cli("backfill", "raw", "--downstream", *RANGE)
    assert result.returncode == 1
    assert (
        "stopped: cleaned has failed intervals; not backfilled: marts (they read its tables)"
    ) in _text(result)
    assert {p for p, _, _ in _runs(layers)} == {"raw", "cleaned"}


def test_a_pipeline_scheduled_on_tables_is_not_handed_to_airflow_alone(layers: Project) -> None:
    result = layers.cli("backfill", "cleaned", *RANGE, "--via", "airflow")
    assert result.returncode == 1
    assert (
        "pipeline 'cleaned' is scheduled on tables (['raw_orders']), so Airflow cannot "
        "backfill it by itself"
    ) in _text(result)
    assert "backfill the first pipeline via airflow" in _text(result)


def test_a_pipeline_scheduled_on_tables_backfills_the_intervals_of_those_it_reads(
    layers: Project,
) -> None:
    assert layers.cli("backfill", "raw", *RANGE).returncode == 0
    dry = layers.cli("backfill", "cleaned", *RANGE, "--dry-run")
    assert dry.returncode == 0, _text(dry)
    assert "3 of 3 intervals would run (dry run)" in _text(dry)
