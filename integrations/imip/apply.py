"""Apply an incoming iMIP REPLY (RFC 5546 3.2.3) to the manager's copy of a coachd event.

Pure: it edits an icalendar.Calendar in memory and reads nothing else. `imip.inbound` calls
it (through `LocalCalendar.apply_reply`, which finds and saves the file) for each
`METHOD:REPLY` calendar part of a message in the inbox.

Mail in is hostile: a reply is applied only when it answers an event of this calendar (same
UID), names exactly one attendee, that attendee is the sender of the email and already on
the guest list, its SEQUENCE is not older than the event's (a late answer to a superseded
time changes nothing), and its PARTSTAT is one an attendee may send. Only that attendee's
PARTSTAT changes (RSVP is dropped once answered); nothing else in the event is touched.
"""

from __future__ import annotations

import icalendar

from integrations.calendar.ics_decode import as_list, email_of
from integrations.calendar.ics_encode import _with_params, events_of

ANSWERS = ("ACCEPTED", "DECLINED", "TENTATIVE")


class ReplyRejected(ValueError):
    """The reply cannot be applied; the message says why, for the log."""


def _seq(ev: icalendar.Component) -> int:
    try:
        return int(str(ev.get("SEQUENCE", 0)))
    except ValueError:
        return 0


def reply_uid(reply: icalendar.Calendar) -> str:
    """The UID a REPLY answers; ReplyRejected when it is not one REPLY VEVENT with a UID."""
    if str(reply.get("METHOD", "")).upper() != "REPLY":
        raise ReplyRejected(f"not a REPLY (METHOD:{reply.get('METHOD', '')})")
    answers = [c for c in reply.walk("VEVENT")]
    if len(answers) != 1:
        raise ReplyRejected(f"a REPLY must hold one VEVENT (it holds {len(answers)})")
    uid = str(answers[0].get("UID", "")).strip()
    if not uid:
        raise ReplyRejected("the REPLY has no UID")
    return uid


def apply_reply(cal: icalendar.Calendar, reply: icalendar.Calendar, sender: str) -> bool:
    """Set the replying attendee's PARTSTAT on every VEVENT of the UID in `cal`.

    `sender` is the email's From address. Returns False when the answer was already
    recorded; raises ReplyRejected for a reply that must not be applied.
    """
    if str(reply.get("METHOD", "")).upper() != "REPLY":
        raise ReplyRejected(f"not a REPLY (METHOD:{reply.get('METHOD', '')})")
    answers = [c for c in reply.walk("VEVENT")]
    if len(answers) != 1:
        raise ReplyRejected(f"a REPLY must hold one VEVENT (it holds {len(answers)})")
    answer = answers[0]
    if "RECURRENCE-ID" in answer:
        raise ReplyRejected("answers to one occurrence are not applied (coachd books no series)")
    uid = str(answer.get("UID", "")).strip()
    targets = events_of(cal, uid) if uid else []
    if not targets:
        raise ReplyRejected(f"no event with UID {uid!r} in this calendar")
    attendees = as_list(answer.get("ATTENDEE"))
    if len(attendees) != 1:
        raise ReplyRejected(f"a REPLY must name one attendee (it names {len(attendees)})")
    who = email_of(attendees[0])
    if who != sender.strip().lower():
        raise ReplyRejected(f"the reply answers for {who}, but the email came from {sender}")
    partstat = str(attendees[0].params.get("PARTSTAT", "")).upper()
    if partstat not in ANSWERS:
        raise ReplyRejected(f"PARTSTAT {partstat or '(none)'} is not an answer")
    changed = False
    for ev in targets:
        if _seq(answer) < _seq(ev):
            raise ReplyRejected(
                f"the reply is for SEQUENCE {_seq(answer)}, the event is at {_seq(ev)}"
            )
        current = as_list(ev.get("ATTENDEE"))
        if not any(email_of(a) == who for a in current):
            raise ReplyRejected(f"{who} is not invited to {uid}")
        new = []
        for addr in current:
            if email_of(addr) == who:
                updated = _with_params(addr, PARTSTAT=partstat, RSVP=None)
                changed |= updated.params != addr.params
                new.append(updated)
            else:
                new.append(addr)
        del ev["ATTENDEE"]
        for addr in new:
            ev.add("ATTENDEE", addr)
    return changed
