"""Helpers shared by the Microsoft backend tests (and reusable by benchmarks)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fake_graph import FakeGraph

from integrations.google.retry import Backoff
from integrations.microsoft.calendar import MicrosoftCalendar, open_microsoft_calendar
from integrations.store.kv import KeyValue
from planner.actions import Book
from planner.ids import booking_key, event_id
from planner.policy import MicrosoftSettings
from planner.timeutil import Interval

TZ = ZoneInfo("America/Chicago")
OWNER = "manager@example.com"
WINDOW = Interval(datetime(2027, 3, 1, tzinfo=TZ), datetime(2027, 3, 29, tzinfo=TZ))
CLIENT_TIMEOUT = 0.5


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in March 2027, Chicago."""
    return datetime(2027, 3, day, hour, minute, tzinfo=TZ)


def make_calendar(
    fake: FakeGraph, kv: KeyValue, backoff: Backoff, base_dir: Path = Path("/nonexistent")
) -> MicrosoftCalendar:
    """A MicrosoftCalendar on the fake, built by the same factory the daemon uses."""
    settings = MicrosoftSettings(credentials="none", api_endpoint=fake.endpoint)
    return open_microsoft_calendar(
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


def dtz(dt: datetime) -> dict[str, str]:
    """A Graph dateTimeTimeZone in the event's own zone (IANA name)."""
    zone = getattr(dt.tzinfo, "key", "UTC")
    return {"dateTime": dt.replace(tzinfo=None).isoformat(timespec="seconds"), "timeZone": zone}


def timed(start: datetime, end: datetime, **extra: Any) -> dict[str, Any]:
    """A Graph event body from start to end."""
    return {"start": dtz(start), "end": dtz(end), **extra}


def person(address: str, response: str = "none", kind: str = "required") -> dict[str, Any]:
    """A Graph attendee."""
    return {
        "emailAddress": {"address": address, "name": address.split("@")[0]},
        "type": kind,
        "status": {"response": response, "time": "2027-01-01T00:00:00Z"},
    }
