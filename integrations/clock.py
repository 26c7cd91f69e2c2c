"""The one clock seam: everything in the shell that needs 'now' asks here.

`coachd plan|once|preview|audit|status|init --at ISO-TIME` moves this clock to another instant
for the whole process (`travel_to`); it keeps ticking from there, so durations stay real.
Nothing else in coachd reads the system clock for dates (the planner takes `now` as an
argument), which is what lets tests pin the instant of a subprocess.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

_offset = timedelta(0)


def now() -> datetime:
    """The current time, timezone-aware (UTC), moved by `travel_to` if it was called."""
    return datetime.now(UTC) + _offset


def travel_to(at: datetime) -> None:
    """Make `now()` read `at` from this moment on (ticking). `at` must be timezone-aware."""
    global _offset
    if at.tzinfo is None:
        raise ValueError("travel_to needs a timezone-aware instant")
    _offset = at - datetime.now(UTC)


def reset() -> None:
    """Back to the system clock."""
    global _offset
    _offset = timedelta(0)


def parse_at(text: str, tz: tzinfo) -> datetime:
    """An ISO 8601 date-time from the command line, as an aware instant.

    Without an offset it is wall-clock time in `tz` (the manager's zone). A wall-clock time
    that falls in a DST gap (02:30 on the spring-forward night) is read with the offset in
    force before the change, as clocks do, so it lands just after the gap (03:30).
    A bare date means its midnight. Raises ValueError with a readable message.
    """
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--at {text!r} is not an ISO 8601 date-time (e.g. 2027-01-11T07:00 or "
            "2027-01-11T07:00-06:00)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    # A round trip through UTC normalises a non-existent wall time to a real instant.
    return parsed.astimezone(UTC)
