"""Reconciliation: what exists in the calendar versus what coachd remembers and wants."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from strategies import MANAGER, apply, event, policy

from planner.actions import Book, Cancel, Move, Remember
from planner.coaching import plan_coaching
from planner.ids import event_id
from planner.model import BookingRecord, CoachdTag, Snapshot
from planner.periods import snapshot_window
from planner.policy import Policy

CHI = ZoneInfo("America/Chicago")
MON = datetime(2026, 11, 30, 6, 0, tzinfo=CHI)
ONLY_1ON1 = {
    "horizon": "1 week",
    "ride_along": {"enabled": False},
    "huddle": {"enabled": False},
    "sales_meeting": {"enabled": False},
    "call_review": {"enabled": False},
}
ANA = [{"name": "Ana", "email": "ana@acme.example"}]


def first_tick(pol: Policy) -> tuple[Snapshot, Book]:
    """Plan on an empty calendar and apply: Ana's one-on-one for 2026-W49 exists."""
    s = Snapshot(window=snapshot_window(pol, MON))
    plan = plan_coaching(pol, s, MON)
    (book,) = [a for a in plan.actions if isinstance(a, Book)]
    return apply(s, plan.actions), book


def without_event(s: Snapshot, eid: str) -> Snapshot:
    return replace(s, events=tuple(e for e in s.events if e.id != eid))


def kinds(actions: list) -> list[str]:
    return [type(a).__name__ for a in actions]


def test_moved_event_stays_where_the_person_put_it() -> None:
    pol = policy(ANA, **ONLY_1ON1)
    s, book = first_tick(pol)
    moved_to = book.start + timedelta(days=1, hours=3)
    events = tuple(
        replace(e, start=moved_to, end=moved_to + timedelta(minutes=30))
        if e.id == book.event_id
        else e
        for e in s.events
    )
    s = replace(s, events=events)
    plan = plan_coaching(pol, s, MON)
    assert not any(isinstance(a, Book | Move | Cancel) for a in plan.actions)
    (rem,) = plan.actions
    assert isinstance(rem, Remember) and rem.status == "booked" and rem.start == moved_to
    assert "moved" in rem.reason
    assert [b.start for b in plan.blocks] == [moved_to]
    assert plan_coaching(pol, apply(s, plan.actions), MON).actions == []


def test_moved_into_another_period_satisfies_that_period() -> None:
    pol = policy(ANA, **{**ONLY_1ON1, "horizon": "2 weeks"})
    s = Snapshot(window=snapshot_window(pol, MON))
    plan = plan_coaching(pol, s, MON)
    w49, w50 = sorted((a for a in plan.actions if isinstance(a, Book)), key=lambda b: b.start)
    # book only W49, then the person moves it into W50: W50 needs nothing more, W49 neither
    s = apply(s, [w49])
    target = w50.start + timedelta(hours=2)
    s = replace(
        s,
        events=tuple(
            replace(e, start=target, end=target + timedelta(minutes=30)) for e in s.events
        ),
    )
    again = plan_coaching(pol, s, MON)
    assert [a for a in again.actions if isinstance(a, Book)] == []


def test_deleted_without_rebook_is_remembered_once_and_not_rebooked() -> None:
    pol = policy(ANA, **ONLY_1ON1)
    s, book = first_tick(pol)
    s = without_event(s, book.event_id)
    plan = plan_coaching(pol, s, MON)
    assert kinds(plan.actions) == ["Remember"]
    rem = plan.actions[0]
    assert isinstance(rem, Remember) and rem.status == "deleted" and rem.key == book.key
    assert "rebook_deleted is off" in rem.reason
    s = apply(s, plan.actions)
    assert plan_coaching(pol, s, MON).actions == []


def test_deleted_with_rebook_books_generation_one_once() -> None:
    pol = policy(ANA, **{**ONLY_1ON1, "one_on_one": {"rebook_deleted": True}})
    s, book = first_tick(pol)
    s = without_event(s, book.event_id)
    plan = plan_coaching(pol, s, MON)
    (again,) = plan.actions
    assert isinstance(again, Book) and again.generation == 1 and again.key == book.key
    assert again.event_id == event_id(MANAGER, book.key, 1) != book.event_id
    assert "deleted" in again.reason
    s = apply(s, plan.actions)
    assert plan_coaching(pol, s, MON).actions == []
    # deleted a second time: remembered, never rebooked again
    s = without_event(s, again.event_id)
    plan = plan_coaching(pol, s, MON)
    assert kinds(plan.actions) == ["Remember"]
    assert "already rebooked once" in plan.actions[0].reason  # type: ignore[union-attr]
    assert plan_coaching(pol, apply(s, plan.actions), MON).actions == []


def test_pending_booking_whose_write_never_landed_is_booked_again_with_the_same_id() -> None:
    pol = policy(ANA, **ONLY_1ON1)
    s, book = first_tick(pol)
    s = without_event(s, book.event_id)
    rec = s.bookings[book.key]
    s = replace(s, bookings={book.key: replace(rec, status="pending")})
    (again,) = plan_coaching(pol, s, MON).actions
    assert isinstance(again, Book)
    assert (again.event_id, again.generation, again.start) == (book.event_id, 0, book.start)


