"""Build the `text/calendar` part of an iMIP email (RFC 5546 methods REQUEST, CANCEL, REPLY).

The planner describes each message as plain values (`context["imip"]`, see
planner/invitations.py and planner/triage.py); this module turns them into one VCALENDAR
with METHOD, one VEVENT and the VTIMEZONE it needs, and adds it to a built email as the
last alternative (`text/calendar; method=...`), which is how Outlook, Gmail and Apple Mail
recognise an invitation. Titles and comments come from other people: icalendar escapes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from integrations.calendar.ics_encode import PRODID, _value, add_timezones, mailto

METHODS = ("REQUEST", "CANCEL", "REPLY")


def _address(person: Mapping[str, Any]) -> icalendar.vCalAddress:
    addr = icalendar.vCalAddress(mailto(str(person["email"])))
    if person.get("name"):
        addr.params["CN"] = str(person["name"])
    return addr


def imip_calendar(fields: Mapping[str, Any], now: datetime) -> bytes:
    """One VCALENDAR for `fields` (method, uid, sequence, start, end, timezone, summary,
    organizer, attendees or attendee+partstat). Raises ValueError for an unknown method or
    a missing field."""
    method = str(fields.get("method", ""))
    if method not in METHODS:
        raise ValueError(f"not an iMIP method coachd sends: {method!r}")
    try:
        tz = ZoneInfo(str(fields["timezone"]))
        start = datetime.fromisoformat(str(fields["start"]))
        end = datetime.fromisoformat(str(fields["end"]))
        cal = icalendar.Calendar()
        cal.add("PRODID", PRODID)
        cal.add("VERSION", "2.0")
        cal.add("METHOD", method)
        ev = icalendar.Event()
        ev.add("UID", str(fields["uid"]))
        ev.add("DTSTAMP", now.astimezone(UTC))
        ev.add("SEQUENCE", int(fields["sequence"]))
        ev.add("DTSTART", _value(start, tz))
        ev.add("DTEND", _value(end, tz))
        ev.add("SUMMARY", str(fields["summary"]))
        ev.add("ORGANIZER", _address(fields["organizer"]))
        if method == "REPLY":
            # RFC 5546 3.2.3: the replying attendee only, with the answer and an optional note.
            who = _address(fields["attendee"])
            who.params["PARTSTAT"] = str(fields["partstat"])
            if fields.get("delegated_to"):
                who.params["DELEGATED-TO"] = mailto(str(fields["delegated_to"]))
            ev.add("ATTENDEE", who)
            if fields.get("comment"):
                ev.add("COMMENT", str(fields["comment"]))
        else:
            organizer = _address(fields["organizer"])
            organizer.params["ROLE"] = "CHAIR"
            organizer.params["PARTSTAT"] = "ACCEPTED"
            ev.add("ATTENDEE", organizer)
            for person in fields["attendees"]:
                addr = _address(person)
                addr.params["ROLE"] = "REQ-PARTICIPANT"
                addr.params["PARTSTAT"] = "NEEDS-ACTION"
                if method == "REQUEST":
                    addr.params["RSVP"] = "TRUE"
                ev.add("ATTENDEE", addr)
            if fields.get("description"):
                ev.add("DESCRIPTION", str(fields["description"]))
            if fields.get("location"):
                ev.add("LOCATION", str(fields["location"]))
            ev.add("STATUS", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
            ev.add("TRANSP", "OPAQUE")
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"incomplete iMIP data ({type(e).__name__}: {e})") from None
    cal.add_component(ev)
    add_timezones(cal)
    data: bytes = cal.to_ical()
    return data


def attach_calendar(msg: EmailMessage, fields: Mapping[str, Any], now: datetime) -> None:
    """Add the iMIP part to a multipart/alternative email built by build_message."""
    data = imip_calendar(fields, now)
    msg.add_alternative(
        data.decode("utf-8"),
        subtype="calendar",
        params={"method": str(fields["method"])},
    )
