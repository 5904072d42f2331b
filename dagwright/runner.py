"""The local runner: a plan executed in-process, independent branches on threads.

A run asks every table what it still needs (``executor.survey``) and serves the tables in
passes: one read of each source per pass (``dagwright.needs``). Usually that is one pass;
tables needing another portion of a shared source (a table that missed an earlier run's
commit, a new table) get their own, recorded as a run of their own (``<run id>.2``...).
Each pass is recorded in the destination's run log when it starts and when it ends,
whatever happens in between.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.context import RunContext, new_run_id
from dagwright.errors import DagwrightError
from dagwright.executor import StageExecutor, StageResult, make_loader, survey
from dagwright.handover import open_workspace, place_homes, release_read
from dagwright.needs import passes
from dagwright.plan import Plan, Stage, stage_id
from dagwright.secrets import mask
from dagwright.staging import is_local, remove_run
from dagwright.state import LOCAL, Portion, RunRecord, StageRecord, abandon_dead

if TYPE_CHECKING:
    from dagwright.intervals import Interval
    from dagwright.work import Pass
    from loaders.base import Loader

Listener = Callable[[Stage, str, StageResult | None], None]
"""Called as stages change status: 'running', 'success', 'failed', 'skipped'."""


@dataclass
class RunOutcome:
    records: list[RunRecord]
    """One per pass, the first under the run's id."""
    results: dict[str, StageResult] = field(default_factory=dict)
    note: str | None = None

    @property
    def record(self) -> RunRecord:
        return self.records[0]

    @property
    def ok(self) -> bool:
        return all(r.status in ("success", "skipped") for r in self.records)

    @property
    def error(self) -> str | None:
        return "\n".join(r.error for r in self.records if r.error) or None


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
    reprocess: bool = False,
    params: dict[str, Any] | None = None,
) -> RunOutcome:
    """Run ``plan`` for one interval; never raises for a stage failure (see the records).

    ``reprocess``: tables that take files one by one load every file again, replacing
    what each loaded before. ``params``: values for the spec's declared parameters
    (text, as ``--param`` gives them, or typed); a bad one raises ``ConfigError`` first.
    """
    from dagwright.spec.params import run_values
    from expectations.runner import warm_up

    values = run_values(plan.spec, params)

    warm_up(plan)
    root = plan.spec.project_root
    loader = make_loader(plan)
    base = run_id or new_run_id()
    staging = staging_root or default_staging_root(root)
    outcome = RunOutcome([])
    served: set[str] = set()
    seen: dict[str, Any] = {}
    try:
        with loader.run_lock(plan.pipeline, interval) as exclusive:
            for dead in abandon_dead(loader.state, plan.pipeline, exclusive, base):
                remove_run(f"{staging.rstrip('/')}/{plan.pipeline}/{dead}")
            while True:
                number = len(outcome.records) + 1
                ctx = RunContext(
                    run_id=base if number == 1 else f"{base}.{number}",
                    pipeline=plan.pipeline,
                    project_root=root,
                    staging_root=staging,
                    interval=interval,
                    first_run_id=base,
                    params=values,
                )
                needs, satisfied = survey(
                    plan, loader, ctx, reprocess=reprocess and number == 1, seen=seen, served=served
                )
                work = passes(needs)
                if not work:
                    if number == 1:
                        outcome.records.append(_skip(plan, loader, ctx, listener, satisfied))
                        outcome.note = _note(satisfied)
                    break
                ctx.serve(work[0])
                record, results = _pass(
                    plan, ctx, loader, exclusive, max_workers, listener, keep_staging, satisfied
                )
                outcome.records.append(record)
                outcome.results.update(results)
                notes = [r.note for r in results.values() if r.note]
                if notes:
                    outcome.note = "\n".join(filter(None, [outcome.note, *notes]))
                served |= set(work[0].needs)
                seen |= _marks_read(results)
    finally:
        loader.close()
    return outcome


