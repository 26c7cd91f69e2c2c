"""One-on-ones: one per rep per cadence period, where both are free.

Cadence: the rep's own `one_on_one.every` (else the policy's), tightened to
`below_standard_every` for a rep below the minimum standard on any KPI for
`standards.tighten_after` consecutive completed weeks, and to `new_hire_every` during the
ramp; the tightest applies and the reason names it.

"Every N weeks" is measured from the last one-on-one that took place: the next one is due in
the week N weeks after it (or this week, when that is already past), and its period runs N
weeks from that week. The period is labelled by the ISO week it starts in (`2026-W49+2w`),
so a tick computes the same label as the last one for as long as the anchor stands. A
period is satisfied by a coachd one-on-one of the rep starting inside it (wherever a person
put it), or by a booking of its key a person deleted (unless policy rebooks deleted ones,
once); then the next period is counted from that one.

Placement: the due week first, then the later weeks of the period; inside a week, the rep's
preferred day and time (`team[].one_on_one.day/time`) when both are free, else the preferred
days still ahead, days with fewer one-on-ones first (to spread the team), then the earliest;
on that day the earliest slot-step start where manager and rep are free, the buffer to the
manager's meetings holds and the daily coaching cap is not exceeded. Reps are served in order
of their due week; inside a week, reps on a tightened cadence first, then the policy's order.
A period that cannot be booked is reported to the manager (planner.options gives choices).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta

from planner.blocks import Ctx, NeedsYou, dur, fmt_day, fmt_when
from planner.ids import booking_key
from planner.model import Attendee
from planner.options import options_for
from planner.periods import Period, cadence_text, cadence_weeks, ramp_week
from planner.policy import Policy, Rep
from planner.slots import UTC, day_slots, fixed_slot, local_day, working_window
from planner.timeutil import WEEKDAYS, Interval, days, week_monday


@dataclass(frozen=True)
class Cadence:
    """A rep's one-on-one cadence in weeks and why."""

    weeks: int
    why: str
    tightened: bool


def rep_duration(policy: Policy, rep: Rep) -> timedelta:
    """How long a rep's one-on-one lasts (their own setting, else the policy's)."""
    own = rep.one_on_one.duration if rep.one_on_one else None
    return own or policy.coaching.one_on_one.duration


def cadence_for(policy: Policy, rep: Rep, on: date, weeks_below: int) -> Cadence:
    """The tightest cadence that applies to a rep on a day (ties name the tightening reason)."""
    cfg = policy.coaching.one_on_one
    own = rep.one_on_one.every if rep.one_on_one else None
    options = [
        Cadence(
            cadence_weeks(own or cfg.every),
            "their own cadence" if own else "standard cadence",
            False,
        )
    ]
    ramp = ramp_week(rep, on, policy.coaching.ramp_weeks)
    if ramp is not None:
        options.append(
            Cadence(
                cadence_weeks(cfg.new_hire_every),
                f"new hire, week {ramp} of {policy.coaching.ramp_weeks} ramp",
                True,
            )
        )
    after = policy.coaching.standards.tighten_after
    if weeks_below >= after:
        options.append(
            Cadence(
                cadence_weeks(cfg.below_standard_every),
                f"below the minimum standard on a KPI for {weeks_below} consecutive weeks "
                f"(tightens after {after})",
                True,
            )
        )
    return min(options, key=lambda c: (c.weeks, not c.tightened))


def rep_declined(attendees: Iterable[Attendee], rep: str) -> bool:
    """Whether the rep answered no on the manager's copy of a one-on-one."""
    return any(a.email.lower() == rep and a.status == "declined" for a in attendees)


