"""Helpers shared by the Google backend tests (and reusable by benchmarks)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fake_server import FakeGoogle

from integrations.google.calendar import GoogleCalendar, open_google_calendar
from integrations.google.retry import Backoff
from integrations.store.kv import KeyValue
from planner.actions import Book
from planner.ids import booking_key, event_id
from planner.policy import GoogleSettings
from planner.timeutil import Interval

TZ = ZoneInfo("America/Chicago")
OWNER = "manager@example.com"
WINDOW = Interval(datetime(2027, 3, 1, tzinfo=TZ), datetime(2027, 3, 29, tzinfo=TZ))
# Short enough that a timeout test takes a fraction of a second, long enough for loopback.
CLIENT_TIMEOUT = 0.5


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in March 2027, Chicago."""
    return datetime(2027, 3, day, hour, minute, tzinfo=TZ)


def make_calendar(
    fake: FakeGoogle, kv: KeyValue, backoff: Backoff, base_dir: Path = Path("/nonexistent")
) -> GoogleCalendar:
    """A GoogleCalendar on the fake, built by the same factory the daemon uses."""
    settings = GoogleSettings(credentials="none", api_endpoint=fake.endpoint)
    return open_google_calendar(
        settings,
        manager=OWNER,
        tz=TZ,
        base_dir=base_dir,
        kv=kv,
        timeout=CLIENT_TIMEOUT,
        backoff=backoff,
    )


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


def demo_week(reps: int) -> list[Book]:
    """A team's week: a one-on-one per rep, a huddle, a sales meeting, two call reviews."""
    out = [book(f"rep{i}@example.com", at(2 + i % 3, 9 + (i // 3) % 7)) for i in range(reps)]
    out.append(book(None, at(1, 8, 30), kind="huddle", minutes=15))
    out.append(book(None, at(2, 10), kind="sales_meeting", minutes=60))
    out.append(book(None, at(3, 13), kind="call_review", minutes=45, period="2027-W10-1"))
    out.append(book(None, at(4, 13), kind="call_review", minutes=45, period="2027-W10-2"))
    return out


def timed(start: datetime, end: datetime, **extra: Any) -> dict[str, Any]:
    """An event body with dateTime start and end."""
    return {
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": end.isoformat()},
        **extra,
    }
