"""What each transform reads: its inputs, named in the spec or found in its SQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagwright.errors import Problem

if TYPE_CHECKING:
    from dagwright.spec.pipeline import PipelineSpec


def transform_inputs(
    spec: PipelineSpec, problems: list[Problem] | None = None
) -> dict[str, list[tuple[str, tuple[str | int, ...]]]]:
    """Each transform's input names with the spec location that names them."""
    from transforms.sql import (
        SqlStepError,
        read_sql,
        tables_of,
        translation_problems,
    )

    result: dict[str, list[tuple[str, tuple[str | int, ...]]]] = {}
    for name, step in spec.model.transforms.items():
        if step.inputs is not None:
            result[name] = [
                (ref, ("transforms", name, "inputs", i)) for i, ref in enumerate(step.inputs)
            ]
            if step.kind != "sql" or problems is None:
                continue
        body_key = "sql" if step.sql is not None else "sql_file"
        loc = ("transforms", name, body_key)
        try:
            source = read_sql(step.sql, step.sql_file, spec.project_root)
            tables = tables_of(source.text, step.dialect, step.pushdown)
        except SqlStepError as exc:
            if problems is not None:
                problems.append(_sql_problem(spec, loc, name, exc, step.sql_file))
            result.setdefault(name, [])
            continue
        result.setdefault(name, [(ref, loc) for ref in tables])
        if problems is not None:
            problems += translation_problems(spec, name, step, source)
    return result


def _sql_problem(
    spec: PipelineSpec, loc: tuple[str | int, ...], name: str, exc: Exception, sql_file: str | None
) -> Problem:
    line = getattr(exc, "line", None)
    if sql_file and line:
        return Problem(str(spec.project_root / sql_file), line, 1, f"transform {name!r}: {exc}")
    where = f" (line {line} of the SQL)" if line else ""
    return spec.problem(loc, f"transform {name!r}: {exc}{where}")
