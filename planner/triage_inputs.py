"""What triage looks at: the invitations in the manager's calendar (one per one-off meeting
or per series), their fingerprints, and the keys of the emails about them."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from planner.model import Event
from planner.policy import Level, Policy

# Categories with a weekly hour budget in `triage.budgets`.
BUDGETED = ("non_sales", "account_management")
_ANSWERED = ("accepted", "tentative")


@dataclass(frozen=True)
class Invitation:
    """One thing to decide: a one-off event, or a recurring series by its first occurrence.

    `event` is the occurrence actions refer to; `members` are the series' upcoming occurrences
    inside the horizon (just `event` for a one-off); `fingerprint` is what decide-once compares.
    """

    event: Event
    members: tuple[Event, ...]
    fingerprint: str


@dataclass(frozen=True)
class Protection:
    """Why a meeting is spared: `rule` like `protected:boss`, a sentence, and how far triage
    may still go (`keep`: not declined or flagged; `flag`: at most flagged)."""

    rule: str
    reason: str
    level: Level = "keep"


# The order protections are checked and named in (README "Protections").
PROTECTION_ORDER = (
    "protected:organizer-is-manager",
    "protected:already-accepted",
    "protected:tentative",
    "protected:boss (organizer)",
    "protected:leadership (organizer)",
    "protected:never-decline (organizer)",
    "protected:boss (guest)",
    "protected:never-decline (guest)",
    "protected:customer-guest",
)


def series_fingerprint(event: Event, policy: Policy) -> str:
    """Decide-once identity of a recurring series: uid, title, local start time and length.

    A new title, time of day or length gives a new fingerprint (the series is decided again);
    the weekly advance of the first upcoming occurrence does not.
    """
    local = event.start.astimezone(policy.manager.tz)
    length = int(event.interval.duration.total_seconds() // 60)
    return f"series:{event.uid}|{local:%H:%M}|{length}m|{event.title}"


def email_key(kind: str, event_id: str, fingerprint: str) -> str:
    """`<kind>:<event_id>:<hash of fingerprint>`: one email per invitation version, ever."""
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:12]
    return f"{kind}:{event_id}:{digest}"


def _on_guest_list(event: Event, manager: str) -> bool:
    return event.self_status is not None or any(a.email.lower() == manager for a in event.attendees)


def _organized_by_manager(event: Event, manager: str) -> bool:
    return event.organizer is None or event.organizer.lower() == manager


def invitations(policy: Policy, events: Iterable[Event], now: datetime) -> list[Invitation]:
    """The manager's upcoming meetings that triage looks at, one per one-off or series.

    Upcoming means starting after `now` and before `now + coaching.horizon`. Left out: coachd's
    own events, cancelled events, events the manager declined, out-of-office/focus/working-
    location entries, and events the manager is neither organizing nor invited to. Events the
    manager organizes stay in, so that the protection that spares them is named when a rule
    matches them.
    """
    manager = policy.manager.email.lower()
    until = now + policy.coaching.horizon
    groups: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for e in events:
        if e.tag is not None or e.cancelled or e.event_type != "default":
            continue
        if e.self_status == "declined" or not (now < e.start < until):
            continue
        if not (_organized_by_manager(e, manager) or _on_guest_list(e, manager)):
            continue
        groups[("series", e.uid) if e.recurring else ("one", e.id)].append(e)
    out = []
    for (kind, _), members in groups.items():
        members.sort(key=lambda e: (e.start, e.id))
        first = members[0]
        fp = series_fingerprint(first, policy) if kind == "series" else first.fingerprint()
        out.append(Invitation(first, tuple(members), fp))
    out.sort(key=lambda i: (i.event.start, i.event.id))
    return out
