"""``dagwright plan PIPELINE``: the stage graph and what each stage will do."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="print a pipeline's stage graph and the SQL it will run")
    p.add_argument("pipeline", metavar="PIPELINE", help="pipeline name or spec file")
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
    return 0
