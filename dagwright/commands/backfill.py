"""``dagwright backfill PIPELINE... --start D --end D``: run a range of intervals, skip done ones.

Several pipelines (or ``--downstream``) backfill one after another in dependency order
(``dagwright.pipelines``): a pipeline after those whose tables it reads.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "backfill",
        help="run every schedule interval in a date range (locally, or via Airflow)",
        description=(
            "Split [--start, --end) into the pipeline's schedule intervals and run those not "
            "loaded yet (the interval ledger in the destination says which are)."
        ),
    )
    p.add_argument("pipelines", nargs="+", metavar="PIPELINE", help="pipeline names or spec files")
    p.add_argument(
        "--downstream",
        action="store_true",
        help="also backfill every pipeline reading their tables, in dependency order",
    )
    p.add_argument("--start", metavar="D", required=True, help="range start (YYYY-MM-DD[THH:MM])")
    p.add_argument("--end", metavar="D", required=True, help="range end, exclusive")
    p.add_argument(
        "--reprocess",
        choices=["none", "failed", "all"],
        default="none",
        help="none: only missing intervals (default); failed: also failed ones; all: every one",
    )
    p.add_argument("--parallel", type=int, default=1, metavar="N", help="intervals at once")
    p.add_argument("--dry-run", action="store_true", help="show what would run, run nothing")
    p.add_argument(
        "--via",
        choices=["local", "airflow"],
        default="local",
        help="airflow: hand the range to `airflow backfill create` (AIRFLOW_HOME must be set)",
    )
    from dagwright.commands.run import add_param_option

    add_param_option(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from rich.console import Console

    from dagwright.errors import DagwrightError
    from dagwright.intervals import parse_when

    if args.parallel < 1:
        raise DagwrightError("--parallel must be 1 or more")
    order = _pipelines(args)
    start, end = parse_when(args.start), parse_when(args.end)
    console = Console(highlight=False)
    if args.via == "airflow":
        return _handed_to_airflow(order, start, end, args, console)
    for number, spec in enumerate(order):
        if _backfill_one(spec, order, start, end, args, console) != 0:
            rest = [s.name for s in order[number + 1 :]]
            if rest:
                console.print(
                    f"[red]stopped:[/] {spec.name} has failed intervals; not backfilled: "
                    f"{', '.join(rest)} (they read its tables)"
                )
            return 1
    return 0


def _pipelines(args: argparse.Namespace) -> list:  # noqa: ANN001 - PipelineSpec
    """The specs to backfill, in dependency order."""
    from dagwright.pipelines import project_graph
    from dagwright.project import find_pipeline

    given = [find_pipeline(args.project, name) for name in args.pipelines]
    if len(given) == 1 and not args.downstream:
        return given
    graph = project_graph(args.project, *given)
    names = {s.name for s in given}
    if args.downstream:
        names |= {d.name for s in given for d in graph.with_downstream(s.name)}
    return graph.order([n for n in graph.specs if n in names])


def _backfill_one(spec, order, start, end, args, console) -> int:  # noqa: ANN001
    from dagwright.backfill import backfill_intervals, interval_statuses, to_run
    from dagwright.executor import make_loader
    from dagwright.plan import build_plan

    params = _params(args, spec, order)
    plan = build_plan(spec)
    intervals = backfill_intervals(plan, start, end)
    loader = make_loader(plan)
    try:
        statuses = interval_statuses(plan, loader, intervals)
    finally:
        loader.close()
    pending = to_run(statuses, args.reprocess)
    if args.dry_run:
        console.print(_plan_table(plan.pipeline, statuses, set(pending)))
        console.print(f"{len(pending)} of {len(intervals)} intervals would run (dry run)")
        return 0
    skipped = len(intervals) - len(pending)
    if not pending:
        failed = sum(1 for s in statuses if s.state == "failed")
        if failed:
            console.print(
                f"nothing to do: {len(intervals) - failed} loaded, {failed} failed "
                "(run failed intervals again with --reprocess failed)"
            )
        else:
            console.print(
                f"nothing to do: all {len(intervals)} intervals of {plan.pipeline} are loaded "
                "(use --reprocess all to run them again)"
            )
        return 0
    from dagwright.backfill import sequential_because

    why = sequential_because(plan) if args.parallel > 1 else None
    if why:
        console.print(f"note: {why}, so intervals run one after another")
    results = _run(plan, pending, args.parallel, console, params)
    console.print(_result_table(plan.pipeline, results))
    failed = [r for r in results if r.outcome == "failed"]
    loaded = len(results) - len(failed)
    console.print(
        f"{loaded} interval(s) loaded, {len(failed)} failed, {skipped} already loaded and skipped"
    )
    return 1 if failed else 0


def _params(args: argparse.Namespace, spec, order: list) -> dict[str, str]:  # noqa: ANN001
    """``spec``'s ``--param`` values: all of them for a pipeline backfilled alone; with
    several, those it declares (a name none of them declares is refused)."""
    from dagwright.commands.run import given_params

    if len(order) == 1:
        return given_params(args, spec)
    from dagwright.errors import ConfigError

    def name(pair: str) -> str:
        return pair.partition("=")[0].strip().lower()

    known = {str(n).lower() for s in order for n in s.model.params}
    unknown = [p for p in args.param if name(p) not in known]
    if unknown:
        raise ConfigError(
            f"--param {unknown[0]!r}: none of {', '.join(s.name for s in order)} declares it"
        )
    own = {str(n).lower() for n in spec.model.params}
    return given_params(argparse.Namespace(param=[p for p in args.param if name(p) in own]), spec)


def _handed_to_airflow(order, start, end, args, console) -> int:  # noqa: ANN001
    """Hand the range to Airflow. A pipeline scheduled on the tables it reads is not
    backfilled by itself: Airflow runs it for each interval its upstream loads."""
    from dagwright.backfill import backfill_intervals
    from dagwright.errors import ConfigError
    from dagwright.intervals import cron_of
    from dagwright.plan import build_plan

    handed = [s for s in order if cron_of(s.model.schedule) is not None]
    following = [s for s in order if s not in handed]
    if not handed:
        spec = following[0]
        raise ConfigError(
            f"pipeline {spec.name!r} is scheduled on tables ({spec.model.schedule!r}), so "
            "Airflow cannot backfill it by itself: it runs it for each interval the "
            "pipelines loading those tables load\nhint: backfill the first pipeline via "
            "airflow (its backfill flows downstream), or this one locally (--via local)"
        )
    for spec in following:
        console.print(
            f"{spec.name}: scheduled on tables, so Airflow runs it after each interval "
            "upstream loads (partitioned assets)"
        )
    code = 0
    for spec in handed:
        plan = build_plan(spec)
        intervals = backfill_intervals(plan, start, end)
        params = _params(args, spec, order)
        code = max(code, _via_airflow(plan.pipeline, intervals, args, console, params))
    return code


def _run(plan, pending, parallel, console, params):  # noqa: ANN001, ANN202 - typed in backfill.py
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from dagwright.backfill import run_backfill

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        bar = progress.add_task(f"backfilling {plan.pipeline}", total=len(pending))
        return run_backfill(plan, pending, parallel, lambda _: progress.advance(bar), params)


def _when(value) -> str:  # noqa: ANN001
    return f"{value:%Y-%m-%d %H:%M}"


def _plan_table(pipeline, statuses, pending):  # noqa: ANN001, ANN202
    from rich.table import Table

    table = Table("interval", "state", "action", title=f"backfill plan for {pipeline}")
    for s in statuses:
        action = "run" if s.interval in pending else "skip"
        table.add_row(f"{_when(s.interval.start)} .. {_when(s.interval.end)}", s.state, action)
    return table


def _result_table(pipeline, results):  # noqa: ANN001, ANN202
    from rich.table import Table

    style = {"loaded": "green", "failed": "red", "skipped": "yellow"}
    table = Table("interval", "result", "rows loaded", "seconds", "run id", "error")
    table.title = f"backfill of {pipeline}"
    for r in results:
        table.add_row(
            f"{_when(r.interval.start)} .. {_when(r.interval.end)}",
            f"[{style[r.outcome]}]{r.outcome}[/]",
            "" if r.rows is None else f"{r.rows:,}",
            "" if r.seconds is None else f"{r.seconds:.1f}",
            r.run_id or "",
            (r.error or "").splitlines()[0][:200] if r.error else "",
        )
    return table


def _via_airflow(pipeline, intervals, args, console, params) -> int:  # noqa: ANN001
    import os
    import shutil
    import subprocess
    import sys

    from dagwright.backfill import airflow_backfill_command
    from dagwright.errors import ConfigError

    command = airflow_backfill_command(
        pipeline, intervals, args.reprocess, args.parallel, args.dry_run, params
    )
    executable = shutil.which("airflow") or shutil.which(
        "airflow", path=os.path.dirname(sys.executable)
    )
    if executable is None:
        raise ConfigError("the airflow command is not installed: pip install 'dagwright[airflow]'")
    console.print(f"{len(intervals)} interval(s) handed to Airflow: {' '.join(command)}")
    if args.dry_run:
        proc = subprocess.run([executable, *command[1:]], capture_output=True, text=True)
        console.print((proc.stdout + proc.stderr).strip())
        return proc.returncode
    from datetime import UTC, datetime, timedelta

    since = datetime.now(UTC) - timedelta(seconds=5)
    proc = subprocess.run([executable, *command[1:]], capture_output=True, text=True)
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        last = [line for line in output.splitlines() if line.strip()][-5:]
        raise ConfigError(
            f"airflow backfill create failed (exit {proc.returncode}):\n"
            + "\n".join(last)
            + "\nhint: is AIRFLOW_HOME set, the metadata database migrated and the DAG parsed?"
        )
    from dagwright.airflow.backfills import newest_backfill

    handed = newest_backfill(pipeline, intervals, since)
    console.print(_handed_table(pipeline, handed))
    queued = [h for h in handed if h.run_id is not None]
    left = [h for h in handed if h.run_id is None]
    console.print(f"Airflow created {len(queued)} run(s) for {len(intervals)} interval(s)")
    for h in left:
        held = f": {h.held_by} holds that logical date" if h.held_by else ""
        console.print(
            f"  not run by this backfill: {_when(h.interval.start)} .. {_when(h.interval.end)}"
            f" ({h.reason}{held})"
        )
    if left:
        console.print(
            "  hint: `dagwright status` shows whether those intervals are loaded; to run them "
            "again, backfill with --reprocess all (Airflow clears and reruns the run holding "
            f"the date) or run them locally: dagwright run {pipeline} --start D --end D"
        )
    console.print(
        f"Airflow's scheduler runs them; follow with `dagwright status {pipeline}` "
        "or in the Airflow UI (Backfills)"
    )
    return 0


def _handed_table(pipeline, handed):  # noqa: ANN001, ANN202
    from rich.table import Table

    table = Table(
        "interval", "Airflow run", "state", "not run because", title=f"{pipeline} in Airflow"
    )
    for h in handed:
        why = h.reason or ""
        if h.held_by:
            why += f": {h.held_by}"
        table.add_row(
            f"{_when(h.interval.start)} .. {_when(h.interval.end)}",
            h.run_id or "",
            h.state or "",
            why,
        )
    return table
