"""Decoding iCalendar (RFC 5545) files into planner Events.

Rules, shared by every reader of the local backend:

- Recurring events are expanded with `recurring_ical_events` (RRULE, RDATE, EXDATE and
  overridden instances via RECURRENCE-ID).
- All-day events (DATE values) run from local midnight to local midnight in the manager's
  zone; floating date-times (no TZID, no Z) are read as wall-clock times in that zone.
- Event ids: a non-recurring event's id is its UID. An occurrence of a series gets
  `UID + "/" + recurrence-id`, where the recurrence-id is written in UTC as
  `YYYYMMDDTHHMMSSZ` (or `YYYYMMDD` for an all-day series, as Google does for its instance ids).
  The id is stable when the occurrence is moved, because RECURRENCE-ID keeps the original time.
- A participation status of DELEGATED reads as "declined": the person handed the meeting on
  and will not attend, so it does not block their time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from integrations.calendar.ics_bounds import (
    IcsLimits,
    check_expansion,
    check_frequency,
    time_limit,
)
from planner.model import Attendee, CoachdTag, Event, PartStat
from planner.timeutil import Interval, local_dt

_PARTSTAT: dict[str, PartStat] = {
    "ACCEPTED": "accepted",
    "DECLINED": "declined",
    "TENTATIVE": "tentative",
    "NEEDS-ACTION": "needsAction",
    "DELEGATED": "declined",
}
# A property with a syntax error in one of these makes the event's time unknowable.
_CRITICAL = {"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"}
# RFC 5545 allows these once per event; a second copy makes the event's time ambiguous.
_SINGLE = ("UID", "DTSTART", "DTEND", "DURATION", "RECURRENCE-ID")
# recurring_ical_events compares floating and all-day values loosely; ask it for a little
# more than the window and filter exactly once every time is an aware datetime.
_PAD = timedelta(days=2)


class IcsError(ValueError):
    """A file that is not a usable iCalendar event; the message says what is wrong."""


@dataclass(frozen=True)
class ParsedFile:
    """One parsed vdir item: the calendar and the UIDs of the events it holds."""

    calendar: icalendar.Calendar
    uids: frozenset[str]


def email_of(value: Any) -> str:
    """`mailto:Jane@X.com` -> `jane@x.com` (any case of the scheme; surrounding space dropped)."""
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.strip().lower()


def as_list(value: Any) -> list[Any]:
    """A property that may occur once or many times, always as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def prop(comp: icalendar.Component, name: str) -> Any:
    """A property of a component, or None. Typed Any on purpose: icalendar's union of every
    value type cannot be narrowed usefully, and callers know which type each property has."""
    return comp.get(name)


def parse_ics(data: bytes) -> ParsedFile:
    """Parse and check one file. Raises IcsError naming the problem.

    Checked: the syntax, one VCALENDAR, and for each VEVENT a UID, a DTSTART, well-formed
    time and recurrence properties, and DTEND not before DTSTART. A file without any VEVENT
    (a task, a journal) parses fine and holds no events.
    """
    try:
        cal = icalendar.Calendar.from_ical(data)
    except Exception as e:
        raise IcsError(f"not valid iCalendar: {e}") from e
    if not isinstance(cal, icalendar.Calendar) or cal.name != "VCALENDAR":
        raise IcsError("not a VCALENDAR")
    uids = set()
    for ev in cal.walk("VEVENT"):
        uid = str(ev.get("UID", "")).strip()
        if not uid:
            raise IcsError("an event has no UID")
        uids.add(uid)
        for name, err in ev.errors:
            if name in _CRITICAL:
                raise IcsError(f"event {uid!r}: bad {name}: {err}")
        for name in _SINGLE:
            if isinstance(ev.get(name), list):
                raise IcsError(f"event {uid!r}: {name} appears more than once")
        if "DTSTART" not in ev:
            raise IcsError(f"event {uid!r} has no DTSTART")
        start = prop(ev, "DTSTART").dt
        if "DTEND" in ev:
            end = prop(ev, "DTEND").dt
            if isinstance(start, datetime) != isinstance(end, datetime):
                raise IcsError(f"event {uid!r}: DTSTART and DTEND mix a date and a date-time")
            if _cmp_key(end) < _cmp_key(start):
                raise IcsError(f"event {uid!r}: DTEND is before DTSTART")
        for rrule in as_list(ev.get("RRULE")):
            if not rrule.get("FREQ"):
                raise IcsError(f"event {uid!r}: RRULE has no FREQ")
            try:
                check_frequency(rrule)
            except ValueError as e:
                raise IcsError(f"event {uid!r}: {e}") from e
    return ParsedFile(cal, frozenset(uids))


