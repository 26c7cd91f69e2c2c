"""The emails a decline sends: the reply to the organizer (local calendar only: Google and
Microsoft tell the organizer themselves) and the meeting's details to a delegate."""

from __future__ import annotations

from typing import Any

from planner.actions import AfterDecline, Decline, SendEmail
from planner.contexts import fmt_datetime, fmt_time
from planner.model import Event
from planner.policy import Policy
from planner.triage_inputs import Invitation, email_key


def emails_for_decline(policy: Policy, inv: Invitation, d: Decline) -> list[SendEmail]:
    """The reply to the organizer (local backend only: Google tells the organizer itself) and,
    for a delegation, the meeting's details to the delegate (every backend)."""
    e = inv.event
    out: list[SendEmail] = []
    if d.delegate_to:
        out.append(
            SendEmail(
                key=email_key("delegate", e.id, inv.fingerprint),
                kind="delegate",
                to=(d.delegate_to,),
                context=delegate_context(policy, e, d),
                reason=f"{e.title!r} delegated to {d.delegate_to} by rule {d.rule!r}",
                waits_on=AfterDecline(e.id),
            )
        )
    if _replies_itself(policy) and e.organizer:
        out.append(
            SendEmail(
                key=email_key("decline_reply", e.id, inv.fingerprint),
                kind="decline_reply",
                to=(e.organizer,),
                context={**reply_context(policy, e, d), "imip": reply_imip(policy, e, d)},
                reason=f"reply to the organizer of {e.title!r}, declined by rule {d.rule!r}",
                waits_on=AfterDecline(e.id),
            )
        )
    return out


def _replies_itself(policy: Policy) -> bool:
    # Google's API notifies the organizer of a decline; a local calendar cannot, so coachd does.
    return policy.calendar.backend == "local"


def reply_context(policy: Policy, event: Event, d: Decline) -> dict[str, Any]:
    """Context of `decline_reply` (to the organizer): who declined what, when, and the message."""
    tz = policy.manager.tz
    start, end = event.start.astimezone(tz), event.end.astimezone(tz)
    return {
        "manager": {"name": policy.manager.name, "email": policy.manager.email},
        "manager_name": policy.manager.name,
        "title": event.title,
        "organizer": event.organizer or "",
        "start": fmt_datetime(start),
        "end": fmt_time(end) if start.date() == end.date() else fmt_datetime(end),
        "start_iso": start.isoformat(),
        "end_iso": end.isoformat(),
        "timezone": policy.manager.timezone,
        "recurring": event.recurring,
        "message": d.message,
        "rule": d.rule,
        "delegate": d.delegate_to,
    }


def reply_imip(policy: Policy, event: Event, d: Decline) -> dict[str, Any]:
    """The iMIP REPLY (RFC 5546 3.2.3) that carries the decline to the organizer's calendar:
    the manager's PARTSTAT (DECLINED, or DELEGATED with DELEGATED-TO) and the message as a
    COMMENT. Without a RECURRENCE-ID it answers the whole series, as the decline does."""
    return {
        "method": "REPLY",
        "uid": event.uid,
        "sequence": event.sequence,
        "start": event.start.isoformat(),
        "end": event.end.isoformat(),
        "timezone": policy.manager.timezone,
        "summary": event.title,
        "organizer": {"email": event.organizer or "", "name": ""},
        "attendee": {"email": policy.manager.email.lower(), "name": policy.manager.name},
        "partstat": "DELEGATED" if d.delegate_to else "DECLINED",
        "delegated_to": d.delegate_to or "",
        "comment": d.message,
    }


def delegate_context(policy: Policy, event: Event, d: Decline) -> dict[str, Any]:
    """Context of `delegate` (to the delegate): the reply's fields plus the meeting's details."""
    return {
        **reply_context(policy, event, d),
        "description": event.description,
        "location": event.location,
        "attendees": [
            {"email": a.email, "name": a.name, "status": a.status} for a in event.attendees
        ],
        "organizer_told": _replies_itself(policy),
    }
