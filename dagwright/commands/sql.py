"""``dagwright sql translate --from X --to Y [FILE|-]``: translate SQL the way SQL steps are."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sql", help="SQL tools: translate between dialects as SQL steps do")
    actions = p.add_subparsers(dest="sql_command", metavar="ACTION")
    t = actions.add_parser(
        "translate",
        help="translate one query; constructs without a faithful translation are errors",
    )
    t.add_argument("--from", dest="source", required=True, metavar="DIALECT")
    t.add_argument("--to", dest="target", default="duckdb", metavar="DIALECT")
    t.add_argument("file", nargs="?", default="-", metavar="FILE|-", help="SQL file (- for stdin)")
    t.add_argument("--pretty", action="store_true", help="one clause per line")
    t.set_defaults(handler=handle_translate)
    p.set_defaults(handler=lambda _args: p.print_help() or 2)


def handle_translate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dagwright.errors import DagwrightError
    from dagwright.sql.dialects import check_dialect, dialect_for
    from transforms.sql import SqlStepError, compile_sql

    for name in (args.source, args.target):
        problem = check_dialect(name)
        if problem:
            raise DagwrightError(problem)
    if args.file == "-":
        text, where = sys.stdin.read(), "<stdin>"
    else:
        try:
            text, where = Path(args.file).read_text(encoding="utf-8"), args.file
        except OSError as exc:
            raise DagwrightError(f"cannot read {args.file}: {exc.strerror}") from None
    try:
        compiled = compile_sql(text, args.source, args.target)
    except SqlStepError as exc:
        position = f"{exc.line}:{exc.column or 1}:" if exc.line else ""
        raise DagwrightError(f"{where}:{position} {exc}") from None
    sql = compiled.sql
    if args.pretty:
        import sqlglot

        dialect = dialect_for(args.target)
        sql = sqlglot.transpile(sql, read=dialect, write=dialect, pretty=True)[0]
    print(sql + ";")
    if compiled.params:
        print(f"-- bound parameters: {', '.join(compiled.params)}", file=sys.stderr)
    return 0
