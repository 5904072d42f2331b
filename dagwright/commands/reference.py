"""``dagwright reference``: regenerate docs/ (spec reference, plugin pages) from the schema."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reference", help="write docs/spec-reference.md and a page per extractor and loader"
    )
    p.add_argument("--docs", metavar="DIR", help="default: docs/ in the project folder")
    p.add_argument("--check", action="store_true", help="exit 1 if the pages are out of date")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dagwright.reference import run

    return run(Path(args.docs) if args.docs else Path(args.project) / "docs", args.check)
