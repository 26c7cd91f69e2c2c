"""What a tick may do. `plan()` returns these; `integrations.tick.executor` carries them out.

Every action carries `reason`, a sentence a person can read ("rep is below standard on
calls for 3 weeks, so weekly instead of every 2 weeks").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Book:
    """Create a coachd event. `event_id` is deterministic, so writing it twice is harmless."""

    key: str
    event_id: str
    kind: str
    rep: str | None
    period: str
    generation: int
    start: datetime
    end: datetime
    title: str
    description: str
    attendees: tuple[str, ...]
    reason: str
    location: str = ""
    busy: bool = True


@dataclass(frozen=True)
class Move:
    """Move a coachd event that nobody touched to a new time, keeping its identity (id, key,
    generation): the guests get one update, not a cancellation and a new invitation."""

    key: str
    event_id: str
    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True)
class Cancel:
    """Remove a coachd event that policy no longer wants."""

    key: str
    event_id: str
    reason: str


@dataclass(frozen=True)
class Remember:
    """Update coachd's memory of a booking without touching the calendar.

    Used when a booking is found in the calendar but not in the state (adopt it), or when a
    person deleted one (record that, so coachd does not fight them).
    """

    key: str
    event_id: str
    status: str
    kind: str
    rep: str | None
    generation: int
    start: datetime
    end: datetime
    reason: str
    person_moved: bool = False


@dataclass(frozen=True)
class TriageFields:
    """What every triage action names: the invitation (its id, the version it judged, title,
    organizer, start) and the rule that decided."""

    event_id: str
    fingerprint: str
    title: str
    organizer: str
    start: datetime
    rule: str


@dataclass(frozen=True)
class Decline(TriageFields):
    """Decline an invitation on the manager's behalf (or hand it to a delegate)."""

    message: str
    reason: str
    delegate_to: str | None = None
    policy: str = ""
    was: str | None = None


@dataclass(frozen=True)
class Verdict(TriageFields):
    """A triage decision that does not answer the invitation (Flag, Keep).

    `rule` is what decided; `cap` the protection or `at_most` rule that limited it (if any);
    `policy` the triage policy's hash; `was` the earlier decision a policy change replaced.
    """

    reason: str
    cap: str | None = None
    policy: str = ""
    was: str | None = None


@dataclass(frozen=True)
class Flag(Verdict):
    """Mark a meeting for the manager's attention without answering it."""


@dataclass(frozen=True)
class Keep(Verdict):
    """Record that triage looked at an invitation and leaves it alone (decide once)."""


@dataclass(frozen=True)
class AfterBooking:
    """An email about a coaching block: not sent in a tick where writing the block (booking
    key `key`: a Book, Move or Cancel) failed; the next tick plans it again."""

    key: str


@dataclass(frozen=True)
class AfterDecline:
    """An email about a decline (the reply to the organizer, the delegate's copy): not sent
    in a tick where declining event `event_id` failed."""

    event_id: str


@dataclass(frozen=True)
class SendEmail:
    """Send one email. `key` is unique per email ever; a key already sent is never resent.

    `context` holds only plain data (str, numbers, bools, lists, dicts) for the templates.
    `waits_on` names the calendar write this email depends on (planner.email_kinds says
    which kinds have one).
    """

    key: str
    kind: str
    to: tuple[str, ...]
    context: Mapping[str, Any]
    reason: str
    cc: tuple[str, ...] = field(default=())
    waits_on: AfterBooking | AfterDecline | None = None


@dataclass(frozen=True)
class Processed:
    """Record that an inbox message was handled, so it is never handled again. The executor
    records it after every other action of the tick (a crash before that handles it again,
    and every action it led to is idempotent)."""

    message_id: str
    reason: str
    # which use handled it (the inbox keeps a memory per use); `ignored`: mail that did not
    # count (a stranger, a rep writing about another rep), counted in the tick's report
    namespace: str = "replies"
    ignored: bool = False


@dataclass(frozen=True)
class RecordEdit:
    """What one message adds to one rep's record (planner.record_mail). Plain data (it
    shows in `plan --json`); applying it twice changes nothing the second time."""

    rep: str
    message_id: str
    who: str  # "manager" or "rep"
    day: str  # ISO date the message was handled
    points: tuple[str, ...] = ()
    ticks: tuple[str, ...] = ()
    items: tuple[tuple[str, str, str], ...] = ()  # (text, owner, due ISO or "")
    notes: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class OpenCase:
    """Open a coach-up or coach-out case in a rep's record (planner.cases). Plain data; the
    shell writes it only when no case of that kind is open, so a retry adds it once."""

    rep: str
    kind: str  # coach-up or coach-out
    opened: str  # ISO date
    trigger: str
    plan: tuple[tuple[str, str], ...]  # (action, due ISO date)
    checkpoints: tuple[str, ...]  # ISO dates
    reason: str


@dataclass(frozen=True)
class Hold:
    """Make no writes this tick: the snapshot looks wrong (a safety brake pulled)."""

    reason: str


@dataclass(frozen=True)
class Notice:
    """Something a person should know that needs no write (a block that could not be booked,
    a meeting that now overlaps a coaching block). Shown by `coachd plan` and logged.

    `needs_you` (what it is about) marks coaching the manager must decide: the executor keeps
    the tick's list for `coachd status`; `options` are up to 3 choices."""

    reason: str
    needs_you: str = ""
    options: tuple[str, ...] = ()


Action = (
    Book
    | Move
    | Cancel
    | Remember
    | Decline
    | Flag
    | Keep
    | SendEmail
    | Processed
    | RecordEdit
    | OpenCase
    | Hold
    | Notice
)


def describe(action: Action) -> str:
    """One line for `coachd plan`: what and why."""
    name = type(action).__name__
    if isinstance(action, Book | Move):
        when = action.start.strftime("%a %Y-%m-%d %H:%M")
        end = action.end.strftime("%H:%M")
        what = action.title if isinstance(action, Book) else action.key
        return f"{name:<7} {when}-{end}  {what}  -- {action.reason}"
    if isinstance(action, Decline | Flag | Keep):
        when = action.start.strftime("%a %Y-%m-%d %H:%M")
        verb = "Delegate" if isinstance(action, Decline) and action.delegate_to else name
        cap = getattr(action, "cap", None)
        rule = f"{action.rule}, capped by {cap}" if cap else action.rule
        return f"{verb:<7} {when}  {action.title!r} from {action.organizer}  [{rule}]  -- " + (
            action.reason
        )
    if isinstance(action, SendEmail):
        return f"{name:<7} {action.kind} to {', '.join(action.to)}  -- {action.reason}"
    if isinstance(action, Hold):
        return f"{name:<7} no changes this tick  -- {action.reason}"
    if isinstance(action, Processed):
        return f"{'Reply':<7} {action.message_id}  -- {action.reason}"
    if isinstance(action, Notice):
        return f"{name:<7} {action.reason}"
    if isinstance(action, RecordEdit):
        return f"{'Record':<7} {action.rep}  -- {action.reason}"
    if isinstance(action, OpenCase):
        return f"{'Case':<7} {action.kind} for {action.rep}  -- {action.reason}"
    return f"{name:<7} {action.key}  -- {action.reason}"


def to_json(action: Action) -> dict[str, Any]:
    """A JSON-ready dict for `coachd plan --json`."""
    d = asdict(action)
    for k, v in list(d.items()):
        if isinstance(v, datetime):
            d[k] = v.isoformat()
        elif isinstance(v, tuple):
            d[k] = list(v)
    return {"action": type(action).__name__, **d}
