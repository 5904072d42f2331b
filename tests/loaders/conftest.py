"""A destination per test, on DuckDB or on real PostgreSQL and MariaDB servers, and ways to load it.

``Warehouse.load(rows, day=...)`` stages ``rows`` as Parquet and loads them through the
loader's ``load`` for the data interval of that day (or no interval), exactly as the
stage executor does; ``rows()`` reads the table back without the lineage columns.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

_counter = itertools.count()
DAY0 = datetime(2026, 1, 1, tzinfo=UTC)


def day(n: int) -> datetime:
    return DAY0 + timedelta(days=n)


@dataclass
class Warehouse:
    kind: str
    root: Path
    config: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)
    pipeline: str = field(default_factory=lambda: f"p{uuid.uuid4().hex[:8]}")

    def loader(self):  # noqa: ANN201
        from dagwright import plugins

        cls = plugins.plugin(plugins.LOADERS, self.kind)
        return cls(cls.config_model.model_validate(self.config), self.root)

    def stage(self, rows: Any) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from dagwright.staging import describe

        table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows)
        path = self.root / f"batch{next(_counter)}.parquet"
        pq.write_table(table, path)
        return describe(str(path))

    def state(self, table: str, at: int | None, watermark: Any = None, run_id: str | None = None):  # noqa: ANN201
        from dagwright.state import Portion, StateUpdate

        return StateUpdate(
            run_id=run_id or f"run{next(_counter)}",
            pipeline=self.pipeline,
            table=table,
            interval_start=None if at is None else day(at),
            interval_end=None if at is None else day(at + 1),
            portions=() if watermark is None else (Portion("src", mark=watermark),),
        )

    def load(
        self,
        table: str,
        rows: Any,
        at: int | None = 0,
        watermark: Any = None,
        run_id: str | None = None,
        **spec: Any,
    ):  # noqa: ANN201
        from dagwright.spec.sections import Load

        load = Load.model_validate({"from": "src", **spec})
        return self.loader().load(
            table, load, self.stage(rows), self.state(table, at, watermark, run_id)
        )

    def arrow(self, table: str):  # noqa: ANN201
        return self.loader().read_table(table)

    def rows(self, table: str, lineage: bool = False) -> list[dict[str, Any]]:
        data = self.arrow(table)
        if not lineage:
            data = data.drop_columns([c for c in data.column_names if c.startswith("_dagwright")])
        rows = data.to_pylist()
        if self.kind == "mysql":  # DATETIME keeps no time zone: the columns dagwright adds hold UTC
            rows = [{k: _utc(v) if k in INSTANTS else v for k, v in r.items()} for r in rows]
        return sorted(rows, key=lambda r: [str(v) for v in r.values()])

    def watermark(self) -> Any:
        """The lowest mark of source ``src`` over the tables that took from it."""
        states = self.loader().state.tables(self.pipeline).values()
        marks = [s.marks["src"] for s in states if "src" in s.marks]
        return min(marks) if marks else None

    def ledger(self) -> list[tuple]:
        states = self.loader().state.tables(self.pipeline).values()
        return sorted(
            (s.table, start, rows) for s in states for (start, _), (_, rows) in s.intervals.items()
        )


INSTANTS = ("valid_from", "valid_to", "_dagwright_loaded_at")


def _utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def make_warehouse(kind: str, root: Path, request: pytest.FixtureRequest) -> Warehouse:
    if kind == "duckdb":
        return Warehouse(kind, root, {"loader": "duckdb", "path": str(root / "w.duckdb")})
    if kind == "parquet":
        return Warehouse(kind, root, {"loader": "parquet", "path": str(root / "lake")})
    import os

    if kind == "snowflake":
        server = request.getfixturevalue("fakesnow")
        name = f"wh_{uuid.uuid4().hex[:8]}"
        url = server.url(f"D_{uuid.uuid4().hex[:8].upper()}")
        os.environ[f"DAGWRIGHT_CONN_{name.upper()}"] = url
        return Warehouse(
            kind,
            root,
            {"loader": "snowflake", "connection": name, "lock_timeout": 20},
            env={f"DAGWRIGHT_CONN_{name.upper()}": url},
        )
    if kind == "mysql":
        server = request.getfixturevalue("mariadb")
        name = f"wh_{uuid.uuid4().hex[:8]}"
        database = f"d_{uuid.uuid4().hex[:8]}"
        server.execute(f"CREATE DATABASE `{database}`")
        url = server.url.rsplit("/", 1)[0] + "/" + database
        os.environ[f"DAGWRIGHT_CONN_{name.upper()}"] = url
        return Warehouse(
            kind,
            root,
            {"loader": "mysql", "connection": name, "lock_timeout": 20},
            env={f"DAGWRIGHT_CONN_{name.upper()}": url},
        )
    server = request.getfixturevalue("postgres")
    name = f"wh_{uuid.uuid4().hex[:8]}"

    os.environ[f"DAGWRIGHT_CONN_{name.upper()}"] = server.url
    schema = f"s_{uuid.uuid4().hex[:8]}"
    return Warehouse(
        kind,
        root,
        {"loader": "postgres", "connection": name, "schema": schema, "lock_timeout": 20},
        env={f"DAGWRIGHT_CONN_{name.upper()}": server.url},
    )


@pytest.fixture(params=["duckdb", "postgres", "mysql", "snowflake"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    """An empty destination: a DuckDB file, a fresh schema on the PostgreSQL server, or a
    fresh database on the MariaDB server."""
    return make_warehouse(request.param, tmp_path, request)


@pytest.fixture
def duck(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    return make_warehouse("duckdb", tmp_path, request)


@pytest.fixture
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    return make_warehouse("parquet", tmp_path, request)


@pytest.fixture
def pg(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    return make_warehouse("postgres", tmp_path, request)


@pytest.fixture
def my(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    return make_warehouse("mysql", tmp_path, request)


@pytest.fixture
def sf(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    return make_warehouse("snowflake", tmp_path, request)
