"""The coaching case report (pure): one rep's case as evidence for leadership or HR.

What it holds: the case (kind, opened, trigger, outcome, age), the KPI trend of the KPIs on
the trigger from the week before the case opened to the last complete week, the one-on-ones
and ride-alongs held (and booked) since it opened with the coaching hours they add up to,
the checkpoints and whether a one-on-one took place in each one's week, the plan and the
record's action items with their state, and the dates of the meeting notes. It also gives the
open-cases rows of the monthly leadership report.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from planner.contexts import (
    KIND_LABELS,
    fmt_day,
    fmt_short_day,
    fmt_value,
    item_row,
    kpi_status,
    last_complete_week,
    person,
)
from planner.kpi import minimum_for
from planner.model import Event, KpiRow, Snapshot
from planner.policy import Kpi, Policy
from planner.record import Case, Record
from planner.timeutil import week_monday

KINDS = ("one_on_one", "ride_along")
# weeks of KPI figures shown before the case opened (the streak that led to it)
BEFORE_WEEKS = 4


@dataclass(frozen=True)
class Held:
    """A coaching block with the rep: when, what kind, whether it has taken place."""

    start: datetime
    end: datetime
    kind: str
    held: bool


def coaching_with(
    rep: str, events: Iterable[Event], since: date, now: datetime, tz: Any
) -> list[Held]:
    """The rep's one-on-ones and ride-alongs in the manager's calendar from `since` on: held
    (started before now and the rep did not decline) or booked ahead."""
    out = []
    for e in events:
        t = e.tag
        if t is None or t.kind not in KINDS or t.rep != rep or e.cancelled:
            continue
        if e.start.astimezone(tz).date() < since:
            continue
        declined = any(a.email.lower() == rep and a.status == "declined" for a in e.attendees)
        if declined:
            continue
        out.append(Held(e.start, e.end, t.kind, e.start <= now))
    return sorted(out, key=lambda h: h.start)


def _case_kpis(policy: Policy, case: Case) -> list[Kpi]:
    named = [k for k in policy.kpis if k.name in case.trigger]
    return named or list(policy.kpis)


def kpi_trend(
    policy: Policy, rows: Sequence[KpiRow], rep: str, case: Case, until: date
) -> list[dict[str, Any]]:
    """Per KPI on the trigger: the weekly figures from BEFORE_WEEKS weeks before the case
    opened to `until` (a Monday), each with its status against the rep's minimum, and the
    movement from the last figure before it opened to the latest."""
    opened_week = week_monday(case.opened)
    first = opened_week - timedelta(weeks=BEFORE_WEEKS)
    out = []
    for kpi in _case_kpis(policy, case):
        who = policy.rep(rep)
        minimum = minimum_for(kpi, who) if who else kpi.minimum
        by_week = {r.week: r.value for r in rows if r.rep == rep and r.kpi == kpi.id}
        weeks = []
        w = first
        while w <= until:
            v = by_week.get(w)
            weeks.append(
                {
                    "week": fmt_short_day(w),
                    "value": fmt_value(v, kpi.unit),
                    "status": kpi_status(kpi, v, minimum),
                }
            )
            w += timedelta(weeks=1)
        # from the last figure before the case opened to the latest one
        before = [by_week[x] for x in sorted(by_week) if x < opened_week]
        since = [by_week[x] for x in sorted(by_week) if opened_week <= x <= until]
        vals = before[-1:] + since
        change = ""
        if len(vals) >= 2:
            better = (vals[-1] > vals[0]) == kpi.higher_is_better and vals[-1] != vals[0]
            change = "better" if better else ("same" if vals[-1] == vals[0] else "worse")
        out.append(
            {
                "name": kpi.name,
                "minimum": fmt_value(minimum, kpi.unit),
                "goal": fmt_value(kpi.goal, kpi.unit),
                "weeks": weeks,
                "first": fmt_value(vals[0], kpi.unit) if vals else "–",
                "last": fmt_value(vals[-1], kpi.unit) if vals else "–",
                "change": change,
                "since_count": len(since),
            }
        )
    return out


def _hours(held: Iterable[Held]) -> str:
    total = sum(((h.end - h.start) for h in held if h.held), timedelta())
    minutes = int(total.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}"


def case_report_context(
    policy: Policy,
    snapshot: Snapshot,
    rep: str,
    record: Record,
    now: datetime,
    events: Sequence[Event] | None = None,
) -> dict[str, Any]:
    """The context of `case_report` for the rep's latest case (open, else the last closed).
    `events` are the manager's events since the case opened (default: the snapshot's)."""
    tz = policy.manager.tz
    today = now.astimezone(tz).date()
    r = policy.rep(rep)
    case = record.open_case() or (record.cases[-1] if record.cases else None)
    if case is None:
        raise ValueError(f"{rep} has no coaching case in their record")
    held = coaching_with(rep, snapshot.events if events is None else events, case.opened, now, tz)
    held_days = {h.start.astimezone(tz).date() for h in held if h.held and h.kind == "one_on_one"}
    checkpoints = []
    for d in case.checkpoints:
        wk = week_monday(d)
        met = any(wk <= x < wk + timedelta(weeks=1) for x in held_days)
        state = "held" if met else ("ahead" if wk + timedelta(weeks=1) > today else "missed")
        checkpoints.append({"date": fmt_day(d), "state": state})
    return {
        "manager": person(policy.manager.name, policy.manager.email),
        "rep": person(r.name if r else rep, rep),
        "generated": fmt_day(today),
        "case": {
            "kind": case.kind,
            "opened": fmt_day(case.opened),
            "age_days": (today - case.opened).days,
            "trigger": case.trigger,
            "outcome": case.outcome,
            "open": case.is_open,
        },
        "kpis": kpi_trend(policy, snapshot.kpis, rep, case, last_complete_week(today)),
        "meetings": [
            {
                "date": fmt_day(h.start.astimezone(tz).date()),
                "time": f"{h.start.astimezone(tz):%H:%M}–{h.end.astimezone(tz):%H:%M}",
                "kind": KIND_LABELS.get(h.kind, h.kind),
                "held": h.held,
            }
            for h in held
        ],
        "held_count": sum(1 for h in held if h.held),
        "coaching_hours": _hours(held),
        "checkpoints": checkpoints,
        "plan": [dict(item_row(i, today), done=i.done) for i in case.plan],
        "items": [dict(item_row(i, today), done=i.done) for i in record.items],
        "notes": [fmt_day(d) for d in record.meeting_days() if d >= case.opened],
    }


def open_cases_rows(
    policy: Policy, snapshot: Snapshot, now: datetime, events: Sequence[Event] | None = None
) -> list[dict[str, Any]]:
    """The monthly leadership report's open cases: rep, kind, age, KPI direction since it
    opened, coaching hours with the rep since then. Oldest first."""
    tz = policy.manager.tz
    today = now.astimezone(tz).date()
    rows = []
    for rep in policy.team:
        record = snapshot.records.get(rep.email)
        case = record.open_case() if record else None
        if case is None:
            continue
        held = coaching_with(
            rep.email, snapshot.events if events is None else events, case.opened, now, tz
        )
        trend = kpi_trend(policy, snapshot.kpis, rep.email, case, last_complete_week(today))
        movement = "; ".join(
            f"{k['name']} {k['first']} → {k['last']}" + (f" ({k['change']})" if k["change"] else "")
            for k in trend
            if k["since_count"]
        )
        changes = {k["change"] for k in trend if k["change"]}
        direction = (
            "improving" if changes == {"better"} else "worsening" if "worse" in changes else "flat"
        )
        rows.append(
            {
                "rep": person(rep.name, rep.email),
                "kind": case.kind,
                "opened": fmt_day(case.opened),
                "opened_iso": case.opened.isoformat(),
                "age_days": (today - case.opened).days,
                "direction": direction if changes else "no figures yet",
                "movement": movement,
                "coaching_hours": _hours(held),
                "held": sum(1 for h in held if h.held),
            }
        )
    return sorted(rows, key=lambda r: r["opened_iso"])


def sample_context(kind: str) -> dict[str, Any]:
    """A realistic `case_report` context (preview and the template check)."""
    if kind != "case_report":
        raise KeyError(kind)
    return {
        "manager": person("Dana Reyes", "dana@example.com"),
        "rep": person("Jordan Miles", "jordan@example.com"),
        "generated": "Mon 28 Dec 2026",
        "case": {
            "kind": "coach-out",
            "opened": "Mon 30 Nov 2026",
            "age_days": 28,
            "trigger": "below the minimum standard for 7 consecutive weeks: Conversations",
            "outcome": "open",
            "open": True,
        },
        "kpis": [
            {
                "name": "Conversations",
                "minimum": "15",
                "goal": "25",
                "weeks": [
                    {"week": "Mon 23 Nov", "value": "12", "status": "below"},
                    {"week": "Mon 30 Nov", "value": "14", "status": "below"},
                    {"week": "Mon 7 Dec", "value": "16", "status": "meets"},
                ],
                "first": "12",
                "last": "16",
                "change": "better",
                "since_count": 2,
            }
        ],
        "meetings": [
            {"date": "Tue 1 Dec 2026", "time": "09:15–09:45", "kind": "One-on-one", "held": True},
            {"date": "Thu 10 Dec 2026", "time": "08:00–12:00", "kind": "Ride-along", "held": True},
        ],
        "held_count": 2,
        "coaching_hours": "4h30",
        "checkpoints": [{"date": "Mon 14 Dec 2026", "state": "held"}],
        "plan": [
            {
                "text": "Agree a written 30-day plan",
                "owner": "manager",
                "due": "Mon 7 Dec 2026",
                "overdue": False,
                "by": "",
                "done": True,
            },
        ],
        "items": [],
        "notes": ["Tue 1 Dec 2026"],
    }
