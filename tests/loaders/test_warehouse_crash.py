"""Loads SIGKILLed for real, in a child process, at named points of staging and applying.

Each case loads interval 0 cleanly, then forks a process that loads interval 1 and is
killed (``DAGWRIGHT_TEST_KILL_AT``) at one point. The destination must then be exactly as
before the load (or as after it, once committed), with the old watermark; a rerun of
interval 1 must give the table a clean run gives, with no duplicate and nothing lost,
and the watermark of the data.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from dagwright.state import KILL_AT
from tests.loaders.conftest import Warehouse, make_warehouse

SPECS: dict[str, dict[str, Any]] = {
    "append": {},
    "replace": {"write": "replace"},
    "merge": {"write": "merge", "primary_key": ["id"]},
    "delete_insert": {"write": "delete_insert", "interval_column": "day"},
    "scd2": {"write": "scd2", "primary_key": ["id"]},
}
COMMITTED = "commit:done"
POINTS = ["stage", "apply:data", "apply:state", COMMITTED]
"""``stage`` is ``stage:copy`` where batches are sent in parts (after the first COPY or LOAD
DATA batch, or the first Parquet file PUT to Snowflake's stage), else ``stage:done``."""
BATCHED = ("postgres", "mysql", "snowflake")
EXTRA = [("append", "stage:start"), ("append", "apply:start")]


def batch(interval: int, write: str) -> list[dict[str, Any]]:
    """Interval 0: ids 0..149; interval 1: ids 100..299 (changed values for 100..149)."""
    ids = range(150) if interval == 0 else range(100, 300)
    day = date(2026, 1, 1) + timedelta(days=interval)
    offset = 0 if write in ("merge", "scd2", "replace") else interval * 1000
    return [{"id": i + offset, "v": f"v{interval}-{i}", "day": day} for i in ids]


def table_state(w: Warehouse) -> tuple[list[dict[str, Any]], Any, list[tuple]]:
    return w.rows("t"), w.watermark(), w.ledger()


def load(w: Warehouse, interval: int, write: str) -> None:
    w.load("t", batch(interval, write), at=interval, watermark=10 * (interval + 1), **SPECS[write])


def killed_load(w: Warehouse, write: str, point: str, sessions: Path | None = None) -> int:
    """The exit code of a child process loading interval 1, killed at ``point``; the
    Snowflake sessions it opened are listed in ``sessions``."""
    staged = w.stage(batch(1, write))
    state = w.state("t", 1, watermark=20, run_id="killed")

    def child() -> None:
        from dagwright.spec.sections import Load

        os.environ[KILL_AT] = point
        loader = w.loader()
        if sessions is not None:
            connect = loader.connect

            def listed():  # noqa: ANN202 - a snowflake connection
                con = connect()
                with sessions.open("a") as out:
                    out.write(con.rest.token + "\n")
                return con

            loader.connect = listed
        loader.load("t", Load.model_validate({"from": "src", **SPECS[write]}), staged, state)
        os._exit(0)

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(60)
    return process.exitcode


CASES = [(write, point) for write in SPECS for point in POINTS] + EXTRA
_clean_runs: dict[tuple[str, str], tuple] = {}


def clean_run(kind: str, write: str, root: Path, request: pytest.FixtureRequest) -> tuple:
    """The table, watermark and ledger two uninterrupted loads give (once per kind/write)."""
    if (kind, write) not in _clean_runs:
        root.mkdir()
        clean = make_warehouse(kind, root, request)
        load(clean, 0, write)
        load(clean, 1, write)
        _clean_runs[kind, write] = table_state(clean)
    return _clean_runs[kind, write]


@pytest.mark.parametrize(("write", "point"), CASES)
def test_a_killed_load_leaves_before_or_after_and_a_rerun_converges(
    warehouse: Warehouse, write: str, point: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if warehouse.kind == "postgres":
        warehouse.config["copy_batch_rows"] = 40
    if warehouse.kind == "mysql":
        warehouse.config["load_batch_rows"] = 40
    if warehouse.kind == "snowflake":
        warehouse.config["file_rows"] = 40
    if point == "stage":
        point = "stage:copy" if warehouse.kind in BATCHED else "stage:done"
    expected = clean_run(warehouse.kind, write, tmp_path / "clean", request)

    w = warehouse
    load(w, 0, write)
    before = table_state(w)
    sessions = tmp_path / "sessions" if w.kind == "snowflake" else None
    assert killed_load(w, write, point, sessions) == -signal.SIGKILL
    if sessions is not None:  # Snowflake rolls back a dead client's transaction in time
        server = request.getfixturevalue("fakesnow")
        for token in sessions.read_text().split():
            server.end_session(token)
    rows, watermark, ledger = table_state(w)
    if point == COMMITTED:
        assert rows == expected[0]
        assert watermark == 20
    else:
        assert (rows, watermark, ledger) == before
    load(w, 1, write)
    assert table_state(w) == expected
