"""Reconciliation: what coachd's events look like in the calendar versus what it remembers.

The calendar is the truth. For each booking key the planner asks `Existing.state(key)`:

- `present`: a tagged event with that key is in the calendar (wherever a person put it);
- `deleted`: coachd recorded it `booked`, it is gone from the calendar and its time is still
  ahead, so a person deleted it (coachd records that once and, by default, leaves it be);
- `known_deleted`: already recorded as deleted by a person;
- `pending`: coachd meant to write it, but the write never landed (book it again, same id);
- `cancelled`: coachd removed it itself earlier (booking it again needs a new generation);
- `absent`: coachd never booked it;
- `unseen`: recorded `booked` but outside what this snapshot shows (over, or beyond the
  window): nothing can be judged, so nothing is done.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from planner.actions import Cancel, Remember
from planner.model import BookingRecord, Event, Snapshot
from planner.timeutil import Interval

KeyState = Literal[
    "present", "deleted", "known_deleted", "pending", "cancelled", "absent", "unseen"
]


@dataclass
class Existing:
    """coachd's tagged events in the snapshot, indexed, plus its booking records."""

    window: Interval
    now: datetime
    records: Mapping[str, BookingRecord]
    by_key: dict[str, Event] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    by_kind: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))
    event_ids: set[str] = field(default_factory=set)

    def event(self, key: str) -> Event | None:
        return self.by_key.get(key)

    def record(self, key: str) -> BookingRecord | None:
        return self.records.get(key)

    def state(self, key: str) -> KeyState:
        if key in self.by_key:
            return "present"
        rec = self.records.get(key)
        if rec is None:
            return "absent"
        if rec.event_id in self.event_ids:
            return "present"  # the tag was lost but the event is there: leave it alone
        if rec.status == "deleted":
            return "known_deleted"
        if rec.status == "cancelled":
            return "cancelled"
        if rec.status == "pending":
            return "pending"
        return "deleted" if self._visible(rec) else "unseen"

    def _visible(self, rec: BookingRecord) -> bool:
        """Whether the snapshot would show this booking if it were still in the calendar.

        Only a booking that is not over yet and that lies inside the window that was read can
        be judged deleted; older ones simply scrolled out of the window.
        """
        return rec.end > self.now and self.window.start <= rec.start < self.window.end

    def next_generation(self, key: str) -> int | None:
        """The generation to book a key with, or None when it must not be booked now."""
        state = self.state(key)
        rec = self.records.get(key)
        if state == "absent":
            return 0
        if state == "pending" and rec is not None:
            return rec.generation
        if state == "cancelled" and rec is not None:
            return rec.generation + 1
        return None


def index(snapshot: Snapshot, now: datetime) -> Existing:
    """Index the tagged events of a snapshot; per key, the highest generation wins."""
    ex = Existing(window=snapshot.window, now=now, records=snapshot.bookings)
    for ev in snapshot.events:
        if ev.tag is None or ev.cancelled:
            continue
        ex.events.append(ev)
        ex.event_ids.add(ev.id)
        ex.by_kind[ev.tag.kind].append(ev)
        old = ex.by_key.get(ev.tag.key)
        if old is None or (old.tag is not None and ev.tag.generation > old.tag.generation):
            ex.by_key[ev.tag.key] = ev
    for evs in ex.by_kind.values():
        evs.sort(key=lambda e: (e.start, e.id))
    return ex


def adopt(ex: Existing, tz: ZoneInfo) -> list[Remember]:
    """Bring coachd's memory in line with its events in the calendar that are not over yet.

    An event missing from memory (a crash after writing) is adopted; a pending one that
    landed becomes booked; one a person moved is remembered at its new time, and stays there.
    """
    out: list[Remember] = []
    for key in sorted(ex.by_key):
        ev = ex.by_key[key]
        tag = ev.tag
        if tag is None or ev.end <= ex.now:
            continue
        rec = ex.records.get(key)
        moved = rec.person_moved if rec is not None else False
        if rec is None:
            why = (
                "found in the calendar but not in coachd's memory (a write whose outcome was lost)"
            )
        elif rec.status == "pending":
            why = "the earlier write landed; recording it as booked"
        elif rec.status in ("deleted", "cancelled"):
            why = f"it is back in the calendar (was recorded {rec.status}); recording it as booked"
        elif rec.event_id != ev.id:
            why = "found in the calendar under another id; recording that one"
        elif rec.start != ev.start or rec.end != ev.end:
            loc = ev.start.astimezone(tz)
            when = f"{loc:%a} {loc.day} {loc:%b %H:%M}"
            why = f"someone moved it to {when}; coachd leaves it where they put it"
            moved = True
        else:
            continue
        out.append(
            Remember(
                key=key,
                event_id=ev.id,
                status="booked",
                kind=tag.kind,
                rep=tag.rep,
                generation=tag.generation,
                start=ev.start,
                end=ev.end,
                reason=why,
                person_moved=moved,
            )
        )
    return out


def deleted_by_someone(ex: Existing) -> list[BookingRecord]:
    """Bookings recorded `booked` whose event a person deleted (their time not over yet)."""
    return [rec for key, rec in sorted(ex.records.items()) if ex.state(key) == "deleted"]


def remember_deleted(rec: BookingRecord, reason: str) -> Remember:
    """Record that a person deleted a booking, so coachd does not book it again and again."""
    return Remember(
        key=rec.key,
        event_id=rec.event_id,
        status="deleted",
        kind=rec.kind,
        rep=rec.rep,
        generation=rec.generation,
        start=rec.start,
        end=rec.end,
        reason=reason,
        person_moved=rec.person_moved,
    )


def unwanted(
    ex: Existing, team: set[str], disabled_kinds: set[str]
) -> tuple[list[Cancel | Remember], set[str]]:
    """Cancel future coachd bookings for reps no longer on the team or kinds switched off.

    Returns the actions and the keys they concern (those blocks no longer occupy time). A
    pending booking whose write never landed is simply forgotten (recorded cancelled).
    """
    out: list[Cancel | Remember] = []
    keys: set[str] = set()

    def why(kind: str, rep: str | None) -> str | None:
        if rep is not None and rep not in team:
            return f"{rep} is no longer on the team"
        if kind in disabled_kinds:
            return f"coaching.{kind}.enabled is off"
        return None

    for key in sorted(ex.by_key):
        ev = ex.by_key[key]
        tag = ev.tag
        if tag is None or ev.start <= ex.now:
            continue
        reason = why(tag.kind, tag.rep)
        if reason:
            out.append(Cancel(key=key, event_id=ev.id, reason=f"{reason}: removing this booking"))
            keys.add(key)
    for key, rec in sorted(ex.records.items()):
        if rec.status != "pending" or key in ex.by_key or rec.start <= ex.now:
            continue
        reason = why(rec.kind, rec.rep)
        if reason:
            out.append(
                Remember(
                    key=key,
                    event_id=rec.event_id,
                    status="cancelled",
                    kind=rec.kind,
                    rep=rec.rep,
                    generation=rec.generation,
                    start=rec.start,
                    end=rec.end,
                    reason=f"{reason}: dropping a booking that was never written",
                )
            )
            keys.add(key)
    return out, keys
