"""The time audit: where the manager's working hours went, week by week, against the targets.

Pure: the caller passes the policy and the manager's events; nothing here reads a clock.

How time is counted (the rules a manager can check by hand):

- **Working hours** are the manager's `working_hours` on each of their `working_days`, in their
  timezone. Each day is converted wall clock -> aware instant on its own, so a day on which the
  clocks change still measures what the wall clock says (08:00-17:00 is 9h, DST or not). The
  coaching share is coaching time divided by these working hours.
- **Which events count**: those that block time (`Event.blocks_time()`): not cancelled, not
  transparent ("free"), not declined by the manager, not a working-location marker. Invitations
  not yet answered count, as they do on any free/busy view. Declined meetings are reported apart
  (time and count), never counted as spent.
- **Clipping**: events are clipped to the week and to working hours. Time of short (< 24h)
  timed events outside working hours is reported once as `outside_hours` and is not part of any
  category or share. All-day and multi-day events count only inside working hours, so an opaque
  all-day "offsite" is one working day (9h with 08:00-17:00) of its category, never 24h.
- **No double counting**: where events overlap, each minute goes to one category only, the first
  of `PRECEDENCE` (coaching > account_management > recruiting > non_sales > personal >
  unclassified) among the events covering it. Within coaching, kinds follow `COACHING_KINDS`
  order. The minute is attributed to the winning event (for time sinks and unclassified time).
- **Classification**: coachd's own tag decides first (a tagged one-on-one is coaching, kind
  one_on_one) and an out-of-office event is personal; everything else goes through
  `planner.classify.classify` (triage rules, `audit.categories`, customer domains). What it
  cannot place is `unclassified`: listed, never guessed.
- **Time sinks**: non-coaching, non-personal time grouped by organizer address (the manager's own
  events under the manager's address); personal time is not something to delegate or decline.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any, Literal

from planner.classify import classify
from planner.model import Event
from planner.policy import Category, Manager, Policy
from planner.rules import MatchContext
from planner.timeutil import WEEKDAYS, Interval, days, iso_week, local_dt, merge, total

log = logging.getLogger(__name__)

Bucket = Category | Literal["unclassified"]
Classifier = Callable[[Event], tuple[str, str]]

PRECEDENCE: tuple[Bucket, ...] = (
    "coaching",
    "account_management",
    "recruiting",
    "non_sales",
    "personal",
    "unclassified",
)
COACHING_KINDS: tuple[str, ...] = (
    "one_on_one",
    "ride_along",
    "huddle",
    "sales_meeting",
    "call_review",
    "other",  # coaching by rule or category keyword, without a coachd tag
)
CATEGORY_LABELS: Mapping[str, str] = {
    "coaching": "Coaching",
    "account_management": "Account management",
    "recruiting": "Recruiting & hiring",
    "non_sales": "Non-sales internal",
    "personal": "Personal / other",
    "unclassified": "Unclassified",
    "free": "Unscheduled",
}
KIND_LABELS: Mapping[str, str] = {
    "one_on_one": "One-on-ones",
    "ride_along": "Ride-alongs",
    "huddle": "Huddles",
    "sales_meeting": "Sales meetings",
    "call_review": "Call reviews",
    "other": "Other coaching",
}
# Solid colours that read on white and survive mail clients that drop CSS classes.
CATEGORY_COLORS: Mapping[str, str] = {
    "coaching": "#2e7d32",
    "account_management": "#1565c0",
    "recruiting": "#6a1b9a",
    "non_sales": "#c62828",
    "personal": "#757575",
    "unclassified": "#f9a825",
    "free": "#cfd8dc",
}
SINK_CATEGORIES: frozenset[str] = frozenset(
    {"account_management", "recruiting", "non_sales", "unclassified"}
)
_RANK: dict[str, int] = {c: i for i, c in enumerate(PRECEDENCE)}
_KIND_RANK = {k: i for i, k in enumerate(COACHING_KINDS)}
_DAY = timedelta(days=1)
_MINUTE = timedelta(minutes=1)


# -- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetResult:
    """One target from `audit.targets` against the week's actual figure.

    `unit` is `%` (share of working hours; values are percentages) or `min` (values are
    minutes). `op` is `>=` for a floor and `<=` for a ceiling.
    """

    key: str
    category: str
    op: Literal[">=", "<="]
    unit: Literal["%", "min"]
    target: float
    actual: float
    met: bool


@dataclass(frozen=True)
class UnclassifiedEvent:
    """An event no rule or category placed: reported so the manager can add a rule.

    `duration` is its own time inside working hours this week; `counted` is what it carried in
    the audit after overlaps (less when a higher-precedence event covered part of it).
    """

    title: str
    organizer: str
    start: datetime
    duration: timedelta
    counted: timedelta
    reason: str = ""


@dataclass(frozen=True)
class TimeSink:
    """Non-coaching time one organizer put on the manager's calendar this week."""

    organizer: str
    duration: timedelta
    events: int
    categories: Mapping[str, timedelta]

    @property
    def main_category(self) -> str:
        return max(self.categories.items(), key=lambda kv: (kv[1], -_RANK.get(kv[0], 99)))[0]


