"""Measure the check path: ``python -m expectations.measure --rows 1000000 [--chunk N]``.

Each variant runs in its own process so its peak RSS is its own:
``convert`` (Arrow -> pandas only), ``direct`` (GE with its defaults, as a user would
call it, once on the whole frame), ``engine`` (dagwright's path: Parquet -> Arrow chunks
-> pandas -> GE, uniqueness on the whole column), ``native`` (the same four evaluated
in DuckDB over the Parquet file, as a check stage does), each with the four typical
expectations. ``seconds`` is wall time, ``cpu`` the process's CPU time (steadier on a busy
machine), ``peak_mb`` its peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXPECTATIONS = [
    ("expect_column_values_to_not_be_null", {"column": "order_id"}),
    ("expect_column_values_to_be_unique", {"column": "order_id"}),
    ("expect_column_values_to_be_between", {"column": "amount", "min_value": 0, "max_value": 1e6}),
    (
        "expect_column_values_to_be_in_set",
        {"column": "status", "value_set": ["paid", "shipped", "void", "refunded"]},
    ),
]


def make_data(path: Path, rows: int) -> None:
    import duckdb

    rel = duckdb.sql(
        "SELECT i AS order_id, i % 1000 AS customer_id, "
        "CAST((i % 997) * 1.5 AS DECIMAL(12, 2)) AS amount, "
        "['paid', 'shipped', 'void', 'refunded'][1 + i % 4] AS status FROM range($n) t(i)",
        params={"n": rows},
    )
    rel.write_parquet(str(path))


def variant(name: str, path: str, chunk: int) -> dict[str, float]:
    import pandas  # noqa: F401 - imports are not what is measured
    import pyarrow.parquet as pq

    started, cpu = time.perf_counter(), time.process_time()
    if name == "convert":
        pq.read_table(path).to_pandas()
    elif name == "direct":
        from expectations import engine, gx_types

        ready = time.perf_counter(), time.process_time()
        frame = engine._frame(pq.read_table(path))
        suite = engine.gx.ExpectationSuite(
            name="direct", expectations=[gx_types.build(t, k) for t, k in EXPECTATIONS]
        )
        context = engine.gx.get_context(mode="ephemeral")
        asset = context.data_sources.add_pandas("direct").add_dataframe_asset("rows")
        batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": frame}
        )
        result = batch.validate(suite, result_format="SUMMARY")
        assert result.success
        started, cpu = ready
    elif name == "native":
        from dagwright.errors import Problem
        from expectations import native
        from expectations.outcomes import Data
        from expectations.suites import CheckItem

        ready = time.perf_counter(), time.process_time()
        items = [CheckItem(t, k, "error", None, Problem("m", 1, 1, "")) for t, k in EXPECTATIONS]
        found = native.validate(items, list(range(len(items))), Data(path))
        assert all(o.success for o in found.values()), [o.describe() for o in found.values()]
        started, cpu = ready
    elif name == "engine":
        from dagwright.errors import Problem
        from expectations import engine
        from expectations.suites import CheckItem

        ready = time.perf_counter(), time.process_time()
        items = [CheckItem(t, k, "error", None, Problem("m", 1, 1, "")) for t, k in EXPECTATIONS]
        outcomes = engine.validate(items, engine.Data(path), chunk)
        assert all(o.success for o in outcomes), [o.describe() for o in outcomes]
        started, cpu = ready
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": round(seconds, 2), "cpu": round(cpu_seconds, 2), "peak_mb": round(peak_mb)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=1_000_000)
    parser.add_argument("--variant")
    parser.add_argument("--path")
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(variant(args.variant, args.path, args.chunk)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.parquet"
        make_data(path, args.rows)
        report = {"rows": args.rows, "chunk": args.chunk}
        for name in ("convert", "direct", "engine", "native"):
            out = (
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "expectations.measure",
                        "--variant",
                        name,
                        "--path",
                        str(path),
                        "--chunk",
                        str(args.chunk),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            report[name] = json.loads(out)
        print(json.dumps(report))


if __name__ == "__main__":
    main()
