"""``dagwright plan PIPELINE``: the stage graph and what each stage will do."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="print a pipeline's stage graph and the SQL it will run")
    p.add_argument("pipeline", metavar="PIPELINE", help="pipeline name or spec file")
    p.add_argument(
        "--static", action="store_true", help="do not read the sources' columns and types"
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from dagwright.describe import describe_stage
    from dagwright.plan import build_plan
    from dagwright.project import find_pipeline

    spec = find_pipeline(args.project, args.pipeline)
    plan = build_plan(spec)
    console = Console(highlight=False)
    bound = None
    if not args.static:
        from dagwright.binding import bind

        bound = bind(spec)
        for problem in bound.problems + bound.warnings:
            console.print(f"[yellow]{escape(str(problem))}[/yellow]")
    model = spec.model
    console.print(
        f"[bold]{plan.pipeline}[/bold]  schedule={model.schedule or 'manual'}  "
        f"stages={len(plan.stages)}  destination={getattr(model.destination, 'loader', '?')}"
    )
    for number, stage in enumerate(plan.ordered(), 1):
        after = f"  [dim]after {', '.join(stage.upstream)}[/dim]" if stage.upstream else ""
        lines = describe_stage(plan, stage)
        console.print(f"\n{number:>2}. [bold cyan]{stage.id}[/bold cyan] ({stage.kind}){after}")
        console.print(f"    {escape(lines[0])}")
        for line in lines[1:]:
            console.print(f"      {escape(line)}")
        if bound is not None:
            console.print(f"    [dim]{escape(_columns(plan, stage, bound))}[/dim]")
    return 0


def _columns(plan, stage, bound) -> str:  # noqa: ANN001 - Plan, Stage, Binding
    """The columns and types a stage produces (or takes, for a load)."""
    name = stage.name
    if stage.kind == "load" or (stage.kind == "check" and stage.checks_of == "load"):
        name = plan.spec.model.loads[stage.name].from_
    columns = bound.columns.get(name)
    if columns is None:
        return "columns: not known before the run"
    return "columns: " + ", ".join(f"{column} {kind}" for column, kind in columns)