@dataclass(frozen=True)
class AuditWeek:
    """Where one week's working hours went. Every duration is a timedelta, exact to the second."""

    week_start: date
    timezone: str
    working: timedelta
    categories: Mapping[str, timedelta]  # every bucket of PRECEDENCE, in that order
    coaching_kinds: Mapping[str, timedelta]  # every kind of COACHING_KINDS, in that order
    outside_hours: timedelta
    declined: timedelta
    declined_count: int
    targets: tuple[TargetResult, ...]
    unclassified: tuple[UnclassifiedEvent, ...]
    sinks: tuple[TimeSink, ...]  # every organizer, largest first
    events_counted: int = 0
    not_counted: Mapping[str, int] = field(default_factory=dict)

    @property
    def week_label(self) -> str:
        return iso_week(self.week_start)

    @property
    def counted(self) -> timedelta:
        """Working time covered by counted events (overlaps once)."""
        return sum(self.categories.values(), timedelta())

    @property
    def free(self) -> timedelta:
        """Working time no counted event covered."""
        return max(self.working - self.counted, timedelta())

    @property
    def coaching_share(self) -> float:
        return share(self.categories["coaching"], self.working)

    @property
    def top_sinks(self) -> tuple[TimeSink, ...]:
        return self.sinks[:3]


def share(part: timedelta, whole: timedelta) -> float:
    """`part` as a percentage of `whole` (0 when there is no whole)."""
    if whole <= timedelta():
        return 0.0
    return 100.0 * (part / whole)


