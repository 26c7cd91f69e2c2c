"""Helpers shared by the Microsoft backend tests (and reusable by benchmarks).
The manager, zone, window and `book()` come from remote_support (shared with the other
backend); they are re-exported here so a test imports one module.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fake_graph import FakeGraph
from remote_support import CLIENT_TIMEOUT, OWNER, TZ, WINDOW, at, book

from integrations.google.retry import Backoff
from integrations.microsoft.calendar import MicrosoftCalendar, open_microsoft_calendar
from integrations.store.kv import KeyValue
from planner.policy import MicrosoftSettings

__all__ = [
    "CLIENT_TIMEOUT",
    "OWNER",
    "TZ",
    "WINDOW",
    "at",
    "book",
    "dtz",
    "make_calendar",
    "person",
    "timed",
]


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
