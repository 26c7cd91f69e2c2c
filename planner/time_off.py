"""Time off: public holidays and out-of-office entries, which coaching never lands on.

- A public holiday comes from the `holidays` package for `manager.holidays` (a country like
  `US`, or a subdivision like `US-TX`); a rep's own `holidays` region overrides the manager's
  for them. A holiday makes the whole local day busy for whoever observes it.
- An out-of-office entry is an event of the manager's marked so: Google's
  `eventType: outOfOffice`, Outlook's `X-MICROSOFT-CDO-BUSYSTATUS:OOF` (read into the same
  event type), or a title holding one of `manager.out_of_office_words` as whole words. It
  blocks the time it covers even when the calendar shows it as free (all-day vacation entries
  often are).

Pure: the holiday tables are data inside the package, no clock, file or network is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from planner.model import Event
from planner.policy import Policy
from planner.timeutil import Interval, local_dt


@lru_cache(maxsize=64)
def _table(region: str, years: tuple[int, ...]) -> dict[date, str]:
    country, _, sub = region.partition("-")
    import holidays  # only when a region is configured: the package takes ~0.1 s to import

    table = holidays.country_holidays(country, subdiv=sub or None, years=years)
    return {d: str(name) for d, name in table.items()}


def holidays_between(region: str | None, first: date, last: date) -> dict[date, str]:
    """The public holidays of a region on the days [first, last], by day, with their names."""
    if region is None or last < first:
        return {}
    years = tuple(range(first.year, last.year + 1))
    return {d: n for d, n in _table(region, years).items() if first <= d <= last}


def region_of(policy: Policy, rep: str | None) -> str | None:
    """Whose holidays apply: the rep's own region, else the manager's."""
    r = policy.rep(rep) if rep else None
    if r is not None and r.holidays:
        return r.holidays
    return policy.manager.holidays


def day_spans(days: Iterable[date], tz: ZoneInfo) -> list[Interval]:
    """Each day as the span from its local midnight to the next."""
    return [
        Interval(local_dt(d, time(0), tz), local_dt(d + timedelta(days=1), time(0), tz))
        for d in days
    ]


def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = [w.strip() for w in words if w.strip()]
    if not cleaned:
        return None
    alts = "|".join(re.escape(w) for w in sorted(cleaned, key=len, reverse=True))
    return re.compile(rf"(?<![\w])(?:{alts})(?![\w])", re.IGNORECASE)


@lru_cache(maxsize=16)
def _cached_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    return _word_pattern(words)


def is_out_of_office(event: Event, words: Iterable[str]) -> bool:
    """Whether an event of the manager's marks time off (see the module docstring).

    Cancelled entries and ones the manager declined do not count; coachd's own never do.
    """
    if event.tag is not None or event.cancelled or event.self_status == "declined":
        return False
    if event.event_type == "outOfOffice":
        return True
    pattern = _cached_pattern(tuple(words))
    return bool(pattern and pattern.search(event.title or ""))


def time_off_name(event: Event) -> str:
    """How a report names an out-of-office entry."""
    return f"out of office ({event.title!r})" if event.title else "out of office"
