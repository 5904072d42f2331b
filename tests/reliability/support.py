"""A crash-test pipeline: every write disposition, a watermark source and an interval source."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
KILLPOINT = HERE / "killpoint.py"

SPEC = """\
pipeline: crashy
schedule: "@daily"
start_date: 2026-01-01
sources:
  events:
    extractor: csv
    path: data/events.csv
    columns: {id: BIGINT, ts: TIMESTAMP, k: INTEGER, amount: BIGINT}
    incremental: {cursor: ts}
  events_by_day:
    extractor: csv
    path: data/events.csv
    columns: {id: BIGINT, ts: TIMESTAMP, k: INTEGER, amount: BIGINT}
    incremental: {cursor: ts, use_interval: true}
transforms:
  enriched:
    sql: select id, ts, k, amount, amount * 2 as doubled from events
  daily:
    sql: |
      select k, min(cast(ts as date)) as day, count(*) as n, sum(amount) as total
      from events_by_day group by k
destination:
  loader: duckdb
  path: warehouse.duckdb
  lock_timeout: {lock_timeout}
loads:
  t_append: {from: enriched, write: append}
  t_replace: {from: enriched, write: replace}
  t_merge: {from: enriched, write: merge, primary_key: [id]}
  t_delete_insert: {from: enriched, write: delete_insert, merge_key: [id]}
  d_append: {from: daily, write: append}
  d_delete_insert: {from: daily, write: delete_insert, interval_column: day}
"""
UNSCHEDULED = """\
pipeline: crashy
start_date: 2026-01-01
sources:
  events:
    extractor: csv
    path: data/events.csv
    columns: {id: BIGINT, ts: TIMESTAMP, k: INTEGER, amount: BIGINT}
    incremental: {cursor: ts}
transforms:
  enriched:
    sql: select id, ts, k, amount, amount * 2 as doubled from events
loads:
  t_append: {from: enriched, write: append}
  t_replace: {from: enriched, write: replace}
  t_merge: {from: enriched, write: merge, primary_key: [id]}
  t_delete_insert: {from: enriched, write: delete_insert, merge_key: [id]}
"""
"""The same loads without a schedule: runs have no data interval."""
CHECKED = """\
pipeline: crashy
schedule: "@daily"
start_date: 2026-01-01
sources:
  events:
    extractor: csv
    path: data/events.csv
    columns: {id: BIGINT, ts: TIMESTAMP, k: INTEGER, amount: BIGINT}
    incremental: {cursor: ts}
    expect:
      - {expect_column_values_to_not_be_null: {column: id}}
      - {expect_column_values_to_be_between: {column: amount, max_value: 900}, severity: quarantine}
  events_by_day:
    extractor: csv
    path: data/events.csv
    columns: {id: BIGINT, ts: TIMESTAMP, k: INTEGER, amount: BIGINT}
    incremental: {cursor: ts, use_interval: true}
    expect:
      - {expect_column_values_to_be_between: {column: amount, max_value: 950}, severity: quarantine,
         engine: great_expectations}
      - {expect_column_values_to_be_between: {column: k, max_value: 5}, severity: warn}
transforms:
  enriched:
    sql: select id, ts, k, amount, amount * 2 as doubled from events
  daily:
    sql: |
      select k, min(cast(ts as date)) as day, count(*) as n, sum(amount) as total
      from events_by_day group by k
    expect:
      - {expect_column_values_to_be_between: {column: n, max_value: 272}, severity: quarantine,
         engine: great_expectations}
destination:
  loader: duckdb
  path: warehouse.duckdb
  lock_timeout: {lock_timeout}
loads:
  t_append: {from: enriched, write: append}
  t_merge: {from: enriched, write: merge, primary_key: [id]}
  d_delete_insert:
    from: daily
    write: delete_insert
    interval_column: day
    expect: [{expect_table_row_count_to_be_between: {min_value: 1, max_value: 20}}]
