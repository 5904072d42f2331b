"""What a run does for its tables: the portions of sources it reads, and for whom.

Plain records shared by the planner of needs (``dagwright.needs``), the runner, the stage
executor and the run context; they import nothing of dagwright.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Read:
    """The portion of one source a pass reads."""

    after: Any = None
    """A cursor source: read past this mark (``None``: from the initial value)."""
    files: tuple[str, ...] | None = None
    """A source taken by file: only these paths (``None``: every matching file)."""


@dataclass(frozen=True)
class Need:
    """What one table needs in this run."""

    table: str
    reads: dict[str, Read]
    replaces: tuple[str, ...] = ()
    """Runs whose loads this one redoes (a changed file, ``--reprocess``)."""
    guard_interval: bool = False
    holds: dict[str, str] = field(default_factory=dict)
    """Files read again that the table holds: path -> the run that loaded it. A load
    commits only while the table holds exactly these (and none of the others it reads)."""


@dataclass(frozen=True)
class Satisfied:
    """A table that needs nothing in this run, and why."""

    table: str
    reason: str


@dataclass
class Pass:
    """Tables served by one read of each source they need."""

    needs: dict[str, Need] = field(default_factory=dict)
    reads: dict[str, Read] = field(default_factory=dict)
    note: str = ""
    """Why a source this pass does not read is not read (what its tables have already)."""

    @property
    def tables(self) -> list[str]:
        return list(self.needs)

    def fits(self, need: Need) -> bool:
        return all(self.reads.get(s, read) == read for s, read in need.reads.items())

    def add(self, need: Need) -> None:
        self.needs[need.table] = need
        self.reads.update(need.reads)

    def served_by(self, source: str) -> dict[str, dict[str, Any]]:
        """What the read of ``source`` serves, per table (``StageResult.serves``)."""
        return {
            table: {
                "replaces": list(need.replaces),
                "guard": need.guard_interval,
                "holds": need.holds,
            }
            for table, need in self.needs.items()
            if source in need.reads
        }
