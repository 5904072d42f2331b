"""The planner: a spec becomes a graph of stages (extract, check, transform, check, load, check).

The plan is pure: building it reads the spec and SQL files and touches nothing else.
Both the local runner and the Airflow DAG are built from it, one task per stage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from dagwright.spec.inputs import transform_inputs
from dagwright.spec.pipeline import PipelineSpec

StageKind = Literal["extract", "check", "transform", "load"]
_TASK_ID = re.compile(r"[^A-Za-z0-9_.-]+")


def stage_id(kind: str, name: str) -> str:
    """A stage id that is also a valid Airflow task id."""
    return f"{kind}_{_TASK_ID.sub('_', name)}"


@dataclass(frozen=True)
class Stage:
    id: str
    kind: StageKind
    name: str
    """The source, transform or table the stage works on."""
    upstream: tuple[str, ...]
    data_inputs: tuple[tuple[str, str], ...] = ()
    """(input name, stage id providing it) for stages that read data."""
    checks_of: str | None = None
    """For a check stage: 'source', 'transform' or 'load'."""


@dataclass
class Plan:
    spec: PipelineSpec
    stages: dict[str, Stage] = field(default_factory=dict)

    @property
    def pipeline(self) -> str:
        return self.spec.name

    def add(self, stage: Stage) -> str:
        self.stages[stage.id] = stage
        return stage.id

    def ordered(self) -> list[Stage]:
        """Stages in a topological order (stable: declaration order breaks ties)."""
        done: set[str] = set()
        order: list[Stage] = []
        pending = list(self.stages.values())
        while pending:
            ready = [s for s in pending if all(u in done for u in s.upstream)]
            for stage in ready:
                done.add(stage.id)
                order.append(stage)
            pending = [s for s in pending if s.id not in done]
        return order

    def downstream(self, stage_id: str) -> set[str]:
        result: set[str] = set()
        frontier = [stage_id]
        while frontier:
            current = frontier.pop()
            for stage in self.stages.values():
                if current in stage.upstream and stage.id not in result:
                    result.add(stage.id)
                    frontier.append(stage.id)
        return result

    def readers(self, stage_id: str) -> list[Stage]:
        """The stages reading ``stage_id``'s output, including those reading it through the
        check stages that hand it on (a source's or a step's checks)."""
        found: list[Stage] = []
        for stage in self.stages.values():
            if stage_id in stage.upstream:
                found.append(stage)
                if stage.kind == "check" and stage.checks_of != "load":
                    found += self.readers(stage.id)
        return found

    def upstream(self, stage_id: str) -> set[str]:
        """Every stage whose output reaches ``stage_id``, directly or through others."""
        seen: set[str] = set()
        frontier = [stage_id]
        while frontier:
            for up in self.stages[frontier.pop()].upstream:
                if up not in seen:
                    seen.add(up)
                    frontier.append(up)
        return seen

    def upstream_extracts(self, stage_id: str) -> list[str]:
        """The extract stages whose data reaches ``stage_id`` (their watermarks go with it)."""
        return sorted(s for s in self.upstream(stage_id) if self.stages[s].kind == "extract")


def build_plan(spec: PipelineSpec) -> Plan:
    model = spec.model
    plan = Plan(spec)
    provider: dict[str, str] = {}

    for name, source in model.sources.items():
        sid = plan.add(Stage(stage_id("extract", name), "extract", name, ()))
        if source.expect:
            sid = plan.add(
                Stage(stage_id("check", name), "check", name, (sid,), ((name, sid),), "source")
            )
        provider[name] = sid

    loaded: dict[str, str] = {}
    in_place = {n for n, s in model.sources.items() if s.reads_table() and n not in model.loads}

    def add_load(table: str) -> None:
        load = model.loads[table]
        up = provider[load.from_]
        sid = plan.add(Stage(stage_id("load", table), "load", table, (up,), ((load.from_, up),)))
        if load.expect:
            sid = plan.add(Stage(stage_id("check_load", table), "check", table, (sid,), (), "load"))
        loaded[table] = sid

    inputs = {name: [ref for ref, _ in refs] for name, refs in transform_inputs(spec).items()}
    remaining = dict(model.transforms)
    while remaining:
        progressed = False
        for name in list(remaining):
            refs = inputs[name]
            if remaining[name].pushdown:
                # A pushed-down step reads loaded tables (it runs after their loads) and
                # the tables warehouse sources read (after those sources' extracts).
                if not all(
                    r in in_place or (r in model.loads and model.loads[r].from_ in provider)
                    for r in refs
                ):
                    continue
                for ref in refs:
                    if ref not in in_place and ref not in loaded:
                        add_load(ref)
            elif not all(r in provider for r in refs):
                continue
            step = remaining.pop(name)
            data = tuple(
                (r, loaded[r] if step.pushdown and r not in in_place else provider[r]) for r in refs
            )
            sid = plan.add(
                Stage(
                    stage_id("transform", name), "transform", name, tuple(p for _, p in data), data
                )
            )
            if step.expect:
                sid = plan.add(
                    Stage(
                        stage_id("check", name), "check", name, (sid,), ((name, sid),), "transform"
                    )
                )
            provider[name] = sid
            progressed = True
        if not progressed:
            raise ValueError(f"unresolvable transforms: {sorted(remaining)}")

    for table in model.loads:
        if table not in loaded:
            add_load(table)
    return plan
