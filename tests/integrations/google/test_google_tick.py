"""Two planner ticks against the fake: the first books the team, the second changes nothing.

This is the shell's read -> plan -> apply loop in miniature (the daemon's own wiring adds
the state store and email); it checks the request counts the benchmark reports.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fake_server import FakeGoogle
from google_support import make_calendar

from integrations.calendar.base import CalendarWrite
from integrations.google.calendar import GoogleCalendar
from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV
from planner.actions import Book, Cancel, Decline, Flag, Move
from planner.model import BookingRecord, Snapshot
from planner.periods import snapshot_window
from planner.plan import plan
from planner.policy import Policy
from planner.timeutil import Interval

NOW = datetime.fromisoformat("2026-11-30T06:00:00-06:00")
MANAGER = "manager@example.com"


def _policy(reps: int) -> Policy:
    return Policy.model_validate(
        {
            "manager": {"name": "Dana", "email": MANAGER, "timezone": "America/Chicago"},
            "team": [{"name": f"Rep {i}", "email": f"rep{i}@example.com"} for i in range(reps)],
            "calendar": {
                "backend": "google",
                "google": {"credentials": "none", "api_endpoint": "http://127.0.0.1:1/"},
            },
        }
    )


def _tick(
    cal: GoogleCalendar, policy: Policy, bookings: dict[str, BookingRecord]
) -> list[CalendarWrite]:
    window = snapshot_window(policy, NOW)
    read = cal.read(MANAGER, window)
    busy = cal.busy([r.email for r in policy.team], Interval(max(NOW, window.start), window.end))
    snap = Snapshot(
        window=window,
        events=tuple(read.events),
        rep_busy={p: tuple(v) for p, v in busy.busy.items()},
        bookings=dict(bookings),
        read_errors=busy.errors,
    )
    writes: list[CalendarWrite] = [
        a for a in plan(policy, snap, NOW) if isinstance(a, Book | Move | Cancel | Decline | Flag)
    ]
    for o in cal.apply(MANAGER, writes):
        assert o.error is None, o.error
        if isinstance(o.action, Book):
            b = o.action
            bookings[b.key] = BookingRecord(
                b.key, b.event_id, b.generation, "booked", b.kind, b.rep, b.start, b.end
            )
    return writes


def test_first_tick_books_the_team_and_the_second_changes_nothing(
    fake_google: FakeGoogle, kv: MemoryKV, backoff: Backoff
) -> None:
    fake_google.owner = MANAGER
    cal = make_calendar(fake_google, kv, backoff)
    policy = _policy(8)
    bookings: dict[str, BookingRecord] = {}

    first = _tick(cal, policy, bookings)

    assert any(isinstance(w, Book) for w in first)
    stored = {e["id"] for e in fake_google.events(MANAGER)}
    assert {w.event_id for w in first if isinstance(w, Book)} == stored
    first_requests: list[Any] = list(fake_google.requests)
    assert [r.method_name for r in first_requests if not r.in_batch][:2] == [
        "events.list",
        "freebusy.query",
    ]

    fake_google.clear_log()
    second = _tick(cal, policy, bookings)

    assert second == []
    assert [r.method_name for r in fake_google.requests] == ["events.list", "freebusy.query"]
    assert {e["id"] for e in fake_google.events(MANAGER)} == stored
