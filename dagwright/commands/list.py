"""``dagwright list``: the pipelines in ``dags/`` with schedule and destination."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the pipelines found in dags/")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from dagwright.project import dags_dir
    from dagwright.spec.load import discover, load_specs

    specs, problems = load_specs(discover([dags_dir(args.project)]))
    table = Table("pipeline", "schedule", "destination", "sources", "loads", "file")
    for spec in sorted(specs, key=lambda s: s.name):
        m = spec.model
        schedule = m.schedule if isinstance(m.schedule, str) else ", ".join(m.schedule or []) or "-"
        table.add_row(
            spec.name,
            schedule or "manual",
            getattr(m.destination, "loader", "?"),
            ", ".join(m.sources),
            ", ".join(m.loads),
            str(spec.path.relative_to(spec.project_root)),
        )
    console = Console()
    console.print(table)
    for problem in problems:
        console.print(f"[red]{problem}[/red]", highlight=False)
    return 1 if problems else 0
