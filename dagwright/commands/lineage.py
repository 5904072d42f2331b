"""``dagwright lineage PIPELINE [TABLE[.COLUMN]]``: the source columns behind loaded columns."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lineage", help="show which source columns a loaded column comes from, across stages"
    )
    p.add_argument("pipeline", metavar="PIPELINE", help="pipeline name or spec file")
    p.add_argument(
        "target",
        nargs="?",
        metavar="TABLE[.COLUMN]",
        help="a loaded table, or one of its columns for the full tree (default: every table)",
    )
    p.set_defaults(handler=handle)


def _split(spec, target: str) -> tuple[str, str | None]:  # noqa: ANN001 - PipelineSpec
    """``schema.table.column``, ``table.column`` or ``table``: loads may be schema-qualified."""
    if target in spec.model.loads:
        return target, None
    table, _, column = target.rpartition(".")
    return (table, column) if table else (target, None)


def handle(args: argparse.Namespace) -> int:
    from dagwright.lineage import column_lineage, table_lineage
    from dagwright.project import find_pipeline

    spec = find_pipeline(args.project, args.pipeline)
    if args.target:
        table, column = _split(spec, args.target)
        if column:
            print("\n".join(column_lineage(spec, table, column).render()))
            return 0
        tables = [table]
    else:
        tables = list(spec.model.loads)
    for table in tables:
        load = spec.model.loads.get(table)
        rows = table_lineage(spec, table) or _from_warehouse(spec, table)
        print(f"{table}  (from {load.from_ if load else '?'})")
        if not rows:
            print("  columns are not named by the spec (SELECT * or a Polars step);")
            print(f"  ask for one: dagwright lineage {spec.name} {table}.COLUMN")
        for column, sources in rows:
            print(f"  {column} <- {', '.join(sources) if sources else '(no source column)'}")
    return 0


def _from_warehouse(spec, table: str) -> list[tuple[str, list[str]]]:  # noqa: ANN001
    """Columns the spec cannot name (``*``, Polars): those of the loaded table, if it exists."""
    from dagwright.errors import DagwrightError
    from dagwright.executor import make_loader
    from dagwright.lineage import column_lineage
    from dagwright.plan import build_plan

    loader = make_loader(build_plan(spec))
    try:
        names = loader.read_table(table).column_names
    except (DagwrightError, Exception):  # noqa: BLE001 - not loaded yet: nothing to list
        return []
    finally:
        loader.close()
    rows = []
    for column in names:
        if column.startswith("_dagwright_"):
            continue
        node = column_lineage(spec, table, column)
        while node.children and not node.sources():
            node = node.children[-1]
        rows.append((column, node.sources() or [f"({node.detail})"]))
    return rows
