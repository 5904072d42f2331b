"""The local runner: a plan executed in-process, independent branches on threads.

A run asks every table what it still needs (``executor.survey``) and serves the tables in
passes: one read of each source per pass (``dagwright.needs``). Usually that is one pass;
tables needing another portion of a shared source (a table that missed an earlier run's
commit, a new table) get their own, recorded as a run of their own (``<run id>.2``...).
Each pass is recorded in the destination's run log when it starts and when it ends,
whatever happens in between.

A run keeps the staged output of each stage it ran in the pipeline's ``_last`` folder
(``dagwright.reuse``); a selective run (``select``) runs only the selected stages and
reads the outputs of the others it needs from there, refusing before it runs anything
when one is missing or stale.
"""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dagwright.context import RunContext, new_run_id
from dagwright.errors import DagwrightError
from dagwright.executor import StageExecutor, StageResult, make_loader, survey
from dagwright.handover import open_workspace, place_homes, release_read
from dagwright.needs import passes
from dagwright.openlineage import run_lineage
from dagwright.plan import Plan, Stage, stage_id
from dagwright.results import Listener
from dagwright.reuse import Reuse
from dagwright.secrets import mask
from dagwright.staging import is_local, remove_run
from dagwright.staging import staging_root as default_root
from dagwright.state import LOCAL, Portion, RunRecord, StageRecord, abandon_dead

if TYPE_CHECKING:
    from dagwright.intervals import Interval
    from dagwright.work import Pass
    from loaders.base import Loader


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
    select: set[str] | None = None,
    keep_last: bool = False,
) -> RunOutcome:
    """Run ``plan`` for one interval; never raises for a stage failure (see the records).

    ``reprocess``: tables that take files one by one load every file again, replacing
    what each loaded before. ``params``: values for the spec's declared parameters
    (text, as ``--param`` gives them, or typed); a bad one raises ``ConfigError`` first.
    ``select``: run only these stages (ids, ``dagwright.select``), the others they need read
    from the last runs' staging; raises ``StaleInputError`` first when it cannot be.
    ``keep_last``: keep the outputs of the stages run for later selective runs (a
    selective run always does). Off by default: outputs the run workspace holds in DuckDB
    would otherwise be written to Parquet on every run.
    """
    from dagwright.spec.params import run_values
    from expectations.runner import warm_up

    values = run_values(plan.spec, params)
    select = set(select) if select is not None else None

    warm_up(plan)
    root = plan.spec.project_root
    loader = make_loader(plan)
    base = run_id or new_run_id()
    staging = staging_root or default_root(root)
    outcome = RunOutcome([])
    served: set[str] = set() if select is None else _unaffected(plan, select)
    lineage = run_lineage(plan, base, interval, outcome)
    keep_last = keep_last or select is not None
    options = _Options(max_workers, lineage.listen(listener), keep_staging, keep_last, select)
    seen: dict[str, Any] = {}
    try:
        with lineage, loader.run_lock(plan.pipeline, interval) as exclusive:
            for dead in abandon_dead(loader.state, plan.pipeline, exclusive, base):
                remove_run(f"{staging.rstrip('/')}/{plan.pipeline}/{dead}")
            if select is not None:
                from dagwright.reuse import prepare

                options.reuse = prepare(plan, select, staging, interval, values)
                outcome.note = _selection_note(plan, options.reuse)
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
                if options.reuse is not None:
                    _check_reads(plan, work, options)
                if not work:
                    if number == 1:
                        outcome.records.append(
                            _skip(plan, loader, ctx, options.listener, satisfied)
                        )
                        outcome.note = _note(satisfied)
                    break
                ctx.serve(work[0])
                record, results = _pass(plan, ctx, loader, exclusive, options, satisfied)
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


@dataclass
class _Options:
    max_workers: int
    listener: Listener | None
    keep_staging: bool
    keep_last: bool
    select: set[str] | None
    reuse: Reuse | None = None

    def wanted(self, plan: Plan, work: Pass) -> set[str]:
        wanted = serving(plan, work)
        return wanted if self.select is None else wanted & self.select


def _selection_note(plan: Plan, reuse: Reuse) -> str | None:
    """Which outputs a selective run takes from ``_last``, and which sources it reads again."""
    from dagwright.reuse import label

    lines = []
    if reuse.runs:
        taken = [f"{label(plan, s)} (run {run})" for s, run in reuse.runs.items()]
        lines.append("reused from the last runs' staging: " + ", ".join(taken))
    if reuse.again:
        again = [f"{label(plan, s)}: {why}" for s, why in reuse.again.items()]
        lines.append("read again, being sources read whole:\n  " + "\n  ".join(again))
    return "\n".join(lines) or None


