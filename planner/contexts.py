"""Template contexts for coachd's emails: plain data, already formatted for display.

Every function here is pure. Dates and times are formatted in the manager's timezone; numbers
are formatted once here so the text and HTML parts of one email always show the same figures.
Titles, names and reasons from invitations are passed through untouched: the HTML templates
autoescape them and the renderer strips control characters from subjects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from planner.audit import audit_context, audit_weeks
from planner.kpi import Standing, meets, stale_kpis, standings
from planner.model import Decision, Snapshot
from planner.policy import Kpi, Policy, Rep
from planner.record import Case, Item
from planner.timeutil import iso_week, local_dt, week_monday

KIND_LABELS = {
    "one_on_one": "One-on-one",
    "ride_along": "Ride-along",
    "huddle": "Team huddle",
    "sales_meeting": "Sales meeting",
    "call_review": "Call review",
}
_CURRENCY = ("$", "€", "£", "¥")
NO_DATA = "–"


class Block(Protocol):
    """A coaching block that exists or is being booked this tick (what plan() passes in)."""

    @property
    def kind(self) -> str: ...
    @property
    def rep(self) -> str | None: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def key(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def topic(self) -> str | None: ...


@dataclass(frozen=True)
class BookedBlock:
    """The simplest Block: what the emails need to know about one coaching block."""

    kind: str
    rep: str | None
    start: datetime
    end: datetime
    key: str
    title: str = ""
    topic: str | None = None


# -- formatting ---------------------------------------------------------------------------


def fmt_day(d: date) -> str:
    """`Tue 1 Dec 2026` (no locale, no zero padding)."""
    return f"{d:%a} {d.day} {d:%b %Y}"


def fmt_short_day(d: date) -> str:
    """`Tue 1 Dec`."""
    return f"{d:%a} {d.day} {d:%b}"


def fmt_time(dt: datetime) -> str:
    return f"{dt:%H:%M}"


def fmt_datetime(dt: datetime) -> str:
    """`Tue 1 Dec 2026 10:00` in whatever zone dt is in."""
    return f"{fmt_day(dt.date())} {fmt_time(dt)}"


def fmt_number(v: float) -> str:
    """12 -> `12`, 1234 -> `1,234`, 0.456 -> `0.46`, 12.34 -> `12.3`."""
    if float(v).is_integer():
        return f"{int(v):,}"
    if abs(v) >= 10:
        return f"{v:,.1f}"
    return f"{v:,.2f}".rstrip("0").rstrip(".")


def fmt_value(v: float | None, unit: str) -> str:
    """A KPI figure with its unit where the unit is a symbol (`45%`, `$1,200`), else bare."""
    if v is None:
        return NO_DATA
    n = fmt_number(v)
    if unit == "%":
        return f"{n}%"
    if unit in _CURRENCY:
        return f"-{unit}{n[1:]}" if n.startswith("-") else f"{unit}{n}"
    return n


def weeks_text(n: int) -> str:
    return f"{n} week" + ("" if n == 1 else "s")


# -- KPI standings --------------------------------------------------------------------------


def kpi_status(kpi: Kpi, value: float | None, minimum: float) -> str:
    """`none` (no figure), `below` the minimum standard, `meets` it, or at or beyond `goal`."""
    if value is None:
        return "none"
    if not meets(kpi, value, minimum):
        return "below"
    reached = value >= kpi.goal if kpi.higher_is_better else value <= kpi.goal
    return "goal" if reached else "meets"


def _direction(kpi: Kpi, trend: Sequence[float | None]) -> str:
    """`up`, `down` or `flat`: whether the last two figures moved the right way (`better`)."""
    vals = [v for v in trend if v is not None]
    if len(vals) < 2 or vals[-1] == vals[-2]:
        return "flat"
    return "up" if vals[-1] > vals[-2] else "down"


def _better(kpi: Kpi, trend: Sequence[float | None]) -> bool | None:
    vals = [v for v in trend if v is not None]
    if len(vals) < 2 or vals[-1] == vals[-2]:
        return None
    return (vals[-1] > vals[-2]) == kpi.higher_is_better


def kpi_row(kpi: Kpi, st: Standing) -> dict[str, Any]:
    """One KPI of one rep, ready for a table row (see templates/README.md for the keys)."""
    trend = []
    if st.latest_week is not None:
        n = len(st.trend)
        for i, v in enumerate(st.trend):
            wk = st.latest_week - timedelta(weeks=n - 1 - i)
            trend.append(
                {
                    "week": fmt_short_day(wk),
                    "value": fmt_value(v, kpi.unit),
                    "status": kpi_status(kpi, v, st.minimum),
                }
            )
    return {
        "id": kpi.id,
        "name": kpi.name,
        "unit": kpi.unit,
        "higher_is_better": kpi.higher_is_better,
        "latest": fmt_value(st.latest, kpi.unit),
        "latest_raw": st.latest,
        "week": fmt_short_day(st.latest_week) if st.latest_week else NO_DATA,
        "minimum": fmt_value(st.minimum, kpi.unit),
        "goal": fmt_value(st.goal, kpi.unit),
        "status": "stale" if st.stale else kpi_status(kpi, st.latest, st.minimum),
        "stale": st.stale,
        "source": st.source,
        "weeks_below": st.weeks_below,
        "trend": trend,
        "direction": _direction(kpi, st.trend),
        "better": _better(kpi, st.trend),
    }


def stale_sources(policy: Policy, snapshot: Snapshot, tz: Any) -> list[dict[str, str]]:
    """The KPI sources that are stale this tick, for the "figures as of ..." lines."""
    return [
        {
            "name": st.name,
            "kind": st.kind,
            "as_of": _as_of(st.as_of, tz),
            "problem": st.problem,
        }
        for st in snapshot.kpi_sources
        if st.stale
    ]


def _as_of(at: datetime | None, tz: Any) -> str:
    if at is None:
        return "never read"
    local = at.astimezone(tz)
    return f"{fmt_day(local.date())} {fmt_time(local)}"


def _rep_rows(policy: Policy, sts: Iterable[Standing]) -> list[dict[str, Any]]:
    out = []
    for st in sts:
        kpi = policy.kpi(st.kpi)
        if kpi is not None:
            out.append(kpi_row(kpi, st))
    return out


def last_complete_week(day: date) -> date:
    """The Monday of the last full ISO week before `day`: the period emails report on."""
    return week_monday(day) - timedelta(weeks=1)


# -- people and time --------------------------------------------------------------------------


def person(name: str, email: str) -> dict[str, str]:
    return {"name": name or email, "email": email}


def new_hire(policy: Policy, rep: Rep, today: date) -> dict[str, Any] | None:
    """Ramp status while the rep is within `coaching.ramp_weeks` of their start date."""
    ramp = policy.coaching.ramp_weeks
    if rep.start_date is None or ramp <= 0 or today < rep.start_date:
        return None
    weeks_in = (today - rep.start_date).days // 7
    if weeks_in >= ramp:
        return None
    week = weeks_in + 1
    milestones = [
        {
            "week": m.week,
            "goal": m.goal,
            "status": "past" if m.week < week else ("now" if m.week == week else "ahead"),
        }
        for m in sorted(policy.coaching.ramp_milestones, key=lambda m: m.week)
    ]
    return {
        "start_date": fmt_day(rep.start_date),
        "week": week,
        "ramp_weeks": ramp,
        "weeks_left": ramp - weeks_in,
        "milestones": milestones,
    }


def conversation(policy: Policy, cells: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The coach-up or coach-out conversation a rep's below-standard streak calls for, or None.

    `cells` are the rep's KPI rows (name, weeks_below); the longest streak decides, and the
    KPIs on a streak at least `coach_up_after` long are named with theirs.
    """
    std = policy.coaching.standards
    worst = max((int(c["weeks_below"]) for c in cells), default=0)
    if worst < std.coach_up_after:
        return None
    out = worst >= std.coach_out_after
    return {
        "kind": "coach-out" if out else "coach-up",
        "weeks": worst,
        "after": std.coach_out_after if out else std.coach_up_after,
        "kpis": [
            {"name": c["name"], "weeks_below": c["weeks_below"]}
            for c in sorted(cells, key=lambda c: -int(c["weeks_below"]))
            if int(c["weeks_below"]) >= std.coach_up_after
        ],
    }


