"""Ride-alongs: half- or full-day field blocks, rotated so the rep waiting longest goes next.

Rotation, per ISO week in the horizon, at most `per_week` ride-alongs:
- a rep's last ride-along is the latest one coachd booked for them (past or upcoming; from the
  calendar's tagged events and coachd's booking records); a rep who never had one has waited
  longest of all;
- a rep is due when at least `every` weeks (`new_hire_every` during their ramp) separate the
  week of their last ride-along from this week;
- due reps go new hires (in their ramp) first, then longest-waiting first, ties by name, then
  email, so the choice is deterministic; a new hire's first ride-along comes in their first
  week, and `new_hire_every` is honoured during the ramp.

A half day is the first four hours of the working day, or else the last four; a full day is
the working day. Never on a day with the weekly sales meeting. The rep must be free throughout.
A ride-along's hours count toward the daily cap, but the cap does not limit it: a field day is
one activity, and the default half day equals the default cap.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import partial

from planner.blocks import Block, Ctx, fmt_day, fmt_when
from planner.need import Need, Placed, need_slot_book
from planner.periods import cadence_text, cadence_weeks, ramp_week
from planner.policy import Rep
from planner.slots import day_slots
from planner.timeutil import WEEKDAYS, Interval, days, iso_week, week_monday

HALF_DAY = timedelta(hours=4)


def _windows(ctx: Ctx) -> list[tuple[str, time, time]]:
    """The day parts a ride-along may take, in order of preference."""
    wh = ctx.policy.manager.working_hours
    start = datetime.combine(date(2000, 1, 3), wh.start)
    end = datetime.combine(date(2000, 1, 3), wh.end)
    if ctx.policy.coaching.ride_along.length == "full_day" or end - start <= HALF_DAY:
        return [("full day", wh.start, wh.end)]
    return [
        ("half day, morning", wh.start, (start + HALF_DAY).time()),
        ("half day, afternoon", (end - HALF_DAY).time(), wh.end),
    ]


def last_ride_alongs(ctx: Ctx) -> dict[str, date]:
    """Each rep's latest ride-along date (past or booked) from the calendar and memory."""
    last: dict[str, date] = {}

    def note(rep: str | None, when: datetime) -> None:
        if rep:
            d = when.astimezone(ctx.tz).date()
            if rep not in last or d > last[rep]:
                last[rep] = d

    for ev in ctx.existing.by_kind["ride_along"]:
        note(ev.tag.rep if ev.tag else None, ev.start)
    for rec in ctx.existing.records.values():
        # the calendar's event is the truth where it is visible (a person may have moved it);
        # a ride-along a person deleted did not happen, whether or not that is recorded yet
        if rec.kind != "ride_along" or ctx.existing.event(rec.key) is not None:
            continue
        if ctx.existing.state(rec.key) in ("present", "unseen"):
            note(rec.rep, rec.start)
    return last


def plan_ride_alongs(ctx: Ctx, sales_days: set[date]) -> None:
    """Book this horizon's ride-alongs by rotation (see the module docstring)."""
    cfg = ctx.policy.coaching.ride_along
    if not cfg.enabled or cfg.per_week == 0:
        return
    windows = _windows(ctx)
    last = last_ride_alongs(ctx)
    first = week_monday(ctx.today)
    weeks = (week_monday(ctx.last_day) - first).days // 7 + 1
    for w in range(weeks):
        monday = first + timedelta(weeks=w)
        end = monday + timedelta(weeks=1)
        week = iso_week(monday)
        in_week = _taken(ctx, monday, end)
        candidates = [
            d
            for d in days(max(monday, ctx.today), min(end, ctx.last_day + timedelta(days=1)))
            if WEEKDAYS[d.weekday()] in cfg.days
            and WEEKDAYS[d.weekday()] in ctx.policy.manager.working_days
            and d not in sales_days
        ]
        if not candidates:
            continue
        order, due = _rotation(ctx, week, last, monday)
        for rep in order + due:
            if len(in_week) >= cfg.per_week:
                break
            need = Need("ride_along", rep, week, f"Ride-along with {rep.name} in {week}")
            generation = ctx.existing.next_generation(need.key)
            placed = need_slot_book(
                ctx,
                need,
                None if need.key in in_week else generation,
                partial(_placed, ctx, rep, candidates, windows, last),
            )
            if placed is None:
                continue
            in_week.add(need.key)
            last[rep.email] = placed.slot.start.astimezone(ctx.tz).date()
        if len(in_week) < cfg.per_week and end <= ctx.last_day and due and candidates:
            ctx.plan.skipped.append(
                f"Ride-alongs in {week}: {len(in_week)} of {cfg.per_week} booked; no "
                f"{windows[0][0].split(',')[0]} on {', '.join(cfg.days)} (outside the sales "
                "meeting day) where the manager and a due rep are both free"
            )


