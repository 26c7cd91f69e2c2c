"""Properties of the booking lifecycle on random worlds: after people decline one-on-ones,
book protected meetings over them and take days off, what coachd books or moves never
overlaps a meeting or time off, every disrupted one-on-one is moved, rebooked or reported,
and planning again after applying changes nothing (no fight)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import apply, event, worlds

from planner.actions import Book, Cancel, Move
from planner.coaching import plan_coaching
from planner.model import Attendee, Event, Snapshot
from planner.policy import Policy
from planner.time_off import is_out_of_office
from planner.timeutil import Interval, local_dt

UTC = ZoneInfo("UTC")
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _u(iv: Interval) -> Interval:
    return Interval(iv.start.astimezone(UTC), iv.end.astimezone(UTC))


def _busy(pol: Policy, s: Snapshot) -> list[Interval]:
    words = pol.manager.out_of_office_words
    return [
        _u(e.interval)
        for e in s.events
        if e.tag is None and (e.blocks_time() or is_out_of_office(e, words))
    ]


@SETTINGS
@given(worlds(max_reps=3), st.data())
def test_disrupted_one_on_ones_are_moved_rebooked_or_reported(
    world: tuple[Policy, Snapshot, datetime], data: st.DataObject
) -> None:
    pol, snap, now = world
    tz = pol.manager.tz
    snap = apply(snap, plan_coaching(pol, snap, now).actions)
    mine = [e for e in snap.events if e.tag and e.tag.kind == "one_on_one" and e.start > now]
    if not mine:
        return
    picks = data.draw(st.lists(st.sampled_from(mine), unique_by=lambda e: e.id, max_size=3))
    extra: list[Event] = []
    declined: set[str] = set()
    events = list(snap.events)
    for i, ev in enumerate(picks):
        how = data.draw(st.sampled_from(["decline", "own", "vacation"]))
        if how == "decline":
            assert ev.tag and ev.tag.rep
            people = (*ev.attendees, Attendee(ev.tag.rep, status="declined"))
            events = [replace(e, attendees=people) if e.id == ev.id else e for e in events]
            declined.add(ev.id)
        elif how == "own":
            extra.append(event(ev.start, ev.end, "Dentist", eid=f"own{i}"))
        else:
            d = ev.start.astimezone(tz).date()
            extra.append(
                event(
                    local_dt(d, time(0), tz),
                    local_dt(d + timedelta(days=1), time(0), tz),
                    "Vacation",
                    eid=f"vac{i}",
                    all_day=True,
                    transparent=True,
                )
            )
    snap = replace(snap, events=(*events, *extra))
    plan = plan_coaching(pol, snap, now)
    busy = _busy(pol, snap)
    for a in plan.actions:
        if isinstance(a, Book | Move):
            iv = _u(Interval(a.start, a.end))
            assert not any(iv.overlaps(b) for b in busy), f"{a} lands on a meeting or time off"
    touched = {a.event_id for a in plan.actions if isinstance(a, Move | Cancel)}
    for ev in picks:
        assert ev.tag and ev.tag.rep
        rep = pol.rep(ev.tag.rep)
        assert rep is not None
        if ev.id not in touched:
            assert any(n.rep == rep.email and rep.name in n.what for n in plan.needs), (
                f"{ev.title} at {ev.start} was disrupted and neither moved nor reported"
            )
    again = apply(snap, plan.actions)
    replan = plan_coaching(pol, again, now)
    assert not [a for a in replan.actions if isinstance(a, Book | Move | Cancel)]
