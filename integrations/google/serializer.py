"""Google Calendar event JSON <-> the planner's model, and coachd's writes -> request bodies.

Parsing is strict about what it needs (id, start, end) and lenient about the rest: an item
missing a required field raises ValueError naming the problem, and the caller skips it with
a warning. Everything else defaults, because other people's events come in every shape.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any, cast
from zoneinfo import ZoneInfo

from planner.actions import Book, Decline, Flag, Move
from planner.model import Attendee, CoachdTag, Event, EventType, PartStat
from planner.timeutil import Interval, local_dt

UTC = ZoneInfo("UTC")

# extendedProperties.private keys coachd writes and reads (strings only, per the API).
TAG_KEY = "coachd_key"
TAG_KIND = "coachd_kind"
TAG_REP = "coachd_rep"
TAG_PERIOD = "coachd_period"
TAG_GENERATION = "coachd_generation"
TAG_FLAG = "coachd_flag"
TAG_DECLINED = "coachd_declined"
TAG_DELEGATE = "coachd_delegate"

# Google's event palette: "11" is Tomato (red), the most visible flag colour.
FLAG_COLOR = "11"

_PARTSTATS: frozenset[str] = frozenset({"accepted", "declined", "tentative", "needsAction"})
_EVENT_TYPES: frozenset[str] = frozenset({"default", "focusTime", "outOfOffice", "workingLocation"})


def rfc3339(dt: datetime) -> str:
    """An aware datetime as RFC 3339 in UTC (`2026-11-30T15:00:00Z`)."""
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt!r}")
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def parse_time(value: Any, tz: ZoneInfo, field: str) -> tuple[datetime, bool]:
    """A Google `start`/`end` object -> (aware datetime in tz, all-day?).

    `date` (all-day) means local midnight of that day in the manager's zone; `dateTime`
    carries its own offset. Raises ValueError when neither is usable.
    """
    if not isinstance(value, Mapping):
        raise ValueError(f"{field} is missing")
    if value.get("dateTime"):
        text = str(value["dateTime"])
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{field}.dateTime {text!r} is not RFC 3339") from None
        if dt.tzinfo is None:
            zone = value.get("timeZone")
            try:
                dt = dt.replace(tzinfo=ZoneInfo(str(zone)) if zone else tz)
            except (KeyError, ValueError):
                raise ValueError(f"{field}.timeZone {zone!r} is unknown") from None
        return dt.astimezone(tz), False
    if value.get("date"):
        text = str(value["date"])
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{field}.date {text!r} is not YYYY-MM-DD") from None
        return local_dt(day, time(0, 0), tz), True
    raise ValueError(f"{field} has neither dateTime nor date")


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _int(v: Any, default: int = 0) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def private_props(item: Mapping[str, Any]) -> dict[str, str]:
    """extendedProperties.private as a dict of strings (empty when absent or malformed)."""
    ext = item.get("extendedProperties")
    if not isinstance(ext, Mapping):
        return {}
    priv = ext.get("private")
    if not isinstance(priv, Mapping):
        return {}
    return {str(k): str(v) for k, v in priv.items() if isinstance(v, str | int)}


def parse_tag(priv: Mapping[str, str]) -> CoachdTag | None:
    """coachd's own tag, or None when the event is not one of coachd's bookings."""
    key = priv.get(TAG_KEY, "").strip()
    if not key:
        return None
    return CoachdTag(
        key=key,
        kind=priv.get(TAG_KIND, "").strip(),
        rep=priv.get(TAG_REP, "").strip() or None,
        period=priv.get(TAG_PERIOD, "").strip(),
        generation=_int(priv.get(TAG_GENERATION), 0),
    )


def _attendee(a: Mapping[str, Any]) -> Attendee:
    status = _str(a.get("responseStatus"))
    return Attendee(
        email=_str(a.get("email")).lower(),
        name=_str(a.get("displayName")),
        status=cast(PartStat, status if status in _PARTSTATS else "needsAction"),
        organizer=bool(a.get("organizer")),
    )


def find_self(attendees: Any, owner: str) -> int | None:
    """Index of the calendar owner in an attendees list: `self: true`, else by email."""
    if not isinstance(attendees, list):
        return None
    for i, a in enumerate(attendees):
        if isinstance(a, Mapping) and a.get("self") is True:
            return i
    for i, a in enumerate(attendees):
        if isinstance(a, Mapping) and _str(a.get("email")).lower() == owner.lower():
            return i
    return None


def self_response(item: Mapping[str, Any], owner: str) -> str | None:
    """The owner's responseStatus on an event resource (None when not a guest)."""
    attendees = item.get("attendees")
    i = find_self(attendees, owner)
    if i is None or not isinstance(attendees, list):
        return None
    status = attendees[i].get("responseStatus")
    return status if isinstance(status, str) else None


