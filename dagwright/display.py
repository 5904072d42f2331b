"""Terminal output for runs: live stage progress and the summary table."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.table import Table

if TYPE_CHECKING:
    from dagwright.executor import StageResult
    from dagwright.plan import Plan, Stage
    from dagwright.state import RunRecord

_STYLE = {
    "success": "green",
    "failed": "red",
    "skipped": "yellow",
    "running": "cyan",
    "pending": "dim",
}


class RunProgress:
    """A live table of stages, redrawn as they start and finish."""

    def __init__(self, plan: Plan, console: Console) -> None:
        self.plan = plan
        self.console = console
        self.status = {s.id: "pending" for s in plan.ordered()}
        self.started: dict[str, float] = {}
        self.rows: dict[str, str] = {}
        self.lock = threading.Lock()
        self.live = Live(self._table(), console=console, refresh_per_second=8, transient=True)

    def __enter__(self) -> RunProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(*exc)  # type: ignore[arg-type]

    def __call__(self, stage: Stage, status: str, result: StageResult | None) -> None:
        with self.lock:
            self.status[stage.id] = status
            if status == "running":
                self.started[stage.id] = time.perf_counter()
            if result is not None and result.rows_out is not None:
                self.rows[stage.id] = f"{result.rows_out:,}"
            self.live.update(self._table())

    def _table(self) -> Table:
        table = Table(title=f"running {self.plan.pipeline}", title_justify="left")
        table.add_column("stage", no_wrap=True)
        table.add_column("status")
        table.add_column("rows out", justify="right")
        table.add_column("seconds", justify="right")
        for sid, status in self.status.items():
            seconds = ""
            if status == "running":
                seconds = f"{time.perf_counter() - self.started[sid]:.1f}"
            table.add_row(sid, f"[{_STYLE[status]}]{status}[/]", self.rows.get(sid, ""), seconds)
        return table


def summary_table(record: RunRecord) -> Table:
    interval = (
        f"{record.interval_start:%Y-%m-%d %H:%M} .. {record.interval_end:%Y-%m-%d %H:%M}"
        if record.interval_start and record.interval_end
        else "full"
    )
    style = _STYLE.get(record.status, "")
    table = Table(
        title=(
            f"{record.pipeline} run {record.run_id} [{style}]{record.status}[/]"
            f"  interval: {interval}"
        ),
        title_justify="left",
    )
    table.add_column("stage", no_wrap=True)
    table.add_column("status")
    table.add_column("rows in", justify="right")
    table.add_column("rows out", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("checks")
    for s in record.stages:
        table.add_row(
            s.stage,
            f"[{_STYLE.get(s.status, '')}]{s.status}[/]",
            "" if s.rows_in is None else f"{s.rows_in:,}",
            "" if s.rows_out is None else f"{s.rows_out:,}",
            "" if s.seconds is None else f"{s.seconds:.2f}",
            s.checks,
        )
    return table
