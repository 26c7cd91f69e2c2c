"""Writing iCalendar: new event files and the small edits coachd makes to existing ones.

Every file coachd writes carries a VTIMEZONE for each zone it uses, so clients that do not
know IANA names (or know an older version of the rules) still place the event correctly.
Edits change only what they must; every other property and parameter (other people's
answers, X-MICROSOFT-*, alarms) is kept as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import icalendar

from integrations.calendar.ics_decode import as_list, email_of, prop, to_aware
from planner.actions import Book
from planner.model import Attendee

PRODID = "-//coachd//coachd//EN"
_ICS_PARTSTAT = {
    "accepted": "ACCEPTED",
    "declined": "DECLINED",
    "tentative": "TENTATIVE",
    "needsAction": "NEEDS-ACTION",
}


@dataclass(frozen=True)
class EventSpec:
    """Everything needed to write one event file.

    `start`/`end` are aware datetimes (written with the TZID of `tz`) or dates (all-day).
    `rrule` is the RRULE value as text ("FREQ=WEEKLY;COUNT=10"); `exdates` are occurrence
    starts to leave out. `extra` adds properties verbatim (X-COACHD-*, X-MICROSOFT-*...).
    """

    uid: str
    start: datetime | date
    end: datetime | date
    summary: str
    organizer: str | None = None
    attendees: tuple[Attendee, ...] = ()
    description: str = ""
    location: str = ""
    transparent: bool = False
    status: str | None = None
    rrule: str | None = None
    exdates: tuple[datetime | date, ...] = ()
    sequence: int = 0
    extra: tuple[tuple[str, str], ...] = ()


def mailto(email: str) -> str:
    return f"mailto:{email}"


def attendee_address(person: Attendee) -> icalendar.vCalAddress:
    """An ATTENDEE value with CN, PARTSTAT, ROLE and (while unanswered) RSVP=TRUE."""
    addr = icalendar.vCalAddress(mailto(person.email))
    if person.name:
        addr.params["CN"] = person.name
    addr.params["ROLE"] = "REQ-PARTICIPANT"
    addr.params["PARTSTAT"] = _ICS_PARTSTAT[person.status]
    if person.status == "needsAction":
        addr.params["RSVP"] = "TRUE"
    return addr


def _value(value: datetime | date, tz: ZoneInfo) -> datetime | date:
    """Timed values are written in the manager's zone (with its TZID); dates stay dates.

    The instant is what counts: it goes through UTC because `astimezone` returns a datetime
    already in `tz` unchanged, even a wall time that does not exist (spring-forward gap). The
    second pass of a repeated hour (fold=1) cannot be told apart in a TZID wall time (RFC
    5545 reads it as the first), so such a time is written in UTC instead.
    """
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        raise ValueError("event times must be timezone-aware")
    local = value.astimezone(UTC).astimezone(tz)
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        return local.astimezone(UTC)
    return local


def encode_event(spec: EventSpec, tz: ZoneInfo, now: datetime) -> bytes:
    """One VCALENDAR holding one VEVENT (plus the VTIMEZONEs it needs), as bytes."""
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    ev = icalendar.Event()
    ev.add("UID", spec.uid)
    ev.add("DTSTAMP", now.astimezone(UTC))
    ev.add("DTSTART", _value(spec.start, tz))
    ev.add("DTEND", _value(spec.end, tz))
    ev.add("SUMMARY", spec.summary)
    if spec.description:
        ev.add("DESCRIPTION", spec.description)
    if spec.location:
        ev.add("LOCATION", spec.location)
    if spec.organizer:
        ev.add("ORGANIZER", icalendar.vCalAddress(mailto(spec.organizer)))
    for person in spec.attendees:
        ev.add("ATTENDEE", attendee_address(person))
    ev.add("TRANSP", "TRANSPARENT" if spec.transparent else "OPAQUE")
    if spec.status:
        ev.add("STATUS", spec.status)
    ev.add("SEQUENCE", spec.sequence)
    if spec.rrule:
        ev.add("RRULE", icalendar.vRecur.from_ical(spec.rrule))
    for ex in spec.exdates:
        ev.add("EXDATE", _value(ex, tz))
    for name, text in spec.extra:
        ev.add(name, text)
    cal.add_component(ev)
    add_timezones(cal)
    data: bytes = cal.to_ical()
    return data


def add_timezones(cal: icalendar.Calendar) -> None:
    """Add a VTIMEZONE for every zone the calendar's events use and it does not yet define.

    The definitions cover a few years around the events (a long span makes a large file).
    """
    years = [
        v.dt.year
        for ev in cal.walk("VEVENT")
        for name in ("DTSTART", "DTEND")
        if (v := prop(ev, name)) is not None and isinstance(v.dt, datetime)
    ]
    if not years:
        return
    cal.add_missing_timezones(
        first_date=date(min(years) - 1, 1, 1), last_date=date(max(years) + 3, 1, 1)
    )


def book_spec(book: Book, owner: str) -> EventSpec:
    """The event coachd writes for a Book: the owner organizes and has accepted, every other
    guest is invited (NEEDS-ACTION, RSVP), and the X-COACHD-* tag records what it is for."""
    owner_l = owner.lower()
    guests = [Attendee(email=owner_l, status="accepted", organizer=True)]
    seen = {owner_l}
    for email in book.attendees:
        e = email.strip().lower()
        if e and e not in seen:
            seen.add(e)
            guests.append(Attendee(email=e))
    return EventSpec(
        uid=book.event_id,
        start=book.start,
        end=book.end,
        summary=book.title,
        organizer=owner_l,
        attendees=tuple(guests),
        description=book.description,
        location=book.location,
        transparent=not book.busy,
        status="CONFIRMED",
        extra=(
            ("X-COACHD-KEY", book.key),
            ("X-COACHD-KIND", book.kind),
            ("X-COACHD-REP", book.rep or "-"),
            ("X-COACHD-PERIOD", book.period),
            ("X-COACHD-GENERATION", str(book.generation)),
        ),
    )


def events_of(cal: icalendar.Calendar, uid: str) -> list[icalendar.Event]:
    """The VEVENTs of one UID: a single event, or a series master plus its overrides."""
    return [
        ev
        for ev in cal.walk("VEVENT")
        if isinstance(ev, icalendar.Event) and str(ev.get("UID", "")).strip() == uid
    ]


def _touch(ev: icalendar.Event, now: datetime) -> None:
    """Record that the event changed: fresh DTSTAMP and LAST-MODIFIED."""
    stamp = now.astimezone(UTC)
    for name in ("DTSTAMP", "LAST-MODIFIED"):
        if name in ev:
            del ev[name]
        ev.add(name, stamp)


def move(
    cal: icalendar.Calendar, uid: str, start: datetime, end: datetime, tz: ZoneInfo, now: datetime
) -> bool:
    """Give a single (non-recurring) event new times and bump SEQUENCE.

    Returns False, changing nothing, when it already has these times (a repeated Move).
    Raises ValueError for a recurring series (moving one occurrence is not supported) and for
    an end before the start.
    """
    if end.astimezone(UTC) < start.astimezone(UTC):
        raise ValueError(f"the new end ({end}) is before the new start ({start})")
    evs = events_of(cal, uid)
    if len(evs) != 1 or any(k in evs[0] for k in ("RRULE", "RDATE", "RECURRENCE-ID")):
        raise ValueError("cannot move an event of a recurring series")
    ev = evs[0]
    old_start = prop(ev, "DTSTART").dt
    old_end = prop(ev, "DTEND").dt if "DTEND" in ev else None
    if (
        isinstance(old_start, datetime)
        and isinstance(old_end, datetime)
        and old_start.tzinfo is not None
        and old_end.tzinfo is not None
        # Compared in UTC: equal wall times in one zone may be different instants (fold).
        and old_start.astimezone(UTC) == start.astimezone(UTC)
        and old_end.astimezone(UTC) == end.astimezone(UTC)
    ):
        return False
    for name in ("DTSTART", "DTEND", "DURATION"):
        if name in ev:
            del ev[name]
    ev.add("DTSTART", _value(start, tz))
    ev.add("DTEND", _value(end, tz))
    seq = _seq(ev)
    if "SEQUENCE" in ev:
        del ev["SEQUENCE"]
    ev.add("SEQUENCE", seq + 1)
    _touch(ev, now)
    # The zone definition written with the old times may not cover the new ones: rebuild it.
    for vtz in [c for c in cal.subcomponents if c.name == "VTIMEZONE"]:
        if str(vtz.get("TZID", "")) == tz.key:
            cal.subcomponents.remove(vtz)
    add_timezones(cal)
    return True


def _seq(ev: icalendar.Event) -> int:
    try:
        return int(str(ev.get("SEQUENCE", 0)))
    except ValueError:
        return 0


def decline(
    cal: icalendar.Calendar, uid: str, owner: str, rule: str, delegate_to: str | None = None
) -> bool:
    """Answer DECLINED (or DELEGATED to `delegate_to`) for the owner on every VEVENT of the UID.

    The owner's ATTENDEE line gets the new PARTSTAT (and DELEGATED-TO); the owner is added as
    an attendee when the invitation reached them without naming them. For a delegation the
    delegate is added as an ATTENDEE with DELEGATED-FROM (RFC 5545 3.2.4/3.2.5). Every other
    attendee stays exactly as it was; SEQUENCE is not touched (an answer is not a change of
    the meeting). `X-COACHD-DECLINED:<rule>` records why. Returns False when already done.
    """
    owner_l = owner.lower()
    wanted = "DELEGATED" if delegate_to else "DECLINED"
    delegate_l = delegate_to.strip().lower() if delegate_to else None
    changed = False
    for ev in events_of(cal, uid):
        attendees = as_list(ev.get("ATTENDEE"))
        new: list[icalendar.vCalAddress] = []
        found = False
        for addr in attendees:
            email = email_of(addr)
            if email == owner_l:
                found = True
                updated = _with_params(addr, PARTSTAT=wanted, RSVP=None)
                updated.params.pop("DELEGATED-TO", None)
                if delegate_l:
                    updated.params["DELEGATED-TO"] = mailto(delegate_l)
                changed |= updated.params != addr.params
                new.append(updated)
            elif delegate_l and email == delegate_l:
                updated = _with_params(addr, **{"DELEGATED-FROM": mailto(owner_l)})
                changed |= updated.params != addr.params
                new.append(updated)
            else:
                new.append(addr)
        if not found:
            addr = icalendar.vCalAddress(mailto(owner_l))
            addr.params["PARTSTAT"] = wanted
            if delegate_l:
                addr.params["DELEGATED-TO"] = mailto(delegate_l)
            new.append(addr)
            changed = True
        if delegate_l and not any(email_of(a) == delegate_l for a in new):
            addr = icalendar.vCalAddress(mailto(delegate_l))
            addr.params["ROLE"] = "REQ-PARTICIPANT"
            addr.params["PARTSTAT"] = "NEEDS-ACTION"
            addr.params["RSVP"] = "TRUE"
            addr.params["DELEGATED-FROM"] = mailto(owner_l)
            new.append(addr)
            changed = True
        if changed:
            if "ATTENDEE" in ev:
                del ev["ATTENDEE"]
            for addr in new:
                ev.add("ATTENDEE", addr)
        if str(ev.get("X-COACHD-DECLINED", "")) != rule:
            if "X-COACHD-DECLINED" in ev:
                del ev["X-COACHD-DECLINED"]
            ev.add("X-COACHD-DECLINED", rule)
            changed = True
    return changed


def _with_params(addr: icalendar.vCalAddress, **params: str | None) -> icalendar.vCalAddress:
    """A copy of an address with some parameters set (or removed when None)."""
    out = icalendar.vCalAddress(str(addr))
    for k, v in addr.params.items():
        out.params[k] = v
    for k, v in params.items():
        if v is None:
            out.params.pop(k, None)
        else:
            out.params[k] = v
    return out


FLAG_CATEGORY = "coachd-flagged"
FLAG_COLOR = "orange"  # RFC 7986 COLOR: a CSS3 color name


def flag(cal: icalendar.Calendar, uid: str, rule: str) -> bool:
    """Mark every VEVENT of the UID: `X-COACHD-FLAG:<rule>` for coachd, plus
    `CATEGORIES:coachd-flagged` and (unless it has one) a `COLOR`, which khal and other
    clients show. Existing categories stay. False when all carry the marks already."""
    changed = False
    for ev in events_of(cal, uid):
        if "X-COACHD-FLAG" not in ev:
            ev.add("X-COACHD-FLAG", rule)
            changed = True
        if FLAG_CATEGORY not in _categories(ev):
            ev.add("CATEGORIES", [FLAG_CATEGORY])
            changed = True
        if "COLOR" not in ev:
            ev.add("COLOR", FLAG_COLOR)
            changed = True
    return changed


def _categories(ev: icalendar.Event) -> set[str]:
    out: set[str] = set()
    for value in as_list(ev.get("CATEGORIES")):
        cats = getattr(value, "cats", None)
        out.update(str(c) for c in (cats if cats is not None else str(value).split(",")))
    return out


def exclude_occurrence(
    cal: icalendar.Calendar, uid: str, recurrence: date | datetime, tz: ZoneInfo, now: datetime
) -> bool:
    """Remove one occurrence of a series: an EXDATE on the master, and its override (if any)
    dropped. `recurrence` is a date or an aware datetime. False when it was already gone."""
    evs = events_of(cal, uid)
    master = next((ev for ev in evs if "RECURRENCE-ID" not in ev), None)
    changed = False
    for ev in evs:
        rid = prop(ev, "RECURRENCE-ID")
        if rid is not None and _same_instant(rid.dt, recurrence, tz):
            cal.subcomponents.remove(ev)
            changed = True
    if master is None:
        return changed
    start = prop(master, "DTSTART").dt
    existing = [d.dt for ex in as_list(master.get("EXDATE")) for d in getattr(ex, "dts", [])]
    if any(_same_instant(d, recurrence, tz) for d in existing):
        return changed
    if isinstance(start, datetime) and isinstance(recurrence, datetime):
        # EXDATE must match DTSTART's form: zoned in the same zone, or floating.
        value: date | datetime = (
            recurrence.astimezone(start.tzinfo)
            if start.tzinfo
            else recurrence.astimezone(tz).replace(tzinfo=None)
        )
    elif isinstance(recurrence, datetime):
        value = recurrence.astimezone(tz).date()
    else:
        value = recurrence
    master.add("EXDATE", value)
    _touch(master, now)
    return True


def _same_instant(a: date | datetime, b: date | datetime, tz: ZoneInfo) -> bool:
    return to_aware(a, tz) == to_aware(b, tz)
