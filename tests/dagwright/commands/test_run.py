"""``dagwright run`` and ``dagwright runs`` as a user meets them: messages, exit codes."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO, Project


def test_a_stage_error_with_square_brackets_is_printed_as_written(
    project: Project,
) -> None:
    """rich reads ``[...]`` as markup: an error holding a path in brackets used to crash the
    CLI with ``internal error: MarkupError`` (exit 2) and hide the real error."""
    project.write_spec(
        "brackets",
        """
        pipeline: brackets
        start_date: 2026-01-01
        sources:
          orders: {extractor: csv, path: data/shop/orders.csv}
        transforms:
          broken: {polars: "tests.support.raising:bracketed", inputs: [orders]}
        loads:
          t: {from: broken, write: replace}
        """,
    )
    result = project.cli("run", "brackets", env={"PYTHONPATH": str(REPO)})
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, out
    assert "MarkupError" not in out and "internal error" not in out
    assert (
        "run failed: stage 'transform_broken': tests.support.raising:bracketed raised "
        "ValueError: closing tag '[/data/x/transform_y.parquet]' at position 3; see [docs]"
    ) in out


def test_one_unreachable_destination_does_not_hide_the_other_pipelines_runs(
    project: Project,
) -> None:
    project.write_spec(
        "local_orders",
        """
        pipeline: local_orders
        start_date: 2026-01-01
        sources:
          orders: {extractor: csv, path: data/shop/orders.csv}
        loads:
          orders: {from: orders, write: replace}
        """,
    )
    ran = project.cli("run", "local_orders")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    (run_id,) = project.query('select run_id from "_dagwright".runs')[0]
    project.write_spec(
        "remote_orders",
        """
        pipeline: remote_orders
        start_date: 2026-01-01
        sources:
          orders: {extractor: csv, path: data/shop/orders.csv}
        destination: {loader: postgres, connection: nowhere_db}
        loads:
          orders: {from: orders, write: replace}
        """,
    )
    runs = project.cli("runs")
    out = " ".join(runs.stdout.split())
    assert runs.returncode == 0, runs.stdout + runs.stderr
    assert run_id in out, "the DuckDB pipeline's run is listed"
    assert "the run log of remote_orders (remote_orders.yaml) cannot be read" in out
    assert "DAGWRIGHT_CONN_NOWHERE_DB" in out, "and the note says what to set"

    report = project.cli("report")
    assert report.returncode == 0, report.stdout + report.stderr
    page = Path(report.stdout.strip().splitlines()[-1])
    assert page.name == f"{run_id}.html" and page.is_file()


def test_an_interval_without_data_says_why_it_loaded_nothing(example_project: Project) -> None:
    """The sample data covers January: a run of a day in June (what a manual Airflow run
    of today's interval does) succeeds, loads nothing, and says why."""
    ran = example_project.cli("run", "shop_daily", "--start", "2026-06-01", "--end", "2026-06-02")
    out = " ".join(ran.stdout.split())
    assert ran.returncode == 0, out
    assert (
        "fct_orders: 0 rows, because the interval 2026-06-01 00:00 .. 2026-06-02 00:00 holds "
        "no rows of orders (read by interval)"
    ) in out
    assert "dagwright status shop_daily" in out
