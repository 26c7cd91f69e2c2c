"""Hypothesis strategies for teams and calendars, and a tiny in-memory executor.

Reusable by any planner or reliability test:
- `policies()`: small random teams and coaching settings (a Policy);
- `worlds()`: a (policy, snapshot, now) triple with a busy manager calendar (timed, all-day
  and multi-day events, some transparent or declined) and busy reps;
- `triage_worlds()`: the same with invitations waiting for the manager's answer (one-off and
  recurring) and a random triage policy in decline mode;
- `apply(snapshot, actions, manager)`: what the executor would leave behind after carrying out
  every action (coachd's events and booking records, the manager's declines, triage decisions,
  sent email keys), so a test can plan again on the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from planner.actions import (
    Action,
    Book,
    Cancel,
    Decline,
    Flag,
    Keep,
    Move,
    Remember,
    SendEmail,
)
from planner.model import Attendee, BookingRecord, CoachdTag, Decision, Event, Snapshot
from planner.periods import snapshot_window
from planner.policy import Policy, Rule
from planner.timeutil import Interval, local_dt

MANAGER = "maria@acme.example"
ZONES = ("America/Chicago", "Europe/Berlin", "UTC", "Australia/Sydney")


def policy(
    team: Sequence[dict[str, Any]] = (), tz: str = "America/Chicago", **coaching: Any
) -> Policy:
    """A Policy for tests: Maria's team, with coaching settings overridden by keyword."""
    members = list(team) or [
        {"name": "Ana", "email": "ana@acme.example"},
        {"name": "Ben", "email": "ben@acme.example"},
    ]
    return Policy.model_validate(
        {
            "manager": {"name": "Maria", "email": MANAGER, "timezone": tz},
            "team": members,
            "coaching": coaching,
        }
    )


def event(
    start: datetime,
    end: datetime,
    title: str = "Meeting",
    *,
    eid: str | None = None,
    tag: CoachdTag | None = None,
    **kw: Any,
) -> Event:
    """An event of the manager's calendar."""
    ident = eid or f"ev-{title}-{start.isoformat()}"
    return Event(
        id=ident, uid=ident, calendar=MANAGER, title=title, start=start, end=end, tag=tag, **kw
    )


def apply(snapshot: Snapshot, actions: Iterable[Action], manager: str = MANAGER) -> Snapshot:
    """The snapshot after an executor carried out the actions successfully.

    A Decline answers the occurrence, or every occurrence of a recurring series, as the
    backends do; Decline, Flag and Keep are remembered as Decisions; sent emails by key.
    """
    events = list(snapshot.events)
    bookings = dict(snapshot.bookings)
    decisions = dict(snapshot.decisions)
    sent = set(snapshot.sent)
    for a in actions:
        if isinstance(a, Book):
            events.append(_booked_event(a, manager))
            bookings[a.key] = BookingRecord(
                key=a.key,
                event_id=a.event_id,
                generation=a.generation,
                status="booked",
                kind=a.kind,
                rep=a.rep,
                start=a.start,
                end=a.end,
            )
        elif isinstance(a, Cancel):
            events = [e for e in events if e.id != a.event_id]
            old = bookings.get(a.key)
            if old and old.event_id == a.event_id:
                bookings[a.key] = replace(old, status="cancelled")
        elif isinstance(a, Move):
            events = [
                replace(e, start=a.start, end=a.end, sequence=e.sequence + 1)
                if e.id == a.event_id
                else e
                for e in events
            ]
            old = bookings.get(a.key)
            if old and old.event_id == a.event_id:
                bookings[a.key] = replace(old, start=a.start, end=a.end)
        elif isinstance(a, Remember):
            bookings[a.key] = BookingRecord(
                key=a.key,
                event_id=a.event_id,
                generation=a.generation,
                status=a.status,  # type: ignore[arg-type]
                kind=a.kind,
                rep=a.rep,
                start=a.start,
                end=a.end,
                person_moved=a.person_moved,
            )
        elif isinstance(a, Decline | Flag | Keep):
            if isinstance(a, Decline):
                target = next(e for e in events if e.id == a.event_id)
                events = [
                    replace(e, self_status="declined")
                    if e.id == a.event_id or (target.recurring and e.uid == target.uid)
                    else e
                    for e in events
                ]
            verb = "keep" if isinstance(a, Keep) else "flag" if isinstance(a, Flag) else "decline"
            decisions[a.event_id] = Decision(
                event_id=a.event_id,
                fingerprint=a.fingerprint,
                action=verb,
                rule=a.rule,
                reason=a.reason,
                decided_at=a.start,
                title=a.title,
                organizer=a.organizer,
                start=a.start,
            )
        elif isinstance(a, SendEmail):
            sent.add(a.key)
    return replace(
        snapshot,
        events=tuple(events),
        bookings=bookings,
        decisions=decisions,
        sent=frozenset(sent),
    )