def _ride_along_starts(snapshot: Snapshot, rep: str) -> list[datetime]:
    starts = [
        b.start
        for b in snapshot.bookings.values()
        if b.kind == "ride_along" and b.rep == rep and b.status in ("booked", "pending")
    ]
    starts += [
        e.start
        for e in snapshot.events
        if e.tag is not None and e.tag.kind == "ride_along" and e.tag.rep == rep and not e.cancelled
    ]
    return starts


def ride_along(
    policy: Policy, snapshot: Snapshot, rep: str, now: datetime, blocks: Sequence[Block]
) -> dict[str, Any]:
    """The last ride-along with this rep (date, days since) and the next one if booked."""
    tz = policy.manager.tz
    starts = _ride_along_starts(snapshot, rep)
    starts += [b.start for b in blocks if b.kind == "ride_along" and b.rep == rep]
    past = [s for s in starts if s <= now]
    future = [s for s in starts if s > now]
    last = max(past, default=None)
    nxt = min(future, default=None)
    today = now.astimezone(tz).date()
    return {
        "last": fmt_day(last.astimezone(tz).date()) if last else None,
        "days_since": (today - last.astimezone(tz).date()).days if last else None,
        "next": fmt_day(nxt.astimezone(tz).date()) if nxt else None,
    }


