"""JSON columns end to end: a real PostgreSQL ``jsonb``/``json`` source through every
engine, into DuckDB (``JSON``), PostgreSQL (``jsonb``) and Parquet (JSON text), read by
SQL steps (local and pushed down) and checked on the way; SQLite ``JSON`` too; and the
source's query cancelled by a stage's ``execution_timeout``."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import Project

DOCS = [
    (1, {"sku": "A1", "qty": 2, "tags": ["red", "big"], "dims": {"w": 1.5, "h": None}}),
    (2, {"sku": "B-ü☃", "qty": 0, "note": 'naïve — “quoted” \\ and "escaped"', "n": None}),
    (3, [1, "two", {"three": [3, None]}, None]),
    (4, {"sku": None, "deep": {"a": {"b": {"c": [[], {}]}}}}),
    (5, None),
]
"""JSON documents (objects, arrays, nested, unicode, JSON nulls); 5 is the JSON ``null``."""
SKUS = {1: "A1", 2: "B-ü☃", 3: None, 4: None, 5: None}


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def pg_json(postgres) -> str:
    """A table with a jsonb ``payload`` (never SQL NULL), a json ``raw`` and a jsonb
    ``extra`` that is SQL NULL on even ids."""
    table = _name("events")
    postgres.execute(
        f"create table {table} (id int primary key, payload jsonb not null, raw json, extra jsonb)"
    )
    for id_, doc in DOCS:
        text = json.dumps(doc, ensure_ascii=False)
        extra = None if id_ % 2 == 0 else json.dumps({"i": id_})
        postgres.execute(
            f"insert into {table} values (%s, %s::jsonb, %s::json, %s::jsonb)",
            (id_, text, text, extra),
        )
    yield table
    postgres.execute(f"drop table {table}")


def _spec(table: str, engine: str, destination: str, pushdown: bool = False) -> str:
    pushed = (
        """
  pushed:
    pushdown: true
    dialect: postgres
    inputs: [events]
    sql: select id, payload->>'sku' as sku, payload->'dims'->>'w' as w from events
"""
        if pushdown
        else ""
    )
    loads_pushed = "\n  pushed_skus: {from: pushed, write: replace}" if pushdown else ""
    return f"""\
pipeline: json_{engine}
start_date: 2026-01-01
destination: {destination}
sources:
  src:
    extractor: postgres
    connection: shop_db
    table: public.{table}
    engine: {engine}
    chunk_size: 2
    expect:
      - expect_column_values_to_not_be_null: {{column: payload}}
      - expect_column_values_to_be_unique: {{column: id}}
transforms:
  skus:
    sql: select id, payload->>'sku' as sku, payload->'tags'->>0 as first_tag from src
  passthru:
    sql: select *, [id, id + 1] as ids from src
{pushed}loads:
  events: {{from: src, write: replace}}
  skus: {{from: skus, write: replace}}
  passthru:
    from: passthru
    write: merge
    primary_key: [id]
    expect: [{{expect_column_values_to_not_be_null: {{column: payload}}}}]{loads_pushed}
