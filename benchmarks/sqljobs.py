"""Job sql_steps: the per-stage overhead of a pipeline of many small SQL steps.

The 22 TPC-H queries (``tests/transforms/tpch/queries``) over small TPC-H-shaped Parquet
files (``tests/transforms/tpch/data.py``: fixed row counts, no scale factor), written as
22 tables into a fresh DuckDB file: by a hand-written DuckDB script (``read_parquet``
views, ``CREATE TABLE qNN AS <query>``), and by ``dagwright run`` of a project whose one
transforms entry is the query folder (``sql_folder:``, ``pushdown: false``, lineage off),
as ``tests/transforms/test_sql_folder.py``'s ``tpch_project`` writes it. dagwright's run
is 52 stages (8 extracts, 22 transforms, 22 loads) where the script runs 22 statements,
so the difference of the two is mostly what a stage costs. In turns, ``ctx.repeat``
rounds; a contender whose 22 tables or row counts differ from the queries run directly
fails.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path

from benchmarks.jobs import PY, REPO, SCRIPTS, Context, dagwright_cmd, fresh
from benchmarks.measure import Measurement, Run, measure_in_turns

JOB_SQL_STEPS = "sql_steps: 22 TPC-H queries as SQL steps -> DuckDB"
QUERIES = REPO / "tests" / "transforms" / "tpch" / "queries"
STAGES = 52
"""8 extracts + 22 transforms + 22 loads in dagwright's plan of the project."""

GENERATE_SCRIPT = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from tests.transforms.tpch.data import generate
import duckdb
paths = generate(Path(sys.argv[2]))
con = duckdb.connect()
print(json.dumps({
    t: con.execute("SELECT count(*) FROM read_parquet(?)", [str(p)]).fetchall()[0][0]
    for t, p in paths.items()
}))
"""

DIRECT_SCRIPT = """
import json, sys
from pathlib import Path
import duckdb
data, queries = Path(sys.argv[1]), Path(sys.argv[2])
con = duckdb.connect()
for table in json.loads(sys.argv[3]):
    con.read_parquet(str(data / f"{table}.parquet")).create_view(table)
print(json.dumps({
    q.stem: len(con.execute(q.read_text()).fetchall()) for q in sorted(queries.glob("q*.sql"))
}))
"""

TABLES_SCRIPT = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
names = [r[0] for r in con.execute(
    "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()]
print(json.dumps({n: con.table(n).count("*").fetchall()[0][0] for n in names}))
"""


def _child_json(*args: str) -> dict[str, int]:
    """Run a ``python -c`` script in a child (this process stays small) and read its JSON."""
    proc = subprocess.run([PY, "-c", *args], capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["?"]
        raise RuntimeError(tail[0])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def expect_tables(warehouse: Path, expected: dict[str, int]) -> Callable[[], str | None]:
    """The 22 query tables in ``main``, each with the row count of its query run directly."""

    def check() -> str | None:
        try:
            got = _child_json(TABLES_SCRIPT, str(warehouse))
        except Exception as exc:  # noqa: BLE001 - reported as the contender's failure
            return f"cannot read {warehouse.name}: {exc}"
        missing = sorted(set(expected) - set(got))
        if missing:
            return f"missing tables: {', '.join(missing)}"
        wrong = [f"{t} has {got[t]} rows, expected {n}" for t, n in expected.items() if got[t] != n]
        return "; ".join(wrong) or None

    return check


def spec(data: Path, tables: list[str]) -> str:
    sources = "\n".join(
        f"  {t}: {{extractor: parquet, path: {json.dumps(str(data / f'{t}.parquet'))}}}"
        for t in tables
    )
    return f"""\
pipeline: tpch
start_date: 2026-01-01
sources:
{sources}
transforms:
  tpch:
    sql_folder: sql/tpch/
    pushdown: false
    load: {{lineage: false}}
"""


def job_sql_steps(ctx: Context) -> None:
    ctx.log("job sql_steps: 22 TPC-H queries")
    data = ctx.workdir / "data" / "tpch"
    rows = _child_json(GENERATE_SCRIPT, str(REPO), str(data))
    expected = _child_json(DIRECT_SCRIPT, str(data), str(QUERIES), json.dumps(list(rows)))
    base = fresh(ctx.workdir / "runs" / "sql-steps")
    project = fresh(ctx.workdir / "projects" / "sql-steps")
    (project / "dags").mkdir()
    shutil.copytree(QUERIES, project / "sql" / "tpch")
    (project / "dags" / "tpch.yaml").write_text(spec(data, list(rows)), encoding="utf-8")
    warehouse = base / "reference.duckdb"

    def clear_warehouse() -> None:
        for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
            (project / name).unlink(missing_ok=True)
        shutil.rmtree(project / ".dagwright", ignore_errors=True)

    def clear_reference() -> None:
        for name in ("reference.duckdb", "reference.duckdb.wal"):
            (base / name).unlink(missing_ok=True)

    size = len(expected)
    ref = Run(
        Measurement(JOB_SQL_STEPS, size, "DuckDB script (22 CREATE TABLE AS)", reference=True),
        [PY, str(SCRIPTS / "sql_steps_duckdb.py"), str(data), str(QUERIES), str(warehouse)],
        base,
        setup=clear_reference,
        check=expect_tables(warehouse, expected),
    )
    dw = Run(
        Measurement(JOB_SQL_STEPS, size, "dagwright run (sql_folder, 52 stages)"),
        dagwright_cmd(project, "run", "tpch"),
        base,
        setup=clear_warehouse,
        check=expect_tables(project / "warehouse.duckdb", expected),
    )
    measure_in_turns([ref, dw], ctx.repeat)
    shape = ", ".join(f"{t} {n:,}" for t, n in rows.items())
    ref.m.note = f"fixed-size data, rows: {shape}"
    if ref.m.ok and dw.m.ok:
        ratios = [a.wall / b.wall for a, b in zip(dw.m.samples, ref.m.samples, strict=True)]
        dw.m.note = (
            f"{(dw.m.wall - ref.m.wall) / STAGES * 1000:.0f} ms wall, "
            f"{(dw.m.cpu - ref.m.cpu) / STAGES * 1000:.0f} ms CPU per stage over the script; "
            f"per round {statistics.median(ratios):.2f}x wall "
            f"({min(ratios):.2f}-{max(ratios):.2f}x, {len(ratios)} round"
            f"{'s' if len(ratios) > 1 else ''})"
        )
    ctx.add(ref.m)
    ctx.add(dw.m)
