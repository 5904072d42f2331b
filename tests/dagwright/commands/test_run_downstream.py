"""``dagwright run PIPELINE --downstream``: the pipelines reading its tables run after it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, Project

DAY = ("--start", "2026-01-01", "--end", "2026-01-02")


@pytest.fixture
def layers(tmp_path: Path) -> Project:
    shutil.copytree(REPO / "tests" / "projects" / "layers", tmp_path, dirs_exist_ok=True)
    return Project(tmp_path)


def _pipelines_run(project: Project) -> list[tuple[str, str]]:
    return project.query('select pipeline, status from "_dagwright".runs order by started_at')


def test_downstream_pipelines_run_in_order_for_the_same_interval(layers: Project) -> None:
    result = layers.cli("run", "raw", "--downstream", *DAY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _pipelines_run(layers) == [
        ("raw", "success"),
        ("cleaned", "success"),
        ("marts", "success"),
    ]
    intervals = layers.query('select distinct interval_start, interval_end from "_dagwright".runs')
    assert len(intervals) == 1
    assert layers.query("select order_date::varchar, revenue::varchar from daily_revenue") == [
        ("2026-01-01", "42.50")
    ]


def test_downstream_stops_at_the_first_failure(layers: Project) -> None:
    cleaned = layers.dags / "cleaned.yaml"
    cleaned.write_text(cleaned.read_text().replace("lower(status) as status", "no_such as status"))
    result = layers.cli("run", "raw", "--downstream", *DAY)
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, out
    assert "run failed: stage 'transform_clean_orders'" in out
    assert "stopped: cleaned failed; not run: marts" in out
    assert _pipelines_run(layers) == [("raw", "success"), ("cleaned", "failed")]
    tables = {t for (t,) in layers.query("select table_name from duckdb_tables()")}
    assert "raw_orders" in tables and "daily_revenue" not in tables


def test_downstream_and_select_are_refused_together(layers: Project) -> None:
    result = layers.cli("run", "raw", "--downstream", "--select", "load.raw_orders", *DAY)
    assert result.returncode == 1
    assert "--select and --downstream do not go together" in result.stderr
    assert not layers.warehouse.exists()


def test_a_selective_run_prints_what_ran_and_exits_like_a_run(layers: Project) -> None:
    assert layers.cli("run", "raw", "--keep-outputs", *DAY).returncode == 0
    result = layers.cli("run", "raw", "--select", "load.raw_orders", *DAY)
    out = " ".join(result.stdout.split())
    assert result.returncode == 0, out + result.stderr
    assert "reused from the last runs' staging: extract.orders (run" in out
    ((stages,),) = layers.query(
        'select stages from "_dagwright".runs order by started_at desc limit 1'
    )
    assert {s["stage"]: s["status"] for s in json.loads(stages)} == {
        "extract_orders": "skipped",
        "load_raw_orders": "success",
    }
    assert layers.query("select count(*) from raw_orders") == [(3,)]
