"""``dagwright list``: the pipelines in ``dags/`` with schedule and destination, and the
graph of those that read the tables others load (``dagwright.pipelines``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagwright.pipelines import PipelineGraph


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the pipelines found in dags/")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from dagwright.pipelines import graph_of
    from dagwright.project import dags_dir
    from dagwright.spec.load import discover, load_specs

    specs, problems = load_specs(discover([dags_dir(args.project)]))
    graph = graph_of(specs)
    table = Table("pipeline", "schedule", "destination", "sources", "loads", "reads from", "file")
    for spec in graph.order(sorted(s.name for s in specs)):
        m = spec.model
        schedule = m.schedule if isinstance(m.schedule, str) else ", ".join(m.schedule or []) or "-"
        table.add_row(
            spec.name,
            schedule or "manual",
            getattr(m.destination, "loader", "?"),
            ", ".join(m.sources),
            ", ".join(m.loads),
            ", ".join(
                dict.fromkeys(
                    f"{e.loader} ({e.table})" for e in graph.edges if e.reader == spec.name
                )
            )
            or "-",
            str(spec.path.relative_to(spec.project_root)),
        )
    console = Console()
    console.print(table)
    if graph.edges:
        console.print("pipelines that build on each other (upstream -> downstream):")
        for line in _tree(graph):
            console.print(line, highlight=False)
    for problem in problems:
        console.print(f"[red]{problem}[/red]", highlight=False)
    return 1 if problems else 0


def _tree(graph: PipelineGraph) -> list[str]:
    """Each root pipeline and, indented under it, the pipelines reading its tables."""
    lines: list[str] = []

    def walk(name: str, depth: int, via: str) -> None:
        lines.append("  " * (depth + 1) + (f"-> {name}  (reads {via})" if via else name))
        readers: dict[str, list[str]] = {}
        for edge in graph.edges:
            if edge.loader == name and edge.table not in readers.setdefault(edge.reader, []):
                readers[edge.reader].append(edge.table)
        for reader in sorted(readers):
            walk(reader, depth + 1, ", ".join(readers[reader]))

    linked = {e.loader for e in graph.edges} | {e.reader for e in graph.edges}
    for spec in graph.order():
        if spec.name in linked and not graph.upstream(spec.name):
            walk(spec.name, 0, "")
    return lines
