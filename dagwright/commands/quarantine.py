"""``dagwright quarantine PIPELINE [--replay]``: rows held back by quarantine checks.

Lists the quarantined rows not yet replayed, and the source lines set aside because they
could not be read (``bad_rows: reject``: file, line, reason, raw text). ``--replay``
(after fixing the suite or the rows) reruns each affected interval with those rows added
back to the checked stage's input; rows that now pass are loaded, rows that still fail
are quarantined again under the new run, and the replayed batches are marked done.
Rejected lines are not replayed: fix the file and run its interval again (the rerun
replaces them).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from dagwright.plan import Plan
    from loaders.base import Loader

REPLAYS_TABLE = "_dagwright.quarantine_replays"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quarantine", help="list quarantined rows, or replay them after a fix")
    p.add_argument("pipeline", metavar="PIPELINE", help="pipeline name or spec file")
    p.add_argument("--replay", action="store_true", help="rerun the quarantined rows")
    p.add_argument("--all", action="store_true", help="also list rows already replayed")
    p.add_argument("--limit", type=int, default=50, help="rows shown per table (default 50)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from rich.console import Console

    from dagwright.executor import make_loader
    from dagwright.plan import build_plan
    from dagwright.project import find_pipeline

    plan = build_plan(find_pipeline(args.project, args.pipeline))
    loader = make_loader(plan)
    console = Console(highlight=False)
    try:
        stages = quarantine_stages(plan)
        rejected = rejected_rows(plan, loader)
        if not stages and rejected is None:
            console.print(f"{plan.pipeline} has no checks with severity quarantine")
            return 0
        pending = pending_rows(plan, loader, stages, include_replayed=args.all)
        if args.replay:
            if rejected is not None:
                console.print(
                    f"{rejected.num_rows:,} rejected line(s) are not replayed: fix the files "
                    "and run their intervals again"
                )
            return replay(plan, loader, pending, console)
        if stages or not rejected:
            show(pending, console, args.limit)
        show_rejected(rejected, console, args.limit)
        return 0
    finally:
        loader.close()


def quarantine_stages(plan: Plan) -> dict[str, str]:
    """Check stage id -> its quarantine table, for checks with a quarantine item."""
    from expectations.runner import quarantine_table
    from expectations.suites import checks_for

    found: dict[str, str] = {}
    for stage in plan.ordered():
        if stage.kind != "check" or stage.checks_of == "load":
            continue
        checks = checks_for(plan.spec, stage.checks_of or "source", stage.name)
        if any(i.severity == "quarantine" for i in checks.items):
            found[stage.id] = quarantine_table(stage.name)
    return found


def read_optional(loader: Loader, table: str) -> pa.Table | None:
    """The table, or ``None`` when it does not exist yet."""
    try:
        return loader.read_table(table)
    except Exception as exc:  # noqa: BLE001 - each loader has its own "no such table" error
        text = str(exc).lower()
        if "does not exist" in text or "not found" in text or "no such" in text:
            return None
        raise


def pending_rows(
    plan: Plan, loader: Loader, stages: dict[str, str], include_replayed: bool = False
) -> dict[str, pa.Table]:
    """Check stage id -> its quarantined rows not replayed yet (all rows if asked)."""
    import pyarrow.compute as pc

    done: set[tuple[str, str]] = set()
    marks = read_optional(loader, REPLAYS_TABLE)
    if marks is not None and not include_replayed:
        done = set(
            zip(
                marks.column("quarantine_run_id").to_pylist(),
                marks.column("stage").to_pylist(),
                strict=True,
            )
        )
    result: dict[str, pa.Table] = {}
    for stage_id, table in stages.items():
        rows = read_optional(loader, table)
        if rows is None or rows.num_rows == 0:
            continue
        rows = rows.filter(pc.equal(rows.column("_dagwright_stage"), stage_id))
        keep = [(run, stage_id) not in done for run in rows.column("_dagwright_run_id").to_pylist()]
        rows = rows.filter(keep)
        if rows.num_rows:
            result[stage_id] = rows
    return result


def rejected_rows(plan: Plan, loader: Loader) -> pa.Table | None:
    """The pipeline's source lines set aside by ``bad_rows: reject``; ``None``: none."""
    import pyarrow.compute as pc

    from dagwright.state import REJECTED_TABLE

    rows = read_optional(loader, REJECTED_TABLE)
    if rows is None:
        return None
    rows = rows.filter(pc.equal(rows.column("pipeline"), plan.pipeline))
    return rows.sort_by([("stage", "ascending"), ("file", "ascending"), ("line", "ascending")])


