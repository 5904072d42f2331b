"""The run-scoped staging area: Parquet files that carry data between stages and processes.

A stage's output is referenced by a ``StagedTable`` (URI, row count, schema fingerprint);
that small record is all that crosses process boundaries (XCom, the run log).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StagedTable:
    uri: str
    rows: int
    fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StagedTable:
        return cls(uri=data["uri"], rows=int(data["rows"]), fingerprint=data["fingerprint"])


def is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def local_path(uri: str) -> str:
    return uri.removeprefix("file://")


def open_output(uri: str) -> str:
    """A path ready to be written: parent folders exist."""
    if not is_local(uri):
        raise NotImplementedError(f"remote staging is not supported yet: {uri}")
    path = local_path(uri)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path


def stage_uri(staging_dir: str, stage: str) -> str:
    return f"{staging_dir}/{stage}.parquet"


def describe(uri: str) -> StagedTable:
    """Row count and schema fingerprint of a staged Parquet file, from its footer only."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(local_path(uri)).metadata
    schema = meta.schema.to_arrow_schema()
    return StagedTable(uri=uri, rows=meta.num_rows, fingerprint=fingerprint(schema))


def fingerprint(schema: Any) -> str:
    text = ",".join(f"{f.name}:{f.type}" for f in schema)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def remove_run(staging_dir: str) -> None:
    if is_local(staging_dir) and os.path.isdir(local_path(staging_dir)):
        shutil.rmtree(local_path(staging_dir), ignore_errors=True)
