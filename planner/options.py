"""Options for coaching that could not be booked: slots where only an unprotected meeting
is in the way, so the manager can decline or move that meeting and keep the coaching.

An option never offers time with a protected meeting (boss, leadership, customers, the
manager's own or accepted meetings), time off, another coachd block, or a busy rep.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from planner.blocks import Ctx, fmt_when
from planner.slots import day_slots, to_utc
from planner.timeutil import Interval, any_overlap

MAX_OPTIONS = 3


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
    step = ctx.policy.coaching.slot_step
    for d in candidates:
        for slot in day_slots(d, win[0], win[1], length, step, ctx.tz):
            if not ctx.in_horizon(slot) or (avoid is not None and slot.overlaps(avoid)):
                continue
            if any_overlap(to_utc(slot), ctx.protected) or not ctx.board.coaching_free(slot):
                continue
            if rep is not None and not ctx.board.rep_free(rep, slot):
                continue
            in_way = sorted({title for iv, title in ctx.movable if iv.overlaps(slot)})
            if not in_way:
                continue  # free but kept by the buffer or the daily cap: not a real choice
            shown = ", ".join(repr(t or "(untitled)") for t in in_way[:2])
            more = f" and {len(in_way) - 2} more" if len(in_way) > 2 else ""
            out.append(f"{fmt_when(slot.start, ctx.tz)} if you drop {shown}{more}")
            break
        if len(out) >= MAX_OPTIONS:
            break
    return tuple(out)
