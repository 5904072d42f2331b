"""What Airflow did with a backfill: the run it created for each interval, or why none.

``airflow backfill create`` says only that it created a backfill. Airflow records, per
logical date, the run it created or the reason it created none (a run already holds that
logical date, or one is still in flight), in its metadata database; this reads that record
for the newest backfill of a DAG, so ``dagwright backfill --via airflow`` can report every
interval that Airflow will not run, and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from dagwright.intervals import Interval


@dataclass(frozen=True)
class Handed:
    """One interval of a backfill: the run that will load it, or why there is none."""

    interval: Interval
    run_id: str | None
    state: str | None
    reason: str | None = None
    """Why Airflow created no run: ``already exists`` or ``in flight`` (its words)."""
    held_by: str | None = None
    """The run that holds the logical date instead (its id, type and state)."""


def newest_backfill(dag_id: str, intervals: list[Interval], since: datetime) -> list[Handed]:
    """Each of ``intervals`` as the newest backfill of ``dag_id`` created ``since`` took
    it (none created: every interval is reported with the run holding its date)."""
    from airflow.models.backfill import Backfill, BackfillDagRun
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from dagwright.intervals import as_utc

    with create_session() as session:
        backfill = session.scalars(
            select(Backfill)
            .where(Backfill.dag_id == dag_id, Backfill.created_at >= since)
            .order_by(Backfill.id.desc())
            .limit(1)
        ).first()
        taken = {}
        if backfill is not None:
            for row in session.scalars(
                select(BackfillDagRun).where(BackfillDagRun.backfill_id == backfill.id)
            ):
                if row.logical_date is not None:
                    taken[as_utc(row.logical_date)] = row
        out = []
        for interval in intervals:
            row = taken.get(interval.start)
            if row is not None and row.dag_run_id is not None:
                run = session.get(DagRun, row.dag_run_id)
                out.append(Handed(interval, run.run_id if run else None, _state(run)))
                continue
            holder = session.scalars(
                select(DagRun)
                .where(DagRun.dag_id == dag_id, DagRun.logical_date == interval.start)
                .limit(1)
            ).first()
            held = None
            if holder is not None:
                kind = getattr(holder.run_type, "value", holder.run_type)
                held = f"{kind} run {holder.run_id} ({_state(holder)})"
            reason = row.exception_reason if row is not None else "not in the backfill"
            out.append(Handed(interval, None, None, str(reason), held))
        return out


def _state(run: object) -> str | None:
    state = getattr(run, "state", None)
    return None if state is None else str(getattr(state, "value", state))