def show_rejected(rows: pa.Table | None, console: Any, limit: int) -> None:
    """The rejected lines, a table per source, beside the quarantined rows."""
    import pyarrow.compute as pc
    from rich.table import Table

    if rows is None or rows.num_rows == 0:
        return
    for stage_id in sorted(set(rows.column("stage").to_pylist())):
        lines = rows.filter(pc.equal(rows.column("stage"), stage_id))
        table = Table(
            "run id",
            "file",
            "line",
            "failed",
            "raw line",
            title=f"{stage_id}: {lines.num_rows:,} rejected line(s) (bad_rows: reject)",
            title_justify="left",
        )
        for row in lines.slice(0, limit).to_pylist():
            raw = row["raw_line"] or ""
            table.add_row(
                str(row["run_id"]),
                str(row["file"]),
                str(row["line"]),
                str(row["reason"]),
                raw if len(raw) <= 200 else raw[:200] + "...",
            )
        console.print(table)
        if lines.num_rows > limit:
            console.print(f"... {lines.num_rows - limit:,} more (--limit)")


def show(pending: dict[str, pa.Table], console: Any, limit: int) -> None:
    from rich.table import Table

    from expectations.runner import META_COLUMNS, jsonable_row

    if not pending:
        console.print("no quarantined rows waiting")
        return
    for stage_id, rows in pending.items():
        data_columns = [c for c in rows.schema.names if c not in META_COLUMNS]
        table = Table(
            "run id",
            "row",
            "failed",
            *data_columns,
            title=f"{stage_id}: {rows.num_rows:,} quarantined row(s)",
            title_justify="left",
        )
        for row in rows.slice(0, limit).to_pylist():
            row = jsonable_row(row)
            table.add_row(
                str(row["_dagwright_run_id"]),
                str(row["_dagwright_row"]),
                str(row["_dagwright_failed"]),
                *("" if row[c] is None else str(row[c]) for c in data_columns),
            )
        console.print(table)
        if rows.num_rows > limit:
            console.print(f"... {rows.num_rows - limit:,} more (--limit)")


def replay(plan: Plan, loader: Loader, pending: dict[str, pa.Table], console: Any) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc

    from dagwright.context import Interval, new_run_id
    from dagwright.display import summary_table
    from dagwright.runner import run_pipeline
    from expectations import runner as checks

    if not pending:
        console.print("no quarantined rows waiting")
        return 0
    runs = {r.run_id: r for r in loader.state.recent_runs(plan.pipeline, limit=100_000)}
    by_interval: dict[Any, dict[str, list[str]]] = {}
    for stage_id, rows in pending.items():
        for run_id in sorted(set(rows.column("_dagwright_run_id").to_pylist())):
            record = runs.get(run_id)
            key = (
                (record.interval_start, record.interval_end)
                if record and record.interval_start and record.interval_end
                else None
            )
            by_interval.setdefault(key, {}).setdefault(stage_id, []).append(run_id)
    status = 0
    for key, stage_runs in sorted(by_interval.items(), key=lambda kv: str(kv[0])):
        run_id = new_run_id()
        batches = {
            stage_id: checks.replay_rows(
                pending[stage_id].filter(
                    pc.is_in(pending[stage_id].column("_dagwright_run_id"), pa.array(run_ids))
                )
            )
            for stage_id, run_ids in stage_runs.items()
        }
        checks.REPLAY[run_id] = batches
        try:
            outcome = run_pipeline(
                plan, Interval(*key) if key else None, run_id=run_id, reprocess=True
            )
        finally:
            checks.REPLAY.pop(run_id, None)
        console.print(summary_table(outcome.record))
        replayed = sum(t.num_rows for t in batches.values())
        if not outcome.ok:
            console.print(f"[red]replay failed:[/red] {outcome.record.error}", markup=True)
            status = 1
            continue
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        marks = [(r, s) for s, run_ids in stage_runs.items() for r in run_ids]
        from dagwright.state import SideRows

        replays = pa.table(
            {
                "quarantine_run_id": [r for r, _ in marks],
                "stage": [s for _, s in marks],
                "replay_run_id": [run_id] * len(marks),
                "replayed_at": pa.array([now] * len(marks), pa.timestamp("us", tz="UTC")),
            }
        )
        loader.state.store_side_rows(
            [SideRows(REPLAYS_TABLE, replays, "stage", "replay_run_id")], "", []
        )
        console.print(
            f"replayed {replayed:,} quarantined row(s) in run {run_id}; "
            "rows that still fail are quarantined again under that run"
        )
    return status
