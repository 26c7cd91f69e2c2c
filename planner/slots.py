"""Free-slot finding: the busy picture of one planning run and the candidate slots of a day.

Everything inside is kept in UTC: Python compares two datetimes that share a tzinfo by wall
clock, which is wrong in a fall-back hour, so the board converts on the way in and the
planners convert back to the manager's zone only for what people read.

Busy lists are merged and sorted once, and every check is a binary search
(`Spans.hits`, bisect on parallel lists of starts and ends), so planning stays fast for
large teams and busy calendars.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from planner.policy import Manager, Window
from planner.timeutil import WEEKDAYS, Interval, local_dt, merge

UTC = ZoneInfo("UTC")


def to_utc(iv: Interval) -> Interval:
    """The same span with both ends in UTC (as is, when it already is)."""
    if iv.start.tzinfo is UTC and iv.end.tzinfo is UTC:
        return iv
    return Interval(iv.start.astimezone(UTC), iv.end.astimezone(UTC))


def local_day(dt: datetime, tz: ZoneInfo) -> date:
    """The manager's calendar date of an instant."""
    return dt.astimezone(tz).date()


def weekday_name(d: date) -> str:
    """`mon`..`sun`, as the policy writes weekdays."""
    return WEEKDAYS[d.weekday()]


def working_window(manager: Manager, window: Window | None = None) -> tuple[time, time] | None:
    """A kind's daily window cut to the manager's working hours (None when they do not meet)."""
    start, end = manager.working_hours.start, manager.working_hours.end
    if window is not None:
        start, end = max(start, window.start), min(end, window.end)
    return (start, end) if start < end else None


def day_slots(
    day: date, start: time, end: time, duration: timedelta, step: timedelta, tz: ZoneInfo
) -> tuple[Interval, ...]:
    """Candidate slots of `duration` on one day, starting on a `step` grid from `start`.

    The grid is in wall-clock time (09:00, 09:15, ... stays 09:00 local across a DST change);
    a wall time that does not exist (spring-forward gap) is skipped, and each slot lasts
    exactly `duration` of real time. Slots come in UTC, earliest first, and end by `end`.
    Cached: every rep asks for the same grid of the same day.
    """
    return _day_slots(day, start, end, duration, step, tz)


@lru_cache(maxsize=4096)
def _day_slots(
    day: date, start: time, end: time, duration: timedelta, step: timedelta, tz: ZoneInfo
) -> tuple[Interval, ...]:
    out: list[Interval] = []
    limit = local_dt(day, end, tz).astimezone(UTC)
    wall = datetime.combine(day, start)
    step = max(step, timedelta(minutes=1))
    while wall.date() == day:
        s_local = local_dt(day, wall.time(), tz)
        wall_now = wall
        wall += step
        if s_local.replace(tzinfo=None) != wall_now:
            continue  # inside a DST gap: this wall time never happens
        s = s_local.astimezone(UTC)
        e = s + duration
        if e > limit:
            break
        out.append(Interval(s, e))
    return tuple(out)


def fixed_slot(day: date, at: time, duration: timedelta, tz: ZoneInfo) -> Interval | None:
    """The slot of a fixed-time block (huddle, sales meeting) in UTC, or None in a DST gap."""
    s_local = local_dt(day, at, tz)
    if s_local.replace(tzinfo=None) != datetime.combine(day, at):
        return None
    s = s_local.astimezone(UTC)
    return Interval(s, s + duration)


def inside_working_hours(iv: Interval, manager: Manager) -> bool:
    """Whether a block sits inside the manager's working hours on one working day."""
    tz = manager.tz
    day = local_day(iv.start, tz)
    if weekday_name(day) not in manager.working_days:
        return False
    wh = manager.working_hours
    return local_dt(day, wh.start, tz) <= iv.start.astimezone(UTC) and iv.end.astimezone(
        UTC
    ) <= local_dt(day, wh.end, tz).astimezone(UTC)


class Spans:
    """A merged, sorted list of UTC spans kept as two parallel lists of starts and ends, so
    an overlap test is one C-level binary search (`bisect`) instead of a Python loop."""

    __slots__ = ("ends", "starts")

    def __init__(self, merged: Iterable[Interval] = ()) -> None:
        ivs = list(merged)
        self.starts = [iv.start for iv in ivs]
        self.ends = [iv.end for iv in ivs]

    def hits(self, start: datetime, end: datetime) -> bool:
        """Whether a non-empty [start, end) overlaps a span (as `timeutil.any_overlap`)."""
        i = bisect.bisect_right(self.ends, start)
        return i < len(self.starts) and self.starts[i] < end

    def add(self, start: datetime, end: datetime) -> None:
        """Insert a span, keeping the lists merged (touching spans join)."""
        starts, ends = self.starts, self.ends
        i = bisect.bisect_left(starts, start)
        # absorb a left neighbour that reaches into the new span
        if i > 0 and ends[i - 1] >= start:
            i -= 1
            start = min(start, starts[i])
            end = max(end, ends[i])
        j = i
        while j < len(starts) and starts[j] <= end:
            end = max(end, ends[j])
            j += 1
        starts[i:j] = [start]
        ends[i:j] = [end]


