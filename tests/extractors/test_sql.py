"""SQL sources against a real PostgreSQL server and real SQLite files, into the warehouse."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.conftest import Project
from tests.extractors.conftest import extracted, tables, watermark


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def pg_orders(postgres) -> str:
    table = _name("orders")
    postgres.execute(
        f"create table {table} (id int primary key, name text, amount numeric(10,2), "
        "updated_at timestamptz not null)"
    )
    postgres.execute(
        f"insert into {table} select g, 'n' || g, g * 1.25, "
        "timestamptz '2026-01-01 00:00+00' + g * interval '1 hour' from generate_series(1, 250) g"
    )
    yield table
    postgres.execute(f"drop table {table}")


@pytest.mark.parametrize("engine", ["auto", "connectorx", "sqlalchemy"])
def test_postgres_table_with_columns_loads(
    project: Project, run_spec, postgres, pg_orders: str, engine: str, monkeypatch
) -> None:
    monkeypatch.setenv("DAGWRIGHT_CONN_SHOP_DB", postgres.url)
    outcome = run_spec(
        "pg_table",
        f"""
        sources:
          orders:
            extractor: postgres
            connection: shop_db
            table: public.{pg_orders}
            columns: [id, amount, updated_at]
            chunk_size: 100
            engine: {engine}
        loads:
          orders: {{from: orders, write: replace}}
        """,
    )
    assert outcome.ok, outcome.record.error
    rows = project.query("select * exclude (_dagwright_load_id, _dagwright_loaded_at) from orders")
    assert len(rows) == 250
    assert project.query("select count(*), sum(amount), max(id) from orders") == [
        (250, Decimal("39218.75"), 250)
    ]
    columns = [r[0] for r in project.query("describe orders")]
    assert columns[:3] == ["id", "amount", "updated_at"]
    assert "name" not in columns


def test_postgres_query_source(
    project: Project, run_spec, postgres, pg_orders, monkeypatch
) -> None:
    monkeypatch.setenv("DAGWRIGHT_CONN_SHOP_DB", postgres.url)
    outcome = run_spec(
        "pg_query",
        f"""
        sources:
          big:
            extractor: sql
            connection: shop_db
            query: select id, name from {pg_orders} where amount > 300 and name like 'n2%'
        loads:
          big: {{from: big, write: replace}}
        """,
    )
    assert outcome.ok, outcome.record.error
    assert project.query("select min(id), max(id), count(*) from big") == [(241, 250, 10)]


class SourceDb:
    """The same incremental scenario on PostgreSQL (timestamptz) or SQLite (ISO text)."""

    def __init__(self, kind: str, postgres, folder: Path) -> None:
        self.kind = kind
        self.table = _name("customers")
        if kind == "postgres":
            self.postgres = postgres
            self.url = postgres.url
            self.execute(
                f"create table {self.table} (id int primary key, name text, "
                "updated_at timestamptz not null)"
            )
        else:
            self.path = folder / "source.sqlite"
            self.url = f"sqlite:///{self.path}"
            self.execute(
                f"create table {self.table} (id integer primary key, name text, updated_at text)"
            )

    def execute(self, sql: str, params: tuple = ()) -> None:
        if self.kind == "postgres":
            self.postgres.execute(sql.replace("?", "%s"), params)
        else:
            with sqlite3.connect(self.path) as con:
                con.execute(sql, params)

    def upsert(self, id_: int, name: str | None, hour: int) -> None:
        at = datetime(2026, 1, 1, hour, tzinfo=UTC)
        value = at if self.kind == "postgres" else at.strftime("%Y-%m-%d %H:%M:%S")
        self.execute(f"delete from {self.table} where id = ?", (id_,))
        self.execute(f"insert into {self.table} values (?, ?, ?)", (id_, name, value))

    def watermark_at(self, hour: int):  # noqa: ANN201
        at = datetime(2026, 1, 1, hour, tzinfo=UTC)
        return at if self.kind == "postgres" else at.strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
def test_incremental_three_runs_load_each_change_once(
    project: Project, run_spec, postgres, kind: str, monkeypatch
) -> None:
    db = SourceDb(kind, postgres, project.root)
    monkeypatch.setenv("DAGWRIGHT_CONN_SRC", db.url)
    spec = f"""
        sources:
          customers:
            extractor: {kind}
            connection: src
            table: {db.table}
            incremental: {{cursor: updated_at}}
        loads:
          customers: {{from: customers, write: merge, primary_key: [id]}}
        """
    db.upsert(1, "a", 1)
    db.upsert(2, "b", 2)
    first = run_spec("inc_sql", spec)
    assert first.ok, first.record.error
    assert extracted(first, "customers") == 2

    db.upsert(2, "b2", 5)  # updated
    db.upsert(3, "c", 6)  # new
    second = run_spec("inc_sql", spec)
    assert second.ok, second.record.error
    assert extracted(second, "customers") == 2

    db.upsert(4, "d", 8)
    third = run_spec("inc_sql", spec)
    assert third.ok, third.record.error
    assert extracted(third, "customers") == 1
    assert project.query("select id, name from customers order by id") == [
        (1, "a"),
        (2, "b2"),
        (3, "c"),
        (4, "d"),
    ]
    assert watermark(project, "inc_sql", "customers") == db.watermark_at(8)

    unchanged = run_spec("inc_sql", spec)
    assert unchanged.ok, unchanged.record.error
    assert extracted(unchanged, "customers") == 0
    assert watermark(project, "inc_sql", "customers") == db.watermark_at(8)

    # The warehouse refuses null names from now on: the load fails and the watermark stays.
    con = duckdb.connect(str(project.warehouse))
    con.execute("alter table customers alter column name set not null")
    con.close()
    db.upsert(5, None, 10)
    failed = run_spec("inc_sql", spec)
    assert not failed.ok
    assert watermark(project, "inc_sql", "customers") == db.watermark_at(8)
    db.upsert(5, "e", 10)
    fixed = run_spec("inc_sql", spec)
    assert fixed.ok, fixed.record.error
    assert extracted(fixed, "customers") == 1
    assert project.query("select count(*), count(distinct id) from customers") == [(5, 5)]
    assert watermark(project, "inc_sql", "customers") == db.watermark_at(10)


def test_sqlite_file_path_and_data_interval(project: Project, run_spec) -> None:
    from dagwright.intervals import Interval

    path = project.root / "data" / "app.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("create table events (id integer, kind text, at text)")
        con.executemany(
            "insert into events values (?, ?, ?)",
            [
                (i, "click" if i % 2 else "view", f"2026-01-0{1 + i // 4} 12:00:00")
                for i in range(12)
            ],
        )
    day2 = Interval(datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC))
    outcome = run_spec(
        "lite",
        """
        sources:
          events:
            extractor: sqlite
            path: data/app.sqlite
            table: events
            incremental: {cursor: at, use_interval: true}
        loads:
          events: {from: events, write: append}
        """,
        day2,
    )
    assert outcome.ok, outcome.record.error
    assert project.query("select id from events order by id") == [(4,), (5,), (6,), (7,)]


def test_missing_sqlite_file_is_an_error_not_a_new_database(project: Project, run_spec) -> None:
    outcome = run_spec(
        "lite_missing",
        """
        sources:
          events: {extractor: sqlite, path: data/nope.sqlite, table: events}
        loads:
          events: {from: events, write: replace}
        """,
    )
    assert not outcome.ok
    assert "source 'events': SQLite database file" in outcome.record.error
    assert "nope.sqlite' does not exist" in outcome.record.error
    assert not (project.root / "data" / "nope.sqlite").exists()


SPEC_BAD_DB = """
pipeline: pg_bad
start_date: 2026-01-01
sources:
  orders: {extractor: postgres, connection: shop_db, table: orders}
  refunds: {extractor: postgres, connection: refunds_db, table: refunds}
