"""Team huddles, the weekly sales meeting (with its topic rotation) and call-review blocks.

Huddles and the sales meeting sit at the fixed times the manager chose: they are booked when
that time is free of other meetings (no buffer is asked for: the manager picked the time) and
skipped with a reason otherwise. Their hours count toward the daily coaching cap, but the cap
never moves a fixed block. Call reviews are flexible, manager-only blocks inside a window.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from planner.blocks import Ctx, dur, fmt_day, fmt_when
from planner.ids import booking_key
from planner.periods import EPOCH
from planner.slots import day_slots, fixed_slot, inside_working_hours, working_window
from planner.timeutil import WEEKDAYS, Interval, days, iso_week, week_monday


def weeks_in_horizon(ctx: Ctx) -> list[date]:
    """The Mondays of every ISO week that overlaps [now, horizon end]."""
    first, last = week_monday(ctx.today), week_monday(ctx.last_day)
    return [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]


def _week_has(ctx: Ctx, kind: str, monday: date) -> bool:
    """Whether a tagged event of this kind starts in the ISO week (a moved one counts)."""
    end = monday + timedelta(weeks=1)
    return any(
        monday <= ev.start.astimezone(ctx.tz).date() < end for ev in ctx.existing.by_kind[kind]
    )


def topic_for(ctx: Ctx, monday: date) -> str:
    """The sales-meeting topic of a week: in order from `first_week` (or the epoch), wrapping."""
    return ctx.policy.coaching.sales_meeting.topics[topics_position(ctx, monday)]


def _fixed(ctx: Ctx, kind: str, day: date, period: str, what: str) -> tuple[Interval, int] | None:
    """The slot and generation of a fixed-time block, or None (with a skip reason if useful)."""
    cfg_time, duration = (
        (ctx.policy.coaching.huddle.time, ctx.policy.coaching.huddle.duration)
        if kind == "huddle"
        else (ctx.policy.coaching.sales_meeting.time, ctx.policy.coaching.sales_meeting.duration)
    )
    slot = fixed_slot(day, cfg_time, duration, ctx.tz)
    if slot is None:
        ctx.plan.skipped.append(f"{what} on {fmt_day(day)}: {cfg_time:%H:%M} does not exist (DST)")
        return None
    if not ctx.in_horizon(slot):
        return None
    key = booking_key(kind, None, period)
    generation = ctx.existing.next_generation(key)
    if generation is None:
        return None
    if not inside_working_hours(slot, ctx.policy.manager):
        ctx.plan.skipped.append(
            f"{what} on {fmt_day(day)}: {cfg_time:%H:%M} for {dur(duration)} is outside the "
            "manager's working hours or days"
        )
        return None
    if not ctx.board.manager_free(slot, buffered=False):
        ctx.plan.skipped.append(
            f"{what} on {fmt_day(day)}: the manager is busy at {cfg_time:%H:%M}; not booked"
        )
        return None
    return slot, generation


def plan_sales_meetings(ctx: Ctx) -> None:
    """One sales meeting per ISO week on the configured day and time, with the week's topic."""
    cfg = ctx.policy.coaching.sales_meeting
    if not cfg.enabled:
        return
    team = tuple(r.email for r in ctx.policy.team)
    first = week_monday(cfg.first_week) if cfg.first_week else None
    for monday in weeks_in_horizon(ctx):
        if first is not None and monday < first:
            continue  # the series starts at first_week
        week = iso_week(monday)
        if _week_has(ctx, "sales_meeting", monday):
            continue
        day = monday + timedelta(days=WEEKDAYS.index(cfg.day))
        found = _fixed(ctx, "sales_meeting", day, week, "Sales meeting")
        if found is None:
            continue
        slot, generation = found
        topic = topic_for(ctx, monday)
        n = len(cfg.topics)
        pos = topics_position(ctx, monday)
        ctx.book(
            kind="sales_meeting",
            rep=None,
            period=week,
            generation=generation,
            slot=slot,
            title=f"Weekly sales meeting: {topic}",
            description=(
                f"This week's selling-skills topic: {topic}.\n\n"
                "Bring one real example from your own calls or meetings.\n"
                "Booked by coachd for the whole team."
            ),
            attendees=team,
            topic=topic,
            reason=(
                f"weekly sales meeting for {week} on {fmt_when(slot.start, ctx.tz)}; "
                f"topic {pos + 1} of {n} in the rotation: {topic!r}"
            ),
        )