def _booked_event(a: Book, manager: str) -> Event:
    return Event(
        id=a.event_id,
        uid=a.event_id,
        calendar=manager,
        title=a.title,
        start=a.start,
        end=a.end,
        description=a.description,
        organizer=manager,
        attendees=tuple(Attendee(email=x) for x in a.attendees),
        transparent=not a.busy,
        tag=CoachdTag(key=a.key, kind=a.kind, rep=a.rep, period=a.period, generation=a.generation),
    )


# -- hypothesis ---------------------------------------------------------------------------

_DAYS = ("mon", "tue", "wed", "thu", "fri")


@st.composite
def policies(draw: st.DrawFn, max_reps: int = 4) -> Policy:
    """A small team with random cadences, windows, buffer, cap and kinds switched on or off."""
    return Policy.model_validate(draw(policy_dicts(max_reps=max_reps)))


@st.composite
def policy_dicts(draw: st.DrawFn, max_reps: int = 4) -> dict[str, Any]:
    """The config (as parsed YAML) behind `policies`."""
    n = draw(st.integers(min_value=1, max_value=max_reps))
    team = []
    for i in range(n):
        rep: dict[str, Any] = {"name": f"Rep {i}", "email": f"rep{i}@acme.example"}
        if draw(st.booleans()):
            rep["start_date"] = (
                date(2027, 3, 1) + timedelta(days=draw(st.integers(-120, 10)))
            ).isoformat()
        team.append(rep)
    start_h = draw(st.integers(7, 9))
    end_h = draw(st.integers(15, 18))
    days = draw(st.lists(st.sampled_from(_DAYS), min_size=1, max_size=3, unique=True))
    coaching = {
        "horizon": draw(st.sampled_from(["1 week", "10 days", "2 weeks"])),
        "buffer": draw(st.sampled_from(["0m", "5m", "10m", "15m"])),
        "max_per_day": draw(st.sampled_from(["1h", "2h", "4h", "8h"])),
        "slot_step": draw(st.sampled_from(["15m", "30m"])),
        "ramp_weeks": draw(st.integers(0, 8)),
        "one_on_one": {
            "every": draw(st.sampled_from(["1 week", "2 weeks", "4 weeks"])),
            "duration": draw(st.sampled_from(["30m", "45m", "1h"])),
            "days": days,
            "rebook_deleted": draw(st.booleans()),
            "window": {
                "start": f"{draw(st.integers(start_h, 11)):02d}:00",
                "end": f"{draw(st.integers(13, end_h)):02d}:00",
            },
        },
        "ride_along": {
            "enabled": draw(st.booleans()),
            "length": draw(st.sampled_from(["half_day", "full_day"])),
            "per_week": draw(st.integers(0, 2)),
        },
        "huddle": {"enabled": draw(st.booleans())},
        "sales_meeting": {
            "enabled": draw(st.booleans()),
            "topics": ["Discovery", "Objections", "Closing"],
        },
        "call_review": {
            "enabled": draw(st.booleans()),
            "per_week": draw(st.integers(0, 3)),
        },
    }
    return {
        "manager": {
            "name": "Maria",
            "email": MANAGER,
            "timezone": draw(st.sampled_from(ZONES)),
            "working_hours": {"start": f"{start_h:02d}:00", "end": f"{end_h:02d}:00"},
        },
        "team": team,
        "coaching": coaching,
    }


