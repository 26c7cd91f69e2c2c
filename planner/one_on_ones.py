"""One-on-ones: one per rep per cadence period, where both are free.

Cadence: the policy's `every`, tightened to `below_standard_every` for a rep below the minimum
standard on any KPI for `standards.tighten_after` consecutive completed weeks, and to
`new_hire_every` during the ramp; the tightest applies and the reason names it.

A period is satisfied when a coachd one-on-one for the rep carries its key, or when any coachd
one-on-one of the rep starts inside it (a person moved it there, or a cadence change renamed
the period), or when a person deleted its booking (unless policy rebooks deleted ones, once).

Placement: the preferred days of the period that are still ahead and inside the horizon,
days with fewer one-on-ones first (to spread the team over the week), then the earliest; on
that day the earliest slot-step start where manager and rep are free, the buffer to the
manager's meetings holds and the daily coaching cap is not exceeded. Reps are served period
by period; inside a period, reps on a tightened cadence first, then in the policy's order.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, time, timedelta

from planner.blocks import Ctx, dur, fmt_when
from planner.ids import booking_key
from planner.periods import Period, cadence_text, cadence_weeks, periods_between, ramp_week
from planner.policy import Policy, Rep
from planner.slots import UTC, day_slots, local_day, working_window
from planner.timeutil import WEEKDAYS, Interval, days


@dataclass(frozen=True)
class Cadence:
    """A rep's one-on-one cadence in weeks and why."""

    weeks: int
    why: str
    tightened: bool


def cadence_for(policy: Policy, rep: Rep, on: date, weeks_below: int) -> Cadence:
    """The tightest cadence that applies to a rep on a day (ties name the tightening reason)."""
    cfg = policy.coaching.one_on_one
    options = [Cadence(cadence_weeks(cfg.every), "standard cadence", False)]
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


def plan_one_on_ones(ctx: Ctx, weeks_below: dict[str, int]) -> set[str]:
    """Book every rep's missing one-on-ones in the horizon; returns keys rebooked after deletion."""
    policy = ctx.policy
    cfg = policy.coaching.one_on_one
    manager = policy.manager
    win = working_window(manager, cfg.window)
    if win is None:
        ctx.plan.skipped.append("One-on-ones: their window lies outside the working hours")
        return set()
    starts: dict[str, list[date]] = defaultdict(list)
    per_day: Counter[date] = Counter()
    for ev in ctx.existing.by_kind["one_on_one"]:
        d = local_day(ev.start, ctx.tz)
        per_day[d] += 1
        if ev.tag and ev.tag.rep:
            starts[ev.tag.rep].append(d)

    jobs: list[tuple[date, int, int, Rep, Cadence, Period]] = []
    for i, rep in enumerate(policy.team):
        cad = cadence_for(policy, rep, ctx.today, weeks_below.get(rep.email, 0))
        for p in periods_between(ctx.today, ctx.last_day, cad.weeks):
            jobs.append((p.first, 0 if cad.tightened else 1, i, rep, cad, p))
    jobs.sort(key=lambda j: (j[0], j[1], j[2]))

    rebooked: set[str] = set()
    for _, _, _, rep, cad, period in jobs:
        # the reason speaks of the period itself (a new hire's ramp week moves on)
        on = max(period.first, ctx.today)
        said = cadence_for(policy, rep, on, weeks_below.get(rep.email, 0))
        why = said.why if said.weeks == cad.weeks else cad.why
        key = booking_key("one_on_one", rep.email, period.label)
        state = ctx.existing.state(key)
        if state in ("present", "known_deleted", "unseen"):
            continue
        if any(period.contains(d) for d in starts[rep.email]):
            continue
        rec = ctx.existing.record(key)
        note = ""
        if state == "deleted":
            if rec is None or not cfg.rebook_deleted or rec.generation != 0:
                continue  # reconciliation records the deletion; coachd does not fight it
            generation = rec.generation + 1
            note = "someone deleted it from the calendar; rebooking once for this period "
            note += "(one_on_one.rebook_deleted) -- "
        else:
            maybe = ctx.existing.next_generation(key)
            if maybe is None:
                continue
            generation = maybe
        if rep.email in ctx.unreadable:
            ctx.plan.skipped.append(
                f"1:1 with {rep.name} in {period.label}: their calendar could not be read"
            )
            continue
        first = max(period.first, ctx.today, rep.start_date or ctx.today)
        candidates = [
            d
            for d in days(first, min(period.end, ctx.last_day + timedelta(days=1)))
            if WEEKDAYS[d.weekday()] in cfg.days and WEEKDAYS[d.weekday()] in manager.working_days
        ]
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
            slot = _first_free(ctx, rep, candidates, win, per_day)
        if slot is None:
            if candidates and period.end <= ctx.last_day:
                ctx.plan.skipped.append(
                    f"1:1 with {rep.name} in {period.label}: no free {dur(cfg.duration)} slot "
                    f"on {', '.join(cfg.days)} {win[0]:%H:%M}-{win[1]:%H:%M} where both are free "
                    "within the buffer and the daily coaching cap"
                )
            continue
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
                f"{note}{cadence_text(cad.weeks)} 1:1 for {rep.name} ({why}): first free "
                f"{dur(cfg.duration)} slot in {period.label} on {fmt_when(slot.start, ctx.tz)}"
                f"{', ' + fewest if fewest else ''}, where both are free"
            ),
        )
        starts[rep.email].append(d)
        per_day[d] += 1
        if state == "deleted":
            rebooked.add(key)
    return rebooked


def _first_free(
    ctx: Ctx,
    rep: Rep,
    candidates: list[date],
    win: tuple[time, time],
    per_day: Counter[date],
) -> Interval | None:
    cfg = ctx.policy.coaching.one_on_one
    start, end = win
    step = ctx.policy.coaching.slot_step
    for d in sorted(candidates, key=lambda d: (per_day[d], d)):
        if not ctx.board.fits_cap(d, cfg.duration):
            continue
        slots = day_slots(d, start, end, cfg.duration, step, ctx.tz)
        memo = ("one_on_one", d, start, end, cfg.duration)
        slot = ctx.board.first_free(slots, rep.email, ctx.in_horizon, memo)
        if slot is not None:
            return slot
    return None
