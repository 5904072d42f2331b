"""Evaluate a stage's expectations: natively in DuckDB where a native form gives Great
Expectations' answer, in Great Expectations for the rest.

Great Expectations is imported only when some expectation has no native form for its
arguments and column types (or asks for ``engine: great_expectations``).
"""

from __future__ import annotations

from typing import Any

from expectations import native
from expectations.outcomes import Data, Outcome
from expectations.suites import CheckItem


def validate(items: list[CheckItem], data: Data, chunk_rows: int) -> list[Outcome]:
    """Every item's outcome, in the order of ``items``."""
    outcomes: dict[int, Outcome] = {}
    fast: list[int] = []
    slow: list[int] = []
    for i, item in enumerate(items):
        if not native.applies(item, data.schema, data.json_columns):
            slow.append(i)
            continue
        missing = _missing_column(item, data)
        if missing is not None:
            outcomes[i] = missing
        else:
            fast.append(i)
    if fast:
        outcomes.update(native.validate(items, fast, data))
    for i in outcomes:
        outcomes[i].config = _config(i, items[i])
    if slow:
        from expectations import engine

        found = engine.validate([items[i] for i in slow], data, chunk_rows)
        for i, outcome in zip(slow, found, strict=True):
            outcome.config["meta"]["dagwright_index"] = i
            outcomes[i] = outcome
    return [outcomes[i] for i in range(len(items))]


def _missing_column(item: CheckItem, data: Data) -> Outcome | None:
    kwargs = item.kwargs
    names = [kwargs["column"]] if "column" in kwargs else list(kwargs.get("column_list") or [])
    missing = [c for c in names if c not in data.schema.names]
    if not missing:
        return None
    return Outcome(
        item,
        False,
        error=f"column {missing[0]!r} does not exist (columns: {', '.join(data.schema.names)})",
    )


def _config(index: int, item: CheckItem) -> dict[str, Any]:
    """The expectation's configuration as GE writes it in a suite result."""
    return {
        "type": item.type,
        "kwargs": dict(item.kwargs),
        "meta": {"dagwright_index": index, "severity": item.severity},
        "severity": "critical",
    }
