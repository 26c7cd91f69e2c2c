"""One request rate for the whole deployment: a thread-safe token bucket, and a calendar
that takes a token before each call to the backend.

A call on the Calendar port is one API request in the common case (one events.list page,
one freeBusy query, one write); a read that pages counts once, so set
`requests_per_second` with a margin below the project's quota.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from integrations.calendar.base import (
    BusyRead,
    Calendar,
    CalendarRead,
    CalendarWrite,
    WriteOutcome,
)
from planner.timeutil import Interval


class Bucket(Protocol):
    """What a rate limiter offers: `take(n)` blocks until `n` tokens are taken."""

    def take(self, n: int = 1) -> float: ...


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; `take` blocks until one is there."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = monotonic()
        self._lock = threading.Lock()
        self.taken = 0
        self.waited = 0.0

    def take(self, n: int = 1) -> float:
        """Take `n` tokens (at most `burst` at a time), sleeping while there are too few;
        returns the seconds waited."""
        n = max(1, min(n, self.burst))
        waited = 0.0
        while True:
            with self._lock:
                now = self._monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= n:
                    self._tokens -= n
                    self.taken += n
                    self.waited += waited
                    return waited
                wait = (n - self._tokens) / self.rate
            self._sleep(wait)
            waited += wait


class RateLimitedCalendar:
    """A Calendar whose every backend call first takes tokens from the shared bucket."""

    def __init__(self, inner: Calendar, bucket: Bucket) -> None:
        self.inner = inner
        self.bucket = bucket

    def read(self, owner: str, window: Interval) -> CalendarRead:
        self.bucket.take()
        return self.inner.read(owner, window)

    def busy(self, people: Sequence[str], window: Interval) -> BusyRead:
        self.bucket.take()
        return self.inner.busy(people, window)

    def apply(self, owner: str, writes: Sequence[CalendarWrite]) -> list[WriteOutcome]:
        self.bucket.take(len(writes))
        return self.inner.apply(owner, writes)

    def __getattr__(self, name: str) -> Any:
        # Everything else (the local backend's start_budget, names) is the inner calendar's.
        return getattr(self.inner, name)