"""
"""Checks on both sources and on a transform (quarantine, error, warn) and after a load."""
QUARANTINES = ["events__quarantine", "events_by_day__quarantine", "daily__quarantine"]
TABLES = ["t_append", "t_replace", "t_merge", "t_delete_insert", "d_append", "d_delete_insert"]
DAY1 = ("2026-01-01", "2026-01-02")
DAY2 = ("2026-01-02", "2026-01-03")


def write_events(path: Path, rows_per_day: int, days: int) -> None:
    """Day 1 new ids; day 2 new ids plus updates of a tenth of day 1's (for merge)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["id", "ts", "k", "amount"])
        for day in range(days):
            for i in range(rows_per_day):
                ident = day * rows_per_day + i + 1
                second = i * 86_399 // rows_per_day
                ts = f"2026-01-0{day + 1} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
                out.writerow([ident, ts, ident % 7, ident * 3 % 1000])
            if day == 1:
                for i in range(rows_per_day // 10):
                    out.writerow([i + 1, "2026-01-02 23:59:59.5", (i + 1) % 7, 5000 + i])


@dataclass
class CrashProject:
    root: Path
    tables: tuple[str, ...] = tuple(TABLES)

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @classmethod
    def create(
        cls, root: Path, events: Path, lock_timeout: float = 60, spec: str = SPEC
    ) -> CrashProject:
        (root / "dags").mkdir(parents=True, exist_ok=True)
        (root / "dags" / "crashy.yaml").write_text(
            spec.replace("{lock_timeout}", str(lock_timeout)), encoding="utf-8"
        )
        (root / "data").mkdir(exist_ok=True)
        shutil.copy(events, root / "data" / "events.csv")
        tables = TABLES if spec == SPEC else [t for t in TABLES if f"  {t}:" in spec]
        return cls(root, tuple(tables))

    def command(self, interval: tuple[str, str] | None) -> list[str]:
        if interval is None:
            return ["run", "crashy"]
        return ["run", "crashy", "--start", interval[0], "--end", interval[1]]

    def popen(
        self, interval: tuple[str, str] | None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(KILLPOINT), *self.command(interval)],
            cwd=self.root,
            env=child_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(
        self, interval: tuple[str, str] | None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(KILLPOINT), *self.command(interval)],
            cwd=self.root,
            env=child_env(env),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def state(self) -> dict[str, Any]:
        """What a clean run must leave: tables (lineage aside), ledger, watermarks."""
        import duckdb

        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            tables = {}
            for name in self.tables:
                cols = [
                    r[0]
                    for r in con.execute(f'DESCRIBE "{name}"').fetchall()
                    if not r[0].startswith("_dagwright_")
                ]
                select = ", ".join(f'"{c}"' for c in cols)
                tables[name] = con.execute(f'SELECT {select} FROM "{name}" ORDER BY ALL').fetchall()
            ledger = con.execute(
                'SELECT table_name, interval_start, interval_end, "rows" '
                'FROM "_dagwright"."intervals" ORDER BY ALL'
            ).fetchall()
            marks = con.execute(
                'SELECT source, table_name, value FROM "_dagwright"."watermarks" ORDER BY ALL'
            ).fetchall()
        finally:
            con.close()
        return {"tables": tables, "ledger": ledger, "watermarks": marks}

    def check_state(self) -> dict[str, Any]:
        """The checks' side tables, without what differs between runs: run id, time, and the
        row's position in its batch (a transform's row order is not fixed)."""
        import duckdb

        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            results = con.execute(
                "SELECT stage, expectation, kwargs, severity, success, observed_value, "
                "element_count, unexpected_count, rows_quarantined "
                'FROM "_dagwright"."check_results" ORDER BY ALL'
            ).fetchall()
            validations = con.execute(
                'SELECT stage, success FROM "_dagwright"."validations" ORDER BY ALL'
            ).fetchall()
            present = {
                r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
            }
            quarantine = {
                name: con.execute(
                    'SELECT * EXCLUDE ("_dagwright_run_id", "_dagwright_quarantined_at", '
                    f'"_dagwright_row") FROM "{name}" ORDER BY ALL'
                ).fetchall()
                for name in QUARANTINES
                if name in present
            }
        finally:
            con.close()
        return {"check_results": results, "validations": validations, "quarantine": quarantine}

    def loads(self) -> dict[str, int]:
        """Committed loads per table (one record per load, never rewritten)."""
        import duckdb

        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            rows = con.execute(
                'SELECT table_name, COUNT(*) FROM "_dagwright"."loads" GROUP BY 1'
            ).fetchall()
        finally:
            con.close()
        return dict(rows)

    def runs(self) -> list[tuple[str, str]]:
        import duckdb

        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(
                'SELECT run_id, status FROM "_dagwright"."runs" ORDER BY started_at'
            ).fetchall()
        finally:
            con.close()


def kill_inside(
    start: Callable[[], subprocess.Popen[str]],
    log: Path,
    point: dict[str, Any],
    seconds: float,
    undo: Callable[[], None],
) -> subprocess.Popen[str]:
    """SIGKILL the run ``start()`` begins ``point['at']`` seconds in, once it has reached
    the warehouse (its ``STATEMENT_LOG``, ``log``, is not empty).

    A kill that lands while Python is still starting proves nothing: the delay moves
    halfway to the clean run's end (``seconds``) and the run starts again. A run that
    finished first (also one that ended in the instant before the signal) is undone
    (``undo``) and started again earlier.
    """
    import signal
    import time

    for _ in range(8):
        log.unlink(missing_ok=True)
        child = start()
        deadline = time.monotonic() + point["at"]
        while child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.communicate(timeout=60)
            if child.returncode == -signal.SIGKILL:
                if log.exists() and log.read_text().split():
                    return child
                point["at"] = round((point["at"] + seconds) / 2, 3)
                continue
        child.communicate()
        undo()
        point["at"] = round(point["at"] * 0.75, 3)
    raise AssertionError(f"no kill landed inside the run at {point}")


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KILL_", "SLOW_", "STATEMENT_"))
    }
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "COLUMNS": "200",
            "NO_COLOR": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(extra or {})
    return env