@st.composite
def manager_events(draw: st.DrawFn, pol: Policy, now: datetime, n_max: int = 40) -> list[Event]:
    """Timed, all-day and multi-day events around now; some transparent or declined."""
    tz = pol.manager.tz
    out: list[Event] = []
    base = now.astimezone(tz).date()
    for i in range(draw(st.integers(0, n_max))):
        day = base + timedelta(days=draw(st.integers(-2, 14)))
        kind = draw(st.sampled_from(["timed"] * 8 + ["all_day", "multi_day"]))
        if kind == "timed":
            hour = draw(st.integers(6, 18))
            start = local_dt(day, time(hour, draw(st.sampled_from([0, 15, 30, 45]))), tz)
            end = start + timedelta(minutes=draw(st.sampled_from([15, 30, 60, 90, 180])))
            all_day = False
        else:
            start = local_dt(day, time(0), tz)
            length = 1 if kind == "all_day" else draw(st.integers(2, 3))
            end = local_dt(day + timedelta(days=length), time(0), tz)
            all_day = True
        out.append(
            event(
                start,
                end,
                f"Meeting {i}",
                eid=f"m{i}",
                all_day=all_day,
                transparent=draw(st.booleans()) and draw(st.booleans()),
                self_status=draw(st.sampled_from([None, "accepted", "declined", "tentative"])),
            )
        )
    return out


@st.composite
def worlds(draw: st.DrawFn, max_reps: int = 4) -> tuple[Policy, Snapshot, datetime]:
    """A random (policy, snapshot, now): a busy manager, busy reps, nothing booked yet."""
    return draw(worlds_for(draw(policies(max_reps=max_reps))))


@st.composite
def worlds_for(draw: st.DrawFn, pol: Policy) -> tuple[Policy, Snapshot, datetime]:
    """A random snapshot and instant for a given policy (see `worlds`)."""
    tz = pol.manager.tz
    # March 2027 holds both DST changes the project tests (US 14 Mar, EU 28 Mar)
    day = date(2027, 3, 1) + timedelta(days=draw(st.integers(0, 30)))
    now = local_dt(day, time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 7, 30]))), tz)
    events = draw(manager_events(pol, now))
    rep_busy: dict[str, tuple[Interval, ...]] = {}
    for rep in pol.team:
        ivs = []
        for _ in range(draw(st.integers(0, 6))):
            d = day + timedelta(days=draw(st.integers(0, 14)))
            s = local_dt(d, time(draw(st.integers(7, 17)), draw(st.sampled_from([0, 30]))), tz)
            ivs.append(Interval(s, s + timedelta(minutes=draw(st.sampled_from([30, 60, 120])))))
        rep_busy[rep.email] = tuple(ivs)
    snap = Snapshot(window=snapshot_window(pol, now), events=tuple(events), rep_busy=rep_busy)
    return pol, snap, now


def utc(dt: datetime) -> datetime:
    return dt.astimezone(ZoneInfo("UTC"))


_TITLES = (
    "Facilities walkthrough",
    "Benefits webinar",
    "Pipeline review",
    "Desk move",
    "Customer QBR",
    "Team lunch",
)
_ORGANIZERS = ("ops@acme.example", "hr@acme.example", "vp@acme.example", "buyer@customer.example")


@st.composite
def triage_policies(draw: st.DrawFn, max_reps: int = 3) -> Policy:
    """A random coaching policy (as `policies`) with triage in decline mode and random rules."""
    base = draw(policy_dicts(max_reps=max_reps))
    rules: list[dict[str, Any]] = []
    for i in range(draw(st.integers(0, 4))):
        match: dict[str, Any] = {}
        if draw(st.booleans()):
            match["title"] = draw(
                st.lists(st.sampled_from(["facilities", "benefits", "desk", "lunch"]), min_size=1)
            )
        if draw(st.booleans()):
            match["organizer"] = [draw(st.sampled_from(_ORGANIZERS))]
        if draw(st.booleans()):
            match["recurring"] = draw(st.booleans())
        if draw(st.booleans()):
            match["overlaps_coaching"] = True
        action = draw(st.sampled_from(["decline", "decline", "delegate", "flag", "keep"]))
        rule: dict[str, Any] = {"name": f"r{i}", "match": match, "action": action}
        if action == "delegate":
            rule["delegate_to"] = "deputy@acme.example"
        rules.append(rule)
    base["triage"] = {
        "mode": "decline",
        "max_declines_per_tick": draw(st.integers(0, 10)),
        "customer_domains": ["customer.example"] if draw(st.booleans()) else [],
        "never_decline": ["vp@acme.example"] if draw(st.booleans()) else [],
        "budgets": {
            "non_sales_hours_per_week": draw(st.sampled_from(["1h", "5h", "40h"])),
        },
        "rules": rules,
    }
    return Policy.model_validate(base)


