"""The spec cache behind the DAG file: reused while files are unchanged, rebuilt when not."""

from __future__ import annotations

import json
import os

from dagwright.airflow.blueprint import CACHE_FILE, load_blueprints
from tests.conftest import Project

SPEC = """
pipeline: cached
schedule: "@hourly"
start_date: 2026-01-01
sources:
  orders: {extractor: csv, path: data/shop/orders.csv}
  customers: {extractor: csv, path: data/shop/customers.csv}
transforms:
  picked: {sql_file: sql/picked.sql}
loads:
  picked_rows: {from: picked, write: replace}
"""


def upstream(project: Project) -> list[str]:
    (bp,), broken, pending = load_blueprints(project.dags, budget=60)
    assert broken == [] and pending == []
    return next(s.upstream for s in bp.stages if s.id == "transform_picked")


def test_cache_follows_the_spec_and_the_sql_files_it_reads(project: Project) -> None:
    (project.root / "sql").mkdir()
    sql = project.root / "sql" / "picked.sql"
    sql.write_text("select * from orders", encoding="utf-8")
    spec = project.write_spec("cached", SPEC)
    assert upstream(project) == ["extract_orders"]
    cache = json.loads((project.root / CACHE_FILE).read_text(encoding="utf-8"))
    (entry,) = cache["specs"].values()
    assert entry["blueprint"]["schedule"] == "@hourly"
    assert str(sql.resolve()) in entry["deps"]

    sql.write_text("select * from customers -- now reads customers", encoding="utf-8")
    assert upstream(project) == ["extract_customers"]

    spec.write_text(SPEC.replace("@hourly", "@daily"), encoding="utf-8")
    os.utime(spec, ns=(1, 1))
    (bp,), _, _ = load_blueprints(project.dags, budget=60)
    assert bp.schedule == "@daily"


def test_parse_budget_defers_specs_and_broken_specs_are_cached(project: Project) -> None:
    for i in range(3):
        project.write_spec(
            f"p{i}",
            SPEC.replace("cached", f"p{i}").replace(
                "sql_file: sql/picked.sql", "sql: select * from orders"
            ),
        )
    project.write_spec("bad", "pipeline: bad\nschedule: '@daily'\n")
    blueprints, broken, pending = load_blueprints(project.dags, budget=-1)
    assert (blueprints, broken) == ([], [])
    assert pending == ["dags/bad.yaml", "dags/p0.yaml", "dags/p1.yaml", "dags/p2.yaml"]

    blueprints, broken, pending = load_blueprints(project.dags, budget=60)
    assert [b.pipeline for b in blueprints] == ["p0", "p1", "p2"] and pending == []
    (bad,) = broken
    assert bad.name == "bad" and bad.spec_path == "dags/bad.yaml"
    assert any("missing required key 'sources'" in p for p in bad.problems)
    assert all(p.startswith("dags/bad.yaml:") for p in bad.problems)
    again = load_blueprints(project.dags, budget=-1)
    assert [b.pipeline for b in again[0]] == ["p0", "p1", "p2"] and again[2] == []
    assert again[1] == broken
