"""The loader contract: atomic loads, and the pipeline state stored beside the data."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from dagwright.spec.types import SpecModel

if TYPE_CHECKING:
    import pyarrow as pa

    from dagwright.spec.sections import Load
    from dagwright.staging import StagedTable
    from dagwright.state import RunRecord, StateUpdate


class DestinationConfig(SpecModel):
    """Options every destination has; each loader adds its own."""

    loader: str


ConfigT = TypeVar("ConfigT", bound=DestinationConfig)


@dataclass(frozen=True)
class LoadResult:
    table: str
    rows: int
    sql: list[str]
    notes: list[str] = field(default_factory=list)
    """What the user should know: columns added or discarded by the schema contract."""


class Loader(ABC, Generic[ConfigT]):
    """One kind of destination. A load is one transaction: data, ledger, watermarks."""

    config_model: ClassVar[type[DestinationConfig]]
    dialect: ClassVar[str]

    def __init__(self, config: ConfigT, project_root: Path) -> None:
        self.config = config
        self.project_root = project_root

    def describe(self) -> str:
        return f"{self.config.loader} destination"

    @abstractmethod
    def plan_load(self, table: str, load: Load) -> list[str]:
        """The statements a load will run, for ``dagwright plan``; no side effects."""

    @abstractmethod
    def load(self, table: str, load: Load, data: StagedTable, state: StateUpdate) -> LoadResult:
        """Apply ``data`` to ``table`` and commit ``state`` with it, all or nothing."""

    @abstractmethod
    def read_table(self, table: str) -> pa.Table:
        """The table's current rows (for checks after load and for tests)."""

    @abstractmethod
    def record_run(self, run: RunRecord) -> None:
        """Insert or update a run log entry."""

    @abstractmethod
    def recent_runs(self, pipeline: str | None, limit: int = 20) -> list[RunRecord]:
        """The newest run log entries first."""

    @abstractmethod
    def watermarks(self, pipeline: str) -> dict[str, Any]:
        """The committed watermark of each source (the lowest across the tables it feeds)."""

    @abstractmethod
    def loaded_intervals(self, pipeline: str) -> list[dict[str, Any]]:
        """Ledger rows: table, interval_start, interval_end, run_id, rows, loaded_at."""

    @abstractmethod
    def append_rows(self, table: str, data: pa.Table) -> None:
        """Append ``data`` to ``table`` in its own transaction, creating or widening the table.

        For the framework's own side tables (quarantine, check results), not for pipeline
        loads, which go through ``load``.
        """

    def run_lock(self, pipeline: str) -> AbstractContextManager[bool]:
        """Hold the destination's own lock for a whole run; yield True when it is exclusive.

        While it is held, a second run of the pipeline waits for it or fails with a clear
        message. The default holds nothing and yields False.
        """
        return nullcontext(False)

    def close(self) -> None:
        """Release connections."""
