"""The behaviour every Calendar backend owes coachd, as one test class to subclass.

A backend's test module subclasses `CalendarContract` (its name must start with `Test` for
pytest to collect it) and implements the three hooks below. Hooks run inside a test, after
the subclass's autouse fixtures, so a subclass typically keeps its per-test state (tmp_path,
a loopback server) on `self` from an autouse fixture:

    class TestLocalCalendar(CalendarContract):
        @pytest.fixture(autouse=True)
        def _root(self, tmp_path: Path) -> None:
            self.root = tmp_path

        def make_calendar(self) -> tuple[Calendar, str]: ...
        def seed_invitation(self, owner, *, organizer, attendees, start, end, title) -> str: ...
        def seed_busy(self, person, start, end, *, transparent=False) -> None: ...

Times are fixed (March 2027 in America/Chicago); nothing reads the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from integrations.calendar.base import Calendar
from planner.actions import Book, Cancel, Decline, Flag, Move
from planner.ids import booking_key, event_id
from planner.model import Attendee, Event
from planner.timeutil import Interval

TZ = ZoneInfo("America/Chicago")
WINDOW = Interval(datetime(2027, 3, 1, tzinfo=TZ), datetime(2027, 3, 29, tzinfo=TZ))
REP = "rep.one@example.com"
ORGANIZER = "facilities@example.com"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in March 2027, Chicago."""
    return datetime(2027, 3, day, hour, minute, tzinfo=TZ)