@st.composite
def invitations(draw: st.DrawFn, pol: Policy, now: datetime, n_max: int = 12) -> list[Event]:
    """Meetings others invite the manager to, not answered yet: one-offs and weekly series."""
    tz = pol.manager.tz
    base = now.astimezone(tz).date()
    out: list[Event] = []
    for i in range(draw(st.integers(0, n_max))):
        day = base + timedelta(days=draw(st.integers(0, 12)))
        start = local_dt(day, time(draw(st.integers(7, 17)), draw(st.sampled_from([0, 30]))), tz)
        length = timedelta(minutes=draw(st.sampled_from([30, 60, 120])))
        organizer = draw(st.sampled_from(_ORGANIZERS))
        title = draw(st.sampled_from(_TITLES))
        repeats = draw(st.sampled_from([1, 1, 2, 3]))
        for k in range(repeats):
            s = start + timedelta(weeks=k)
            out.append(
                event(
                    s,
                    s + length,
                    title,
                    eid=f"inv{i}" if repeats == 1 else f"inv{i}_{k}",
                    organizer=organizer,
                    attendees=(
                        Attendee(organizer, status="accepted", organizer=True),
                        Attendee(MANAGER),
                    ),
                    self_status="needsAction",
                    recurring=repeats > 1,
                )
            )
            if repeats > 1:
                out[-1] = replace(out[-1], uid=f"inv{i}")
    return out


def blanket(pol: Policy, now: datetime) -> list[Event]:
    """Back-to-back 'Facilities' invitations over every working hour of the next 7 days: the
    only free time coaching can find is the time their declines free."""
    tz = pol.manager.tz
    wh = pol.manager.working_hours
    out: list[Event] = []
    for n in range(8):
        day = now.astimezone(tz).date() + timedelta(days=n)
        s = local_dt(day, wh.start, tz)
        end = local_dt(day, wh.end, tz)
        while s < end:
            eid = f"fac-{s.isoformat()}"
            out.append(
                event(
                    s,
                    min(s + timedelta(hours=1), end),
                    "Facilities walkthrough",
                    eid=eid,
                    organizer="ops@acme.example",
                    attendees=(Attendee("ops@acme.example", status="accepted", organizer=True),),
                    self_status="needsAction",
                )
            )
            s += timedelta(hours=1)
    return out


@st.composite
def triage_worlds(draw: st.DrawFn) -> tuple[Policy, Snapshot, datetime]:
    """A world (as `worlds`) whose manager also has invitations and a decline-mode policy;
    in half of them a week of 'Facilities' invitations that a first rule declines (up to a
    random cap) covers every working hour, so coaching depends on what the declines free."""
    pol = draw(triage_policies())
    if draw(st.booleans()):
        rule = Rule.model_validate(
            {"name": "facilities", "match": {"title": ["facilities"]}, "action": "decline"}
        )
        triage = pol.triage.model_copy(
            update={
                "rules": [rule, *pol.triage.rules],
                "max_declines_per_tick": draw(st.sampled_from([3, 20, 200])),
            }
        )
        pol = pol.model_copy(update={"triage": triage})
        _, snap, now = draw(worlds_for(pol))
        extra = blanket(pol, now)
    else:
        _, snap, now = draw(worlds_for(pol))
        extra = draw(invitations(pol, now))
    return pol, replace(snap, events=(*snap.events, *extra)), now
