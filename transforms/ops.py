"""Declarative Polars steps: a list of operations in the spec, applied lazily to the first input.

Expressions (``filter``, ``derive``) are SQL expressions read by Polars itself
(``pl.sql_expr``), so they are parsed, never evaluated as Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dagwright.errors import StageError
from dagwright.staging import local_path, open_output

if TYPE_CHECKING:
    import polars as pl

    from dagwright.context import RunContext
    from dagwright.spec.sections import Op, Transform
    from dagwright.staging import StagedTable

_TYPES = {
    "int8": "Int8",
    "int16": "Int16",
    "int32": "Int32",
    "int64": "Int64",
    "integer": "Int64",
    "int": "Int64",
    "bigint": "Int64",
    "uint32": "UInt32",
    "uint64": "UInt64",
    "float32": "Float32",
    "float64": "Float64",
    "float": "Float64",
    "double": "Float64",
    "string": "String",
    "str": "String",
    "varchar": "String",
    "text": "String",
    "bool": "Boolean",
    "boolean": "Boolean",
    "date": "Date",
    "datetime": "Datetime",
    "timestamp": "Datetime",
}


def polars_type(name: str) -> pl.DataType:
    """A Polars type from a spec's type name: int64, string, date, decimal(10,2), ..."""
    import re

    import polars as pl

    text = name.strip().lower()
    match = re.fullmatch(r"(?:decimal|numeric)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", text)
    if match:
        return pl.Decimal(int(match.group(1)), int(match.group(2)))
    if text in _TYPES:
        return getattr(pl, _TYPES[text])()
    raise ValueError(f"unknown type {name!r}; use one of {', '.join(sorted(_TYPES))}, decimal(p,s)")


def apply_ops(frames: dict[str, pl.LazyFrame], base: str, ops: list[Op], step: str) -> pl.LazyFrame:
    """The first input with every operation applied, still lazy."""
    frame = frames[base]
    for index, op in enumerate(ops):
        try:
            frame = _apply(frame, op, frames)
            frame.collect_schema()  # resolves names and types now: no data is read
        except StageError:
            raise
        except Exception as exc:  # noqa: BLE001 - polars raises many types for bad expressions
            raise StageError(
                f"transform_{step}", f"ops[{index}] ({op.kind}): {type(exc).__name__}: {exc}"
            ) from None
    return frame


def _apply(frame: pl.LazyFrame, op: Op, frames: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    import polars as pl

    if op.select is not None:
        return frame.select(op.select)
    if op.rename is not None:
        return frame.rename(op.rename)
    if op.cast is not None:
        return frame.with_columns(
            pl.col(column).cast(polars_type(type_name)) for column, type_name in op.cast.items()
        )
    if op.filter is not None:
        return frame.filter(pl.sql_expr(op.filter))
    if op.derive is not None:
        return frame.with_columns(pl.sql_expr(text).alias(col) for col, text in op.derive.items())
    if op.deduplicate is not None:
        spec = op.deduplicate
        if spec.order_by:
            columns = [c.removeprefix("-") for c in spec.order_by]
            descending = [c.startswith("-") for c in spec.order_by]
            frame = frame.sort(columns, descending=descending, maintain_order=True)
        return frame.unique(subset=spec.keys, keep=spec.keep, maintain_order=True)
    assert op.join is not None
    other = frames[op.join.with_]
    on = [op.join.keys] if isinstance(op.join.keys, str) else op.join.keys
    how: Any = op.join.how
    if how in ("full", "right"):
        return frame.join(other, on=on, how=how, coalesce=True)
    return frame.join(other, on=on, how=how)


def build(step: Transform, frames: dict[str, pl.LazyFrame], name: str) -> pl.LazyFrame:
    assert step.ops is not None and step.inputs
    missing = [op.join.with_ for op in step.ops if op.join and op.join.with_ not in frames]
    if missing:
        raise StageError(
            f"transform_{name}",
            f"join with {missing[0]!r}, which is not one of its inputs {step.inputs}",
        )
    return apply_ops(frames, step.inputs[0], step.ops, name)


def run_ops(
    name: str, step: Transform, inputs: dict[str, StagedTable], out: str, ctx: RunContext
) -> None:
    import polars as pl

    frames = {k: pl.scan_parquet(local_path(v.uri)) for k, v in inputs.items()}
    result = build(step, frames, name)
    try:
        result.sink_parquet(open_output(out))
    except Exception as exc:  # noqa: BLE001 - surfaced with the step's name
        raise StageError(f"transform_{name}", f"{type(exc).__name__}: {exc}") from None
