"""Pipeline state kept in the destination: the run log, the interval ledger, watermarks.

Loaders store these rows next to the data, and commit the ledger and watermark rows
in the same transaction as the table they describe.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

STATE_SCHEMA = "_dagwright"
KILL_AT = "DAGWRIGHT_TEST_KILL_AT"


def crash_point(name: str) -> None:
    """A named point of a load; ``DAGWRIGHT_TEST_KILL_AT=<name>`` SIGKILLs the process here.

    Crash tests use it to kill a real load at a known moment; it does nothing otherwise.
    """
    if os.environ.get(KILL_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)


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

    def stages_json(self) -> str:
        return json.dumps([asdict(s) for s in self.stages])

    @staticmethod
    def parse_stages(text: str | None) -> list[StageRecord]:
        return [StageRecord(**s) for s in json.loads(text or "[]")]


@dataclass(frozen=True)
class StateUpdate:
    """What a load commits besides the data: its ledger entry and the new watermarks."""

    run_id: str
    pipeline: str
    table: str
    interval_start: datetime | None
    interval_end: datetime | None
    watermarks: dict[str, Any] = field(default_factory=dict)


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
