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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

from planner.audit_context import (
    audit_context,
    audit_email_context,
    leadership_context,
)
from planner.audit_model import (
    _DAY,
    _KIND_RANK,
    _MINUTE,
    _RANK,
    CATEGORY_COLORS,
    CATEGORY_LABELS,
    COACHING_KINDS,
    KIND_LABELS,
    PRECEDENCE,
    SINK_CATEGORIES,
    AuditWeek,
    Bucket,
    Classifier,
    TargetResult,
    TimeSink,
    UnclassifiedEvent,
    fmt_hours,
    fmt_share,
    minutes,
    share,
)
from planner.classify import classify
from planner.model import Event
from planner.policy import Manager, Policy
from planner.rules import MatchContext
from planner.timeutil import WEEKDAYS, Interval, days, local_dt, merge, total

__all__ = [
    "CATEGORY_COLORS",
    "CATEGORY_LABELS",
    "COACHING_KINDS",
    "KIND_LABELS",
    "PRECEDENCE",
    "SINK_CATEGORIES",
    "AuditWeek",
    "Bucket",
    "Classifier",
    "TargetResult",
    "TimeSink",
    "UnclassifiedEvent",
    "audit_context",
    "audit_email_context",
    "audit_week",
    "audit_weeks",
    "default_classifier",
    "fmt_hours",
    "fmt_share",
    "leadership_context",
    "minutes",
    "month_week_starts",
    "share",
    "week_window",
    "working_intervals",
]


log = logging.getLogger(__name__)

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
    week = week_window(mgr, week_start)
    work = working_intervals(mgr, week_start, week_start + 7 * _DAY)
    work_list = sorted(work.values())
    working = sum((iv.duration for iv in work_list), timedelta())

    in_week = [ev for ev in events if _touches(ev, week, week_start)]
    counted_events, not_counted, declined_spans, declined_count = _sort_out(
        in_week, week, work, work_list
    )
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
    cats, kinds, per_event, outside = _attribute(pieces, work_list)

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
        unclassified=_unclassified(policy, counted_events, labels, own_time, per_event),
        sinks=_sinks(counted_events, labels, per_event, mgr.email),
        events_counted=sum(1 for i in range(len(counted_events)) if own_time[i]),
        not_counted=dict(not_counted),
    )


def _sort_out(
    in_week: Sequence[Event],
    week: Interval,
    work: dict[date, Interval],
    work_list: Sequence[Interval],
) -> tuple[list[Event], dict[str, int], list[Interval], int]:
    """The week's events that count; why the others do not (cancelled, declined, free, ...);
    the declined meetings' time inside working hours, and how many there were."""
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
    return counted_events, not_counted, declined_spans, declined_count


def _attribute(
    pieces: Sequence[_Piece], work_list: Sequence[Interval]
) -> tuple[dict[str, timedelta], dict[str, timedelta], dict[int, timedelta], timedelta]:
    """Each minute of working time to one category (and coaching kind, and event) by
    precedence; short events' time outside working hours apart."""
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
    return cats, kinds, per_event, outside


def _unclassified(
    policy: Policy,
    counted_events: Sequence[Event],
    labels: Sequence[tuple[str, str]],
    own_time: dict[int, list[Interval]],
    per_event: dict[int, timedelta],
) -> tuple[UnclassifiedEvent, ...]:
    """The counted events no rule or category placed, in time order."""
    mgr = policy.manager
    return tuple(
        sorted(
            (
                UnclassifiedEvent(
                    title=ev.title,
                    organizer=_organizer(ev, mgr.email),
                    start=ev.start.astimezone(mgr.tz),
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
