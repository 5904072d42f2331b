"""The run workspace: in-process stages hand data over inside the warehouse's DuckDB.

Its results must be the Parquet path's, row for row and type for type; nothing of it may
stay in the warehouse file; consumers that read Parquet still get a file.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dagwright.context import Interval
from dagwright.intervals import parse_when
from dagwright.plan import build_plan
from dagwright.runner import run_pipeline
from dagwright.spec.load import load_spec
from dagwright.staging import local_path, read_batches, workspace_table
from dagwright.workspace import Workspace, entry
from tests.conftest import Project

JANUARY = Interval(parse_when("2026-01-01"), parse_when("2026-02-01"))
LINEAGE = ("_dagwright_load_id", "_dagwright_loaded_at")


def snapshot(project: Project) -> dict[str, tuple[list[tuple], list[tuple]]]:
    """Every loaded table: its column names and types, and its rows (lineage left out)."""
    con = duckdb.connect(str(project.warehouse), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY 1"
            ).fetchall()
        ]
        out = {}
        for name in names:
            cols = [
                (c[0], c[1])
                for c in con.execute(f'DESCRIBE "{name}"').fetchall()
                if c[0] not in LINEAGE
            ]
            select = ", ".join(f'"{c}"' for c, _ in cols)
            rows = con.execute(f'SELECT {select} FROM "{name}" ORDER BY ALL').fetchall()
            out[name] = (cols, rows)
        return out
    finally:
        con.close()


def run_example(project: Project) -> object:
    spec = load_spec(project.dags / "shop_daily.yaml")
    return run_pipeline(build_plan(spec), JANUARY)


@pytest.mark.slow  # two runs of the example, checks included
def test_the_example_loads_the_same_rows_as_the_parquet_path_and_leaves_nothing(
    example_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGWRIGHT_WORKSPACE", "0")
    parquet_run = run_example(example_project)
    assert parquet_run.ok, parquet_run.record.error
    expected = snapshot(example_project)
    example_project.warehouse.unlink()

    monkeypatch.setenv("DAGWRIGHT_WORKSPACE", "1")
    outcome = run_example(example_project)
    assert outcome.ok, outcome.record.error
    assert set(expected) == {"agg_daily_revenue", "dim_customers", "fct_orders"}
    assert snapshot(example_project) == expected
    assert all(rows for _, rows in expected.values())

    stages = {s.stage: s for s in outcome.record.stages}
    # products and order_lines are read only by order_revenue (SQL): read where they are used
    assert stages["extract_products"].rows_out is None
    assert stages["transform_order_revenue"].rows_in is None
    assert stages["extract_customers"].rows_out == 1000  # checked: materialised and counted
    assert stages["load_fct_orders"].rows_out == len(expected["fct_orders"][1])
    assert_no_workspace_left(example_project)


def assert_no_workspace_left(example_project: Project) -> None:
    con = duckdb.connect(str(example_project.warehouse), read_only=True)
    try:
        tables = con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY 1"
        ).fetchall()
        views = con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        catalogs = con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
    finally:
        con.close()
    assert [t[0] for t in tables if not t[0].startswith("_dagwright.")] == [
        "main.agg_daily_revenue",
        "main.dim_customers",
        "main.fct_orders",
    ]
    assert views == []
    assert sorted(c[0] for c in catalogs) == ["system", "temp", "warehouse"]
    runs = example_project.root / ".dagwright" / "staging" / "shop_daily"
    assert not runs.exists() or not any(runs.iterdir())


BAD_FUSED = """
pipeline: fused_bad
start_date: 2026-01-01
sources:
  orders:
    extractor: csv
    path: data/orders.csv
    columns: {id: BIGINT, amount: BIGINT}
transforms:
  big: {sql: "select id, amount from orders where amount > 5"}
loads:
  big_orders: {from: big, write: replace}
"""


def test_a_bad_row_in_a_source_read_by_its_sql_step_is_located(project: Project) -> None:
    (project.root / "data" / "orders.csv").write_text("id,amount\n1,10\n2,twelve\n3,30\n")
    spec = load_spec(project.write_spec("fused_bad", BAD_FUSED))
    outcome = run_pipeline(build_plan(spec))
    assert not outcome.ok
    error = outcome.record.error or ""
    assert "source 'orders'" in error and "line 3" in error and "'amount'" in error, error
    assert "twelve" in error and "fix the row" in error
    tables = project.query("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")
    assert tables == []


def test_workspace_outputs_read_as_batches_tables_and_parquet(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    workspace = Workspace(con)
    try:
        uri = str(tmp_path / "staging" / "transform_t.parquet")
        held = workspace.add_relation(
            uri, lambda cur: cur.sql("SELECT range AS id, range * 2 AS twice FROM range(250000)")
        )
        assert held.rows == 250000
        assert workspace_table(uri) == f'"{workspace.catalog}"."main"."transform_t"'
        batches = list(read_batches(uri, ["twice"]))
        assert sum(b.num_rows for b in batches) == 250000
        assert batches[0].schema.names == ["twice"]

        path = local_path(uri)
        assert path == uri and Path(path).exists()
        assert local_path(uri) == path  # written once
        assert con.execute("SELECT SUM(twice) FROM read_parquet(?)", [path]).fetchall() == [
            (250000 * 249999,)
        ]
        workspace.release(uri)
        assert entry(uri) is None and workspace_table(uri) is None
        assert sum(b.num_rows for b in read_batches(uri)) == 250000  # the file stays
    finally:
        workspace.close()
    names = [r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()]
    con.close()
    assert workspace.catalog not in names
