"""``dagwright schema``: the JSON Schema of pipeline specs, for editors and docs."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of pipeline specs")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(handler=handle)


def render_schema() -> str:
    from dagwright.spec.model import json_schema

    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def handle(args: argparse.Namespace) -> int:
    text = render_schema()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text, end="")
    return 0