def _taken(ctx: Ctx, monday: date, end: date) -> set[str]:
    """The keys of the ride-alongs that fill the week from `monday` to `end`."""
    in_week = {
        ev.tag.key
        for ev in ctx.existing.by_kind["ride_along"]
        if ev.tag and monday <= ev.start.astimezone(ctx.tz).date() < end
    }
    # a ride-along a person deleted this week still fills the week's quota: they chose
    in_week |= {
        rec.key
        for rec in ctx.existing.records.values()
        if rec.kind == "ride_along"
        and monday <= rec.start.astimezone(ctx.tz).date() < end
        and ctx.existing.state(rec.key) in ("deleted", "known_deleted")
    }
    return in_week


def _rotation(
    ctx: Ctx, week: str, last: dict[str, date], monday: date
) -> tuple[list[Rep], list[Rep]]:
    """Who goes this week, in order: the reps of an intended booking that never landed,
    then the due reps (new hires first, then longest waiting)."""
    pending = [
        rec
        for rec in ctx.existing.records.values()
        if rec.kind == "ride_along"
        and rec.rep
        and ctx.existing.state(rec.key) == "pending"
        and rec.key.endswith(":" + week)
    ]
    order: list[Rep] = []
    for rec in sorted(pending, key=lambda r: r.key):
        rep = ctx.policy.rep(rec.rep or "")
        if rep is not None:
            order.append(rep)
    due = [r for r in ctx.policy.team if r not in order and _due(ctx, r, last, monday)]
    due.sort(
        key=lambda r: (
            ramp_week(r, monday, ctx.policy.coaching.ramp_weeks) is None,
            last.get(r.email, date.min),
            r.name,
            r.email,
        )
    )
    return order, due


def _placed(
    ctx: Ctx,
    rep: Rep,
    candidates: list[date],
    windows: list[tuple[str, time, time]],
    last: dict[str, date],
) -> Placed | None:
    """The ride-along's day part and its event's text."""
    block = _place(ctx, rep, candidates, windows)
    if block is None:
        return None
    label, slot = block
    manager = ctx.policy.manager
    return Placed(
        slot=slot,
        title=f"Ride-along: {rep.name}",
        description=(
            f"{manager.name} joins {rep.name} in the field for the {label}: customer "
            "visits, then a short debrief on what went well and one thing to practise."
        ),
        reason=_reason(ctx, rep, last.get(rep.email), label, slot),
        location="In the field",
    )


def _every(ctx: Ctx, rep: Rep, on: date) -> tuple[int, str]:
    cfg = ctx.policy.coaching.ride_along
    week = ramp_week(rep, on, ctx.policy.coaching.ramp_weeks)
    if week is not None:
        return cadence_weeks(cfg.new_hire_every), (
            f"new hire, week {week} of {ctx.policy.coaching.ramp_weeks} ramp"
        )
    return cadence_weeks(cfg.every), "standard"


def _due(ctx: Ctx, rep: Rep, last: dict[str, date], monday: date) -> bool:
    if rep.start_date is not None and rep.start_date >= monday + timedelta(weeks=1):
        return False  # not started yet
    prev = last.get(rep.email)
    if prev is None:
        return True
    weeks, _ = _every(ctx, rep, monday)
    return (monday - week_monday(prev)).days // 7 >= weeks


def _place(
    ctx: Ctx, rep: Rep, candidates: list[date], windows: list[tuple[str, time, time]]
) -> tuple[str, Interval] | None:
    """The earliest day part on a candidate day where manager and rep are free throughout."""
    for d in candidates:
        if rep.start_date is not None and d < rep.start_date:
            continue
        for label, start, end in windows:
            length = datetime.combine(d, end) - datetime.combine(d, start)
            for slot in day_slots(d, start, end, length, length, ctx.tz):
                if (
                    ctx.in_horizon(slot)
                    and ctx.board.manager_free(slot)
                    and ctx.board.rep_free(rep.email, slot)
                ):
                    return label, slot
    return None


def _reason(ctx: Ctx, rep: Rep, prev: date | None, label: str, slot: Interval) -> str:
    weeks, why = _every(ctx, rep, slot.start.astimezone(ctx.tz).date())
    since = (
        "never had one, so longest waiting"
        if prev is None
        else f"last one {fmt_day(prev)}, the longest wait among due reps"
    )
    return (
        f"ride-along with {rep.name} ({why}, due {cadence_text(weeks)}): {since}; "
        f"{label} on {fmt_when(slot.start, ctx.tz)}, both free throughout"
    )


def sales_meeting_days(ctx: Ctx, blocks: list[Block]) -> set[date]:
    """Days holding the weekly sales meeting: its configured day, and wherever one sits."""
    out = {b.start.astimezone(ctx.tz).date() for b in blocks if b.kind == "sales_meeting"}
    cfg = ctx.policy.coaching.sales_meeting
    if cfg.enabled:
        for d in days(ctx.today, ctx.last_day + timedelta(days=1)):
            if WEEKDAYS[d.weekday()] == cfg.day:
                out.add(d)
    return out
