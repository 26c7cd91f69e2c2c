"""The pieces the email contexts are made of: the Block a context describes, formatted
days, times and numbers, KPI standings and rows, people, new hires, the coaching
conversation and ride-along history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from planner.kpi import Standing, meets
from planner.model import Snapshot
from planner.policy import Kpi, Policy, Rep
from planner.timeutil import week_monday

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
