"""``dagwright docs [PIPELINE]``: Great Expectations Data Docs (HTML) for recent runs.

The check stages store each validation as a GE suite result in ``_dagwright.validations``;
this command puts the newest runs' results into a local GE project in
``.dagwright/gx`` (rebuilt each time) and has GE render its Data Docs site there, and
writes the same results as one self-contained page, ``check_results.html``, readable
without a network (Data Docs fetch their styles and scripts from CDNs).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("docs", help="build Great Expectations Data Docs for recent runs")
    p.add_argument("pipeline", nargs="?", metavar="PIPELINE", help="only this pipeline")
    p.add_argument("--runs", type=int, default=10, help="newest runs per pipeline (default 10)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dagwright.commands.quarantine import read_optional
    from dagwright.errors import DagwrightError
    from dagwright.executor import make_loader
    from dagwright.plan import build_plan
    from dagwright.project import one_per_destination, pipeline_specs
    from expectations.runner import VALIDATIONS_TABLE

    specs, _ = pipeline_specs(args.project, args.pipeline)
    rows: list[dict] = []
    for spec in one_per_destination(specs):
        loader = make_loader(build_plan(spec))
        try:
            table = read_optional(loader, VALIDATIONS_TABLE)
        finally:
            loader.close()
        if table is not None:
            rows += table.to_pylist()
    if args.pipeline:
        rows = [r for r in rows if r["pipeline"] == specs[0].name]
    rows = newest_runs(rows, args.runs)
    if not rows:
        raise DagwrightError(
            "no check results yet: run a pipeline whose spec has 'expect:' checks first"
        )
    from dagwright.report.validations import page

    root = Path(args.project).resolve() / ".dagwright"
    index = build_site(root, rows)
    offline = root / "gx" / "check_results.html"
    offline.write_text(page(rows), encoding="utf-8")
    runs = len({r["run_id"] for r in rows})
    print(f"Data Docs for {len(rows)} validation(s) of {runs} run(s): {index}")
    print(
        f"the same results on one page that needs no network: {offline} "
        "(Data Docs load their styles and scripts from CDNs)"
    )
    return 0


def newest_runs(rows: list[dict], per_pipeline: int) -> list[dict]:
    latest: dict[tuple[str, str], object] = {}
    for r in rows:
        key = (r["pipeline"], r["run_id"])
        latest[key] = max(latest.get(key, r["checked_at"]), r["checked_at"])
    keep: set[tuple[str, str]] = set()
    for pipeline in {p for p, _ in latest}:
        runs = sorted((k for k in latest if k[0] == pipeline), key=latest.get, reverse=True)
        keep.update(runs[:per_pipeline])
    return [r for r in rows if (r["pipeline"], r["run_id"]) in keep]


def build_site(root: Path, rows: list[dict]) -> Path:
    """Render ``rows`` (stored suite results) with GE into a fresh site in ``root/gx``."""
    import json
    import shutil

    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResultSchema,
    )
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    if (root / "gx").exists():
        shutil.rmtree(root / "gx")
    root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    schema = ExpectationSuiteValidationResultSchema()
    for r in rows:
        result = schema.load(json.loads(r["result"]))
        key = ValidationResultIdentifier(
            ExpectationSuiteIdentifier(name=result.suite_name),
            RunIdentifier(run_name=r["run_id"], run_time=r["checked_at"]),
            r["stage"],
        )
        context.validation_results_store.set(key, result)
    urls = context.build_data_docs()
    index = next(iter(urls.values()))
    return Path(index.removeprefix("file://"))
