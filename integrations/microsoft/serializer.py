"""Graph event JSON <-> the planner's model, and coachd's writes -> Graph request bodies.

Parsing is strict about what it needs (id, start, end) and lenient about the rest, like the
Google serializer: an unusable item raises ValueError naming the problem and the caller
skips it with a warning.

coachd's bookings are created with `transactionId` = the planner's deterministic event id
(Graph's idempotency key for event creation, returned on every read) and carry two
single-value extended properties: the id again (so an event can be found by $filter) and
the tag as JSON. Graph's delta query cannot $expand extended properties, so `calendar`
reads the tag once per event and caches it by transactionId.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any, cast
from zoneinfo import ZoneInfo

from integrations.microsoft.timezones import windows_name, zone
from planner.actions import Book, Decline, Move
from planner.model import Attendee, AttendeeRole, CoachdTag, Event, EventType, PartStat
from planner.timeutil import Interval, local_dt

# A private property set (a GUID of coachd's own) and the two names under it.
PROPERTY_SET = "{5e3b4f0c-8a51-4a5e-9d0a-c0ac4d000001}"
PROP_ID = f"String {PROPERTY_SET} Name coachd.id"
PROP_TAG = f"String {PROPERTY_SET} Name coachd.tag"
FLAG_CATEGORY = "coachd: flagged"
FLAG_COLOR = "preset0"  # red in Outlook's palette

_RESPONSES: dict[str, PartStat] = {
    "accepted": "accepted",
    "tentativelyAccepted": "tentative",
    "declined": "declined",
    "notResponded": "needsAction",
    "none": "needsAction",
}
_ROLES: frozenset[str] = frozenset({"required", "optional", "resource"})
# showAs -> the planner's event type; free and workingElsewhere do not block time.
_SHOW_AS_TYPE: dict[str, EventType] = {"oof": "outOfOffice", "workingElsewhere": "workingLocation"}


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _address(v: Any) -> tuple[str, str]:
    """(address lowercased, name) of a Graph recipient `{emailAddress: {address, name}}`."""
    ea = v.get("emailAddress") if isinstance(v, Mapping) else None
    if not isinstance(ea, Mapping):
        return "", ""
    return _str(ea.get("address")).strip().lower(), _str(ea.get("name"))


def parse_time(value: Any, tz: ZoneInfo, field: str) -> datetime:
    """A Graph dateTimeTimeZone -> an aware datetime in `tz`. ValueError when unusable."""
    if not isinstance(value, Mapping) or not value.get("dateTime"):
        raise ValueError(f"{field} is missing")
    text = str(value["dateTime"])
    # Graph writes seven fractional digits ("2027-03-09T10:00:00.0000000"): keep six.
    head, dot, frac = text.partition(".")
    clean = head + (dot + frac[:6] if dot else "")
    try:
        dt = datetime.fromisoformat(clean.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field}.dateTime {text!r} is not ISO 8601") from None
    if dt.tzinfo is None:
        try:
            dt = dt.replace(tzinfo=zone(_str(value.get("timeZone")) or "UTC"))
        except ValueError as e:
            raise ValueError(f"{field}.timeZone: {e}") from None
    return dt.astimezone(tz)


def item_interval(item: Mapping[str, Any], tz: ZoneInfo) -> Interval:
    """The time an item covers; an all-day event covers whole local days in `tz`."""
    start = parse_time(item.get("start"), tz, "start")
    end = parse_time(item.get("end"), tz, "end")
    if item.get("isAllDay") is True:
        # All-day events float: their dates mean the manager's days, whatever zone Graph
        # used to write midnight.
        raw_start = _wall_date(item.get("start"))
        raw_end = _wall_date(item.get("end"))
        start = local_dt(raw_start, time(0, 0), tz)
        end = local_dt(raw_end, time(0, 0), tz)
    return Interval(start, end)


def _wall_date(value: Any) -> date:
    text = str(value.get("dateTime", "")) if isinstance(value, Mapping) else ""
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"all-day date {text!r} is not YYYY-MM-DD...") from None


def single_values(item: Mapping[str, Any]) -> dict[str, str]:
    """singleValueExtendedProperties as {id: value} (empty when absent or malformed)."""
    props = item.get("singleValueExtendedProperties")
    out: dict[str, str] = {}
    for p in props if isinstance(props, list) else []:
        if isinstance(p, Mapping) and isinstance(p.get("id"), str):
            out[p["id"].lower()] = _str(p.get("value"))
    return out


def tag_from_item(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """The tag JSON stored on an event fetched with its extended properties, or None."""
    raw = single_values(item).get(PROP_TAG.lower())
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("key") else None


def parse_tag(data: Mapping[str, Any] | None) -> CoachdTag | None:
    if not data:
        return None
    try:
        generation = int(data.get("generation", 0))
    except (TypeError, ValueError):
        generation = 0
    return CoachdTag(
        key=str(data.get("key", "")).strip(),
        kind=str(data.get("kind", "")).strip(),
        rep=str(data.get("rep") or "").strip() or None,
        period=str(data.get("period", "")).strip(),
        generation=generation,
    )


def _attendee(a: Mapping[str, Any], organizer: str) -> Attendee:
    email, name = _address(a)
    status = a.get("status")
    response = _str(status.get("response")) if isinstance(status, Mapping) else ""
    role = _str(a.get("type"))
    return Attendee(
        email=email,
        name=name,
        status="accepted" if response == "organizer" else _RESPONSES.get(response, "needsAction"),
        organizer=bool(organizer) and email == organizer,
        role=cast(AttendeeRole, role if role in _ROLES else "required"),
    )


def parse_event(
    item: Mapping[str, Any],
    *,
    calendar: str,
    tz: ZoneInfo,
    tag: Mapping[str, Any] | None = None,
) -> Event:
    """One Graph event (an occurrence when recurring) -> Event. ValueError when unusable.

    `tag` is coachd's tag for this event when it is one of coachd's bookings; such an event
    is known by its transactionId (the planner's id), others by Graph's id.
    """
    graph_id = item.get("id")
    if not isinstance(graph_id, str) or not graph_id:
        raise ValueError("no id")
    iv = item_interval(item, tz)
    if iv.end < iv.start:
        raise ValueError("ends before it starts")
    organizer, _ = _address(item.get("organizer"))
    raw = item.get("attendees")
    attendees = tuple(
        _attendee(a, organizer)
        for a in (raw if isinstance(raw, list) else ())
        if isinstance(a, Mapping) and _address(a)[0]
    )
    is_organizer = item.get("isOrganizer") is True
    rs = item.get("responseStatus")
    response = _str(rs.get("response")) if isinstance(rs, Mapping) else ""
    self_status: PartStat | None = None
    on_list = any(a.email == calendar for a in attendees)
    if not is_organizer and response != "organizer" and (on_list or response not in ("", "none")):
        self_status = _RESPONSES.get(response, "needsAction")
    parsed_tag = parse_tag(tag)
    txid = _str(item.get("transactionId"))
    event_id = txid if parsed_tag and txid else graph_id
    kind = _str(item.get("type"))
    recurring = kind in ("occurrence", "exception")
    if parsed_tag:
        uid = event_id
    elif recurring and _str(item.get("seriesMasterId")):
        uid = _str(item.get("seriesMasterId"))  # iCalUId differs per occurrence in Graph
    else:
        uid = _str(item.get("iCalUId")) or graph_id
    show_as = _str(item.get("showAs")) or "busy"
    categories = item.get("categories")
    return Event(
        id=event_id,
        uid=uid,
        calendar=calendar,
        title=_str(item.get("subject")),
        start=iv.start,
        end=iv.end,
        all_day=item.get("isAllDay") is True,
        description=_body_text(item.get("body")) or _str(item.get("bodyPreview")),
        location=_location(item.get("location")),
        organizer=organizer or None,
        attendees=attendees,
        self_status=self_status,
        transparent=show_as == "free",
        cancelled=item.get("isCancelled") is True,
        recurring=recurring,
        event_type=_SHOW_AS_TYPE.get(show_as, "default"),
        tag=parsed_tag,
        flagged=isinstance(categories, list) and FLAG_CATEGORY in categories,
        sequence=0,  # Graph exposes no sequence number; `updated` tracks changes instead
        updated=_str(item.get("lastModifiedDateTime")),
    )


def _body_text(body: Any) -> str:
    if not isinstance(body, Mapping):
        return ""
    content = _str(body.get("content"))
    return content if _str(body.get("contentType")).lower() == "text" else ""


def _location(loc: Any) -> str:
    return _str(loc.get("displayName")) if isinstance(loc, Mapping) else ""


# The fields the delta cache keeps: what `parse_event` reads and what writes need.
CACHED_FIELDS = frozenset(
    {
        "id",
        "subject",
        "body",
        "start",
        "end",
        "isAllDay",
        "isCancelled",
        "isOrganizer",
        "showAs",
        "responseStatus",
        "organizer",
        "attendees",
        "type",
        "seriesMasterId",
        "iCalUId",
        "categories",
        "transactionId",
        "location",
        "lastModifiedDateTime",
    }
)


def slim(item: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an event worth caching; bodies other than plain text are dropped."""
    out = {k: v for k, v in item.items() if k in CACHED_FIELDS}
    if not _body_text(out.get("body")):
        out.pop("body", None)
    return out


# --- request bodies ------------------------------------------------------------------------


def when(dt: datetime, tz: ZoneInfo) -> dict[str, str]:
    """A dateTimeTimeZone: the wall time in the manager's zone and that zone's Windows name,
    so Outlook shows the event at the right local time across DST changes."""
    local = dt.astimezone(tz)
    return {
        "dateTime": local.replace(tzinfo=None).isoformat(timespec="seconds"),
        "timeZone": windows_name(tz),
    }


def tag_json(b: Book) -> dict[str, Any]:
    return {
        "key": b.key,
        "kind": b.kind,
        "rep": b.rep or "",
        "period": b.period,
        "generation": b.generation,
    }


def book_body(b: Book, tz: ZoneInfo) -> dict[str, Any]:
    """The POST /events body for a booking: transactionId, tags, attendees, free/busy."""
    body: dict[str, Any] = {
        "subject": b.title,
        "body": {"contentType": "text", "content": b.description},
        "start": when(b.start, tz),
        "end": when(b.end, tz),
        "showAs": "busy" if b.busy else "free",
        "transactionId": b.event_id,
        "singleValueExtendedProperties": [
            {"id": PROP_ID, "value": b.event_id},
            {"id": PROP_TAG, "value": json.dumps(tag_json(b), sort_keys=True)},
        ],
    }
    if b.location:
        body["location"] = {"displayName": b.location}
    if b.attendees:
        body["attendees"] = [
            {"emailAddress": {"address": a}, "type": "required"} for a in b.attendees
        ]
    return body


def move_body(m: Move, tz: ZoneInfo) -> dict[str, Any]:
    """The PATCH body that moves a booking."""
    return {"start": when(m.start, tz), "end": when(m.end, tz)}


def decline_comment(d: Decline) -> str:
    """The comment the organizer reads with the decline."""
    if d.delegate_to:
        return f"{d.message} I have asked {d.delegate_to} to attend in my place.".strip()
    return d.message


def decline_body(d: Decline) -> dict[str, Any]:
    """The POST …/decline body: the comment, sent to the organizer."""
    return {"comment": decline_comment(d), "sendResponse": True}


def flag_body(categories: Any) -> dict[str, Any] | None:
    """The PATCH body adding coachd's category to an event's own, or None if already there."""
    current = [c for c in categories if isinstance(c, str)] if isinstance(categories, list) else []
    if FLAG_CATEGORY in current:
        return None
    return {"categories": [*current, FLAG_CATEGORY]}
