"""What an Airflow task runs: one plan stage through the shared ``StageExecutor``.

Data intervals come from the Airflow run, never from the clock:

- scheduled and backfill runs use the run's ``data_interval_start``/``data_interval_end``;
- a manual run with a logical date loads the interval that date falls in, the one a
  scheduled or backfill run of that logical date loads (Airflow itself gives such a run
  the interval *before* it, which a backfill of that date would then skip);
- a manual run without a logical date gets the latest complete interval before its
  ``run_after`` (what ``dagwright run`` does without ``--start``);
- a partitioned run (a pipeline scheduled on the tables of an interval pipeline, triggered
  by their partitioned asset events, see ``dagwright.airflow.assets``) loads the interval
  its partition key names; the loads of an interval run mark their asset events with it;
- other asset-triggered runs, and pipelines scheduled ``@once``/``@continuous``/not at all,
  are full runs with no interval (as ``dagwright run`` does for them): incremental sources
  read past their watermark and interval-keyed loads do not delete an interval first.

XCom carries only ``StageResult.to_dict()`` without its SQL (staged file reference, row
count, schema fingerprint, what an extract read: marks and files); the data stays in the
staging area, a local folder by default or any fsspec URL set in ``DAGWRIGHT_STAGING_ROOT``
for multi-worker setups.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagwright.context import Interval, RunContext
    from dagwright.plan import Plan
    from dagwright.state import RunRecord
    from loaders.base import Loader

FINISH_TASK = "finish_run"
ERROR_KEY = "dagwright_error"


@lru_cache(maxsize=8)
def _plan(spec_path: str, stamp: int) -> Plan:
    from dagwright.plan import build_plan
    from dagwright.spec.load import load_spec

    return build_plan(load_spec(Path(spec_path)))


def load_plan(spec_path: str) -> Plan:
    return _plan(spec_path, Path(spec_path).stat().st_mtime_ns)


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value.isoformat()).astimezone(UTC)


def run_interval(plan: Plan, context: Any) -> Interval | None:
    """The data interval an Airflow run loads (see the module's docstring)."""
    from dagwright.intervals import Interval, cron_of, interval_containing, latest_interval

    dag_run = context["dag_run"]
    key = context.get("partition_key") or getattr(dag_run, "partition_key", None)
    if key:
        return key_run_interval(plan, key)
    schedule = plan.spec.model.schedule
    if cron_of(schedule) is None:
        return None
    kind = getattr(dag_run, "run_type", None)
    if getattr(kind, "value", kind) == "manual":
        logical = _utc(getattr(dag_run, "logical_date", None))
        if logical is not None:
            return interval_containing(schedule, logical)
        run_after = _utc(getattr(dag_run, "run_after", None) or dag_run.start_date)
        return latest_interval(schedule, run_after)
    start, end = _utc(context.get("data_interval_start")), _utc(context.get("data_interval_end"))
    if start is not None and end is not None and end > start:
        return Interval(start, end)
    run_after = _utc(getattr(dag_run, "run_after", None) or dag_run.start_date)
    return latest_interval(schedule, run_after)


def key_run_interval(plan: Plan, key: str) -> Interval:
    """The interval a partition key names; a bare start takes the interval schedule the
    pipeline shares with the pipelines it reads (``dagwright.pipelines``)."""
    from dagwright.airflow.assets import key_interval
    from dagwright.errors import DagwrightError
    from dagwright.intervals import Interval, interval_containing
    from dagwright.pipelines import interval_schedule

    start, end = key_interval(key)
    if end is not None:
        return Interval(start, end)
    found = interval_containing(interval_schedule(plan.spec), start)
    if found is None:
        raise DagwrightError(
            f"partition key {key!r} names no interval's end, and pipeline {plan.pipeline!r} "
            "has no interval schedule to find it: use '<start>/<end>'"
        )
    return found


def staging_root(plan: Plan) -> str:
    from dagwright.staging import staging_root as root

    return root(plan.spec.project_root)


def _run_record(plan: Plan, context: Any, status: str) -> RunRecord:
    from dagwright.state import RunRecord, StageRecord

    interval = run_interval(plan, context)
    started = _utc(context["dag_run"].start_date) or datetime.now(UTC)
    return RunRecord(
        run_id=context["run_id"],
        pipeline=plan.pipeline,
        interval_start=interval.start if interval else None,
        interval_end=interval.end if interval else None,
        status=status,
        started_at=started,
        stages=[StageRecord(stage=s.id, kind=s.kind) for s in plan.ordered()],
        runner="airflow",
    )


def run_stage(spec_path: str, stage_id: str, partitioned: bool = False) -> dict[str, Any]:
    """Run one stage of the pipeline for the current Airflow run; return its small result.

    ``partitioned``: the stage's outlet events carry the run's interval as partition key."""
    from airflow.sdk import get_current_context

    from dagwright.context import RunContext
    from dagwright.executor import StageExecutor, StageResult, make_loader
    from dagwright.spec.params import run_values
    from dagwright.spool import task_cache

    context = get_current_context()
    ti = context["ti"]
    try:
        plan = load_plan(spec_path)
        stage = plan.stages[stage_id]
        loader = make_loader(plan)
        if not stage.upstream:
            loader.state.record_run(_run_record(plan, context, "running"))
        ctx = RunContext(
            run_id=context["run_id"],
            pipeline=plan.pipeline,
            project_root=plan.spec.project_root,
            staging_root=staging_root(plan),
            interval=run_interval(plan, context),
            params=run_values(plan.spec, dict(context.get("params") or {})),
        )
        if stage.kind == "extract":
            choose_work(plan, loader, ctx, stage.name)
        executor = StageExecutor(plan, ctx, loader)
        results = {
            sid: StageResult.from_dict(ti.xcom_pull(task_ids=sid)) for sid in executor.needs(stage)
        }
        try:
            with task_cache():
                result = executor.run(stage, results)
        finally:
            loader.close()
    except Exception as exc:
        ti.xcom_push(key=ERROR_KEY, value=_message(exc))
        raise
    if partitioned and ctx.interval is not None:
        from dagwright.airflow.assets import partition_key

        for outlet in context["task"].outlets:
            context["outlet_events"][outlet].add_partitions(partition_key(ctx.interval))
    for sql in result.sql:
        print(sql)
    print(f"{stage_id}: rows in {result.rows_in}, rows out {result.rows_out}, {result.seconds}s")
    if result.note:
        print(result.note)
    payload = result.to_dict()
    payload["sql"] = []
    return payload


def choose_work(plan: Plan, loader: Loader, ctx: RunContext, source: str) -> None:
    """What this run reads of ``source``: the first pass (``dagwright.needs``) that reads
    it. Tables needing another portion of it are loaded by a later run; each load commits
    only what its table still needs, so tasks that chose differently never load twice."""
    from dagwright.executor import survey
    from dagwright.needs import passes, sources_of
    from dagwright.work import Pass

    needs, satisfied = survey(plan, loader, ctx)
    chosen = next((p for p in passes(needs) if source in p.reads), None)
    if chosen is None:
        fed = [t for t in satisfied if source in sources_of(plan, t)]
        ctx.work = Pass(note="; ".join(f"{t}: {satisfied[t]}" for t in fed))
    else:
        ctx.serve(chosen)


def _message(exc: BaseException) -> str:
    from dagwright.errors import DagwrightError

    return str(exc) if isinstance(exc, DagwrightError) else f"{type(exc).__name__}: {exc}"


def finish_run(spec_path: str) -> None:
    """Write the run log entry from the stages' results; fail the run if a stage failed."""
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowFailException

    from dagwright.context import RunContext
    from dagwright.executor import make_loader
    from dagwright.staging import remove_run

    context = get_current_context()
    ti = context["ti"]
    plan = load_plan(spec_path)
    record = _run_record(plan, context, "running")
    errors: list[str] = []
    for rec in record.stages:
        result = ti.xcom_pull(task_ids=rec.stage)
        error = ti.xcom_pull(task_ids=rec.stage, key=ERROR_KEY)
        if result is not None:
            rec.status = "skipped" if result.get("skipped") else "success"
            rec.error = result.get("skipped")
            rec.rows_in, rec.rows_out = result.get("rows_in"), result.get("rows_out")
            rec.seconds, rec.checks = result.get("seconds"), result.get("checks") or ""
            rec.sql = list(result.get("sql") or [])
        elif error is not None:
            rec.status, rec.error = "failed", error
            errors.append(error)
        else:
            rec.status = "skipped"
    # a stage skipped with a reason (a table already loaded) is a success; one that failed,
    # or did not run because a stage before it failed, fails the run
    failed = any(
        rec.status == "failed" or (rec.status != "success" and rec.error is None)
        for rec in record.stages
    )
    record.status = "failed" if failed else "success"
    record.error = "\n".join(errors) or ("stages did not run" if failed else None)
    record.finished_at = datetime.now(UTC)
    loader = make_loader(plan)
    try:
        loader.state.record_run(record)
    finally:
        loader.close()
    if failed:
        raise AirflowFailException(f"{plan.pipeline} failed: {record.error}")
    remove_run(
        RunContext(
            context["run_id"], plan.pipeline, plan.spec.project_root, staging_root(plan)
        ).staging_dir
    )
