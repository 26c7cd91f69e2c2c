"""Timeouts that fit a tick (issue #16): reads get a short per-request timeout, and reads and
writes each a time budget per tick, retries and waits included; past it the tick gives up
with a transient error (the next tick retries) instead of holding for minutes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_server import FakeGoogle
from google_support import OWNER, WINDOW, demo_week, make_calendar

from integrations.errors import TransientError
from integrations.google.calendar import READ_BUDGET, WRITE_BUDGET, open_google_calendar
from integrations.google.client import DEFAULT_TIMEOUT, READ_TIMEOUT
from integrations.google.retry import Backoff
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
