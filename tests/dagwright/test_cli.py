"""The CLI end to end, through a real subprocess, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO, Project

HEAVY = (
    "airflow",
    "great_expectations",
    "duckdb",
    "psycopg",
    "adbc_driver_manager",
    "connectorx",
    "sqlalchemy",
    "polars",
    "pyarrow",
    "pandas",
)


def test_help_imports_no_heavy_module() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from dagwright.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(','.join(sorted(m for m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.strip().split(","))
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}


def test_validate_exit_codes_and_located_problems(project: Project) -> None:
    project.write_spec(
        "good",
        """
        pipeline: good
        start_date: 2026-01-01
        sources: {orders: {extractor: csv, path: data/shop/orders.csv}}
        loads: {t: {from: orders}}
        """,
    )
    ok = project.cli("validate")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "1 spec(s) checked: 1 valid" in ok.stdout

    project.write_spec(
        "bad",
        """
        pipeline: bad
        start_date: 2026-01-01
        sources: {orders: {extractor: csv, path: data/shop/orders.csv}}
        loads: {t: {from: order, wirte: append}}
        """,
    )
    bad = project.cli("validate")
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    assert (
        f"{project.dags / 'bad.yaml'}:4:26: unknown key 'wirte' in loads.t (did you mean 'write'?)"
        in lines
    )
    assert (
        f"{project.dags / 'bad.yaml'}:4:17: load 't' reads unknown input 'order' (did you mean 'orders'?)"
        not in lines
    ), "reference checks run only once the spec's shape is valid"
    assert "Traceback" not in bad.stdout + bad.stderr
    assert "2 spec(s) checked: 1 valid, 1 invalid" in bad.stdout

    only_good = project.cli("validate", str(project.dags / "good.yaml"))
    assert only_good.returncode == 0


def test_validate_reports_yaml_syntax_error(project: Project) -> None:
    (project.dags / "broken.yaml").write_text("pipeline: x\nsources: [\n")
    result = project.cli("validate")
    assert result.returncode == 1
    assert result.stdout.startswith(f"{project.dags / 'broken.yaml'}:3:1: YAML syntax error")
    assert "Traceback" not in result.stderr


def test_run_runs_list_end_to_end(example_project: Project) -> None:
    run = example_project.cli("run", "shop_daily", "--start", "2026-01-01", "--end", "2026-02-01")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "success" in run.stdout
    fct_rows = example_project.query("select count(*) from fct_orders")[0][0]
    summary = [line for line in run.stdout.splitlines() if "load_fct_orders" in line]
    assert summary and f"{fct_rows:,}" in summary[-1]

    runs = example_project.cli("runs", "shop_daily")
    assert runs.returncode == 0
    assert "shop_daily" in runs.stdout and "success" in runs.stdout

    listing = example_project.cli("list")
    assert listing.returncode == 0
    assert (
        "shop_daily" in listing.stdout and "@daily" in listing.stdout and "duckdb" in listing.stdout
    )


def test_run_in_a_terminal_draws_progress_and_the_summary(example_project: Project) -> None:
    """Under a terminal the run shows live progress (rich), then the same summary."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagwright.cli", "run", "shop_daily"],
        cwd=example_project.root,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=120) == 0
    shown = b"".join(chunks).decode(errors="replace")
    assert "running shop_daily" in shown
    assert "load_fct_orders" in shown and "success" in shown and "rows out" in shown


def test_run_unknown_pipeline_suggests(example_project: Project) -> None:
    result = example_project.cli("run", "shop_dialy")
    assert result.returncode == 1
    assert "no pipeline 'shop_dialy'" in result.stderr
    assert "did you mean 'shop_daily'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_failure_exit_code(project: Project) -> None:
    project.write_spec(
        "missing",
        """
        pipeline: missing
        start_date: 2026-01-01
        sources: {orders: {extractor: csv, path: data/nowhere/*.csv}}
        loads: {t: {from: orders}}
        """,
    )
    result = project.cli("run", "missing")
    assert result.returncode == 1
    assert "no file matches 'data/nowhere/*.csv'" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_committed_schema_matches_model() -> None:
    from dagwright.commands.schema import render_schema

    committed = (REPO / "dagwright.schema.json").read_text()
    assert json.loads(committed) == json.loads(render_schema()), (
        "dagwright.schema.json is stale: run `make schema`"
    )


def test_schema_command_lists_plugin_options(project: Project) -> None:
    result = project.cli("schema")
    schema = json.loads(result.stdout)
    defs = schema["$defs"]
    assert "path" in defs["FileSourceConfig"]["properties"]
    assert "path" in defs["DuckDBConfig"]["properties"]
    assert schema["properties"]["pipeline"]
