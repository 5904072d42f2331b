"""``dagwright runs [PIPELINE]``: recent runs from the destination's run log."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from dagwright.state import RunRecord


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list recent runs from the run log")
    p.add_argument("pipeline", nargs="?", metavar="PIPELINE", help="only this pipeline")
    p.add_argument("--limit", type=int, default=20, help="how many runs (default 20)")
    p.set_defaults(handler=handle)


def run_log(
    project: str, pipeline: str | None, limit: int, console: Console
) -> tuple[list[RunRecord], int]:
    """The recent runs of every destination the project's specs (or ``pipeline``) write to,
    and how many run logs could not be read (each named in a note on ``console``)."""
    from rich.text import Text

    from dagwright.errors import DagwrightError
    from dagwright.executor import make_loader
    from dagwright.plan import build_plan
    from dagwright.project import one_per_destination, pipeline_specs

    specs, _ = pipeline_specs(project, pipeline)
    runs: list[RunRecord] = []
    unreadable = 0
    for spec in one_per_destination(specs):
        try:
            loader = make_loader(build_plan(spec))
            try:
                runs += loader.state.recent_runs(pipeline, limit)
            finally:
                loader.close()
        except DagwrightError as exc:
            unreadable += 1
            console.print(
                Text(f"note: the run log of {spec.name} ({spec.path.name}) cannot be read: {exc}")
            )
    return runs, unreadable


def handle(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    runs, unreadable = run_log(args.project, args.pipeline, args.limit, console)
    runs.sort(key=lambda r: r.started_at, reverse=True)
    table = Table(
        "run id", "pipeline", "interval", "status", "started", "seconds", "rows loaded", "error"
    )
    for run in runs[: args.limit]:
        interval = (
            f"{run.interval_start:%Y-%m-%d %H:%M} .. {run.interval_end:%Y-%m-%d %H:%M}"
            if run.interval_start and run.interval_end
            else "full"
        )
        seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
        loaded = sum(s.rows_out or 0 for s in run.stages if s.kind == "load")
        table.add_row(
            run.run_id,
            run.pipeline,
            interval,
            run.status,
            f"{run.started_at:%Y-%m-%d %H:%M:%S}",
            "" if seconds is None else f"{seconds:.1f}",
            f"{loaded:,}",
            (run.error or "").splitlines()[0][:60] if run.error else "",
        )
    console.print(table)
    return 1 if unreadable and not runs else 0
