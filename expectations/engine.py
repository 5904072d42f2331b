"""Great Expectations on pandas frames made from Arrow, chunk by chunk for large data.

Row-local map expectations (not null, between, in set, regex, ...) run on chunks of
``chunk_rows`` rows holding only the columns they read, and their counts are summed;
everything else (uniqueness, increasing, aggregates, table-level) runs once on the
whole table restricted to its columns, so uniqueness stays exact across chunks.
The data is read once: a reader thread turns the next chunk into a pandas frame (Arrow
decoding and conversion release the GIL) while GE validates the current one, and keeps
the columns of the whole-table expectations as Arrow until the end.

JSON columns (``arrow.json``, or named by the caller: DuckDB hands its JSON over as text)
reach GE as the documents' text: null, uniqueness, set, regex and length expectations
work on it. Expectations that order or average values (between, min, max, mean,
increasing...) cannot compare JSON documents: on a JSON column they are skipped, with a
note in their result (``Outcome.note``), rather than raising.
Importing this module imports Great Expectations.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import great_expectations as gx
import pyarrow as pa
from great_expectations.core.expectation_validation_result import ExpectationValidationResult
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

from dagwright.errors import SpecError
from expectations import gx_types
from expectations.outcomes import SAMPLE, Batches, Data, Outcome, jsonable, suite_result
from expectations.suites import CheckItem

__all__ = [
    "SAMPLE",
    "Batches",
    "Data",
    "Outcome",
    "jsonable",
    "prepare",
    "suite_result",
    "validate",
]
_ORDERING = re.compile(
    r"^expect_column_values_to_be_(between|increasing|decreasing)$"
    r"|^expect_column_(min|max|mean|median|sum|stdev|quantile_values)_to_be_between$"
    r"|^expect_column_pair_values_a_to_be_greater_than_b$|z_scores|kl_divergence|bootstrapped",
    re.IGNORECASE,
)
"""Expectations that order, add up or average a column's values: meaningless on JSON."""
_LOCK = threading.RLock()
_BATCH_DEFINITION: Any = None


@dataclass
class _Piece:
    """One chunk, ready for GE: its frame, and the Arrow columns kept for the end."""

    rows: int
    frame: Any = None
    kept: pa.Table | None = None
    only: bool = False
    """The whole input fits this one chunk: every expectation runs on ``frame``."""


def prepare() -> None:
    """Build GE's context now (the check stage's warm-up calls it on its own thread)."""
    _batch_definition()


def _batch_definition() -> Any:
    """One ephemeral context and dataframe batch definition for the process.

    GE fingerprints every frame under 1 GB (an md5 over ``hash_pandas_object`` of all
    of it, twice a validation) for batch metadata dagwright does not keep; that costs as
    much as the four typical expectations together, so the threshold is set to never.
    """
    global _BATCH_DEFINITION
    with _LOCK:
        if _BATCH_DEFINITION is not None:
            return _BATCH_DEFINITION
        from great_expectations.execution_engine import pandas_execution_engine

        pandas_execution_engine.HASH_THRESHOLD = 0
        config = DataContextConfig(
            progress_bars=ProgressBarsConfig(globally=False),
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
        )
        context = gx.get_context(mode="ephemeral", project_config=config)
        asset = context.data_sources.add_pandas("dagwright").add_dataframe_asset("stage")
        _BATCH_DEFINITION = asset.add_batch_definition_whole_dataframe("rows")
        return _BATCH_DEFINITION