def held_before_today(ctx: Ctx) -> dict[str, date]:
    """Each rep's last one-on-one that took place: started before now, the rep did not decline.

    From the calendar where it shows the event, else from coachd's memory of a booking that
    scrolled out of the window (counted as held: nothing says otherwise).
    """
    last: dict[str, date] = {}

    def note(rep: str | None, d: date) -> None:
        if rep and (rep not in last or d > last[rep]):
            last[rep] = d

    for ev in ctx.existing.by_kind["one_on_one"]:
        tag = ev.tag
        if tag and tag.rep and ev.start <= ctx.now and not rep_declined(ev.attendees, tag.rep):
            note(tag.rep, local_day(ev.start, ctx.tz))
    for key, rec in ctx.existing.records.items():
        old = rec.start <= ctx.now and rec.start < ctx.existing.window.start
        if rec.kind == "one_on_one" and old and ctx.existing.state(key) == "unseen":
            note(rec.rep, local_day(rec.start, ctx.tz))
    return last


def missed_in_a_row(anchor: date | None, today: date, weeks: int) -> int:
    """How many whole cadence periods have passed since the last one-on-one without one."""
    if anchor is None:
        return 0
    since = (week_monday(today) - week_monday(anchor)).days // 7
    return max(0, (since - weeks) // weeks)


def plan_one_on_ones(ctx: Ctx, weeks_below: dict[str, int]) -> set[str]:
    """Book every rep's missing one-on-ones in the horizon; returns keys rebooked after deletion."""
    policy = ctx.policy
    cfg = policy.coaching.one_on_one
    win = working_window(policy.manager, cfg.window)
    if win is None:
        ctx.plan.skipped.append("One-on-ones: their window lies outside the working hours")
        return set()
    per_day: Counter[date] = Counter()
    upcoming: dict[str, list[date]] = defaultdict(list)
    for b in ctx.plan.blocks:
        if b.kind == "one_on_one" and b.rep:
            d = local_day(b.start, ctx.tz)
            per_day[d] += 1
            upcoming[b.rep].append(d)
    for rep_email, d in ctx.claimed:
        upcoming[rep_email].append(d)
    anchors = held_before_today(ctx)
    this_monday = week_monday(ctx.today)

    # each rep's next due week; served week by week, tightened cadences first
    due: dict[str, date] = {}
    for rep in policy.team:
        cad = cadence_for(policy, rep, ctx.today, weeks_below.get(rep.email, 0))
        anchor = anchors.get(rep.email)
        missed = missed_in_a_row(anchor, ctx.today, cad.weeks)
        if missed >= 2 and anchor is not None:
            ctx.plan.needs.append(
                NeedsYou(
                    what=f"{rep.name} has missed their one-on-one {missed} times in a row",
                    why=(
                        f"the last one took place {fmt_day(anchor)}; their cadence is "
                        f"{cadence_text(cad.weeks)} ({cad.why})"
                    ),
                    rep=rep.email,
                )
            )
        if anchor is not None:
            first = week_monday(anchor) + timedelta(weeks=cad.weeks)
        else:
            first = this_monday
        if rep.start_date is not None:
            first = max(first, week_monday(rep.start_date))
        due[rep.email] = max(first, this_monday)

    rebooked: set[str] = set()
    order = {r.email: i for i, r in enumerate(policy.team)}
    served_through: dict[str, date] = {r: a for r, a in anchors.items()}
    while True:
        ready = [r for r in policy.team if due.get(r.email) and due[r.email] <= ctx.last_day]
        if not ready:
            break
        week = min(due[r.email] for r in ready)
        batch = []
        for rep in ready:
            if due[rep.email] != week:
                continue
            on = max(week, ctx.today)
            cad = cadence_for(policy, rep, on, weeks_below.get(rep.email, 0))
            batch.append((0 if cad.tightened else 1, order[rep.email], rep, cad))
        batch.sort(key=lambda j: (j[0], j[1]))
        for _, _, rep, cad in batch:
            period = Period(week, cad.weeks)
            after = served_through.get(rep.email)
            got = _serve(ctx, rep, cad, period, after, upcoming, per_day, win, rebooked)
            if got is not None:
                served_through[rep.email] = got
                due[rep.email] = max(
                    week_monday(got) + timedelta(weeks=cad.weeks), period.first + timedelta(weeks=1)
                )
            else:
                due[rep.email] = period.end
    return rebooked


def _serve(
    ctx: Ctx,
    rep: Rep,
    cad: Cadence,
    period: Period,
    after: date | None,
    upcoming: dict[str, list[date]],
    per_day: Counter[date],
    win: tuple[time, time],
    rebooked: set[str],
) -> date | None:
    """Satisfy one period of one rep: the day its one-on-one is on, or None when it is not."""
    cfg = ctx.policy.coaching.one_on_one
    manager = ctx.policy.manager
    # a one-on-one already there (booked, moved by a person, or rebooked this run) counts
    there = [d for d in upcoming[rep.email] if d < period.end and (after is None or d > after)]
    if there:
        return max(there)
    key = booking_key("one_on_one", rep.email, period.label)
    state = ctx.existing.state(key)
    rec = ctx.existing.record(key)
    if state in ("present", "known_deleted", "unseen"):
        return local_day(rec.start, ctx.tz) if rec else period.first
    note = ""
    if state == "deleted":
        if rec is None or not cfg.rebook_deleted or rec.generation != 0:
            return local_day(rec.start, ctx.tz) if rec else period.first
        generation = rec.generation + 1
        note = "someone deleted it from the calendar; rebooking once for this period "
        note += "(one_on_one.rebook_deleted) -- "
    else:
        maybe = ctx.existing.next_generation(key)
        if maybe is None:
            return None
        generation = maybe
    if rep.email in ctx.unreadable:
        ctx.plan.skipped.append(
            f"1:1 with {rep.name} in {period.label}: their calendar could not be read"
        )
        return None
    length = rep_duration(ctx.policy, rep)
    candidates = candidate_days(ctx, rep, period)
    slot: Interval | None = None
    if state == "pending" and rec is not None:
        # the same time as the write that never landed, if it still works
        iv = Interval(rec.start.astimezone(UTC), rec.end.astimezone(UTC))
        d = local_day(iv.start, ctx.tz)
        if (
            d in candidates
            and ctx.in_horizon(iv)
            and ctx.board.fits_cap(d, iv.duration)
            and ctx.board.manager_free(iv)
            and ctx.board.rep_free(rep.email, iv)
        ):
            slot = iv
    if slot is None:
        slot = find_slot(ctx, rep, candidates, win, per_day)
    if slot is None:
        if candidates and period.end <= ctx.last_day + timedelta(days=1):
            why = (
                f"no free {dur(length)} slot on {', '.join(day_label(d) for d in candidates)} "
                f"{win[0]:%H:%M}-{win[1]:%H:%M} where both are free within the buffer and the "
                f"daily coaching cap ({busy_side(ctx, rep, candidates, win, length)})"
            )
            ctx.report(
                f"1:1 with {rep.name} in {period.label}",
                why,
                options_for(ctx, rep.email, candidates, win, length),
                rep.email,
            )
        return None
    d = local_day(slot.start, ctx.tz)
    fewest = "the preferred day with the fewest one-on-ones" if len(candidates) > 1 else ""
    ctx.book(
        kind="one_on_one",
        rep=rep.email,
        period=period.label,
        generation=generation,
        slot=slot,
        title=f"One-on-one: {rep.name} / {manager.name}",
        description=(
            f"Your regular one-on-one with {manager.name}: your goals, your KPIs and "
            "what you need to hit them. Booked by coachd."
        ),
        attendees=(rep.email,),
        reason=(
            f"{note}{cadence_text(cad.weeks)} 1:1 for {rep.name} ({cad.why}): first free "
            f"{dur(length)} slot in {period.label} on {fmt_when(slot.start, ctx.tz)}"
            f"{', ' + fewest if fewest else ''}, where both are free"
        ),
    )
    upcoming[rep.email].append(d)
    per_day[d] += 1
    if state == "deleted":
        rebooked.add(key)
    return d


def busy_side(
    ctx: Ctx, rep: Rep, candidates: list[date], win: tuple[time, time], length: timedelta
) -> str:
    """Which side was busy on the days tried, in words, for a report."""
    step = ctx.policy.coaching.slot_step
    capped = 0
    manager_free = rep_free = False
    for d in candidates:
        if not ctx.board.fits_cap(d, length):
            capped += 1
            continue
        slots = [s for s in day_slots(d, win[0], win[1], length, step, ctx.tz) if ctx.in_horizon(s)]
        # the manager's side is the same for every rep: the board remembers it
        manager_free = manager_free or ctx.board.any_manager_free(slots, (d, win, length, step))
        rep_free = rep_free or any(ctx.board.rep_free(rep.email, s) for s in slots)
    if capped == len(candidates):
        return "every one of those days already holds the daily coaching cap"
    if not manager_free and not rep_free:
        return f"you and {rep.name} are both busy throughout"
    if not manager_free:
        return "you are busy throughout"
    if not rep_free:
        return f"{rep.name} is busy throughout"
    return f"{rep.name} is busy whenever you are free"


def day_label(d: date) -> str:
    return f"{WEEKDAYS[d.weekday()]} {d.day} {d:%b}"


def candidate_days(ctx: Ctx, rep: Rep, period: Period) -> list[date]:
    """The days of a period a rep's one-on-one may take: ahead, in the horizon, preferred."""
    cfg = ctx.policy.coaching.one_on_one
    manager = ctx.policy.manager
    own_day = rep.one_on_one.day if rep.one_on_one else None
    first = max(period.first, ctx.today, rep.start_date or ctx.today)
    return [
        d
        for d in days(first, min(period.end, ctx.last_day + timedelta(days=1)))
        if (WEEKDAYS[d.weekday()] in cfg.days or WEEKDAYS[d.weekday()] == own_day)
        and WEEKDAYS[d.weekday()] in manager.working_days
    ]


def find_slot(
    ctx: Ctx,
    rep: Rep,
    candidates: list[date],
    win: tuple[time, time],
    per_day: Counter[date],
    avoid: Interval | None = None,
) -> Interval | None:
    """The slot a rep's one-on-one takes: week by week from the due week; in each week the
    rep's own day and time when free, else the least-loaded preferred day's first free slot.
    `avoid` is a time the rep already said no to."""
    cfg = ctx.policy.coaching.one_on_one
    own = rep.one_on_one
    length = rep_duration(ctx.policy, rep)
    start, end = win
    step = ctx.policy.coaching.slot_step
    weeks: dict[date, list[date]] = defaultdict(list)
    for d in candidates:
        weeks[week_monday(d)].append(d)

    def ok(iv: Interval) -> bool:
        return ctx.in_horizon(iv) and (avoid is None or not iv.overlaps(avoid))

    for monday in sorted(weeks):
        in_week = weeks[monday]
        if own is not None and own.day is not None and own.time is not None:
            for d in in_week:
                if WEEKDAYS[d.weekday()] != own.day:
                    continue
                iv = fixed_slot(d, own.time, length, ctx.tz)
                if (
                    iv is not None
                    and ok(iv)
                    and ctx.board.fits_cap(d, length)
                    and ctx.board.manager_free(iv)
                    and ctx.board.rep_free(rep.email, iv)
                ):
                    return iv
        own_day = own.day if own is not None else None
        preferred = [
            d
            for d in in_week
            if WEEKDAYS[d.weekday()] in cfg.days or WEEKDAYS[d.weekday()] == own_day
        ]
        for d in sorted(preferred, key=lambda d: (WEEKDAYS[d.weekday()] != own_day, per_day[d], d)):
            if not ctx.board.fits_cap(d, length):
                continue
            slots = day_slots(d, start, end, length, step, ctx.tz)
            memo = None if avoid is not None else ("one_on_one", d, start, end, length)
            slot = ctx.board.first_free(slots, rep.email, ok, memo)
            if slot is not None:
                return slot
    return None
