"""Pipelines of every kind the state model serves, on DuckDB or PostgreSQL, and their state.

Seven kinds, each with a quarantine check on its source and two tables (so that a kill can
land between the two loads' commits):

- ``append_files``: no schedule; CSV files in a folder, no ``incremental``: each table
  takes each file once.
- ``append_interval``: daily; the source bounded by the data interval.
- ``append_cursor``: no schedule; the source read past each table's own mark.
- ``merge``: daily; upserts on ``id`` (day 2 updates some of day 1's rows).
- ``replace``: no schedule; every file read, both tables replaced.
- ``delete_insert``: daily; each interval's rows replaced by ``ts``.
- ``scd2``: daily; history kept on ``id`` (day 2 changes some of day 1's rows).

Each kind has two scenarios: ``first`` (an empty warehouse) and ``second`` (the warehouse
holds the first scenario's result, and new data arrived). ``Sweep.state()`` is everything
a run leaves that must equal a clean run: the tables (lineage columns aside), the interval
ledger, the marks, the files taken, the check results and validations, the quarantined
rows (run ids, times and batch positions aside), and the run statuses.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.support import KILLPOINT, child_env

KINDS = (
    "append_files",
    "append_interval",
    "append_cursor",
    "merge",
    "replace",
    "delete_insert",
    "scd2",
)
DESTINATIONS = ("duckdb", "postgres")
DAY1 = ("2026-01-01", "2026-01-02")
DAY2 = ("2026-01-02", "2026-01-03")
ROWS_PER_DAY = 1500
COLUMNS = "{id: BIGINT, ts: TIMESTAMP, k: INTEGER, amount: BIGINT}"
CHECK = (
    "[{expect_column_values_to_be_between: {column: amount, max_value: 950}, "
    "severity: quarantine}, {expect_column_values_to_not_be_null: {column: id}}]"
)
SCHEDULED = {"append_interval", "merge", "delete_insert", "scd2"}
TABLES = {kind: ("raw", "doubled_t") for kind in KINDS}


def spec(kind: str, destination: str) -> str:
    path = "data/in/*.csv" if kind in ("append_files", "replace") else "data/events.csv"
    by_interval = "\n    incremental: {cursor: ts, use_interval: true}"
    incremental = (
        by_interval
        if kind in SCHEDULED
        else "\n    incremental: {cursor: ts}"
        if kind == "append_cursor"
        else ""
    )
    write = {
        "merge": "merge, primary_key: [id]",
        "replace": "replace",
        "delete_insert": "delete_insert, interval_column: ts",
        "scd2": "scd2, primary_key: [id]",
    }.get(kind, "append")
    schedule = 'schedule: "@daily"\n' if kind in SCHEDULED else ""
    target = (
        "destination: {loader: duckdb, path: warehouse.duckdb, lock_timeout: 60}"
        if destination == "duckdb"
        else f"destination: {{loader: {destination}, connection: sweep_wh, lock_timeout: 60}}"
    )
    return f"""\
pipeline: sweep
{schedule}start_date: 2026-01-01
sources:
  events:
    extractor: csv
    path: {path}
    columns: {COLUMNS}{incremental}
    expect: {CHECK}
transforms:
  doubled:
    sql: select id, ts, k, amount * 2 as doubled from events
{target}
loads:
  raw: {{from: events, write: {write}}}
  doubled_t: {{from: doubled, write: {write}}}