loads:
  orders: {from: orders, write: replace}
  refunds: {from: refunds, write: replace}
"""


def test_wrong_credentials_and_unreachable_server_never_leak_the_password(
    project: Project, postgres
) -> None:
    leaked = "Wr0ng-Pa55-Zq9"
    wrong = postgres.url.replace(postgres.password, leaked)
    down = f"postgresql://{postgres.user}:{leaked}@127.0.0.1:1/{postgres.database}"
    project.write_spec("pg_bad", SPEC_BAD_DB)
    result = project.cli(
        "run",
        "pg_bad",
        env={
            "DAGWRIGHT_CONN_SHOP_DB": wrong,
            "DAGWRIGHT_CONN_REFUNDS_DB": down,
        },
    )
    out = result.stdout + result.stderr
    assert result.returncode == 1
    assert "source 'orders': the database refused the credentials of connection 'shop_db'" in out
    assert 'password authentication failed for user "dagwright"' in out
    assert "source 'refunds': cannot reach the database of connection 'refunds_db'" in out
    assert "127.0.0.1:1" in out
    assert leaked not in out
    assert postgres.password not in out
    assert "***" in out
    runs = project.query('select error, stages from "_dagwright".runs')
    assert runs and all(leaked not in str(r) for r in runs)
    assert not {"orders", "refunds"} & tables(project)


def test_undefined_connection_names_the_environment_variable(project: Project, run_spec) -> None:
    outcome = run_spec(
        "pg_undefined",
        """
        sources:
          orders: {extractor: postgres, connection: nowhere_db, table: orders}
        loads:
          orders: {from: orders, write: replace}
        """,
    )
    assert not outcome.ok
    assert "connection 'nowhere_db' is not defined" in outcome.record.error
    assert "DAGWRIGHT_CONN_NOWHERE_DB" in outcome.record.error


def test_spec_rejects_a_source_without_table_or_query(project: Project) -> None:
    from dagwright.errors import SpecError
    from dagwright.spec.load import load_spec

    path = project.write_spec(
        "pg_shape",
        """
        pipeline: pg_shape
        start_date: 2026-01-01
        sources:
          orders: {extractor: postgres, connection: shop_db, columns: [id]}
        loads:
          orders: {from: orders, write: replace}
        """,
    )
    with pytest.raises(SpecError) as caught:
        load_spec(path, project.root)
    assert "pg_shape.yaml:4" in str(caught.value)
    assert "give exactly one of table or query" in str(caught.value)


def test_lookback_lowers_the_bound_and_values_are_bound_not_formatted(tmp_path: Path) -> None:
    from dagwright.context import RunContext
    from extractors.sql import SqlExtractor, SqlSourceConfig, render

    config = SqlSourceConfig(
        extractor="postgres",
        connection="shop_db",
        table="public.orders; drop table x",
        columns=["id", 'we"ird'],
        incremental={"cursor": "updated_at", "lookback": "1h"},
    )
    last = datetime(2026, 1, 2, 10, tzinfo=UTC)
    ctx = RunContext("r", "p", tmp_path, str(tmp_path), watermarks={"orders": last})
    extractor = SqlExtractor("orders", config, ctx)
    bounds, previous = extractor._bounds()
    assert previous == last
    assert bounds == {"lower": datetime(2026, 1, 2, 9, tzinfo=UTC)}
    sql, params = render(extractor.select("postgres", bounds), "postgres", "numeric_dollar", bounds)
    assert sql == (
        'SELECT "id", "we""ird" FROM "public"."orders; drop table x" WHERE "updated_at" > $1'
    )
    assert params == (datetime(2026, 1, 2, 9, tzinfo=UTC),)


def test_a_query_source_only_reads(tmp_path: Path) -> None:
    from dagwright.context import RunContext
    from dagwright.errors import ConfigError
    from extractors.sql import SqlExtractor, SqlSourceConfig

    config = SqlSourceConfig(extractor="sql", connection="db", query="delete from orders")
    extractor = SqlExtractor("orders", config, RunContext("r", "p", tmp_path, str(tmp_path)))
    with pytest.raises(ConfigError, match="query must be a SELECT .* got DELETE"):
        extractor.select("postgres", {})