def _cmp_key(value: date | datetime) -> datetime:
    """A comparable UTC datetime for a DATE, floating or zoned value (floating read as UTC:
    only ever compared with a value from the same event, so the zone cancels out)."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def to_aware(value: date | datetime, tz: ZoneInfo) -> datetime:
    """An aware datetime in `tz` for a DATE (local midnight), floating or zoned value."""
    if not isinstance(value, datetime):
        return local_dt(value, time(0), tz)
    if value.tzinfo is None:
        return local_dt(value.date(), value.time(), tz)
    # Through UTC, so a wall time in a DST gap comes back as a time that exists.
    return value.astimezone(UTC).astimezone(tz)


def recurrence_suffix(value: date | datetime, tz: ZoneInfo) -> str:
    """The occurrence part of an event id: UTC `YYYYMMDDTHHMMSSZ`, or `YYYYMMDD` for a date."""
    if not isinstance(value, datetime):
        return value.strftime("%Y%m%d")
    return to_aware(value, tz).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def parse_recurrence_suffix(suffix: str) -> date | datetime:
    """The inverse of `recurrence_suffix`: a date, or an aware UTC datetime. Raises ValueError."""
    if len(suffix) == 8:
        return datetime.strptime(suffix, "%Y%m%d").date()
    return datetime.strptime(suffix, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def is_series(cal: icalendar.Calendar, uid: str) -> bool:
    """Whether the events with this UID form a recurring series (a rule, extra dates, or
    overridden instances)."""
    for ev in cal.walk("VEVENT"):
        if str(ev.get("UID", "")).strip() != uid:
            continue
        if "RRULE" in ev or "RDATE" in ev or "RECURRENCE-ID" in ev:
            return True
    return False


def in_window(ev: Event, window: Interval) -> bool:
    """Whether an event overlaps the window; a zero-length one counts when it starts inside."""
    if ev.end == ev.start:
        return window.start <= ev.start < window.end
    return ev.start < window.end and ev.end > window.start


def occurrences(
    parsed: ParsedFile,
    window: Interval,
    tz: ZoneInfo,
    owner: str,
    calendar: str,
    limits: IcsLimits | None = None,
) -> list[Event]:
    """Every occurrence in the file overlapping `window`, as planner Events, sorted by start.

    Raises on a file that recurring_ical_events cannot expand, or whose expansion would
    exceed `limits` (checked before expanding; the caller turns either into a warning).
    """
    limits = limits or IcsLimits()
    check_bounds(parsed, window, limits)
    series = {uid for uid in parsed.uids if is_series(parsed.calendar, uid)}
    query = recurring_ical_events.of(parsed.calendar)
    with time_limit(limits.max_expand_seconds, "expanding its recurrence rules"):
        expanded = query.between(window.start - _PAD, window.end + _PAD)
    out = []
    for comp in expanded:
        ev = _to_event(comp, tz, owner, calendar, series)
        if in_window(ev, window):
            out.append(ev)
    out.sort(key=lambda e: (e.start, e.id))
    return out


def check_bounds(parsed: ParsedFile, window: Interval, limits: IcsLimits) -> None:
    """Raise IcsError naming the event whose expansion over `window` would exceed `limits`
    (see `ics_bounds`); costs nothing whatever the rules say."""
    start, end = window.start - _PAD, window.end + _PAD
    for ev in parsed.calendar.walk("VEVENT"):
        uid = str(ev.get("UID", "")).strip()
        try:
            dtstart = prop(ev, "DTSTART").dt
            for rrule in as_list(ev.get("RRULE")):
                check_frequency(rrule)
                check_expansion(rrule, dtstart, start, end, limits)
            rdates = sum(len(getattr(r, "dts", ()) or ()) for r in as_list(ev.get("RDATE")))
            if rdates > limits.max_instances:
                raise ValueError(
                    f"{rdates:,} RDATEs, above the cap of {limits.max_instances:,} "
                    "(calendar.local.max_instances): ignored"
                )
        except ValueError as e:
            raise IcsError(f"event {uid!r}: {e}") from e


def single_events(parsed: ParsedFile, tz: ZoneInfo, owner: str, calendar: str) -> list[Event]:
    """The events of a file without any recurrence, whatever their time.

    They do not depend on the window, so a reader can decode them once and keep them while
    the file is unchanged. Raises ValueError when the file holds a recurring series.
    """
    if any(is_series(parsed.calendar, uid) for uid in parsed.uids):
        raise ValueError("the file holds a recurring series")
    return [
        _to_event(comp, tz, owner, calendar, set())
        for comp in parsed.calendar.walk("VEVENT")
        if isinstance(comp, icalendar.Event)
    ]


def _to_event(
    comp: icalendar.Event, tz: ZoneInfo, owner: str, calendar: str, series: set[str]
) -> Event:
    """Map one expanded occurrence to a planner Event."""
    uid = str(comp["UID"]).strip()
    raw_start = prop(comp, "DTSTART").dt
    all_day = not isinstance(raw_start, datetime)
    start = to_aware(raw_start, tz)
    end = _end_of(comp, raw_start, tz)
    recurring = uid in series
    event_id = uid
    if recurring:
        rid = prop(comp, "RECURRENCE-ID")
        event_id = f"{uid}/{recurrence_suffix(rid.dt if rid is not None else raw_start, tz)}"

    owner_l = owner.lower()
    organizer = email_of(comp["ORGANIZER"]) if "ORGANIZER" in comp else None
    attendees, self_status = _attendees(comp, owner_l, organizer)
    if organizer == owner_l:
        self_status = None
    return Event(
        id=event_id,
        uid=uid,
        calendar=calendar,
        title=str(comp.get("SUMMARY", "")),
        start=start,
        end=end,
        all_day=all_day,
        description=str(comp.get("DESCRIPTION", "")),
        location=str(comp.get("LOCATION", "")),
        organizer=organizer,
        attendees=attendees,
        self_status=self_status,
        transparent=str(comp.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT",
        cancelled=str(comp.get("STATUS", "")).upper() == "CANCELLED",
        recurring=recurring,
        # Outlook marks out-of-office with this busy status; the planner treats it as time off
        event_type=(
            "outOfOffice"
            if str(comp.get("X-MICROSOFT-CDO-BUSYSTATUS", "")).strip().upper() == "OOF"
            else "default"
        ),
        tag=decode_tag(comp),
        flagged="X-COACHD-FLAG" in comp,
        sequence=_int(comp.get("SEQUENCE"), 0),
        updated=_updated(comp),
    )


def _end_of(comp: icalendar.Event, raw_start: date | datetime, tz: ZoneInfo) -> datetime:
    """The occurrence's end: DTEND, else DTSTART + DURATION, else RFC 5545's default (one day
    for an all-day event, zero for a timed one)."""
    if "DTEND" in comp:
        return to_aware(prop(comp, "DTEND").dt, tz)
    if "DURATION" in comp:
        dur: timedelta = prop(comp, "DURATION").dt
        if isinstance(raw_start, datetime):
            return to_aware(raw_start, tz) + dur
        return to_aware(raw_start + timedelta(days=dur.days), tz)
    if not isinstance(raw_start, datetime):
        return to_aware(raw_start + timedelta(days=1), tz)
    return to_aware(raw_start, tz)


def _attendees(
    comp: icalendar.Event, owner: str, organizer: str | None
) -> tuple[tuple[Attendee, ...], PartStat | None]:
    """The guest list, and the owner's own answer (None when the owner is not on it)."""
    out: list[Attendee] = []
    self_status: PartStat | None = None
    for value in as_list(comp.get("ATTENDEE")):
        email = email_of(value)
        if not email:
            continue
        params = getattr(value, "params", {})
        status = _PARTSTAT.get(str(params.get("PARTSTAT", "NEEDS-ACTION")).upper(), "needsAction")
        out.append(
            Attendee(
                email=email,
                name=str(params.get("CN", "")),
                status=status,
                organizer=email == organizer,
            )
        )
        if email == owner:
            self_status = status
    return tuple(out), self_status


def decode_tag(comp: icalendar.Event) -> CoachdTag | None:
    """coachd's private tag from the X-COACHD-* properties (None without X-COACHD-KEY)."""
    key = str(comp.get("X-COACHD-KEY", "")).strip()
    if not key:
        return None
    rep = str(comp.get("X-COACHD-REP", "")).strip()
    return CoachdTag(
        key=key,
        kind=str(comp.get("X-COACHD-KIND", "")).strip(),
        rep=None if rep in ("", "-") else rep,
        period=str(comp.get("X-COACHD-PERIOD", "")).strip(),
        generation=_int(comp.get("X-COACHD-GENERATION"), 0),
    )


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value).strip()) if value is not None else default
    except ValueError:
        return default


def _updated(comp: icalendar.Event) -> str:
    """LAST-MODIFIED, else DTSTAMP, as an ISO 8601 UTC string ("" when neither is usable)."""
    for name in ("LAST-MODIFIED", "DTSTAMP"):
        stamp = prop(comp, name)
        if stamp is None:
            continue
        try:
            value = stamp.dt
        except Exception:  # a broken stamp is not worth losing the event over
            continue
        if isinstance(value, datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=UTC)
            return aware.astimezone(UTC).isoformat()
    return ""
