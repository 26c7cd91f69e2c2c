"""Small builders for planner tests: a Policy from a dict, Events, Snapshots, Decisions.

Generic on purpose so any planner test can use them:

    policy = make_policy({"triage": {"mode": "decline", "rules": [...]}})
    ev = make_event("Desk booking", at(1, 10), minutes=30, organizer="ops@acme.com")
    snap = make_snapshot([ev])

Times default to America/Chicago around Monday 30 Nov 2026 06:00 (`NOW`).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from planner.actions import Action, Decline, Flag, Keep
from planner.model import Attendee, CoachdTag, Decision, Event, PartStat, Snapshot
from planner.policy import Policy
from planner.timeutil import Interval

TZ = ZoneInfo("America/Chicago")
MANAGER = "dana@acme.com"
BOSS = "vp@acme.com"
# A Monday before the working day; the week under test is Mon 30 Nov - Sun 6 Dec 2026.
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=TZ)

BASE_POLICY: dict[str, Any] = {
    "manager": {
        "name": "Dana Manager",
        "email": MANAGER,
        "timezone": "America/Chicago",
        "boss": BOSS,
    },
    "team": [
        {"name": "Riley Rep", "email": "riley@acme.com"},
        {"name": "Sam Seller", "email": "sam@acme.com"},
    ],
}

_ids = itertools.count(1)


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of base with over merged in: dicts merge key by key, anything else replaces."""
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def make_policy(overrides: Mapping[str, Any] | None = None) -> Policy:
    """A validated Policy: BASE_POLICY with `overrides` deep-merged in."""
    return Policy.model_validate(deep_merge(BASE_POLICY, overrides or {}))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """An aware datetime in TZ on a day of the weeks around NOW: 20-30 mean November 2026,
    1-19 mean December 2026 (so `at(30, 9)` is Monday 30 Nov, `at(2, 10)` Wednesday 2 Dec)."""
    month = 11 if day >= 20 else 12
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def make_event(
    title: str = "Meeting",
    start: datetime | None = None,
    *,
    minutes: int = 60,
    organizer: str | None = "ops@acme.com",
    guests: Sequence[str] = (),
    self_status: PartStat | None = "needsAction",
    owner: str = MANAGER,
    id: str | None = None,
    uid: str | None = None,
    **fields: Any,
) -> Event:
    """An event in the owner's calendar, with the owner and organizer on the guest list.

    `self_status=None` leaves the owner off the guest list (as for the owner's own events);
    extra `fields` go straight to Event (description, recurring, cancelled, tag, ...).
    """
    start = start or at(1, 10)
    n = next(_ids)
    people: list[Attendee] = []
    if organizer:
        people.append(Attendee(organizer, status="accepted", organizer=True))
    people += [Attendee(g) for g in guests if g != organizer]
    if self_status is not None and owner != organizer:
        people.append(Attendee(owner, status=self_status))
    eid = id or f"ev{n}"
    return Event(
        id=eid,
        uid=uid or eid,
        calendar=owner,
        title=title,
        start=start,
        end=start + timedelta(minutes=minutes),
        organizer=organizer,
        attendees=tuple(people),
        self_status=self_status if owner != organizer else None,
        **fields,
    )


def make_series(
    title: str,
    first: datetime,
    count: int,
    *,
    every: timedelta = timedelta(weeks=1),
    uid: str | None = None,
    **kw: Any,
) -> list[Event]:
    """`count` occurrences of a recurring event, each with its own id and the shared uid."""
    uid = uid or f"series{next(_ids)}"
    return [
        make_event(
            title,
            first + i * every,
            id=f"{uid}_{(first + i * every):%Y%m%dT%H%M}",
            uid=uid,
            recurring=True,
            **kw,
        )
        for i in range(count)
    ]


def coachd_tag(kind: str = "one_on_one", rep: str | None = "riley@acme.com") -> CoachdTag:
    """The tag coachd puts on its own bookings."""
    return CoachdTag(key=f"{kind}:{rep or '-'}:2026-W49", kind=kind, rep=rep, period="2026-W49")


def make_snapshot(
    events: Iterable[Event] = (),
    *,
    decisions: Mapping[str, Decision] | None = None,
    now: datetime = NOW,
    **fields: Any,
) -> Snapshot:
    """A Snapshot over [now - 1 week, now + 4 weeks) holding the events."""
    return Snapshot(
        window=Interval(now - timedelta(weeks=1), now + timedelta(weeks=4)),
        events=tuple(events),
        decisions=dict(decisions or {}),
        **fields,
    )


def decisions_from(
    actions: Iterable[Action], now: datetime = NOW, previous: Mapping[str, Decision] | None = None
) -> dict[str, Decision]:
    """What the executor would record for these triage actions, keyed by event id."""
    out = dict(previous or {})
    for a in actions:
        if isinstance(a, Decline | Flag | Keep):
            if isinstance(a, Decline):
                what = "delegate" if a.delegate_to else "decline"
            else:
                what = type(a).__name__.lower()
            out[a.event_id] = Decision(
                event_id=a.event_id,
                fingerprint=a.fingerprint,
                action=what,
                rule=a.rule,
                reason=a.reason,
                decided_at=now,
                title=a.title,
                organizer=a.organizer,
                start=a.start,
                cap=None if isinstance(a, Decline) else a.cap,
                policy=a.policy,
                was=a.was,
            )
    return out
