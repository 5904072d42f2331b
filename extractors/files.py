"""Files: CSV, TSV, Parquet, JSON and NDJSON, from a path, a folder or a glob.

DuckDB reads the files (in parallel, streaming) and writes the staged Parquet itself,
so a file source never holds the whole input in Python memory.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from dagwright.errors import DataError
from extractors.base import Extractor, ExtractResult, SourceConfig

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

Format = Literal["csv", "tsv", "parquet", "json", "ndjson"]
_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}


class FileSourceConfig(SourceConfig):
    """Read local files matched by a path, folder or glob."""

    extractor: Literal["files", "csv", "tsv", "parquet", "json", "ndjson"]
    path: str = Field(description="A file, a folder, or a glob such as data/orders/*.csv.")
    format: Format | None = Field(
        default=None, description="File format; by default from the extractor name or extension."
    )
    delimiter: str | None = Field(default=None, description="CSV field delimiter.")
    header: bool = Field(default=True, description="CSV files start with a header row.")
    columns: dict[str, str] | None = Field(
        default=None,
        description="Column types as SQL type names, e.g. {amount: DECIMAL(12,2)}.",
    )
    null_values: list[str] | None = Field(default=None, description="Strings read as null.")
    date_format: str | None = Field(default=None, description="strptime format of DATE columns.")
    timestamp_format: str | None = Field(
        default=None, description="strptime format of TIMESTAMP columns."
    )


class FileExtractor(Extractor[FileSourceConfig]):
    config_model = FileSourceConfig

    @property
    def file_format(self) -> Format:
        cfg = self.config
        if cfg.format:
            return cfg.format
        if cfg.extractor != "files":
            return cfg.extractor
        ext = os.path.splitext(cfg.path.rstrip("*"))[1].lower()
        return _EXTENSIONS.get(ext, "csv")

    def files(self) -> list[str]:
        root = self.context.project_root
        pattern = self.config.path
        full = pattern if os.path.isabs(pattern) else str(root / pattern)
        if os.path.isdir(full):
            full = os.path.join(full, "**", "*")
        matches = sorted(p for p in glob.glob(full, recursive=True) if os.path.isfile(p))
        if not matches:
            raise DataError(
                f"source {self.name!r}: no file matches {self.config.path!r} "
                f"(looked in {root}); check the path or generate the data first"
            )
        return matches

    def describe(self) -> str:
        return f"read {self.file_format} files {self.config.path!r}"

    def relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        files = self.files()
        fmt = self.file_format
        cfg = self.config
        if fmt in ("csv", "tsv"):
            options: dict[str, Any] = {"header": cfg.header}
            delimiter = cfg.delimiter or ("\t" if fmt == "tsv" else None)
            if delimiter:
                options["sep"] = delimiter
            if cfg.columns:
                options["dtype"] = cfg.columns
            if cfg.null_values:
                options["na_values"] = cfg.null_values
            if cfg.date_format:
                options["date_format"] = cfg.date_format
            if cfg.timestamp_format:
                options["timestamp_format"] = cfg.timestamp_format
            return con.read_csv(files, **options)
        if fmt == "parquet":
            return con.read_parquet(files)
        return con.read_json(files, format="newline_delimited" if fmt == "ndjson" else "auto")

    def _filtered(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        import duckdb

        rel = self.relation(con)
        inc = self.config.incremental
        if inc is None:
            return rel
        lower = self.context.watermarks.get(self.name, inc.initial_value)
        cursor = duckdb.ColumnExpression(inc.cursor)
        interval = self.context.interval
        if inc.use_interval and interval is not None:
            start = duckdb.ConstantExpression(interval.start.replace(tzinfo=None))
            end = duckdb.ConstantExpression(interval.end.replace(tzinfo=None))
            return rel.filter((cursor >= start) & (cursor < end))
        if lower is not None:
            if inc.lookback is not None and hasattr(lower, "__sub__"):
                lower = lower - inc.lookback
            return rel.filter(cursor > duckdb.ConstantExpression(lower))
        return rel

    def batches(self) -> Iterator[pa.RecordBatch]:
        import duckdb

        con = duckdb.connect()
        try:
            reader = self._filtered(con).to_arrow_reader(batch_size=100_000)  # type: ignore[attr-defined]
            yield from reader
        finally:
            con.close()

    def write(self, path: str) -> ExtractResult:
        import duckdb

        from dagwright.staging import open_output

        con = duckdb.connect()
        try:
            rel = self._filtered(con)
            target = open_output(path)
            try:
                rel.write_parquet(target)
            except duckdb.Error as exc:
                raise DataError(f"source {self.name!r}: {_first_line(exc)}") from None
            watermark = None
            if self.config.incremental is not None:
                cursor = duckdb.ColumnExpression(self.config.incremental.cursor)
                row = (
                    con.read_parquet(target)
                    .aggregate([duckdb.FunctionExpression("max", cursor)])
                    .fetchall()
                )
                watermark = row[0][0] if row else None
            count = (
                con.read_parquet(target)
                .aggregate([duckdb.FunctionExpression("count", duckdb.StarExpression())])
                .fetchall()
            )
        finally:
            con.close()
        previous = self.context.watermarks.get(self.name)
        if watermark is None or (previous is not None and watermark < previous):
            watermark = previous
        return ExtractResult(rows=int(count[0][0]) if count else 0, new_watermark=watermark)


def _first_line(exc: Exception) -> str:
    return str(exc).strip()
