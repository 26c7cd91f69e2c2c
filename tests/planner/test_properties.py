"""Property tests of the coaching planner over random small teams and calendars.

Invariants: no overlaps (between blocks, with the manager's meetings, with a rep's busy time),
inside working hours and the horizon, the buffer and the daily cap hold, every rep gets a
one-on-one in every period whenever a free slot exists (checked by brute force over every
slot-step start), and planning again after applying the actions books nothing new.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import apply, worlds

from planner.actions import Book, Move
from planner.coaching import CoachingPlan, plan_coaching
from planner.model import Snapshot
from planner.periods import cadence_weeks
from planner.policy import Policy
from planner.timeutil import WEEKDAYS, Interval, days, week_monday

UTC = ZoneInfo("UTC")
FLEXIBLE = ("one_on_one", "call_review")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

World = tuple[Policy, Snapshot, datetime]


def _u(iv: Interval) -> Interval:
    return Interval(iv.start.astimezone(UTC), iv.end.astimezone(UTC))


def _meetings(s: Snapshot) -> list[Interval]:
    return [_u(e.interval) for e in s.events if e.tag is None and e.blocks_time()]


def _books(plan: CoachingPlan) -> list[Book]:
    return [a for a in plan.actions if isinstance(a, Book)]


@SETTINGS
@given(worlds())
def test_blocks_never_overlap_and_stay_inside_hours_and_horizon(world: World) -> None:
    pol, snap, now = world
    tz = pol.manager.tz
    plan = plan_coaching(pol, snap, now)
    books = _books(plan)
    meetings = _meetings(snap)
    ivs = sorted(_u(Interval(b.start, b.end)) for b in plan.blocks)
    for a, b in pairwise(ivs):
        assert a.end <= b.start, "two coaching blocks overlap"
    wh = pol.manager.working_hours
    for b in books:
        iv = _u(Interval(b.start, b.end))
        assert now < b.start and b.end <= now + pol.coaching.horizon
        assert not any(iv.overlaps(m) for m in meetings), f"{b.kind} overlaps a meeting"
        if b.kind in ("one_on_one", "call_review", "ride_along"):
            padded = iv.padded(pol.coaching.buffer)
            assert not any(padded.overlaps(m) for m in meetings), "buffer broken"
        if b.rep is not None:
            busy = [_u(x) for x in snap.rep_busy.get(b.rep, ())]
            assert not any(iv.overlaps(x) for x in busy), "rep busy"
        local_s, local_e = b.start.astimezone(tz), b.end.astimezone(tz)
        assert local_s.date() == local_e.date() or local_e.time() == time(0)
        assert WEEKDAYS[local_s.weekday()] in pol.manager.working_days
        assert wh.start <= local_s.time() and local_e.time() <= wh.end
    load: dict[date, timedelta] = defaultdict(timedelta)
    for blk in plan.blocks:
        load[blk.start.astimezone(tz).date()] += blk.end - blk.start
    for b in books:
        if b.kind in FLEXIBLE:
            assert load[b.start.astimezone(tz).date()] <= pol.coaching.max_per_day


@SETTINGS
@given(worlds())
def test_planning_again_after_applying_books_nothing(world: World) -> None:
    pol, snap, now = world
    plan = plan_coaching(pol, snap, now)
    after = apply(snap, plan.actions)
    again = plan_coaching(pol, after, now)
    assert again.actions == []
    assert sorted(b.key for b in again.blocks) == sorted(b.key for b in plan.blocks)


def _slot_is_free(pol: Policy, snap: Snapshot, plan: CoachingPlan, rep: str, iv: Interval) -> bool:
    """Brute force: does this slot satisfy every rule, given everything the plan holds?"""
    tz = pol.manager.tz
    pad = iv.padded(pol.coaching.buffer)
    if any(pad.overlaps(m) for m in _meetings(snap)):
        return False
    if any(iv.overlaps(_u(x)) for x in snap.rep_busy.get(rep, ())):
        return False
    blocks = [_u(Interval(b.start, b.end)) for b in plan.blocks]
    if any(iv.overlaps(b) for b in blocks):
        return False
    day = iv.start.astimezone(tz).date()
    used = sum((b.duration for b in blocks if b.start.astimezone(tz).date() == day), timedelta())
    return used + iv.duration <= pol.coaching.max_per_day


@SETTINGS
@given(worlds(max_reps=3))
def test_every_rep_gets_a_one_on_one_whenever_a_slot_exists(world: World) -> None:
    pol, snap, now = world
    tz = pol.manager.tz
    cfg = pol.coaching.one_on_one
    plan = plan_coaching(pol, snap, now)
    end = now + pol.coaching.horizon
    today, last = now.astimezone(tz).date(), end.astimezone(tz).date()
    lo = max(cfg.window.start, pol.manager.working_hours.start)
    hi = min(cfg.window.end, pol.manager.working_hours.end)
    step = pol.coaching.slot_step
    for rep in pol.team:
        sd = rep.start_date

        def cadence_on(d: date, sd: date | None = sd) -> int:
            # the new-hire cadence applies to the periods that start while the rep ramps
            weeks = cadence_weeks(cfg.every)
            if sd is not None and 0 <= (d - sd).days < pol.coaching.ramp_weeks * 7:
                weeks = min(weeks, cadence_weeks(cfg.new_hire_every))
            return weeks

        mine = sorted(
            b.start.astimezone(tz).date()
            for b in plan.blocks
            if b.kind == "one_on_one" and b.rep == rep.email
        )
        # "every N weeks" counts from the last one: with no history the first period is
        # this week's N weeks, each next one starts N weeks after the week of the last one
        first = week_monday(max(today, sd or today))
        while first <= last:
            weeks = cadence_on(max(first, today))
            p_end = first + timedelta(weeks=weeks)
            got = [b for b in mine if b < p_end]
            if got:
                nxt = week_monday(got[-1]) + timedelta(weeks=weeks)
                first = max(nxt, first + timedelta(weeks=1))
                mine = [b for b in mine if b > got[-1]]
                continue
            tried = False
            for d in days(max(first, today), min(p_end, last + timedelta(days=1))):
                ok_day = (
                    WEEKDAYS[d.weekday()] in cfg.days
                    and WEEKDAYS[d.weekday()] in pol.manager.working_days
                    and (sd is None or d >= sd)
                )
                if not ok_day or lo >= hi:
                    continue
                tried = True
                wall = datetime.combine(d, lo)
                while wall.time() < hi and wall.date() == d:
                    start = wall.replace(tzinfo=tz)
                    real = start.astimezone(UTC)
                    exists = real.astimezone(tz).replace(tzinfo=None) == wall
                    iv = Interval(real, real + cfg.duration)
                    limit = datetime.combine(d, hi).replace(tzinfo=tz).astimezone(UTC)
                    if exists and iv.end <= limit and now < iv.start and iv.end <= end:
                        assert not _slot_is_free(pol, snap, plan, rep.email, iv), (
                            f"{rep.email} has no 1:1 in the {weeks}-week period from {first} "
                            f"but {start} was free"
                        )
                    wall += step
            if tried and p_end <= last + timedelta(days=1):
                # no slot in a whole period inside the horizon: the manager hears of it
                assert any(n.rep == rep.email for n in plan.needs), (
                    f"{rep.email}: period from {first} missed without a report"
                )
            first = p_end


@SETTINGS
@given(worlds(), st.data())
def test_people_moving_and_deleting_blocks_converge_without_a_fight(
    world: World, data: st.DataObject
) -> None:
    pol, snap, now = world
    snap = apply(snap, plan_coaching(pol, snap, now).actions)
    mine = [e for e in snap.events if e.tag is not None]
    if not mine:
        return
    picks = data.draw(st.lists(st.sampled_from(mine), unique_by=lambda e: e.id, max_size=4))
    deleted = {e.id for e in picks[::2]}
    # people move blocks anywhere: another day, another week, outside working hours
    moved = {e.id: timedelta(hours=data.draw(st.integers(-72, 240))) for e in picks[1::2]}
    events = tuple(
        replace(e, start=e.start + moved[e.id], end=e.end + moved[e.id]) if e.id in moved else e
        for e in snap.events
        if e.id not in deleted
    )
    snap = replace(snap, events=events)
    plan = plan_coaching(pol, snap, now)
    for b in _books(plan):
        assert b.generation <= 1
        if any(e.tag and e.tag.key == b.key for e in picks if e.id in deleted):
            assert b.kind == "one_on_one" and pol.coaching.one_on_one.rebook_deleted
            assert b.generation == 1
    assert not any(isinstance(a, Move) for a in plan.actions)
    snap = apply(snap, plan.actions)
    assert plan_coaching(pol, snap, now).actions == []