def _pass(
    plan: Plan,
    ctx: RunContext,
    loader: Loader,
    exclusive: bool,
    max_workers: int,
    listener: Listener | None,
    keep_staging: bool,
    satisfied: dict[str, str],
) -> tuple[RunRecord, dict[str, StageResult]]:
    """Run the stages that serve ``ctx.work``'s tables, recorded as one run."""
    assert ctx.work is not None
    record = _record(plan, ctx, "running")
    wanted = serving(plan, ctx.work)
    with ExitStack() as stack:
        stack.enter_context(loader.state.hold(record))
        loader.state.record_run(record)
        if exclusive and not keep_staging and is_local(ctx.staging_root):
            ctx.workspace = open_workspace(loader)
        if ctx.workspace is not None:
            stack.callback(ctx.workspace.close)
        waits = place_homes(plan, ctx, loader, wanted)
        results = _execute(
            plan, ctx, loader, record, max_workers, listener, wanted, waits, satisfied
        )
        record.finished_at = datetime.now(UTC)
        loader.state.record_run(record)
    if not keep_staging:
        remove_run(ctx.staging_dir)
    return record, results


def serving(plan: Plan, work: Pass) -> set[str]:
    """The stages a pass runs: the loads of its tables, what they read, and their checks."""
    wanted: set[str] = set()
    for table in work.needs:
        load = stage_id("load", table)
        frontier = [load, *(s for s in plan.downstream(load) if plan.stages[s].kind == "check")]
        while frontier:
            sid = frontier.pop()
            if sid not in wanted:
                wanted.add(sid)
                frontier += plan.stages[sid].upstream
    return wanted


def _execute(
    plan: Plan,
    ctx: RunContext,
    loader: Loader,
    record: RunRecord,
    max_workers: int,
    listener: Listener | None,
    wanted: set[str],
    waits: dict[str, set[str]],
    satisfied: dict[str, str],
) -> dict[str, StageResult]:
    executor = StageExecutor(plan, ctx, loader, satisfied=satisfied)
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
    for sid in list(pending):
        if sid not in wanted:
            pending.pop(sid)
            stage = plan.stages[sid]
            records[sid].status = "skipped"
            records[sid].error = satisfied.get(stage.name) if stage.kind == "load" else None
            notify(stage, "skipped", None)
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
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
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
    return results


def _marks_read(results: dict[str, StageResult]) -> dict[str, Any]:
    """The high-water mark each cursor source was read up to in a pass."""
    marks: dict[str, Any] = {}
    for result in results.values():
        if result.portion is not None:
            portion = Portion.from_dict(result.portion)
            if portion.mark is not None:
                marks[portion.source] = portion.mark
    return marks


def _note(satisfied: dict[str, str]) -> str:
    lines = [f"{table}: {reason}" for table, reason in satisfied.items()]
    return "nothing to do: every table has what this run would load\n  " + "\n  ".join(lines)


def _record(plan: Plan, ctx: RunContext, status: str) -> RunRecord:
    return RunRecord(
        run_id=ctx.run_id,
        pipeline=plan.pipeline,
        interval_start=ctx.interval.start if ctx.interval else None,
        interval_end=ctx.interval.end if ctx.interval else None,
        status=status,
        started_at=datetime.now(UTC),
        stages=[
            StageRecord(
                stage=s.id, kind=s.kind, status="skipped" if status == "skipped" else "pending"
            )
            for s in plan.ordered()
        ],
        runner=LOCAL,
    )


def _skip(
    plan: Plan,
    loader: Loader,
    ctx: RunContext,
    listener: Listener | None,
    satisfied: dict[str, str],
) -> RunRecord:
    """The record of a run that found nothing to do: each load says why."""
    record = _record(plan, ctx, "skipped")
    record.finished_at = record.started_at
    notify = listener or (lambda *_: None)
    for stage, stage_record in zip(plan.ordered(), record.stages, strict=True):
        if stage.kind == "load":
            stage_record.error = satisfied.get(stage.name)
        notify(stage, "skipped", None)
    loader.state.record_run(record)
    return record
