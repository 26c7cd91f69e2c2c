"""The time audit's results and vocabulary: categories in precedence order, labels and
colours, the per-week result types, and the small formatters the contexts share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from planner.model import Event
from planner.policy import Category
from planner.timeutil import iso_week

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
