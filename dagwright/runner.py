"""The local runner: a plan executed in-process, independent branches on threads.

It records the run in the destination's run log when it starts and when it ends,
whatever happens in between.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.context import RunContext, new_run_id
from dagwright.errors import DagwrightError
from dagwright.executor import StageExecutor, StageResult, make_loader
from dagwright.plan import Plan, Stage, stage_id
from dagwright.secrets import mask
from dagwright.staging import is_local, remove_run, stage_uri
from dagwright.state import RunRecord, StageRecord

if TYPE_CHECKING:
    from dagwright.context import Interval
    from dagwright.workspace import Workspace
    from loaders.base import Loader

Listener = Callable[[Stage, str, StageResult | None], None]
"""Called as stages change status: 'running', 'success', 'failed', 'skipped'."""


@dataclass
class RunOutcome:
    record: RunRecord
    results: dict[str, StageResult]

    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.record.status in ("success", "skipped")


def default_staging_root(project_root: Path) -> str:
    return str(project_root / ".dagwright" / "staging")


def run_pipeline(
    plan: Plan,
    interval: Interval | None = None,
    *,
    run_id: str | None = None,
    staging_root: str | None = None,
    max_workers: int = 4,
    listener: Listener | None = None,
    keep_staging: bool = False,
) -> RunOutcome:
    """Execute ``plan`` for one interval; never raises for a stage failure (see the record)."""
    from expectations.runner import warm_up

    warm_up(plan)
    root = plan.spec.project_root
    loader = make_loader(plan)
    ctx = RunContext(
        run_id=run_id or new_run_id(),
        pipeline=plan.pipeline,
        project_root=root,
        staging_root=staging_root or default_staging_root(root),
        interval=interval,
    )
    record = RunRecord(
        run_id=ctx.run_id,
        pipeline=plan.pipeline,
        interval_start=interval.start if interval else None,
        interval_end=interval.end if interval else None,
        status="running",
        started_at=datetime.now(UTC),
        stages=[StageRecord(stage=s.id, kind=s.kind) for s in plan.ordered()],
    )
    with loader.run_lock(plan.pipeline) as exclusive:
        if exclusive:
            abandon_stale_runs(loader, plan.pipeline, ctx)
        done = already_loaded(plan, loader, interval)
        if done and set(done) == set(plan.spec.model.loads):
            return _skip(plan, loader, record, listener, sorted(set(done.values())))
        loader.record_run(record)
        ctx.watermarks = starting_watermarks(plan, loader)
        if exclusive and not keep_staging and is_local(ctx.staging_root):
            ctx.workspace = open_workspace(loader)
        waits = place_homes(plan, ctx, loader, done) if ctx.workspace is not None else {}
        try:
            return _execute(
                plan, ctx, loader, record, max_workers, listener, keep_staging, done, waits
            )
        finally:
            if ctx.workspace is not None:
                ctx.workspace.close()


def open_workspace(loader: Loader) -> Workspace | None:
    """The run's in-process workspace, when the destination offers one.

    ``DAGWRIGHT_WORKSPACE=0`` turns it off (every stage output a Parquet file, as on Airflow).
    """
    if os.environ.get("DAGWRIGHT_WORKSPACE", "1") == "0":
        return None
    opener = getattr(loader, "open_workspace", None)
    return opener() if opener is not None else None


def place_homes(
    plan: Plan, ctx: RunContext, loader: Loader, done: dict[str, str]
) -> dict[str, set[str]]:
    """Store each output that one replace load takes whole beside that load's table.

    The load renames it into place instead of copying it (``Workspace.place``), so it runs
    after the other stages reading that output: returned, per load stage.
    """
    workspace = ctx.workspace
    target_of = getattr(loader, "target", None)
    if workspace is None or target_of is None:
        return {}
    waits: dict[str, set[str]] = {}
    for stage in plan.stages.values():
        if stage.kind == "transform":
            if not plan.spec.model.transforms[stage.name].local_sql:
                continue
        elif stage.kind != "extract":
            continue
        readers = plan.readers(stage.id)
        loads = [r for r in readers if r.kind == "load"]
        if len(loads) != 1 or loads[0].name in done:
            continue
        load = loads[0]
        if plan.spec.model.loads[load.name].write != "replace":
            continue
        if workspace.place(stage_uri(ctx.staging_dir, stage.id), target_of(load.name), ctx.run_id):
            later = plan.downstream(load.id)
            waits[load.id] = {r.id for r in readers if r.id != load.id and r.id not in later}
    return waits


def _execute(
    plan: Plan,
    ctx: RunContext,
    loader: Loader,
    record: RunRecord,
    max_workers: int,
    listener: Listener | None,
    keep_staging: bool,
    done: dict[str, str],
    waits: dict[str, set[str]],
) -> RunOutcome:
    executor = StageExecutor(plan, ctx, loader, loaded=done)
    records = {s.stage: s for s in record.stages}
    results: dict[str, StageResult] = {}
    lock = threading.Lock()
    notify = listener or (lambda *_: None)

    def execute(stage: Stage) -> StageResult:
        with lock:
            records[stage.id].status = "running"
            records[stage.id].started = round(
                (datetime.now(UTC) - record.started_at).total_seconds(), 3
            )
        notify(stage, "running", None)
        return executor.run(stage, {k: results[k] for k in executor.needs(stage)})

    failed: set[str] = set()
    errors: list[str] = []
    pending = {s.id: s for s in plan.ordered()}
    for table in done:
        load_id = stage_id("load", table)
        for sid in [load_id, *plan.downstream(load_id)]:
            pending.pop(sid, None)
            records[sid].status = "skipped"
            records[sid].error = f"already loaded for this interval by run {done[table]}"
            notify(plan.stages[sid], "skipped", None)
    running: dict[Future[StageResult], Stage] = {}
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="stage") as pool:
        while pending or running:
            active = set(pending) | {s.id for s in running.values()}
            held_back = {sid for sid, readers in waits.items() if readers & active}
            for sid, stage in list(pending.items()):
                if any(u in failed for u in stage.upstream):
                    pending.pop(sid)
                    failed.add(sid)
                    records[sid].status = "skipped"
                    notify(stage, "skipped", None)
                elif sid not in held_back and all(u in results for u in stage.upstream):
                    pending.pop(sid)
                    running[pool.submit(execute, stage)] = stage
            if not running:
                continue
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                stage = running.pop(future)
                rec = records[stage.id]
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - recorded, shown, and the run fails
                    failed.add(stage.id)
                    message = mask(
                        str(exc)
                        if isinstance(exc, DagwrightError)
                        else f"{type(exc).__name__}: {exc}"
                    )
                    rec.status, rec.error = "failed", message
                    errors.append(message)
                    notify(stage, "failed", None)
                    continue
                results[stage.id] = result
                release_read(plan, ctx, stage, results, failed)
                rec.status = "skipped" if result.skipped else "success"
                rec.error = result.skipped
                rec.rows_in, rec.rows_out = result.rows_in, result.rows_out
                rec.seconds, rec.checks = result.seconds, result.checks
                rec.sql = list(result.sql)
                notify(stage, rec.status, result)
    record.status = "failed" if failed else "success"
    record.error = "\n".join(errors) or None
    record.finished_at = datetime.now(UTC)
    loader.record_run(record)
    loader.close()
    if not keep_staging:
        remove_run(ctx.staging_dir)
    return RunOutcome(record, results)


def release_read(
    plan: Plan, ctx: RunContext, stage: Stage, results: dict[str, StageResult], failed: set[str]
) -> None:
    """Free the workspace outputs that every reader has now read (memory back early).

    A check stage hands on its input's URI, so the readers of an output are those of
    every stage holding its URI.
    """
    if ctx.workspace is None:
        return
    for up in stage.upstream:
        staged = results[up].staged if up in results else None
        if staged is None:
            continue
        holders = {k for k, r in results.items() if r.staged and r.staged.uri == staged.uri}
        readers = [s.id for s in plan.stages.values() if holders & set(s.upstream)]
        if all(r in results or r in failed for r in readers):
            ctx.workspace.release(staged.uri)


def abandon_stale_runs(loader: Loader, pipeline: str, ctx: RunContext) -> list[str]:
    """Mark this pipeline's 'running' entries as 'abandoned', and drop their staged files.

    Called only while the destination's run lock is held, so no such run is alive: its
    process was killed or crashed. Returns the run ids marked.
    """
    marked: list[str] = []
    for run in loader.recent_runs(pipeline, limit=1000):
        if run.status != "running" or run.run_id == ctx.run_id:
            continue
        run.status = "abandoned"
        run.finished_at = datetime.now(UTC)
        run.error = (
            f"the process running it ended without finishing (killed or crashed); "
            f"found by run {ctx.run_id}. Its uncommitted loads were rolled back."
        )
        for stage in run.stages:
            if stage.status in ("pending", "running"):
                stage.status = "abandoned"
        loader.record_run(run)
        remove_run(f"{ctx.staging_root.rstrip('/')}/{pipeline}/{run.run_id}")
        marked.append(run.run_id)
    return marked


def watermark_driven(plan: Plan) -> list[str]:
    """Sources that read past a stored watermark (not bounded by the data interval)."""
    return [
        name
        for name, source in plan.spec.model.sources.items()
        if source.incremental is not None and not source.incremental.use_interval
    ]


def already_loaded(plan: Plan, loader: Loader, interval: Interval | None) -> dict[str, str]:
    """Tables fed by a watermark-driven source that ``interval`` was loaded into, with the run.

    Such a source reads only rows past its watermark, so loading the interval again (after
    a crash between two loads, or a second run) would replace its rows with nothing new.
    Without an interval, the tables an abandoned run committed since the last success
    count as loaded: reading them again from the lowest watermark would append twice.
    """
    sources = watermark_driven(plan)
    if not sources:
        return {}
    rows = loader.loaded_intervals(plan.pipeline)
    if interval is None:
        rows = _committed_by_abandoned_runs(plan, loader, rows)
    else:
        rows = [
            r
            for r in rows
            if r["interval_start"] == interval.start and r["interval_end"] == interval.end
        ]
    extracts = {stage_id("extract", name) for name in sources}
    done: dict[str, str] = {}
    for row in rows:
        table = row["table_name"]
        load_id = stage_id("load", table)
        if load_id in plan.stages and extracts & set(plan.upstream_extracts(load_id)):
            done[table] = row["run_id"]
    return done


def _committed_by_abandoned_runs(
    plan: Plan, loader: Loader, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each table's latest interval-less ledger row, if an abandoned run since the last
    successful one wrote it."""
    runs = loader.recent_runs(plan.pipeline, 1000)
    successes = [r.started_at for r in runs if r.status == "success"]
    since = max(successes) if successes else None
    abandoned = {
        r.run_id
        for r in runs
        if r.status == "abandoned" and (since is None or r.started_at > since)
    }
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["interval_start"] is not None:
            continue
        seen = latest.get(row["table_name"])
        if seen is None or row["loaded_at"] > seen["loaded_at"]:
            latest[row["table_name"]] = row
    return [row for row in latest.values() if row["run_id"] in abandoned]


