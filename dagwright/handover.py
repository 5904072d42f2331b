"""How the stages of a local run hand data over inside the warehouse's DuckDB.

The run's workspace (``dagwright.workspace``) holds stage outputs as tables; an output that
one replace load takes whole is built beside that load's table (a home) and renamed into
place; an output every reader has read is released early, to give its memory back.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dagwright.staging import stage_uri

if TYPE_CHECKING:
    from dagwright.context import RunContext
    from dagwright.plan import Plan, Stage
    from dagwright.results import StageResult
    from dagwright.workspace import Workspace
    from loaders.base import Loader


def open_workspace(loader: Loader) -> Workspace | None:
    """The run's in-process workspace, when the destination offers one.

    ``DAGWRIGHT_WORKSPACE=0`` turns it off (every stage output a Parquet file, as on Airflow).
    """
    if os.environ.get("DAGWRIGHT_WORKSPACE", "1") == "0":
        return None
    opener = getattr(loader, "open_workspace", None)
    return opener() if opener is not None else None


def place_homes(
    plan: Plan, ctx: RunContext, loader: Loader, wanted: set[str]
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
        if stage.id not in wanted:
            continue
        if stage.kind == "transform":
            if not plan.spec.model.transforms[stage.name].local_sql:
                continue
        elif stage.kind != "extract":
            continue
        readers = [r for r in plan.readers(stage.id) if r.id in wanted]
        loads = [r for r in readers if r.kind == "load"]
        if len(loads) != 1 or plan.spec.model.loads[loads[0].name].write != "replace":
            continue
        load = loads[0]
        if workspace.place(stage_uri(ctx.staging_dir, stage.id), target_of(load.name), ctx.run_id):
            later = plan.downstream(load.id)
            waits[load.id] = {r.id for r in readers if r.id != load.id and r.id not in later}
    return waits


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
