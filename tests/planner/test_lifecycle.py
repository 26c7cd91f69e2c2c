"""The booking lifecycle: declines rebook, protected clashes move, time off and cadence."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from strategies import MANAGER, apply, event, policy

from planner.actions import Book, Cancel, Move
from planner.coaching import CoachingPlan, plan_coaching
from planner.ids import booking_key
from planner.lifecycle import MAX_REBOOKS
from planner.model import Attendee, BookingRecord, CoachdTag, Event, Snapshot
from planner.periods import snapshot_window
from planner.policy import Policy
from planner.timeutil import Interval

CHI = ZoneInfo("America/Chicago")
MON = datetime(2026, 11, 30, 6, 0, tzinfo=CHI)  # Monday of ISO week 2026-W49
ONLY_1ON1 = {
    "horizon": "1 week",
    "ride_along": {"enabled": False},
    "huddle": {"enabled": False},
    "sales_meeting": {"enabled": False},
    "call_review": {"enabled": False},
}
ANA = "ana@acme.example"
TEAM = [{"name": "Ana", "email": ANA}]


def at(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm), tzinfo=CHI)


def tick(pol: Policy, s: Snapshot, now: datetime = MON) -> tuple[CoachingPlan, Snapshot]:
    plan = plan_coaching(pol, s, now)
    return plan, apply(s, plan.actions)


def first(pol: Policy, now: datetime = MON, **kw: object) -> tuple[Snapshot, Book]:
    s = Snapshot(window=snapshot_window(pol, now), **kw)  # type: ignore[arg-type]
    plan, s = tick(pol, s, now)
    (book,) = [a for a in plan.actions if isinstance(a, Book)]
    return s, book


def answer(s: Snapshot, event_id: str, rep: str, status: str) -> Snapshot:
    """The rep's answer, as the manager's copy shows it."""

    def upd(e: Event) -> Event:
        if e.id != event_id:
            return e
        people = tuple(replace(a, status=status) if a.email == rep else a for a in e.attendees)  # type: ignore[arg-type]
        return replace(e, attendees=people)

    return replace(s, events=tuple(upd(e) for e in s.events))


def add(s: Snapshot, *events: Event) -> Snapshot:
    return replace(s, events=(*s.events, *events))


def test_a_declined_one_on_one_is_rebooked_once_in_its_period_elsewhere() -> None:
    pol = policy(TEAM, **ONLY_1ON1)
    s, book = first(pol)
    s = answer(s, book.event_id, ANA, "declined")
    plan, s = tick(pol, s)
    cancel, rebook = plan.actions
    assert isinstance(cancel, Cancel) and cancel.event_id == book.event_id
    assert isinstance(rebook, Book) and rebook.key == book.key and rebook.generation == 1
    assert rebook.period == book.period and "Ana declined it" in rebook.reason
    assert not Interval(rebook.start, rebook.end).overlaps(Interval(book.start, book.end))
    # once per decline: the next tick does nothing
    assert plan_coaching(pol, s, MON).actions == []
    assert [e.tag.generation for e in s.events if e.tag] == [1]
    assert s.bookings[book.key].status == "booked" and s.bookings[book.key].generation == 1


def test_a_rep_who_keeps_declining_is_reported_not_chased() -> None:
    pol = policy(TEAM, **ONLY_1ON1)
    s, _ = first(pol)
    for _ in range(MAX_REBOOKS):
        current = next(e for e in s.events if e.tag)
        s = answer(s, current.id, ANA, "declined")
        _, s = tick(pol, s)
    current = next(e for e in s.events if e.tag)
    assert current.tag and current.tag.generation == MAX_REBOOKS
    s = answer(s, current.id, ANA, "declined")
    plan, _ = tick(pol, s)
    assert not [a for a in plan.actions if isinstance(a, Book | Cancel | Move)]
    (need,) = plan.needs
    assert "Ana declined it" in need.why and f"after {MAX_REBOOKS} rebookings" in need.why


def test_a_protected_meeting_on_the_block_moves_it_and_keeps_its_identity() -> None:
    pol = Policy.model_validate(
        {
            "manager": {
                "name": "Maria",
                "email": MANAGER,
                "timezone": "America/Chicago",
                "boss": "vp@acme.example",
            },
            "team": TEAM,
            "coaching": ONLY_1ON1,
        }
    )
    s, book = first(pol)
    boss = event(book.start, book.end, "Forecast call", organizer="vp@acme.example")
    plan, s = tick(pol, add(s, boss))
    (move,) = plan.actions
    assert isinstance(move, Move) and (move.key, move.event_id) == (book.key, book.event_id)
    assert "your boss" in move.reason
    assert plan_coaching(pol, s, MON).actions == []  # converged
    moved = next(e for e in s.events if e.tag)
    assert moved.start == move.start and s.bookings[book.key].start == move.start


def test_the_reps_new_meeting_on_the_block_moves_it() -> None:
    pol = policy(TEAM, **ONLY_1ON1)
    s, book = first(pol)
    s = replace(s, rep_busy={ANA: (Interval(book.start, book.end),)})
    plan, s = tick(pol, s)
    (move,) = plan.actions
    assert isinstance(move, Move) and "Ana is now busy then" in move.reason


def test_googles_copy_of_the_block_in_the_reps_busy_time_is_not_a_clash() -> None:
    pol = policy(TEAM, **ONLY_1ON1)
    s, book = first(pol)
    own = Interval(book.start, book.end)
    s = replace(s, rep_busy={ANA: (own,)}, rep_busy_shows_invites=True)
    assert plan_coaching(pol, s, MON).actions == []


def test_a_block_a_person_moved_stays_even_onto_a_clash() -> None:
    pol = policy(TEAM, **ONLY_1ON1)
    s, book = first(pol)
    to = book.start + timedelta(days=1)
    s = replace(
        s,
        events=tuple(
            replace(e, start=to, end=to + timedelta(minutes=30)) if e.tag else e for e in s.events
        ),
    )
    plan, s = tick(pol, s)
    assert s.bookings[book.key].person_moved
    s = add(s, event(to, to + timedelta(minutes=30), "Dentist"))
    plan, _ = tick(pol, s)
    assert not [a for a in plan.actions if isinstance(a, Move | Book | Cancel)]
    (need,) = plan.needs
    assert need.rep == ANA and "'Dentist' now overlaps it" in need.why


def test_a_protected_meeting_on_a_ride_along_needs_the_manager() -> None:
    pol = policy(
        TEAM,
        horizon="1 week",
        huddle={"enabled": False},
        sales_meeting={"enabled": False},
        call_review={"enabled": False},
        one_on_one={"days": ["tue"]},
    )
    s, _ = Snapshot(window=snapshot_window(pol, MON)), None
    plan, s = tick(pol, s)
    (ride,) = [a for a in plan.actions if isinstance(a, Book) and a.kind == "ride_along"]
    s = add(s, event(ride.start, ride.start + timedelta(hours=1), "Board prep"))
    plan, _ = tick(pol, s)
    assert not [a for a in plan.actions if isinstance(a, Move | Book | Cancel)]
    (need,) = plan.needs
    assert (
        need.what.startswith("Ride-along: Ana on ") and "'Board prep' now overlaps it" in need.why
    )


def test_a_past_block_is_never_touched() -> None:
    pol = policy(TEAM, **ONLY_1ON1)
    s, book = first(pol)
    s = add(s, event(book.start, book.end, "Dentist"))
    s = answer(s, book.event_id, ANA, "declined")
    later = book.start + timedelta(minutes=5)
    plan = plan_coaching(pol, replace(s, window=snapshot_window(pol, later)), later)
    assert not [a for a in plan.actions if isinstance(a, Move | Cancel)]


def test_out_of_office_all_day_shown_free_is_never_booked_and_frees_the_block() -> None:
    pol = policy(TEAM, **ONLY_1ON1)
    s, book = first(pol)
    d = book.start.date()
    ooo = event(
        at(d, 0),
        at(d + timedelta(days=1), 0),
        "Vacation",
        all_day=True,
        transparent=True,
    )
    plan, s = tick(pol, add(s, ooo))
    (move,) = plan.actions
    assert isinstance(move, Move) and move.start.date() != d
    assert "out of office" in move.reason
    # Google's out-of-office type, whatever the title
    s2 = Snapshot(window=snapshot_window(pol, MON))
    typed = event(at(d, 0), at(d + timedelta(days=2), 0), "Away", event_type="outOfOffice")
    plan = plan_coaching(pol, add(s2, typed), MON)
    for b in plan.actions:
        assert isinstance(b, Book) and b.start.date() not in (d, d + timedelta(days=1))


def test_public_holidays_are_never_booked_per_region() -> None:
    xmas = datetime(2026, 12, 21, 6, 0, tzinfo=CHI)  # Mon; Thu 24 and Fri 25 are holidays
    team = [
        {"name": "Ana", "email": ANA},
        {"name": "Lou", "email": "lou@acme.example", "holidays": "GB"},
    ]
    one = {**ONLY_1ON1, "one_on_one": {"days": ["thu", "fri"]}}
    pol = Policy.model_validate(
        {
            "manager": {"name": "M", "email": MANAGER, "timezone": "America/Chicago"},
            "team": team,
            "coaching": one,
        }
    )
    plan = plan_coaching(pol, Snapshot(window=snapshot_window(pol, xmas)), xmas)
    assert {b.start.date() for b in plan.actions if isinstance(b, Book)} <= {date(2026, 12, 24)}
    us = pol.model_copy(update={"manager": pol.manager.model_copy(update={"holidays": "US-TX"})})
    plan = plan_coaching(us, Snapshot(window=snapshot_window(us, xmas)), xmas)
    # 24 Dec is a Texas holiday, 25 Dec everywhere here; Lou's GB holidays apply to Lou
    assert not [a for a in plan.actions if isinstance(a, Book)]
    assert {n.rep for n in plan.needs} == {ANA, "lou@acme.example"}


def _held(rep: str, start: datetime, *, declined: bool = False) -> Event:
    key = booking_key("one_on_one", rep, "old")
    return event(
        start,
        start + timedelta(minutes=30),
        "One-on-one",
        eid=f"held-{start:%m%d}",
        tag=CoachdTag(key=key, kind="one_on_one", rep=rep, period="old"),
        attendees=(Attendee(rep, status="declined" if declined else "accepted"),),
    )


def test_every_two_weeks_counts_from_the_last_one_held() -> None:
    one = {**ONLY_1ON1, "horizon": "4 weeks", "one_on_one": {"every": "2 weeks"}}
    pol = policy(TEAM, **one)
    # held on Tue 24 Nov (last week): next due in the week of 7 Dec, then 21 Dec
    s = Snapshot(window=snapshot_window(pol, MON), events=(_held(ANA, at(date(2026, 11, 24), 9)),))
    got = sorted(a.start.date() for a in plan_coaching(pol, s, MON).actions if isinstance(a, Book))
    assert [d.isocalendar().week for d in got] == [50, 52]
    # one the rep declined did not take place: the one before it counts, so one is due now
    s = Snapshot(
        window=snapshot_window(pol, MON),
        events=(
            _held(ANA, at(date(2026, 11, 10), 9)),
            _held(ANA, at(date(2026, 11, 24), 9), declined=True),
        ),
    )
    plan = plan_coaching(pol, s, MON)
    got = sorted(a.start.date() for a in plan.actions if isinstance(a, Book))
    assert [d.isocalendar().week for d in got] == [49, 51]


def test_a_rep_who_missed_twice_in_a_row_is_called_out() -> None:
    pol = policy(TEAM, **ONLY_1ON1)
    s = Snapshot(window=snapshot_window(pol, MON), events=(_held(ANA, at(date(2026, 11, 10), 9)),))
    plan = plan_coaching(pol, s, MON)
    assert any("missed their one-on-one 2 times in a row" in n.what for n in plan.needs)


def test_a_reps_own_day_time_and_length_are_used_when_free() -> None:
    team = [{**TEAM[0], "one_on_one": {"day": "fri", "time": "14:00", "duration": "45m"}}]
    pol = policy(team, **ONLY_1ON1)
    (b,) = plan_coaching(pol, Snapshot(window=snapshot_window(pol, MON)), MON).actions
    assert isinstance(b, Book) and b.start == at(date(2026, 12, 4), 14)
    assert b.end - b.start == timedelta(minutes=45)
    # busy then: the usual search, still 45 minutes
    busy = event(at(date(2026, 12, 4), 8), at(date(2026, 12, 4), 17), "Own thing")
    s = Snapshot(window=snapshot_window(pol, MON), events=(busy,))
    (b,) = plan_coaching(pol, s, MON).actions
    assert isinstance(b, Book) and b.start.date() != date(2026, 12, 4)
    assert b.end - b.start == timedelta(minutes=45)


def test_no_slot_is_reported_with_options_where_only_unprotected_meetings_are() -> None:
    pol = policy(TEAM, **ONLY_1ON1)
    week = [date(2026, 12, 1) + timedelta(days=i) for i in range(3)]
    fill = [
        event(at(d, 8), at(d, 17), "Vendor expo", organizer="events@vendor.example") for d in week
    ]
    plan = plan_coaching(pol, Snapshot(window=snapshot_window(pol, MON), events=tuple(fill)), MON)
    assert not [a for a in plan.actions if isinstance(a, Book)]
    (need,) = plan.needs
    assert need.rep == ANA and "no free 30m slot" in need.why
    assert "(you are busy throughout)" in need.why
    assert len(need.options) == 3 and all("'Vendor expo'" in o for o in need.options)
    # a protected meeting is never offered
    own = [event(at(d, 8), at(d, 17), "Offsite") for d in week]
    plan = plan_coaching(pol, Snapshot(window=snapshot_window(pol, MON), events=tuple(own)), MON)
    (need,) = plan.needs
    assert need.options == ()


def test_an_older_generation_left_by_a_crash_is_removed() -> None:
    pol = policy(TEAM, **ONLY_1ON1)
    s, book = first(pol)
    s = answer(s, book.event_id, ANA, "declined")
    plan = plan_coaching(pol, s, MON)
    rebook = next(a for a in plan.actions if isinstance(a, Book))
    # the Cancel failed, the Book landed
    s = apply(s, [rebook])
    rec: BookingRecord = s.bookings[book.key]
    assert rec.generation == 1
    plan = plan_coaching(pol, s, MON)
    (cancel,) = plan.actions
    assert isinstance(cancel, Cancel) and cancel.event_id == book.event_id
