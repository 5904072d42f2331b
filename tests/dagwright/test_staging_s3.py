"""Staging on a real S3-compatible store (moto): ``DAGWRIGHT_STAGING_ROOT=s3://...``."""

from __future__ import annotations

from pathlib import Path

from dagwright import spool
from dagwright.intervals import Interval, parse_when
from dagwright.plan import build_plan
from dagwright.runner import run_pipeline
from tests.conftest import Project

JANUARY = Interval(parse_when("2026-01-01"), parse_when("2026-02-01"))


def _tables(project: Project) -> dict[str, list[tuple]]:
    return {
        "fct": project.query("select order_id, revenue from fct_orders order by order_id"),
        "agg": project.query(
            "select order_date, segment, revenue, orders from agg_daily_revenue order by 1, 2"
        ),
        "dim": project.query(
            "select * exclude (_dagwright_load_id, _dagwright_loaded_at) "
            "from dim_customers order by 1"
        ),
    }


def test_example_pipeline_stages_through_s3(
    example_project: Project, load_pipeline, s3, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("DAGWRIGHT_STAGING_CACHE", str(tmp_path / "cache"))
    plan = build_plan(load_pipeline(example_project.dags / "shop_daily.yaml"))
    local_staging = example_project.root / ".dagwright" / "staging"

    outcome = run_pipeline(plan, JANUARY)
    assert outcome.ok, outcome.record.error
    expected = _tables(example_project)
    example_project.warehouse.unlink()

    bucket = s3.make_bucket("dw-staging")
    if local_staging.exists():
        import shutil

        shutil.rmtree(local_staging)
    outcome = run_pipeline(plan, JANUARY, staging_root=f"{bucket}/staging", keep_staging=True)
    assert outcome.ok, outcome.record.error
    assert _tables(example_project) == expected

    fs = s3.filesystem()
    staged = sorted(p.rsplit("/", 1)[1] for p in fs.find("dw-staging/staging/shop_daily"))
    extracts = [name for name in staged if name.startswith("extract_")]
    assert extracts and all(name.endswith(".parquet") for name in staged)
    assert outcome.record.run_id in "".join(fs.find("dw-staging/staging/shop_daily"))
    # nothing fell back to the project's local staging folder
    assert not local_staging.exists() or not any(local_staging.rglob("*.parquet"))


def test_a_staged_object_deleted_between_stages_fails_the_next_stage(
    example_project: Project, load_pipeline, s3, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("DAGWRIGHT_STAGING_CACHE", str(tmp_path / "cache"))
    plan = build_plan(load_pipeline(example_project.dags / "shop_daily.yaml"))
    bucket = s3.make_bucket("dw-deleted")
    fs = s3.filesystem()
    deleted: list[str] = []

    def delete_extract_output(stage, status, result) -> None:
        staged = getattr(result, "staged", None)
        if status == "success" and staged is not None and "/extract_orders." in staged.uri:
            fs.rm(staged.uri.removeprefix("s3://"))
            deleted.append(staged.uri)
            # the next stages run as on another worker: no local copy of this one's output
            monkeypatch.setenv("DAGWRIGHT_STAGING_CACHE", str(tmp_path / "other-worker"))
            spool._fresh.clear()

    outcome = run_pipeline(
        plan,
        JANUARY,
        staging_root=f"{bucket}/staging",
        listener=delete_extract_output,
        max_workers=1,
    )
    assert deleted
    assert not outcome.ok
    assert deleted[0] in (outcome.record.error or "")
    # the loads fed by the deleted extract took nothing
    tables = {name for (name,) in example_project.query("select table_name from duckdb_tables()")}
    for table in {"fct_orders", "agg_daily_revenue"} & tables:
        assert example_project.query(f"select count(*) from {table}") == [(0,)]
    # the failed run keeps what it staged, to be inspected (dagwright staging lists it)
    assert fs.find(f"dw-deleted/staging/shop_daily/{outcome.record.run_id}")