def parse_event(item: Mapping[str, Any], *, calendar: str, tz: ZoneInfo) -> Event:
    """One Google event resource -> Event. Raises ValueError for an unusable item."""
    event_id = item.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise ValueError("no id")
    start, all_day = parse_time(item.get("start"), tz, "start")
    end, _ = parse_time(item.get("end"), tz, "end")
    if end < start:
        raise ValueError("ends before it starts")
    raw_attendees = item.get("attendees")
    attendees = tuple(
        _attendee(a) for a in raw_attendees or () if isinstance(a, Mapping) and a.get("email")
    )
    self_status: PartStat | None = None
    organizer = item.get("organizer")
    org_email = _str(organizer.get("email")).lower() if isinstance(organizer, Mapping) else ""
    org_is_self = isinstance(organizer, Mapping) and organizer.get("self") is True
    i = find_self(raw_attendees, calendar)
    if i is not None and isinstance(raw_attendees, list) and not org_is_self:
        status = _str(raw_attendees[i].get("responseStatus"))
        self_status = cast(PartStat, status if status in _PARTSTATS else "needsAction")
    priv = private_props(item)
    tag = parse_tag(priv)
    etype = _str(item.get("eventType")) or "default"
    # coachd's own bookings use their event id as the series id, as in the local backend
    # (Google makes up an iCalUID of its own for them).
    uid = event_id if tag else _str(item.get("iCalUID")) or _str(item.get("recurringEventId"))
    return Event(
        id=event_id,
        uid=uid or event_id,
        calendar=calendar,
        title=_str(item.get("summary")),
        start=start,
        end=end,
        all_day=all_day,
        description=_str(item.get("description")),
        location=_str(item.get("location")),
        organizer=org_email or None,
        attendees=attendees,
        self_status=self_status,
        transparent=item.get("transparency") == "transparent",
        cancelled=item.get("status") == "cancelled",
        recurring=bool(item.get("recurringEventId")) or bool(item.get("recurrence")),
        event_type=cast(EventType, etype if etype in _EVENT_TYPES else "default"),
        tag=tag,
        flagged=TAG_FLAG in priv,
        sequence=_int(item.get("sequence"), 0),
        updated=_str(item.get("updated")),
    )


# The fields `parse_event` reads: the sync cache keeps only these, so the state store does
# not carry conference data, reminders, links and etags for every event.
CACHED_FIELDS = frozenset(
    {
        "id",
        "status",
        "summary",
        "description",
        "location",
        "start",
        "end",
        "organizer",
        "attendees",
        "transparency",
        "eventType",
        "extendedProperties",
        "recurringEventId",
        "recurrence",
        "iCalUID",
        "sequence",
        "updated",
        "colorId",
    }
)


def slim(item: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an event resource worth caching (see CACHED_FIELDS)."""
    return {k: v for k, v in item.items() if k in CACHED_FIELDS}


def item_interval(item: Mapping[str, Any], tz: ZoneInfo) -> Interval:
    """The time an item covers (ValueError when it has no usable start/end)."""
    start, _ = parse_time(item.get("start"), tz, "start")
    end, _ = parse_time(item.get("end"), tz, "end")
    return Interval(start, end)


# --- request bodies ------------------------------------------------------------------------


def _when(dt: datetime, tz: ZoneInfo) -> dict[str, str]:
    # The wall time in the manager's zone plus the zone name: Google then shows the event
    # at the right local time for everyone, across DST changes.
    local = dt.astimezone(tz)
    return {"dateTime": local.isoformat(timespec="seconds"), "timeZone": tz.key}


def tag_props(b: Book) -> dict[str, str]:
    """The private properties that mark a booking as coachd's."""
    return {
        TAG_KEY: b.key,
        TAG_KIND: b.kind,
        TAG_REP: b.rep or "",
        TAG_PERIOD: b.period,
        TAG_GENERATION: str(b.generation),
    }


def book_body(b: Book, tz: ZoneInfo) -> dict[str, Any]:
    """The events.insert body for a booking, with coachd's deterministic id and tags."""
    body: dict[str, Any] = {
        "id": b.event_id,
        "summary": b.title,
        "description": b.description,
        "start": _when(b.start, tz),
        "end": _when(b.end, tz),
        "transparency": "opaque" if b.busy else "transparent",
        "extendedProperties": {"private": tag_props(b)},
    }
    if b.location:
        body["location"] = b.location
    if b.attendees:
        body["attendees"] = [{"email": a} for a in b.attendees]
    return body


def move_body(m: Move, tz: ZoneInfo) -> dict[str, Any]:
    """The events.patch body that moves a booking."""
    return {"start": _when(m.start, tz), "end": _when(m.end, tz)}


def flag_body(f: Flag) -> dict[str, Any]:
    """The events.patch body that flags a meeting: a colour and the rule, privately."""
    return {"colorId": FLAG_COLOR, "extendedProperties": {"private": {TAG_FLAG: f.rule}}}


def decline_comment(d: Decline) -> str:
    """The comment the organizer reads with the decline."""
    if d.delegate_to:
        return f"{d.message} I have asked {d.delegate_to} to attend in my place.".strip()
    return d.message


def decline_body(item: Mapping[str, Any], d: Decline, owner: str) -> dict[str, Any]:
    """The events.patch body declining `item` for `owner`.

    A patch replaces the whole attendees array, so every other attendee is sent back exactly
    as read; only the owner's responseStatus and comment change. Raises ValueError when the
    owner is not on the guest list (there is nothing to decline).
    """
    attendees = copy.deepcopy(item.get("attendees"))
    i = find_self(attendees, owner)
    if i is None or not isinstance(attendees, list):
        raise ValueError(f"{owner} is not a guest of event {item.get('id')!r}")
    attendees[i]["responseStatus"] = "declined"
    attendees[i]["comment"] = decline_comment(d)
    priv = {TAG_DECLINED: d.rule}
    if d.delegate_to:
        priv[TAG_DELEGATE] = d.delegate_to
    return {"attendees": attendees, "extendedProperties": {"private": priv}}
