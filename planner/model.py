"""The Snapshot the planner reads: events, busy times, KPI history and coachd's own memory.

Everything here is plain, immutable data built by `integrations`; the planner never
fetches anything itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from planner.record import Record
from planner.timeutil import Interval

PartStat = Literal["accepted", "declined", "tentative", "needsAction"]
EventType = Literal["default", "focusTime", "outOfOffice", "workingLocation"]
AttendeeRole = Literal["required", "optional", "resource"]


@dataclass(frozen=True)
class Attendee:
    """One guest of an event and their answer."""

    email: str
    name: str = ""
    status: PartStat = "needsAction"
    organizer: bool = False
    role: AttendeeRole = "required"  # a resource is a room or equipment, not a person


@dataclass(frozen=True)
class CoachdTag:
    """The private tag on every event coachd booked: what it is and which period it serves."""

    key: str  # "<kind>:<rep or '-'>:<period>" -- stable across generations
    kind: str  # one_on_one, ride_along, huddle, sales_meeting, call_review
    rep: str | None
    period: str
    generation: int = 0


@dataclass(frozen=True)
class Event:
    """One occurrence of a calendar event (recurring events arrive expanded).

    `id` is unique per occurrence and is what actions refer to; `uid` is the series id.
    `self_status` is the calendar owner's own answer (None when the owner is the organizer
    or not on the guest list). `transparent` events do not block time.
    """

    id: str
    uid: str
    calendar: str
    title: str
    start: datetime
    end: datetime
    all_day: bool = False
    description: str = ""
    location: str = ""
    organizer: str | None = None
    attendees: tuple[Attendee, ...] = ()
    self_status: PartStat | None = None
    transparent: bool = False
    cancelled: bool = False
    recurring: bool = False
    event_type: EventType = "default"
    tag: CoachdTag | None = None
    flagged: bool = False
    sequence: int = 0
    updated: str = ""

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)

    def blocks_time(self) -> bool:
        """Whether this event makes its owner busy: opaque, not cancelled, not declined."""
        if self.cancelled or self.transparent or self.self_status == "declined":
            return False
        return self.event_type != "workingLocation"

    def fingerprint(self) -> str:
        """What makes an invitation 'the same' for decide-once triage: time and title."""
        return f"{self.start.isoformat()}|{self.end.isoformat()}|{self.title}"


@dataclass(frozen=True)
class KpiRow:
    """One KPI figure for one rep in one ISO week (`week` is that week's Monday)."""

    week: date
    rep: str
    kpi: str
    value: float
    source: str = ""  # the kpi_source name it came from
    as_of: datetime | None = None  # when that source last read it successfully


@dataclass(frozen=True)
class KpiSourceStatus:
    """How one KPI source fared this tick: when it last read successfully and whether its
    figures are stale (the read failed, or the last good read is older than `max_age`)."""

    name: str
    kind: str
    as_of: datetime | None
    stale: bool
    problem: str = ""


@dataclass(frozen=True)
class BookingRecord:
    """What coachd remembers about a booking it made (the calendar stays the truth).

    status: `booked` (written and confirmed), `pending` (intent recorded, write not confirmed),
    `deleted` (someone deleted it; coachd noticed), `cancelled` (coachd removed it).
    `person_moved`: a person moved it since coachd placed it, so coachd never moves it again.
    """

    key: str
    event_id: str
    generation: int
    status: Literal["pending", "booked", "deleted", "cancelled"]
    kind: str
    rep: str | None
    start: datetime
    end: datetime
    person_moved: bool = False


@dataclass(frozen=True)
class Decision:
    """A triage decision already taken for an invitation (decided once per fingerprint)."""

    event_id: str
    fingerprint: str
    action: str  # keep, flag, decline, delegate
    rule: str
    reason: str
    decided_at: datetime
    title: str = ""
    organizer: str = ""
    start: datetime | None = None
    cap: str | None = None
    policy: str = ""  # the triage policy's hash; "manager" for the manager's own answer
    was: str | None = None  # "<action>:<rule>" of the decision a policy change replaced


@dataclass(frozen=True)
class Reply:
    """One message from the inbox that coachd has not processed yet (see integrations.inbox).

    `refs` holds the Message-IDs it answers (In-Reply-To and References); `text` is its plain
    text body. Everything but `message_id` is outside text: hostile until checked.
    """

    message_id: str
    sender: str
    subject: str = ""
    refs: tuple[str, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class Snapshot:
    """Everything one tick knows about the world, read before planning.

    `events` are the manager's events from `window.start` (which includes some look-back for
    the audit and KPI context) to the end of the horizon. `rep_busy` holds each rep's busy
    intervals. `bookings`, `decisions` and `sent` are coachd's own memory from the state store.
    `read_errors` names calendars that could not be read this tick (the planner books nothing
    that depends on them). `replies` are the inbox's unprocessed messages; `digest_numbers`
    maps each recent digest's email key to its numbered flags (number -> (event id,
    fingerprint)), so a reply like `decline 2` can be resolved.
    """

    window: Interval
    events: tuple[Event, ...] = ()
    rep_busy: Mapping[str, tuple[Interval, ...]] = field(default_factory=dict)
    kpis: tuple[KpiRow, ...] = ()
    kpi_sources: tuple[KpiSourceStatus, ...] = ()
    bookings: Mapping[str, BookingRecord] = field(default_factory=dict)
    decisions: Mapping[str, Decision] = field(default_factory=dict)
    sent: frozenset[str] = frozenset()
    notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # each rep's coaching record (records/<rep>.md), when the records folder has one
    records: Mapping[str, Record] = field(default_factory=dict)
    read_errors: Mapping[str, str] = field(default_factory=dict)
    last_event_count: int | None = None
    replies: tuple[Reply, ...] = ()
    # the inbox's messages not yet handled for the coaching records (planner.record_mail)
    record_mail: tuple[Reply, ...] = ()
    digest_numbers: Mapping[str, Mapping[str, tuple[str, str]]] = field(default_factory=dict)
    # Outside objects the reader skips (warning -> when first seen), for the digest.
    skipped: Mapping[str, datetime] = field(default_factory=dict)
    # whether a rep's busy time includes their copy of coachd's invitations (Google's
    # free/busy does; the local backend writes no copies)
    rep_busy_shows_invites: bool = False
