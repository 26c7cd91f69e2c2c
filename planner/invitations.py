"""Invitations to the people in coachd's events, on calendars that cannot send their own.

Google tells attendees itself. A local calendar folder cannot, so on `calendar.backend:
local` every coachd write that involves other people becomes an iMIP email (RFC 6047):
- a Book with guests → `invitation` (METHOD:REQUEST, SEQUENCE of the new event, 0);
- a Move → `invitation` again with SEQUENCE one higher than the event's (the local backend
  bumps it by one when it moves the file), which clients read as "this meeting changed";
- a Cancel → `cancellation` (METHOD:CANCEL, SEQUENCE one higher).

The email's `context["imip"]` holds the calendar data as plain values; the shell turns it
into the `text/calendar` part. Keys end with the booking key, so an email whose calendar
write failed this tick is held back (see integrations.tick.executor) and planned again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from planner.actions import Action, AfterBooking, Book, Cancel, Move, SendEmail
from planner.contexts import fmt_datetime, fmt_time
from planner.model import Event, Snapshot
from planner.policy import Policy

KIND_LABELS = {
    "one_on_one": "one-on-one",
    "ride_along": "ride-along",
    "huddle": "team huddle",
    "sales_meeting": "sales meeting",
    "call_review": "call review",
}


def sends_invitations(policy: Policy) -> bool:
    """Only the local backend needs coachd to invite people (Google does it itself)."""
    return policy.calendar.backend == "local"


def plan_invitations(
    policy: Policy, snapshot: Snapshot, actions: Sequence[Action]
) -> list[SendEmail]:
    """One iMIP email per Book/Move/Cancel that has guests besides the manager."""
    if not sends_invitations(policy):
        return []
    events = {e.id: e for e in snapshot.events if e.tag is not None}
    out: list[SendEmail] = []
    for a in actions:
        if isinstance(a, Book):
            guests = _guests(policy, a.attendees)
            if guests:
                out.append(_request(policy, a.key, a.event_id, 0, a, guests, a.kind, a.reason))
        elif isinstance(a, Move | Cancel):
            ev = events.get(a.event_id)
            if ev is None or ev.tag is None:
                continue  # nothing known to tell anyone about
            guests = _guests(policy, [p.email for p in ev.attendees])
            if not guests:
                continue
            if isinstance(a, Move):
                moved = _Times(a.start, a.end, ev.title, ev.description, ev.location)
                out.append(
                    _request(
                        policy, a.key, ev.uid, ev.sequence + 1, moved, guests, ev.tag.kind, a.reason
                    )
                )
            else:
                out.append(_cancel(policy, a, ev, guests))
    return out


class _Times:
    """The fields of an invitation that a Move changes (the rest come from the event)."""

    def __init__(
        self, start: datetime, end: datetime, title: str, description: str, location: str
    ) -> None:
        self.start, self.end = start, end
        self.title, self.description, self.location = title, description, location


def _guests(policy: Policy, emails: Sequence[str]) -> tuple[str, ...]:
    manager = policy.manager.email.lower()
    seen: dict[str, None] = {}
    for e in emails:
        e = e.strip().lower()
        if e and e != manager:
            seen[e] = None
    return tuple(seen)


def _names(policy: Policy, emails: Sequence[str]) -> dict[str, str]:
    return {e: r.name for e in emails if (r := policy.rep(e)) is not None}


def imip_fields(
    policy: Policy,
    *,
    method: str,
    uid: str,
    sequence: int,
    start: datetime,
    end: datetime,
    title: str,
    guests: Sequence[str],
    description: str = "",
    location: str = "",
) -> dict[str, Any]:
    """The calendar data of one iMIP message, as plain values (times as ISO strings)."""
    names = _names(policy, guests)
    return {
        "method": method,
        "uid": uid,
        "sequence": sequence,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "timezone": policy.manager.timezone,
        "summary": title,
        "description": description,
        "location": location,
        "organizer": {"email": policy.manager.email.lower(), "name": policy.manager.name},
        "attendees": [{"email": g, "name": names.get(g, "")} for g in guests],
    }


def _display(policy: Policy, start: datetime, end: datetime) -> dict[str, str]:
    tz = policy.manager.tz
    s, e = start.astimezone(tz), end.astimezone(tz)
    return {
        "start": fmt_datetime(s),
        "end": fmt_time(e) if s.date() == e.date() else fmt_datetime(e),
        "timezone": policy.manager.timezone,
    }


def _request(
    policy: Policy,
    key: str,
    uid: str,
    sequence: int,
    what: Book | _Times,
    guests: tuple[str, ...],
    kind: str,
    reason: str,
) -> SendEmail:
    update = sequence > 0
    context = {
        "manager": {"name": policy.manager.name, "email": policy.manager.email},
        "title": what.title,
        "kind_label": KIND_LABELS.get(kind, kind.replace("_", " ")),
        "location": what.location,
        "update": update,
        **_display(policy, what.start, what.end),
        "imip": imip_fields(
            policy,
            method="REQUEST",
            uid=uid,
            sequence=sequence,
            start=what.start,
            end=what.end,
            title=what.title,
            guests=guests,
            description=what.description,
            location=what.location,
        ),
    }
    verb = "new time for" if update else "invitation to"
    return SendEmail(
        key=f"invitation:{uid}:{sequence}:{key}",
        kind="invitation",
        to=guests,
        context=context,
        reason=f"{verb} {what.title!r} ({reason})" if reason else f"{verb} {what.title!r}",
        waits_on=AfterBooking(key),
    )


def _cancel(policy: Policy, a: Cancel, ev: Event, guests: tuple[str, ...]) -> SendEmail:
    sequence = ev.sequence + 1
    kind = ev.tag.kind if ev.tag else ""
    context = {
        "manager": {"name": policy.manager.name, "email": policy.manager.email},
        "title": ev.title,
        "kind_label": KIND_LABELS.get(kind, kind.replace("_", " ")),
        "location": ev.location,
        "update": True,
        **_display(policy, ev.start, ev.end),
        "imip": imip_fields(
            policy,
            method="CANCEL",
            uid=ev.uid,
            sequence=sequence,
            start=ev.start,
            end=ev.end,
            title=ev.title,
            guests=guests,
            location=ev.location,
        ),
    }
    return SendEmail(
        key=f"cancellation:{ev.uid}:{sequence}:{a.key}",
        kind="cancellation",
        to=guests,
        context=context,
        reason=f"cancel {ev.title!r} ({a.reason})",
        waits_on=AfterBooking(a.key),
    )
