"""`coachd audit` output: the audit as an aligned plain-text table, or as JSON-ready data.

Pure formatting of `planner.audit.AuditWeek` values (oldest week first, the last one is "this
week"). Minutes are whole numbers in JSON; hours read `4h30` in the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from planner.audit import (
    CATEGORY_LABELS,
    KIND_LABELS,
    PRECEDENCE,
    AuditWeek,
    TargetResult,
    fmt_hours,
    fmt_share,
    minutes,
    share,
)

_GAP = "  "


def _target_text(t: TargetResult) -> str:
    if t.unit == "%":
        return f">= {t.target:g}%"
    return f"<= {fmt_hours(timedelta(minutes=t.target))}"


def _render(rows: Sequence[Sequence[str]], right: frozenset[int]) -> list[str]:
    """Align columns: text columns left, figures (indices in `right`) right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)]
        out.append(_GAP.join(cells).rstrip())
    return out


def format_table(weeks: Sequence[AuditWeek]) -> str:
    """The audit as a person reads it in a terminal: this week against the targets, the trend.

    Columns: category, this week's hours, share of working hours, target, status, then one
    column of hours per audited week (oldest first). Below: the top time sinks, the
    unclassified meetings, and what was left out of the figures.
    """
    if not weeks:
        return "No weeks to audit."
    w = weeks[-1]
    out = [f"Time audit {w.week_label} (week of {w.week_start:%d %b %Y}, {w.timezone})", ""]
    out += _category_table(weeks)
    out += _sinks_and_leftovers(w)
    return "\n".join(out) + "\n"


def _category_table(weeks: Sequence[AuditWeek]) -> list[str]:
    """The aligned lines of the category table (header, categories, free, working, share).

    The trend columns (hours per audited week) appear only when there is more than one week.
    """
    w = weeks[-1]
    targets = {t.category: t for t in w.targets}
    trend = [x.week_label for x in weeks] if len(weeks) > 1 else []
    header = ["Category", "Hours", "Share", "Target", "Status", *trend]
    rows: list[list[str]] = [header]

    def line(label: str, spent: timedelta, cat: str | None, per_week: list[timedelta]) -> None:
        t = targets.get(cat or "")
        rows.append(
            [
                label,
                fmt_hours(spent),
                fmt_share(share(spent, w.working)),
                _target_text(t) if t else "",
                ("met" if t.met else "MISSED") if t else "",
                *([fmt_hours(d) for d in per_week] if trend else []),
            ]
        )

    for cat in PRECEDENCE:
        line(CATEGORY_LABELS[cat], w.categories[cat], cat, [x.categories[cat] for x in weeks])
        if cat == "coaching":
            for kind, spent in w.coaching_kinds.items():
                if spent > timedelta() or any(x.coaching_kinds[kind] for x in weeks):
                    per = [x.coaching_kinds[kind] for x in weeks]
                    line(f"  {KIND_LABELS[kind]}", spent, None, per)
    line(CATEGORY_LABELS["free"], w.free, None, [x.free for x in weeks])
    line("Working hours", w.working, None, [x.working for x in weeks])
    rows.append(
        [
            "Coaching share",
            "",
            "",
            "",
            "",
            *([fmt_share(x.coaching_share) for x in weeks] if trend else []),
        ]
    )
    right = frozenset({1, 2, *range(5, len(header))})
    return _render(rows, right)


def _sinks_and_leftovers(w: AuditWeek) -> list[str]:
    """The lines below the table: top time sinks, unclassified meetings, what was not counted."""
    out = ["", "Top time sinks (non-coaching time by organizer):"]
    out += [
        f"  {i}. {s.organizer}: {fmt_hours(s.duration)} in {s.events} meeting"
        f"{'' if s.events == 1 else 's'} ({CATEGORY_LABELS[s.main_category]})"
        for i, s in enumerate(w.top_sinks, 1)
    ] or ["  none"]
    out += ["", f"Unclassified ({len(w.unclassified)}):"]
    out += [
        f"  - {u.start:%a %d %b %H:%M}  {u.title!r} from {u.organizer}, {fmt_hours(u.duration)}"
        for u in w.unclassified
    ] or ["  none"]
    # Declined meetings have their own figure above; the rest are listed by reason.
    skipped = ", ".join(
        f"{n} {why}" for why, n in sorted(w.not_counted.items()) if why != "declined"
    )
    out += [
        "",
        f"Not counted: {fmt_hours(w.outside_hours)} outside working hours; "
        f"{w.declined_count} declined ({fmt_hours(w.declined)} of working time)"
        + (f"; skipped events: {skipped}" if skipped else "")
        + ".",
    ]
    return out


def week_json(w: AuditWeek) -> dict[str, Any]:
    """One week as plain JSON data (durations in whole minutes)."""
    return {
        "week": w.week_label,
        "week_start": w.week_start.isoformat(),
        "timezone": w.timezone,
        "working_minutes": minutes(w.working),
        "counted_minutes": minutes(w.counted),
        "free_minutes": minutes(w.free),
        "categories": {c: minutes(d) for c, d in w.categories.items()},
        "coaching_kinds": {k: minutes(d) for k, d in w.coaching_kinds.items()},
        "coaching_share": round(w.coaching_share, 1),
        "targets": [
            {
                "key": t.key,
                "category": t.category,
                "op": t.op,
                "unit": t.unit,
                "target": round(t.target, 1),
                "actual": round(t.actual, 1),
                "met": t.met,
            }
            for t in w.targets
        ],
        "top_sinks": [
            {
                "organizer": s.organizer,
                "minutes": minutes(s.duration),
                "events": s.events,
                "categories": {c: minutes(d) for c, d in s.categories.items()},
            }
            for s in w.top_sinks
        ],
        "unclassified": [
            {
                "title": u.title,
                "organizer": u.organizer,
                "start": u.start.isoformat(),
                "minutes": minutes(u.duration),
                "counted_minutes": minutes(u.counted),
                "reason": u.reason,
            }
            for u in w.unclassified
        ],
        "outside_hours_minutes": minutes(w.outside_hours),
        "declined_minutes": minutes(w.declined),
        "declined_count": w.declined_count,
        "not_counted": dict(w.not_counted),
    }


def to_json(weeks: Sequence[AuditWeek]) -> dict[str, Any]:
    """All audited weeks (oldest first) as JSON-ready data for `coachd audit --json`."""
    return {"weeks": [week_json(w) for w in weeks]}
