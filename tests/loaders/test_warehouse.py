"""Every write disposition on DuckDB and on a real PostgreSQL server, against expected tables.

Each test loads intervals in order, reruns one (the table must not change), loads out of
order, and feeds duplicate keys in one batch; the ledger and watermarks are checked too.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dagwright.errors import DagwrightError, DataError
from tests.loaders.conftest import Warehouse, day


def test_append_rerun_and_out_of_order_intervals_never_duplicate(warehouse: Warehouse) -> None:
    w = warehouse
    day0 = [{"id": 1, "v": "a"}, {"id": 1, "v": "dup key kept"}]
    day1 = [{"id": 2, "v": "b"}]
    w.load("events", day1, at=1, watermark=20)
    w.load("events", day0, at=0, watermark=10)
    expected = [
        {"id": 1, "v": "a"},
        {"id": 1, "v": "dup key kept"},
        {"id": 2, "v": "b"},
    ]
    assert w.rows("events") == expected
    w.load("events", day0, at=0, watermark=10)
    w.load("events", day0, at=0, watermark=10)
    assert w.rows("events") == expected
    w.load("events", [{"id": 9, "v": "corrected"}], at=0)
    assert w.rows("events") == [{"id": 2, "v": "b"}, {"id": 9, "v": "corrected"}]
    assert w.ledger() == [("events", day(0), 1), ("events", day(1), 1)]
    assert w.watermark() == 10


def test_append_without_interval_appends_every_time(warehouse: Warehouse) -> None:
    warehouse.load("log", [{"id": 1}], at=None)
    warehouse.load("log", [{"id": 1}], at=None)
    assert warehouse.rows("log") == [{"id": 1}, {"id": 1}]


def test_append_without_lineage_refuses_to_reload_an_interval(warehouse: Warehouse) -> None:
    warehouse.load("plain", [{"id": 1}], at=0, lineage=False)
    assert warehouse.arrow("plain").column_names == ["id"]
    with pytest.raises(DagwrightError, match="append without lineage cannot reload"):
        warehouse.load("plain", [{"id": 1}], at=0, lineage=False)
    assert warehouse.rows("plain") == [{"id": 1}]


def test_replace_swaps_the_whole_table(warehouse: Warehouse) -> None:
    w = warehouse
    w.load("dim", [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}], at=0, write="replace")
    w.load("dim", [{"id": 3, "v": "c"}], at=1, write="replace")
    assert w.rows("dim") == [{"id": 3, "v": "c"}]
    w.load("dim", [{"id": 3, "v": "c"}], at=1, write="replace")
    assert w.rows("dim") == [{"id": 3, "v": "c"}]
    lineage = w.rows("dim", lineage=True)
    assert len({r["_dagwright_load_id"] for r in lineage}) == 1


def test_merge_dedupes_the_batch_last_row_wins_and_upserts(warehouse: Warehouse) -> None:
    w = warehouse
    spec = {"write": "merge", "primary_key": ["id"]}
    w.load("m", [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}, {"id": 1, "v": "c"}], at=0, **spec)
    assert w.rows("m") == [{"id": 1, "v": "c"}, {"id": 2, "v": "b"}]
    w.load("m", [{"id": 2, "v": "x"}, {"id": 3, "v": "y"}], at=1, **spec)
    expected = [{"id": 1, "v": "c"}, {"id": 2, "v": "x"}, {"id": 3, "v": "y"}]
    assert w.rows("m") == expected
    w.load("m", [{"id": 2, "v": "x"}, {"id": 3, "v": "y"}], at=1, **spec)
    assert w.rows("m") == expected
    w.load("m", [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}, {"id": 1, "v": "c"}], at=0, **spec)
    assert w.rows("m") == [{"id": 1, "v": "c"}, {"id": 2, "v": "b"}, {"id": 3, "v": "y"}]


def test_merge_on_a_composite_key_with_hard_deletes(warehouse: Warehouse) -> None:
    w = warehouse
    spec = {"write": "merge", "primary_key": ["shop", "id"], "hard_delete_column": "deleted"}
    w.load(
        "m2",
        [
            {"shop": "a", "id": 1, "v": 1, "deleted": False},
            {"shop": "b", "id": 1, "v": 2, "deleted": None},
        ],
        at=0,
        **spec,
    )
    w.load("m2", [{"shop": "a", "id": 1, "v": 1, "deleted": True}], at=1, **spec)
    assert w.rows("m2") == [{"shop": "b", "id": 1, "v": 2, "deleted": None}]


def test_merge_refuses_null_keys(warehouse: Warehouse) -> None:
    with pytest.raises(DataError, match=r"2 row\(s\) of the batch have a null in the key \(id\)"):
        warehouse.load(
            "nk", [{"id": None, "v": 1}, {"id": None, "v": 2}], write="merge", primary_key=["id"]
        )


def test_delete_insert_on_the_interval_column(warehouse: Warehouse) -> None:
    w = warehouse
    spec = {"write": "delete_insert", "interval_column": "day"}
    d0, d1 = date(2026, 1, 1), date(2026, 1, 2)
    w.load("agg", [{"day": d1, "n": 5}, {"day": d1, "n": 5}], at=1, **spec)
    w.load("agg", [{"day": d0, "n": 1}, {"day": d0, "n": 2}], at=0, **spec)
    w.load("agg", [{"day": d0, "n": 1}, {"day": d0, "n": 2}], at=0, **spec)
    expected = [{"day": d0, "n": 1}, {"day": d0, "n": 2}, {"day": d1, "n": 5}, {"day": d1, "n": 5}]
    assert w.rows("agg") == expected
    w.load("agg", [{"day": d0, "n": 7}], at=0, **spec)
    assert w.rows("agg") == [{"day": d0, "n": 7}, {"day": d1, "n": 5}, {"day": d1, "n": 5}]
    with pytest.raises(DataError, match=r"1 row\(s\) of the batch have day null or outside"):
        w.load("agg", [{"day": d0, "n": 1}, {"day": d1, "n": 1}], at=0, **spec)
    assert w.rows("agg") == [{"day": d0, "n": 7}, {"day": d1, "n": 5}, {"day": d1, "n": 5}]


def test_delete_insert_on_a_merge_key_keeps_every_row_of_the_batch(warehouse: Warehouse) -> None:
    w = warehouse
    spec = {"write": "delete_insert", "merge_key": ["order"]}
    w.load(
        "lines",
        [{"order": 1, "line": 1}, {"order": 1, "line": 2}, {"order": 2, "line": 1}],
        at=0,
        **spec,
    )
    w.load("lines", [{"order": 1, "line": 9}], at=1, **spec)
    w.load("lines", [{"order": 1, "line": 9}], at=1, **spec)
    assert w.rows("lines") == [{"order": 1, "line": 9}, {"order": 2, "line": 1}]


SCD = {"write": "scd2", "primary_key": ["id"]}


def history(w: Warehouse, table: str) -> list[tuple]:
    return sorted(
        (r["id"], r["v"], r["valid_from"], r["valid_to"], r["is_current"]) for r in w.rows(table)
    )


def test_scd2_keeps_history_and_reruns_give_the_same_history(warehouse: Warehouse) -> None:
    w = warehouse
    w.load("h", [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}, {"id": 1, "v": "a0"}], at=0, **SCD)
    w.load("h", [{"id": 1, "v": "a0"}, {"id": 2, "v": "b2"}, {"id": 3, "v": "c"}], at=1, **SCD)
    expected = [
        (1, "a0", day(0), None, True),
        (2, "b", day(0), day(1), False),
        (2, "b2", day(1), None, True),
        (3, "c", day(1), None, True),
    ]
    assert history(w, "h") == expected
    w.load("h", [{"id": 1, "v": "a0"}, {"id": 2, "v": "b2"}, {"id": 3, "v": "c"}], at=1, **SCD)
    assert history(w, "h") == expected
    w.load("h", [{"id": 1, "v": "a0"}, {"id": 2, "v": "b3"}], at=1, **SCD)
    assert history(w, "h") == [
        (1, "a0", day(0), None, True),
        (2, "b", day(0), day(1), False),
        (2, "b3", day(1), None, True),
    ]
    with pytest.raises(DagwrightError, match="scd2 history is built in time order"):
        w.load("h", [{"id": 1, "v": "zzz"}], at=0, **SCD)
    assert len(history(w, "h")) == 3


def test_scd2_hard_deletes_and_retire_absent(warehouse: Warehouse) -> None:
    w = warehouse
    spec = {**SCD, "hard_delete_column": "gone"}
    w.load(
        "hd", [{"id": 1, "v": "a", "gone": False}, {"id": 2, "v": "b", "gone": False}], at=0, **spec
    )
    w.load("hd", [{"id": 1, "v": "a", "gone": True}], at=1, **spec)
    rows = {(r["id"], r["is_current"], r["valid_to"]) for r in w.rows("hd")}
    assert rows == {(1, False, day(1)), (2, True, None)}
    snap = {**SCD, "retire_absent": True}
    w.load("ra", [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}], at=0, **snap)
    w.load("ra", [{"id": 2, "v": "b"}], at=1, **snap)
    w.load("ra", [{"id": 2, "v": "b"}], at=1, **snap)
    assert history(w, "ra") == [(1, "a", day(0), day(1), False), (2, "b", day(0), None, True)]


def test_scd2_without_an_interval_stamps_the_load_time(warehouse: Warehouse) -> None:
    warehouse.load("nt", [{"id": 1, "v": "a"}], at=None, **SCD)
    warehouse.load("nt", [{"id": 1, "v": "b"}], at=None, **SCD)
    rows = warehouse.rows("nt")
    old, new = sorted(rows, key=lambda r: r["valid_from"])
    assert (old["v"], old["is_current"], new["v"], new["is_current"]) == ("a", False, "b", True)
    assert old["valid_to"] == new["valid_from"]


def test_lineage_columns_name_the_load(warehouse: Warehouse) -> None:
    result = warehouse.load("lin", [{"id": 1}], at=0, run_id="run-42")
    (row,) = warehouse.rows("lin", lineage=True)
    assert row["_dagwright_load_id"] == "run-42"
    assert row["_dagwright_loaded_at"].tzinfo is not None
    assert result.rows == 1


def test_decimals_timestamps_and_nested_types_round_trip(warehouse: Warehouse) -> None:
    import pyarrow as pa

    batch = pa.table(
        {
            "amount": pa.array([Decimal("12345678.91"), None], pa.decimal128(12, 2)),
            "at_utc": pa.array([day(0), None], pa.timestamp("us", tz="UTC")),
            "at_local": pa.array([day(0).replace(tzinfo=None), None], pa.timestamp("us")),
            "tags": pa.array([["x", "y"], None], pa.list_(pa.string())),
            "meta": pa.array([{"k": 1}, None], pa.struct([("k", pa.int64())])),
            "small": pa.array([1, None], pa.int16()),
        }
    )
    warehouse.load("types", batch, at=0, schema_contract="freeze")
    warehouse.load("types", batch, at=1, schema_contract="freeze")
    rows = warehouse.rows("types")
    assert rows[0]["amount"] == Decimal("12345678.91")
    # MySQL's DATETIME keeps no time zone: an instant reads back as its UTC wall time
    utc = day(0).replace(tzinfo=None) if warehouse.kind == "mysql" else day(0)
    assert rows[0]["at_utc"] == utc
    assert rows[0]["at_local"] == day(0).replace(tzinfo=None)
    assert rows[0]["tags"] == ["x", "y"]
    assert rows[0]["meta"] == {"k": 1}
    assert len(rows) == 4


ODD_TABLE = 'select; drop table "x" --'
ODD = {"my id": 1, 'qu"ote': "a", "semi;colon": "b", "select": "c", "100%": 1.5, "Order": 2}


@pytest.mark.parametrize("write", ["append", "merge", "scd2", "delete_insert"])
def test_identifiers_with_spaces_quotes_semicolons_and_reserved_words(
    warehouse: Warehouse, write: str
) -> None:
    w = warehouse
    keys = {"append": {}, "merge": {"primary_key": ["my id", 'qu"ote']}}
    keys["scd2"] = keys["merge"]
    keys["delete_insert"] = {"merge_key": ["semi;colon"]}
    spec = {"write": write, **keys[write]}
    w.load(ODD_TABLE, [ODD, {**ODD, "my id": 2}], at=0, **spec)
    w.load(ODD_TABLE, [{**ODD, "100%": 2.5}], at=1 if write != "append" else 0, **spec)
    rows = [{k: r[k] for k in ODD} for r in w.rows(ODD_TABLE)]
    if write in ("append", "delete_insert"):
        assert rows == [{**ODD, "100%": 2.5}]
    elif write == "merge":
        assert rows == [{**ODD, "100%": 2.5}, {**ODD, "my id": 2}]
    else:
        assert len(rows) == 3


def test_a_table_called_like_an_injection_leaves_other_tables_alone(warehouse: Warehouse) -> None:
    warehouse.load("x", [{"id": 1}], at=0)
    warehouse.load(ODD_TABLE, [{"id": 2}], at=0)
    assert warehouse.rows("x") == [{"id": 1}]
    assert warehouse.rows(ODD_TABLE) == [{"id": 2}]


def test_schema_qualified_table_names(warehouse: Warehouse) -> None:
    warehouse.load("mart.orders", [{"id": 1}], at=0)
    assert warehouse.rows("mart.orders") == [{"id": 1}]


def test_a_load_commits_only_while_its_table_still_needs_it(warehouse: Warehouse) -> None:
    """A load's record says what the run read (past which mark, which files, for which
    interval); when another run loaded the table meanwhile, the load changes nothing."""
    from dagwright.spec.sections import Load
    from dagwright.state import FileIdentity, Portion, StateUpdate

    w = warehouse
    append = Load.model_validate({"from": "src", "write": "append"})
    loader = w.loader()

    def update(
        run: str, *portions: Portion, table: str = "t", at: int | None = None, **extra
    ) -> StateUpdate:
        return StateUpdate(
            run, w.pipeline, table,
            None if at is None else day(at), None if at is None else day(at + 1),
            portions=portions, **extra,
        )  # fmt: skip

    f1 = FileIdentity("in/a.csv", 10, 1, "aa")
    files = Portion("src", "files", files=(f1,))
    first = loader.load("t", append, w.stage([{"id": 1}]), update("r1", files))
    assert first.skipped is None and first.rows == 1
    again = loader.load("t", append, w.stage([{"id": 1}]), update("r2", files))
    assert again.skipped == "run r1 loaded file in/a.csv into it meanwhile; nothing loaded"
    assert w.rows("t") == [{"id": 1}]
    # a run that knew r1 held the file reloads it in r1's place
    redo = update("r3", files, replaces=("r1",), holds={"in/a.csv": "r1"})
    assert loader.load("t", append, w.stage([{"id": 2}]), redo).skipped is None
    assert w.rows("t") == [{"id": 2}]

    cursor = Portion("events", "cursor", after=None, mark=10)
    assert loader.load("u", append, w.stage([{"id": 1}]), update("c1", cursor, table="u")).rows == 1
    late = loader.load("u", append, w.stage([{"id": 1}]), update("c2", cursor, table="u"))
    assert late.skipped is not None and "moved its mark of source 'events' to 10" in late.skipped
    assert w.rows("u") == [{"id": 1}]

    guarded = Portion("events", "cursor", after=None, mark=20)
    day_load = update("g1", guarded, table="v", at=3, guard_interval=True)
    assert loader.load("v", append, w.stage([{"id": 5}]), day_load).skipped is None
    twice = update(
        "g2", Portion("events", "cursor", after=20, mark=30), table="v", at=3, guard_interval=True
    )
    assert (
        "run g1 loaded this interval into it meanwhile"
        in loader.load("v", append, w.stage([{"id": 5}]), twice).skipped
    )
    assert w.rows("v") == [{"id": 5}]