class Board:
    """Who is busy when, and how much coaching each day already holds.

    - the manager's own meetings (not coachd's) must stay `buffer` away from a new block;
    - coachd's blocks (existing and placed in this run) must not overlap a new block, but may
      sit back to back: a manager running one-on-ones in a row wants no gaps;
    - a rep must be free for a block they attend;
    - `load(day)` sums every coachd block of the day, whatever its kind.
    """

    def __init__(
        self,
        *,
        tz: ZoneInfo,
        manager_busy: Iterable[Interval],
        rep_busy: Mapping[str, Iterable[Interval]],
        buffer: timedelta,
        cap: timedelta,
    ) -> None:
        self.tz = tz
        self.buffer = buffer
        self.cap = cap
        self._manager = Spans(merge(to_utc(iv) for iv in manager_busy))
        self._reps = {rep: Spans(merge(to_utc(iv) for iv in ivs)) for rep, ivs in rep_busy.items()}
        self._coaching = Spans()
        # bumped by every place(): what was free before may not be any more
        self.version = 0
        self._any_free: dict[tuple[Hashable, int], bool] = {}
        self._load: dict[date, timedelta] = defaultdict(timedelta)
        self._no_room: set[Hashable] = set()

    def manager_free(self, iv: Interval, *, buffered: bool = True) -> bool:
        """No meeting of the manager's within the buffer, and no coachd block overlapping."""
        iv = to_utc(iv)
        start, end = iv.start, iv.end
        if buffered:
            if self._manager.hits(start - self.buffer, end + self.buffer):
                return False
        elif self._manager.hits(start, end):
            return False
        return not self._coaching.hits(start, end)

    def meetings_overlap(self, iv: Interval) -> bool:
        """Whether the manager's own (non-coachd) meetings overlap the span, without buffer."""
        iv = to_utc(iv)
        return self._manager.hits(iv.start, iv.end)

    def rep_free(self, rep: str, iv: Interval) -> bool:
        spans = self._reps.get(rep)
        if spans is None:
            return True
        iv = to_utc(iv)
        return not spans.hits(iv.start, iv.end)

    def first_free(
        self,
        slots: Iterable[Interval],
        rep: str | None,
        allowed: Callable[[Interval], bool],
        memo: Hashable | None,
    ) -> Interval | None:
        """The first slot that is allowed, free for the manager and (if given) the rep.

        Time only ever fills up during a run, so a slot list (named by `memo`) in which the
        manager had no room once never has room again: later calls return at once. A None
        memo is never remembered (for a search that skips some slots of the list).
        """
        if memo is not None and memo in self._no_room:
            return None
        room = False
        for slot in slots:
            if not allowed(slot) or not self.manager_free(slot):
                continue
            room = True
            if rep is None or self.rep_free(rep, slot):
                return slot
        if not room and memo is not None:
            self._no_room.add(memo)
        return None

    def any_manager_free(self, slots: Iterable[Interval], memo: Hashable) -> bool:
        """Whether the manager is free (as `manager_free`) for any of the slots. The answer
        is remembered under `memo` (which must name the slot list) until the next place()."""
        key = (memo, self.version)
        found = self._any_free.get(key)
        if found is None:
            found = self._any_free[key] = any(self.manager_free(s) for s in slots)
        return found

    def coaching_free(self, iv: Interval) -> bool:
        """No coachd block (existing or placed in this run) overlaps the span."""
        iv = to_utc(iv)
        return not self._coaching.hits(iv.start, iv.end)

    def load(self, day: date) -> timedelta:
        """Coaching time already on a day (all coachd kinds)."""
        return self._load.get(day, timedelta())

    def fits_cap(self, day: date, duration: timedelta) -> bool:
        return self.load(day) + duration <= self.cap

    def place(self, iv: Interval) -> None:
        """Record a coachd block (existing or new): it is busy and counts toward the cap."""
        iv = to_utc(iv)
        self._coaching.add(iv.start, iv.end)
        self.version += 1
        self._load[local_day(iv.start, self.tz)] += iv.duration
