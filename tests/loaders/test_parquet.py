"""The Parquet dataset loader: partitioned folders, a manifest as the commit, every disposition."""

from __future__ import annotations

import json
import signal
from datetime import date

import pyarrow.parquet as pq
import pytest

from dagwright.errors import DagwrightError, DataError
from tests.loaders.conftest import Warehouse, day
from tests.loaders.test_warehouse_crash import batch, killed_load, load, table_state


def test_partitioned_folders_and_a_manifest_listing_them(lake: Warehouse) -> None:
    rows = [{"id": i, "day": date(2026, 1, 1 + i % 2), "v": f"v{i}"} for i in range(6)]
    lake.load("orders", rows, at=None, partition_by=["day"])
    folder = lake.root / "lake" / "orders"
    manifest = json.loads((folder / "_dagwright" / "manifest.json").read_text())
    assert sorted(f.split("/")[0] for f in manifest["files"]) == [
        "day=2026-01-01",
        "day=2026-01-02",
    ]
    first = pq.read_table(folder / manifest["files"][0])
    assert first.num_rows == 3 and "day" in first.column_names
    assert lake.rows("orders") == sorted(rows, key=lambda r: [str(v) for v in r.values()])


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, [(1, "a"), (1, "b"), (2, "c")]),
        ({"write": "replace"}, [(2, "c")]),
        ({"write": "merge", "primary_key": ["id"]}, [(1, "b"), (2, "c")]),
        ({"write": "delete_insert", "merge_key": ["id"]}, [(1, "a"), (1, "b"), (2, "c")]),
    ],
)
def test_dispositions_and_reruns(lake: Warehouse, spec: dict, expected: list) -> None:
    lake.load("t", [{"id": 1, "v": "a"}, {"id": 1, "v": "b"}], at=0, **spec)
    lake.load("t", [{"id": 2, "v": "c"}], at=1, **spec)
    lake.load("t", [{"id": 2, "v": "c"}], at=1, **spec)
    assert [(r["id"], r["v"]) for r in lake.rows("t")] == expected
    assert lake.ledger() == [
        ("t", day(0), 1 if spec.get("write") == "merge" else 2),
        ("t", day(1), 1),
    ]


def test_scd2_history(lake: Warehouse) -> None:
    spec = {"write": "scd2", "primary_key": ["id"]}
    lake.load("h", [{"id": 1, "v": "a"}], at=0, **spec)
    lake.load("h", [{"id": 1, "v": "b"}], at=1, **spec)
    lake.load("h", [{"id": 1, "v": "b"}], at=1, **spec)
    assert [(r["v"], r["valid_from"], r["valid_to"]) for r in lake.rows("h")] == [
        ("a", day(0), day(1)),
        ("b", day(1), None),
    ]


def test_freeze_contract_and_odd_table_names(lake: Warehouse) -> None:
    name = '../x; "drop"'
    lake.load(name, [{"a b": 1}], at=0, schema_contract="freeze")
    with pytest.raises(DataError, match=r'\+ new column "c"'):
        lake.load(name, [{"a b": 2, "c": 1}], at=1, schema_contract="freeze")
    assert lake.rows(name) == [{"a b": 1}]
    assert [p.name for p in (lake.root / "lake").iterdir()] == ["%2E.%2Fx%3B%20%22drop%22"]


def test_watermarks_runs_and_side_tables(lake: Warehouse) -> None:
    import pyarrow as pa

    from dagwright.state import RunRecord, SideRows

    lake.load("a", [{"id": 1}], at=0, watermark=5)
    lake.load("b", [{"id": 1}], at=0, watermark=3)
    assert lake.watermark() == 3
    states = lake.loader().state.tables(lake.pipeline)
    assert (states["a"].marks, states["b"].marks) == ({"src": 5}, {"src": 3})
    store = lake.loader().state
    run = RunRecord("r1", lake.pipeline, day(0), day(1), "success", day(2))
    store.record_run(run)
    assert [r.run_id for r in store.recent_runs(lake.pipeline)] == ["r1"]
    for rows in (pa.table({"x": [1]}), pa.table({"x": [2], "y": ["new"]})):
        store.store_side_rows([SideRows("quarantine", rows, "x", "x")], "stage", [])
    assert sorted(lake.loader().read_table("quarantine").to_pylist(), key=str) == [
        {"x": 1, "y": None},
        {"x": 2, "y": "new"},
    ]


def test_an_fsspec_url_works_like_a_folder(lake: Warehouse) -> None:
    lake.config["path"] = f"memory://lake-{lake.pipeline}"
    lake.load("t", [{"id": 1}], at=0, write="merge", primary_key=["id"])
    lake.load("t", [{"id": 1}, {"id": 2}], at=1, write="merge", primary_key=["id"])
    assert lake.rows("t") == [{"id": 1}, {"id": 2}]


@pytest.mark.parametrize(
    "point", ["stage:done", "apply:data", "parquet:files", "parquet:committed"]
)
def test_a_killed_load_leaves_the_previous_manifest(lake: Warehouse, point: str) -> None:
    load(lake, 0, "merge")
    before = table_state(lake)
    assert killed_load(lake, "merge", point) == -signal.SIGKILL
    after_kill = table_state(lake)
    if point == "parquet:committed":
        assert after_kill[1] == 20
    else:
        assert after_kill == before
    load(lake, 1, "merge")
    rows, watermark, _ = table_state(lake)
    assert watermark == 20
    assert rows == sorted(
        {r["id"]: r for r in batch(0, "merge") + batch(1, "merge")}.values(),
        key=lambda r: [str(v) for v in r.values()],
    )
    files = [p for p in (lake.root / "lake" / "t").rglob("*.parquet")]
    assert len(files) == 1


def test_partition_by_must_name_a_column(lake: Warehouse) -> None:
    with pytest.raises(DagwrightError, match="partition_by column 'nope'"):
        lake.load("t", [{"id": 1}], at=0, partition_by=["nope"])


def test_a_pipeline_runs_into_a_parquet_dataset(project) -> None:  # noqa: ANN001
    from dagwright.plan import build_plan
    from dagwright.runner import run_pipeline
    from dagwright.spec.load import load_spec

    spec = project.write_spec(
        "lake_orders",
        """
        pipeline: lake_orders
        start_date: 2026-01-01
        sources:
          orders: {extractor: csv, path: data/shop/orders.csv}
        destination: {loader: parquet, path: lake}
        loads:
          orders: {from: orders, write: merge, primary_key: [order_id], partition_by: [status]}
        """,
    )
    outcome = run_pipeline(build_plan(load_spec(spec, project.root)))
    assert outcome.ok, outcome.record.error
    folders = {p.name for p in (project.root / "lake" / "orders").iterdir()}
    assert "status=shipped" in folders and "_dagwright" in folders
    import pyarrow.dataset as ds

    data = ds.dataset(
        project.root / "lake" / "orders", format="parquet", exclude_invalid_files=True
    )
    assert data.count_rows() == 5000
