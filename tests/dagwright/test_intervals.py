"""Schedules as intervals: the hourly/daily shortcut agrees with croniter everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from croniter import croniter

from dagwright.intervals import Interval, as_utc, latest_interval


def by_croniter(cron: str, now: datetime) -> Interval:
    it = croniter(cron, now)
    end = it.get_prev(datetime)
    return Interval(as_utc(it.get_prev(datetime)), as_utc(end))


@pytest.mark.parametrize("schedule", ["@hourly", "@daily", "0 * * * *", "0 0 * * *"])
def test_fixed_schedules_match_croniter(schedule: str) -> None:
    cron = {"@hourly": "0 * * * *", "@daily": "0 0 * * *"}.get(schedule, schedule)
    start = datetime(2026, 2, 27, 22, 0, tzinfo=UTC)
    moments = [start + timedelta(minutes=17 * i, seconds=i % 2) for i in range(400)]
    moments += [datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, 1, tzinfo=UTC)]
    moments += [datetime(2026, 3, 1, 0, 30), datetime(2026, 12, 31, 23, 59, 59, 999999)]
    for now in moments:
        assert latest_interval(schedule, now) == by_croniter(cron, now), now


def test_other_timezones_and_schedules_still_use_croniter() -> None:
    now = datetime(2026, 3, 1, 3, 0, tzinfo=timezone(timedelta(hours=5)))
    assert latest_interval("@daily", now) == by_croniter("0 0 * * *", now)
    later = datetime(2026, 3, 1, 7, 10, tzinfo=UTC)
    assert latest_interval("*/15 * * * *", later) == by_croniter("*/15 * * * *", later)
    assert latest_interval("@once", later) is None
