"""The run workspace: in-process stages hand data over inside the warehouse's DuckDB.

Its results must be the Parquet path's, row for row and type for type; nothing of it may
stay in the warehouse file; consumers that read Parquet still get a file.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dagwright.intervals import Interval, parse_when
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


HOMES = """
pipeline: homes
start_date: 2026-01-01
sources:
  items:
    extractor: csv
    path: data/items.csv
transforms:
  typed:
    sql: |
      select id, cast(amount as decimal(10, 2)) as amount, amount > 50 as big,
             cast(day as date) as day, cast(ts as timestamp) as ts,
             cast(ts as timestamptz) as tstz, name, cast(amount as double) / 3 as third,
             cast(id as smallint) as small, cast(name as blob) as raw{extra}
      from items
  summary:
    sql: select big, count(*) as n, sum(amount) as total from typed group by big
loads:
  typed_items: {{from: typed, write: replace}}
  item_summary: {{from: summary, write: replace}}
"""


def write_items(project: Project, rows: int, offset: int = 0) -> None:
    lines = ["id,amount,day,ts,name"]
    for i in range(1 + offset, rows + 1 + offset):
        lines.append(
            f"{i},{i * 7 % 100}.25,2026-01-{i % 28 + 1:02d},2026-01-01 {i % 24:02d}:30:00,n{i}"
        )
    (project.root / "data" / "items.csv").write_text("\n".join(lines) + "\n")


def run_homes(project: Project, workers: int = 4, extra: str = "") -> object:
    spec = load_spec(project.write_spec("homes", HOMES.format(extra=extra)))
    return run_pipeline(build_plan(spec), max_workers=workers)


def homes_left(project: Project) -> list[tuple]:
    return project.query(
        "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '\\_\\_dagwright\\_work%' "
        "ESCAPE '\\'"
    )


def test_a_replace_load_renames_its_steps_table_into_place_as_a_copy_would_load_it(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_items(project, 500)
    monkeypatch.setenv("DAGWRIGHT_WORKSPACE", "0")
    copied = run_homes(project)
    assert copied.ok, copied.record.error
    expected = snapshot(project)
    assert expected["typed_items"][0][1] == ("amount", "DECIMAL(10,2)")
    project.warehouse.unlink()

    monkeypatch.setenv("DAGWRIGHT_WORKSPACE", "1")
    for workers in (4, 1):  # creates the tables, then replaces them; one worker cannot stall
        outcome = run_homes(project, workers)
        assert outcome.ok, outcome.record.error
        for table in ("typed_items", "item_summary"):
            sql = outcome.results[f"load_{table}"].sql
            assert any("RENAME TO" in q for q in sql), sql
            assert not any(q.startswith("INSERT INTO") for q in sql), sql
        assert snapshot(project) == expected  # summary read typed before it was renamed
        assert homes_left(project) == []
        lineage = project.query(
            "SELECT DISTINCT t._dagwright_load_id, t._dagwright_loaded_at = l.loaded_at "
            "FROM typed_items t JOIN _dagwright.loads l ON l.run_id = t._dagwright_load_id "
            "AND l.table_name = 'typed_items'"
        )
        assert lineage == [(outcome.record.run_id, True)]
        defaults = project.query(
            "SELECT column_default FROM duckdb_columns() WHERE table_name = 'typed_items' "
            "AND column_default IS NOT NULL"
        )
        assert defaults == []


KEPT = {
    "a column comment": (
        "COMMENT ON COLUMN item_summary.n IS 'items'",
        "SELECT comment FROM duckdb_columns() WHERE table_name = 'item_summary' AND column_name = 'n'",
        [("items",)],
    ),
    "a NOT NULL constraint": (
        "ALTER TABLE item_summary ALTER COLUMN n SET NOT NULL",
        "SELECT constraint_type FROM duckdb_constraints() WHERE table_name = 'item_summary'",
        [("NOT NULL",)],
    ),
    "an index": (
        "CREATE INDEX summary_big ON item_summary (big)",
        "SELECT index_name FROM duckdb_indexes() WHERE table_name = 'item_summary'",
        [("summary_big",)],
    ),
    "a column the batch lacks": (
        "ALTER TABLE item_summary ADD COLUMN note VARCHAR",
        "SELECT COUNT(*) FROM duckdb_columns() WHERE table_name = 'item_summary' "
        "AND column_name = 'note'",
        [(1,)],
    ),
}


@pytest.mark.parametrize("kept", list(KEPT))
def test_a_table_holding_what_a_rename_would_lose_is_copied_into_instead(
    project: Project, kept: str
) -> None:
    ddl, probe, expected = KEPT[kept]
    write_items(project, 300)
    assert run_homes(project).ok
    con = duckdb.connect(str(project.warehouse))
    con.execute(ddl)
    con.close()
    write_items(project, 400, offset=1000)

    outcome = run_homes(project)
    assert outcome.ok, outcome.record.error
    sql = outcome.results["load_item_summary"].sql
    assert any(q.startswith("INSERT INTO") for q in sql) and not any("RENAME" in q for q in sql)
    assert project.query(probe) == expected
    assert project.query("SELECT SUM(n) FROM item_summary") == [(400,)]
    assert any("RENAME TO" in q for q in outcome.results["load_typed_items"].sql)
    assert homes_left(project) == []


def test_a_failed_load_leaves_its_table_and_no_home(project: Project) -> None:
    write_items(project, 200)
    assert run_homes(project).ok
    write_items(project, 50, offset=500)
    outcome = run_homes(project, extra=", 'x' as _dagwright_load_id")
    assert not outcome.ok
    assert "_dagwright_load_id" in (outcome.record.error or "")
    assert project.query("SELECT COUNT(*), MIN(id) FROM typed_items") == [(200, 1)]
    assert homes_left(project) == []


MART = """
pipeline: mart_homes
start_date: 2026-01-01
sources:
  items: {extractor: csv, path: data/items.csv}
transforms:
  doubled: {sql: "select id, amount * 2 as amount from items"}
loads:
  mart.doubled_items: {from: doubled, write: replace}
"""


def test_a_home_goes_into_the_tables_schema_once_that_schema_exists(project: Project) -> None:
    write_items(project, 100)
    spec = load_spec(project.write_spec("mart_homes", MART))
    first = run_pipeline(build_plan(spec))
    assert first.ok, first.record.error
    sql = first.results["load_mart.doubled_items"].sql
    assert any(q.startswith("INSERT INTO") for q in sql)  # the load created the schema

    write_items(project, 60, offset=100)
    second = run_pipeline(build_plan(spec))
    assert second.ok, second.record.error
    sql = second.results["load_mart.doubled_items"].sql
    assert any(q.startswith('ALTER TABLE "mart"."__dagwright_work_') for q in sql), sql
    assert project.query("SELECT COUNT(*), MIN(id) FROM mart.doubled_items") == [(60, 101)]
    assert homes_left(project) == []
