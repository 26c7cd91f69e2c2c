"""Timeouts that fit a tick (issue #16): reads get a short per-request timeout, and reads and
writes each a time budget per tick, retries and waits included; past it the tick gives up
with a transient error (the next tick retries) instead of holding for minutes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_server import FakeGoogle
from google_support import OWNER, WINDOW, demo_week, make_calendar

from integrations.errors import TransientError
from integrations.google.batch import BatchRunner, Sub
from integrations.google.calendar import READ_BUDGET, WRITE_BUDGET, open_google_calendar
from integrations.google.client import DEFAULT_TIMEOUT, READ_TIMEOUT
from integrations.google.retry import Backoff, RetryBudget
from integrations.google.sync import MemoryKV
from planner.policy import GoogleSettings


@pytest.fixture
def patient(sleeps: list[float]) -> Backoff:
    """A backoff that alone would retry ten times, waiting 8, 16, 32... seconds."""
    return Backoff(base=8.0, cap=64.0, max_attempts=10, sleep=sleeps.append, rand=lambda: 1.0)


def test_reads_stop_retrying_when_the_ticks_read_budget_is_spent(
    fake_google: FakeGoogle, kv: MemoryKV, patient: Backoff, sleeps: list[float]
) -> None:
    fake_google.inject("GET", r"/events$", 503, times=20)
    cal = make_calendar(fake_google, kv, patient)
    with pytest.raises(TransientError, match="spent"):
        cal.read(OWNER, WINDOW)
    assert sleeps == [8.0, 16.0]  # 8 + 16 fit the 30 s budget; 32 more would not
    assert len(fake_google.calls("events.list")) == 3
    assert sum(sleeps) <= READ_BUDGET


def test_writes_stop_retrying_when_the_ticks_write_budget_is_spent(
    fake_google: FakeGoogle, kv: MemoryKV, patient: Backoff, sleeps: list[float]
) -> None:
    fake_google.inject("POST", r"^/batch/", 503, times=20)
    cal = make_calendar(fake_google, kv, patient)
    outcomes = cal.apply(OWNER, demo_week(3))
    assert all(o.error and "spent" in o.error and o.transient for o in outcomes)
    assert sleeps == [8.0, 16.0, 32.0]  # then 64 more would pass the 60 s budget
    assert sum(sleeps) <= WRITE_BUDGET


def test_reads_get_a_shorter_timeout_than_writes(fake_google: FakeGoogle) -> None:
    settings = GoogleSettings(credentials="none", api_endpoint=fake_google.endpoint)
    cal = open_google_calendar(
        settings,
        manager=OWNER,
        tz=WINDOW.start.tzinfo,
        base_dir=Path("/x"),
        kv=MemoryKV(),  # type: ignore[arg-type]
    )
    assert cal.conn.read_http().timeout == READ_TIMEOUT == 10.0
    assert cal.conn.http().timeout == DEFAULT_TIMEOUT == 30.0


def test_once_the_read_budget_is_spent_the_ticks_other_reads_are_not_sent(
    fake_google: FakeGoogle, kv: MemoryKV, patient: Backoff
) -> None:
    """As on Microsoft: a read budget spent on a hanging events.list (the clock says 31 s
    went by) leaves nothing for freebusy in the same tick (Google would hang on it too);
    the next tick reads with a fresh budget."""
    now = [0.0]
    fake_google.inject("GET", r"/events$", 503, times=3)  # 8 + 16 s waits, then 32 won't fit
    cal = make_calendar(fake_google, kv, patient)
    cal.read_budget.clock = lambda: now[0]
    with pytest.raises(TransientError, match="spent"):
        cal.read(OWNER, WINDOW)
    now[0] = 31.0
    busy = cal.busy(["rep@example.com"], WINDOW)  # later in the same tick
    assert fake_google.calls("freebusy.query") == []
    assert "freebusy.query: not sent" in busy.errors["rep@example.com"]
    cal.read(OWNER, WINDOW)  # the next tick: a fresh budget, and Google answers again


def test_once_the_write_budget_is_spent_the_ticks_other_writes_are_not_sent(
    fake_google: FakeGoogle, kv: MemoryKV, patient: Backoff
) -> None:
    now = [0.0]
    budget = RetryBudget(60.0, clock=lambda: now[0])
    budget.start()
    runner = BatchRunner(make_calendar(fake_google, kv, patient).conn, patient, budget)
    now[0] = 61.0  # earlier writes of the tick spent it
    [result] = runner.run([Sub(0, lambda: pytest.fail("sent"), what="events.insert")]).values()
    assert result.transient and result.error and "events.insert: not sent" in result.error
    assert fake_google.requests == []
