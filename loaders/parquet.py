"""A Parquet dataset: one folder per table, hive-partitioned, local or at an fsspec URL.

Layout under ``path``::

    <table>/<col>=<value>/part-<token>-<n>.parquet     data files (partition columns kept)
    <table>/_dagwright/manifest.json                   the table's committed state
    _dagwright/runs/<run_id>.json                      the run log

The manifest is the commit: it lists the table's files and holds its interval ledger,
watermarks and load log. A load computes the new table with the same SQL dispositions as
the DuckDB loader (in an in-memory DuckDB), writes new files under fresh names, then
replaces the manifest in one step (a rename locally; a single object PUT on object
stores). A crash before that leaves the previous manifest, whose files are untouched;
files no manifest lists are removed by the next load of the table. Readers that list the
folder instead of reading the manifest may see such leftovers until then.

JSON columns (a source's ``json``/``jsonb``) stay JSON text: the files store them as
strings annotated with Parquet's JSON logical type, which pyarrow reads as the
``arrow.json`` extension and DuckDB as ``JSON``; readers that know neither see strings.

Loads of one table are serialised by a lock file (local paths only; on object stores,
run one writer per table). Each load rewrites the table's files: fine for dimension and
daily tables, not meant for very large append-only tables.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from pydantic import Field

from dagwright.errors import ConfigError, DagwrightError
from dagwright.sql.render import render, table
from dagwright.state import STATE_SCHEMA, RunRecord, SideRows, TableState, crash_point
from loaders.base import DestinationConfig, LoadResult
from loaders.duckdb import DuckDBSession
from loaders.session import Session
from loaders.sql_state import STATE_DDL, SQLState, build_states
from loaders.warehouse import SQLLoader

if TYPE_CHECKING:
    import pyarrow as pa
    import sqlglot.expressions as exp

    from dagwright.spec.sections import Load
    from dagwright.staging import StagedTable
    from dagwright.state import StateUpdate

DATA = "__dagwright_table"
STATE_TABLES = {
    "intervals": "intervals",
    "watermarks": "watermarks",
    "files": "loaded_files",
    "loads": "loads",
}
"""State table -> its key in the manifest (whose ``files`` lists the table's data files)."""
MANIFEST = "_dagwright/manifest.json"
CREATE_CURRENT = "CREATE TABLE :t AS SELECT * FROM __dagwright_current"
INSERT_STATE = "INSERT INTO :t BY NAME SELECT * FROM __dagwright_rows"
SELECT_ALL = "SELECT * FROM :t"


class ParquetConfig(DestinationConfig):
    """A folder (or fsspec URL such as s3://bucket/lake) of Parquet tables."""

    loader: Literal["parquet"] = "parquet"
    path: str = Field(
        default="lake", description="Root folder or fsspec URL; relative to the project root."
    )
    compression: str = Field(default="zstd", description="Parquet compression codec.")
    lock_timeout: float = Field(
        default=60.0, description="Seconds a load waits for another load of the same table."
    )


class ParquetState(SQLState):
    """A Parquet dataset's state: each table's record in its manifest (committed by the
    load's manifest swap), the run log as one JSON file per run."""

    def record_run(self, run: RunRecord) -> None:
        from dataclasses import asdict

        loader = self.parquet
        fs, root = loader.fs()
        fs.makedirs(f"{root}/_dagwright/runs", exist_ok=True)
        data = asdict(run)
        data["stages"] = run.stages_json()
        text = json.dumps(_encode_row(data)).encode()
        name = quote(run.run_id, safe="")
        _write_atomic(fs, f"{root}/_dagwright/runs/{name}.json", text, loader.is_local)

    def recent_runs(self, pipeline: str | None, limit: int = 20) -> list[RunRecord]:
        fs, root = self.parquet.fs()
        folder = f"{root}/_dagwright/runs"
        if not fs.exists(folder):
            return []
        runs = []
        for path in fs.ls(folder, detail=False):
            if not path.endswith(".json"):
                continue
            with fs.open(path, "rb") as handle:
                data = _decode_row(json.loads(handle.read()))
            if pipeline is None or data["pipeline"] == pipeline:
                data["stages"] = RunRecord.parse_stages(data["stages"])
                runs.append(RunRecord(**data))
        runs.sort(key=lambda r: r.started_at, reverse=True)
        return runs[:limit]

    def tables(self, pipeline: str) -> dict[str, TableState]:
        rows: dict[str, list[tuple]] = {"intervals": [], "watermarks": [], "files": []}
        for manifest in self.parquet._manifests():
            for row in manifest.get("intervals", []):
                if row["pipeline"] == pipeline:
                    r = _decode_row(row)
                    rows["intervals"].append(
                        (r["table_name"], r["interval_start"], r["interval_end"])
                        + (r["run_id"], r["rows"])
                    )
            for r in manifest.get("watermarks", []):
                if r["pipeline"] == pipeline:
                    rows["watermarks"].append(
                        (r["table_name"], r["source"], r["value"], r["run_id"])
                    )
            for r in manifest.get(STATE_TABLES["files"], []):
                if r["pipeline"] == pipeline:
                    rows["files"].append(
                        (r["table_name"], r["source"], r["path"], r["size"], r["modified"])
                        + (r["sha256"], r["run_id"])
                    )
        return build_states(rows["intervals"], rows["watermarks"], rows["files"])

    def store_side_rows(self, parts: list[SideRows], stage: str, superseded: list[str]) -> None:
        """Each table's rows in a load of its own: a dataset has no transaction across
        tables, and what earlier attempts stored is kept."""
        for part in parts:
            self.parquet.append_rows(part.table, part.rows)

    @property
    def parquet(self) -> ParquetLoader:
        assert isinstance(self.loader, ParquetLoader)
        return self.loader


class ParquetLoader(SQLLoader[ParquetConfig]):
    """JSON columns (a source's ``json``/``jsonb``) stay JSON text: the files store them
    as strings marked with Parquet's JSON logical type, which pyarrow reads as the
    ``arrow.json`` extension, DuckDB as ``JSON``, and readers that know neither as text.
    """

    state_class = ParquetState
    readable = False
    config_model = ParquetConfig
    dialect = "duckdb"

    def __init__(self, config: ParquetConfig, project_root: Path) -> None:
        super().__init__(config, project_root)
        self._loading = threading.local()
        """The in-memory session of the load running on this thread: loads of other
        tables run on other threads at the same time, each with its own."""

    def describe(self) -> str:
        return f"parquet dataset {self.config.path}"

    # -- where things are ---------------------------------------------------------------

    @property
    def root(self) -> str:
        path = self.config.path
        if "://" in path and not path.startswith("file://"):
            return path.rstrip("/")
        local = Path(path.removeprefix("file://"))
        return str(local if local.is_absolute() else self.project_root / local)

    def fs(self) -> tuple[Any, str]:
        from fsspec.core import url_to_fs

        return url_to_fs(self.root)

    @property
    def is_local(self) -> bool:
        return "://" not in self.root

    def folder(self, table_name: str) -> str:
        """The table's folder: the name percent-encoded (and never ``..`` or ``_dagwright``)."""
        name = quote(table_name, safe="")
        first = {".": "%2E", "_": "%5F"}.get(name[0], name[0])
        return first + name[1:]

    # -- the load ---------------------------------------------------------------------

    def load(
        self, table_name: str, load: Load, data: StagedTable, state: StateUpdate
    ) -> LoadResult:
        fs, root = self.fs()
        base = f"{root}/{self.folder(table_name)}"
        with self._table_lock(base):
            manifest = self._read_manifest(fs, base)
            import duckdb

            con = duckdb.connect()
            try:
                self._open(con, fs, base, manifest)
                self._loading.session = DuckDBSession(con)
                result = SQLLoader.load(self, table_name, load, data, state)
                files = self._write(con, fs, base, load, manifest)
                crash_point("parquet:files")
                self._commit(fs, base, con, files, load)
                crash_point("parquet:committed")
            finally:
                self._loading.session = None
                con.close()
            self._collect(fs, base, files)
        return result

    def target(self, name: str) -> exp.Table:
        return table(DATA)

    @contextmanager
    def session(self) -> Iterator[Session]:
        memory = getattr(self._loading, "session", None)
        if memory is None:
            raise DagwrightError("parquet loader: no load in progress")
        yield memory

    def stage(self, s: Session, stage: exp.Table, uri: str, cols: dict[str, exp.DataType]) -> None:
        from loaders.duckdb import stage_parquet

        stage_parquet(s, stage, uri, cols)

    def table_columns(self, s: Session, target: exp.Table) -> dict[str, exp.DataType] | None:
        from loaders.duckdb import columns_of

        return columns_of(s, target)

    def _open(self, con: Any, fs: Any, base: str, manifest: dict[str, Any]) -> None:
        """The table and its state, as of the manifest, in the in-memory database."""
        for ddl in STATE_DDL:
            con.execute(ddl)
        if manifest.get("files"):
            current = self._read_files(fs, base, manifest)
            con.register("__dagwright_current", current)
            con.execute(render(CREATE_CURRENT, "duckdb", t=DATA))
            con.unregister("__dagwright_current")
        for name, key in STATE_TABLES.items():
            rows = manifest.get(key, [])
            if rows:
                import pyarrow as pa

                con.register("__dagwright_rows", _decode_rows(pa, rows))
                con.execute(render(INSERT_STATE, "duckdb", t=table(name, STATE_SCHEMA)))
                con.unregister("__dagwright_rows")

    def _read_files(self, fs: Any, base: str, manifest: dict[str, Any]) -> pa.Table:
        import pyarrow.parquet as pq

        tables = []
        for rel in manifest["files"]:
            with fs.open(f"{base}/{rel}", "rb") as handle:
                tables.append(pq.read_table(handle))
        import pyarrow as pa

        return pa.concat_tables(tables, promote_options="permissive")

    def _write(
        self, con: Any, fs: Any, base: str, load: Load, manifest: dict[str, Any]
    ) -> list[str]:
        """Write the new table under fresh file names; the files' paths relative to ``base``."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        data = _json_kept(con, con.sql(render(SELECT_ALL, "duckdb", t=DATA)).to_arrow_table())
        token = uuid.uuid4().hex[:12]
        parts = [c for c in load.partition_by if c in data.column_names]
        missing = [c for c in load.partition_by if c not in data.column_names]
        if missing:
            raise DagwrightError(f"partition_by column {missing[0]!r} is not in the table")
        groups: list[tuple[str, pa.Table]] = []
        if not parts or data.num_rows == 0:
            groups.append(("", data))
        else:
            keys = data.select(parts).group_by(parts).aggregate([]).to_pylist()
            for key in keys:
                mask = None
                for col, value in key.items():
                    cond = pc.is_null(data[col]) if value is None else pc.equal(data[col], value)
                    mask = cond if mask is None else pc.and_(mask, cond)
                folder = "/".join(
                    f"{quote(col, safe='')}={_partition_value(value)}" for col, value in key.items()
                )
                groups.append((folder + "/", data.filter(mask)))
        files = []
        for n, (folder, rows) in enumerate(groups):
            rel = f"{folder}part-{token}-{n}.parquet"
            fs.makedirs(f"{base}/{folder}".rstrip("/"), exist_ok=True)
            with fs.open(f"{base}/{rel}", "wb") as handle:
                pq.write_table(rows, handle, compression=self.config.compression)
            files.append(rel)
        return files

    def _commit(self, fs: Any, base: str, con: Any, files: list[str], load: Load) -> None:
        manifest: dict[str, Any] = {
            "format": 1,
            "committed_at": datetime.now(UTC).isoformat(),
            "partition_by": list(load.partition_by),
            "files": files,
        }
        for name, key in STATE_TABLES.items():
            cur = con.execute(render(SELECT_ALL, "duckdb", t=table(name, STATE_SCHEMA)))
            names = [d[0] for d in cur.description]
            manifest[key] = [_encode_row(dict(zip(names, r, strict=True))) for r in cur.fetchall()]
        text = json.dumps(manifest, indent=1).encode()
        _write_atomic(fs, f"{base}/{MANIFEST}", text, self.is_local)

    def _collect(self, fs: Any, base: str, keep: list[str]) -> None:
        """Remove data files the committed manifest does not list (old versions, crashes)."""
        wanted = {f"{base}/{rel}" for rel in keep}
        for path in fs.find(base):
            if path.endswith(".parquet") and "/_dagwright/" not in path and path not in wanted:
                fs.rm_file(path)

    def _read_manifest(self, fs: Any, base: str) -> dict[str, Any]:
        path = f"{base}/{MANIFEST}"
        if not fs.exists(path):
            return {}
        with fs.open(path, "rb") as handle:
            return json.loads(handle.read())

    @contextmanager
    def _table_lock(self, base: str) -> Iterator[None]:
        if not self.is_local:
            yield
            return
        import fcntl

        folder = Path(base) / "_dagwright"
        folder.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.config.lock_timeout
        with open(folder / "lock", "w") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise DagwrightError(
                            f"table folder {base} is locked by another load "
                            f"(waited {self.config.lock_timeout:.0f}s)"
                        ) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- reading and state ------------------------------------------------------------

    def _manifests(self) -> list[dict[str, Any]]:
        fs, root = self.fs()
        if not fs.exists(root):
            return []
        found = []
        for entry in fs.ls(root, detail=False):
            name = entry.rstrip("/").rsplit("/", 1)[-1]
            if name != "_dagwright":
                manifest = self._read_manifest(fs, entry.rstrip("/"))
                if manifest:
                    found.append(manifest)
        return found

    def read_table(self, table_name: str) -> pa.Table:
        fs, root = self.fs()
        base = f"{root}/{self.folder(table_name)}"
        manifest = self._read_manifest(fs, base)
        if not manifest:
            raise ConfigError(f"table {table_name!r} has not been loaded into {self.root}")
        if not manifest["files"]:
            import pyarrow as pa

            return pa.table({})
        return self._read_files(fs, base, manifest)

    def append_rows(self, table_name: str, data: pa.Table) -> None:
        import tempfile

        import pyarrow.parquet as pq

        from dagwright.spec.sections import Load
        from dagwright.staging import describe
        from dagwright.state import StateUpdate

        with tempfile.TemporaryDirectory() as tmp:
            path = f"{tmp}/rows.parquet"
            pq.write_table(data, path)
            load = Load.model_validate({"from": "rows", "lineage": False})
            state = StateUpdate(uuid.uuid4().hex, "", table_name, None, None)
            self.load(table_name, load, describe(path), state)


def _json_kept(con: Any, data: pa.Table) -> pa.Table:
    """The table's JSON columns as ``arrow.json`` (DuckDB exports them as plain text), so
    its files mark them with Parquet's JSON logical type and a later load reads them back
    as JSON."""
    from loaders.duckdb import DuckDBSession, columns_of
    from loaders.typemap import T, as_json

    types = columns_of(DuckDBSession(con), table(DATA)) or {}
    for name, kind in types.items():
        if kind.this == T.JSON and name in data.column_names:
            i = data.column_names.index(name)
            data = data.set_column(i, name, as_json(data.column(i)))
    return data


def _partition_value(value: Any) -> str:
    if value is None:
        return "__HIVE_DEFAULT_PARTITION__"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return quote(text, safe="")


TIME_KEYS = {
    "interval_start",
    "interval_end",
    "loaded_at",
    "updated_at",
    "started_at",
    "finished_at",
}


def _encode_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _decode_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: datetime.fromisoformat(v) if k in TIME_KEYS and isinstance(v, str) else v
        for k, v in row.items()
    }


def _decode_rows(pa: Any, rows: list[dict[str, Any]]) -> Any:
    return pa.Table.from_pylist([_decode_row(r) for r in rows])


def _write_atomic(fs: Any, path: str, data: bytes, local: bool) -> None:
    """Replace ``path`` in one step: write a temporary file and rename it (one PUT remotely)."""
    parent = path.rsplit("/", 1)[0]
    fs.makedirs(parent, exist_ok=True)
    if not local:
        fs.pipe_file(path, data)
        return
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