def meeting(policy: Policy, start: datetime, end: datetime) -> dict[str, str]:
    """When a meeting is, in the manager's zone."""
    tz = policy.manager.tz
    s, e = start.astimezone(tz), end.astimezone(tz)
    return {
        "date": fmt_day(s.date()),
        "start": fmt_time(s),
        "end": fmt_time(e),
        "when": f"{fmt_day(s.date())}, {fmt_time(s)}–{fmt_time(e)}",
        "timezone": policy.manager.timezone,
        "iso": s.isoformat(),
    }


# -- the contexts -----------------------------------------------------------------------------


def agenda_context(
    policy: Policy, snapshot: Snapshot, now: datetime, block: Block, blocks: Sequence[Block]
) -> dict[str, Any]:
    """The 1:1 agenda: KPIs vs standard vs goal with a 4-week trend, focus, goals, items."""
    rep_email = block.rep or ""
    rep = policy.rep(rep_email)
    tz = policy.manager.tz
    meeting_day = block.start.astimezone(tz).date()
    up_to = last_complete_week(meeting_day)
    stale = stale_kpis(policy, snapshot.kpi_sources)
    sts = standings(policy, snapshot.kpis, up_to, stale=stale).get(rep_email, [])
    kpis = _rep_rows(policy, sts)
    focus = [k for k in kpis if k["status"] == "below"]
    weeks = [st.latest_week for st in sts if st.latest_week is not None]
    return {
        "manager": person(policy.manager.name, policy.manager.email),
        "rep": person(rep.name if rep else rep_email, rep_email),
        "title": block.title,
        "meeting": meeting(policy, block.start, block.end),
        "period": f"week of {fmt_day(max(weeks))}" if weeks else None,
        "kpis": kpis,
        "stale_sources": stale_sources(policy, snapshot, tz) if stale else [],
        "focus": focus,
        **record_context(snapshot, rep_email, list(rep.goals) if rep else [], meeting_day),
        "booking_key": block.key,
        "meeting_day": meeting_day.isoformat(),
        "ride_along": ride_along(policy, snapshot, rep_email, now, blocks),
        "new_hire": new_hire(policy, rep, meeting_day) if rep else None,
        "conversation": conversation(policy, kpis),
    }


