"""Read a table or view of the pipeline's own destination: what another pipeline loaded.

The source reaches the destination through the loader the run already has (its
``scan``), so it needs no connection of its own. A local SQL step reads the rows staged
from it; a pushed-down step reads the table in place (``dagwright.plan``). When another
spec of the project loads the table, ``dagwright plan`` names it, ``dagwright validate``
checks this pipeline against that spec's output, and in Airflow this pipeline can be
scheduled on the table's asset (see docs/pipelines.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from dagwright.errors import ConfigError, DataError
from extractors.base import Extractor, SourceConfig

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    import sqlglot.expressions as exp

    from dagwright.tables import TableReader


class WarehouseSourceConfig(SourceConfig):
    """Read a table or view of the destination, loaded by another pipeline or by anyone."""

    extractor: Literal["warehouse"]
    table: str = Field(
        description="The destination's table or view, e.g. raw_orders or marts.daily_revenue."
    )
    columns: list[str] | None = Field(default=None, description="Columns to read (default all).")

    def reads_table(self) -> str | None:
        return self.table


class WarehouseExtractor(Extractor[WarehouseSourceConfig]):
    """Rows of one destination table, filtered by the incremental cursor or the interval.

    With ``incremental: {cursor: c}`` a run reads the rows past the mark of the tables it
    serves (``lookback`` re-reads behind it); with ``use_interval: true`` the rows whose
    cursor lies in the run's data interval, so a run of the upstream pipeline's interval
    flows into the same interval here.
    """

    config_model = WarehouseSourceConfig
    destination: TableReader | None = None
    """Set by the executor (``dagwright.executor.make_extractor``): the run's loader."""

    def describe(self) -> str:
        return f"read table {self.config.table} of the destination"

    def _reader(self) -> TableReader:
        reader = self.destination
        if reader is None or not getattr(reader, "readable", False):
            kind = getattr(getattr(reader, "config", None), "loader", "this")
            raise ConfigError(
                f"source {self.name!r}: the {kind} destination cannot be read as a source; "
                "warehouse sources read SQL destinations (duckdb, postgres)"
            )
        return reader

    def _columns(self, reader: TableReader) -> list[str]:
        """The columns to read: those asked for, else the table's without the lineage
        columns the loader adds (the cursor is read even when it is one of them)."""
        have = reader.columns_of(self.config.table)
        if have is None:
            raise ConfigError(
                f"source {self.name!r}: the destination has no table or view "
                f"{self.config.table!r}; run the pipeline that loads it first"
            )
        wanted = self.config.columns
        if wanted:
            missing = [c for c in wanted if c not in have]
            if missing:
                raise ConfigError(
                    f"source {self.name!r}: {self.config.table} has no column "
                    f"{missing[0]!r}; its columns: {', '.join(have)}"
                )
            return list(wanted)
        return [c for c in have if c not in reader.system_columns]

    def bounds(self) -> dict[str, Any]:
        """``lower`` (exclusive), ``lower_incl`` and ``upper`` (exclusive) of the cursor."""
        inc = self.config.incremental
        if inc is None:
            return {}
        if inc.use_interval:
            interval = self.context.interval
            return {} if interval is None else {"lower_incl": interval.start, "upper": interval.end}
        lower = self.context.watermarks.get(self.name, inc.initial_value)
        if lower is None:
            return {}
        if inc.lookback is not None and not isinstance(lower, (int, float, str)):
            lower = lower - inc.lookback
        return {"lower": lower}

    def select(self, bounds: dict[str, Any]) -> exp.Select:
        import sqlglot.expressions as exp

        from dagwright.sql.render import ident

        reader = self._reader()
        names = self._columns(reader)
        inc = self.config.incremental
        if inc is not None and inc.cursor not in names:
            names.append(inc.cursor)
        query = exp.select(*[exp.column(ident(c)) for c in names])
        query = query.from_(reader.target(self.config.table))
        ops = {"lower": exp.GT, "lower_incl": exp.GTE, "upper": exp.LT}
        for key, value in bounds.items():
            assert inc is not None
            cursor = exp.column(ident(inc.cursor))
            query = query.where(ops[key](this=cursor, expression=exp.convert(value)))
        return query

    def batches(self) -> Iterator[pa.RecordBatch]:
        reader = self._reader()
        self.new_watermark = self.context.watermarks.get(self.name)
        query = self.select(self.bounds())
        self.sql.append(query.sql(dialect=reader.dialect, pretty=True))
        table = self._scan(reader, query)
        inc = self.config.incremental
        if inc is not None and table.num_rows:
            import pyarrow.compute as pc

            top = pc.max(table.column(inc.cursor)).as_py()
            if top is not None and (self.new_watermark is None or top > self.new_watermark):
                self.new_watermark = top
        passed = [c for c in table.schema.names if c not in self._held_back(reader)]
        table = table.select(passed)
        self._schema = table.schema
        yield from table.to_batches()

    def _held_back(self, reader: TableReader) -> set[str]:
        """Lineage columns read only as the cursor: they are the reading table's own."""
        asked = set(self.config.columns or [])
        return {c for c in reader.system_columns if c not in asked}

    def _scan(self, reader: TableReader, query: exp.Select) -> pa.Table:
        try:
            return reader.scan(query)
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001 - the destination's refusal, one clean line
            raise DataError(
                f"source {self.name!r}: reading {self.config.table}: {str(exc).splitlines()[0]}"
            ) from None

    def empty_schema(self) -> pa.Schema:
        import pyarrow as pa

        return getattr(self, "_schema", None) or pa.schema([])

    def preview(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation | None:
        """The table's columns and types, from a ``LIMIT 0`` query on the destination."""
        reader = self._reader()
        table = self._scan(reader, self.select({}).limit(0))
        return con.from_arrow(
            table.select([c for c in table.schema.names if c not in self._held_back(reader)])
        )
