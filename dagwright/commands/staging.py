"""``dagwright staging [PIPELINE]``: the staged runs left in the staging root, and a purge."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "staging",
        help="list staged runs (failed runs keep theirs) or remove them; local or s3://",
        description=(
            "Lists the runs whose staged files are still in the staging root "
            "(DAGWRIGHT_STAGING_ROOT, else .dagwright/staging): run id, pipeline, state from "
            "the run log, size and age. A successful run removes its own staging when it "
            "ends; a failed run keeps it to be inspected until purged. --purge removes the "
            "listed runs, never a running one."
        ),
    )
    p.add_argument("pipeline", nargs="?", metavar="PIPELINE", help="only this pipeline")
    p.add_argument("--purge", action="store_true", help="remove the listed runs' staged files")
    p.add_argument(
        "--older-than", metavar="AGE", help="only runs last written this long ago (7d, 12h, 90m)"
    )
    p.add_argument("--failed", action="store_true", help="only runs the run log says failed")
    p.set_defaults(handler=handle)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


def _age(seconds: float) -> str:
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{seconds / length:.0f}{unit}"
    return f"{seconds:.0f}s"


def handle(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from dagwright.commands.runs import run_log
    from dagwright.errors import ConfigError
    from dagwright.retention import matching, purge, purgeable, staged_runs, with_states
    from dagwright.spec.types import parse_duration
    from dagwright.staging import staging_root

    console = Console(highlight=False)
    older_than = None
    if args.older_than is not None:
        try:
            older_than = parse_duration(args.older_than)
        except ValueError as exc:
            raise ConfigError(f"--older-than: {exc}") from None
    root = staging_root(Path(args.project).resolve())
    pipelines = [args.pipeline] if args.pipeline else None
    runs = staged_runs(root, pipelines)
    if runs:
        logged, _ = run_log(args.project, args.pipeline, 100_000, console)
        runs = with_states(runs, {r.run_id: r.status for r in logged})
    now = datetime.now(UTC)
    chosen = matching(runs, now, older_than, args.failed)
    if args.purge:
        chosen = purgeable(chosen)
    table = Table("run id", "pipeline", "state", "size", "age", title=f"staging in {root}")
    for run in chosen:
        table.add_row(
            run.run_id, run.pipeline, run.state, _size(run.size), _age(run.age(now).total_seconds())
        )
    if not chosen:
        console.print(f"no staged runs{' to remove' if args.purge else ''} in {root}")
        return 0
    console.print(table)
    if args.purge:
        freed = purge(chosen)
        console.print(f"removed {len(chosen)} staged run(s), {_size(freed)}")
    else:
        total = sum(r.size for r in chosen)
        console.print(f"{len(chosen)} staged run(s), {_size(total)}")
    return 0
