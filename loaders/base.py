"""The loader contract: atomic loads, and a state store (``dagwright.state``) beside the data."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from dagwright.spec.types import SpecModel

if TYPE_CHECKING:
    import pyarrow as pa

    from dagwright.intervals import Interval
    from dagwright.spec.sections import Load
    from dagwright.staging import StagedTable
    from dagwright.state import StateStore, StateUpdate


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
    skipped: str | None = None
    """Why nothing was loaded: the table no longer needed the batch (another run loaded it
    meanwhile); data and state are unchanged."""


class Loader(ABC, Generic[ConfigT]):
    """One kind of destination. A load is one transaction: data, ledger, watermarks."""

    config_model: ClassVar[type[DestinationConfig]]
    dialect: ClassVar[str]
    state: StateStore
    """The pipeline state kept in this destination (the run log, each table's record)."""
    one_writer: ClassVar[bool] = False
    """The destination takes one run at a time, whatever its pipeline or interval (a
    DuckDB file: one writing process); backfills then run their intervals one by one."""

    def __init__(self, config: ConfigT, project_root: Path) -> None:
        self.config = config
        self.project_root = project_root

    @classmethod
    def needs(cls, config: ConfigT) -> tuple[str, list[tuple[str, ...]]]:
        """The dagwright extra this destination needs, and the sets of modules of which any
        one will do (``dagwright.plugins.missing_extra``); none by default."""
        return "", []

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

    def run_lock(
        self, pipeline: str, interval: Interval | None = None
    ) -> AbstractContextManager[bool]:
        """Hold the destination's lock on a run of ``pipeline`` for ``interval`` (the whole
        destination when it takes one writer) while it lasts; yield True when no other run
        of any pipeline can write meanwhile.

        While it is held, a second run of the pipeline and interval waits for it or fails
        with a clear message, then asks the tables what they still need. The default holds
        nothing and yields False.
        """
        return nullcontext(False)

    def close(self) -> None:
        """Release connections."""
