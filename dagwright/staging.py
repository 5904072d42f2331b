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
    "exists",
    "fingerprint",
    "is_local",
    "local_path",
    "move",
    "names",
    "open_output",
    "publish",
    "read_batches",
    "read_text",
    "remove_file",
    "remove_run",
    "stage_uri",
    "staging_root",
    "workspace_table",
    "write_text",
]

if TYPE_CHECKING:
    from pathlib import Path

    import pyarrow as pa

STAGING_ROOT = "DAGWRIGHT_STAGING_ROOT"


def staging_root(project_root: Path) -> str:
    """Where a project's runs stage: ``DAGWRIGHT_STAGING_ROOT`` (a folder or any fsspec URL,
    for workers that share no disk), else ``<project>/.dagwright/staging``."""
    return os.environ.get(STAGING_ROOT) or str(project_root / ".dagwright" / "staging")


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


# Plain file operations on staging URIs, local paths or fsspec URLs (``dagwright.reuse``).


def _fs(uri: str) -> tuple[Any, str]:
    from fsspec.core import url_to_fs

    return url_to_fs(uri)


def _local(uri: str) -> str:
    return uri.removeprefix("file://")


def exists(uri: str) -> bool:
    if is_local(uri):
        return os.path.exists(_local(uri))
    fs, path = _fs(uri)
    return bool(fs.exists(path))


def move(source: str, target: str, *, copy: bool = False) -> None:
    """Move (or copy) a staged file, replacing ``target``."""
    if is_local(source) and is_local(target):
        os.makedirs(os.path.dirname(_local(target)), exist_ok=True)
        if copy:
            shutil.copyfile(_local(source), _local(target))
        else:
            os.replace(_local(source), _local(target))
        return
    fs, path = _fs(source)
    _, to = _fs(target)
    if copy:
        fs.copy(path, to)
    else:
        fs.mv(path, to)


def names(folder: str) -> list[str]:
    """The names of the files in ``folder`` (none when it does not exist)."""
    if is_local(folder):
        path = _local(folder)
        return sorted(os.listdir(path)) if os.path.isdir(path) else []
    fs, path = _fs(folder)
    if not fs.exists(path):
        return []
    return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(path, detail=False))


def remove_file(uri: str) -> None:
    if is_local(uri):
        if os.path.isdir(_local(uri)):
            shutil.rmtree(_local(uri), ignore_errors=True)
        elif os.path.exists(_local(uri)):
            os.remove(_local(uri))
        return
    fs, path = _fs(uri)
    if fs.exists(path):
        fs.rm(path, recursive=True)


def read_text(uri: str) -> str | None:
    if not exists(uri):
        return None
    if is_local(uri):
        with open(_local(uri), encoding="utf-8") as f:
            return f.read()
    fs, path = _fs(uri)
    with fs.open(path, "r", encoding="utf-8") as f:
        return str(f.read())


def write_text(uri: str, text: str) -> None:
    """Write ``uri`` whole: readers see the old text or the new, never part of it."""
    if is_local(uri):
        path = _local(uri)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        partial = f"{path}.{os.getpid()}.part"
        with open(partial, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(partial, path)
        return
    fs, path = _fs(uri)
    with fs.open(path, "w", encoding="utf-8") as f:
        f.write(text)