def item_row(item: Item, on: date) -> dict[str, Any]:
    """One open action item or talking point for an agenda."""
    return {
        "text": item.text,
        "owner": item.owner or "",
        "due": fmt_day(item.due) if item.due else "",
        "overdue": item.overdue(on),
        "by": item.by or "",
    }


def record_context(
    snapshot: Snapshot, rep_email: str, config_goals: list[str], meeting_day: date
) -> dict[str, Any]:
    """Goals, open action items (overdue marked) and the rep's talking points for the
    one-on-one on `meeting_day`, from the rep's record; without a record, the config's goals
    and the open `- [ ]` lines of notes/<rep>.md."""
    record = snapshot.records.get(rep_email)
    if record is None:
        return {
            "goals": config_goals,
            "action_items": [
                {"text": t, "owner": "", "due": "", "overdue": False, "by": ""}
                for t in snapshot.notes.get(rep_email, ())
            ],
            "talking_points": [],
            "record": False,
            "case": None,
        }
    goals = [
        g.text + (f" (target {fmt_day(g.target)})" if g.target else "")
        for g in record.goals
        if g.status == "open"
    ]
    case = record.open_case()
    return {
        "goals": goals or config_goals,
        "action_items": [item_row(i, meeting_day) for i in record.open_items()],
        "talking_points": [item_row(p, meeting_day) for p in record.points_for(meeting_day)],
        "record": True,
        "case": case_row(case, meeting_day) if case else None,
    }


def case_row(case: Case, on: date) -> dict[str, Any]:
    """An open coaching case for an agenda; `checkpoint` when `on` falls in a checkpoint's
    week."""
    return {
        "kind": case.kind,
        "opened": fmt_day(case.opened),
        "opened_iso": case.opened.isoformat(),
        "trigger": case.trigger,
        "outcome": case.outcome,
        "plan": [item_row(i, on) for i in case.plan if not i.done],
        "done": [i.text for i in case.plan if i.done],
        "checkpoints": [fmt_day(d) for d in case.checkpoints],
        "checkpoint": any(week_monday(d) == week_monday(on) for d in case.checkpoints),
        "age_days": (on - case.opened).days,
    }


def schedule(policy: Policy, blocks: Iterable[Block], start: datetime, end: datetime) -> list[Any]:
    """Coaching blocks starting in [start, end), in time order, ready for a table."""
    tz = policy.manager.tz
    out = []
    chosen = sorted(
        {b.key: b for b in blocks if start <= b.start < end}.values(), key=lambda b: b.start
    )
    for b in chosen:
        s, e = b.start.astimezone(tz), b.end.astimezone(tz)
        rep = policy.rep(b.rep) if b.rep else None
        out.append(
            {
                "day": fmt_short_day(s.date()),
                "time": f"{fmt_time(s)}–{fmt_time(e)}",
                "kind": b.kind,
                "kind_label": KIND_LABELS.get(b.kind, b.kind.replace("_", " ").capitalize()),
                "rep": (rep.name if rep else b.rep) or "",
                "title": b.title,
                "topic": b.topic or "",
            }
        )
    return out


