"""The local runner: a plan executed in-process, independent branches on threads.

It records the run in the destination's run log when it starts and when it ends,
whatever happens in between.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dagwright.context import Interval, RunContext, new_run_id
from dagwright.errors import DagwrightError
from dagwright.executor import StageExecutor, StageResult, make_loader
from dagwright.plan import Plan, Stage
from dagwright.staging import remove_run
from dagwright.state import RunRecord, StageRecord

Listener = Callable[[Stage, str, StageResult | None], None]
"""Called as stages change status: 'running', 'success', 'failed', 'skipped'."""


@dataclass
class RunOutcome:
    record: RunRecord
    results: dict[str, StageResult]

    @property
    def ok(self) -> bool:
        return self.record.status == "success"


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
    loader.record_run(record)
    ctx.watermarks = loader.watermarks(plan.pipeline)
    executor = StageExecutor(plan, ctx, loader)
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
    running: dict[Future[StageResult], Stage] = {}
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="stage") as pool:
        while pending or running:
            for sid, stage in list(pending.items()):
                if any(u in failed for u in stage.upstream):
                    pending.pop(sid)
                    failed.add(sid)
                    records[sid].status = "skipped"
                    notify(stage, "skipped", None)
                elif all(u in results for u in stage.upstream):
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
                    message = (
                        str(exc)
                        if isinstance(exc, DagwrightError)
                        else f"{type(exc).__name__}: {exc}"
                    )
                    rec.status, rec.error = "failed", message
                    errors.append(message)
                    notify(stage, "failed", None)
                    continue
                results[stage.id] = result
                rec.status = "success"
                rec.rows_in, rec.rows_out = result.rows_in, result.rows_out
                rec.seconds, rec.checks = result.seconds, result.checks
                rec.sql = list(result.sql)
                notify(stage, "success", result)
    record.status = "failed" if failed else "success"
    record.error = "\n".join(errors) or None
    record.finished_at = datetime.now(UTC)
    loader.record_run(record)
    loader.close()
    if not keep_staging:
        remove_run(ctx.staging_dir)
    return RunOutcome(record, results)
