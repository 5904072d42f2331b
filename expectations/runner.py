"""A check stage: validate a stage's rows, store the results, block, warn or quarantine.

``error`` items that fail stop the stage (nothing downstream of it runs), ``warn`` items
are recorded, ``quarantine`` items send the failing rows to ``<name>__quarantine`` and let
the passing rows continue. Every result goes to ``_dagwright.check_results`` and, as a
Great Expectations suite result for Data Docs, to ``_dagwright.validations``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dagwright.errors import DataError, SpecError
from dagwright.results import StageResult
from dagwright.staging import (
    StagedTable,
    arrow_schema,
    describe,
    local_path,
    open_output,
    read_batches,
    stage_uri,
)
from dagwright.state import SideRows
from expectations.suites import checks_for

if TYPE_CHECKING:
    import pyarrow as pa

    from dagwright.plan import Plan, Stage
    from dagwright.results import StageRun
    from expectations.outcomes import Outcome

CHUNK_ROWS = 1_000_000
"""Rows per pandas frame for row-local expectations."""
RESULTS_TABLE = "_dagwright.check_results"
VALIDATIONS_TABLE = "_dagwright.validations"
QUARANTINE_SUFFIX = "__quarantine"
META_COLUMNS = (
    "_dagwright_run_id",
    "_dagwright_stage",
    "_dagwright_failed",
    "_dagwright_row",
    "_dagwright_quarantined_at",
)

log = logging.getLogger("dagwright.checks")
_STORE_LOCK = threading.Lock()
"""Check stages on parallel threads would race to create the same side tables."""

REPLAY: dict[str, dict[str, pa.Table]] = {}
"""run id -> check stage id -> quarantined rows to validate again with the fresh input."""


_WARM_UP: threading.Thread | None = None
_WARM_UP_LOCK = threading.Lock()


def warm_up(plan: Plan) -> None:
    """Start importing Great Expectations on a background thread if ``plan`` has checks
    without a native form (``expectations.forms``).

    The import takes seconds; started when the run starts, it overlaps the extracts
    instead of delaying the first check stage. A plan whose checks all run natively
    imports nothing of it.
    """
    global _WARM_UP
    from expectations.forms import needs_library

    items = [
        item
        for stage in plan.stages.values()
        if stage.kind == "check"
        for item in checks_for(plan.spec, stage.checks_of or "source", stage.name).items
    ]
    if not needs_library(items):
        return
    with _WARM_UP_LOCK:
        if _WARM_UP is None and "expectations.engine" not in sys.modules:
            _WARM_UP = threading.Thread(target=_import_engine, name="checks-warm-up", daemon=True)
            _WARM_UP.start()


def _import_engine() -> None:
    with contextlib.suppress(Exception):  # the check stage imports it again and reports
        from expectations import engine

        engine.prepare()


def _wait_for_warm_up() -> None:
    """Let a warm-up under way finish importing Great Expectations (not twice at once)."""
    warming = _WARM_UP
    if warming is not None:
        warming.join()


def quarantine_table(name: str) -> str:
    return f"{name}{QUARANTINE_SUFFIX}"


def run_stage_checks(run: StageRun, stage: Stage, staged: StagedTable | None) -> StageResult:
    from expectations.evaluate import validate
    from expectations.outcomes import Data

    _wait_for_warm_up()
    plan, ctx = run.plan, run.ctx
    kind = stage.checks_of or "source"
    checks = checks_for(plan.spec, kind, stage.name)
    if checks.problems:
        raise SpecError(checks.problems)
    if staged is None:
        data = Data(run.read_table(stage.name))
    else:
        replayed = REPLAY.get(ctx.run_id, {}).get(stage.id)
        if replayed is not None:
            staged = _with_replayed(staged, replayed, ctx.staging_dir, stage.id)
        reader = functools.partial(read_batches, staged.uri)
        schema, json_columns = arrow_schema(staged.uri), _json_columns(staged.uri)
        data = Data(reader, schema, staged.rows, json_columns, uri=staged.uri)
    outcomes = validate(checks.items, data, CHUNK_ROWS)
    for o in outcomes:
        log.info(
            "%s %s [%s%s]: %s",
            "SKIP" if o.note else "PASS" if o.success else "FAIL",
            o.item.label,
            o.item.severity,
            f", suite {o.item.suite}" if o.item.suite else "",
            o.describe(),
        )
    now = datetime.now(UTC)
    quarantined = _quarantined_rows(outcomes)
    blocking = [o for o in outcomes if not o.success and o.item.severity == "error"]
    passed = sum(1 for o in outcomes if o.success and not o.note)
    skipped = sum(1 for o in outcomes if o.note)
    summary = f"{passed}/{len(outcomes)} passed"
    if skipped:
        summary += f", {skipped} skipped"
    warned = sum(1 for o in outcomes if not o.success and o.item.severity == "warn")
    if warned:
        summary += f", {warned} warned"
    result = StageResult(stage=stage.id, staged=staged, rows_in=data.rows, rows_out=data.rows)
    parts = _result_rows(run, stage, outcomes, now)
    if quarantined and staged is not None and not blocking:
        result.staged, held_back = _split(run, stage, staged, quarantined, now)
        parts.append(
            SideRows(
                quarantine_table(stage.name), held_back, "_dagwright_stage", "_dagwright_run_id"
            )
        )
        result.rows_out = result.staged.rows
        summary += f", {len(quarantined):,} rows quarantined"
    store_side_rows(run, stage, parts)
    if blocking:
        raise DataError(_blocking_message(stage, kind, blocking, ctx.run_id))
    result.checks = summary
    return result


def _json_columns(uri: str) -> list[str]:
    """A workspace output's JSON columns: DuckDB hands them to Arrow as plain text."""
    from dagwright.staging import engine_types

    return [name for name, kind in engine_types(uri) or [] if kind == "JSON"]


