"""Options for coaching that could not be booked: slots where only an unprotected meeting
is in the way, so the manager can decline or move that meeting and keep the coaching.

An option never offers time with a protected meeting (boss, leadership, customers, the
manager's own or accepted meetings), time off, another coachd block, or a busy rep.
"""

from __future__ import annotations

import bisect
from datetime import date, datetime, time, timedelta

from planner.blocks import Ctx, fmt_when
from planner.slots import UTC, day_slots, to_utc
from planner.timeutil import Interval, any_overlap

MAX_OPTIONS = 3


class _Index:
    """What one planning run's options need, built once per Ctx: `ctx.movable` sorted by
    start (UTC), so the meetings in a slot's way are found by binary search (a meeting
    overlapping [s, e) starts before e and after s minus the longest meeting's length), and
    per day the slots open to any rep (the rep-independent checks done), remembered until the
    board takes a new block."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.movable_src, self.movable_len = ctx.movable, len(ctx.movable)
        self.protected_src, self.protected_len = ctx.protected, len(ctx.protected)
        rows = sorted(
            (
                (iv.start.astimezone(UTC), iv.end.astimezone(UTC), title)
                for iv, title in ctx.movable
            ),
            key=lambda r: r[0],
        )
        self.starts = [r[0] for r in rows]
        self.rows = rows
        self.longest = max([timedelta(0), *(e - s for s, e, _ in rows)])
        self.open: dict[tuple[object, ...], tuple[tuple[Interval, str], ...]] = {}

    def fits(self, ctx: Ctx) -> bool:
        return (
            self.ctx is ctx
            and self.movable_src is ctx.movable
            and self.movable_len == len(ctx.movable)
            and self.protected_src is ctx.protected
            and self.protected_len == len(ctx.protected)
        )

    def titles_in(self, start: datetime, end: datetime) -> set[str]:
        lo = bisect.bisect_right(self.starts, start - self.longest)
        hi = bisect.bisect_left(self.starts, end)
        return {title for s, e, title in self.rows[lo:hi] if e > start and s < end}

    def open_slots(
        self, d: date, win: tuple[time, time], length: timedelta, step: timedelta
    ) -> tuple[tuple[Interval, str], ...]:
        """The day's slots in the horizon, clear of protected time and coachd blocks, with
        an unprotected meeting in the way, each with its option text."""
        ctx = self.ctx
        key = (d, win, length, step, ctx.board.version)
        found = self.open.get(key)
        if found is not None:
            return found
        out: list[tuple[Interval, str]] = []
        for slot in day_slots(d, win[0], win[1], length, step, ctx.tz):
            if not ctx.in_horizon(slot):
                continue
            if any_overlap(to_utc(slot), ctx.protected) or not ctx.board.coaching_free(slot):
                continue
            in_way = sorted(self.titles_in(slot.start, slot.end))
            if not in_way:
                continue  # free but kept by the buffer or the daily cap: not a real choice
            shown = ", ".join(repr(t or "(untitled)") for t in in_way[:2])
            more = f" and {len(in_way) - 2} more" if len(in_way) > 2 else ""
            out.append((slot, f"{fmt_when(slot.start, ctx.tz)} if you drop {shown}{more}"))
        self.open[key] = found = tuple(out)
        return found


# the index of the last Ctx asked about (one planning run asks many times; another run, or
# a list of meetings that changed, builds it again)
_last: list[_Index] = []


def _index(ctx: Ctx) -> _Index:
    cached = _last[0] if _last else None
    if cached is not None and cached.fits(ctx):
        return cached
    index = _Index(ctx)
    _last[:] = [index]
    return index


def options_for(
    ctx: Ctx,
    rep: str | None,
    candidates: list[date],
    win: tuple[time, time],
    length: timedelta,
    avoid: Interval | None = None,
) -> tuple[str, ...]:
    """Up to 3 slots, one per day, earliest first, each naming the meetings in its way."""
    out: list[str] = []
    index = _index(ctx)
    step = ctx.policy.coaching.slot_step
    for d in candidates:
        for slot, text in index.open_slots(d, win, length, step):
            if avoid is not None and slot.overlaps(avoid):
                continue
            if rep is not None and not ctx.board.rep_free(rep, slot):
                continue
            out.append(text)
            break
        if len(out) >= MAX_OPTIONS:
            break
    return tuple(out)
