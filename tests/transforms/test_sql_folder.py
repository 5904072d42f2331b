"""A sql_folder entry end to end: the 22 TPC-H queries as one transforms entry, run with
the real CLI into the DuckDB warehouse, each table equal to the query run directly; and
files reading each other's output, locally and pushed down."""

from __future__ import annotations

import shutil
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dagwright.plan import build_plan
from dagwright.spec.load import load_spec
from dagwright.spec.sections import Transform
from tests.conftest import run_cli
from tests.transforms.tpch.data import TABLES, generate

QUERIES = Path(__file__).resolve().parent / "tpch" / "queries"
RENAMED = {"q01": "pricing_summary"}
"""The one file whose table the spec names (``loads:`` override); the others take the stem."""


@pytest.fixture(scope="module")
def tpch_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tpch") / "data"
    generate(folder)
    return folder


def tpch_project(root: Path, data: Path, pushdown: bool) -> Path:
    """A project whose one transforms entry is the folder of the 22 queries."""
    (root / "dags").mkdir(parents=True)
    shutil.copytree(data, root / "data" / "tpch")
    shutil.copytree(QUERIES, root / "sql" / "tpch")
    sources = "\n".join(
        f"  {t}: {{extractor: parquet, path: data/tpch/{t}.parquet}}" for t in TABLES
    )
    # Pushed down, the queries read the warehouse's tables: the sources are loaded first.
    loads = "".join(
        f"\n  {t}: {{from: {t}, write: replace, lineage: false}}" for t in TABLES if pushdown
    )
    spec = root / "dags" / "tpch.yaml"
    spec.write_text(
        "pipeline: tpch\nstart_date: 2026-01-01\n"
        f"sources:\n{sources}\n"
        f"""transforms:
  tpch:
    sql_folder: sql/tpch/
    pushdown: {str(pushdown).lower()}
    load: {{lineage: false}}
    loads:
      q01: {{table: {RENAMED["q01"]}}}
""" + (f"loads:{loads}\n" if loads else ""),
        encoding="utf-8",
    )
    return spec


def direct_results(data: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Each query run by DuckDB itself over the same files."""
    import duckdb

    con = duckdb.connect()
    try:
        for table in TABLES:
            con.read_parquet(str(data / f"{table}.parquet")).create_view(table)
        return {q.stem: con.execute(q.read_text()).fetchall() for q in sorted(QUERIES.glob("*"))}
    finally:
        con.close()


def normalized(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows in a stable order; doubles (averages, ratios) to 9 significant digits, since
    a parallel sum may add in another order. Decimals are exact and compared exactly."""

    def value(v: Any) -> Any:
        if isinstance(v, float):
            return float(f"{v:.9g}")
        if isinstance(v, Decimal):
            return v.normalize()
        return v

    return sorted((tuple(value(v) for v in row) for row in rows), key=repr)


def warehouse_tables(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    import duckdb

    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'main'"
            ).fetchall()
        ]
        return {n: con.execute(f'select * from "{n}"').fetchall() for n in names}
    finally:
        con.close()


def test_the_22_queries_are_one_entry_of_ordinary_steps(tmp_path: Path, tpch_data: Path) -> None:
    spec = load_spec(tpch_project(tmp_path, tpch_data, pushdown=False))
    steps = spec.model.transforms
    assert list(steps) == [f"q{i:02d}" for i in range(1, 23)]
    assert all(isinstance(s, Transform) and s.kind == "sql" for s in steps.values())
    assert steps["q05"].sql_file == "sql/tpch/q05.sql"
    assert spec.model.loads["pricing_summary"].from_ == "q01"
    assert spec.model.loads["q02"].write == "replace"
    assert spec.model.loads["q02"].lineage is False
    assert spec.sql_folders == ((tmp_path / "sql" / "tpch").resolve(),)
    plan = build_plan(spec)
    assert set(plan.stages["transform_q05"].upstream) == {
        f"extract_{t}" for t in ("customer", "orders", "lineitem", "supplier", "nation", "region")
    }


@pytest.mark.parametrize("pushdown", [False, True], ids=["local", "pushdown"])
def test_tpch_folder_run_by_the_cli_equals_duckdb(
    tmp_path: Path, tpch_data: Path, pushdown: bool
) -> None:
    tpch_project(tmp_path, tpch_data, pushdown)
    ran = run_cli("run", "tpch", cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    tables = warehouse_tables(tmp_path)
    queries = [f"q{i:02d}" for i in range(1, 23)]
    expected_tables = {RENAMED.get(q, q) for q in queries}
    assert len(expected_tables) == 22
    assert expected_tables <= set(tables)
    assert set(tables) - expected_tables == (set(TABLES) if pushdown else set())
    expected = direct_results(tpch_data)
    for query in queries:
        want = normalized(expected[query])
        assert want, f"{query} returns no rows on the test data: it would show nothing"
        assert normalized(tables[RENAMED.get(query, query)]) == want, query


DEPENDENT = {
    # Pushed down, a file reads the table another loads: by default named after its stem.
    "by_nation.sql": """
        select n_name, sum(o_totalprice) as total
        from orders join customer on c_custkey = o_custkey
        join nation on n_nationkey = c_nationkey
        group by n_name
    """,
    "top_nations.sql": """
        select n_name, total from by_nation order by total desc limit 3
    """,
    "top_share.sql": """
        select t.n_name, t.total / (select sum(total) from by_nation) as share
        from top_nations t
    """,
}


@pytest.mark.parametrize("pushdown", [False, True], ids=["local", "pushdown"])
def test_a_file_reading_another_runs_after_it(
    tmp_path: Path, tpch_data: Path, pushdown: bool
) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "sql" / "nations").mkdir(parents=True)
    for name, sql in DEPENDENT.items():
        (tmp_path / "sql" / "nations" / name).write_text(textwrap.dedent(sql).strip() + "\n")
    raw = ("orders", "customer", "nation")
    sources = "".join(
        f"\n  {t}: {{extractor: parquet, path: {tpch_data / t}.parquet}}" for t in raw
    )
    loads = "".join(f"\n  {t}: {{from: {t}, write: replace}}" for t in raw if pushdown)
    spec = tmp_path / "dags" / "nations.yaml"
    spec.write_text(
        f"pipeline: nations\nstart_date: 2026-01-01\nsources:{sources}\n"
        "transforms:\n  nations:\n    sql_folder: sql/nations/*.sql\n"
        f"    pushdown: {str(pushdown).lower()}\n" + (f"loads:{loads}\n" if loads else "")
    )
    plan = build_plan(load_spec(spec))
    before = "load_by_nation" if pushdown else "transform_by_nation"
    assert before in plan.stages["transform_top_nations"].upstream
    assert before in plan.stages["transform_top_share"].upstream
    order = [s.id for s in plan.ordered()]
    assert order.index("transform_by_nation") < order.index("transform_top_nations")
    assert order.index("transform_top_nations") < order.index("transform_top_share")

    ran = run_cli("run", "nations", cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    tables = warehouse_tables(tmp_path)
    by_nation = sorted(((n, t) for n, t, *_ in tables["by_nation"]), key=lambda r: -r[1])
    assert sorted(r[:2] for r in tables["top_nations"]) == sorted(by_nation[:3])
    grand = sum(t for _, t in by_nation)
    shares = {n: s for n, s, *_ in tables["top_share"]}
    assert shares == pytest.approx({n: float(t / grand) for n, t in by_nation[:3]})
