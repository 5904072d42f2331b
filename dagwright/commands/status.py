"""``dagwright status PIPELINE``: which intervals are loaded, failed or missing."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="show loaded, failed and missing intervals of a pipeline")
    p.add_argument("pipeline", metavar="PIPELINE", help="pipeline name or spec file")
    p.add_argument("--start", metavar="D", help="from (default: the spec's start_date)")
    p.add_argument("--end", metavar="D", help="until, exclusive (default: now)")
    p.add_argument("--all", action="store_true", help="one row per interval, not per stretch")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.table import Table

    from dagwright.backfill import backfill_intervals, interval_statuses
    from dagwright.executor import make_loader
    from dagwright.intervals import as_utc, parse_when
    from dagwright.plan import build_plan
    from dagwright.project import find_pipeline

    plan = build_plan(find_pipeline(args.project, args.pipeline))
    model = plan.spec.model
    start = parse_when(args.start) if args.start else as_utc(model.start_date)
    default_end = as_utc(model.end_date) if model.end_date else datetime.now(UTC)
    end = parse_when(args.end) if args.end else default_end
    intervals = backfill_intervals(plan, start, end)
    loader = make_loader(plan)
    try:
        statuses = interval_statuses(plan, loader, intervals)
    finally:
        loader.close()

    style = {"loaded": "green", "failed": "red", "missing": "yellow"}
    table = Table("from", "to", "state", "intervals", "rows", "run id", "detail")
    table.title = f"{plan.pipeline} ({model.schedule}), {len(intervals)} intervals"
    for group in _stretches(statuses, args.all):
        first, last = group[0], group[-1]
        counts = [s.rows for s in group]
        rows = sum(counts) if first.state == "loaded" and None not in counts else None  # type: ignore[arg-type]
        runs = sorted({s.run_id for s in group if s.run_id})
        single = len(group) == 1 or len(runs) == 1
        table.add_row(
            f"{first.interval.start:%Y-%m-%d %H:%M}",
            f"{last.interval.end:%Y-%m-%d %H:%M}",
            f"[{style[first.state]}]{first.state}[/]",
            str(len(group)),
            "" if rows is None else f"{rows:,}",
            ", ".join(runs) if single else "",
            first.detail[:200] if single else "",
        )
    console = Console(highlight=False)
    console.print(table)
    counts = {state: sum(1 for s in statuses if s.state == state) for state in style}
    console.print(", ".join(f"{n} {state}" for state, n in counts.items()))
    return 0


def _stretches(statuses, every):  # noqa: ANN001, ANN202
    """Consecutive intervals in the same state, grouped (failed ones always alone)."""
    groups: list[list] = []
    for status in statuses:
        if (
            not every
            and groups
            and groups[-1][-1].state == status.state
            and status.state != "failed"
        ):
            groups[-1].append(status)
        else:
            groups.append([status])
    return groups