def _quarantined_rows(outcomes: list[Outcome]) -> dict[int, list[str]]:
    """Row position -> the labels of the quarantine expectations it failed."""
    rows: dict[int, list[str]] = {}
    for o in outcomes:
        if o.item.severity == "quarantine" and not o.success:
            for row in o.rows:
                rows.setdefault(row, []).append(o.item.label)
    return rows


def _blocking_message(stage: Stage, kind: str, failed: list[Outcome], run_id: str) -> str:
    lines = [f"{len(failed)} blocking check(s) failed on {kind} {stage.name!r}:"]
    for o in failed:
        suite = f" (suite {o.item.suite})" if o.item.suite else ""
        lines.append(f"  {o.item.label}{suite}: {o.describe()}")
    if kind == "load":
        lines.append(f"the table {stage.name!r} was already loaded; the run is marked failed")
    else:
        lines.append("nothing downstream of this check was loaded")
    lines.append(f"results: {RESULTS_TABLE} where run_id = '{run_id}'")
    return "\n".join(lines)


def store_side_rows(run: StageRun, stage: Stage, parts: list[SideRows]) -> None:
    """Store a stage's side rows in one transaction, replacing what the runs it
    supersedes stored for it (``_superseded``). A check stage stores its results and
    quarantined rows; an extract stage the lines its source set aside, superseded as the
    source's own checks would be (its reads decide what a rerun redoes)."""
    if stage.kind == "extract":
        stage = replace(stage, kind="check", checks_of="source")
    with _STORE_LOCK:
        run.state.store_side_rows(parts, stage.id, _superseded(run, stage))


