"""Schedules as data intervals: what ``run``, ``backfill`` and Airflow agree an interval is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dagwright.errors import DagwrightError


@dataclass(frozen=True)
class Interval:
    """A half-open data interval ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    def __str__(self) -> str:
        return f"{self.start.isoformat()} .. {self.end.isoformat()}"


PRESET_CRON = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
}


_DAY = timedelta(days=1)
_FIXED_STEPS = {"0 * * * *": timedelta(hours=1), "0 0 * * *": _DAY}
"""Hourly and daily schedules, computed without croniter (its import is a run's start-up)."""


def as_utc(value: date | datetime) -> datetime:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.min)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_when(text: str) -> datetime:
    """A CLI date or datetime (ISO 8601), as UTC."""
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise DagwrightError(
            f"cannot read {text!r} as a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None


def cron_of(schedule: str | list[str] | None) -> str | None:
    if not isinstance(schedule, str) or schedule in ("@once", "@continuous"):
        return None
    return PRESET_CRON.get(schedule, schedule)


def intervals_between(
    schedule: str | list[str] | None, start: datetime, end: datetime
) -> list[Interval]:
    """The schedule's intervals that lie inside ``[start, end)``; one interval when unscheduled."""
    from croniter import croniter

    cron = cron_of(schedule)
    if cron is None:
        return [Interval(start, end)]
    it = croniter(cron, start)
    first = start if croniter.match(cron, start) else it.get_next(datetime)
    result: list[Interval] = []
    current = first
    it = croniter(cron, current)
    while True:
        nxt = it.get_next(datetime)
        if nxt > end:
            break
        result.append(Interval(current, nxt))
        current = nxt
    return result


def latest_interval(
    schedule: str | list[str] | None, now: datetime | None = None
) -> Interval | None:
    """The most recent complete interval before ``now``, as a scheduler would run it."""
    cron = cron_of(schedule)
    if cron is None:
        return None
    now = now or datetime.now(UTC)
    step = _FIXED_STEPS.get(cron)
    if step is not None and not now.utcoffset():
        now = as_utc(now)
        end = now.replace(minute=0, second=0, microsecond=0)
        if step == _DAY:
            end = end.replace(hour=0)
        if end == now:
            end -= step
        return Interval(end - step, end)
    from croniter import croniter

    it = croniter(cron, now)
    end = it.get_prev(datetime)
    start = it.get_prev(datetime)
    return Interval(as_utc(start), as_utc(end))


def interval_containing(schedule: str | list[str] | None, moment: datetime) -> Interval | None:
    """The schedule's interval that ``moment`` falls in (``[start, end)``, start <= moment):
    what a scheduled run whose logical date is ``moment`` covers."""
    cron = cron_of(schedule)
    if cron is None:
        return None
    from croniter import croniter

    moment = as_utc(moment)
    start = moment if croniter.match(cron, moment) else croniter(cron, moment).get_prev(datetime)
    end = croniter(cron, start).get_next(datetime)
    return Interval(as_utc(start), as_utc(end))