def topics_position(ctx: Ctx, monday: date) -> int:
    """The 0-based place of a week's topic in the rotation."""
    cfg = ctx.policy.coaching.sales_meeting
    base = week_monday(cfg.first_week) if cfg.first_week else EPOCH
    return ((monday - base).days // 7) % len(cfg.topics)


def plan_huddles(ctx: Ctx) -> None:
    """A huddle on every huddle day at the fixed time, inviting the whole team."""
    cfg = ctx.policy.coaching.huddle
    if not cfg.enabled:
        return
    team = tuple(r.email for r in ctx.policy.team)
    taken = {ev.start.astimezone(ctx.tz).date() for ev in ctx.existing.by_kind["huddle"]}
    for day in days(ctx.today, ctx.last_day + timedelta(days=1)):
        if WEEKDAYS[day.weekday()] not in cfg.days or day in taken:
            continue
        found = _fixed(ctx, "huddle", day, day.isoformat(), "Team huddle")
        if found is None:
            continue
        slot, generation = found
        ctx.book(
            kind="huddle",
            rep=None,
            period=day.isoformat(),
            generation=generation,
            slot=slot,
            title="Team huddle",
            description="A short stand-up: today's priorities, wins and where you need help.",
            attendees=team,
            reason=(
                f"team huddle on {fmt_when(slot.start, ctx.tz)} for {dur(cfg.duration)} "
                f"(huddle days: {', '.join(cfg.days)})"
            ),
        )


def plan_call_reviews(ctx: Ctx) -> None:
    """`per_week` manager-only blocks per ISO week inside the window, on different days."""
    cfg = ctx.policy.coaching.call_review
    if not cfg.enabled or cfg.per_week == 0:
        return
    win = working_window(ctx.policy.manager, cfg.window)
    if win is None:
        ctx.plan.skipped.append("Call review: its window lies outside the working hours")
        return
    for monday in weeks_in_horizon(ctx):
        _plan_review_week(ctx, monday, win)


def _plan_review_week(ctx: Ctx, monday: date, win: tuple[time, time]) -> None:
    """Fill one ISO week's call-review quota: blocks already there (wherever moved) and ones
    a person deleted count; each open key gets the first free slot, or a skipped note when
    the week lies wholly in the horizon."""
    cfg = ctx.policy.coaching.call_review
    manager = ctx.policy.manager
    week = iso_week(monday)
    keys = [booking_key("call_review", None, f"{week}-{i}") for i in range(1, cfg.per_week + 1)]
    end = monday + timedelta(weeks=1)
    per_day: dict[date, int] = {}
    for ev in ctx.existing.by_kind["call_review"]:
        d = ev.start.astimezone(ctx.tz).date()
        if monday <= d < end:
            per_day[d] = per_day.get(d, 0) + 1
    # Blocks there (wherever moved) and ones a person deleted both fill the week's quota.
    have = sum(per_day.values()) + sum(
        1 for k in keys if ctx.existing.state(k) in ("deleted", "known_deleted")
    )
    open_keys = [
        (i, k) for i, k in enumerate(keys, 1) if ctx.existing.next_generation(k) is not None
    ]
    candidates = [
        d
        for d in days(max(monday, ctx.today), min(end, ctx.last_day + timedelta(days=1)))
        if WEEKDAYS[d.weekday()] in cfg.days and WEEKDAYS[d.weekday()] in manager.working_days
    ]
    for i, key in open_keys:
        if have >= cfg.per_week:
            break
        generation = ctx.existing.next_generation(key)
        assert generation is not None
        slot = _review_slot(ctx, candidates, win, per_day)
        if slot is None:
            if candidates and end <= ctx.last_day:
                ctx.plan.skipped.append(
                    f"Call review {i} of {cfg.per_week} in {week}: no free "
                    f"{dur(cfg.duration)} slot in {win[0]:%H:%M}-{win[1]:%H:%M} on "
                    f"{', '.join(cfg.days)} within the daily coaching cap"
                )
            continue
        _book_review(ctx, slot, week, i, generation, per_day)
        have += 1


def _book_review(
    ctx: Ctx, slot: Interval, week: str, i: int, generation: int, per_day: dict[date, int]
) -> None:
    """Book call review `i` of `week` at `slot` and count it in `per_day`."""
    cfg = ctx.policy.coaching.call_review
    d = slot.start.astimezone(ctx.tz).date()
    spread = "all review days already had one" if per_day.get(d) else "no other review"
    ctx.book(
        kind="call_review",
        rep=None,
        period=f"{week}-{i}",
        generation=generation,
        slot=slot,
        title="Call review: listen to recorded calls",
        description="Listen to recorded sales calls and note coaching points.",
        attendees=(),
        reason=(
            f"call review {i} of {cfg.per_week} in {week}: first free "
            f"{dur(cfg.duration)} slot on {fmt_when(slot.start, ctx.tz)} ({spread} "
            "that day), manager only"
        ),
    )
    per_day[d] = per_day.get(d, 0) + 1


def _review_slot(
    ctx: Ctx, candidates: list[date], win: tuple[time, time], per_day: dict[date, int]
) -> Interval | None:
    """Days without a call review first (spread), then the earliest free slot in the window."""
    cfg = ctx.policy.coaching.call_review
    for d in sorted(candidates, key=lambda d: (per_day.get(d, 0), d)):
        if not ctx.board.fits_cap(d, cfg.duration):
            continue
        slots = day_slots(d, win[0], win[1], cfg.duration, ctx.policy.coaching.slot_step, ctx.tz)
        slot = ctx.board.first_free(slots, None, ctx.in_horizon, ("call_review", d))
        if slot is not None:
            return slot
    return None