def starting_watermarks(plan: Plan, loader: Loader) -> dict[str, Any]:
    """The committed watermarks, minus those a crashed first run left half-committed.

    Until a run of the pipeline has succeeded, a source whose tables are not all in the
    ledger yet starts from its initial value: a table that missed the killed run's
    commit must still receive those rows.
    """
    marks = loader.watermarks(plan.pipeline)
    if not marks or any(r.status == "success" for r in loader.recent_runs(plan.pipeline, 1000)):
        return marks
    loaded = {row["table_name"] for row in loader.loaded_intervals(plan.pipeline)}
    for name in list(marks):
        extract = stage_id("extract", name)
        fed = [
            s.name
            for s in plan.stages.values()
            if s.kind == "load" and extract in plan.upstream_extracts(s.id)
        ]
        if any(table not in loaded for table in fed):
            marks.pop(name)
    return marks


def _skip(
    plan: Plan,
    loader: Loader,
    record: RunRecord,
    listener: Listener | None,
    loaded_by: list[str],
) -> RunOutcome:
    note = (
        f"already loaded by run {', '.join(loaded_by)}: nothing to do "
        f"(sources {', '.join(watermark_driven(plan))} continue from their watermark "
        "in the next interval)"
    )
    record.status = "skipped"
    record.finished_at = datetime.now(UTC)
    for stage_record in record.stages:
        stage_record.status = "skipped"
    notify = listener or (lambda *_: None)
    for stage in plan.ordered():
        notify(stage, "skipped", None)
    loader.record_run(record)
    loader.close()
    return RunOutcome(record, {}, note)
