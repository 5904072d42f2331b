"""``dagwright validate [PATH...]``: check specs, report ``file:line:column: message``.

By default each spec is also bound against its sources' real columns (``dagwright.binding``):
steps, keys and checks are checked before any data moves.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check pipeline specs and report every problem")
    p.add_argument(
        "paths", nargs="*", metavar="PATH", help="spec files or folders (default: dags/)"
    )
    p.add_argument(
        "--static",
        action="store_true",
        help="check the specs alone, without reading the sources' columns",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="a source that cannot be reached is an error, not a warning (for CI)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dagwright.project import dags_dir
    from dagwright.spec.load import discover, load_specs

    paths = [Path(p) for p in args.paths] or [dags_dir(args.project)]
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        print(f"{path}:1:1: no such file or folder")
    files = discover([p for p in paths if p.exists()])
    specs, problems = load_specs(files)
    warnings = []
    if not args.static:
        from dagwright.binding import bind

        bound = []
        for spec in specs:
            found = bind(spec)
            problems += found.problems
            if args.strict:
                problems += found.warnings
            else:
                warnings += found.warnings
            if not found.problems and not (args.strict and found.warnings):
                bound.append(spec)
        specs = bound
    for problem in problems:
        print(problem)
    for warning in warnings:
        print(f"{warning.file}:{warning.line}:{warning.column}: warning: {warning.message}")
    bad = len({p.file for p in problems}) + len(missing)
    summary = f"{len(files)} spec(s) checked: {len(specs)} valid"
    if problems or missing:
        summary += f", {bad} invalid ({len(problems) + len(missing)} problem(s))"
    if warnings:
        summary += f", {len(warnings)} warning(s) (--strict makes them errors)"
    print(summary)
    return 1 if problems or missing or not files else 0
