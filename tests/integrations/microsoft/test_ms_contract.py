"""The shared Calendar contract, run against MicrosoftCalendar on the loopback fake Graph."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

import pytest
from calendar_contract import ORGANIZER, WINDOW, CalendarContract, at
from fake_graph import FakeGraph
from ms_support import OWNER, make_calendar, person, timed

from integrations.calendar.base import Calendar
from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV
from planner.actions import Decline, Move
from planner.model import Attendee

RESPONSE = {
    "accepted": "accepted",
    "tentative": "tentativelyAccepted",
    "declined": "declined",
    "needsAction": "notResponded",
}


class TestMicrosoftCalendarContract(CalendarContract):
    @pytest.fixture(autouse=True)
    def _fake(self) -> Iterator[None]:
        with FakeGraph(owner=OWNER) as fake:
            self.fake = fake
            yield
            assert not fake.violations, fake.violations

    def make_calendar(self) -> tuple[Calendar, str]:
        backoff = Backoff(max_attempts=3, sleep=lambda s: None)
        return make_calendar(self.fake, MemoryKV(), backoff), OWNER

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
        me = next((a for a in attendees if a.email == owner), None)
        body = timed(
            start,
            end,
            subject=title,
            organizer={"emailAddress": {"address": organizer, "name": ""}},
            attendees=[
                person(a.email, RESPONSE[a.status] if a.email != organizer else "organizer")
                for a in attendees
            ],
            responseStatus={"response": RESPONSE[me.status] if me else "none"},
        )
        return str(self.fake.add_event(owner, body)["id"])

    def seed_busy(
        self, person: str, start: datetime, end: datetime, *, transparent: bool = False
    ) -> None:
        self.fake.add_event(person, timed(start, end, showAs="free" if transparent else "busy"))

    def test_move(self, subject: tuple[Calendar, str]) -> None:
        """Graph has no sequence number: a move shows as a new lastModifiedDateTime."""
        cal, owner = subject
        b = self.book(owner, at(9, 10))
        cal.apply(owner, [b])
        before = self.only(cal.read(owner, WINDOW).events, b.event_id)
        m = Move(b.key, b.event_id, at(11, 15), at(11, 16), reason="rep is out on Tuesday")
        [outcome] = cal.apply(owner, [m])
        assert outcome.error is None
        after = self.only(cal.read(owner, WINDOW).events, b.event_id)
        assert (after.start, after.end) == (at(11, 15), at(11, 16))
        assert after.updated > before.updated
        assert after.tag == before.tag

    def test_delegate_hands_the_meeting_on(self, subject: tuple[Calendar, str]) -> None:
        """As on Google: the manager does not own the invitation, so coachd declines with a
        comment naming the delegate (the executor emails the delegate) instead of editing
        someone else's attendee list."""
        cal, owner = subject
        eid, guests = self.seed_standard_invitation(owner)
        ev = self.only(cal.read(owner, WINDOW).events, eid)
        d = Decline(
            eid,
            ev.fingerprint(),
            ev.title,
            ORGANIZER,
            ev.start,
            "ops",
            "My deputy will attend.",
            "rule 'ops' delegates",
            delegate_to="deputy@example.com",
        )
        assert [o.error for o in cal.apply(owner, [d])] == [None]
        after = self.only(cal.read(owner, WINDOW).events, eid)
        assert not after.blocks_time()
        assert {a.email for a in after.attendees} == {g.email for g in guests}
        [(declined_id, body)] = self.fake.declines
        assert declined_id == eid and "deputy@example.com" in body["comment"]