def minutes(td: timedelta) -> int:
    """Whole minutes in a duration (seconds are dropped, never rounded up)."""
    return int(td // _MINUTE)


def fmt_hours(td: timedelta) -> str:
    """`4h30`, `0h45`, `12h00`: hours and minutes, the way a timesheet reads."""
    h, m = divmod(minutes(td), 60)
    return f"{h}h{m:02d}"


def fmt_share(pct: float) -> str:
    return f"{pct:.0f}%"


# -- counting -----------------------------------------------------------------------------


def week_window(manager: Manager, week_start: date) -> Interval:
    """Local midnight of week_start to local midnight seven days later, in UTC."""
    tz = manager.tz
    return Interval(
        local_dt(week_start, time(0), tz).astimezone(UTC),
        local_dt(week_start + 7 * _DAY, time(0), tz).astimezone(UTC),
    )


def working_intervals(manager: Manager, start: date, end: date) -> dict[date, Interval]:
    """The manager's working hours on each working day in [start, end), as UTC intervals."""
    tz = manager.tz
    wh = manager.working_hours
    out: dict[date, Interval] = {}
    for d in days(start, end):
        if WEEKDAYS[d.weekday()] in manager.working_days:
            out[d] = Interval(
                local_dt(d, wh.start, tz).astimezone(UTC), local_dt(d, wh.end, tz).astimezone(UTC)
            )
    return out


@dataclass(frozen=True)
class _Piece:
    """Part of one counted event, in UTC, with what it was classified as."""

    start: datetime
    end: datetime
    index: int  # the event's position in the week's list: a stable tie-break
    bucket: str
    kind: str | None
    outside_ok: bool  # may count toward outside_hours (short timed events only)


def _all_day_dates(event: Event) -> list[date]:
    """The dates an all-day event covers (its end date is exclusive, as in iCalendar)."""
    first, last = event.start.date(), event.end.date()
    if last <= first:
        last = first + _DAY
    return list(days(first, last))


def _event_segments(
    event: Event, week: Interval, work: Mapping[date, Interval]
) -> tuple[list[Interval], bool]:
    """The UTC spans an event covers within the week, and whether outside-hours time counts."""
    if event.all_day:
        return [work[d] for d in _all_day_dates(event) if d in work], False
    s, e = event.start.astimezone(UTC), event.end.astimezone(UTC)
    s, e = max(s, week.start), min(e, week.end)
    if s >= e:
        return [], False
    length = event.end.astimezone(UTC) - event.start.astimezone(UTC)
    return [Interval(s, e)], length < _DAY


def _touches(event: Event, week: Interval, week_start: date) -> bool:
    """Whether an event falls in the week: by its dates if all-day, else by its instants."""
    if event.all_day:
        end = week_start + 7 * _DAY
        return any(week_start <= d < end for d in _all_day_dates(event))
    return event.start.astimezone(UTC) < week.end and event.end.astimezone(UTC) > week.start


def _coaching_kind(event: Event) -> str:
    tag = event.tag
    return tag.kind if tag is not None and tag.kind in _KIND_RANK else "other"


def _classify_all(events: Sequence[Event], classifier: Classifier) -> list[tuple[str, str]]:
    """Each event's bucket and reason: coachd's tag first, then the classifier."""
    out: list[tuple[str, str]] = []
    for ev in events:
        if ev.tag is not None and ev.tag.kind in _KIND_RANK:
            out.append(("coaching", f"coachd {ev.tag.kind.replace('_', '-')} block"))
            continue
        if ev.event_type == "outOfOffice":
            # The calendar itself says what this is; no rule needed.
            out.append(("personal", "out of office"))
            continue
        bucket, reason = classifier(ev)
        if bucket not in _RANK:
            log.warning("classifier returned unknown category %r for %r", bucket, ev.title)
            bucket, reason = "unclassified", f"unknown category {bucket!r}"
        out.append((bucket, reason))
    return out


def audit_week(
    policy: Policy,
    events: Sequence[Event],
    week_start: date,
    *,
    classifier: Classifier | None = None,
) -> AuditWeek:
    """Audit the 7 days from week_start (normally a Monday) in the manager's timezone.

    `classifier` maps an event to (bucket, reason); by default `planner.classify.classify` with
    the policy's rules. See the module docstring for the counting rules.
    """
    mgr = policy.manager
    tz = mgr.tz
    week = week_window(mgr, week_start)
    work = working_intervals(mgr, week_start, week_start + 7 * _DAY)
    work_list = sorted(work.values())
    working = sum((iv.duration for iv in work_list), timedelta())

    in_week = [ev for ev in events if _touches(ev, week, week_start)]
    not_counted: dict[str, int] = defaultdict(int)
    declined_spans: list[Interval] = []
    declined_count = 0
    counted_events: list[Event] = []
    for ev in in_week:
        if ev.cancelled:
            not_counted["cancelled"] += 1
        elif ev.self_status == "declined":
            not_counted["declined"] += 1
            segs, _ = _event_segments(ev, week, work)
            inside = _clip_all(segs, work_list)
            if inside:
                declined_count += 1
                declined_spans.extend(inside)
        elif ev.transparent:
            not_counted["transparent"] += 1
        elif not ev.blocks_time():
            not_counted[ev.event_type] += 1
        else:
            counted_events.append(ev)

    if classifier is None:
        classifier = default_classifier(policy, events)
    labels = _classify_all(counted_events, classifier)

    pieces: list[_Piece] = []
    own_time: dict[int, list[Interval]] = defaultdict(list)
    for i, (ev, (bucket, _reason)) in enumerate(zip(counted_events, labels, strict=True)):
        segs, outside_ok = _event_segments(ev, week, work)
        kind = _coaching_kind(ev) if bucket == "coaching" else None
        for seg in segs:
            pieces.append(_Piece(seg.start, seg.end, i, bucket, kind, outside_ok))
        own_time[i] = _clip_all(segs, work_list)

    cats: dict[str, timedelta] = {c: timedelta() for c in PRECEDENCE}
    kinds: dict[str, timedelta] = {k: timedelta() for k in COACHING_KINDS}
    per_event: dict[int, timedelta] = defaultdict(timedelta)
    outside = timedelta()
    for a, b, covering in _sweep(pieces, work_list):
        span = b - a
        if _inside(a, work_list):
            win = min(covering, key=_precedence)
            cats[win.bucket] += span
            if win.kind is not None:
                kinds[win.kind] += span
            per_event[win.index] += span
        elif any(p.outside_ok for p in covering):
            outside += span

    unclassified = tuple(
        sorted(
            (
                UnclassifiedEvent(
                    title=ev.title,
                    organizer=_organizer(ev, mgr.email),
                    start=ev.start.astimezone(tz),
                    duration=total(own_time[i]),
                    counted=per_event[i],
                    reason=labels[i][1],
                )
                for i, ev in enumerate(counted_events)
                if labels[i][0] == "unclassified" and own_time[i]
            ),
            key=lambda u: (u.start, u.title),
        )
    )
    return AuditWeek(
        week_start=week_start,
        timezone=mgr.timezone,
        working=working,
        categories=cats,
        coaching_kinds=kinds,
        outside_hours=outside,
        declined=total(declined_spans),
        declined_count=declined_count,
        targets=_targets(policy, cats, working),
        unclassified=unclassified,
        sinks=_sinks(counted_events, labels, per_event, mgr.email),
        events_counted=sum(1 for i in range(len(counted_events)) if own_time[i]),
        not_counted=dict(not_counted),
    )


def audit_weeks(
    policy: Policy,
    events: Sequence[Event],
    last_week_start: date,
    weeks: int = 4,
    *,
    classifier: Classifier | None = None,
) -> list[AuditWeek]:
    """Audit `weeks` weeks ending with the one starting last_week_start, oldest first."""
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1 (got {weeks})")
    if classifier is None:
        classifier = default_classifier(policy, events)
    return [
        audit_week(policy, events, last_week_start - 7 * _DAY * n, classifier=classifier)
        for n in range(weeks - 1, -1, -1)
    ]


def month_week_starts(year: int, month: int) -> list[date]:
    """The Mondays of the ISO weeks that belong to a month (their Thursday falls in it).

    Every week belongs to exactly one month, so monthly reports never count a week twice.
    """
    first = date(year, month, 1)
    monday = first - first.weekday() * _DAY
    if (monday + 3 * _DAY).month != month:
        monday += 7 * _DAY
    out = []
    while (monday + 3 * _DAY).month == month:
        out.append(monday)
        monday += 7 * _DAY
    return out


def default_classifier(policy: Policy, events: Sequence[Event]) -> Classifier:
    """`planner.classify.classify` bound to the policy, with coachd's blocks as the coaching.

    The match context's coaching blocks are the tagged events that block time, so a rule with
    `overlaps_coaching` sees the same coaching the calendar shows.
    """
    blocks = [ev.interval for ev in events if ev.tag is not None and ev.blocks_time()]
    ctx = MatchContext.build(policy, blocks)

    def run(ev: Event) -> tuple[str, str]:
        return classify(policy, ev, ctx)

    return run


def _precedence(p: _Piece) -> tuple[int, int, datetime, int]:
    return (_RANK[p.bucket], _KIND_RANK.get(p.kind or "", 0), p.start, p.index)


def _sweep(
    pieces: Sequence[_Piece], work: Sequence[Interval]
) -> list[tuple[datetime, datetime, list[_Piece]]]:
    """Elementary spans between consecutive boundaries, each with the pieces covering it.

    Working-hour edges are boundaries too, so each span is wholly inside or outside hours.
    """
    if not pieces:
        return []
    points = {p.start for p in pieces} | {p.end for p in pieces}
    lo, hi = min(p.start for p in pieces), max(p.end for p in pieces)
    points |= {t for iv in work for t in (iv.start, iv.end) if lo < t < hi}
    ordered = sorted(points)
    by_start = sorted(pieces, key=lambda p: p.start)
    active: list[_Piece] = []
    nxt = 0
    out: list[tuple[datetime, datetime, list[_Piece]]] = []
    for a, b in pairwise(ordered):
        while nxt < len(by_start) and by_start[nxt].start <= a:
            active.append(by_start[nxt])
            nxt += 1
        active = [p for p in active if p.end > a]
        if active:
            out.append((a, b, list(active)))
    return out


def _inside(t: datetime, work: Sequence[Interval]) -> bool:
    return any(iv.start <= t < iv.end for iv in work)


def _clip_all(segs: Sequence[Interval], work: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for seg in segs:
        for iv in work:
            s, e = max(seg.start, iv.start), min(seg.end, iv.end)
            if s < e:
                out.append(Interval(s, e))
    return merge(out)


def _organizer(ev: Event, manager_email: str) -> str:
    org = (ev.organizer or "").strip().lower()
    return org or manager_email


def _targets(
    policy: Policy, cats: Mapping[str, timedelta], working: timedelta
) -> tuple[TargetResult, ...]:
    t = policy.audit.targets
    coaching = share(cats["coaching"], working)
    return (
        TargetResult(
            "coaching_min_share",
            "coaching",
            ">=",
            "%",
            t.coaching_min_share,
            coaching,
            coaching >= t.coaching_min_share,
        ),
        TargetResult(
            "account_management_max",
            "account_management",
            "<=",
            "min",
            t.account_management_max / _MINUTE,
            cats["account_management"] / _MINUTE,
            cats["account_management"] <= t.account_management_max,
        ),
        TargetResult(
            "non_sales_max",
            "non_sales",
            "<=",
            "min",
            t.non_sales_max / _MINUTE,
            cats["non_sales"] / _MINUTE,
            cats["non_sales"] <= t.non_sales_max,
        ),
    )


def _sinks(
    events: Sequence[Event],
    labels: Sequence[tuple[str, str]],
    per_event: Mapping[int, timedelta],
    manager_email: str,
) -> tuple[TimeSink, ...]:
    by_org: dict[str, dict[str, timedelta]] = defaultdict(lambda: defaultdict(timedelta))
    count: dict[str, int] = defaultdict(int)
    for i, ev in enumerate(events):
        spent = per_event.get(i, timedelta())
        if labels[i][0] not in SINK_CATEGORIES or spent <= timedelta():
            continue
        org = _organizer(ev, manager_email)
        by_org[org][labels[i][0]] += spent
        count[org] += 1
    sinks = [
        TimeSink(org, sum(c.values(), timedelta()), count[org], dict(c))
        for org, c in by_org.items()
    ]
    sinks.sort(key=lambda s: (-s.duration, s.organizer))
    return tuple(sinks)


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
