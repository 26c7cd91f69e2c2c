"""Template contexts for coachd's emails: plain data, already formatted for display.

Every function here is pure. Dates and times are formatted in the manager's timezone; numbers
are formatted once here so the text and HTML parts of one email always show the same figures.
Titles, names and reasons from invitations are passed through untouched: the HTML templates
autoescape them and the renderer strips control characters from subjects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from planner.audit import audit_context, audit_weeks
from planner.context_parts import (
    KIND_LABELS,
    NO_DATA,
    Block,
    BookedBlock,
    _rep_rows,
    conversation,
    fmt_datetime,
    fmt_day,
    fmt_number,
    fmt_short_day,
    fmt_time,
    fmt_value,
    kpi_row,
    kpi_status,
    last_complete_week,
    meeting,
    new_hire,
    person,
    ride_along,
    stale_sources,
    weeks_text,
)
from planner.kpi import Standing, stale_kpis, standings
from planner.model import Decision, Snapshot
from planner.policy import Policy
from planner.record import Case, Item
from planner.timeutil import iso_week, local_dt, week_monday

__all__ = [
    "AUDIT_WEEKS",
    "KIND_LABELS",
    "NO_DATA",
    "Block",
    "BookedBlock",
    "agenda_context",
    "config_error_context",
    "conversation",
    "digest_context",
    "fmt_datetime",
    "fmt_day",
    "fmt_number",
    "fmt_short_day",
    "fmt_time",
    "fmt_value",
    "kpi_row",
    "kpi_status",
    "last_complete_week",
    "meeting",
    "new_hire",
    "person",
    "ride_along",
    "sales_meeting_context",
    "schedule",
    "stale_sources",
    "summary_audit",
    "summary_context",
    "was_text",
    "weeks_text",
]

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
    rows, below, coach_up, coach_out = _team_standing(policy, all_st, day)
    sched_end = due + timedelta(days=7)
    return {
        "manager": person(policy.manager.name, policy.manager.email),
        "week": iso_week(day),
        "date": fmt_day(day),
        "period": f"week of {fmt_day(up_to)}",
        "kpis": _kpi_columns(policy),
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


def _kpi_columns(policy: Policy) -> list[dict[str, Any]]:
    """The scorecard's KPI columns, in policy order, with formatted minimum and goal."""
    return [
        {
            "id": k.id,
            "name": k.name,
            "unit": k.unit,
            "minimum": fmt_value(k.minimum, k.unit),
            "goal": fmt_value(k.goal, k.unit),
            "higher_is_better": k.higher_is_better,
        }
        for k in policy.kpis
    ]


_Rows = list[dict[str, Any]]


def _team_standing(
    policy: Policy, all_st: Mapping[str, list[Standing]], day: date
) -> tuple[_Rows, _Rows, _Rows, _Rows]:
    """(scorecard rows, who is below, coach-up, coach-out) for the team, in team order.

    `below` is sorted by longest streak first, then name; a rep goes to coach-out when
    their worst streak reaches `coach_out_after`, else to coach-up at `coach_up_after`.
    """
    std = policy.coaching.standards
    rows: _Rows = []
    below: _Rows = []
    coach_up: _Rows = []
    coach_out: _Rows = []
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
    return rows, below, coach_up, coach_out


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
