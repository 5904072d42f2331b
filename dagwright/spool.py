"""Staged files on disk: local paths, and local spools of remote (fsspec) URLs.

Engines (DuckDB, Polars, pyarrow) always work on local files: for a remote URI,
``open_output`` hands out a local spool file that ``publish`` uploads once the stage has
written it, and ``fetch`` downloads a remote file into a local cache on first read.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


_scope: Path | None = None
"""The folder of this process's copies while a ``task_cache`` is open."""


def _base() -> Path:
    return Path(os.environ.get("DAGWRIGHT_STAGING_CACHE") or tempfile.gettempdir()) / (
        "dagwright-staging-cache"
    )


def _cache_root() -> Path:
    return _scope or _base()


@contextmanager
def task_cache() -> Iterator[None]:
    """Within it, this process's local copies of remote staged files (its uploads' spools,
    its downloads) live in a folder of its own, removed on exit: an Airflow task needs
    none after it ends (the data is in the store), and a worker's disk would otherwise
    fill with every run it served."""
    global _scope
    _base().mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="task-", dir=_base()))
    _scope = folder
    try:
        yield
    finally:
        _scope = None
        _forget(folder)


def _cache_file(uri: str) -> Path:
    """Where a remote URI lives locally: a mirror of ``protocol/path`` under the cache root."""
    protocol, _, rest = uri.partition("://")
    return _cache_root() / protocol / rest.lstrip("/")


def filesystem(uri: str) -> tuple[Any, str]:
    """The fsspec filesystem of a staged URI or folder (local paths too) and its path there."""
    from fsspec.core import url_to_fs

    return url_to_fs(uri)


_fresh: set[Path] = set()
"""Local copies this process wrote or downloaded; others are checked against the remote."""


def fetch(uri: str) -> str:
    """A local file holding a staged file's content: the path itself, or a downloaded copy
    (kept in a local cache, fetched again when the remote size differs)."""
    if is_local(uri):
        return uri.removeprefix("file://")
    cached = _cache_file(uri)
    if cached in _fresh:
        return str(cached)
    fs, path = filesystem(uri)
    try:
        if not cached.exists() or cached.stat().st_size != fs.size(path):
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_name(f".{cached.name}.{os.getpid()}.part")
            fs.get_file(path, str(partial))
            os.replace(partial, cached)
    except FileNotFoundError as exc:
        # the store's own message ("The specified key does not exist.") names no object
        raise FileNotFoundError(
            f"staged file {uri} is missing: it was deleted, or its run's staging was removed"
        ) from exc
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
        fs, path = filesystem(uri)
        parent = path.rsplit("/", 1)[0]
        if parent:
            fs.makedirs(parent, exist_ok=True)
        fs.put_file(str(spooled), path)
        _fresh.add(spooled)


def _forget(folder: Path) -> None:
    """Delete the local copies under ``folder`` and this process's note of them."""
    _fresh.difference_update({p for p in _fresh if folder in p.parents})
    shutil.rmtree(folder, ignore_errors=True)


def remove_run(staging_dir: str) -> None:
    """Delete a run's staged files, remote ones and their local copies."""
    if is_local(staging_dir):
        path = staging_dir.removeprefix("file://")
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        return
    local = _cache_file(staging_dir)
    _forget(local)
    fs, path = filesystem(staging_dir)
    if fs.exists(path):
        fs.rm(path, recursive=True)
