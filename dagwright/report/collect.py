"""Everything a run report shows, gathered from the destination the run wrote to.

The run log is the source of truth; the side tables (check results, quarantine) and
column lineage are optional, and their absence is reported rather than fatal.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.errors import DagwrightError
from dagwright.state import RunRecord

if TYPE_CHECKING:
    from dagwright.plan import Plan
    from loaders.base import Loader

CHECK_RESULTS = "_dagwright.check_results"
RUN_ID_COLUMNS = ("run_id", "_dagwright_run_id", "_dagwright_load_id")


@dataclass
class SideTable:
    """Rows of an optional table for this run; ``note`` says why there are none."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None


@dataclass
class ReportData:
    run: RunRecord
    destination: str
    edges: list[tuple[str, str]]
    """(upstream, downstream) stage ids of the run's graph."""
    checks: SideTable
    quarantine: dict[str, int]
    quarantine_note: str | None
    quarantined: dict[str, list[dict[str, Any]]]
    """Per quarantine table, the first rows this run set aside (their values and why)."""
    previous: list[RunRecord]
    """The pipeline's other recent runs, newest first (the report links their pages)."""
    lineage: Any
    lineage_note: str | None
    rejected: dict[str, int] = field(default_factory=dict)
    """Per source, the lines this run set aside as unreadable (``bad_rows: reject``)."""


def find_run(
    project: str | Path, run_id: str | None, pipeline: str | None
) -> tuple[Plan, Loader, RunRecord]:
    """The run ``run_id`` (a unique prefix will do), or the newest run, with its plan."""
    from dagwright.executor import make_loader
    from dagwright.plan import build_plan
    from dagwright.project import dags_dir, find_pipeline, one_per_destination
    from dagwright.spec.load import discover, load_specs

    if pipeline:
        specs = [find_pipeline(project, pipeline)]
    else:
        specs, _ = load_specs(discover([dags_dir(project)]))
    if not specs:
        raise DagwrightError(
            f"no valid pipeline specs in {dags_dir(project)} (dagwright validate lists problems)"
        )
    found: list[tuple[Plan, Loader, RunRecord]] = []
    opened: list[Loader] = []
    for spec in one_per_destination(specs):
        plan = build_plan(spec)
        loader = make_loader(plan)
        opened.append(loader)
        try:
            recent = loader.state.recent_runs(pipeline, 100_000 if run_id else 1)
        except DagwrightError:
            continue  # a destination that cannot be reached holds no run we could report
        for run in recent:
            if run_id is None or run.run_id == run_id or run.run_id.startswith(run_id):
                found.append((plan, loader, run))
    if run_id is not None:
        exact = [f for f in found if f[2].run_id == run_id]
        found = exact or found
    if not found:
        if run_id is None:
            raise DagwrightError("no runs in the run log yet: run a pipeline first (dagwright run)")
        raise DagwrightError(
            f"no run {run_id!r} in the run log; 'dagwright runs' lists recent runs"
        )
    if len({f[2].run_id for f in found}) > 1 and run_id is not None:
        ids = ", ".join(sorted(f[2].run_id for f in found)[:5])
        raise DagwrightError(f"run id prefix {run_id!r} is ambiguous: {ids}")
    found.sort(key=lambda f: f[2].started_at, reverse=True)
    plan, loader, run = found[0]
    for other in opened:
        if other is not loader:
            other.close()
    if plan.pipeline != run.pipeline:
        specs_by_name = {s.name: s for s in specs}
        if run.pipeline in specs_by_name:
            plan = build_plan(specs_by_name[run.pipeline])
    return plan, loader, run


QUARANTINE_SAMPLE = 20
QUARANTINE_HIDDEN = ("_dagwright_run_id", "_dagwright_stage", "_dagwright_quarantined_at")


def collect(plan: Plan, loader: Loader, run: RunRecord) -> ReportData:
    checks = _check_results(loader, run.run_id)
    quarantine, quarantine_note, quarantined = _quarantine(loader, run.run_id)
    lineage, lineage_note = _lineage(plan, loader)
    previous = [r for r in loader.state.recent_runs(run.pipeline, 11) if r.run_id != run.run_id][
        :10
    ]
    return ReportData(
        run=run,
        destination=loader.describe(),
        edges=_edges(plan, run),
        checks=checks,
        quarantine=quarantine,
        quarantine_note=quarantine_note,
        quarantined=quarantined,
        previous=previous,
        lineage=lineage,
        lineage_note=lineage_note,
        rejected=_rejected(loader, run.run_id),
    )


