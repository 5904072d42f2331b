"""The staging area on an fsspec URL: stages exchange Parquet through it, then it is cleaned."""

from __future__ import annotations

import fsspec

from dagwright.intervals import Interval, parse_when
from dagwright.plan import build_plan
from dagwright.runner import run_pipeline
from dagwright.spec.load import load_spec
from dagwright.staging import describe, local_path, open_output, remove_run
from tests.conftest import Project

SPEC = """
pipeline: remote_staged
schedule: "@daily"
start_date: 2026-01-01
sources:
  orders:
    extractor: csv
    path: data/shop/orders.csv
    incremental: {cursor: ordered_at, use_interval: true}
transforms:
  paid: {sql: "select order_id, status from orders where status = 'paid'"}
loads:
  paid_orders: {from: paid, write: delete_insert, merge_key: [order_id]}
"""


def test_pipeline_runs_with_staging_on_an_fsspec_url(
    project: Project, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("DAGWRIGHT_STAGING_CACHE", str(tmp_path / "cache"))
    spec = load_spec(project.write_spec("remote_staged", SPEC))
    memory = fsspec.filesystem("memory")
    interval = Interval(parse_when("2026-01-02"), parse_when("2026-01-03"))
    outcome = run_pipeline(
        build_plan(spec), interval, staging_root="memory://dw-test/staging", keep_staging=True
    )
    assert outcome.ok, outcome.record.error

    staged = outcome.results["transform_paid"].staged
    assert staged is not None and staged.uri.startswith("memory://dw-test/staging/remote_staged/")
    run_dir = staged.uri.rsplit("/", 1)[0]
    assert sorted(p.rsplit("/", 1)[1] for p in memory.find(run_dir)) == [
        "extract_orders.parquet",
        "transform_paid.parquet",
    ]
    paid = project.query('SELECT count(*) FROM "paid_orders"')[0][0]
    assert paid == staged.rows > 0

    remove_run(run_dir)
    assert memory.find(run_dir) == []
    assert not any((tmp_path / "cache").rglob("*.parquet"))

    # without keep_staging the run removes its objects, and their local copies, itself
    interval = Interval(parse_when("2026-01-03"), parse_when("2026-01-04"))
    outcome = run_pipeline(build_plan(spec), interval, staging_root="memory://dw-test/staging")
    assert outcome.ok, outcome.record.error
    run_dir = outcome.results["transform_paid"].staged.uri.rsplit("/", 1)[0]
    assert run_dir.startswith("memory://") and outcome.record.run_id in run_dir
    assert memory.find(run_dir) == []
    assert not any((tmp_path / "cache").rglob("*.parquet"))


def test_remote_file_is_downloaded_when_not_written_here(tmp_path, monkeypatch) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setenv("DAGWRIGHT_STAGING_CACHE", str(tmp_path / "writer"))
    uri = "memory://dw-test/other/run/extract_x.parquet"
    pq.write_table(pa.table({"a": [1, 2, 3]}), open_output(uri))
    written = describe(uri)
    assert written.rows == 3

    monkeypatch.setenv("DAGWRIGHT_STAGING_CACHE", str(tmp_path / "reader"))
    from dagwright import spool

    spool._fresh.clear()  # as in another process: nothing fetched yet
    copy = local_path(uri)
    assert copy.startswith(str(tmp_path / "reader"))
    assert pq.read_table(copy).column("a").to_pylist() == [1, 2, 3]
    remove_run("memory://dw-test/other/run")
