"""The shared Calendar contract, run against MicrosoftCalendar on the loopback fake Graph."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

import pytest
from calendar_contract import CalendarContract
from fake_graph import FakeGraph
from ms_support import OWNER, make_calendar, person, timed

from integrations.calendar.base import Calendar
from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV
from planner.model import Attendee, Event

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

    def assert_new_version(self, before: Event, after: Event) -> None:
        """Graph has no sequence number: a move shows as a new lastModifiedDateTime."""
        assert after.updated > before.updated

    def assert_handed_on(self, after: Event, guests: tuple[Attendee, ...]) -> None:
        """As on Google: the manager does not own the invitation, so coachd declines with a
        comment naming the delegate (the executor emails the delegate) instead of editing
        someone else's attendee list."""
        assert {a.email for a in after.attendees} == {g.email for g in guests}
        eid = after.id
        [(declined_id, body)] = self.fake.declines
        assert declined_id == eid and "deputy@example.com" in body["comment"]