def _edges(plan: Plan, run: RunRecord) -> list[tuple[str, str]]:
    """The plan's edges between the run's stages; a chain when the spec has since changed."""
    ids = [s.stage for s in run.stages]
    if plan.pipeline == run.pipeline and set(ids) == set(plan.stages):
        return [(up, s.id) for s in plan.ordered() for up in s.upstream]
    return list(zip(ids, ids[1:], strict=False))


def _read(loader: Loader, name: str) -> Any | None:
    try:
        return loader.read_table(name)
    except Exception:  # noqa: BLE001 - an absent side table is a note in the report
        return None


def _for_run(table: Any, run_id: str) -> list[dict[str, Any]] | None:
    column = next((c for c in RUN_ID_COLUMNS if c in table.column_names), None)
    if column is None:
        return None
    return [row for row in table.to_pylist() if row.get(column) == run_id]


def _check_results(loader: Loader, run_id: str) -> SideTable:
    table = _read(loader, CHECK_RESULTS)
    if table is None:
        return SideTable(note=f"no {CHECK_RESULTS} table in {loader.describe()}")
    rows = _for_run(table, run_id)
    if rows is None:
        return SideTable(note=f"{CHECK_RESULTS} has no run_id column")
    return SideTable(rows=rows)


def _rejected(loader: Loader, run_id: str) -> dict[str, int]:
    """Source -> the lines run ``run_id`` rejected (``_dagwright.rejected_rows``)."""
    from dagwright.state import REJECTED_TABLE

    table = _read(loader, REJECTED_TABLE)
    counts: dict[str, int] = {}
    for row in (_for_run(table, run_id) or []) if table is not None else []:
        counts[row["source"]] = counts.get(row["source"], 0) + 1
    return counts


def _quarantine(
    loader: Loader, run_id: str
) -> tuple[dict[str, int], str | None, dict[str, list[dict[str, Any]]]]:
    counts: dict[str, int] = {}
    samples: dict[str, list[dict[str, Any]]] = {}
    names = _quarantine_tables(loader)
    for name in names:
        table = _read(loader, name)
        rows = _for_run(table, run_id) if table is not None else None
        if rows:
            counts[name] = len(rows)
            samples[name] = [
                {k: v for k, v in row.items() if k not in QUARANTINE_HIDDEN}
                for row in rows[:QUARANTINE_SAMPLE]
            ]
    if not names:
        return counts, "no quarantine tables in the destination", samples
    return counts, None, samples


def _quarantine_tables(loader: Loader) -> list[str]:
    """Tables named like ``*quarantine*`` (DuckDB destinations list them; others: none)."""
    connect = getattr(loader, "connect", None)
    if connect is None or getattr(loader, "dialect", "") != "duckdb":
        return []
    try:
        with connect(read_only=True) as con:
            rows = con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_name ILIKE ? ORDER BY 1, 2",
                ["%quarantine%"],
            ).fetchall()
    except Exception:  # noqa: BLE001 - no database yet, or none to list
        return []
    return [name if schema == "main" else f"{schema}.{name}" for schema, name in rows]


def _lineage(plan: Plan, loader: Loader) -> tuple[Any, str | None]:
    """Loaded table -> column -> the source columns it comes from, when lineage is available."""
    if importlib.util.find_spec("dagwright.lineage") is None:
        return None, "column lineage is not available in this dagwright version"
    module = importlib.import_module("dagwright.lineage")
    table_lineage = getattr(module, "table_lineage", None)
    if not callable(table_lineage):
        return None, "this dagwright version's lineage module has no table_lineage()"
    result: dict[str, dict[str, str]] = {}
    for table in plan.spec.model.loads:
        try:
            pairs = table_lineage(plan.spec, table) or _traced(module, plan, loader, table)
        except Exception as exc:  # noqa: BLE001 - a report still renders without it
            result[table] = {"(lineage failed)": f"{type(exc).__name__}: {exc}"}
            continue
        result[table] = {col: ", ".join(sources) or "(no source column)" for col, sources in pairs}
    return result, None


def _traced(module: Any, plan: Plan, loader: Loader, table: str) -> list[tuple[str, list[str]]]:
    """Columns the spec cannot name (Polars steps, ``*``): trace the loaded table's columns."""
    data = _read(loader, table)
    if data is None:
        return []
    pairs = []
    for column in data.column_names:
        if column.startswith("_dagwright_"):
            continue
        node = module.column_lineage(plan.spec, table, column)
        sources = node.sources()
        if not sources:
            details = [n.detail for n in _walk(node) if n.detail]
            sources = [f"({details[-1]})"] if details else []
        pairs.append((column, sources))
    return pairs


def _walk(node: Any) -> list[Any]:
    found = [node]
    for child in getattr(node, "children", []):
        found += _walk(child)
    return found
