"""What each stage will do, in words and SQL, for ``dagwright plan`` (no side effects)."""

from __future__ import annotations

from dagwright.context import RunContext
from dagwright.executor import make_extractor, make_loader
from dagwright.plan import Plan, Stage
from dagwright.spec.sections import Transform


def describe_stage(plan: Plan, stage: Stage) -> list[str]:
    """Lines describing ``stage``: the first is a summary, the rest SQL or detail."""
    model = plan.spec.model
    if stage.kind == "extract":
        ctx = RunContext("plan", plan.pipeline, plan.spec.project_root, "")
        source = model.sources[stage.name]
        lines = [make_extractor(plan, stage.name, ctx).describe()]
        table = source.reads_table()
        if table is not None:
            lines[0] += f" ({_loaded_by(plan, table)})"
        if source.incremental:
            inc = source.incremental
            lines.append(
                f"incremental on {inc.cursor!r}"
                + (f", lookback {inc.lookback}" if inc.lookback else "")
            )
        return lines
    if stage.kind == "transform":
        step = model.transforms[stage.name]
        inputs = ", ".join(name for name, _ in stage.data_inputs)
        if step.kind == "polars":
            return [f"polars {step.polars}({inputs})"]
        if step.kind == "ops":
            return [f"polars ops on {inputs}: {', '.join(op.kind for op in step.ops or [])}"]
        return _describe_sql(plan, stage.name, step, inputs)
    if stage.kind == "load":
        load = model.loads[stage.name]
        loader = make_loader(plan)
        keys = load.primary_key or load.merge_key
        head = f"{load.write} into {stage.name} ({loader.describe()})"
        if keys:
            head += f" on {', '.join(keys)}"
        ((_, provider),) = stage.data_inputs
        shown = f"<the columns of {provider}>"
        statements = [_columns(s, shown) + ";" for s in loader.plan_load(stage.name, load)]
        return [head, f"-- {BATCH} stands for the columns the batch brings", *statements]
    return _describe_checks(plan, stage)


BATCH = "<the columns of ...>"
_MARK = '"<batch columns>"'


def _columns(statement: str, shown: str) -> str:
    """A load statement with the batch's columns (known only when it runs) as ``shown``."""
    statement = statement.replace(f"CAST({_MARK} AS TEXT) AS {_MARK}", shown)
    return statement.replace(f"{_MARK} TEXT", f"{shown} with their types").replace(_MARK, shown)


def _describe_checks(plan: Plan, stage: Stage) -> list[str]:
    """Each expectation of the stage as it will be validated, with its severity."""
    from expectations.suites import checks_for

    kind = stage.checks_of or "source"
    checks = checks_for(plan.spec, kind, stage.name)
    head = f"checks after {kind} {stage.name!r}: {len(checks.items)} expectation(s)"
    lines = [head]
    for item in checks.items:
        suite = f", suite {item.suite}" if item.suite else ""
        lines.append(f"{item.label}  [{item.severity}{suite}]")
    lines += [f"problem: {p}" for p in checks.problems]
    return lines


def _describe_sql(plan: Plan, name: str, step: Transform, inputs: str) -> list[str]:
    """The step's SQL as it will run on its engine (DuckDB, or the destination when pushed down)."""
    import sqlglot

    from dagwright.sql.dialects import dialect_for
    from transforms.sql import SqlStepError, compile_step, engine_of, step_error

    engine = engine_of(plan.spec, step)
    where = f"in the {engine} destination" if step.pushdown else "on duckdb"
    head = f"SQL ({step.dialect} -> {engine}) {where} over {inputs}"
    try:
        compiled, _ = compile_step(
            step, plan.spec.project_root, engine, allowed=tuple(plan.spec.model.params)
        )
    except SqlStepError as exc:
        return [head, f"error: {step_error(name, step, exc, plan.spec, None)}"]
    dialect = dialect_for(engine)
    pretty = sqlglot.transpile(compiled.sql, read=dialect, write=dialect, pretty=True)[0]
    lines = [head, *pretty.splitlines()]
    if compiled.params:
        lines.append("-- bound: " + ", ".join(compiled.params))
    return lines


def _loaded_by(plan: Plan, table: str) -> str:
    """Which spec of the project loads ``table``, as ``plan`` says it."""
    from dagwright.pipelines import project_graph

    found = project_graph(plan.spec.project_root).producer(plan.spec, table)
    if found is None:
        return "loaded by no spec in dags/"
    spec, load = found
    where = (
        spec.path.relative_to(spec.project_root)
        if spec.path.is_relative_to(spec.project_root)
        else spec.path
    )
    return f"loaded by pipeline {spec.name!r}, load {load!r}, {where}"
