"""Backfills: a date range split into the schedule's intervals, each run like ``dagwright run``.

Which intervals are done is read from the destination: the interval ledger (one row per
loaded table and interval, committed with the data) and the run log. An interval is

- ``loaded`` when every table of the pipeline has a ledger row for it,
- ``failed`` when it is not loaded and its latest run failed, or only some tables loaded,
- ``missing`` when nothing was ever attempted for it.

``reprocess`` follows Airflow's ``--reprocess-behavior``: ``none`` runs missing intervals,
``failed`` also failed ones, ``all`` every interval (loads are idempotent per interval, so
rerunning replaces an interval's rows instead of adding to them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from dagwright.errors import DagwrightError
from dagwright.intervals import Interval, as_utc, intervals_between

if TYPE_CHECKING:
    from dagwright.plan import Plan
    from loaders.base import Loader

Reprocess = Literal["none", "failed", "all"]
IntervalState = Literal["loaded", "failed", "missing"]
AIRFLOW_REPROCESS = {"none": "none", "failed": "failed", "all": "completed"}


@dataclass(frozen=True)
class IntervalStatus:
    interval: Interval
    state: IntervalState
    run_id: str | None = None
    rows: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class IntervalResult:
    interval: Interval
    outcome: Literal["loaded", "failed", "skipped"]
    run_id: str | None = None
    rows: int | None = None
    seconds: float | None = None
    error: str | None = None


def backfill_intervals(plan: Plan, start: datetime, end: datetime) -> list[Interval]:
    """The schedule's complete intervals in ``[start, end)``, clamped to the pipeline's
    ``start_date`` and ``end_date`` (an interval still under way is not complete)."""
    from dagwright.pipelines import interval_schedule

    schedule = interval_schedule(plan.spec)
    if schedule is None:
        raise DagwrightError(
            f"pipeline {plan.pipeline!r} has no interval schedule "
            f"({plan.spec.model.schedule!r}): backfills need a cron or preset schedule such "
            "as '@daily', or to read the tables of pipelines that share one"
        )
    if end <= start:
        raise DagwrightError("--end must be after --start")
    model = plan.spec.model
    first = as_utc(model.start_date)
    start = max(start, first)
    if model.end_date is not None:
        end = min(end, as_utc(model.end_date))
    end = min(end, datetime.now(UTC))
    if end <= start:
        raise DagwrightError(
            f"the range lies outside the pipeline's dates (start_date {first:%Y-%m-%d}"
            + (f", end_date {as_utc(model.end_date):%Y-%m-%d}" if model.end_date else "")
            + ")"
        )
    intervals = intervals_between(schedule, start, end)
    if not intervals:
        raise DagwrightError(
            f"no complete {schedule} interval lies between {start.isoformat()} and "
            f"{end.isoformat()}; the end is exclusive"
        )
    return intervals


def interval_statuses(
    plan: Plan, loader: Loader, intervals: list[Interval]
) -> list[IntervalStatus]:
    """Each interval's state, from the tables' records: an interval is loaded when every
    table whose rows depend on the interval holds a load covering it (its own, or a range
    run's that contains it)."""
    from dagwright.needs import interval_tables

    tables = interval_tables(plan)
    states = loader.state.tables(plan.pipeline)
    runs = [
        r
        for r in reversed(loader.state.recent_runs(plan.pipeline, limit=1_000_000))
        if r.interval_start is not None and r.interval_end is not None
    ]
    statuses: list[IntervalStatus] = []
    for interval in intervals:
        loaded = {}
        for table in tables:
            found = states[table].covering(interval) if table in states else None
            if found is not None:
                loaded[table] = found
        run = next(
            (
                r
                for r in reversed(runs)
                if as_utc(r.interval_start) <= interval.start  # type: ignore[arg-type]
                and interval.end <= as_utc(r.interval_end)  # type: ignore[arg-type]
            ),
            None,
        )
        if set(tables) <= set(loaded):
            run_ids = sorted({loaded[t][0] for t in tables})
            counts = [loaded[t][1] for t in tables]
            rows = None if None in counts else sum(c for c in counts if c is not None)
            detail = "" if rows is not None else "loaded by a run over a wider range"
            statuses.append(IntervalStatus(interval, "loaded", ", ".join(run_ids), rows, detail))
        elif loaded:
            missing = ", ".join(sorted(set(tables) - set(loaded)))
            detail = f"partly loaded: {missing} not loaded"
            statuses.append(
                IntervalStatus(interval, "failed", run.run_id if run else None, None, detail)
            )
        elif run is not None and run.dead:
            detail = (run.error or run.status).splitlines()[0]
            statuses.append(IntervalStatus(interval, "failed", run.run_id, None, detail))
        else:
            statuses.append(IntervalStatus(interval, "missing"))
    return statuses


def to_run(statuses: list[IntervalStatus], reprocess: Reprocess) -> list[Interval]:
    wanted = {
        "none": {"missing"},
        "failed": {"missing", "failed"},
        "all": {"missing", "failed", "loaded"},
    }
    return [s.interval for s in statuses if s.state in wanted[reprocess]]


def run_interval(
    spec_path: str,
    project_root: str,
    start: str,
    end: str,
    params: dict[str, str] | None = None,
) -> IntervalResult:
    """Run one interval with the local runner (also the entry point of worker processes)."""
    from pathlib import Path

    from dagwright.plan import build_plan
    from dagwright.runner import run_pipeline
    from dagwright.spec.load import load_spec

    interval = Interval(datetime.fromisoformat(start), datetime.fromisoformat(end))
    plan = build_plan(load_spec(Path(spec_path), Path(project_root)))
    outcome = run_pipeline(plan, interval, max_workers=2, params=params)
    record = outcome.record
    rows = sum(s.rows_out or 0 for s in record.stages if s.kind == "load")
    seconds = (
        (record.finished_at - record.started_at).total_seconds() if record.finished_at else None
    )
    if outcome.ok:
        state = "skipped" if record.status == "skipped" else "loaded"
        return IntervalResult(interval, state, record.run_id, rows, seconds)
    return IntervalResult(interval, "failed", record.run_id, rows, seconds, record.error)


def run_backfill(
    plan: Plan,
    intervals: list[Interval],
    parallel: int = 1,
    on_done: Callable[[IntervalResult], None] | None = None,
    params: dict[str, str] | None = None,
) -> list[IntervalResult]:
    """Run ``intervals``, at most ``parallel`` at once (each in its own process when > 1).

    A failed interval never stops the others. A destination that locks itself for a whole
    run (an embedded DuckDB file: one writer process at a time) cannot take overlapping
    runs, so its intervals run one after another whatever ``parallel`` says.
    """
    notify = on_done or (lambda _: None)
    args = [
        (
            str(plan.spec.path),
            str(plan.spec.project_root),
            i.start.isoformat(),
            i.end.isoformat(),
            params,
        )
        for i in intervals
    ]
    results: list[IntervalResult] = []
    if parallel <= 1 or len(intervals) <= 1 or sequential_because(plan):
        for arg in args:
            result = _guarded(*arg)
            results.append(result)
            notify(result)
        return results
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=parallel, mp_context=context) as pool:
        futures = {pool.submit(_guarded, *arg): arg for arg in args}
        for future in as_completed(futures):
            result = future.result()
            results.append(result)
            notify(result)
    results.sort(key=lambda r: r.interval.start)
    return results