def validate(items: list[CheckItem], data: Data, chunk_rows: int) -> list[Outcome]:
    """Every item's outcome, in the order of ``items``."""
    names = set(data.schema.names)
    outcomes: dict[int, Outcome] = {}
    built: dict[int, Any] = {}
    chunked: list[int] = []
    whole: list[int] = []
    for i, item in enumerate(items):
        cls = gx_types.expectation_class(item.type)
        problems = (
            [f"unknown expectation type {item.type!r}"]
            if cls is None
            else gx_types.argument_problems(cls, item.type, item.kwargs)
        )
        if problems:
            raise SpecError([item.problem(p) for p in problems])
        kwargs = _adapt_bounds(item.kwargs, data.schema)
        built[i] = cls(**kwargs, meta={"dagwright_index": i, "severity": item.severity})
        missing = [c for c in gx_types.columns_of(item.kwargs) or [] if c not in names]
        if missing:
            outcomes[i] = Outcome(
                item,
                False,
                error=f"column {missing[0]!r} does not exist "
                f"(columns: {', '.join(data.schema.names)})",
            )
            continue
        note = _json_note(item, data.json_columns)
        if note is not None:
            outcomes[i] = Outcome(item, True, note=note)
            continue
        (chunked if gx_types.is_chunkable(cls, item.type) else whole).append(i)

    if chunked or whole:
        for i, res in _validate_data(items, built, chunked, whole, data, chunk_rows).items():
            outcomes[i] = res
    for i, expectation in built.items():
        outcomes[i].config = expectation.configuration.to_json_dict()
    return [outcomes[i] for i in range(len(items))]


def _json_note(item: CheckItem, json_columns: set[str]) -> str | None:
    """Why ``item`` cannot apply to the JSON column it reads; None when it can."""
    if not json_columns or not _ORDERING.search(item.type):
        return None
    held = [c for c in gx_types.columns_of(item.kwargs) or [] if c in json_columns]
    if not held:
        return None
    return (
        f"column {held[0]!r} holds JSON documents, which {item.type} cannot compare; "
        f"hint: check a field taken out in a transform ({held[0]}->>'field') instead"
    )


def _validate_data(
    items: list[CheckItem],
    built: dict[int, Any],
    chunked: list[int],
    whole: list[int],
    data: Data,
    chunk_rows: int,
) -> dict[int, Outcome]:
    """One pass over the data: chunked items per chunk, whole items at the end."""
    everything = sorted(chunked + whole)
    chunk_columns = _columns(items, chunked, data)
    whole_columns = _columns(items, whole, data)
    read = _columns(items, everything, data)
    parts: dict[int, list[tuple[int, ExpectationValidationResult]]] = {i: [] for i in everything}
    kept: list[pa.Table] = []
    offset = 0
    single = False
    pieces = _pieces(data, read, chunk_columns, whole_columns, chunk_rows)
    with contextlib.closing(_prefetch(pieces)) as stream:
        for piece in stream:
            single = piece.only
            which = everything if single else chunked
            if which:
                for i, res in _run(items, built, which, piece.frame).items():
                    parts[i].append((offset, res))
            if piece.kept is not None:
                kept.append(piece.kept)
            offset += piece.rows
    data.rows = offset
    if whole and not single:
        table = pa.concat_tables(kept) if kept else data.schema.empty_table().select(whole_columns)
        for i, res in _run(items, built, whole, _frame(table)).items():
            parts[i].append((0, res))
    return {i: _merge(items[i], parts[i]) for i in everything}


def _pieces(
    data: Data,
    read: list[str],
    chunk_columns: list[str],
    whole_columns: list[str],
    chunk_rows: int,
) -> Iterator[_Piece]:
    chunks = data.chunks(read, chunk_rows)
    first = next(chunks)
    second = next(chunks, None)
    if second is None:
        yield _Piece(first.num_rows, frame=_frame(first), only=True)
        return
    for table in itertools.chain((first, second), chunks):
        yield _Piece(
            table.num_rows,
            frame=_frame(table.select(chunk_columns)) if chunk_columns else None,
            kept=table.select(whole_columns) if whole_columns else None,
        )


_DONE = object()


