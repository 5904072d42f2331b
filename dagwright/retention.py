"""Staged runs left in a staging root, and their removal.

A run's files live at ``<root>/<pipeline>/<run id>/``. A successful run removes its own
when it ends; a failed one keeps them to be inspected, until ``dagwright staging --purge``
removes them. The root is a local folder or any fsspec URL (``s3://...``); the state of
each run comes from its pipeline's run log, in the destination.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dagwright.reuse import LAST
from dagwright.spool import filesystem, remove_run

UNKNOWN = "unknown"
"""The state of a staged run the run log does not hold (its pipeline or log is gone)."""


@dataclass(frozen=True)
class StagedRun:
    pipeline: str
    run_id: str
    uri: str
    size: int
    modified: datetime
    state: str = UNKNOWN

    def age(self, now: datetime) -> timedelta:
        return now - self.modified


def _modified(info: Mapping[str, Any]) -> datetime | None:
    value = info.get("mtime", info.get("LastModified", info.get("last_modified")))
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return None


def staged_runs(root: str, pipelines: Iterable[str] | None = None) -> list[StagedRun]:
    """Every run folder under ``root`` (of ``pipelines`` only, when given), newest first;
    ``_last`` (the outputs kept for selective runs) is not a run and is never listed."""
    fs, base = filesystem(root)
    base = base.rstrip("/")
    if not fs.isdir(base):
        return []
    wanted = set(pipelines) if pipelines is not None else None
    found: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for path, info in fs.find(base, detail=True).items():
        parts = path[len(base) :].strip("/").split("/")
        if len(parts) < 3 or parts[1] == LAST or (wanted is not None and parts[0] not in wanted):
            continue
        found.setdefault((parts[0], parts[1]), []).append(info)
    runs = []
    for (pipeline, run_id), files in found.items():
        times = [t for t in map(_modified, files) if t is not None]
        runs.append(
            StagedRun(
                pipeline=pipeline,
                run_id=run_id,
                uri=f"{root.rstrip('/')}/{pipeline}/{run_id}",
                size=sum(int(f.get("size") or 0) for f in files),
                modified=max(times, default=datetime.now(UTC)),
            )
        )
    return sorted(runs, key=lambda r: r.modified, reverse=True)


def with_states(runs: list[StagedRun], states: Mapping[str, str]) -> list[StagedRun]:
    """``runs`` with their states from a run log (run id -> status)."""
    from dataclasses import replace

    return [replace(r, state=states.get(r.run_id, UNKNOWN)) for r in runs]


def matching(
    runs: Iterable[StagedRun],
    now: datetime,
    older_than: timedelta | None = None,
    failed_only: bool = False,
) -> list[StagedRun]:
    """The runs last written at least ``older_than`` ago (and failed, with ``failed_only``)."""
    return [
        r
        for r in runs
        if (not failed_only or r.state == "failed")
        and (older_than is None or r.age(now) >= older_than)
    ]


def purgeable(runs: Iterable[StagedRun]) -> list[StagedRun]:
    """The runs a purge may remove: never a running one (its stages still read them)."""
    return [r for r in runs if r.state != "running"]


def purge(runs: Iterable[StagedRun]) -> int:
    """Remove ``runs``' staged files; returns the bytes freed."""
    freed = 0
    for run in runs:
        remove_run(run.uri)
        freed += run.size
    return freed