"""


def write_rows(path: Path, days: list[int]) -> None:
    """Rows of the given days (1-based); day 2 also updates a tenth of day 1's ids."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["id", "ts", "k", "amount"])
        for day in days:
            for i in range(ROWS_PER_DAY):
                ident = (day - 1) * ROWS_PER_DAY + i + 1
                second = i * 86_399 // ROWS_PER_DAY
                ts = (
                    f"2026-01-0{day} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
                )
                out.writerow([ident, ts, ident % 7, ident * 7 % 1000])
            if day == 2:
                for i in range(ROWS_PER_DAY // 10):
                    out.writerow([i + 1, "2026-01-02 23:59:59", (i + 1) % 7, (i * 3) % 900])


def place_data(root: Path, kind: str, scenario: str) -> None:
    """The source data of a scenario: day 1 for 'first', days 1 and 2 for 'second'."""
    if kind in ("append_files", "replace"):
        folder = root / "data" / "in"
        shutil.rmtree(folder, ignore_errors=True)
        write_rows(folder / "part1.csv", [1])
        if scenario == "second":
            write_rows(folder / "part2.csv", [2])
    else:
        write_rows(root / "data" / "events.csv", [1] if scenario == "first" else [1, 2])


def interval(kind: str, scenario: str) -> tuple[str, str] | None:
    if kind not in SCHEDULED:
        return None
    return DAY1 if scenario == "first" else DAY2


@dataclass
class Sweep:
    """One project of one kind on one destination (a DuckDB file or a PostgreSQL database)."""

    root: Path
    kind: str
    destination: str
    server: Any = None
    database: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        root: Path,
        kind: str,
        destination: str,
        server: Any = None,
        template: str | None = None,
    ) -> Sweep:
        (root / "dags").mkdir(parents=True, exist_ok=True)
        (root / "dags" / "sweep.yaml").write_text(spec(kind, destination), encoding="utf-8")
        sweep = cls(root, kind, destination, server)
        if destination == "postgres":
            sweep.database = f"sweep_{uuid.uuid4().hex[:12]}"
            clause = f' TEMPLATE "{template}"' if template else ""
            server.execute(f'CREATE DATABASE "{sweep.database}"{clause}')
            url = server.url.rsplit("/", 1)[0] + f"/{sweep.database}"
            sweep.env = {"DAGWRIGHT_CONN_SWEEP_WH": url}
        if destination == "snowflake":
            sweep.database = f"SWEEP_{uuid.uuid4().hex[:12].upper()}"
            sweep.env = {"DAGWRIGHT_CONN_SWEEP_WH": server.url(sweep.database)}
        if destination == "mysql":
            sweep.database = f"sweep_{uuid.uuid4().hex[:12]}"
            server.execute(f"CREATE DATABASE `{sweep.database}`")
            url = server.url.rsplit("/", 1)[0] + f"/{sweep.database}"
            sweep.env = {"DAGWRIGHT_CONN_SWEEP_WH": url}
        return sweep

    def command(self, scenario: str) -> list[str]:
        window = interval(self.kind, scenario)
        if window is None:
            return [sys.executable, str(KILLPOINT), "run", "sweep"]
        return [
            sys.executable,
            str(KILLPOINT),
            "run",
            "sweep",
            "--start",
            window[0],
            "--end",
            window[1],
        ]

    def run(
        self, scenario: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(scenario),
            cwd=self.root,
            env=child_env({**self.env, **(env or {})}),
            capture_output=True,
            text=True,
            timeout=180,
        )

    def popen(self, scenario: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(scenario),
            cwd=self.root,
            env=child_env({**self.env, **(env or {})}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def snapshot(self, into: Path) -> str | None:
        """Keep the warehouse as it is now: a copy of the file, or a template database."""
        if self.destination == "duckdb":
            shutil.copy(self.root / "warehouse.duckdb", into)
            return None
        template = f"before_{uuid.uuid4().hex[:12]}"
        self.server.execute(f'CREATE DATABASE "{template}" TEMPLATE "{self.database}"')
        return template

    def restore(self, saved: Path | None, template: str | None = None, fresh: bool = False) -> None:
        """Put the warehouse back as saved (``fresh``: also after a run changed it)."""
        if self.destination == "duckdb":
            if fresh:
                for leftover in self.root.glob("warehouse.duckdb*"):
                    leftover.unlink()
            if saved is not None:
                shutil.copy(saved, self.root / "warehouse.duckdb")
        elif fresh:
            self.drop()
            clause = f' TEMPLATE "{template}"' if template else ""
            self.server.execute(f'CREATE DATABASE "{self.database}"{clause}')

    def query(self, sql: str) -> list[tuple]:
        if self.destination == "duckdb":
            import duckdb

            con = duckdb.connect(str(self.root / "warehouse.duckdb"), read_only=True)
            try:
                return con.execute(sql).fetchall()
            finally:
                con.close()
        if self.destination == "mysql":
            return self._mysql_query(sql)
        if self.destination == "snowflake":
            con = self.server.connect(self.database, "PUBLIC")
            try:
                cur = con.cursor()
                cur.execute(sql)
                return [tuple(r) for r in cur.fetchall()] if cur.description else []
            finally:
                con.close()
        import psycopg

        url = self.env["DAGWRIGHT_CONN_SWEEP_WH"]
        with psycopg.connect(url, autocommit=True) as con, con.cursor() as cur:
            cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()] if cur.description else []

    def _mysql_query(self, sql: str) -> list[tuple]:
        """``sql`` on the sweep's database, double quotes naming identifiers (ANSI_QUOTES),
        the state schema being the database's own (``loaders.mysql.state_database``)."""
        from loaders.mysql import state_database

        assert self.database is not None
        state = state_database(self.database)
        con = self.server.connect(self.database)
        try:
            with con.cursor() as cur:
                cur.execute("SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')")
                cur.execute(sql.replace('"_dagwright"', f'"{state}"'))
                return [tuple(r) for r in cur.fetchall()] if cur.description else []
        finally:
            con.close()

    def columns(self, table: str) -> list[str]:
        where = (
            f"table_schema = '{self.database}'"
            if self.destination == "mysql"
            else "table_schema not in ('_dagwright')"
        )
        rows = self.query(
            "select column_name from information_schema.columns "
            f"where table_name = '{table}' and {where} "
            "order by ordinal_position"
        )
        return [r[0] for r in rows if not r[0].startswith("_dagwright")]

    def rows(self, table: str, exclude: tuple[str, ...] = ()) -> list[tuple]:
        cols = [c for c in self.columns(table) if c not in exclude]
        if not cols:
            return []
        select = ", ".join(f'"{c}"' for c in cols)
        order = ", ".join(str(i + 1) for i in range(len(cols)))
        return sorted(self.query(f'select {select} from "{table}" order by {order}'), key=repr)

    def tables_present(self) -> set[str]:
        if self.destination == "mysql":
            from loaders.mysql import state_database

            schemas = f"('{self.database}', '{state_database(self.database or '')}')"
            sql = (
                f"select table_name from information_schema.tables where table_schema in {schemas}"
            )
            return {r[0] for r in self.query(sql)}
        return {r[0] for r in self.query("select table_name from information_schema.tables")}

    def state(self) -> dict[str, Any]:
        present = self.tables_present()
        quarantine = {
            name: self.rows(
                name, ("_dagwright_run_id", "_dagwright_quarantined_at", "_dagwright_row")
            )
            for name in ("events__quarantine",)
            if name in present
        }
        return {
            "tables": {t: self.rows(t) for t in TABLES[self.kind] if t in present},
            "ledger": sorted(
                self.query(
                    'select table_name, interval_start, interval_end, "rows" '
                    'from "_dagwright"."intervals"'
                ),
                key=repr,
            ),
            "marks": sorted(
                self.query('select source, table_name, value from "_dagwright"."watermarks"'),
                key=repr,
            ),
            "files": sorted(
                self.query('select table_name, source, path, sha256 from "_dagwright"."files"'),
                key=repr,
            ),
            "check_results": sorted(
                self.query(
                    "select stage, expectation, kwargs, severity, success, observed_value, "
                    "element_count, unexpected_count, rows_quarantined "
                    'from "_dagwright"."check_results"'
                ),
                key=repr,
            )
            if "check_results" in present
            else [],
            "validations": sorted(
                self.query('select stage, success from "_dagwright"."validations"'), key=repr
            )
            if "validations" in present
            else [],
            "quarantine": quarantine,
        }

    def statuses(self) -> list[str]:
        return [
            r[0] for r in self.query('select status from "_dagwright"."runs" order by started_at')
        ]

    def drop(self) -> None:
        if self.destination == "postgres" and self.database:
            self.server.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        if self.destination == "mysql" and self.database:
            from loaders.mysql import state_database

            self.server.execute(f"DROP DATABASE IF EXISTS `{self.database}`")
            self.server.execute(f"DROP DATABASE IF EXISTS `{state_database(self.database)}`")
