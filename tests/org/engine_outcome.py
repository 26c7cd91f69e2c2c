"""What an org run leaves behind, to compare two ways of running the same org: each
manager's bookings, outbox and calendar events (parsed with icalendar)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from icalendar import Calendar
from test_org_runner import DANA, INES, OMAR, bookings, mails

MANAGERS = (DANA, INES, OMAR)


def events(org: Path, manager: str) -> list[tuple[str, str, str, str]]:
    """(calendar, summary, start, end) of every event in the manager's calendar folders."""
    found = []
    for ics in sorted((org / "calendars" / manager).rglob("*.ics")):
        cal = Calendar.from_ical(ics.read_bytes())
        for ev in cal.walk("VEVENT"):
            found.append(
                (
                    ics.parent.name,
                    str(ev.get("SUMMARY", "")),
                    ev.decoded("DTSTART").isoformat(),
                    ev.decoded("DTEND").isoformat() if ev.get("DTEND") else "",
                )
            )
    return sorted(found)


def outcome(org: Path) -> dict[str, Any]:
    """Per manager: bookings, (To, Subject) of each email, calendar events."""
    return {m: (bookings(org, m), mails(org, m), events(org, m)) for m in MANAGERS}
