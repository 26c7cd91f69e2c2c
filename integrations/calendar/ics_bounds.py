"""Bounds on the work one outside .ics file may cost a tick.

Anyone who can invite the manager can put any iCalendar text in the calendar folder, so a
file is checked before it is expanded:

- a file larger than `IcsLimits.max_file_bytes` (default 1 MB) is not read at all;
- a rule repeating more often than hourly (FREQ=SECONDLY or MINUTELY) is refused: no real
  meeting repeats every minute, and read as meetings they would fill every day (the
  decision is "reject with a warning", so the week is planned as if the event were not
  there);
- a rule whose expansion would cost more than `MAX_EXPANSION_STEPS` candidate times from its
  DTSTART to the end of the window (dateutil walks every period from DTSTART: an hourly
  rule with BYMINUTE/BYSECOND lists is a secondly rule in disguise), or would yield more
  than `IcsLimits.max_instances` occurrences in the window, is refused.

The estimate is an upper bound computed from the rule's text alone, so it costs nothing
whatever the rule says. It cannot see a rule that never matches (`FREQ=DAILY;BYMONTH=2;
BYMONTHDAY=30`): dateutil then walks day by day to the year 9999 looking for one, for half a
minute. So the expansion itself runs under `time_limit` (`IcsLimits.max_expand_seconds`),
a SIGALRM timer in the main thread.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from types import FrameType
from typing import Any

DEFAULT_MAX_FILE_BYTES = 1_000_000
DEFAULT_MAX_INSTANCES = 3000
# Candidate times dateutil may walk for one rule (from DTSTART to the window's end).
MAX_EXPANSION_STEPS = 200_000
SUB_HOURLY = frozenset({"SECONDLY", "MINUTELY"})

_PERIOD = {
    "SECONDLY": 1.0,
    "MINUTELY": 60.0,
    "HOURLY": 3600.0,
    "DAILY": 86400.0,
    "WEEKLY": 7 * 86400.0,
    "MONTHLY": 28 * 86400.0,  # the shortest month: an upper bound on the periods
    "YEARLY": 365 * 86400.0,
}
_RANK = {f: i for i, f in enumerate(_PERIOD)}
# For each BYxxx part that can multiply the candidates of one period: the finest FREQ at
# which it still expands (a part at or above the FREQ's own unit only filters), and the most
# values one entry can stand for (BYDAY=MO in a MONTHLY rule means up to 5 Mondays).
_EXPANDERS: tuple[tuple[str, str, dict[str, int]], ...] = (
    ("BYSECOND", "MINUTELY", {}),
    ("BYMINUTE", "HOURLY", {}),
    ("BYHOUR", "DAILY", {}),
    ("BYDAY", "WEEKLY", {"MONTHLY": 5, "YEARLY": 53}),
    ("BYMONTHDAY", "MONTHLY", {}),
    ("BYYEARDAY", "YEARLY", {}),
    ("BYWEEKNO", "YEARLY", {"YEARLY": 7}),
    ("BYMONTH", "YEARLY", {"YEARLY": 31}),
)


@dataclass(frozen=True)
class IcsLimits:
    """The caps applied to every outside .ics file (`calendar.local` in config.yaml)."""

    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_instances: int = DEFAULT_MAX_INSTANCES
    max_expand_seconds: float = 2.0  # an ordinary file expands in milliseconds


class TooMuchWork(ValueError):
    """A file or rule that would cost more than the caps allow; the message says which."""


def check_size(size: int, limits: IcsLimits) -> None:
    """Raise TooMuchWork for a file above the size cap."""
    if size > limits.max_file_bytes:
        raise TooMuchWork(
            f"file is {size:,} bytes, above the {limits.max_file_bytes:,}-byte cap "
            "(calendar.local.max_file_size): ignored"
        )


def check_frequency(rrule: Any) -> None:
    """Raise TooMuchWork for a rule repeating more often than hourly."""
    freq = _freq(rrule)
    if freq in SUB_HOURLY:
        raise TooMuchWork(f"RRULE FREQ={freq} repeats more often than hourly: ignored")


def expansion_steps(rrule: Any, dtstart: date | datetime, until: datetime) -> float:
    """An upper bound on the candidate times dateutil walks for `rrule` from `dtstart` to
    `until` (an aware datetime). COUNT and UNTIL shorten it."""
    freq = _freq(rrule)
    period = _PERIOD.get(freq)
    if period is None:
        return 0.0  # not a rule dateutil expands; the parser rejects it elsewhere
    interval = max(1, _first_int(rrule.get("INTERVAL"), 1))
    start = _utc(dtstart)
    end = until.astimezone(UTC)
    rule_until = _first(rrule.get("UNTIL"))
    if isinstance(rule_until, date):
        end = min(end, _utc(rule_until))
    span = max(0.0, (end - start).total_seconds())
    periods = span / (period * interval) + 1
    per_period = 1.0
    for part, finest, spread in _EXPANDERS:
        values = rrule.get(part)
        count = len(values) if isinstance(values, list) else (1 if values else 0)
        if count and _RANK[freq] >= _RANK[finest]:
            per_period *= count * spread.get(freq, 1)
    steps = periods * per_period
    count_limit = _first_int(rrule.get("COUNT"), 0)
    if count_limit > 0:
        # dateutil stops after COUNT hits, but may walk many empty periods to find them.
        steps = min(steps, max(float(count_limit), periods))
    return steps


def check_expansion(
    rrule: Any,
    dtstart: date | datetime,
    window_start: datetime,
    window_end: datetime,
    limits: IcsLimits,
) -> None:
    """Raise TooMuchWork when expanding `rrule` over the window would cost too much."""
    walked = expansion_steps(rrule, dtstart, window_end)
    if walked > MAX_EXPANSION_STEPS:
        raise TooMuchWork(
            f"RRULE FREQ={_freq(rrule)} would expand to about {walked:,.0f} times since its "
            f"start (cap {MAX_EXPANSION_STEPS:,}): ignored"
        )
    in_window = expansion_steps(rrule, max(_utc(dtstart), window_start), window_end)
    if in_window > limits.max_instances:
        raise TooMuchWork(
            f"RRULE FREQ={_freq(rrule)} would repeat about {in_window:,.0f} times in the "
            f"planning window (cap {limits.max_instances:,}, "
            "calendar.local.max_instances): ignored"
        )


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise TooMuchWork inside the block once it has run `seconds` (wall clock).

    Uses SIGALRM, so it limits only code in the main thread (where coachd reads calendars);
    elsewhere the block runs unlimited. A timer already set by someone else is left alone.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or not hasattr(signal, "setitimer")
        or signal.getitimer(signal.ITIMER_REAL)[0] > 0
    ):
        yield
        return
    active = [True]

    def on_alarm(_signum: int, _frame: FrameType | None) -> None:
        if active[0]:
            raise TooMuchWork(f"{what} took longer than {seconds:g}s: ignored")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        active[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _freq(rrule: Any) -> str:
    return str(_first(rrule.get("FREQ")) or "").upper()


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _first_int(value: Any, default: int) -> int:
    try:
        return int(_first(value))
    except (TypeError, ValueError):
        return default


def _utc(value: date | datetime) -> datetime:
    """A UTC datetime for a DATE, floating or zoned value (floating read as UTC: a day's
    difference changes no estimate that matters)."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), UTC)
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
