"""What a stage sees while it runs: the run, its data interval, the project, the state."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.intervals import Interval

if TYPE_CHECKING:
    from dagwright.work import Pass
    from dagwright.workspace import Workspace

__all__ = ["Interval", "RunContext", "new_run_id"]


def new_run_id(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}_{uuid.uuid4().hex[:8]}"


@dataclass
class RunContext:
    """Everything about one run that every stage shares, local or on Airflow."""

    run_id: str
    pipeline: str
    project_root: Path
    staging_root: str
    interval: Interval | None = None
    watermarks: dict[str, Any] = field(default_factory=dict)
    """Per cursor source, the mark this run reads past (the mark of the tables it serves)."""
    files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Per source taken file by file, the paths this run reads (the tables need them)."""
    first_run_id: str | None = None
    """The run's id when this is a later pass of it (``<run id>.2``...)."""
    work: Pass | None = None
    """The tables this run serves and what it reads of each source (``dagwright.needs``)."""
    workspace: Workspace | None = None
    """Where in-process stages hand data over (local runner, DuckDB warehouse); None: Parquet."""
    params: dict[str, Any] = field(default_factory=dict)
    """The run's declared parameters by lowercase name (``dagwright.spec.params.resolve``)."""

    def cancellable(self, cancel: Callable[[], object]) -> AbstractContextManager[None]:
        """Register ``cancel`` (e.g. ``con.interrupt``, ``pg.cancel_safe``) for the body.

        Wrap a statement that may run long: if the running stage's ``execution_timeout``
        expires meanwhile, ``cancel`` is called (once, from a timer thread) and the stage
        fails as timed out. Call it from the thread running the stage. See
        ``dagwright.timeouts``, the same API without a context (``timeouts.cancellable``)::

            with ctx.cancellable(connection.cancel_safe):
                cursor.execute(query)
        """
        from dagwright.timeouts import cancellable

        return cancellable(cancel)

    def serve(self, work: Pass) -> None:
        """Run for ``work``'s tables: read each source as far as they need it."""
        self.work = work
        reads = work.reads.items()
        self.watermarks = {s: r.after for s, r in reads if r.after is not None}
        self.files = {s: r.files for s, r in reads if r.files is not None}

    @property
    def staging_dir(self) -> str:
        return f"{self.staging_root.rstrip('/')}/{self.pipeline}/{self.run_id}"
