"""Run reports: a real run's page, opened in headless Chromium, shows the run log's numbers."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from dagwright.cli import main
from dagwright.intervals import Interval, parse_when
from dagwright.plan import build_plan
from dagwright.runner import run_pipeline
from dagwright.spec.load import load_spec

INSTALL = "apt-get update && apt-get install -y chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    """The browser's path; without one the test fails saying how to install it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        try:
            import playwright  # noqa: F401
        except ImportError:
            pytest.fail("playwright is missing: pip install -e '.[dev]'", pytrace=False)
        return found
    if os.environ.get("DAGWRIGHT_SKIP_BROWSER") == "1":
        pytest.skip("DAGWRIGHT_SKIP_BROWSER=1: report not checked in a browser")
    pytest.fail(
        f"the report test needs headless Chromium: install it with `{INSTALL}` "
        "(as root), or set DAGWRIGHT_SKIP_BROWSER=1 to skip this test",
        pytrace=False,
    )


def run_example(project, start: str, end: str) -> str:
    plan = build_plan(load_spec(project.dags / "shop_daily.yaml"))
    outcome = run_pipeline(plan, Interval(parse_when(start), parse_when(end)))
    assert outcome.ok, outcome.record.error
    return outcome.record.run_id


def run_log(project, run_id: str) -> tuple[str, list[dict]]:
    ((status, stages),) = project.query(
        'SELECT status, stages FROM "_dagwright"."runs" WHERE run_id = ?', [run_id]
    )
    return status, json.loads(stages)


@pytest.mark.slow
def test_report_in_chromium_shows_the_run_logs_numbers(example_project, capsys) -> None:
    browser = chromium()
    from playwright.sync_api import sync_playwright

    project = example_project
    run_id = run_example(project, "2026-01-01", "2026-01-04")
    assert main(["--project", str(project.root), "report", run_id[:12]]) == 0
    page_path = Path(capsys.readouterr().out.strip())
    assert page_path == project.root / ".dagwright" / "reports" / "shop_daily" / f"{run_id}.html"
    status, stages = run_log(project, run_id)

    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        chrome = p.chromium.launch(executable_path=browser, args=CHROMIUM_ARGS)
        try:
            page = chrome.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri(), wait_until="load")
            shown = {
                row.get_attribute("data-stage"): (
                    row.locator("td.rows-in").inner_text(),
                    row.locator("td.rows-out").inner_text(),
                )
                for row in page.locator("#stages tbody tr").all()
            }
            loaded = page.locator("#rows-loaded").inner_text()
            header_status = page.locator("#run-status").inner_text()
            graph_nodes = page.locator("svg.graph g.node").count()
            bars = page.locator("svg.timeline g.bar").count()
            sql = page.locator("details[data-stage='load_fct_orders'] pre").inner_text()
            checks = page.locator("#check-results tbody tr").all_inner_texts()
            lineage = page.locator("#lineage").inner_text()
            page.screenshot(path=str(project.root / "report.png"), full_page=True)
        finally:
            chrome.close()

    assert problems == []
    assert requests == [page_path.as_uri()], "the page must need nothing but itself"
    assert header_status == status == "success"

    def fmt(n: int | None) -> str:
        return "" if n is None else f"{n:,}"

    def out(s: dict) -> str:
        streamed = s["kind"] == "extract" and s["status"] == "success" and s["rows_out"] is None
        return "streamed into SQL" if streamed else fmt(s["rows_out"])

    assert shown == {s["stage"]: (fmt(s["rows_in"]), out(s)) for s in stages}
    assert "streamed into SQL" in {v[1] for v in shown.values()}, "the example streams CSVs"
    assert shown["load_fct_orders"][1] not in ("", "0")
    assert loaded == fmt(sum(s["rows_out"] or 0 for s in stages if s["kind"] == "load"))
    assert graph_nodes == bars == len(stages)
    assert '"fct_orders"' in sql
    ((logged_checks, warned),) = project.query(
        'SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT success) FROM "_dagwright"."check_results" '
        "WHERE run_id = ?",
        [run_id],
    )
    assert len(checks) == logged_checks > 0
    assert sum("warned" in row for row in checks) == warned
    assert "products.unit_price" in lineage and "order_lines.quantity" in lineage


