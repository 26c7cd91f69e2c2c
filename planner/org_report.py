"""The weekly org roll-up for the VP: every manager's last complete week, side by side.

Per manager, from the same pure code as their own audit (planner.audit) and KPI standings
(planner.kpi): coaching hours against the coaching target, the share of the week's
one-on-ones that took place (held = started, the rep did not decline; planner.lifecycle's
meaning), the reps below the minimum standard, and KPI movement (the share of rep x KPI
figures meeting the standard, last week against the week before) next to the change in
coaching hours. Regions add their managers' figures up; nothing is re-computed there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from planner.audit import AuditWeek, audit_weeks, fmt_hours, fmt_share, share, week_window
from planner.kpi import history, meets, minimum_for, weeks_below_by_rep
from planner.model import Event, KpiRow
from planner.one_on_ones import rep_declined
from planner.policy import Policy
from planner.timeutil import iso_week


@dataclass(frozen=True)
class ManagerFigures:
    """One manager's week, as the VP sees it."""

    email: str
    name: str
    week: AuditWeek  # the last complete week
    previous: AuditWeek  # the week before it
    target: timedelta  # coaching hours the target asks for in that week
    one_on_ones: int  # coachd's one-on-ones that started that week
    held: int  # of which took place (the rep did not decline)
    reps: int
    below: tuple[str, ...]  # names of the reps below standard on some KPI that week
    kpi_met: float | None  # % of rep x KPI figures meeting the standard that week
    kpi_met_before: float | None  # the same the week before

    @property
    def coaching(self) -> timedelta:
        return self.week.categories["coaching"]


def _coaching_target(week: AuditWeek) -> timedelta:
    for t in week.targets:
        if t.category == "coaching" and t.op == ">=":
            if t.unit == "%":
                return week.working * (t.target / 100.0)
            return timedelta(minutes=t.target)
    return timedelta()


def _kpi_met(policy: Policy, rows: Sequence[KpiRow], week: date) -> float | None:
    hist = history(rows)
    met = total = 0
    for rep in policy.team:
        for kpi in policy.kpis:
            value = hist.get((rep.email, kpi.id), {}).get(week)
            if value is None:
                continue
            total += 1
            met += meets(kpi, value, minimum_for(kpi, rep))
    return share_of(met, total)


def share_of(part: int, whole: int) -> float | None:
    return None if whole == 0 else 100.0 * part / whole


def manager_figures(
    policy: Policy,
    events: Sequence[Event],
    kpi_rows: Sequence[KpiRow],
    week_start: date,
    now: datetime,
) -> ManagerFigures:
    """The figures of one manager for the week starting `week_start` (a Monday in their
    timezone); `events` must cover that week and the one before."""
    previous, week = audit_weeks(policy, events, week_start, 2)
    span = week_window(policy.manager, week_start)
    booked = held = 0
    for ev in events:
        tag = ev.tag
        if tag is None or tag.kind != "one_on_one" or not tag.rep or ev.cancelled:
            continue
        if not (span.start <= ev.start < span.end) or ev.start > now:
            continue
        booked += 1
        held += not rep_declined(ev.attendees, tag.rep)
    below = weeks_below_by_rep(policy, kpi_rows, week_start)
    names = {r.email: r.name for r in policy.team}
    return ManagerFigures(
        email=policy.manager.email,
        name=policy.manager.name,
        week=week,
        previous=previous,
        target=_coaching_target(week),
        one_on_ones=booked,
        held=held,
        reps=len(policy.team),
        below=tuple(sorted(names.get(r, r) for r, n in below.items() if n > 0)),
        kpi_met=_kpi_met(policy, kpi_rows, week_start),
        kpi_met_before=_kpi_met(policy, kpi_rows, week_start - timedelta(weeks=1)),
    )


# -- the email context --------------------------------------------------------------------


def _pct(v: float | None) -> str:
    return "–" if v is None else fmt_share(v)


def _delta_hours(d: timedelta) -> str:
    sign = "+" if d >= timedelta() else "−"
    return f"{sign}{fmt_hours(abs(d))}"


