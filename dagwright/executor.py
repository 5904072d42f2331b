"""The stage executor: the one code path that runs a stage, locally or in an Airflow task.

A stage reads the staged outputs of the stages it depends on and writes its own into
the run's staging area; what it returns (``StageResult``) is small and JSON-safe.
When the run has a workspace (``ctx.workspace``: the local runner on a DuckDB warehouse),
sources with a DuckDB relation and SQL steps write their output there instead.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from dagwright import plugins
from dagwright.errors import DagwrightError, StageError
from dagwright.memory import give_back
from dagwright.staging import StagedTable, describe, stage_uri
from dagwright.state import StateUpdate, decode_watermark, encode_watermark

if TYPE_CHECKING:
    from dagwright.context import RunContext
    from dagwright.plan import Plan, Stage
    from dagwright.workspace import Workspace
    from extractors.base import Extractor
    from loaders.base import Loader


@dataclass
class StageResult:
    stage: str
    staged: StagedTable | None = None
    rows_in: int | None = None
    rows_out: int | None = None
    seconds: float = 0.0
    checks: str = ""
    watermark: str | None = None
    """The extract's new watermark, encoded; committed by the loads downstream."""
    sql: list[str] = field(default_factory=list)
    skipped: str | None = None
    """Why the stage did nothing (its table was already loaded for this interval)."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["staged"] = self.staged.to_dict() if self.staged else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageResult:
        data = dict(data)
        staged = data.pop("staged", None)
        return cls(staged=StagedTable.from_dict(staged) if staged else None, **data)


def make_loader(plan: Plan) -> Loader:
    config = plan.spec.model.destination
    cls = plugins.plugin(plugins.LOADERS, config.loader)
    return cls(config, plan.spec.project_root)


def make_extractor(plan: Plan, name: str, ctx: RunContext) -> Extractor:
    config = plan.spec.model.sources[name]
    cls = plugins.plugin(plugins.EXTRACTORS, config.extractor)
    return cls(name, config, ctx)


class StageExecutor:
    def __init__(
        self,
        plan: Plan,
        ctx: RunContext,
        loader: Loader | None = None,
        loaded: dict[str, str] | None = None,
    ) -> None:
        self.plan = plan
        self.ctx = ctx
        self.loader = loader or make_loader(plan)
        self.loaded = loaded
        """Tables already loaded for this interval, with the run, if the caller knows them."""

    def needs(self, stage: Stage) -> list[str]:
        """Stage ids whose results ``run`` needs: upstream stages, and extracts for loads."""
        needed = list(stage.upstream)
        if stage.kind == "load":
            needed += [s for s in self.plan.upstream_extracts(stage.id) if s not in needed]
        return needed

    def run(self, stage: Stage, results: dict[str, StageResult]) -> StageResult:
        started = time.perf_counter()
        try:
            result = getattr(self, f"_{stage.kind}")(stage, results)
        except DagwrightError as exc:
            if isinstance(exc, StageError):
                raise
            raise StageError(stage.id, str(exc)) from exc
        result.seconds = round(time.perf_counter() - started, 3)
        return result

    def _extract(self, stage: Stage, results: dict[str, StageResult]) -> StageResult:
        extractor = make_extractor(self.plan, stage.name, self.ctx)
        uri = stage_uri(self.ctx.staging_dir, stage.id)
        workspace = self.ctx.workspace
        from extractors.base import Extractor

        if workspace is not None and type(extractor).relation_on is not Extractor.relation_on:
            return self._extract_in(workspace, stage, extractor, uri)
        outcome = extractor.write(uri)
        give_back()
        staged = describe(uri)
        watermark = outcome.new_watermark
        return StageResult(
            stage=stage.id,
            staged=staged,
            rows_out=staged.rows,
            watermark=encode_watermark(watermark) if watermark is not None else None,
        )

    def _extract_in(
        self, workspace: Workspace, stage: Stage, extractor: Extractor, uri: str
    ) -> StageResult:
        """A source with a DuckDB relation, into the workspace: lazily if one SQL step reads it."""
        if extractor.config.incremental is None and self.fusable(stage):
            workspace.add_lazy(uri, extractor.relation_on, extractor.explain)
            return StageResult(stage=stage.id, staged=describe(uri))
        held = workspace.add_relation(uri, extractor.relation_on, extractor.explain)
        watermark = None
        if extractor.config.incremental is not None:
            watermark = _highest(workspace, uri, extractor.config.incremental.cursor)
            previous = self.ctx.watermarks.get(stage.name)
            if watermark is None or (previous is not None and watermark < previous):
                watermark = previous
        return StageResult(
            stage=stage.id,
            staged=describe(uri),
            rows_out=held.rows,
            watermark=encode_watermark(watermark) if watermark is not None else None,
        )

    def fusable(self, stage: Stage) -> bool:
        """Whether one SQL step (run in this process) is the only reader of ``stage``."""
        readers = [s for s in self.plan.stages.values() if stage.id in s.upstream]
        if len(readers) != 1 or readers[0].kind != "transform":
            return False
        step = self.plan.spec.model.transforms[readers[0].name]
        return step.local_sql

    def _transform(self, stage: Stage, results: dict[str, StageResult]) -> StageResult:
        step = self.plan.spec.model.transforms[stage.name]
        uri = stage_uri(self.ctx.staging_dir, stage.id)
        sql: list[str] = []
        if step.pushdown:
            from transforms.pushdown import run_pushdown

            tables = [name for name, _ in stage.data_inputs]
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
        staged = _staged(results, stage.upstream[0]) if stage.checks_of != "load" else None
        return run_stage_checks(self, stage, staged)

    def _load(self, stage: Stage, results: dict[str, StageResult]) -> StageResult:
        load = self.plan.spec.model.loads[stage.name]
        ((_, provider),) = stage.data_inputs
        staged = _staged(results, provider)
        loaded_by = self.already_loaded().get(stage.name)
        if loaded_by is not None:
            return StageResult(
                stage=stage.id,
                rows_in=staged.rows,
                rows_out=0,
                skipped=f"already loaded for this interval by run {loaded_by}",
            )
        watermarks: dict[str, Any] = {}
        for extract_id in self.plan.upstream_extracts(stage.id):
            encoded = results[extract_id].watermark if extract_id in results else None
            if encoded is not None:
                watermarks[self.plan.stages[extract_id].name] = decode_watermark(encoded)
        interval = self.ctx.interval
        state = StateUpdate(
            run_id=self.ctx.run_id,
            pipeline=self.plan.pipeline,
            table=stage.name,
            interval_start=interval.start if interval else None,
            interval_end=interval.end if interval else None,
            watermarks=watermarks,
        )
        outcome = self.loader.load(stage.name, load, staged, state)
        return StageResult(
            stage=stage.id, rows_in=staged.rows, rows_out=outcome.rows, sql=outcome.sql
        )

    def already_loaded(self) -> dict[str, str]:
        """Tables fed by a watermark-driven source already loaded for this interval, with
        the run that loaded them.

        Such a source reads only rows past its watermark: loading the interval again (a
        second Airflow run of it, a cleared task) would replace its rows with nothing new.
        The local runner works them out once, before it starts (``loaded``); an Airflow
        task asks the destination here.
        """
        if self.loaded is None:
            from dagwright.runner import already_loaded

            self.loaded = already_loaded(self.plan, self.loader, self.ctx.interval)
        return self.loaded


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