def summary_context(
    policy: Policy,
    snapshot: Snapshot,
    due: datetime,
    blocks: Sequence[Block],
    needs: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The weekly summary: scorecard, who is below and for how long, coach-up/out, schedule,
    and the coaching that needs the manager (`needs`: what, why, options)."""
    tz = policy.manager.tz
    day = due.astimezone(tz).date()
    up_to = last_complete_week(day)
    all_st = standings(policy, snapshot.kpis, up_to, stale=stale_kpis(policy, snapshot.kpi_sources))
    std = policy.coaching.standards
    rows: list[dict[str, Any]] = []
    below: list[dict[str, Any]] = []
    coach_up: list[dict[str, Any]] = []
    coach_out: list[dict[str, Any]] = []
    for rep in policy.team:
        cells = _rep_rows(policy, all_st.get(rep.email, []))
        worst = max((c["weeks_below"] for c in cells), default=0)
        who = person(rep.name, rep.email)
        below_kpis = [
            {
                "name": c["name"],
                "weeks_below": c["weeks_below"],
                "latest": c["latest"],
                "minimum": c["minimum"],
            }
            for c in cells
            if c["status"] == "below"
        ]
        rows.append(
            {
                "rep": who,
                "cells": cells,
                "below_count": len(below_kpis),
                "new_hire": new_hire(policy, rep, day) is not None,
            }
        )
        if below_kpis:
            below.append({"rep": who, "weeks_below": worst, "kpis": below_kpis})
        entry = {"rep": who, "weeks_below": worst, "kpis": [k["name"] for k in below_kpis]}
        if worst >= std.coach_out_after:
            coach_out.append(entry)
        elif worst >= std.coach_up_after:
            coach_up.append(entry)
    below.sort(key=lambda b: (-b["weeks_below"], b["rep"]["name"]))
    sched_end = due + timedelta(days=7)
    return {
        "manager": person(policy.manager.name, policy.manager.email),
        "week": iso_week(day),
        "date": fmt_day(day),
        "period": f"week of {fmt_day(up_to)}",
        "kpis": [
            {
                "id": k.id,
                "name": k.name,
                "unit": k.unit,
                "minimum": fmt_value(k.minimum, k.unit),
                "goal": fmt_value(k.goal, k.unit),
                "higher_is_better": k.higher_is_better,
            }
            for k in policy.kpis
        ],
        "rows": rows,
        "stale_sources": stale_sources(policy, snapshot, tz),
        "below": below,
        "coach_up": coach_up,
        "coach_out": coach_out,
        "thresholds": {
            "coach_up_after": std.coach_up_after,
            "coach_out_after": std.coach_out_after,
        },
        "schedule": schedule(policy, blocks, due, sched_end),
        "schedule_range": (
            f"{fmt_short_day(due.astimezone(tz).date())} – "
            f"{fmt_short_day((sched_end - timedelta(days=1)).astimezone(tz).date())}"
        ),
        "audit": summary_audit(policy, snapshot, up_to),
        "needs": [dict(n) for n in needs],
    }


AUDIT_WEEKS = 4


def summary_audit(policy: Policy, snapshot: Snapshot, last_week: date) -> dict[str, Any] | None:
    """The time audit for the summary (the week of `last_week`, trend over up to 4 weeks).

    None when the snapshot's look-back does not reach back to that week: an audit of a week
    whose events were never read would report empty time as if it were true.
    """
    tz = policy.manager.tz
    weeks = 0
    while weeks < AUDIT_WEEKS:
        start = local_dt(last_week - timedelta(weeks=weeks), time(0, 0), tz)
        if start < snapshot.window.start:
            break
        weeks += 1
    if weeks == 0:
        return None
    return audit_context(policy, audit_weeks(policy, snapshot.events, last_week, weeks))


_DONE = {"flag": "flagged", "keep": "kept", "decline": "declined", "delegate": "delegated"}


def was_text(was: str | None) -> str:
    """`flagged by rule 'x'` from a decision's `was` (`flag:x`); '' when there is none."""
    if not was:
        return ""
    action, _, rule = was.partition(":")
    return f"{_DONE.get(action, action)} by rule {rule!r}"


def _decision_row(policy: Policy, d: Decision) -> dict[str, Any]:
    tz = policy.manager.tz
    return {
        "title": d.title or "(no title)",
        "organizer": d.organizer,
        "when": fmt_datetime(d.start.astimezone(tz)) if d.start else "",
        "rule": d.rule,
        "cap": d.cap or "",
        "reason": d.reason,
        "action": d.action,
        "done": _DONE.get(d.action, d.action),
        "decided": fmt_datetime(d.decided_at.astimezone(tz)),
        "was": was_text(d.was),
    }


def digest_context(
    policy: Policy,
    decisions: Sequence[Decision],
    since: datetime,
    until: datetime,
    skipped: Sequence[str] = (),
    needs: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The triage digest: what was declined (or delegated) and flagged in [since, until), the
    outside objects (calendar files, KPI rows) first skipped in that time, and the coaching
    that needs the manager (`needs`: what, why, options)."""
    tz = policy.manager.tz
    ordered = sorted(decisions, key=lambda d: (d.start or d.decided_at, d.event_id))
    declined = [_decision_row(policy, d) for d in ordered if d.action in ("decline", "delegate")]
    flagged = [_decision_row(policy, d) for d in ordered if d.action == "flag"]
    # Each flagged meeting gets a number the manager can answer by reply ("decline 2").
    numbers: dict[str, list[str]] = {}
    flag_decisions = [d for d in ordered if d.action == "flag"]
    for n, (row, d) in enumerate(zip(flagged, flag_decisions, strict=True), 1):
        row["n"] = n
        numbers[str(n)] = [d.event_id, d.fingerprint]
    changed = [_decision_row(policy, d) for d in ordered if d.was is not None]
    # Declines of one tick share its decided_at; a tick that hit the cap left the rest for later.
    per_tick: dict[datetime, int] = {}
    for d in decisions:
        if d.action in ("decline", "delegate"):
            per_tick[d.decided_at] = per_tick.get(d.decided_at, 0) + 1
    cap = policy.triage.max_declines_per_tick
    return {
        "manager": person(policy.manager.name, policy.manager.email),
        "date": fmt_day(until.astimezone(tz).date()),
        "since": fmt_datetime(since.astimezone(tz)),
        "until": fmt_datetime(until.astimezone(tz)),
        "mode": policy.triage.mode,
        "declined": declined,
        "flagged": flagged,
        "counts": {"declined": len(declined), "flagged": len(flagged), "changed": len(changed)},
        "changed": changed,
        "numbers": numbers,
        "declines_capped": bool(per_tick) and max(per_tick.values()) >= cap,
        "max_declines_per_tick": cap,
        "skipped": list(skipped),
        "needs": [dict(n) for n in needs],
    }


def sales_meeting_context(policy: Policy, block: Block) -> dict[str, Any]:
    """The sales-meeting agenda for the team: when, and the week's skills topic."""
    return {
        "manager": person(policy.manager.name, policy.manager.email),
        "title": block.title or "Sales meeting",
        "topic": block.topic or "Skills practice",
        "meeting": meeting(policy, block.start, block.end),
        "team": [person(r.name, r.email) for r in policy.team],
    }


def config_error_context(
    policy: Policy, errors: Sequence[str], config_path: str, now: datetime
) -> dict[str, Any]:
    """The note to the manager that a config.yaml saved while running was rejected."""
    return {
        "manager": person(policy.manager.name, policy.manager.email),
        "errors": list(errors),
        "config_path": config_path,
        "time": fmt_datetime(now.astimezone(policy.manager.tz)),
    }


def fault_context(policy: Policy, sentence: str, since: datetime) -> dict[str, Any]:
    """The note to the manager that coachd cannot write its files (a full disk, a read-only
    file system, a permission): `sentence` names the path and the fix."""
    return {
        "manager": person(policy.manager.name, policy.manager.email),
        "problem": sentence.split(":", 1)[0].split(" (", 1)[0],
        "sentence": sentence,
        "since": fmt_datetime(since.astimezone(policy.manager.tz)),
    }