def _prefetch(items: Iterator[Any], depth: int = 1) -> Iterator[Any]:
    """``items``, produced on a reader thread at most ``depth`` ahead of the consumer.

    An error in the reader is raised here; leaving early stops the reader.
    """
    ready: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[Any, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                ready.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put((_DONE, exc))
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        put((_DONE, None))

    reader = threading.Thread(target=produce, name="checks-reader", daemon=True)
    reader.start()
    try:
        while True:
            item, error = ready.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        reader.join()


def _adapt_bounds(kwargs: dict[str, Any], schema: pa.Schema) -> dict[str, Any]:
    """Bounds written as YAML dates compare with timestamp columns (as midnight, in the
    column's time zone); pandas refuses to compare a timestamp with a date."""
    column = kwargs.get("column")
    if not isinstance(column, str) or column not in schema.names:
        return kwargs
    kind = schema.field(column).type
    if not pa.types.is_timestamp(kind):
        return kwargs
    adapted = dict(kwargs)
    for key in ("min_value", "max_value"):
        value = adapted.get(key)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = datetime.fromisoformat(value)
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime.combine(value, datetime.min.time())
        if isinstance(value, datetime):
            if kind.tz and value.tzinfo is None:
                from zoneinfo import ZoneInfo

                value = value.replace(tzinfo=ZoneInfo(kind.tz) if kind.tz != "UTC" else UTC)
            elif not kind.tz and value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            adapted[key] = value
    return adapted


def _columns(items: list[CheckItem], which: list[int], data: Data) -> list[str]:
    needed: list[str] = []
    for i in which:
        cols = gx_types.columns_of(items[i].kwargs)
        if cols is None or "row_condition" in items[i].kwargs:
            return list(data.schema.names)
        needed += [c for c in cols if c not in needed]
    return needed


def _run(
    items: list[CheckItem], built: dict[int, Any], which: list[int], frame: Any
) -> dict[int, ExpectationValidationResult]:
    results: dict[int, ExpectationValidationResult] = {}
    with _LOCK:
        batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
        for severity_rows, fmt in ((False, "SUMMARY"), (True, "COMPLETE")):
            group = [i for i in which if (items[i].severity == "quarantine") == severity_rows]
            if not group:
                continue
            suite = gx.ExpectationSuite(name="dagwright", expectations=[built[i] for i in group])
            validation = batch.validate(suite, result_format=fmt)
            for res in validation.results:
                results[int(res.expectation_config.meta["dagwright_index"])] = res
    return results


def _frame(table: pa.Table) -> Any:
    """A pandas frame on which GE's vectorized paths apply.

    Decimals of up to 15 digits become float64 (exact for comparisons against bounds
    written with as many digits) and naive timestamps become nanoseconds: GE compares
    other dtypes row by row in Python, ten to a hundred times slower.
    """
    import pyarrow.compute as pc

    columns = []
    for column, kind in zip(table.columns, table.schema.types, strict=True):
        target = None
        if pa.types.is_decimal(kind) and kind.precision <= 15:
            target = pa.float64()
        elif pa.types.is_timestamp(kind) and kind.tz is None and kind.unit != "ns":
            target = pa.timestamp("ns")
        if target is not None:
            with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError):
                column = pc.cast(column, target)
        columns.append(column)
    return pa.table(columns, names=table.column_names).to_pandas()


def _merge(item: CheckItem, parts: list[tuple[int, ExpectationValidationResult]]) -> Outcome:
    errors = [_exception(r) for _, r in parts if _exception(r)]
    if errors:
        return Outcome(item, False, error=errors[0])
    results = [r.result or {} for _, r in parts]
    outcome = Outcome(item, all(r.success for _, r in parts))
    if "unexpected_count" in results[0]:
        element = sum(int(r.get("element_count") or 0) for r in results)
        unexpected = sum(int(r.get("unexpected_count") or 0) for r in results)
        has_missing = "missing_count" in results[0]
        missing = sum(int(r.get("missing_count") or 0) for r in results) if has_missing else None
        considered = element - (missing or 0)
        outcome.element_count, outcome.unexpected_count = element, unexpected
        outcome.missing_count = missing
        outcome.unexpected_percent = 100.0 * unexpected / considered if considered else None
        if len(parts) > 1:
            mostly = float(item.kwargs.get("mostly", 1))
            outcome.success = considered == 0 or (considered - unexpected) / considered >= mostly
        sample: list[Any] = []
        for r in results:
            values = r.get("partial_unexpected_list")
            if values is None:
                values = r.get("unexpected_list") or []
            sample += [jsonable(v) for v in values[: SAMPLE - len(sample)]]
        outcome.sample = sample
        if item.severity == "quarantine":
            rows: list[int] = []
            for offset, res in parts:
                rows += [
                    offset + int(ix) for ix in (res.result or {}).get("unexpected_index_list") or []
                ]
            outcome.rows = rows
    else:
        outcome.observed_value = jsonable(results[0].get("observed_value"))
    return outcome


def _exception(res: ExpectationValidationResult) -> str | None:
    info = res.exception_info or {}
    if "raised_exception" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None
