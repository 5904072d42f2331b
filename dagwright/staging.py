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
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright import workspace

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


def is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def _cache_root() -> Path:
    return Path(os.environ.get("DAGWRIGHT_STAGING_CACHE") or tempfile.gettempdir()) / (
        "dagwright-staging-cache"
    )


def _cache_file(uri: str) -> Path:
    """Where a remote URI lives locally: a mirror of ``protocol/path`` under the cache root."""
    protocol, _, rest = uri.partition("://")
    return _cache_root() / protocol / rest.lstrip("/")


def _fs(uri: str) -> tuple[Any, str]:
    from fsspec.core import url_to_fs

    return url_to_fs(uri)


_fresh: set[Path] = set()
"""Local copies this process wrote or downloaded; others are checked against the remote."""


def local_path(uri: str) -> str:
    """A local file holding ``uri``'s content: the path itself, or a downloaded copy."""
    held = workspace.entry(uri)
    if held is not None:
        return held.workspace.materialise(held)
    if is_local(uri):
        return uri.removeprefix("file://")
    cached = _cache_file(uri)
    if cached in _fresh:
        return str(cached)
    fs, path = _fs(uri)
    if not cached.exists() or cached.stat().st_size != fs.size(path):
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f".{cached.name}.{os.getpid()}.part")
        fs.get_file(path, str(partial))
        os.replace(partial, cached)
    _fresh.add(cached)
    return str(cached)


def open_output(uri: str) -> str:
    """A local path ready to be written (parent folders exist); ``describe`` publishes it."""
    path = Path(uri.removeprefix("file://")) if is_local(uri) else _cache_file(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def publish(uri: str) -> None:
    """Upload the local spool of a remote ``uri`` (a no-op for local staging)."""
    if is_local(uri):
        return
    spooled = _cache_file(uri)
    if spooled.exists():
        fs, path = _fs(uri)
        parent = path.rsplit("/", 1)[0]
        if parent:
            fs.makedirs(parent, exist_ok=True)
        fs.put_file(str(spooled), path)
        _fresh.add(spooled)


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


def remove_run(staging_dir: str) -> None:
    """Delete a run's staged files, remote ones and their local copies."""
    if is_local(staging_dir):
        path = staging_dir.removeprefix("file://")
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        return
    local = _cache_file(staging_dir)
    _fresh.difference_update({p for p in _fresh if local in p.parents})
    shutil.rmtree(local, ignore_errors=True)
    fs, path = _fs(staging_dir)
    if fs.exists(path):
        fs.rm(path, recursive=True)
