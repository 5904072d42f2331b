"""``dagwright report [RUN_ID]``: a self-contained HTML page showing what a run did."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write an HTML report of a run: stage graph, timeline, rows, checks, SQL",
    )
    p.add_argument(
        "run_id", nargs="?", metavar="RUN_ID", help="run id or a unique prefix (default: newest)"
    )
    p.add_argument("--pipeline", "-p", metavar="PIPELINE", help="only this pipeline's runs")
    p.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="where to write (default: .dagwright/reports/PIPELINE/RUN_ID.html)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dagwright.report import write_report

    path = write_report(args.project, args.run_id, args.pipeline, args.output)
    print(path)
    return 0
