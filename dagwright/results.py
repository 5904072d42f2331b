"""What a stage returns, and what a stage run by a plugin sees (checks, in the executor)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from dagwright.staging import StagedTable

if TYPE_CHECKING:
    import pyarrow as pa

    from dagwright.context import RunContext
    from dagwright.plan import Plan, Stage
    from dagwright.state import StateStore


@dataclass
class StageResult:
    stage: str
    staged: StagedTable | None = None
    rows_in: int | None = None
    rows_out: int | None = None
    seconds: float = 0.0
    checks: str = ""
    portion: dict[str, Any] | None = None
    """An extract: what it read (``Portion.to_dict``: the mark read past, the new mark,
    the files); committed by the loads downstream."""
    serves: dict[str, dict[str, Any]] | None = None
    """An extract: the tables it was read for, each with what its load redoes."""
    sql: list[str] = field(default_factory=list)
    skipped: str | None = None
    """Why the stage did nothing (its table needed nothing, or its input was not read)."""
    note: str | None = None
    """What the user should know about an outcome that looks wrong (an empty load)."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["staged"] = self.staged.to_dict() if self.staged else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageResult:
        data = dict(data)
        staged = data.pop("staged", None)
        return cls(staged=StagedTable.from_dict(staged) if staged else None, **data)


@dataclass(frozen=True)
class StageRun:
    """A stage's view of its run: the plan, the run's context, the destination's state
    and its tables (read back whole, for checks after a load)."""

    plan: Plan
    ctx: RunContext
    state: StateStore
    read_table: Callable[[str], pa.Table]


Listener = Callable[["Stage", str, "StageResult | None"], None]
"""Called as stages change status: 'running', 'success', 'failed', 'skipped'."""
