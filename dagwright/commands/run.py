"""``dagwright run PIPELINE [--start D --end D] [--select STAGE]``: run a pipeline locally.

``--select`` runs some stages only (``dagwright.select``), reading the others' outputs
from the last runs' staging (``dagwright.reuse``).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import sys
import threading
from collections.abc import Callable
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a pipeline in-process into its destination")
    p.add_argument("pipeline", metavar="PIPELINE", help="pipeline name or spec file")
    p.add_argument("--start", metavar="D", help="data interval start (YYYY-MM-DD[THH:MM])")
    p.add_argument("--end", metavar="D", help="data interval end, exclusive")
    p.add_argument("--workers", type=int, default=4, help="stages run at once (default 4)")
    p.add_argument("--keep-staging", action="store_true", help="keep the run's staged Parquet")
    p.add_argument(
        "--reprocess",
        action="store_true",
        help="tables that take files one by one load every file again, replacing what each "
        "loaded before (never a second copy)",
    )
    p.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="STAGE",
        help="run only these stages: STAGE, STAGE+ (and downstream), +STAGE (and upstream); "
        "comma-separated or repeated; the others' outputs are taken from the last run",
    )
    p.add_argument(
        "--keep-outputs",
        action="store_true",
        help="keep each stage's output in the staging root's _last/ for later --select runs "
        "(selective runs always keep theirs)",
    )
    p.add_argument(
        "--downstream",
        action="store_true",
        help="then run every pipeline reading its tables, transitively, for the same "
        "interval; stop at the first failure",
    )
    add_param_option(p)
    p.set_defaults(handler=handle)


def add_param_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value for one of the spec's params: (repeat for several); bound, never pasted",
    )


def given_params(args: argparse.Namespace, spec: Any) -> dict[str, str]:
    """``--param`` values, checked against the spec's declared parameters."""
    from dagwright.spec.params import parse_assignments, run_values

    try:
        given = parse_assignments(args.param)
    except ValueError as exc:
        from dagwright.errors import ConfigError

        raise ConfigError(str(exc)) from None
    run_values(spec, given)
    return given


def handle(args: argparse.Namespace) -> int:
    from dagwright.errors import DagwrightError
    from dagwright.intervals import Interval, latest_interval, parse_when
    from dagwright.project import find_pipeline

    spec = find_pipeline(args.project, args.pipeline)
    if bool(args.start) != bool(args.end):
        raise DagwrightError("give both --start and --end, or neither")
    if args.start:
        interval = Interval(parse_when(args.start), parse_when(args.end))
        if interval.end <= interval.start:
            raise DagwrightError("--end must be after --start")
    else:
        from dagwright.pipelines import interval_schedule

        interval = latest_interval(interval_schedule(spec))
    params = given_params(args, spec)
    if not args.downstream:
        return 0 if run_one(args, spec, interval, params, args.select) else 1
    if args.select:
        raise DagwrightError("--select and --downstream do not go together: give one")
    from dagwright.pipelines import downstream_specs

    order = downstream_specs(args.project, spec)
    for number, each in enumerate(order):
        if not run_one(args, each, interval, declared_params(each, params)):
            from rich.console import Console
            from rich.text import Text

            rest = [s.name for s in order[number + 1 :]]
            left = f"; not run: {', '.join(rest)}" if rest else ""
            Console(highlight=False).print(
                Text.assemble(("stopped: ", "red"), f"{each.name} failed{left}")
            )
            return 1
    return 0


def declared_params(spec: Any, params: dict[str, str]) -> dict[str, str]:
    """The ``--param`` values a downstream pipeline declares (the others are not its)."""
    names = {str(n).lower() for n in spec.model.params}
    return {k: v for k, v in params.items() if k.lower() in names}


def run_one(
    args: argparse.Namespace,
    spec: Any,
    interval: Any,
    params: dict[str, str],
    selectors: list[str] | None = None,
) -> bool:
    """Run one pipeline and print its summary; True when it succeeded."""
    from dagwright.plan import build_plan
    from dagwright.runner import run_pipeline

    plan = build_plan(spec)
    selected = None
    if selectors:
        from dagwright.select import parse_selectors, select

        selected = select(plan, parse_selectors(selectors))
    run = functools.partial(
        run_pipeline,
        plan,
        interval,
        max_workers=args.workers,
        keep_staging=args.keep_staging,
        reprocess=args.reprocess,
        params=params,
        select=selected,
        keep_last=args.keep_outputs,
    )
    if sys.stdout.isatty():
        from rich.console import Console

        from dagwright.display import RunProgress

        console = Console(highlight=False)
        with RunProgress(plan, console) as progress:
            outcome = run(listener=progress)
    else:
        outcome = run(listener=import_display_meanwhile())
        from rich.console import Console

        console = Console(highlight=False)
    from rich.text import Text

    from dagwright.display import summary_table

    for record in outcome.records:
        console.print(summary_table(record))
    if outcome.note:
        console.print(Text(outcome.note))
    if not outcome.ok:
        console.print(Text.assemble(("run failed: ", "red"), outcome.error or ""))
        return False
    return True


def import_display_meanwhile() -> Callable[..., None]:
    """A run listener that imports the summary table's code once the first stage starts.

    Without a terminal there is no live progress to draw, so rich (a twentieth of a
    second to import) loads on a thread while the stages keep DuckDB busy, not before.
    """
    started = threading.Event()

    def listener(*_: Any) -> None:
        if not started.is_set():
            started.set()
            threading.Thread(
                target=importlib.import_module, args=("dagwright.display",), daemon=True
            ).start()

    return listener
