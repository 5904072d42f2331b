"""Helpers for extractor tests: run a spec through the real runner into the DuckDB warehouse."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

import pytest

from dagwright.intervals import Interval
from dagwright.runner import RunOutcome
from tests.conftest import Project

HEADER = """\
pipeline: {name}
start_date: 2026-01-01
destination: {{loader: duckdb, path: warehouse.duckdb}}
"""


@pytest.fixture
def run_spec(project: Project) -> Callable[..., RunOutcome]:
    """``run_spec(name, body, interval=None)``: write dags/<name>.yaml and run it in-process."""
    from dagwright.plan import build_plan
    from dagwright.runner import run_pipeline
    from dagwright.spec.load import load_spec

    def run(name: str, body: str, interval: Interval | None = None) -> RunOutcome:
        text = HEADER.format(name=name) + textwrap.dedent(body).lstrip()
        path = project.dags / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        plan = build_plan(load_spec(path, project.root))
        return run_pipeline(plan, interval)

    return run


def extracted(outcome: RunOutcome, source: str) -> int | None:
    """Rows the extract stage of ``source`` read in this run."""
    return {s.stage: s.rows_out for s in outcome.record.stages}[f"extract_{source}"]


def watermark(project: Project, pipeline: str, source: str) -> Any:
    from dagwright.state import decode_watermark

    rows = project.query(
        'select value from "_dagwright".watermarks where pipeline = ? and source = ?',
        [pipeline, source],
    )
    return decode_watermark(rows[0][0]) if rows else None


def tables(project: Project) -> set[str]:
    if not project.warehouse.exists():
        return set()
    return {r[0] for r in project.query("select table_name from duckdb_tables()")}


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """pytest-httpserver on 127.0.0.1 (``localhost`` may resolve to an unbound ::1 first)."""
    return ("127.0.0.1", 0)
