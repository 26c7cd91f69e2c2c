"""A cheap look at an .ics file's bytes before (or instead of) a full parse.

icalendar parses at under 1 MB/s, and in a year-old vdir most files hold one meeting that
ended months ago. `scan` reads the unfolded lines of each VEVENT for UID, DTSTART, DTEND and
DURATION, and whether anything makes the event recur (RRULE, RDATE, EXRULE,
RECURRENCE-ID). It answers only when it is sure: any line it does not understand, any
recurrence, a missing UID or DTSTART, an end before the start, returns None and the caller
parses the file in full. The span it returns is widened by two days on each side, so a
floating or all-day time (read later in the manager's zone) or a TZID whose offset the scan
does not look up is still covered.

`strip_standard_vtimezones` drops VTIMEZONE blocks whose TZID is an IANA zone name that
zoneinfo knows: icalendar then resolves the TZID with zoneinfo (as it does when the block is
there), without building the definition first, which was most of the parse time of a
coachd-written file. Only the read path uses it; edits keep the file as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

# Wider than any UTC offset (-12h..+14h) and any all-day or floating reading of a time.
MARGIN = timedelta(days=2)

_RECURRING = {b"RRULE", b"RDATE", b"EXRULE", b"RECURRENCE-ID"}
_DATE = re.compile(rb"^(\d{4})(\d{2})(\d{2})$")
_DATETIME = re.compile(rb"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$")
_DURATION = re.compile(rb"^\+?P(?:(\d+)W|(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?)$")
_VTIMEZONE = re.compile(rb"BEGIN:VTIMEZONE\r?\n(.*?)END:VTIMEZONE\r?\n", re.S)
_TZID_LINE = re.compile(rb"^TZID:([^\r\n]*)\r?$", re.M)


@dataclass(frozen=True)
class Scan:
    """What the scan is sure of: the file's UIDs and UTC bounds around all of its events."""

    uids: frozenset[str]
    start: datetime  # no event of the file starts before this (aware, UTC)
    end: datetime  # no event of the file ends after this (aware, UTC)

    def may_touch(self, start: datetime, end: datetime) -> bool:
        """Whether an event of the file could overlap [start, end) (conservatively)."""
        return self.start <= end and self.end >= start


def _unfold(data: bytes) -> list[bytes]:
    """The content lines, folding undone (RFC 5545 3.1: CRLF followed by a space or a tab)."""
    text = data.replace(b"\r\n", b"\n")
    text = text.replace(b"\n ", b"").replace(b"\n\t", b"")
    return text.split(b"\n")


def _split(line: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(NAME upper-cased, parameters, value) of a content line; None if it has no value.

    The value starts at the first colon outside a quoted parameter value.
    """
    quoted = False
    for i, ch in enumerate(line):
        if ch == 0x22:  # "
            quoted = not quoted
        elif ch == 0x3A and not quoted:  # :
            head, value = line[:i], line[i + 1 :]
            name, _, params = head.partition(b";")
            return name.strip().upper(), params, value
    return None


def _unescape_text(value: bytes) -> str | None:
    """A TEXT value as icalendar reads it (backslash escapes undone), or None if not UTF-8."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _when(params: bytes, value: bytes) -> tuple[datetime, bool] | None:
    """A DATE or DATE-TIME value as a naive-as-UTC datetime, and whether it was a DATE."""
    value = value.strip()
    if m := _DATETIME.match(value):
        if b"VALUE=DATE;" in params.upper() + b";":
            return None  # a date-time value labelled as a date: let the parser judge
        y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
        try:
            return datetime(y, mo, d, h, mi, min(s, 59), tzinfo=UTC), False
        except ValueError:
            return None
    if m := _DATE.match(value):
        if b"VALUE=DATE-TIME" in params.upper():
            return None
        try:
            y, mo, d = (int(g) for g in m.groups())
            return datetime(y, mo, d, tzinfo=UTC), True
        except ValueError:
            return None
    return None


def _duration(value: bytes) -> timedelta | None:
    m = _DURATION.match(value.strip())
    if m is None:
        return None
    w, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    return timedelta(weeks=w, days=d, hours=h, minutes=mi, seconds=s)


def scan(data: bytes) -> Scan | None:
    """UIDs and conservative bounds of every event in a non-recurring file, or None when
    the file needs a full parse (recurrence, anything unusual or malformed, no VEVENT)."""
    lines = _unfold(data)
    if not lines or lines[0].strip().upper() != b"BEGIN:VCALENDAR":
        return None
    uids: set[str] = set()
    lo: datetime | None = None
    hi: datetime | None = None
    depth = 0  # components open inside the current VEVENT (VALARM...)
    in_event = False
    props: dict[bytes, tuple[bytes, bytes]] = {}
    for raw in lines:
        line = raw.rstrip(b"\r")
        if not line:
            continue
        upper = line.upper()
        if upper.startswith(b"BEGIN:"):
            if in_event:
                depth += 1
            elif upper == b"BEGIN:VEVENT":
                in_event, depth, props = True, 0, {}
            continue
        if upper.startswith(b"END:"):
            if not in_event:
                continue
            if depth:
                depth -= 1
                continue
            if upper != b"END:VEVENT":
                return None
            in_event = False
            bounds = _event_bounds(props)
            if bounds is None:
                return None
            uid, start, end = bounds
            uids.add(uid)
            lo = start if lo is None or start < lo else lo
            hi = end if hi is None or end > hi else hi
            continue
        if not in_event or depth:
            continue
        split = _split(line)
        if split is None:
            return None
        name, params, value = split
        if name in _RECURRING:
            return None
        if name in (b"UID", b"DTSTART", b"DTEND", b"DURATION"):
            if name in props:
                return None  # a property given twice: the parser decides what that means
            props[name] = (params, value)
    if in_event or lo is None or hi is None:
        return None
    return Scan(frozenset(uids), lo - MARGIN, hi + MARGIN)


def _event_bounds(props: dict[bytes, tuple[bytes, bytes]]) -> tuple[str, datetime, datetime] | None:
    """(UID, start, end) of one VEVENT's collected properties, or None if unsure."""
    if b"UID" not in props or b"DTSTART" not in props:
        return None
    uid = _unescape_text(props[b"UID"][1])
    if uid is None or not uid.strip():
        return None
    start = _when(*props[b"DTSTART"])
    if start is None:
        return None
    begin, is_date = start
    if b"DTEND" in props:
        end = _when(*props[b"DTEND"])
        if end is None or end[1] != is_date or end[0] < begin:
            return None
        finish = end[0]
    elif b"DURATION" in props:
        dur = _duration(props[b"DURATION"][1])
        if dur is None:
            return None
        finish = begin + dur
    else:
        finish = begin + timedelta(days=1) if is_date else begin
    return uid.strip(), begin, finish


@lru_cache(maxsize=64)
def _is_iana(tzid: bytes) -> bool:
    try:
        name = tzid.decode("ascii").strip()
        return bool(name) and ZoneInfo(name).key == name
    except Exception:
        return False


def strip_standard_vtimezones(data: bytes) -> bytes:
    """`data` without the VTIMEZONE blocks of IANA zones zoneinfo knows (see module doc)."""
    if b"BEGIN:VTIMEZONE" not in data:
        return data

    def drop(m: re.Match[bytes]) -> bytes:
        # Unfolded, a TZID line that was folded would not match: such a block is kept.
        tzid = _TZID_LINE.search(m.group(1))
        return b"" if tzid is not None and _is_iana(tzid.group(1)) else m.group(0)

    return _VTIMEZONE.sub(drop, data)
