"""Template contexts of the time audit: the audit email, the summary's audit section and
the monthly leadership report, built from audited weeks (planner.audit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from planner.audit_model import (
    _DAY,
    CATEGORY_COLORS,
    CATEGORY_LABELS,
    COACHING_KINDS,
    KIND_LABELS,
    PRECEDENCE,
    AuditWeek,
    TargetResult,
    TimeSink,
    fmt_hours,
    fmt_share,
    minutes,
    share,
)
from planner.policy import Policy

# -- template contexts --------------------------------------------------------------------


def _target_text(t: TargetResult) -> str:
    if t.unit == "%":
        return f"≥ {t.target:g}%"
    return f"≤ {fmt_hours(timedelta(minutes=t.target))}"


def _targets_by_category(week: AuditWeek) -> dict[str, TargetResult]:
    return {t.category: t for t in week.targets}


def _text_bar(width: int) -> str:
    """The bar for plain-text parts: one `#` per 4% of working hours, at least one if any."""
    return "#" * -(-width // 4)


def _bar_width(part: timedelta, whole: timedelta) -> int:
    """Bar width in whole percent of working hours; a visible sliver for any non-zero time."""
    if part <= timedelta() or whole <= timedelta():
        return 0
    return max(1, min(100, round(share(part, whole))))


def _category_rows(week: AuditWeek) -> list[dict[str, Any]]:
    targets = _targets_by_category(week)
    rows: list[dict[str, Any]] = []
    for cat in (*PRECEDENCE, "free"):
        spent = week.free if cat == "free" else week.categories[cat]
        t = targets.get(cat)
        rows.append(
            {
                "category": cat,
                "label": CATEGORY_LABELS[cat],
                "minutes": minutes(spent),
                "hours": fmt_hours(spent),
                "share": fmt_share(share(spent, week.working)),
                "target": _target_text(t) if t else "",
                "status": ("met" if t.met else "missed") if t else "",
                "color": CATEGORY_COLORS[cat],
                "width": _bar_width(spent, week.working),
                "bar": _text_bar(_bar_width(spent, week.working)),
            }
        )
    return rows


def _kind_rows(week: AuditWeek) -> list[dict[str, Any]]:
    return [
        {
            "kind": k,
            "label": KIND_LABELS[k],
            "minutes": minutes(v),
            "hours": fmt_hours(v),
            "share": fmt_share(share(v, week.working)),
            "width": _bar_width(v, week.working),
        }
        for k, v in week.coaching_kinds.items()
        if v > timedelta() or k != "other"
    ]


def _sink_rows(
    sinks: Sequence[TimeSink], working: timedelta, manager_email: str
) -> list[dict[str, Any]]:
    return [
        {
            "organizer": s.organizer,
            "you": s.organizer == manager_email,
            "hours": fmt_hours(s.duration),
            "minutes": minutes(s.duration),
            "share": fmt_share(share(s.duration, working)),
            "events": s.events,
            "category": CATEGORY_LABELS[s.main_category],
        }
        for s in sinks
    ]


def _unclassified_rows(week: AuditWeek) -> list[dict[str, Any]]:
    return [
        {
            "title": u.title,
            "organizer": u.organizer,
            "when": f"{u.start:%a} {u.start.day} {u.start:%b %H:%M}",
            "hours": fmt_hours(u.duration),
            "minutes": minutes(u.duration),
        }
        for u in week.unclassified
    ]


def _trend(weeks: Sequence[AuditWeek]) -> dict[str, Any]:
    """Per category: hours and share for each week, oldest first, plus the coaching share bars."""
    labels = [w.week_label for w in weeks]
    rows = []
    for cat in PRECEDENCE:
        rows.append(
            {
                "category": cat,
                "label": CATEGORY_LABELS[cat],
                "hours": [fmt_hours(w.categories[cat]) for w in weeks],
                "shares": [fmt_share(share(w.categories[cat], w.working)) for w in weeks],
            }
        )
    target = weeks[-1].targets[0].target if weeks else 0.0
    coaching = [
        {
            "week": w.week_label,
            "share": fmt_share(w.coaching_share),
            "width": _bar_width(w.categories["coaching"], w.working),
            "met": w.targets[0].met,
            "color": CATEGORY_COLORS["coaching"]
            if w.targets[0].met
            else CATEGORY_COLORS["non_sales"],
        }
        for w in weeks
    ]
    return {"weeks": labels, "rows": rows, "coaching": coaching, "target": f"{target:g}%"}


def _week_dates(week_start: date, n_weeks: int = 1) -> str:
    last = week_start + (7 * n_weeks - 1) * _DAY
    return f"{week_start.day} {week_start:%b} – {last.day} {last:%b %Y}"


def audit_context(policy: Policy, weeks: Sequence[AuditWeek]) -> dict[str, Any]:
    """Plain, display-ready data for the audit email and the summary's chart (last week first).

    Keys: manager, week, dates, working_hours, coaching_share, coaching_target, coaching_met,
    rows (per category, with bar width and colour), kinds, targets, trend, sinks, unclassified,
    outside_hours, declined_hours, declined_count.
    """
    if not weeks:
        raise ValueError("audit_context needs at least one audited week")
    w = weeks[-1]
    first = _targets_by_category(w)["coaching"]
    return {
        "manager": {"name": policy.manager.name, "email": policy.manager.email},
        "week": w.week_label,
        "dates": _week_dates(w.week_start),
        "timezone": w.timezone,
        "working_hours": fmt_hours(w.working),
        "counted_hours": fmt_hours(w.counted),
        "coaching_hours": fmt_hours(w.categories["coaching"]),
        "coaching_share": fmt_share(w.coaching_share),
        "coaching_target": f"{first.target:g}%",
        "coaching_met": first.met,
        "coaching_width": _bar_width(w.categories["coaching"], w.working),
        "target_width": max(0, min(100, round(first.target))),
        "rows": _category_rows(w),
        "kinds": _kind_rows(w),
        "targets": [
            {
                "category": CATEGORY_LABELS[t.category],
                "target": _target_text(t),
                "actual": fmt_share(t.actual)
                if t.unit == "%"
                else fmt_hours(timedelta(minutes=t.actual)),
                "status": "met" if t.met else "missed",
            }
            for t in w.targets
        ],
        "targets_missed": sum(1 for t in w.targets if not t.met),
        "trend": _trend(weeks),
        "sinks": _sink_rows(w.top_sinks, w.working, policy.manager.email),
        "unclassified": _unclassified_rows(w),
        "outside_hours": fmt_hours(w.outside_hours),
        "declined_hours": fmt_hours(w.declined),
        "declined_count": w.declined_count,
    }


def leadership_context(policy: Policy, weeks_of_month: Sequence[AuditWeek]) -> dict[str, Any]:
    """The monthly report a manager forwards to leadership: only what the calendar shows.

    Month totals per category, coaching share against the target, how many weeks met each
    target, the biggest time sinks, and the meetings the manager declined (time not spent).
    """
    if not weeks_of_month:
        raise ValueError("leadership_context needs at least one audited week")
    ws = list(weeks_of_month)
    working = sum((w.working for w in ws), timedelta())
    cats = {c: sum((w.categories[c] for w in ws), timedelta()) for c in PRECEDENCE}
    kinds = {k: sum((w.coaching_kinds[k] for w in ws), timedelta()) for k in COACHING_KINDS}
    free = sum((w.free for w in ws), timedelta())
    target = ws[-1].targets[0].target
    month_share = share(cats["coaching"], working)
    sinks: dict[str, dict[str, Any]] = {}
    for w in ws:
        for s in w.sinks:
            agg = sinks.setdefault(s.organizer, {"duration": timedelta(), "events": 0, "cats": {}})
            agg["duration"] += s.duration
            agg["events"] += s.events
            for c, d in s.categories.items():
                agg["cats"][c] = agg["cats"].get(c, timedelta()) + d
    month_sinks = sorted(
        (TimeSink(o, a["duration"], a["events"], a["cats"]) for o, a in sinks.items()),
        key=lambda s: (-s.duration, s.organizer),
    )[:3]
    met_counts = []
    for i, t in enumerate(ws[-1].targets):
        met_counts.append(
            {
                "category": CATEGORY_LABELS[t.category],
                "target": _target_text(t),
                "weeks_met": sum(1 for w in ws if w.targets[i].met),
                "weeks": len(ws),
            }
        )
    declined = sum((w.declined for w in ws), timedelta())
    return {
        "manager": {"name": policy.manager.name, "email": policy.manager.email},
        "period": f"{ws[0].week_label} – {ws[-1].week_label}",
        "dates": _week_dates(ws[0].week_start, len(ws)),
        "n_weeks": len(ws),
        "working_hours": fmt_hours(working),
        "coaching_hours": fmt_hours(cats["coaching"]),
        "coaching_share": fmt_share(month_share),
        "coaching_target": f"{target:g}%",
        "coaching_met": month_share >= target,
        "rows": [
            {
                "label": CATEGORY_LABELS[c],
                "hours": fmt_hours(v),
                "share": fmt_share(share(v, working)),
                "color": CATEGORY_COLORS[c],
                "width": _bar_width(v, working),
                "bar": _text_bar(_bar_width(v, working)),
                "status": ("met" if month_share >= target else "missed") if c == "coaching" else "",
            }
            for c, v in (*cats.items(), ("free", free))
        ],
        "kinds": [
            {"label": KIND_LABELS[k], "hours": fmt_hours(v)}
            for k, v in kinds.items()
            if v > timedelta()
        ],
        "weekly": [
            {
                "week": w.week_label,
                "coaching_share": fmt_share(w.coaching_share),
                "coaching_hours": fmt_hours(w.categories["coaching"]),
                "width": _bar_width(w.categories["coaching"], w.working),
                "met": w.targets[0].met,
            }
            for w in ws
        ],
        "targets": met_counts,
        "sinks": _sink_rows(month_sinks, working, policy.manager.email),
        "declined_hours": fmt_hours(declined),
        "declined_count": sum(w.declined_count for w in ws),
        "unclassified_hours": fmt_hours(cats["unclassified"]),
    }


def audit_email_context(policy: Policy, weeks: Sequence[AuditWeek]) -> dict[str, Any]:
    """The context of the standalone `audit` email: `{"audit": audit_context(...)}`.

    The templates read everything under `audit`, like the weekly summary's audit section, so
    the same partials (`_audit_chart.html`, `_audit_section.*`) serve both emails.
    """
    return {"audit": audit_context(policy, weeks)}
