"""The extractor contract: a pydantic config, and Arrow record batches in bounded memory.

An extractor never stores state. It reads the previous watermark from its context and
reports the new one; the loader commits it with the data it describes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import Field

from dagwright.spec.types import CheckRef, Duration, SpecModel

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from dagwright.context import RunContext
    from dagwright.state import FileIdentity, RejectedRow


class Incremental(SpecModel):
    """Read only what changed: rows past the last watermark, or inside the data interval."""

    cursor: str = Field(description="Column (or field) whose growing value marks new rows.")
    lookback: Duration | None = Field(
        default=None, description="Re-read this far behind the watermark to catch late rows."
    )
    initial_value: Any = Field(default=None, description="Lower bound for the very first run.")
    use_interval: bool = Field(
        default=False,
        description="Bound the cursor by the run's data interval instead of the watermark.",
    )


class SourceConfig(SpecModel):
    """Options every source has; each extractor adds its own."""

    extractor: str
    description: str | None = None
    expect: list[CheckRef] = Field(default_factory=list, description="Checks run after extract.")
    incremental: Incremental | None = None

    def reads_table(self) -> str | None:
        """The destination's table this source reads (``extractor: warehouse``), if any:
        what makes a pipeline build on the pipeline loading that table."""
        return None


ConfigT = TypeVar("ConfigT", bound=SourceConfig)


@dataclass(frozen=True)
class ExtractResult:
    rows: int
    new_watermark: Any = None


class Extractor(ABC, Generic[ConfigT]):
    """One kind of source. Subclasses set ``config_model`` and implement ``batches``."""

    config_model: ClassVar[type[SourceConfig]]
    takes_files: ClassVar[bool] = False
    """The source reads files, so a table can take it file by file (``file_identities``
    lists them; a run reads only the paths in ``context.files`` when it names some)."""

    def __init__(self, name: str, config: ConfigT, context: RunContext) -> None:
        self.name = name
        self.config = config
        self.context = context
        self.new_watermark: Any = None
        self.sql: list[str] = []
        """The statements sent to the source, as the source runs them (shown in the run
        report); values are bound parameters, named in a trailing comment."""

    @abstractmethod
    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield the source's rows as record batches; set ``new_watermark`` as they pass."""

    def describe(self) -> str:
        """One line for ``dagwright plan``: what will be read."""
        return f"{self.config.extractor} source {self.name!r}"

    def empty_schema(self) -> pa.Schema:
        """The schema of an empty extract; extractors that know their columns override it."""
        import pyarrow as pa

        return pa.schema([])

    def relation_on(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation | None:
        """The source as a lazy DuckDB relation on ``con``, for extractors that have one.

        The local runner reads it inside the warehouse's DuckDB (no staged file), so it
        must apply the incremental filter itself; ``None``: the runner uses ``write``.
        """
        return None

    def preview(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation | None:
        """The source's columns and types, read without its data (``dagwright validate``).

        A relation on ``con`` whose binding costs no data read (a CSV sniff of a sample, a
        Parquet footer, a database's ``LIMIT 0``); ``None`` when the extractor cannot know
        them before it reads. Raises ``DagwrightError`` naming what is wrong (no file
        matches, the server refuses), which validation reports at the source.
        By default the source's lazy relation, or the declared ``empty_schema``.
        """
        relation = self.relation_on(con)
        if relation is not None:
            return relation
        schema = self.empty_schema()
        return con.from_arrow(schema.empty_table()) if len(schema) else None

    def rejected_rows(self) -> list[RejectedRow] | None:
        """The lines this read set aside as unreadable (a source's ``bad_rows: reject``),
        which the core stores beside the quarantine; ``None``: it sets none aside."""
        return None

    def explain(self, exc: Exception) -> Exception | None:
        """An engine error raised while reading ``relation_on``, made readable; ``None`` if
        the error is not about this source."""
        return None

    @classmethod
    def needs(cls, config: ConfigT) -> tuple[str, list[tuple[str, ...]]]:
        """The dagwright extra this source needs for ``config``, and the sets of modules of
        which any one will do (``dagwright.plugins.missing_extra``); none by default."""
        return "", []

    def file_identities(self, paths: list[str] | None = None) -> list[FileIdentity]:
        """The source's files (or ``paths`` of them) with size and modification time;
        hashed when ``paths`` is given (the files about to be read)."""
        raise NotImplementedError(f"{type(self).__name__} does not read files")

    def write(self, path: str) -> ExtractResult:
        """Stream every batch into one Parquet file at ``path``. Fast paths override this."""
        import pyarrow.parquet as pq

        from dagwright.staging import open_output

        rows = 0
        writer = None
        try:
            for batch in self.batches():
                if writer is None:
                    writer = pq.ParquetWriter(open_output(path), batch.schema)
                writer.write_batch(batch)
                rows += batch.num_rows
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            pq.write_table(self.empty_schema().empty_table(), open_output(path))
        return ExtractResult(rows=rows, new_watermark=self.new_watermark)
