"""The run-scoped staging area: Parquet files that carry data between stages and processes.

A stage's output is referenced by a ``StagedTable`` (URI, row count, schema fingerprint);
that small record is all that crosses process boundaries (XCom, the run log).

The staging root is a local folder by default, or any fsspec URL (``s3://bucket/staging``,
``gs://...``) so that stages running on different workers read each other's output.
Engines (DuckDB, Polars, pyarrow) always work on local files: for a remote URI,
``open_output`` hands out a local spool file that ``describe`` uploads once the stage has
written it, and ``local_path`` downloads a remote file into a local cache on first read.

In the local runner on a DuckDB warehouse, a stage output may instead live in the run's
workspace (``dagwright.workspace``) under the same URI: ``local_path`` then writes its
Parquet file on first use, and ``workspace_table`` / ``read_batches`` read it directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from dagwright import workspace
from dagwright.spool import fetch, is_local, open_output, publish, remove_run

__all__ = [
    "StagedTable",
    "arrow_schema",
    "describe",
    "engine_types",
    "fingerprint",
    "is_local",
    "local_path",
    "open_output",
    "publish",
    "read_batches",
    "remove_run",
    "stage_uri",
    "workspace_table",
]

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class StagedTable:
    uri: str
    rows: int | None
    """None when unknown: a workspace source read lazily by the step that consumes it."""
    fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StagedTable:
        rows = data["rows"]
        return cls(
            uri=data["uri"],
            rows=None if rows is None else int(rows),
            fingerprint=data["fingerprint"],
        )


def local_path(uri: str) -> str:
    """A local file holding ``uri``'s content: the path itself, or a downloaded copy."""
    held = workspace.entry(uri)
    if held is not None:
        return held.workspace.materialise(held)
    return fetch(uri)


def stage_uri(staging_dir: str, stage: str) -> str:
    return f"{staging_dir}/{stage}.parquet"


def workspace_table(uri: str) -> str | None:
    """The qualified DuckDB name of the workspace table behind ``uri`` in this process."""
    held = workspace.entry(uri)
    return held.qualified if held is not None else None


def read_batches(uri: str, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    """``uri``'s rows as Arrow record batches, from the workspace or the Parquet file."""
    held = workspace.entry(uri)
    if held is not None:
        yield from held.workspace.batches(held, columns)
        return
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(local_path(uri))
    if parquet.metadata.num_rows == 0:
        return
    yield from parquet.iter_batches(batch_size=workspace.BATCH_ROWS, columns=columns)


def engine_types(uri: str) -> list[tuple[str, str]] | None:
    """A workspace output's columns with their DuckDB type names; None for a Parquet file.

    Reading them from DuckDB spares a run the import of pyarrow (a fifth of a second).
    """
    held = workspace.entry(uri)
    if held is None:
        return None
    with held.workspace.cursor() as cur:
        rel = held.workspace.relation(cur, held)
        return [(name, str(kind)) for name, kind in zip(rel.columns, rel.types, strict=True)]


def arrow_schema(uri: str) -> pa.Schema:
    held = workspace.entry(uri)
    if held is not None:
        with held.workspace.cursor() as cur:
            rel = held.workspace.relation(cur, held)
            return rel.limit(0).to_arrow_table().schema
    import pyarrow.parquet as pq

    return pq.read_schema(local_path(uri))


def describe(uri: str) -> StagedTable:
    """Publish a freshly written stage output; its row count and fingerprint from the footer."""
    held = workspace.entry(uri)
    if held is not None:
        return StagedTable(uri=uri, rows=held.rows, fingerprint=held.fingerprint)
    import pyarrow.parquet as pq

    publish(uri)
    meta = pq.ParquetFile(local_path(uri)).metadata
    schema = meta.schema.to_arrow_schema()
    return StagedTable(uri=uri, rows=meta.num_rows, fingerprint=fingerprint(schema))


def fingerprint(schema: Any) -> str:
    text = ",".join(f"{f.name}:{f.type}" for f in schema)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