def _superseded(run: StageRun, stage: Stage) -> list[str]:
    """The runs whose stored results and quarantined rows this stage's replace.

    The same run (a retried Airflow task); runs of the same interval that ended without
    loading what they checked (failed, or killed and marked ``abandoned``): this stage
    validates the same rows again; and, when this run's loads replace what earlier runs
    of the interval loaded from what this stage checks (``_replaces_earlier``), those
    runs. Kept: this run's earlier passes (they checked other rows), and results that
    failed their run (the record of why it failed).
    """
    ctx = run.ctx
    start = ctx.interval.start if ctx.interval else None
    end = ctx.interval.end if ctx.interval else None
    replaces = _replaces_earlier(run, stage)
    base = ctx.first_run_id or ctx.run_id
    runs = [ctx.run_id]
    for r in run.state.recent_runs(ctx.pipeline, limit=1000):
        own = r.run_id == base or r.run_id.startswith(base + ".")
        same = (_utc(r.interval_start), _utc(r.interval_end)) == (start, end)
        blocked = any(s.stage == stage.id and s.status == "failed" for s in r.stages)
        if same and not own and not blocked and (r.dead or (replaces and r.status != "running")):
            runs.append(r.run_id)
    return runs


def _replaces_earlier(run: StageRun, stage: Stage) -> bool:
    """Whether this run's loads replace what earlier runs of its interval loaded from the
    rows this stage checks: its sources are read whole (no cursor, no files taken once),
    and the run reprocesses a data interval or every table it feeds is replaced whole."""
    from dagwright.needs import accumulates, discipline, takes_files

    plan = run.plan
    sources = {plan.stages[e].name for e in plan.upstream_extracts(stage.id)}
    if stage.kind == "check" and stage.checks_of == "source":
        sources.add(stage.name)
    fed = [
        plan.stages[s].name
        for s in plan.downstream(stage.id) | {stage.id}
        if plan.stages[s].kind == "load"
    ] or ([stage.name] if stage.checks_of == "load" else [])
    if any(discipline(plan.spec, s) == "cursor" for s in sources):
        return False
    if any(takes_files(plan, t) in sources for t in fed):
        return False
    if run.ctx.interval is not None:
        return True
    return all(not accumulates(plan.spec.model.loads[t]) for t in fed)


def _utc(value: datetime | None) -> datetime | None:
    from dagwright.intervals import as_utc

    return None if value is None else as_utc(value)


def _result_rows(
    run: StageRun, stage: Stage, outcomes: list[Outcome], now: datetime
) -> list[SideRows]:
    import pyarrow as pa

    from dagwright.rows import arrow_rows
    from expectations.outcomes import jsonable, suite_result

    ctx = run.ctx
    rows = [
        {
            "run_id": ctx.run_id,
            "pipeline": ctx.pipeline,
            "stage": stage.id,
            "checks_of": stage.checks_of,
            "target": stage.name,
            "suite": o.item.suite,
            "expectation": o.item.type,
            "kwargs": json.dumps(jsonable(o.item.kwargs), sort_keys=True),
            "severity": o.item.severity,
            "success": o.success,
            "observed_value": json.dumps({"skipped": o.note})
            if o.note
            else None
            if o.observed_value is None
            else json.dumps(o.observed_value, default=str),
            "element_count": o.element_count,
            "unexpected_count": o.unexpected_count,
            "unexpected_percent": o.unexpected_percent,
            "unexpected_sample": json.dumps(o.sample, default=str) if o.sample else None,
            "exception": o.error,
            "rows_quarantined": len(set(o.rows)) if o.item.severity == "quarantine" else None,
            "checked_at": now,
        }
        for o in outcomes
    ]
    schema = pa.schema(
        [
            ("run_id", pa.string()),
            ("pipeline", pa.string()),
            ("stage", pa.string()),
            ("checks_of", pa.string()),
            ("target", pa.string()),
            ("suite", pa.string()),
            ("expectation", pa.string()),
            ("kwargs", pa.string()),
            ("severity", pa.string()),
            ("success", pa.bool_()),
            ("observed_value", pa.string()),
            ("element_count", pa.int64()),
            ("unexpected_count", pa.int64()),
            ("unexpected_percent", pa.float64()),
            ("unexpected_sample", pa.string()),
            ("exception", pa.string()),
            ("rows_quarantined", pa.int64()),
            ("checked_at", pa.timestamp("us", tz="UTC")),
        ]
    )
    suite = suite_result(f"{ctx.pipeline}.{stage.id}", outcomes)
    validation = arrow_rows(
        [
            {
                "run_id": ctx.run_id,
                "pipeline": ctx.pipeline,
                "stage": stage.id,
                "success": suite["success"],
                "checked_at": now,
                "result": json.dumps(suite, default=str),
            }
        ],
        pa.schema(
            [
                ("run_id", pa.string()),
                ("pipeline", pa.string()),
                ("stage", pa.string()),
                ("success", pa.bool_()),
                ("checked_at", pa.timestamp("us", tz="UTC")),
                ("result", pa.string()),
            ]
        ),
    )
    return [
        SideRows(RESULTS_TABLE, arrow_rows(rows, schema), "stage", "run_id"),
        SideRows(VALIDATIONS_TABLE, validation, "stage", "run_id"),
    ]


