"""The shared Calendar contract, run against GoogleCalendar on the loopback fake."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

import pytest
from calendar_contract import CalendarContract
from fake_server import FakeGoogle
from google_support import OWNER, make_calendar

from integrations.calendar.base import Calendar
from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV
from planner.model import Attendee, Event


class TestGoogleCalendarContract(CalendarContract):
    @pytest.fixture(autouse=True)
    def _fake(self) -> Iterator[None]:
        with FakeGoogle(owner=OWNER) as fake:
            self.fake = fake
            yield
            assert not fake.violations

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
        body = {
            "summary": title,
            "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": end.isoformat()},
            "organizer": {"email": organizer},
            "attendees": [
                {
                    "email": a.email,
                    "displayName": a.name,
                    "responseStatus": a.status,
                    **({"organizer": True} if a.email == organizer else {}),
                }
                for a in attendees
            ],
        }
        return str(self.fake.add_event("primary", body)["id"])

    def seed_busy(
        self, person: str, start: datetime, end: datetime, *, transparent: bool = False
    ) -> None:
        body = {"start": {"dateTime": start.isoformat()}, "end": {"dateTime": end.isoformat()}}
        if transparent:
            body["transparency"] = "transparent"
        self.fake.add_event(person, body)

    def assert_handed_on(self, after: Event, guests: tuple[Attendee, ...]) -> None:
        """Google differs on purpose: the manager does not own the invitation, so coachd
        declines with a comment naming the delegate (and the executor emails the delegate)
        instead of editing someone else's guest list."""
        assert {a.email for a in after.attendees} == {g.email for g in guests}
        eid, owner = after.id, OWNER
        stored = self.fake.event(eid)
        assert stored is not None
        [me] = [a for a in stored["attendees"] if a["email"] == owner]
        assert "deputy@example.com" in me["comment"]