def test_tagged_event_missing_from_memory_is_adopted() -> None:
    pol = policy(ANA, **ONLY_1ON1)
    s, book = first_tick(pol)
    s = replace(s, bookings={})
    (rem,) = plan_coaching(pol, s, MON).actions
    assert isinstance(rem, Remember) and rem.status == "booked" and rem.event_id == book.event_id
    assert "not in coachd's memory" in rem.reason


def test_pending_that_landed_becomes_booked() -> None:
    pol = policy(ANA, **ONLY_1ON1)
    s, book = first_tick(pol)
    s = replace(s, bookings={book.key: replace(s.bookings[book.key], status="pending")})
    (rem,) = plan_coaching(pol, s, MON).actions
    assert isinstance(rem, Remember) and rem.status == "booked"


def test_rep_removed_from_the_team_gets_future_bookings_cancelled() -> None:
    two = [*ANA, {"name": "Ben", "email": "ben@acme.example"}]
    pol = policy(two, **ONLY_1ON1)
    s = Snapshot(window=snapshot_window(pol, MON))
    s = apply(s, plan_coaching(pol, s, MON).actions)
    ben = next(e for e in s.events if e.tag and e.tag.rep == "ben@acme.example")
    pol_without_ben = policy(ANA, **ONLY_1ON1)
    plan = plan_coaching(pol_without_ben, s, MON)
    (cancel,) = plan.actions
    assert isinstance(cancel, Cancel) and cancel.event_id == ben.id
    assert "no longer on the team" in cancel.reason
    assert all(b.rep != "ben@acme.example" for b in plan.blocks)
    assert plan_coaching(pol_without_ben, apply(s, plan.actions), MON).actions == []


def test_past_bookings_of_a_removed_rep_are_left_alone() -> None:
    pol = policy(ANA, **ONLY_1ON1)
    start = MON - timedelta(days=3)
    tag = CoachdTag(
        key="one_on_one:old@acme.example:2026-W48",
        kind="one_on_one",
        rep="old@acme.example",
        period="2026-W48",
    )
    s = Snapshot(
        window=snapshot_window(pol, MON),
        events=(event(start, start + timedelta(minutes=30), "1:1", tag=tag),),
    )
    assert not any(isinstance(a, Cancel) for a in plan_coaching(pol, s, MON).actions)


def test_conflict_with_an_unprotected_meeting_is_reported_not_moved() -> None:
    pol = policy(ANA, **ONLY_1ON1)
    s, book = first_tick(pol)
    walk = event(book.start, book.end, "Facilities walkthrough", organizer="ops@acme.example")
    s = replace(s, events=(*s.events, walk))
    plan = plan_coaching(pol, s, MON)
    assert plan.actions == []
    assert len(plan.conflicts) == 1 and "Facilities walkthrough" in plan.conflicts[0]


def test_clash_with_the_managers_own_meeting_moves_the_block_keeping_its_identity() -> None:
    pol = policy(ANA, **ONLY_1ON1)
    s, book = first_tick(pol)
    own = event(book.start, book.end, "Dentist")  # no organizer: the manager's own
    s = replace(s, events=(*s.events, own))
    plan = plan_coaching(pol, s, MON)
    (move,) = plan.actions
    assert isinstance(move, Move) and move.event_id == book.event_id and move.key == book.key
    assert move.start >= book.end and "'Dentist' now overlaps it" in move.reason
    s = apply(s, plan.actions)
    assert plan_coaching(pol, s, MON).actions == []


def test_old_booked_record_outside_the_window_is_not_judged_deleted() -> None:
    pol = policy(ANA, **ONLY_1ON1)
    old = MON - timedelta(weeks=10)
    rec = BookingRecord(
        key="one_on_one:ana@acme.example:2026-W38",
        event_id="x",
        generation=0,
        status="booked",
        kind="one_on_one",
        rep="ana@acme.example",
        start=old,
        end=old + timedelta(minutes=30),
    )
    s = Snapshot(window=snapshot_window(pol, MON), bookings={rec.key: rec})
    assert not any(isinstance(a, Remember) for a in plan_coaching(pol, s, MON).actions)


def test_switching_a_kind_off_cancels_its_future_blocks() -> None:
    pol = policy(ANA, horizon="1 week", ride_along={"enabled": False})
    s = Snapshot(window=snapshot_window(pol, MON))
    s = apply(s, plan_coaching(pol, s, MON).actions)
    off = policy(ANA, horizon="1 week", ride_along={"enabled": False}, huddle={"enabled": False})
    plan = plan_coaching(off, s, MON)
    cancels = [a for a in plan.actions if isinstance(a, Cancel)]
    assert cancels and all(a.key.startswith("huddle:") for a in cancels)
    assert all("coaching.huddle.enabled is off" in a.reason for a in cancels)
    assert not [a for a in plan.actions if isinstance(a, Book)]