def sequential_because(plan: Plan) -> str | None:
    """Why the intervals must run one by one, if they must: the destination takes one
    writer, or a source is read past a cursor (each interval goes on from the one before)."""
    from dagwright.executor import make_loader
    from dagwright.needs import discipline

    if type(make_loader(plan)).one_writer:
        return f"{plan.spec.model.destination.loader} takes one writer at a time"
    cursors = [s for s in plan.spec.model.sources if discipline(plan.spec, s) == "cursor"]
    if cursors:
        return f"source(s) {', '.join(cursors)} are read past a cursor, interval after interval"
    return None


def _guarded(
    spec_path: str, project_root: str, start: str, end: str, params: dict[str, str] | None
) -> IntervalResult:
    """``run_interval`` that reports any error as the interval's failure."""
    try:
        return run_interval(spec_path, project_root, start, end, params)
    except Exception as exc:  # noqa: BLE001 - one interval's failure is reported, not raised
        interval = Interval(datetime.fromisoformat(start), datetime.fromisoformat(end))
        message = str(exc) if isinstance(exc, DagwrightError) else f"{type(exc).__name__}: {exc}"
        return IntervalResult(interval, "failed", error=message)


def airflow_backfill_command(
    pipeline: str,
    intervals: list[Interval],
    reprocess: Reprocess,
    parallel: int,
    dry_run: bool,
    params: dict[str, str] | None = None,
) -> list[str]:
    """``airflow backfill create`` for the same intervals: logical dates are interval starts."""
    command = [
        "airflow",
        "backfill",
        "create",
        "--dag-id",
        pipeline,
        "--from-date",
        intervals[0].start.isoformat(),
        "--to-date",
        intervals[-1].start.isoformat(),
        "--reprocess-behavior",
        AIRFLOW_REPROCESS[reprocess],
        "--max-active-runs",
        str(max(parallel, 1)),
    ]
    if params:
        import json

        command += ["--dag-run-conf", json.dumps(params)]
    if dry_run:
        command.append("--dry-run")
    return command