def test_report_names_a_missing_run_and_needs_a_run_first(example_project) -> None:
    from dagwright.errors import DagwrightError
    from dagwright.report import write_report

    project = example_project
    with pytest.raises(DagwrightError, match="no runs in the run log yet: run a pipeline first"):
        write_report(project.root)
    run_example(project, "2026-01-01", "2026-01-02")
    result = project.cli("report", "20990101T000000_nope")
    assert result.returncode == 1
    assert "no run '20990101T000000_nope' in the run log" in result.stderr
    assert "Traceback" not in result.stderr


def test_failed_run_report_shows_the_error_and_skipped_stages(example_project) -> None:
    from dagwright.report import write_report

    project = example_project
    (project.root / "data" / "shop" / "products.csv").write_text("product_id,name\nx,broken\n")
    plan = build_plan(load_spec(project.dags / "shop_daily.yaml"))
    outcome = run_pipeline(plan, Interval(parse_when("2026-01-01"), parse_when("2026-01-02")))
    assert not outcome.ok
    page = write_report(project.root, outcome.record.run_id).read_text()
    assert "id='run-status'>failed<" in page
    assert "s-skipped" in page
    first_error = outcome.record.error.splitlines()[0]
    from html import escape

    assert escape(first_error) in page


def test_report_counts_and_shows_the_rows_a_run_quarantined(project) -> None:
    from dagwright.report import write_report

    project.write_spec(
        "orders_q",
        """
        pipeline: orders_q
        start_date: 2026-01-01
        sources:
          orders:
            extractor: csv
            path: data/shop/orders.csv
            incremental: {cursor: ordered_at, use_interval: true}
            expect:
              - expect_column_values_to_be_in_set: {column: status, value_set: [paid, shipped]}
                severity: quarantine
        loads:
          orders: {from: orders, write: append}
        """,
    )
    plan = build_plan(load_spec(project.dags / "orders_q.yaml"))
    outcome = run_pipeline(plan, Interval(parse_when("2026-01-01"), parse_when("2026-01-03")))
    assert outcome.ok, outcome.record.error
    run_id = outcome.record.run_id
    ((held,),) = project.query(
        'SELECT COUNT(*) FROM "orders__quarantine" WHERE _dagwright_run_id = ?', [run_id]
    )
    assert held > 0
    page = write_report(project.root, run_id).read_text()
    assert f"<td>orders__quarantine</td><td class='num'>{held:,}</td>" in page
    assert f"id='rows-quarantined'>{held:,}<" in page
    # the rows themselves: their values and why they were held back
    (order_id, status) = project.query(
        'SELECT order_id, status FROM "orders__quarantine" WHERE _dagwright_run_id = ? '
        "ORDER BY _dagwright_row LIMIT 1",
        [run_id],
    )[0]
    assert "<table id='quarantined-orders--quarantine'>" in page
    assert f"<td>{order_id}</td>" in page and f"<td>{status}</td>" in page
    assert "expect_column_values_to_be_in_set(column=status)" in page


def test_report_links_the_pipelines_other_runs_and_shows_a_database_query(
    project,
    postgres,  # noqa: ANN001
) -> None:
    from dagwright.report import write_report

    postgres.execute("DROP TABLE IF EXISTS report_src")
    postgres.execute("CREATE TABLE report_src (id int, updated_at timestamp)")
    postgres.execute("INSERT INTO report_src VALUES (1, '2026-01-01 10:00'), (2, '2026-01-02')")
    project.write_spec(
        "from_db",
        """
        pipeline: from_db
        start_date: 2026-01-01
        sources:
          src:
            extractor: postgres
            connection: report_db
            table: public.report_src
            incremental: {cursor: updated_at}
        loads:
          src: {from: src, write: merge, primary_key: [id]}
        """,
    )
    env = {"DAGWRIGHT_CONN_REPORT_DB": postgres.url}
    for _ in range(2):
        assert project.cli("run", "from_db", env=env).returncode == 0
    runs = [r[0] for r in project.query('SELECT run_id FROM "_dagwright".runs ORDER BY started_at')]
    first = write_report(project.root, runs[0]).read_text()
    page = write_report(project.root, runs[1]).read_text()
    assert f"<a href='{runs[0]}.html'>{runs[0]}</a>" in page, "links the other run's page"
    assert f"<a href='{runs[1]}.html'>{runs[1]}</a>" in first
    assert "FROM &quot;public&quot;.&quot;report_src&quot;" in first, "the query sent to the source"
    assert "updated_at" in page and "-- bound: lower" in page
