"""Schema contracts (evolve, freeze, discard_columns) and the explicit type mapping."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from dagwright.errors import DataError
from loaders.typemap import build, duckdb_sql_type, fits, sql_type
from tests.loaders.conftest import Warehouse


@pytest.mark.parametrize(
    ("arrow", "duckdb", "postgres"),
    [
        (pa.int32(), "INT", "INT"),
        (pa.uint64(), "UBIGINT", "DECIMAL(20, 0)"),
        (pa.decimal128(12, 3), "DECIMAL(12, 3)", "DECIMAL(12, 3)"),
        (pa.timestamp("us", tz="UTC"), "TIMESTAMPTZ", "TIMESTAMPTZ"),
        (pa.timestamp("ns"), "TIMESTAMP", "TIMESTAMP"),
        (pa.list_(pa.int64()), "BIGINT[]", "JSONB"),
        (pa.struct([("a b", pa.string())]), 'STRUCT("a b" TEXT)', "JSONB"),
        (pa.dictionary(pa.int8(), pa.string()), "TEXT", "TEXT"),
        (pa.large_binary(), "BLOB", "BYTEA"),
        (pa.json_(pa.string()), "JSON", "JSONB"),
        (pa.json_(pa.large_string()), "JSON", "JSONB"),
        (pa.list_(pa.json_(pa.string())), "JSON[]", "JSONB"),
    ],
)
def test_arrow_types_map_explicitly(arrow: pa.DataType, duckdb: str, postgres: str) -> None:
    assert sql_type(arrow, "duckdb").sql("duckdb") == duckdb
    assert sql_type(arrow, "postgres").sql("postgres") == postgres


def test_duckdb_types_map_as_their_arrow_export_does() -> None:
    """A workspace batch's types are read from DuckDB (no pyarrow import); they must be
    the types the same columns get through Arrow, or a workspace run would create other
    tables than an Airflow run of the same spec."""
    import duckdb

    con = duckdb.connect()
    rel = con.sql(
        """SELECT true AS b, 1::TINYINT AS i1, 1::SMALLINT AS i2, 1::INTEGER AS i4,
                  1::BIGINT AS i8, 1::UTINYINT AS u1, 1::USMALLINT AS u2, 1::UINTEGER AS u4,
                  1::UBIGINT AS u8, 1::FLOAT AS f4, 1::DOUBLE AS f8, 1.5::DECIMAL(4, 1) AS d4,
                  1.5::DECIMAL(18, 3) AS d18, 1.5::DECIMAL(38, 10) AS d38, 'x' AS s,
                  'x'::BLOB AS bl, DATE '2026-01-01' AS d, TIME '01:02:03' AS t,
                  TIMESTAMP '2026-01-01 01:02:03' AS ts, TIMESTAMPTZ '2026-01-01 01:02:03Z' AS tz,
                  INTERVAL 1 DAY AS iv, 1::HUGEINT AS h, [1] AS l, TIMESTAMP_NS '2026-01-01' AS ns"""
    )
    arrow = {f.name: f.type for f in rel.to_arrow_table().schema}
    direct = {c: duckdb_sql_type(str(t)) for c, t in zip(rel.columns, rel.types, strict=True)}
    assert {c for c, t in direct.items() if t is None} == {"iv", "h", "l", "ns"}
    for column, mapped in direct.items():
        if mapped is not None:
            assert mapped == sql_type(arrow[column], "duckdb", column), column


def test_widening_is_safe_only_one_way() -> None:
    def f(a: str, b: str) -> bool:
        return fits(build(a, "duckdb"), build(b, "duckdb"))

    assert f("INT", "BIGINT") and not f("BIGINT", "INT")
    assert f("DECIMAL(10, 2)", "DECIMAL(12, 3)") and not f("DECIMAL(12, 3)", "DECIMAL(10, 2)")
    assert f("UINTEGER", "BIGINT") and not f("BIGINT", "UBIGINT")
    assert not f("TIMESTAMP", "TIMESTAMPTZ") and not f("VARCHAR", "INT")


def test_unsupported_arrow_types_name_the_column() -> None:
    with pytest.raises(DataError, match="column 'u' has Arrow type"):
        sql_type(pa.dense_union([pa.field("a", pa.int8())]), "postgres", "u")


BASE = [{"id": 1, "name": "a", "qty": 1}]


def ints(n: int) -> pa.Array:
    return pa.array([n], pa.int32())


def test_evolve_adds_columns_and_widens_types(warehouse: Warehouse) -> None:
    w = warehouse
    w.load("c", pa.table({"id": [1], "qty": ints(1)}), at=0)
    result = w.load("c", pa.table({"id": [2], "qty": pa.array([2**40]), "extra": ["x"]}), at=1)
    assert w.rows("c") == [
        {"id": 1, "qty": 1, "extra": None},
        {"id": 2, "qty": 2**40, "extra": "x"},
    ]
    assert result.notes == ["added column(s) to 'c': extra"]
    w.load("c", pa.table({"id": [3]}), at=2)
    assert {"id": 3, "qty": None, "extra": None} in w.rows("c")


INTEGER = {"snowflake": "DECIMAL(38, 0)"}
"""How the table names a batch's int64 column where it is not BIGINT (Snowflake's NUMBER)."""


def test_evolve_refuses_a_type_it_cannot_widen(warehouse: Warehouse) -> None:
    w = warehouse
    w.load("c", BASE, at=0)
    with pytest.raises(DataError) as info:
        w.load("c", [{"id": 2, "name": "b", "qty": "many"}], at=1)
    assert "schema contract 'evolve' refuses this batch" in str(info.value)
    assert f'~ column "qty" is {INTEGER.get(w.kind, "BIGINT")} in the table, ' in str(info.value)
    assert w.rows("c") == [{"id": 1, "name": "a", "qty": 1}]


def test_freeze_fails_listing_every_difference(warehouse: Warehouse) -> None:
    w = warehouse
    w.load("f", BASE, at=0, schema_contract="freeze")
    text = {"mysql": "LONGTEXT", "snowflake": "VARCHAR"}.get(w.kind, "TEXT")
    integer = INTEGER.get(w.kind, "BIGINT")
    with pytest.raises(DataError) as info:
        w.load(
            "f",
            [{"id": 2, "qty": Decimal("1.5"), "note": "new"}],
            at=1,
            write="merge",
            primary_key=["id"],
            schema_contract="freeze",
        )
    assert str(info.value) == (
        "table 'f': schema contract 'freeze' refuses this batch, which differs from the table:\n"
        f'  + new column "note" {text}\n'
        '  - missing column "name" (in the table, not in the batch)\n'
        f'  ~ column "qty" is {integer} in the table, DECIMAL(2, 1) in the batch\n'
        "hint: set schema_contract: evolve on this load to accept the change, or fix the source"
    )
    w.load("f", [{"id": 3, "name": "c", "qty": 3}], at=1, schema_contract="freeze")
    assert [r["id"] for r in w.rows("f")] == [1, 3]


def test_freeze_accepts_narrower_types_that_fit(warehouse: Warehouse) -> None:
    warehouse.load("n", pa.table({"id": pa.array([1], pa.int64())}), at=0, schema_contract="freeze")
    warehouse.load("n", pa.table({"id": ints(2)}), at=1, schema_contract="freeze")
    assert warehouse.rows("n") == [{"id": 1}, {"id": 2}]


def test_discard_columns_loads_known_columns_and_reports_the_rest(warehouse: Warehouse) -> None:
    w = warehouse
    w.load("d", BASE, at=0, schema_contract="discard_columns")
    result = w.load(
        "d",
        [{"id": 2, "name": "b", "qty": 2, "secret": "x", "more": 1}],
        at=1,
        schema_contract="discard_columns",
    )
    assert result.notes == ["discarded column(s) not in table 'd': secret, more"]
    assert w.rows("d") == [{"id": 1, "name": "a", "qty": 1}, {"id": 2, "name": "b", "qty": 2}]
    with pytest.raises(DataError, match="schema contract 'discard_columns' refuses"):
        w.load("d", [{"id": 3, "name": "c", "qty": "x"}], at=2, schema_contract="discard_columns")


def test_replace_follows_the_contract_too(warehouse: Warehouse) -> None:
    w = warehouse
    w.load("r", BASE, at=0, write="replace", schema_contract="freeze")
    with pytest.raises(DataError, match=r'\+ new column "x"'):
        w.load("r", [{**BASE[0], "x": 1}], at=1, write="replace", schema_contract="freeze")
    assert w.rows("r") == BASE


def test_json_keeps_its_type_through_duckdb_parquet_and_postgres() -> None:
    """A workspace JSON column (read from DuckDB) gets the type the same column gets
    through the Parquet file DuckDB writes for it (the Parquet JSON logical type, read
    by pyarrow as ``arrow.json``); a table's json or jsonb column takes either."""
    import tempfile

    import duckdb
    import pyarrow.parquet as pq

    from loaders.typemap import as_json, is_json

    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/j.parquet"
        duckdb.sql("""SELECT '{"a": [1]}'::JSON AS j""").write_parquet(path)
        arrow = pq.read_schema(path).field("j").type
    assert is_json(arrow)
    assert duckdb_sql_type("JSON") == sql_type(arrow, "duckdb") == build("JSON", "duckdb")
    assert fits(build("jsonb", "postgres"), build("json", "postgres"))
    assert not fits(build("JSON", "duckdb"), build("VARCHAR", "duckdb"))
    text = pa.array(['{"a": 1}', None], pa.large_string())
    assert is_json(as_json(text).type) and as_json(text).storage.to_pylist() == ['{"a": 1}', None]
    chunked = as_json(pa.chunked_array([text]))
    assert is_json(chunked.type) and as_json(chunked) is chunked


