"""``dagwright validate [PATH...]``: check specs, report ``file:line:column: message``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check pipeline specs and report every problem")
    p.add_argument(
        "paths", nargs="*", metavar="PATH", help="spec files or folders (default: dags/)"
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
    for problem in problems:
        print(problem)
    bad = len({p.file for p in problems}) + len(missing)
    summary = f"{len(files)} spec(s) checked: {len(specs)} valid"
    if problems or missing:
        summary += f", {bad} invalid ({len(problems) + len(missing)} problem(s))"
    print(summary)
    return 1 if problems or missing or not files else 0
