"""When the zoned, wall-clock jobs (weekly summary, daily digest) next fall due."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from planner.timeutil import WEEKDAYS, local_dt


def next_daily(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    """The next instant after `now` when the wall clock in tz shows `at` (DST-correct)."""
    day = now.astimezone(tz).date()
    for i in range(3):
        cand = local_dt(day + timedelta(days=i), at, tz)
        if cand > now:
            return cand
    raise AssertionError("unreachable: a daily time recurs within 3 days")


def next_weekly(now: datetime, weekday: str, at: time, tz: ZoneInfo) -> datetime:
    """The next instant after `now` at `at` on `weekday` (mon..sun) in tz."""
    wd = WEEKDAYS.index(weekday)
    day = now.astimezone(tz).date()
    for i in range(15):
        d = day + timedelta(days=i)
        if d.weekday() == wd:
            cand = local_dt(d, at, tz)
            if cand > now:
                return cand
    raise AssertionError("unreachable: a weekly time recurs within 15 days")
