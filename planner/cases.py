"""Coaching cases (pure): when a rep's below-standard streak reaches `coach_up_after` or
`coach_out_after`, open a case in their record with a dated plan and checkpoints.

A case is opened once: only when the rep's record has no open case of that kind (a coach-up
case still open when the streak reaches coach-out gets a coach-out case beside it; the
manager records the first one's outcome, e.g. escalated). coachd never closes a case: the
manager writes its outcome (improved, extended, escalated, closed) in the record. Each
checkpoint is a one-on-one (planner.checkpoints books one in its week when the cadence does
not already put one there), and the agenda names the case.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from planner.actions import OpenCase
from planner.contexts import last_complete_week
from planner.kpi import stale_kpis, standings
from planner.model import Snapshot
from planner.policy import Policy

# (action, days after opening) for each kind; checkpoints in days after opening
PLANS = {
    "coach-up": (
        ("Agree what good looks like on {kpis} and how to get there", 7),
        ("Ride-along or call review focused on {kpis}", 14),
        ("Review {kpis} against the minimum standard", 28),
    ),
    "coach-out": (
        ("Agree a written 30-day improvement plan on {kpis} (HR informed)", 7),
        ("Ride-along focused on {kpis}", 14),
        ("Review {kpis} against the minimum standard and decide the outcome", 28),
    ),
}
CHECKPOINTS = {"coach-up": (14, 28), "coach-out": (14, 28)}


def plan_cases(policy: Policy, snapshot: Snapshot, now: datetime) -> list[OpenCase]:
    """An OpenCase for each rep whose streak reached a threshold with no such case open."""
    std = policy.coaching.standards
    today = now.astimezone(policy.manager.tz).date()
    up_to = last_complete_week(today)
    table = standings(policy, snapshot.kpis, up_to, stale=stale_kpis(policy, snapshot.kpi_sources))
    out: list[OpenCase] = []
    for rep in policy.team:
        record = snapshot.records.get(rep.email)
        if record is None:
            continue  # no record read (an unreadable file): nowhere to open it
        sts = table.get(rep.email, [])
        worst = max((s.weeks_below for s in sts), default=0)
        if worst < std.coach_up_after:
            continue
        kind = "coach-out" if worst >= std.coach_out_after else "coach-up"
        # one case per streak: not while one is open, nor when the manager already closed
        # one opened during this streak (a closed case stays closed until the rep recovers)
        streak_start = up_to - timedelta(weeks=worst - 1)
        if record.open_case(kind) is not None or any(
            c.kind == kind and c.opened >= streak_start for c in record.cases
        ):
            continue
        after = std.coach_out_after if kind == "coach-out" else std.coach_up_after
        names = []
        for s in sorted(sts, key=lambda s: -s.weeks_below):
            k = policy.kpi(s.kpi)
            if s.weeks_below >= std.coach_up_after and k is not None:
                names.append(f"{k.name} ({s.weeks_below} weeks)")
        kpis = " and ".join(n.split(" (")[0] for n in names[:2]) or "the KPIs below standard"
        trigger = (
            f"below the minimum standard for {worst} consecutive weeks up to the week of "
            f"{up_to.isoformat()} ({kind} after {after}): {', '.join(names)}"
        )
        plan = tuple(
            (text.format(kpis=kpis), (today + timedelta(days=d)).isoformat())
            for text, d in PLANS[kind]
        )
        checkpoints = tuple((today + timedelta(days=d)).isoformat() for d in CHECKPOINTS[kind])
        out.append(
            OpenCase(
                rep=rep.email,
                kind=kind,
                opened=today.isoformat(),
                trigger=trigger,
                plan=plan,
                checkpoints=checkpoints,
                reason=f"{rep.name} is {trigger}",
            )
        )
    return out
