"""What each stage will do, in words and SQL, for ``dagwright plan`` (no side effects)."""

from __future__ import annotations

from dagwright.context import RunContext
from dagwright.executor import make_extractor, make_loader
from dagwright.plan import Plan, Stage


def describe_stage(plan: Plan, stage: Stage) -> list[str]:
    """Lines describing ``stage``: the first is a summary, the rest SQL or detail."""
    model = plan.spec.model
    if stage.kind == "extract":
        ctx = RunContext("plan", plan.pipeline, plan.spec.project_root, "")
        source = model.sources[stage.name]
        lines = [make_extractor(plan, stage.name, ctx).describe()]
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
        from transforms.sql import SqlStepError, parse, read_sql, translate

        try:
            source = read_sql(step.sql, step.sql_file, plan.spec.project_root)
            sql = translate(parse(source.text, step.dialect), "duckdb")
        except SqlStepError as exc:
            return [f"SQL ({step.dialect}) on duckdb over {inputs}", f"error: {exc}"]
        import sqlglot

        pretty = sqlglot.transpile(sql, read="duckdb", write="duckdb", pretty=True)[0]
        return [f"SQL ({step.dialect} -> duckdb) over {inputs}", *pretty.splitlines()]
    if stage.kind == "load":
        load = model.loads[stage.name]
        loader = make_loader(plan)
        keys = load.primary_key or load.merge_key
        head = f"{load.write} into {stage.name} ({loader.describe()})"
        if keys:
            head += f" on {', '.join(keys)}"
        return [head, *[s + ";" for s in loader.plan_load(stage.name, load)]]
    refs = _check_refs(plan, stage)
    return [f"checks after {stage.checks_of} {stage.name!r}: {', '.join(map(str, refs))}"]


def _check_refs(plan: Plan, stage: Stage) -> list[object]:
    model = plan.spec.model
    if stage.checks_of == "source":
        return list(model.sources[stage.name].expect)
    if stage.checks_of == "transform":
        return list(model.transforms[stage.name].expect)
    return list(model.loads[stage.name].expect)
