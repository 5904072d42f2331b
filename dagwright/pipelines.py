"""The graph of a project's pipelines: which pipeline reads the tables another one loads.

A pipeline builds on another when one of its sources reads a table of the destination
(``extractor: warehouse``, ``SourceConfig.reads_table``) that the other's ``loads:``
fill. The graph orders local runs and backfills of several pipelines
(``dagwright run --downstream``, ``dagwright backfill A B``), is drawn by ``dagwright
list``, names the loading spec in ``dagwright plan`` and gives ``dagwright validate`` the
columns a read table will have. Tables are matched by name within one kind of
destination, as the Airflow assets are (``x-dagwright://<loader>/<table>``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dagwright.errors import DagwrightError

if TYPE_CHECKING:
    from dagwright.spec.pipeline import PipelineSpec


@dataclass(frozen=True)
class Edge:
    """``reader`` reads ``table`` (through its source ``source``), which ``loader`` loads."""

    loader: str
    reader: str
    source: str
    table: str


@dataclass
class PipelineGraph:
    specs: dict[str, PipelineSpec]
    edges: list[Edge] = field(default_factory=list)
    producers: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    """(destination kind, table) -> (pipeline, its load's name)."""
    columns: dict[tuple[str, str], list[tuple[str, str]] | None] = field(default_factory=dict)
    """(pipeline, load) -> the columns and DuckDB types it writes (``dagwright.binding``)."""

    def producer(self, spec: PipelineSpec, table: str) -> tuple[PipelineSpec, str] | None:
        """The spec loading ``table`` of ``spec``'s destination, and its load's name."""
        found = self.producers.get((_kind(spec), table_key(table)))
        if found is None or found[0] == spec.name:
            return None
        return self.specs[found[0]], found[1]

    def upstream(self, name: str) -> list[str]:
        return sorted({e.loader for e in self.edges if e.reader == name})

    def downstream(self, name: str) -> list[str]:
        return sorted({e.reader for e in self.edges if e.loader == name})

    def order(self, names: list[str] | None = None) -> list[PipelineSpec]:
        """``names`` (default all) in dependency order: a pipeline after those it reads,
        directly or through pipelines not named."""
        wanted = set(self.specs) if names is None else set(names)
        done: list[str] = []
        visiting: list[str] = []

        def visit(name: str) -> None:
            if name in done:
                return
            if name in visiting:
                loop = " -> ".join([*visiting[visiting.index(name) :], name])
                raise DagwrightError(
                    f"pipelines read each other's tables in a circle: {loop} (each reads "
                    "a table the next one loads); a pipeline cannot run before itself"
                )
            visiting.append(name)
            for up in self.upstream(name):
                visit(up)
            visiting.pop()
            done.append(name)

        for name in self.specs:
            visit(name)
        return [self.specs[n] for n in done if n in wanted]

    def with_downstream(self, name: str) -> list[PipelineSpec]:
        """``name`` and every pipeline reading its tables, transitively, in run order."""
        reached = {name}
        frontier = [name]
        while frontier:
            for reader in self.downstream(frontier.pop()):
                if reader not in reached:
                    reached.add(reader)
                    frontier.append(reader)
        return self.order([n for n in self.specs if n in reached])


def interval_schedule(spec: PipelineSpec, graph: PipelineGraph | None = None) -> str | None:
    """The schedule (cron or preset) of ``spec``'s data intervals: its own, or, for a pipeline
    scheduled on the tables it reads, the interval schedule of the pipelines loading them
    (when they share one), so it runs and backfills the same intervals they do."""
    from dagwright.intervals import cron_of

    schedule = spec.model.schedule
    if cron_of(schedule) is not None:
        return schedule
    if not isinstance(schedule, list) or not schedule:
        return None
    if graph is None:
        graph = project_graph(spec.project_root, spec)
    crons: set[str | None] = set()
    seen = {spec.name}
    for up in graph.upstream(spec.name):
        if up not in seen:
            seen.add(up)
            crons.add(interval_schedule(graph.specs[up], graph) if up != spec.name else None)
    if len(crons) == 1:
        return crons.pop()
    return None


def graph_of(specs: list[PipelineSpec]) -> PipelineGraph:
    graph = PipelineGraph({s.name: s for s in specs})
    for spec in specs:
        for table in spec.model.loads:
            graph.producers.setdefault((_kind(spec), table_key(table)), (spec.name, table))
    for spec in specs:
        for source, config in spec.model.sources.items():
            table = config.reads_table()
            if table is None:
                continue
            found = graph.producer(spec, table)
            if found is not None:
                graph.edges.append(Edge(found[0].name, spec.name, source, table))
    return graph


def project_graph(project_root: str | Path, *given: PipelineSpec) -> PipelineGraph:
    """The graph of the valid specs in the project's ``dags/``, and of ``given`` specs
    that are not among them (a spec named by its path outside ``dags/``)."""
    from dagwright.project import pipeline_specs

    specs, _ = pipeline_specs(project_root, None)
    names = {s.name for s in specs}
    return graph_of([*specs, *(s for s in given if s.name not in names)])


def downstream_specs(project_root: str | Path, spec: PipelineSpec) -> list[PipelineSpec]:
    """``spec`` first, then every pipeline reading its tables, transitively, in run order."""
    return project_graph(project_root, spec).with_downstream(spec.name)


def _kind(spec: PipelineSpec) -> str:
    return spec.model.destination.loader


def table_key(table: str) -> str:
    """A table's name as the graph and the Airflow assets match it: unquoted, lower
    case, no default schema."""
    name = table.strip().replace('"', "").lower()
    return name.removeprefix("main.").removeprefix("public.")
