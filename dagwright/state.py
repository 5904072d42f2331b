"""The pipeline's state, kept in its destination: the run log, and what each table has taken.

State has one home. Every destination table records what it has taken from each of its
sources, and that record commits in the same transaction as the table's data:

- the data intervals it was loaded for (the interval ledger),
- for sources read past a cursor, the table's own high-water mark,
- for file sources, the identity of every file it loaded (path, size, modification time,
  content hash), as a warehouse's COPY load history does.

A run asks each table what it still needs (``dagwright.needs``); nothing is compensated
afterwards. A destination implements ``StateStore``; a load commits a ``StateUpdate`` with
its data and refuses it (changing nothing) when the table moved since the run read its
state (another run loaded it meanwhile).
"""

from __future__ import annotations

import json
import os
import signal
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pyarrow as pa

    from dagwright.intervals import Interval

STATE_SCHEMA = "_dagwright"
KILL_AT = "DAGWRIGHT_TEST_KILL_AT"
LOCAL = "local"
"""``RunRecord.runner`` of the local runner's runs (Airflow's say ``airflow``)."""


HOLD_DIR = "DAGWRIGHT_TEST_HOLD_DIR"


def crash_point(name: str) -> None:
    """A named point of a stage; ``DAGWRIGHT_TEST_KILL_AT=<name>`` SIGKILLs the process here.

    Crash tests use it to kill a real load at a known moment; it does nothing otherwise.
    Cluster tests hold a task here instead, to kill its worker or change what it reads:
    with ``DAGWRIGHT_TEST_HOLD_DIR`` set, the first process to reach ``name`` while
    ``<dir>/<name>.armed`` exists renames it to ``<name>.held`` and waits until that file
    is removed (or the process is killed).
    """
    if os.environ.get(KILL_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    folder = os.environ.get(HOLD_DIR)
    if folder:
        _hold(os.path.join(folder, name))


def _hold(base: str) -> None:
    import time

    held = f"{base}.held"
    try:
        os.rename(f"{base}.armed", held)
    except FileNotFoundError:
        return
    with open(held, "w") as f:
        f.write(f"{os.getpid()} {os.environ.get('DAGWRIGHT_TEST_WORKER', '')}\n")
    give_up = time.monotonic() + 600
    while os.path.exists(held) and time.monotonic() < give_up:
        time.sleep(0.2)


@dataclass
class StageRecord:
    stage: str
    kind: str
    status: str = "pending"
    rows_in: int | None = None
    rows_out: int | None = None
    seconds: float | None = None
    checks: str = ""
    error: str | None = None
    started: float | None = None
    """Seconds after the run started that the stage started (for the report's timeline)."""
    sql: list[str] = field(default_factory=list)
    """The statements the stage ran, as executed."""


@dataclass
class RunRecord:
    run_id: str
    pipeline: str
    interval_start: datetime | None
    interval_end: datetime | None
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    stages: list[StageRecord] = field(default_factory=list)
    runner: str | None = LOCAL
    """Who runs it: ``local`` (a ``dagwright`` process, whose liveness the destination can
    tell) or ``airflow`` (tasks in other processes); ``None`` in logs of older versions."""

    def stages_json(self) -> str:
        return json.dumps([asdict(s) for s in self.stages])

    @staticmethod
    def parse_stages(text: str | None) -> list[StageRecord]:
        return [StageRecord(**s) for s in json.loads(text or "[]")]

    @property
    def dead(self) -> bool:
        """Ended without loading what it set out to: failed, or killed (``abandoned``)."""
        return self.status in ("failed", "abandoned")


@dataclass(frozen=True)
class FileIdentity:
    """One version of one file: what a table records having loaded."""

    path: str
    size: int
    modified: int
    """Modification time, microseconds since the epoch."""
    sha256: str | None = None
    """The content's hash; ``None`` until it is computed (a listing only stats)."""

    def same_version(self, other: FileIdentity) -> bool:
        """The same content: equal hashes when both are known, else equal size and time."""
        if self.sha256 is not None and other.sha256 is not None:
            return self.sha256 == other.sha256
        return self.size == other.size and self.modified == other.modified

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileIdentity:
        return cls(**data)


@dataclass(frozen=True)
class TakenFile:
    identity: FileIdentity
    run_id: str


@dataclass
class TableState:
    """What one destination table has taken from its sources, as committed."""

    table: str
    intervals: dict[tuple[datetime | None, datetime | None], tuple[str, int]] = field(
        default_factory=dict
    )
    """(start, end) -> (run id, rows) of each load recorded in the interval ledger."""
    marks: dict[str, Any] = field(default_factory=dict)
    """source -> the high-water mark of the rows this table has taken from it."""
    files: dict[str, dict[str, TakenFile]] = field(default_factory=dict)
    """source -> path -> the version of the file this table loaded, and the run."""

    def loaded(self, interval: Interval | None) -> str | None:
        """The run that loaded exactly ``interval`` into this table, if one did."""
        key = (interval.start, interval.end) if interval else (None, None)
        found = self.intervals.get(key)
        return found[0] if found else None

    def covering(self, interval: Interval) -> tuple[str, int | None] | None:
        """The load whose interval contains ``interval`` (a range run covers each of its
        scheduled intervals), as (run id, rows); rows are ``None`` for a wider load."""
        from dagwright.intervals import as_utc

        for (start, end), (run_id, rows) in self.intervals.items():
            if start is None or end is None:
                continue
            start, end = as_utc(start), as_utc(end)
            if start <= interval.start and interval.end <= end:
                exact = (start, end) == (interval.start, interval.end)
                return run_id, rows if exact else None
        return None


PortionKind = Literal["cursor", "files", "whole"]


@dataclass(frozen=True)
class Portion:
    """What one load took from one of its sources.

    ``kind``: ``cursor``, rows past the table's mark; ``files``, files the table had not
    taken (recorded as taken); ``whole``, whatever the source returned (an interval of
    it, or all of it).
    """

    source: str
    kind: PortionKind = "whole"
    after: Any = None
    """A cursor source: the table's mark the read started after (``None``: from the
    initial value). The load commits only while the table's mark is still this value."""
    mark: Any = None
    """The high-water mark of what was read (the table's new mark of the source)."""
    files: tuple[FileIdentity, ...] = ()
    """A source taken by file: the files read, recorded as taken."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "after": encode_watermark(self.after) if self.after is not None else None,
            "mark": encode_watermark(self.mark) if self.mark is not None else None,
            "files": [f.to_dict() for f in self.files],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Portion:
        return cls(
            source=data["source"],
            kind=data.get("kind", "whole"),
            after=decode_watermark(data.get("after")),
            mark=decode_watermark(data.get("mark")),
            files=tuple(FileIdentity.from_dict(f) for f in data.get("files") or []),
        )


@dataclass(frozen=True)
class StateUpdate:
    """What a load commits besides its data: the table's new record, and its basis."""

    run_id: str
    pipeline: str
    table: str
    interval_start: datetime | None
    interval_end: datetime | None
    portions: tuple[Portion, ...] = ()
    replaces: tuple[str, ...] = ()
    """Runs whose loads this one redoes (their files are read again): an append removes
    the rows they added first."""
    guard_interval: bool = False
    """Commit only if no other run loaded this interval meanwhile (a cursor source read it
    past the table's mark: loading it twice would take rows twice or none)."""
    holds: dict[str, str] = field(default_factory=dict)
    """Files read that the table already held when the run asked it: path -> the run that
    loaded it. Commit only while the table holds exactly these of the files read."""


@dataclass(frozen=True)
class SideRows:
    """Rows a check stage stores beside the data (results, validations, quarantine)."""

    table: str
    rows: pa.Table
    stage_column: str
    run_column: str


REJECTED_TABLE = "_dagwright.rejected_rows"
"""Source lines that could not be read (``bad_rows: reject``), one row per line, stored
by the extract stage as check stages store theirs (``StateStore.store_side_rows``)."""


@dataclass(frozen=True)
class RejectedRow:
    """A source line that could not be read, set aside by the run (``bad_rows: reject``)."""

    file: str
    line: int
    """The physical line (1-based) where the record starts."""
    column: str | None
    reason: str
    raw: str
    """The line's text as it is in the file (bytes that are not UTF-8 escaped)."""

    def describe(self) -> str:
        column = f", column {self.column}" if self.column else ""
        return f"line {self.line}{column}: {self.reason}"


def rejected_side_rows(
    rows: list[RejectedRow], run_id: str, pipeline: str, source: str, stage: str, at: datetime
) -> SideRows:
    """``rows`` as the side rows of ``REJECTED_TABLE`` (an empty table still supersedes)."""
    import pyarrow as pa

    schema = pa.schema(
        [
            ("run_id", pa.string()),
            ("pipeline", pa.string()),
            ("stage", pa.string()),
            ("source", pa.string()),
            ("file", pa.string()),
            ("line", pa.int64()),
            ("column_name", pa.string()),
            ("reason", pa.string()),
            ("raw_line", pa.string()),
            ("rejected_at", pa.timestamp("us", tz="UTC")),
        ]
    )
    table = pa.Table.from_pylist(
        [
            {
                "run_id": run_id,
                "pipeline": pipeline,
                "stage": stage,
                "source": source,
                "file": r.file,
                "line": r.line,
                "column_name": r.column,
                "reason": f"rejected: {r.describe()}",
                "raw_line": r.raw,
                "rejected_at": at,
            }
            for r in rows
        ],
        schema=schema,
    )
    return SideRows(REJECTED_TABLE, table, "stage", "run_id")


class StateStore(ABC):
    """Where a destination keeps the pipeline's state.

    Loads commit a table's record (``StateUpdate``) inside their own transaction; this
    interface reads it back, keeps the run log, and stores what check stages record.
    """

    @abstractmethod
    def record_run(self, run: RunRecord) -> None:
        """Insert or update a run log entry."""

    @abstractmethod
    def recent_runs(self, pipeline: str | None, limit: int = 20) -> list[RunRecord]:
        """The newest run log entries first."""

    @abstractmethod
    def tables(self, pipeline: str) -> dict[str, TableState]:
        """What each of the pipeline's tables has taken, as committed."""

    @abstractmethod
    def store_side_rows(self, parts: list[SideRows], stage: str, superseded: list[str]) -> None:
        """In one transaction: remove what runs ``superseded`` stored for ``stage`` in these
        tables, then append ``parts`` (creating or widening the tables)."""

    def hold(self, run: RunRecord) -> AbstractContextManager[None]:
        """Hold a token while ``run`` is alive, so that ``alive`` can tell later."""
        return nullcontext()

    def alive(self, run: RunRecord, exclusive: bool) -> bool:
        """Whether the process running ``run`` (a local run left ``running``) is alive.

        ``exclusive``: the caller holds the destination's run-wide lock, so no other local
        run of it is alive. Without a way to tell, a run counts as alive.
        """
        return not exclusive


def abandon_dead(store: StateStore, pipeline: str, exclusive: bool, current: str) -> list[str]:
    """Mark this pipeline's local runs left 'running' by a dead process as 'abandoned'.

    The destination tells which are dead (``StateStore.alive``): with the run-wide lock
    held (DuckDB), every one; on PostgreSQL, those whose process no longer holds its lock.
    Their uncommitted loads were rolled back by the database. Returns the run ids marked
    (the caller removes their staged files).
    """
    marked: list[str] = []
    for run in store.recent_runs(pipeline, limit=1000):
        if run.status != "running" or run.runner not in (LOCAL, None):
            continue
        if run.run_id == current or store.alive(run, exclusive):
            continue
        run.status = "abandoned"
        run.finished_at = datetime.now(UTC)
        run.error = (
            f"the process running it ended without finishing (killed or crashed); "
            f"found by run {current}. Its uncommitted loads were rolled back."
        )
        for stage in run.stages:
            if stage.status in ("pending", "running"):
                stage.status = "abandoned"
        store.record_run(run)
        marked.append(run.run_id)
    return marked


def encode_watermark(value: Any) -> str:
    """Watermarks are stored as JSON with their type, so they come back as they went in."""
    if isinstance(value, datetime):
        return json.dumps({"type": "datetime", "value": value.isoformat()})
    if hasattr(value, "isoformat"):
        return json.dumps({"type": "date", "value": value.isoformat()})
    if hasattr(value, "as_integer_ratio") and not isinstance(value, (int, float)):
        return json.dumps({"type": "decimal", "value": str(value)})
    return json.dumps({"type": "json", "value": value})


def decode_watermark(text: str | None) -> Any:
    if text is None:
        return None
    data = json.loads(text)
    kind, value = data["type"], data["value"]
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        from datetime import date

        return date.fromisoformat(value)
    if kind == "decimal":
        from decimal import Decimal

        return Decimal(value)
    return value
