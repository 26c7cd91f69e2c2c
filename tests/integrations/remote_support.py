"""What the remote-calendar tests (Google, Microsoft) share: the manager, the zone, the
window they read, a short client timeout and a booking built as the planner builds one."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from planner.actions import Book
from planner.ids import booking_key, event_id
from planner.timeutil import Interval

TZ = ZoneInfo("America/Chicago")
OWNER = "manager@example.com"
WINDOW = Interval(datetime(2027, 3, 1, tzinfo=TZ), datetime(2027, 3, 29, tzinfo=TZ))
# Short enough that a timeout test takes a fraction of a second, long enough for loopback.
CLIENT_TIMEOUT = 0.5


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in March 2027, Chicago."""
    return datetime(2027, 3, day, hour, minute, tzinfo=TZ)


def book(
    rep: str | None,
    start: datetime,
    *,
    kind: str = "one_on_one",
    minutes: int = 30,
    period: str = "2027-W10",
    generation: int = 0,
) -> Book:
    """A booking as the planner would make it (deterministic id from ids.py)."""
    key = booking_key(kind, rep, period)
    return Book(
        key=key,
        event_id=event_id(OWNER, key, generation),
        kind=kind,
        rep=rep,
        period=period,
        generation=generation,
        start=start,
        end=start + timedelta(minutes=minutes),
        title=f"{kind} {rep or 'team'}",
        description="Agenda",
        attendees=(rep,) if rep else (),
        reason="test",
    )
