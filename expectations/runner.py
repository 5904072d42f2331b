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
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dagwright.errors import DataError, SpecError
from dagwright.staging import (
    StagedTable,
    arrow_schema,
    describe,
    local_path,
    open_output,
    read_batches,
    stage_uri,
)
from expectations.suites import checks_for

if TYPE_CHECKING:
    import pyarrow as pa

    from dagwright.executor import StageExecutor, StageResult
    from dagwright.plan import Plan, Stage
    from expectations.engine import Outcome

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
    """Start importing Great Expectations on a background thread if ``plan`` has checks.

    The import takes seconds; started when the run starts, it overlaps the extracts
    instead of delaying the first check stage. A plan without checks imports nothing.
    """
    global _WARM_UP
    if not any(stage.kind == "check" for stage in plan.stages.values()):
        return
    with _WARM_UP_LOCK:
        if _WARM_UP is None and "expectations.engine" not in sys.modules:
            _WARM_UP = threading.Thread(target=_import_engine, name="checks-warm-up", daemon=True)
            _WARM_UP.start()


def _import_engine() -> None:
    with contextlib.suppress(Exception):  # the check stage imports it again and reports
        from expectations import engine

        engine.prepare()


def _engine() -> Any:
    """``expectations.engine``, once a warm-up under way has finished importing it."""
    warming = _WARM_UP
    if warming is not None:
        warming.join()
    from expectations import engine

    return engine


def quarantine_table(name: str) -> str:
    return f"{name}{QUARANTINE_SUFFIX}"


def run_stage_checks(
    executor: StageExecutor, stage: Stage, staged: StagedTable | None
) -> StageResult:
    from dagwright.executor import StageResult

    engine = _engine()
    plan, ctx = executor.plan, executor.ctx
    kind = stage.checks_of or "source"
    checks = checks_for(plan.spec, kind, stage.name)
    if checks.problems:
        raise SpecError(checks.problems)
    if staged is not None and _feeds_only_loaded_tables(executor, stage):
        return StageResult(
            stage=stage.id,
            staged=staged,
            rows_in=staged.rows,
            rows_out=staged.rows,
            checks="not run: the tables it feeds were already loaded for this interval",
        )
    if staged is None:
        data = engine.Data(executor.loader.read_table(stage.name))
    else:
        replayed = REPLAY.get(ctx.run_id, {}).get(stage.id)
        if replayed is not None:
            staged = _with_replayed(staged, replayed, ctx.staging_dir, stage.id)
        reader = functools.partial(read_batches, staged.uri)
        data = engine.Data(reader, arrow_schema(staged.uri), staged.rows)
    outcomes = engine.validate(checks.items, data, CHUNK_ROWS)
    for o in outcomes:
        log.info(
            "%s %s [%s%s]: %s",
            "PASS" if o.success else "FAIL",
            o.item.label,
            o.item.severity,
            f", suite {o.item.suite}" if o.item.suite else "",
            o.describe(),
        )
    now = datetime.now(UTC)
    quarantined = _quarantined_rows(outcomes)
    with _STORE_LOCK:
        _forget_earlier_attempts(executor, stage)
        _store_results(executor, stage, outcomes, quarantined, now)
    blocking = [o for o in outcomes if not o.success and o.item.severity == "error"]
    if blocking:
        raise DataError(_blocking_message(stage, kind, blocking, ctx.run_id))
    passed = sum(1 for o in outcomes if o.success)
    summary = f"{passed}/{len(outcomes)} passed"
    warned = sum(1 for o in outcomes if not o.success and o.item.severity == "warn")
    if warned:
        summary += f", {warned} warned"
    result = StageResult(stage=stage.id, staged=staged, rows_in=data.rows, rows_out=data.rows)
    if quarantined and staged is not None:
        with _STORE_LOCK:
            result.staged = _split(executor, stage, staged, quarantined, now)
        result.rows_out = result.staged.rows
        summary += f", {len(quarantined):,} rows quarantined"
    result.checks = summary
    return result


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