"""


def _check_results(rows: list[tuple]) -> dict[tuple[str, str], bool]:
    return {(stage, column): success for stage, column, success in rows}


@pytest.mark.parametrize("engine", ["auto", "connectorx", "sqlalchemy"])
def test_jsonb_source_loads_as_duckdb_json_through_the_cli(
    project: Project, postgres, pg_json: str, engine: str
) -> None:
    project.write_spec(
        f"json_{engine}", _spec(pg_json, engine, "{loader: duckdb, path: warehouse.duckdb}")
    )
    done = project.cli("run", f"json_{engine}", env={"DAGWRIGHT_CONN_SHOP_DB": postgres.url})
    assert done.returncode == 0, done.stdout + done.stderr

    types = dict(
        project.query(
            "select column_name, data_type from duckdb_columns() where table_name = 'events'"
        )
    )
    assert types["payload"] == "JSON" and types["raw"] == "JSON" and types["extra"] == "JSON"
    assert (
        dict(
            project.query(
                "select column_name, data_type from duckdb_columns() where table_name = 'passthru'"
            )
        )["payload"]
        == "JSON"
    )
    # the documents, equal once parsed; JSON null and SQL NULL kept apart
    got = project.query("select id, payload::varchar, raw::varchar, extra::varchar from events")
    assert {i: json.loads(p) for i, p, _, _ in got} == dict(DOCS)
    assert {i: json.loads(r) for i, _, r, _ in got} == dict(DOCS)
    assert {i: None if e is None else json.loads(e) for i, _, _, e in got} == {
        1: {"i": 1},
        2: None,
        3: {"i": 3},
        4: None,
        5: {"i": 5},
    }
    assert dict(project.query("select id, payload->>'$.sku' from events")) == SKUS
    assert project.query("select json_type(payload) from events where id = 3") == [("ARRAY",)]
    # a SQL step over the staged batch reads JSON fields
    assert project.query("select id, sku, first_tag from skus order by id") == [
        (1, "A1", "red"),
        (2, "B-ü☃", None),
        (3, None, None),
        (4, None, None),
        (5, None, None),
    ]
    assert dict(project.query("select id, payload->>'$.sku' from passthru")) == SKUS
    # the source's check ran on the jsonb column and passed
    results = project.query(
        "select stage, expectation, kwargs, success from _dagwright.check_results"
    )
    for stage in ("check_src", "check_load_passthru"):
        assert (stage, "expect_column_values_to_not_be_null", '{"column": "payload"}', True) in (
            results
        )


def test_jsonb_source_loads_as_postgres_jsonb_and_pushed_down_steps_read_it(
    project: Project, postgres, pg_json: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagwright.plan import build_plan
    from dagwright.runner import run_pipeline
    from dagwright.spec.load import load_spec

    monkeypatch.setenv("DAGWRIGHT_CONN_SHOP_DB", postgres.url)
    schema = _name("out")
    destination = f"{{loader: postgres, connection: shop_db, schema: {schema}}}"
    path = project.write_spec("json_pg", _spec(pg_json, "auto", destination, pushdown=True))
    outcome = run_pipeline(build_plan(load_spec(path, project.root)), None)
    assert outcome.ok, outcome.record.error
    try:
        types = dict(
            postgres.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = %s and table_name = 'events'",
                (schema,),
            )
        )
        assert types["payload"] == "jsonb" and types["raw"] == "jsonb"
        # equal as jsonb and as text (jsonb's canonical text)
        differ = postgres.execute(
            f'select count(*) from public.{pg_json} s full join "{schema}".events t using (id) '
            "where s.payload is distinct from t.payload or s.payload::text is distinct from "
            "t.payload::text or s.raw::jsonb is distinct from t.raw "
            "or s.extra is distinct from t.extra"
        )
        assert differ == [(0,)]
        assert postgres.execute(f'select count(*) from "{schema}".events where extra is null') == [
            (2,)
        ]
        assert dict(postgres.execute(f'select id, sku from "{schema}".skus')) == SKUS
        pushed = postgres.execute(f'select id, sku, w from "{schema}".pushed_skus order by id')
        assert pushed == [
            (1, "A1", "1.5"),
            (2, "B-ü☃", None),
            (3, None, None),
            (4, None, None),
            (5, None, None),
        ]
        passthru = dict(
            postgres.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = %s and table_name = 'passthru'",
                (schema,),
            )
        )
        assert passthru["payload"] == "jsonb"
        checks = postgres.execute(
            "select stage, expectation, kwargs, success from _dagwright.check_results "
            "where run_id = %s",
            (outcome.record.run_id,),
        )
        for stage in ("check_src", "check_load_passthru"):
            expected = (stage, "expect_column_values_to_not_be_null", '{"column": "payload"}', True)
            assert expected in checks
    finally:
        postgres.execute(f'drop schema "{schema}" cascade')


def test_json_stays_json_text_in_a_parquet_dataset_across_loads(
    project: Project, postgres, pg_json: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb
    import pyarrow.parquet as pq

    from dagwright.plan import build_plan
    from dagwright.runner import run_pipeline
    from dagwright.spec.load import load_spec

    monkeypatch.setenv("DAGWRIGHT_CONN_SHOP_DB", postgres.url)
    path = project.write_spec("json_lake", _spec(pg_json, "auto", "{loader: parquet, path: lake}"))
    for _ in range(2):  # the second merge reads the first load's files back
        outcome = run_pipeline(build_plan(load_spec(path, project.root)), None)
        assert outcome.ok, outcome.record.error
    files = sorted((project.root / "lake" / "passthru").glob("*.parquet"))
    assert len(files) == 1
    assert "JSON" in str(pq.ParquetFile(files[0]).schema.column(1).logical_type)
    assert str(pq.read_schema(files[0]).field("payload").type) == "extension<arrow.json>"
    got = duckdb.sql(f"select id, payload->>'$.sku' from '{files[0]}'").fetchall()
    assert dict(got) == SKUS


def test_sqlite_json_column_arrives_as_json(project: Project, run_spec) -> None:
    db = project.root / "src.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("create table docs (id integer primary key, body JSON, name text)")
        con.executemany(
            "insert into docs values (?, ?, ?)",
            [
                (i, None if d is None else json.dumps(d, ensure_ascii=False), "n")
                for i, d in DOCS[:4]
            ],
        )
    outcome = run_spec(
        "sqlite_json",
        """
        sources:
          docs: {extractor: sqlite, path: src.sqlite, table: docs, chunk_size: 3}
        loads:
          docs: {from: docs, write: replace}
        """,
    )
    assert outcome.ok, outcome.record.error
    types = dict(
        project.query(
            "select column_name, data_type from duckdb_columns() where table_name = 'docs'"
        )
    )
    assert types["body"] == "JSON" and types["name"] == "VARCHAR"
    assert dict(project.query("select id, body->>'$.sku' from docs")) == {
        1: "A1",
        2: "B-ü☃",
        3: None,
        4: None,
    }


@pytest.mark.parametrize("engine", ["adbc", "sqlalchemy"])
def test_a_stage_timeout_cancels_the_running_source_query(
    tmp_path: Path, postgres, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagwright.context import RunContext
    from dagwright.timeouts import StageTimeout, deadline
    from extractors.sql import SqlExtractor, SqlSourceConfig

    monkeypatch.setenv("DAGWRIGHT_CONN_SHOP_DB", postgres.url)

    def extractor(query: str) -> SqlExtractor:
        config = SqlSourceConfig(
            extractor="postgres", connection="shop_db", query=query, engine=engine
        )
        return SqlExtractor("slow", config, RunContext("r", "p", tmp_path, str(tmp_path)))

    list(extractor("select 1 as warm").batches())  # the driver imported: the query starts soon
    started = time.monotonic()
    cancelled = pytest.raises(StageTimeout, match="the statement was cancelled")
    with cancelled, deadline("extract_slow", 2):
        list(extractor("select pg_sleep(30) as slept").batches())
    assert time.monotonic() - started < 15
    still = "select count(*) from pg_stat_activity where query ilike '%pg_sleep(30)%' "
    still += "and state = 'active' and pid <> pg_backend_pid()"
    for _ in range(50):  # the server is told at once; its backend goes idle right after
        if postgres.execute(still) == [(0,)]:
            break
        time.sleep(0.1)
    assert postgres.execute(still) == [(0,)]
