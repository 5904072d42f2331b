"""The stage executor: the one code path that runs a stage, locally or in an Airflow task.

A stage reads the staged outputs of the stages it depends on and writes its own into
the run's staging area; what it returns (``StageResult``) is small and JSON-safe.
When the run has a workspace (``ctx.workspace``: the local runner on a DuckDB warehouse),
sources with a DuckDB relation and SQL steps write their output there instead.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from dagwright import plugins
from dagwright.errors import DagwrightError, StageError
from dagwright.memory import give_back
from dagwright.results import StageResult, StageRun
from dagwright.staging import StagedTable, describe, stage_uri
from dagwright.state import Portion, StateUpdate, crash_point

__all__ = ["StageExecutor", "StageResult", "make_extractor", "make_loader", "survey"]

if TYPE_CHECKING:
    from dagwright.context import RunContext
    from dagwright.plan import Plan, Stage
    from dagwright.state import FileIdentity, TableState
    from dagwright.work import Need
    from dagwright.workspace import Workspace
    from extractors.base import Extractor
    from loaders.base import Loader


def make_loader(plan: Plan) -> Loader:
    config = plan.spec.model.destination
    cls = plugins.plugin(plugins.LOADERS, config.loader)
    return cls(config, plan.spec.project_root)


def make_extractor(
    plan: Plan, name: str, ctx: RunContext, destination: Loader | None = None
) -> Extractor:
    """The source's extractor; one reading the destination's tables gets ``destination``
    (the run's loader, made here when not given)."""
    config = plan.spec.model.sources[name]
    cls = plugins.plugin(plugins.EXTRACTORS, config.extractor)
    extractor = cls(name, config, ctx)
    if config.reads_table() is not None:
        extractor.destination = destination or make_loader(plan)
    return extractor


class StageExecutor:
    def __init__(
        self,
        plan: Plan,
        ctx: RunContext,
        loader: Loader | None = None,
        satisfied: dict[str, str] | None = None,
    ) -> None:
        self.plan = plan
        self.ctx = ctx
        self.loader = loader or make_loader(plan)
        self._satisfied = satisfied
        """Why each table this run does not serve needs nothing (shown on its load)."""

    def needs(self, stage: Stage) -> list[str]:
        """Stage ids whose results ``run`` needs: upstream stages, and extracts for loads."""
        needed = list(stage.upstream)
        if stage.kind == "load":
            needed += [s for s in self.plan.upstream_extracts(stage.id) if s not in needed]
        return needed

    def run(self, stage: Stage, results: dict[str, StageResult]) -> StageResult:
        """Run one stage under the spec's ``execution_timeout`` (``dagwright.timeouts``)."""
        from dagwright.timeouts import deadline

        crash_point(f"run:{stage.id}")
        started = time.perf_counter()
        with deadline(stage.id, self.plan.spec.model.execution_timeout) as limit:
            try:
                result = getattr(self, f"_{stage.kind}")(stage, results)
            except Exception as exc:
                if limit is not None and limit.expired:
                    raise limit.error() from exc
                if not isinstance(exc, DagwrightError) or isinstance(exc, StageError):
                    raise
                raise StageError(stage.id, str(exc)) from exc
            if limit is not None and limit.expired:
                if stage.kind != "load" or result.skipped:
                    raise limit.error()
                late = (
                    f"{stage.id} ran past its execution_timeout, but its data was "
                    "committed before the stage could be stopped: it is kept"
                )
                result.note = "\n".join(filter(None, [result.note, late]))
        result.seconds = round(time.perf_counter() - started, 3)
        return result

    def _extract(self, stage: Stage, results: dict[str, StageResult]) -> StageResult:
        work = self.ctx.work
        read = work.reads.get(stage.name) if work is not None else None
        if work is not None and read is None:
            note = work.note or "no table needs this source in this run"
            return StageResult(stage=stage.id, skipped=note)
        extractor = make_extractor(self.plan, stage.name, self.ctx, self.loader)
        files = self._identify(extractor, stage.name)
        uri = stage_uri(self.ctx.staging_dir, stage.id)
        workspace = self.ctx.workspace
        from extractors.base import Extractor

        if workspace is not None and type(extractor).relation_on is not Extractor.relation_on:
            result = self._extract_in(workspace, stage, extractor, uri, files)
        else:
            outcome = extractor.write(uri)
            give_back()
            staged = describe(uri)
            result = StageResult(stage=stage.id, staged=staged, rows_out=staged.rows)
            result.portion = self._portion(stage.name, outcome.new_watermark, files)
        result.sql = list(extractor.sql)
        self._set_aside(stage, extractor, result)
        if result.rows_out == 0 and self._reads_past_a_mark(stage.name):
            result.skipped = "nothing new past the mark: nothing to check or load"
        if work is not None:
            result.serves = work.served_by(stage.name)
        return result

    def _set_aside(self, stage: Stage, extractor: Extractor, result: StageResult) -> None:
        """Store the lines a source set aside (``bad_rows: reject``) beside the quarantine.

        As a check stage stores its side rows: in their own transaction, replacing what
        the runs this one redoes stored for this stage (``store_side_rows``), so a rerun of
        an interval does not list its bad lines twice. Rows read = loaded + rejected.
        """
        from datetime import UTC, datetime

        from dagwright.state import rejected_side_rows
        from expectations.runner import store_side_rows

        rows = extractor.rejected_rows()
        if rows is None:
            return
        part = rejected_side_rows(
            rows, self.ctx.run_id, self.plan.pipeline, stage.name, stage.id, datetime.now(UTC)
        )
        run = StageRun(self.plan, self.ctx, self.loader.state, self.loader.read_table)
        store_side_rows(run, stage, [part])
        if rows:
            if result.rows_out is not None:
                result.rows_in = result.rows_out + len(rows)
            result.checks = f"{len(rows):,} bad line(s) rejected"

    def _reads_past_a_mark(self, source: str) -> bool:
        """A cursor source in a run without a data interval: when it finds no row past the
        mark there is nothing new, and the run changes nothing downstream of it."""
        from dagwright.needs import discipline

        return self.ctx.interval is None and discipline(self.plan.spec, source) == "cursor"

    def _identify(self, extractor: Extractor, source: str) -> tuple[FileIdentity, ...]:
        """The versions of the files about to be read, when some table takes them by file."""
        from dagwright.needs import file_sources

        if source not in file_sources(self.plan):
            return ()
        return tuple(extractor.file_identities(extractor.files()))

    def _portion(self, source: str, mark: Any, files: tuple[FileIdentity, ...]) -> dict[str, Any]:
        previous = self.ctx.watermarks.get(source)
        if mark is None or (previous is not None and mark < previous):
            mark = previous
        return Portion(source, after=previous, mark=mark, files=files).to_dict()

    def _extract_in(
        self,
        workspace: Workspace,
        stage: Stage,
        extractor: Extractor,
        uri: str,
        files: tuple[FileIdentity, ...],
    ) -> StageResult:
        """A source with a DuckDB relation, into the workspace: lazily if one SQL step reads it."""
        if extractor.config.incremental is None and self.fusable(stage):
            workspace.add_lazy(uri, extractor.relation_on, extractor.explain)
            result = StageResult(stage=stage.id, staged=describe(uri))
            result.portion = self._portion(stage.name, None, files)
            return result
        held = workspace.add_relation(uri, extractor.relation_on, extractor.explain)
        mark = None
        if extractor.config.incremental is not None:
            mark = _highest(workspace, uri, extractor.config.incremental.cursor)
        result = StageResult(stage=stage.id, staged=describe(uri), rows_out=held.rows)
        result.portion = self._portion(stage.name, mark, files)
        return result

    def fusable(self, stage: Stage) -> bool:
        """Whether one SQL step (run in this process) is the only reader of ``stage``."""
        readers = [s for s in self.plan.stages.values() if stage.id in s.upstream]
        if len(readers) != 1 or readers[0].kind != "transform":
            return False
        step = self.plan.spec.model.transforms[readers[0].name]
        return step.local_sql

    def _transform(self, stage: Stage, results: dict[str, StageResult]) -> StageResult:
        step = self.plan.spec.model.transforms[stage.name]
        unread = _unread(results, stage) if not step.pushdown else None
        if unread is not None:
            return StageResult(stage=stage.id, skipped=unread)
        uri = stage_uri(self.ctx.staging_dir, stage.id)
        sql: list[str] = []
        if step.pushdown:
            from transforms.pushdown import run_pushdown

            sources = self.plan.spec.model.sources
            tables = {
                name: (sources[name].reads_table() if name in sources else None) or name
                for name, _ in stage.data_inputs
            }
            sql = [
                run_pushdown(stage.name, step, tables, uri, self.ctx, self.loader, self.plan.spec)
            ]
            staged = describe(uri)
            return StageResult(stage=stage.id, staged=staged, rows_out=staged.rows, sql=sql)
        inputs = {name: _staged(results, sid) for name, sid in stage.data_inputs}
        if step.kind == "polars":
            from transforms.polars_step import run_polars

            run_polars(stage.name, step, inputs, uri, self.ctx)
        elif step.kind == "ops":
            from transforms.ops import run_ops

            run_ops(stage.name, step, inputs, uri, self.ctx)
        else:
            from transforms.sql import run_sql

            sql = [run_sql(stage.name, step, inputs, uri, self.ctx, self.plan.spec)]
        staged = describe(uri)
        counts = [s.rows for s in inputs.values()]
        return StageResult(
            stage=stage.id,
            staged=staged,
            rows_in=None if None in counts else sum(c for c in counts if c is not None),
            rows_out=staged.rows,
            sql=sql,
        )

    def _check(self, stage: Stage, results: dict[str, StageResult]) -> StageResult:
        from expectations.runner import run_stage_checks

        upstream = results[stage.upstream[0]]
        if upstream.skipped:
            return StageResult(stage=stage.id, skipped=upstream.skipped)
        if self.ctx.work is not None and not self._feeds_work(stage):
            return StageResult(stage=stage.id, skipped="no table it feeds needs this run")
        staged = _staged(results, stage.upstream[0]) if stage.checks_of != "load" else None
        run = StageRun(self.plan, self.ctx, self.loader.state, self.loader.read_table)
        return run_stage_checks(run, stage, staged)

    def _feeds_work(self, stage: Stage) -> bool:
        """Whether a table this run serves is downstream of ``stage``."""
        assert self.ctx.work is not None
        tables = set(self.ctx.work.needs)
        return any(
            self.plan.stages[s].kind == "load" and self.plan.stages[s].name in tables
            for s in self.plan.downstream(stage.id)
        ) or (stage.checks_of == "load" and stage.name in tables)

    def _load(self, stage: Stage, results: dict[str, StageResult]) -> StageResult:
        load = self.plan.spec.model.loads[stage.name]
        ((_, provider),) = stage.data_inputs
        need = self._need(stage, results)
        if isinstance(need, str):
            return StageResult(stage=stage.id, rows_out=0, skipped=need)
        staged = _staged(results, provider)
        portions = tuple(
            self._taken(stage.name, Portion.from_dict(results[e].portion))
            for e in self.plan.upstream_extracts(stage.id)
            if results[e].portion is not None
        )
        interval = self.ctx.interval
        state = StateUpdate(
            run_id=self.ctx.run_id,
            pipeline=self.plan.pipeline,
            table=stage.name,
            interval_start=interval.start if interval else None,
            interval_end=interval.end if interval else None,
            portions=portions,
            replaces=tuple(need["replaces"]),
            guard_interval=need["guard"],
            holds=dict(need.get("holds") or {}),
        )
        outcome = self.loader.load(stage.name, load, staged, state)
        return StageResult(
            stage=stage.id,
            rows_in=staged.rows,
            rows_out=outcome.rows,
            sql=outcome.sql,
            skipped=outcome.skipped,
            note=self._empty(stage) if outcome.rows == 0 and not outcome.skipped else None,
        )

    def _empty(self, stage: Stage) -> str | None:
        """Why a load of a data interval took no rows: its sources had none in it."""
        from dagwright.needs import discipline

        interval = self.ctx.interval
        if interval is None:
            return None
        bounded = [
            self.plan.stages[e].name
            for e in self.plan.upstream_extracts(stage.id)
            if discipline(self.plan.spec, self.plan.stages[e].name) == "interval"
        ]
        if not bounded:
            return None
        return (
            f"{stage.name}: 0 rows, because the interval {interval.start:%Y-%m-%d %H:%M} .. "
            f"{interval.end:%Y-%m-%d %H:%M} holds no rows of {', '.join(bounded)} (read by "
            f"interval). hint: `dagwright status {self.plan.pipeline}` shows which intervals "
            f"are loaded; run the ones your data covers with --start and --end"
        )

    def _need(self, stage: Stage, results: dict[str, StageResult]) -> dict[str, Any] | str:
        """What the run's extracts were read for this table, or why it is not loaded: they
        were read for other tables (it needs another portion of them, or nothing)."""
        found: dict[str, Any] | None = None
        for extract in self.plan.upstream_extracts(stage.id):
            result = results[extract]
            if result.skipped:
                return result.skipped
            served = (result.serves or {}).get(stage.name)
            if served is None:
                reason = self._satisfied.get(stage.name) if self._satisfied else None
                return reason or (
                    f"source {self.plan.stages[extract].name!r} was read for other tables; "
                    "this table needs another portion of it, loaded by the next run"
                )
            found = served
        if found is None:
            raise StageError(stage.id, "no source feeds this load")
        return found

    def _taken(self, table: str, read: Portion) -> Portion:
        """What ``table`` takes of a source's read: its kind follows the source and the
        table's disposition (``dagwright.needs``)."""
        from dagwright.needs import discipline, takes_files

        if takes_files(self.plan, table) == read.source:
            return Portion(read.source, "files", read.after, read.mark, read.files)
        kind = "cursor" if discipline(self.plan.spec, read.source) == "cursor" else "whole"
        return Portion(read.source, kind, read.after, read.mark)


def survey(
    plan: Plan,
    loader: Loader,
    ctx: RunContext,
    *,
    reprocess: bool = False,
    seen: dict[str, Any] | None = None,
    served: set[str] | None = None,
) -> tuple[list[Need], dict[str, str]]:
    """Ask every table (but those ``served`` already) what it needs in ``ctx``'s run.

    Lists the files of sources taken file by file, hashing only those a table holds in
    another size or time (a touch or a change); returns the needs and, for the tables
    that need nothing, why.
    """
    from dagwright.needs import changed_paths, file_sources, table_needs

    states: dict[str, TableState] = loader.state.tables(plan.pipeline)
    listed: dict[str, list[FileIdentity]] = {}
    for source in file_sources(plan):
        try:
            listed[source] = make_extractor(plan, source, ctx).file_identities()
        except DagwrightError:
            continue  # its extract stage fails with this error, failing only its tables
    for source, paths in changed_paths(plan, states, listed).items():
        extractor = make_extractor(plan, source, ctx)
        hashed = {f.path: f for f in extractor.file_identities(_full(ctx, paths))}
        listed[source] = [hashed.get(f.path, f) for f in listed[source]]
    tables = [t for t in plan.spec.model.loads if t not in (served or set())]
    needs, satisfied = table_needs(
        plan, states, ctx.interval, listed, reprocess=reprocess, seen=seen, tables=tables
    )
    return needs, {s.table: s.reason for s in satisfied}


def _full(ctx: RunContext, paths: list[str]) -> list[str]:
    import os

    return [p if "://" in p or os.path.isabs(p) else str(ctx.project_root / p) for p in paths]


def _unread(results: dict[str, StageResult], stage: Stage) -> str | None:
    for _, provider in stage.data_inputs:
        if provider in results and results[provider].skipped:
            return results[provider].skipped
    return None


def _highest(workspace: Workspace, uri: str, column: str) -> Any:
    from dagwright.sql.render import render
    from dagwright.workspace import entry

    held = entry(uri)
    assert held is not None and held.where is not None
    query = render("SELECT MAX(:col) FROM :t", "duckdb", col=column, t=held.where)
    with workspace.cursor() as cur:
        return cur.execute(query).fetchall()[0][0]


def _staged(results: dict[str, StageResult], stage_id: str) -> StagedTable:
    staged = results[stage_id].staged
    if staged is None:
        raise StageError(stage_id, "produced no data")
    return staged