def _feeds_only_loaded_tables(executor: StageExecutor, stage: Stage) -> bool:
    """True when every load this check feeds is skipped as already loaded (after a killed
    run): its rows reach no table, and the killed run's results and quarantine stand."""
    plan = executor.plan
    loads = {
        plan.stages[s].name for s in plan.downstream(stage.id) if plan.stages[s].kind == "load"
    }
    return bool(loads) and loads <= set(executor.already_loaded())


def _forget_earlier_attempts(executor: StageExecutor, stage: Stage) -> None:
    """Drop what this stage stored in an earlier attempt at the same run or interval.

    A retried task (same run id), or a rerun after a killed run of the same interval
    (marked ``abandoned``), validates the same rows again: without this, its results and
    quarantined rows would be stored twice. Results of finished runs are kept.
    """
    import sqlglot.expressions as exp

    from dagwright.sql.render import ident
    from loaders.parquet import ParquetLoader
    from loaders.warehouse import SQLLoader

    loader, ctx = executor.loader, executor.ctx
    if not isinstance(loader, SQLLoader) or isinstance(loader, ParquetLoader):
        return
    start = ctx.interval.start if ctx.interval else None
    end = ctx.interval.end if ctx.interval else None
    runs = [ctx.run_id] + [
        r.run_id
        for r in loader.recent_runs(ctx.pipeline, limit=1000)
        if r.status == "abandoned" and (r.interval_start, r.interval_end) == (start, end)
    ]
    targets = [
        (RESULTS_TABLE, "stage", "run_id"),
        (VALIDATIONS_TABLE, "stage", "run_id"),
        (quarantine_table(stage.name), "_dagwright_stage", "_dagwright_run_id"),
    ]
    with loader.session() as s:
        s.execute("BEGIN")
        for name, stage_column, run_column in targets:
            target = loader.target(name)
            if loader.table_columns(s, target) is None:
                continue
            where = exp.and_(
                exp.column(ident(stage_column)).eq(exp.Placeholder()),
                exp.column(ident(run_column)).isin(*[exp.Placeholder() for _ in runs]),
            )
            s.execute(s.sql(exp.delete(target, where), with_params=True), [stage.id, *runs])
        s.execute("COMMIT")


def _store_results(
    executor: StageExecutor,
    stage: Stage,
    outcomes: list[Outcome],
    quarantined: dict[int, list[str]],
    now: datetime,
) -> None:
    import pyarrow as pa

    from expectations import engine

    ctx = executor.ctx
    rows = [
        {
            "run_id": ctx.run_id,
            "pipeline": ctx.pipeline,
            "stage": stage.id,
            "checks_of": stage.checks_of,
            "target": stage.name,
            "suite": o.item.suite,
            "expectation": o.item.type,
            "kwargs": json.dumps(engine.jsonable(o.item.kwargs), sort_keys=True),
            "severity": o.item.severity,
            "success": o.success,
            "observed_value": None
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
    executor.loader.append_rows(RESULTS_TABLE, pa.Table.from_pylist(rows, schema=schema))
    suite = engine.suite_result(f"{ctx.pipeline}.{stage.id}", outcomes)
    validation = pa.table(
        {
            "run_id": [ctx.run_id],
            "pipeline": [ctx.pipeline],
            "stage": [stage.id],
            "success": [suite["success"]],
            "checked_at": pa.array([now], pa.timestamp("us", tz="UTC")),
            "result": [json.dumps(suite, default=str)],
        }
    )
    executor.loader.append_rows(VALIDATIONS_TABLE, validation)


def _split(
    executor: StageExecutor,
    stage: Stage,
    staged: StagedTable,
    quarantined: dict[int, list[str]],
    now: datetime,
) -> StagedTable:
    """Write the passing rows as this stage's output; append the failing ones to quarantine."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    ctx = executor.ctx
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
    executor.loader.append_rows(quarantine_table(stage.name), rows)
    return describe(uri)


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
    from expectations.engine import jsonable

    return {k: jsonable(v) for k, v in row.items()}