def _delta_points(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return "–"
    d = now - before
    return f"{'+' if d >= 0 else '−'}{abs(d):.0f} pts"


def _row(f: ManagerFigures) -> dict[str, Any]:
    return {
        "name": f.name,
        "email": f.email,
        "coaching_hours": fmt_hours(f.coaching),
        "target_hours": fmt_hours(f.target),
        "met": f.coaching >= f.target,
        "coaching_share": fmt_share(f.week.coaching_share),
        "one_on_ones": f"{f.held} of {f.one_on_ones}",
        "held_share": _pct(share_of(f.held, f.one_on_ones)),
        "below_count": len(f.below),
        "reps": f.reps,
        "below": list(f.below),
        "coaching_change": _delta_hours(f.coaching - f.previous.categories["coaching"]),
        "kpi_met": _pct(f.kpi_met),
        "kpi_change": _delta_points(f.kpi_met, f.kpi_met_before),
    }


def _total(name: str, figs: Sequence[ManagerFigures]) -> dict[str, Any]:
    coaching = sum((f.coaching for f in figs), timedelta())
    target = sum((f.target for f in figs), timedelta())
    before = sum((f.previous.categories["coaching"] for f in figs), timedelta())
    booked = sum(f.one_on_ones for f in figs)
    held = sum(f.held for f in figs)
    return {
        "name": name,
        "managers": len(figs),
        "coaching_hours": fmt_hours(coaching),
        "target_hours": fmt_hours(target),
        "met": coaching >= target,
        "managers_met": sum(1 for f in figs if f.coaching >= f.target),
        "one_on_ones": f"{held} of {booked}",
        "held_share": _pct(share_of(held, booked)),
        "below_count": sum(len(f.below) for f in figs),
        "reps": sum(f.reps for f in figs),
        "coaching_change": _delta_hours(coaching - before),
        "coaching_share": fmt_share(
            share(coaching, sum((f.week.working for f in figs), timedelta()))
        ),
    }


def org_report_context(
    org_name: str,
    week_start: date,
    figures: Sequence[ManagerFigures],
    *,
    regions: Mapping[str, Sequence[str]] | None = None,
    missing: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The `org_report` email context: the org total, each region's total (regions name
    managers by address; a manager in no region is listed under "Other"), each manager's
    row, and the managers whose figures could not be read (address -> why)."""
    ordered = sorted(figures, key=lambda f: (f.name.lower(), f.email))
    by_email = {f.email.lower(): f for f in ordered}
    region_rows = []
    if regions:
        placed: set[str] = set()
        for name, emails in regions.items():
            members = [by_email[e.lower()] for e in emails if e.lower() in by_email]
            placed.update(f.email.lower() for f in members)
            region_rows.append({**_total(name, members), "rows": [_row(f) for f in members]})
        rest = [f for f in ordered if f.email.lower() not in placed]
        if rest:
            region_rows.append({**_total("Other", rest), "rows": [_row(f) for f in rest]})
    end = week_start + timedelta(days=6)
    return {
        "org": org_name,
        "week": iso_week(week_start),
        "dates": f"{week_start:%a %d %b} – {end:%a %d %b %Y}",
        "total": _total(org_name, ordered),
        "regions": region_rows,
        "rows": [_row(f) for f in ordered],
        "missing": [{"email": e, "why": w} for e, w in sorted((missing or {}).items())],
    }


def sample_context(kind: str) -> dict[str, Any]:
    """A complete `org_report` context from the audit's sample month (two managers, the
    second with a long unbreakable name to keep the layout honest)."""
    if kind != "org_report":
        raise KeyError(kind)
    from dataclasses import replace

    from planner.samples.calendar import sample_audit_weeks

    policy, weeks = sample_audit_weeks(2)
    a = ManagerFigures(
        email=policy.manager.email,
        name=policy.manager.name,
        week=weeks[1],
        previous=weeks[0],
        target=_coaching_target(weeks[1]),
        one_on_ones=5,
        held=4,
        reps=len(policy.team) or 5,
        below=("Jordan Lee",),
        kpi_met=72.0,
        kpi_met_before=64.0,
    )
    b = replace(a, email="m" * 60 + "@example.com", name="Q" * 80, held=5, below=())
    return org_report_context(
        "Sales", weeks[1].week_start, [a, b], regions={"West": [a.email]}, missing={}
    )