def _unaffected(plan: Plan, select: set[str]) -> set[str]:
    """The tables a selective run does not ask about: no selected stage reaches their load."""
    reached = set(select).union(*(plan.downstream(s) for s in select))
    return {t for t in plan.spec.model.loads if stage_id("load", t) not in reached}


def _check_reads(plan: Plan, work: list[Pass], options: _Options) -> None:
    from dagwright.reuse import check_reads

    assert options.reuse is not None
    for each in work:
        check_reads(plan, each, options.reuse, options.wanted(plan, each))


def _pass(
    plan: Plan,
    ctx: RunContext,
    loader: Loader,
    exclusive: bool,
    options: _Options,
    satisfied: dict[str, str],
) -> tuple[RunRecord, dict[str, StageResult]]:
    """Run the stages that serve ``ctx.work``'s tables, recorded as one run."""
    assert ctx.work is not None
    record = _record(plan, ctx, "running")
    wanted = options.wanted(plan, ctx.work)
    reused: dict[str, StageResult] = {}
    if options.reuse is not None:
        from dagwright.reuse import serve

        reused = serve(plan, ctx, options.reuse)
    with ExitStack() as stack:
        stack.enter_context(loader.state.hold(record))
        loader.state.record_run(record)
        if exclusive and not options.keep_staging and is_local(ctx.staging_root):
            ctx.workspace = open_workspace(loader)
        if ctx.workspace is not None:
            stack.callback(ctx.workspace.close)
        waits = place_homes(plan, ctx, loader, wanted)
        results = _execute(plan, ctx, loader, record, options, wanted, waits, satisfied, reused)
        if record.status == "failed" and ctx.workspace is not None:
            ctx.workspace.keep()
        record.finished_at = datetime.now(UTC)
        loader.state.record_run(record)
    if options.keep_last:
        from dagwright.reuse import keep

        origins = options.reuse.origins if options.reuse is not None else None
        keep(plan, ctx, results, wanted, origins, copy=options.keep_staging)
    if not options.keep_staging and record.status != "failed":
        remove_run(ctx.staging_dir)  # a failed run's staging is kept to inspect (dagwright staging)
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
    options: _Options,
    wanted: set[str],
    waits: dict[str, set[str]],
    satisfied: dict[str, str],
    reused: dict[str, StageResult],
) -> dict[str, StageResult]:
    executor = StageExecutor(plan, ctx, loader, satisfied=satisfied)
    records = {s.stage: s for s in record.stages}
    results: dict[str, StageResult] = {}
    lock = threading.Lock()
    notify = options.listener or (lambda *_: None)
    materialise = options.keep_last and ctx.workspace is not None

    def execute(stage: Stage) -> StageResult:
        with lock:
            records[stage.id].status = "running"
            records[stage.id].started = round(
                (datetime.now(UTC) - record.started_at).total_seconds(), 3
            )
        notify(stage, "running", None)
        result = executor.run(stage, {k: results[k] for k in executor.needs(stage)})
        if materialise and not result.skipped:
            from dagwright.reuse import materialise as write_parquet

            write_parquet(result)
        return result

    failed: set[str] = set()
    errors: list[str] = []
    pending = {s.id: s for s in plan.ordered()}
    for sid in list(pending):
        if sid not in wanted:
            pending.pop(sid)
            stage = plan.stages[sid]
            records[sid].status = "skipped"
            records[sid].error = satisfied.get(stage.name) if stage.kind == "load" else None
            if sid in reused:
                results[sid] = reused[sid]
                records[sid].error = _reused(reused[sid], options)
            elif options.select is not None and records[sid].error is None:
                records[sid].error = "not selected"
            notify(stage, "skipped", None)
    running: dict[Future[StageResult], Stage] = {}
    with ThreadPoolExecutor(max_workers=options.max_workers, thread_name_prefix="stage") as pool:
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


def _reused(result: StageResult, options: _Options) -> str:
    if result.staged is None:
        return "not selected: read from the warehouse"
    assert options.reuse is not None
    return f"not selected: its output staged by run {options.reuse.runs[result.stage]} is reused"


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
