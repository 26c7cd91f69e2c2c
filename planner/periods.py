"""Cadence periods and the snapshot window: which stretch of weeks one booking serves.

A cadence of N weeks divides time into aligned blocks of N weeks counted from a fixed epoch
(Monday 2024-01-01), so a period never shifts between ticks or restarts. A period is labelled
by the ISO week of its first Monday: `2026-W49` for a weekly cadence, `2026-W49+2w` for a
two-week one (the suffix keeps keys of different cadences apart, so changing a rep's cadence
never mistakes an old booking's key for a new one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from planner.policy import Policy, Rep
from planner.timeutil import Interval, iso_week, local_dt, week_monday

EPOCH = date(2024, 1, 1)  # a Monday; every period boundary is a whole number of weeks from it
HISTORY_WEEKS = 5


def cadence_weeks(every: timedelta) -> int:
    """The period length in whole weeks for a cadence: 1 week, 2 weeks, monthly = 4 weeks.

    Cadences are rounded to the nearest week (`30 days` -> 4 weeks) and never below one week,
    because one-on-ones are planned per week at the finest.
    """
    return max(1, round(every.total_seconds() / timedelta(weeks=1).total_seconds()))


def cadence_text(weeks: int) -> str:
    """`weekly`, `every 2 weeks`: how a person says a cadence."""
    return "weekly" if weeks == 1 else f"every {weeks} weeks"


@dataclass(frozen=True)
class Period:
    """One aligned period of `weeks` weeks: [first, end) as dates in the manager's zone."""

    first: date  # a Monday
    weeks: int

    @property
    def end(self) -> date:
        return self.first + timedelta(weeks=self.weeks)

    @property
    def label(self) -> str:
        base = iso_week(self.first)
        return base if self.weeks == 1 else f"{base}+{self.weeks}w"

    def contains(self, d: date) -> bool:
        return self.first <= d < self.end

    def interval(self, tz: ZoneInfo) -> Interval:
        """The period as aware datetimes: local midnight of its first day to that of its end."""
        return Interval(local_dt(self.first, time(0), tz), local_dt(self.end, time(0), tz))


def parse_period(label: str) -> Period | None:
    """The Period a label names (`2026-W49`, `2026-W49+2w`), or None for anything else."""
    base, _, suffix = label.partition("+")
    try:
        year, week = base.split("-W")
        first = date.fromisocalendar(int(year), int(week), 1)
        weeks = int(suffix[:-1]) if suffix else 1
    except ValueError:
        return None
    if suffix and not suffix.endswith("w"):
        return None
    return Period(first, max(1, weeks))


def period_of(d: date, weeks: int) -> Period:
    """The aligned period of `weeks` weeks that holds day d."""
    index = (week_monday(d) - EPOCH).days // 7 // weeks
    return Period(EPOCH + timedelta(weeks=index * weeks), weeks)


def periods_between(first: date, last: date, weeks: int) -> list[Period]:
    """Every aligned period that holds at least one day of [first, last]."""
    out: list[Period] = []
    p = period_of(first, weeks)
    while p.first <= last:
        out.append(p)
        p = Period(p.end, weeks)
    return out


def horizon(policy: Policy, now: datetime) -> Interval:
    """Where coachd may book: from now to now + coaching.horizon."""
    return Interval(now, now + policy.coaching.horizon)


def snapshot_window(policy: Policy, now: datetime) -> Interval:
    """What the snapshot reader must read: 5 weeks before this week's Monday to the horizon end.

    The look-back covers the time audit, KPI context and ride-along history, and lets the
    planner see one-on-ones that already happened in a long current period.
    """
    tz = policy.manager.tz
    monday = week_monday(now.astimezone(tz).date()) - timedelta(weeks=HISTORY_WEEKS)
    return Interval(local_dt(monday, time(0), tz), now + policy.coaching.horizon)


def ramp_week(rep: Rep, on: date, ramp_weeks: int) -> int | None:
    """Which week of their ramp a rep is in on a day (1-based), or None outside the ramp."""
    if rep.start_date is None:
        return None
    elapsed = (on - rep.start_date).days
    if 0 <= elapsed < ramp_weeks * 7:
        return elapsed // 7 + 1
    return None
