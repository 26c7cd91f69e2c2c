"""Helpers shared by the Google backend tests (and reusable by benchmarks).
The manager, zone, window and `book()` come from remote_support (shared with the other
backend); they are re-exported here so a test imports one module.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fake_server import FakeGoogle
from remote_support import CLIENT_TIMEOUT, OWNER, TZ, WINDOW, at, book

from integrations.google.calendar import GoogleCalendar, open_google_calendar
from integrations.google.retry import Backoff
from integrations.store.kv import KeyValue
from planner.actions import Book
from planner.policy import GoogleSettings

__all__ = [
    "CLIENT_TIMEOUT",
    "OWNER",
    "TZ",
    "WINDOW",
    "at",
    "book",
    "demo_week",
    "make_calendar",
    "timed",
]


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
