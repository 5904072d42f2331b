"""What a check stage's expectations found, in Great Expectations' result format.

Shared by both ways of evaluating an expectation (``expectations.native`` in DuckDB,
``expectations.engine`` in Great Expectations); importing it imports neither library.
The suite result written for Data Docs is built here as the JSON that GE's own
``ExpectationSuiteValidationResult.to_json_dict()`` produces (a test holds them equal).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from expectations.suites import CheckItem

SAMPLE = 20
"""Unexpected values kept per expectation (GE's ``partial_unexpected_list``)."""


@dataclass
class Outcome:
    """One expectation's verdict on one stage's data."""

    item: CheckItem
    success: bool
    element_count: int | None = None
    missing_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    observed_value: Any = None
    sample: list[Any] = field(default_factory=list)
    error: str | None = None
    rows: list[int] = field(default_factory=list)
    """Positions (in the stage's input) of the rows that failed; quarantine items only."""
    config: Any = None
    note: str | None = None
    """Why the expectation was skipped (it cannot apply to a JSON column), if it was."""

    def describe(self) -> str:
        if self.note:
            return f"skipped: {self.note}"
        if self.error:
            return f"raised {self.error}"
        if self.unexpected_count is not None:
            text = f"{self.unexpected_count:,} of {self.element_count or 0:,} rows unexpected"
            if self.sample:
                text += f", e.g. {', '.join(repr(v) for v in self.sample[:5])}"
            return text
        return f"observed {self.observed_value!r}"

    def summary(self) -> dict[str, Any]:
        """The result dict GE renders (Data Docs), merged over chunks."""
        result: dict[str, Any] = {}
        if self.note:
            result["details"] = {"skipped": self.note}
        if self.observed_value is not None:
            result["observed_value"] = self.observed_value
        if self.unexpected_count is not None:
            result.update(
                element_count=self.element_count,
                unexpected_count=self.unexpected_count,
                unexpected_percent=self.unexpected_percent,
                partial_unexpected_list=self.sample,
            )
            if self.missing_count is not None:
                result["missing_count"] = self.missing_count
        return result


Batches = Callable[[list[str]], Iterable[pa.RecordBatch]]
"""Reads a stage's rows as Arrow record batches holding the given columns."""


class Data:
    """A stage's rows: a staged Parquet file, an Arrow table (a loaded table), or record
    batches from a factory (``columns -> batches``) with their schema.

    ``rows`` is known up front for a file or a table; for batches, once validated.
    ``json_columns`` names columns holding JSON text besides those typed ``arrow.json``.
    """

    def __init__(
        self,
        source: str | pa.Table | Batches,
        schema: pa.Schema | None = None,
        rows: int | None = None,
        json_columns: Iterable[str] = (),
        uri: str | None = None,
    ) -> None:
        self.source = source
        self.uri = uri if uri is not None else source if isinstance(source, str) else None
        """Where the rows are staged, if they are (a workspace table or a Parquet file)."""
        if isinstance(source, pa.Table):
            self.schema, self.rows = source.schema, source.num_rows
        elif isinstance(source, str):
            meta = pq.ParquetFile(source).metadata
            self.schema, self.rows = meta.schema.to_arrow_schema(), meta.num_rows
        elif schema is None:
            raise TypeError("Data from record batches needs their schema")
        else:
            self.schema, self.rows = schema, rows
        typed = {f.name for f in self.schema if is_json(f.type)}
        self.json_columns: set[str] = typed | set(json_columns)

    def batches(self, columns: list[str], batch_rows: int) -> Iterable[pa.RecordBatch]:
        if isinstance(self.source, pa.Table):
            return self.source.select(columns).to_batches(batch_rows)
        if isinstance(self.source, str):
            return pq.ParquetFile(self.source).iter_batches(batch_rows, columns=columns)
        return self.source(columns)

    def chunks(self, columns: list[str], chunk_rows: int) -> Iterator[pa.Table]:
        """Tables of ``chunk_rows`` rows (the last one shorter); an empty input gives one
        empty table."""
        pending: list[pa.RecordBatch] = []
        held = 0
        given = False
        for batch in self.batches(columns, chunk_rows):
            if not batch.num_rows:
                continue
            pending.append(batch)
            held += batch.num_rows
            while held >= chunk_rows:
                table = pa.Table.from_batches(pending)
                yield table.slice(0, chunk_rows)
                given = True
                rest = table.slice(chunk_rows)
                pending, held = rest.to_batches(), rest.num_rows
        if pending:
            yield pa.Table.from_batches(pending)
        elif not given:
            yield pa.schema([self.schema.field(c) for c in columns]).empty_table()


def is_json(t: pa.DataType) -> bool:
    return getattr(t, "extension_name", None) == "arrow.json"


def jsonable(value: Any) -> Any:
    """A JSON-safe version of a value GE returns (numpy scalars, NaN, Decimal, timestamps)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        with contextlib.suppress(ValueError, TypeError):
            value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def suite_result(name: str, outcomes: list[Outcome]) -> dict[str, Any]:
    """A GE ``ExpectationSuiteValidationResult`` (as JSON) for Data Docs."""
    results = [
        {
            "success": o.success,
            "expectation_config": o.config,
            "result": o.summary(),
            "meta": {},
            "exception_info": {
                "raised_exception": bool(o.error),
                "exception_message": o.error,
                "exception_traceback": None,
            },
        }
        for o in outcomes
    ]
    passed = sum(1 for o in outcomes if o.success)
    total = len(outcomes)
    return {
        "success": passed == total,
        "results": results,
        "suite_name": name,
        "suite_parameters": {},
        "statistics": {
            "evaluated_expectations": total,
            "successful_expectations": passed,
            "unsuccessful_expectations": total - passed,
            "success_percent": 100.0 * passed / total if total else None,
        },
        "meta": {"great_expectations_version": _ge_version()},
        "id": None,
    }


def _ge_version() -> str | None:
    try:
        return importlib.metadata.version("great_expectations")
    except importlib.metadata.PackageNotFoundError:
        return None