class CalendarContract:
    """Tests any `Calendar` must pass. Subclasses implement the three hooks."""

    # ------------------------------------------------------------------ hooks

    def make_calendar(self) -> tuple[Calendar, str]:
        """A fresh, empty calendar backend and the owner's (the manager's) email."""
        raise NotImplementedError

    def seed_invitation(
        self,
        owner: str,
        *,
        organizer: str,
        attendees: Sequence[Attendee],
        start: datetime,
        end: datetime,
        title: str,
    ) -> str:
        """Put an invitation organized by someone else into the owner's calendar (as their
        calendar server would) with exactly these attendees; return its event id."""
        raise NotImplementedError

    def seed_busy(
        self, person: str, start: datetime, end: datetime, *, transparent: bool = False
    ) -> None:
        """Give `person` an event from start to end (free time when `transparent`)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers

    @pytest.fixture
    def subject(self) -> tuple[Calendar, str]:
        return self.make_calendar()

    @staticmethod
    def book(owner: str, start: datetime, *, minutes: int = 30, busy: bool = True) -> Book:
        key = booking_key("one_on_one", REP, "2027-W10")
        return Book(
            key=key,
            event_id=event_id(owner, key),
            kind="one_on_one",
            rep=REP,
            period="2027-W10",
            generation=0,
            start=start,
            end=start + timedelta(minutes=minutes),
            title="1:1 Rep One",
            description="Agenda: pipeline, calls/week",
            attendees=(REP,),
            reason="every rep gets a weekly one-on-one",
            busy=busy,
        )

    @staticmethod
    def only(events: Sequence[Event], event_id: str) -> Event:
        found = [ev for ev in events if ev.id == event_id]
        assert len(found) == 1, f"expected exactly one {event_id}, got {found}"
        return found[0]

    def seed_standard_invitation(self, owner: str) -> tuple[str, tuple[Attendee, ...]]:
        guests = (
            Attendee(ORGANIZER, "Facilities", "accepted"),
            Attendee("a.one@example.com", "A One", "accepted"),
            Attendee("b.two@example.com", "B Two", "tentative"),
            Attendee("c.three@example.com", "C Three", "declined"),
            Attendee(owner, "", "needsAction"),
        )
        eid = self.seed_invitation(
            owner,
            organizer=ORGANIZER,
            attendees=guests,
            start=at(10, 13),
            end=at(10, 14),
            title="Parking garage update",
        )
        return eid, guests

    # ------------------------------------------------------------------ tests

    def test_book_then_read_shows_event_with_tag(self, subject: tuple[Calendar, str]) -> None:
        cal, owner = subject
        b = self.book(owner, at(9, 10))
        [outcome] = cal.apply(owner, [b])
        assert outcome.error is None and outcome.event_id == b.event_id
        ev = self.only(cal.read(owner, WINDOW).events, b.event_id)
        assert (ev.start, ev.end, ev.title) == (b.start, b.end, b.title)
        assert ev.tag is not None
        assert (ev.tag.key, ev.tag.kind, ev.tag.rep, ev.tag.period, ev.tag.generation) == (
            b.key,
            "one_on_one",
            REP,
            "2027-W10",
            0,
        )
        assert ev.organizer == owner.lower() and ev.self_status is None
        assert REP in {a.email for a in ev.attendees}
        assert ev.blocks_time() and not ev.recurring and not ev.flagged

    def test_booking_twice_leaves_one_event(self, subject: tuple[Calendar, str]) -> None:
        cal, owner = subject
        b = self.book(owner, at(9, 10))
        assert [o.error for o in cal.apply(owner, [b, b])] == [None, None]
        assert [o.error for o in cal.apply(owner, [b])] == [None]
        events = [ev for ev in cal.read(owner, WINDOW).events if ev.uid == b.event_id]
        assert len(events) == 1

    def test_non_busy_booking_is_transparent(self, subject: tuple[Calendar, str]) -> None:
        cal, owner = subject
        b = self.book(owner, at(9, 10), busy=False)
        cal.apply(owner, [b])
        ev = self.only(cal.read(owner, WINDOW).events, b.event_id)
        assert ev.transparent and not ev.blocks_time()

    def test_move(self, subject: tuple[Calendar, str]) -> None:
        cal, owner = subject
        b = self.book(owner, at(9, 10))
        cal.apply(owner, [b])
        before = self.only(cal.read(owner, WINDOW).events, b.event_id)
        m = Move(b.key, b.event_id, at(11, 15), at(11, 16), reason="rep is out on Tuesday")
        [outcome] = cal.apply(owner, [m])
        assert outcome.error is None
        after = self.only(cal.read(owner, WINDOW).events, b.event_id)
        assert (after.start, after.end) == (at(11, 15), at(11, 16))
        self.assert_new_version(before, after)
        assert after.tag == before.tag

    def assert_new_version(self, before: Event, after: Event) -> None:
        """How a moved event shows that it changed: a higher SEQUENCE (iCalendar, Google)."""
        assert after.sequence > before.sequence

    def test_move_of_missing_event_is_not_found(self, subject: tuple[Calendar, str]) -> None:
        cal, owner = subject
        m = Move("k", "nosuchevent0000", at(11, 15), at(11, 16), reason="r")
        [outcome] = cal.apply(owner, [m])
        assert outcome.error is not None and "not found" in outcome.error.lower()

    def test_cancel(self, subject: tuple[Calendar, str]) -> None:
        cal, owner = subject
        b = self.book(owner, at(9, 10))
        cal.apply(owner, [b])
        c = Cancel(b.key, b.event_id, reason="rep left the team")
        assert [o.error for o in cal.apply(owner, [c])] == [None]
        assert b.event_id not in {ev.id for ev in cal.read(owner, WINDOW).events}
        # Cancelling what is already gone is success (a retry after a crash).
        assert [o.error for o in cal.apply(owner, [c])] == [None]

    def test_one_failing_write_does_not_stop_the_next(self, subject: tuple[Calendar, str]) -> None:
        cal, owner = subject
        b = self.book(owner, at(9, 10))
        bad = Move("k", "nosuchevent0000", at(11, 15), at(11, 16), reason="r")
        outcomes = cal.apply(owner, [bad, b])
        assert outcomes[0].error is not None and outcomes[1].error is None
        assert [o.action for o in outcomes] == [bad, b]
        self.only(cal.read(owner, WINDOW).events, b.event_id)

    def test_decline_keeps_other_attendees(self, subject: tuple[Calendar, str]) -> None:
        cal, owner = subject
        eid, guests = self.seed_standard_invitation(owner)
        ev = self.only(cal.read(owner, WINDOW).events, eid)
        assert ev.self_status == "needsAction" and ev.blocks_time()
        d = Decline(
            event_id=eid,
            fingerprint=ev.fingerprint(),
            title=ev.title,
            organizer=ORGANIZER,
            start=ev.start,
            rule="facilities",
            message="I keep this time for coaching.",
            reason="rule 'facilities' matched the title",
        )
        assert [o.error for o in cal.apply(owner, [d])] == [None]
        after = self.only(cal.read(owner, WINDOW).events, eid)
        assert after.self_status == "declined" and not after.blocks_time()
        others = {a.email: a.status for a in after.attendees if a.email != owner.lower()}
        assert others == {g.email: g.status for g in guests if g.email != owner}
        assert (after.start, after.end, after.title, after.organizer) == (
            ev.start,
            ev.end,
            ev.title,
            ORGANIZER,
        )
        # Declining again is harmless.
        assert [o.error for o in cal.apply(owner, [d])] == [None]

    def test_delegate_hands_the_meeting_on(self, subject: tuple[Calendar, str]) -> None:
        cal, owner = subject
        eid, guests = self.seed_standard_invitation(owner)
        ev = self.only(cal.read(owner, WINDOW).events, eid)
        d = Decline(
            event_id=eid,
            fingerprint=ev.fingerprint(),
            title=ev.title,
            organizer=ORGANIZER,
            start=ev.start,
            rule="ops",
            message="My deputy will attend.",
            reason="rule 'ops' delegates",
            delegate_to="deputy@example.com",
        )
        assert [o.error for o in cal.apply(owner, [d])] == [None]
        after = self.only(cal.read(owner, WINDOW).events, eid)
        assert not after.blocks_time()
        self.assert_handed_on(after, guests)

    def assert_handed_on(self, after: Event, guests: tuple[Attendee, ...]) -> None:
        """How the backend shows a delegated meeting. Local (the manager's own copy): the
        delegate is added to the guests."""
        emails = {a.email for a in after.attendees}
        assert "deputy@example.com" in emails
        assert {g.email for g in guests} <= emails

    def test_flag_shows_flagged(self, subject: tuple[Calendar, str]) -> None:
        cal, owner = subject
        eid, _guests = self.seed_standard_invitation(owner)
        ev = self.only(cal.read(owner, WINDOW).events, eid)
        assert not ev.flagged
        f = Flag(eid, ev.fingerprint(), ev.title, ORGANIZER, ev.start, "facilities", "r")
        assert [o.error for o in cal.apply(owner, [f, f])] == [None, None]
        after = self.only(cal.read(owner, WINDOW).events, eid)
        assert after.flagged and after.self_status == "needsAction"
        assert {a.email: a.status for a in after.attendees} == {
            a.email: a.status for a in ev.attendees
        }

    def test_busy_reflects_seeded_events(self, subject: tuple[Calendar, str]) -> None:
        cal, _owner = subject
        self.seed_busy(REP, at(9, 9), at(9, 10))
        self.seed_busy(REP, at(9, 9, 30), at(9, 11))  # overlaps: merged with the first
        self.seed_busy(REP, at(12, 14), at(12, 15))
        got = cal.busy([REP], WINDOW)
        assert got.errors == {}
        assert got.busy[REP] == [
            Interval(at(9, 9), at(9, 11)),
            Interval(at(12, 14), at(12, 15)),
        ]

    def test_transparent_events_do_not_block(self, subject: tuple[Calendar, str]) -> None:
        cal, _owner = subject
        self.seed_busy(REP, at(9, 9), at(9, 10), transparent=True)
        self.seed_busy(REP, at(9, 13), at(9, 14))
        got = cal.busy([REP], WINDOW)
        assert got.busy[REP] == [Interval(at(9, 13), at(9, 14))]

    def test_busy_is_clipped_to_the_window(self, subject: tuple[Calendar, str]) -> None:
        cal, _owner = subject
        self.seed_busy(REP, at(9, 9), at(9, 11))
        window = Interval(at(9, 10), at(9, 12))
        assert cal.busy([REP], window).busy[REP] == [Interval(at(9, 10), at(9, 11))]
