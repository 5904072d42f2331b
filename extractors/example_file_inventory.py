"""An example of a user-written extractor: an inventory of the files under a folder.

Copy this module to write your own source. An extractor is three things:

1. A **config model**: a subclass of ``SourceConfig`` whose ``extractor`` field is a
   ``Literal`` of the name(s) it answers to. Its fields are the keys a spec may give
   under the source; pydantic validates them, and they appear in the JSON Schema that
   editors use (``dagwright schema``). Unknown keys are errors.

2. An **Extractor subclass** with ``config_model`` set and a ``batches()`` generator that
   yields ``pyarrow.RecordBatch`` objects. Yield in bounded chunks (here every
   ``batch_size`` files) so a large source never has to fit in memory. Import heavy
   libraries (pyarrow, drivers) inside methods: plugins are imported to build the spec
   model, and ``dagwright --help`` must stay fast.

3. An **entry point**, so specs find the class by name. In your package's pyproject.toml::

       [project.entry-points."dagwright.extractors"]
       example_file_inventory = "extractors.example_file_inventory:FileInventoryExtractor"

   then ``pip install -e .``. A project's own ``extractors/`` folder (without an
   ``__init__.py``) extends the built-in package, so ``extractors.my_source`` works.

Incremental reads: an extractor never stores state. It reads the last committed
watermark from ``self.context.watermarks.get(self.name)`` and sets ``self.new_watermark``
as rows pass; the loader commits it in the same transaction as the rows, so a failed
load leaves it where it was. ``self.context.interval`` is the run's data interval for
sources bounded by time (``incremental: {use_interval: true}``).

Errors: raise ``DataError`` (bad data) or ``ConfigError`` (bad setup) naming the source,
the item and what to do; the CLI prints them without a traceback.

Used in a spec::

    sources:
      inbox:
        extractor: example_file_inventory
        folder: data/inbox
        pattern: "*.csv"
        incremental: {cursor: modified_at}
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from dagwright.errors import DataError
from extractors.base import Extractor, SourceConfig

if TYPE_CHECKING:
    import pyarrow as pa


class FileInventoryConfig(SourceConfig):
    """List the files of a folder: path, size and modification time."""

    extractor: Literal["example_file_inventory"]
    folder: str = Field(description="Folder to list, relative to the project root.")
    pattern: str = Field(default="*", description="Glob of file names, searched recursively.")
    batch_size: int = Field(default=10_000, ge=1, description="Files per record batch.")


class FileInventoryExtractor(Extractor[FileInventoryConfig]):
    config_model = FileInventoryConfig

    def describe(self) -> str:
        return f"list files {self.config.pattern!r} under {self.config.folder!r}"

    def empty_schema(self) -> pa.Schema:
        import pyarrow as pa

        return pa.schema(
            [
                ("path", pa.string()),
                ("size_bytes", pa.int64()),
                ("modified_at", pa.timestamp("us", tz="UTC")),
            ]
        )

    def batches(self) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        root = self.context.project_root / self.config.folder
        if not root.is_dir():
            raise DataError(
                f"source {self.name!r}: folder {self.config.folder!r} does not exist "
                f"(looked in {self.context.project_root})"
            )
        since = self.context.watermarks.get(self.name) if self.config.incremental else None
        self.new_watermark = since
        schema = self.empty_schema()
        rows: list[dict] = []
        for path in sorted(root.rglob(self.config.pattern)):
            if not path.is_file():
                continue
            row = _describe(path, root)
            if since is not None and row["modified_at"] <= since:
                continue
            if self.new_watermark is None or row["modified_at"] > self.new_watermark:
                self.new_watermark = row["modified_at"]
            rows.append(row)
            if len(rows) == self.config.batch_size:
                yield pa.RecordBatch.from_pylist(rows, schema=schema)
                rows = []
        if rows:
            yield pa.RecordBatch.from_pylist(rows, schema=schema)


def _describe(path: Path, root: Path) -> dict:
    stat = os.stat(path)
    return {
        "path": path.relative_to(root).as_posix(),
        "size_bytes": stat.st_size,
        "modified_at": datetime.fromtimestamp(stat.st_mtime, tz=UTC),
    }
