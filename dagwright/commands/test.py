"""``dagwright test [PIPELINE] [--transform NAME]``: run the transforms' unit tests."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "test", help="run transform unit tests (given input rows, expected output rows)"
    )
    p.add_argument("pipeline", nargs="?", metavar="PIPELINE", help="default: every pipeline")
    p.add_argument("--transform", "-t", metavar="NAME", help="only this transform's tests")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dagwright.errors import SpecError
    from dagwright.project import pipeline_specs
    from dagwright.transform_tests import run_spec_tests

    specs, problems = pipeline_specs(args.project, args.pipeline)
    if problems:
        raise SpecError(problems)
    if args.transform and not any(args.transform in s.model.transforms for s in specs):
        from dagwright.errors import DagwrightError

        raise DagwrightError(f"no transform {args.transform!r} in {[s.name for s in specs]}")
    outcomes = [o for spec in specs for o in run_spec_tests(spec, args.transform)]
    for outcome in outcomes:
        print(f"{'PASS' if outcome.ok else 'FAIL'}  {outcome.id}")
        if not outcome.ok:
            print("\n".join("      " + line for line in outcome.message.splitlines()))
    failed = sum(not o.ok for o in outcomes)
    print(f"{len(outcomes)} test(s): {len(outcomes) - failed} passed, {failed} failed")
    return 1 if failed else 0