def _split(
    run: StageRun,
    stage: Stage,
    staged: StagedTable,
    quarantined: dict[int, list[str]],
    now: datetime,
) -> tuple[StagedTable, pa.Table]:
    """Write the passing rows as this stage's output; the failing ones, for quarantine."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    ctx = run.ctx
    positions = np.fromiter(sorted(quarantined), dtype=np.int64)
    source = pq.ParquetFile(local_path(staged.uri))
    uri = stage_uri(ctx.staging_dir, stage.id)
    bad: list[pa.Table] = []
    offset = 0
    with pq.ParquetWriter(open_output(uri), source.schema_arrow) as writer:
        for batch in source.iter_batches(CHUNK_ROWS):
            n = batch.num_rows
            local = positions[(positions >= offset) & (positions < offset + n)] - offset
            mask = np.ones(n, dtype=bool)
            mask[local] = False
            writer.write_table(pa.Table.from_batches([batch]).filter(pa.array(mask)))
            if len(local):
                bad.append(pa.Table.from_batches([batch]).take(pa.array(local)))
            offset += n
    rows = pa.concat_tables(bad) if bad else source.schema_arrow.empty_table()
    count = rows.num_rows
    rows = rows.append_column("_dagwright_run_id", pa.array([ctx.run_id] * count, pa.string()))
    rows = rows.append_column("_dagwright_stage", pa.array([stage.id] * count, pa.string()))
    failed = ["; ".join(quarantined[int(p)]) for p in positions]
    rows = rows.append_column("_dagwright_failed", pa.array(failed, pa.string()))
    rows = rows.append_column("_dagwright_row", pa.array(positions, pa.int64()))
    stamp = pa.array([now] * count, pa.timestamp("us", tz="UTC"))
    rows = rows.append_column("_dagwright_quarantined_at", stamp)
    return describe(uri), rows


def _with_replayed(
    staged: StagedTable, replayed: pa.Table, staging_dir: str, stage_id: str
) -> StagedTable:
    """The fresh input plus the quarantined rows it does not already hold (exact rows)."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    fresh = pq.read_table(local_path(staged.uri))
    missing = [c for c in fresh.schema.names if c not in replayed.schema.names]
    if missing:
        raise DataError(
            f"quarantined rows of {stage_id!r} lack column(s) {', '.join(missing)} "
            "that the stage now produces; fix them in the quarantine table or drop them"
        )
    try:
        candidates = replayed.select(fresh.schema.names).cast(fresh.schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(
            f"quarantined rows of {stage_id!r} no longer fit the stage's schema: {exc}"
        ) from None
    con = duckdb.connect()
    try:
        extra = con.from_arrow(candidates).except_(con.from_arrow(fresh)).to_arrow_table()
    finally:
        con.close()
    uri = stage_uri(staging_dir, f"{stage_id}__replay_input")
    pq.write_table(pa.concat_tables([fresh, extra.cast(fresh.schema)]), open_output(uri))
    return describe(uri)


def replay_rows(table: pa.Table) -> pa.Table:
    """Quarantined rows without the columns quarantine added."""
    return table.drop_columns([c for c in META_COLUMNS if c in table.schema.names])


def jsonable_row(row: dict[str, Any]) -> dict[str, Any]:
    from expectations.outcomes import jsonable

    return {k: jsonable(v) for k, v in row.items()}
