"""What a destination offers the sources that read its tables (``extractor: warehouse``).

Sources are plugins and never import a loader: the executor hands them the run's loader,
which keeps this interface (``loaders.warehouse.SQLLoader`` does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pyarrow as pa
    import sqlglot.expressions as exp


class TableReader(Protocol):
    dialect: str
    readable: bool
    """False for a destination whose tables cannot be read back (Parquet files)."""
    system_columns: tuple[str, ...]
    """Columns the loader adds to every table (lineage): a reader does not pass them on."""

    def target(self, name: str) -> exp.Table:
        """The destination's table ``name``, qualified as its loads qualify it."""
        ...

    def columns_of(self, name: str) -> list[str] | None:
        """The table's (or view's) columns, ``None`` when it does not exist."""
        ...

    def scan(self, query: exp.Select) -> pa.Table:
        """The rows of ``query`` on the destination, typed as the table is."""
        ...