def test_json_documents_load_and_read_back_as_their_text(warehouse: Warehouse) -> None:
    import json

    from loaders.typemap import as_json

    docs = ['{"sku": "A1", "n": [1, {"x": null}]}', '"caf\u00e9 \u2603"', "null", None]
    batch = pa.table({"id": pa.array([1, 2, 3, 4], pa.int32()), "doc": as_json(pa.array(docs))})
    warehouse.load("docs", batch, write="replace")
    loader = warehouse.loader()
    with loader.session() as s:
        kind = loader.table_columns(s, loader.target("docs"))["doc"]
    expected = {"postgres": ("JSONB", "postgres"), "snowflake": ("VARIANT", "snowflake")}
    assert kind == build(*expected.get(warehouse.kind, ("JSON", "duckdb")))
    back = {r["id"]: r["doc"] for r in warehouse.rows("docs")}
    assert {i: None if d is None else json.loads(d) for i, d in back.items()} == {
        1: {"sku": "A1", "n": [1, {"x": None}]},
        2: "café ☃",
        3: None,
        4: None,
    }
    assert back[3] == "null" and back[4] is None  # a JSON null is not a SQL NULL
    warehouse.load("docs", batch, write="merge", primary_key=["id"])  # the table takes it again
    assert len(warehouse.rows("docs")) == 4
