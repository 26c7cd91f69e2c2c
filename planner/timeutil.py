"""Durations, intervals and calendar periods: the small time vocabulary the planner speaks."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "wk": 604800,
    "wks": 604800,
    "week": 604800,
    "weeks": 604800,
}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*")


def parse_duration(text: str) -> timedelta:
    """Parse `30m`, `4h`, `1h30m`, `2 weeks`, `90 minutes` into a timedelta.

    Raises ValueError with a message a person can act on.
    """
    s = text.strip().lower()
    if not s:
        raise ValueError("empty duration")
    pos, total = 0, 0.0
    while pos < len(s):
        m = _PART.match(s, pos)
        if not m or m.end() == pos:
            raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 4h, 2 weeks)")
        unit = m.group(2)
        if unit not in _UNITS:
            raise ValueError(f"unknown unit {unit!r} in {text!r} (use m, h, d or weeks)")
        total += float(m.group(1)) * _UNITS[unit]
        pos = m.end()
    return timedelta(seconds=total)


def format_duration(td: timedelta) -> str:
    """Render a timedelta the way a person writes it: `2 weeks`, `1h30m`, `45m`."""
    secs = int(td.total_seconds())
    if secs and secs % 604800 == 0:
        n = secs // 604800
        return f"{n} week" + ("s" if n != 1 else "")
    if secs and secs % 86400 == 0:
        n = secs // 86400
        return f"{n} day" + ("s" if n != 1 else "")
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    if s:
        return f"{secs}s"
    if h and m:
        return f"{h}h{m:02d}m"
    if h:
        return f"{h}h"
    return f"{m}m"


_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(text: str) -> time:
    """Parse a wall-clock time written `"HH:MM"` (24-hour)."""
    m = _HHMM.match(text.strip())
    if not m:
        raise ValueError(f'not a time: {text!r} (write "HH:MM", 24-hour, in quotes)')
    return time(int(m.group(1)), int(m.group(2)))


@dataclass(frozen=True, order=True)
class Interval:
    """A half-open span of time [start, end) between two aware datetimes."""

    start: datetime
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end

    @property
    def duration(self) -> timedelta:
        # Subtracting two datetimes of the same zone gives wall-clock time in Python; in UTC
        # it is elapsed time, which is what a DST day needs.
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)

    def padded(self, before: timedelta, after: timedelta | None = None) -> Interval:
        return Interval(self.start - before, self.end + (before if after is None else after))


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching intervals."""
    out: list[Interval] = []
    for iv in sorted(intervals):
        if iv.end <= iv.start:
            continue
        if out and iv.start <= out[-1].end:
            if iv.end > out[-1].end:
                out[-1] = Interval(out[-1].start, iv.end)
        else:
            out.append(iv)
    return out


def total(intervals: Iterable[Interval]) -> timedelta:
    """Time covered by the intervals, counting overlaps once."""
    return sum((iv.duration for iv in merge(intervals)), timedelta())


def clip(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    """The parts of the intervals that fall inside the window."""
    out = []
    for iv in intervals:
        s, e = max(iv.start, window.start), min(iv.end, window.end)
        if s < e:
            out.append(Interval(s, e))
    return out


def any_overlap(iv: Interval, sorted_busy: list[Interval]) -> bool:
    """True if iv overlaps any interval of a merged, sorted list (binary search)."""
    lo, hi = 0, len(sorted_busy)
    while lo < hi:
        mid = (lo + hi) // 2
        if sorted_busy[mid].end <= iv.start:
            lo = mid + 1
        else:
            hi = mid
    return lo < len(sorted_busy) and sorted_busy[lo].start < iv.end


def local_dt(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The aware datetime for a wall-clock time on a day in a zone.

    A wall time that does not exist (spring-forward gap) moves forward past the gap;
    an ambiguous one (fall-back) takes the first occurrence.
    """
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=tz, fold=0)
    # Round-trip through UTC: a non-existent time comes back shifted, which tells us.
    back = aware.astimezone(ZoneInfo("UTC")).astimezone(tz)
    if back.replace(tzinfo=None) != naive:
        return aware.replace(fold=1).astimezone(ZoneInfo("UTC")).astimezone(tz)
    return aware


def days(start: date, end: date) -> Iterator[date]:
    """Every date from start up to, not including, end."""
    d = start
    while d < end:
        yield d
        d += timedelta(days=1)


def week_monday(d: date) -> date:
    """The Monday of the ISO week holding d."""
    return d - timedelta(days=d.weekday())


def iso_week(d: date) -> str:
    """`2026-W48`: the ISO week label used in keys and subjects."""
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
