"""Unit tests of transforms: given input rows, expected output rows, a readable row diff.

Tests live in the spec, under a transform's ``tests:``. Each runs the transform through
the stage executor (the same code path as a run) over the given rows, staged as Parquet.
Only the columns an expected row names are compared, and rows are compared as a multiset
unless the test says ``ordered: true``. From pytest: ``assert_transform_tests(path)``.
"""

from __future__ import annotations

import math
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.errors import DagwrightError

if TYPE_CHECKING:
    from dagwright.spec.pipeline import PipelineSpec
    from dagwright.spec.sections import TransformTest


@dataclass(frozen=True)
class TestOutcome:
    pipeline: str
    transform: str
    test: str
    ok: bool
    message: str = ""

    __test__ = False  # not a pytest class

    @property
    def id(self) -> str:
        return f"{self.pipeline}.{self.transform}: {self.test}"


def _normal(value: Any) -> Any:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def row_diff(
    columns: list[str], expected: list[tuple], actual: list[tuple], ordered: bool
) -> str | None:
    """A readable diff of two row lists, or ``None`` when they match."""
    if ordered:
        if expected == actual:
            return None
        lines = [f"rows differ in order or content ({' | '.join(columns)}):"]
        for i in range(max(len(expected), len(actual))):
            exp_row = expected[i] if i < len(expected) else None
            act_row = actual[i] if i < len(actual) else None
            mark = " " if exp_row == act_row else "!"
            lines.append(f"  {mark} row {i + 1}: expected {_fmt(exp_row)}  got {_fmt(act_row)}")
        return "\n".join(lines)
    missing = Counter(expected) - Counter(actual)
    extra = Counter(actual) - Counter(expected)
    if not missing and not extra:
        return None
    lines = [
        f"{sum(missing.values())} expected row(s) missing, {sum(extra.values())} unexpected "
        f"row(s) ({len(expected)} expected, {len(actual)} produced)",
        f"    {' | '.join(columns)}",
    ]
    lines += [f"  - {_fmt(r)}" + ("" if n == 1 else f"  (x{n})") for r, n in missing.items()]
    lines += [f"  + {_fmt(r)}" + ("" if n == 1 else f"  (x{n})") for r, n in extra.items()]
    lines.append("  (- expected but not produced, + produced but not expected)")
    return "\n".join(lines)


def _fmt(row: tuple | None) -> str:
    return "(none)" if row is None else " | ".join(_show(v) for v in row)


def _write_rows(rows: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names: list[str] = []
    for row in rows:
        names += [k for k in row if k not in names]
    table = pa.Table.from_pylist([{n: row.get(n) for n in names} for row in rows])
    pq.write_table(table, path)


def run_test(spec: PipelineSpec, name: str, test: TransformTest, workdir: Path) -> TestOutcome:
    from dagwright.context import Interval, RunContext
    from dagwright.executor import StageExecutor, StageResult
    from dagwright.plan import build_plan, stage_id
    from dagwright.staging import describe, local_path
    from transforms.sql import run_sql

    plan = build_plan(spec)
    stage = plan.stages[stage_id("transform", name)]
    step = spec.model.transforms[name]

    def outcome(ok: bool, message: str = "") -> TestOutcome:
        return TestOutcome(spec.name, name, test.name, ok, message)

    needed = [n for n, _ in stage.data_inputs]
    missing = [n for n in needed if n not in test.given]
    unknown = [n for n in test.given if n not in needed]
    if missing or unknown:
        return outcome(
            False,
            f"transform {name!r} reads {needed}; the test gives "
            + (f"no rows for {missing}" if missing else f"rows for unknown inputs {unknown}"),
        )
    results: dict[str, StageResult] = {}
    staged = {}
    for input_name, provider in stage.data_inputs:
        path = workdir / f"{input_name}.parquet"
        _write_rows(test.given[input_name], path)
        staged[input_name] = describe(str(path))
        results[provider] = StageResult(stage=provider, staged=staged[input_name])
    interval = Interval(*(_utc(t) for t in test.interval)) if test.interval else None
    ctx = RunContext("test", spec.name, spec.project_root, str(workdir), interval=interval)
    try:
        if step.pushdown:
            # A pushed-down step's unit test runs its SQL on DuckDB over the given rows.
            out = str(workdir / "out.parquet")
            run_sql(name, step.model_copy(update={"pushdown": False}), staged, out, ctx, spec)
        else:
            result = StageExecutor(plan, ctx).run(stage, results)
            assert result.staged is not None
            out = local_path(result.staged.uri)
    except DagwrightError as exc:
        return outcome(False, f"the transform failed: {exc}")
    import pyarrow.parquet as pq

    produced = pq.read_table(out).to_pylist()
    columns: list[str] = []
    for row in test.expect:
        columns += [k for k in row if k not in columns]
    have = list(produced[0]) if produced else pq.read_schema(out).names
    absent = [c for c in columns if c not in have]
    if absent:
        return outcome(False, f"the output has no column(s) {absent}; it has {have}")
    expected = [tuple(_normal(r.get(c)) for c in columns) for r in test.expect]
    actual = [tuple(_normal(r.get(c)) for c in columns) for r in produced]
    diff = row_diff(columns, expected, actual, test.ordered)
    return outcome(diff is None, diff or "")


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def run_spec_tests(spec: PipelineSpec, transform: str | None = None) -> list[TestOutcome]:
    outcomes: list[TestOutcome] = []
    for name, step in spec.model.transforms.items():
        if transform and name != transform:
            continue
        for test in step.tests:
            with tempfile.TemporaryDirectory(prefix="dagwright-test-") as tmp:
                outcomes.append(run_test(spec, name, test, Path(tmp)))
    return outcomes


def assert_transform_tests(path: str | Path, transform: str | None = None) -> None:
    """For pytest: run a spec's transform tests, failing with every row diff."""
    from dagwright.spec.load import load_spec

    outcomes = run_spec_tests(load_spec(Path(path)), transform)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise AssertionError("\n\n".join(f"{o.id}\n{o.message}" for o in failed))
