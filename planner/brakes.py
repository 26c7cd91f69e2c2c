"""Safety brakes: refuse to act on a snapshot that suddenly looks empty or wrong.

A calendar read that silently returns nothing (an expired share, a wrong calendar id, an
empty sync) would otherwise make coachd rebook everything and re-decide every invitation.
"""

from __future__ import annotations

from datetime import datetime

from planner.model import Snapshot

# Below these sizes a vanishing calendar is plausible (a new manager, a quiet week).
MIN_EVENTS_FOR_EMPTY_BRAKE = 10
MIN_BOOKINGS_FOR_VANISH_BRAKE = 4
VANISHED_SHARE = 0.5


def brake_reason(snapshot: Snapshot, manager: str, now: datetime) -> str | None:
    """Why this tick must make no writes, or None when the snapshot looks sane."""
    if manager in snapshot.read_errors:
        return (
            f"the manager's calendar could not be read ({snapshot.read_errors[manager]}); "
            "making no changes until it can"
        )
    prev = snapshot.last_event_count
    if not snapshot.events and prev is not None and prev >= MIN_EVENTS_FOR_EMPTY_BRAKE:
        return (
            f"the manager's calendar returned no events where the last tick saw {prev}; "
            "making no changes (if the calendar really is empty now, run `coachd once --force`)"
        )
    present = {e.id for e in snapshot.events} | {e.tag.key for e in snapshot.events if e.tag}
    future = [
        b
        for b in snapshot.bookings.values()
        if b.status == "booked" and b.start > now and b.start < snapshot.window.end
    ]
    if len(future) >= MIN_BOOKINGS_FOR_VANISH_BRAKE:
        gone = [b for b in future if b.event_id not in present and b.key not in present]
        if len(gone) / len(future) > VANISHED_SHARE:
            return (
                f"{len(gone)} of {len(future)} upcoming coachd events vanished at once; "
                "making no changes (if they were removed on purpose, run `coachd once --force`)"
            )
    return None
