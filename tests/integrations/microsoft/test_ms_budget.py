"""Timeouts that fit a tick on Microsoft Graph too (issue #16): reads wait 10 s for an answer,
writes 30 s, and per tick the reads get 30 s and the writes 60 s, retries and waits included
(waits counted as asked, so the injected non-sleeping backoff is bounded the same way). Past
that the tick gives up with a TransientError and the next tick goes on, against a fake Graph
that fails or hangs."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_graph import FakeGraph
from ms_support import CLIENT_TIMEOUT, OWNER, TZ, WINDOW, at, book, timed

from integrations.errors import TransientError
from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV
from integrations.microsoft.auth import client_for
from integrations.microsoft.calendar import (
    READ_BUDGET,
    WRITE_BUDGET,
    MicrosoftCalendar,
    open_microsoft_calendar,
)
from integrations.microsoft.client import DEFAULT_TIMEOUT, READ_TIMEOUT
from planner.policy import MicrosoftSettings

REP = "rep@example.com"


@pytest.fixture
def patient(sleeps: list[float]) -> Backoff:
    """A backoff that alone would retry ten times, waiting 8, 16, 32... seconds."""
    return Backoff(base=8.0, cap=64.0, max_attempts=10, sleep=sleeps.append, rand=lambda: 1.0)


def _calendar(
    fake: FakeGraph,
    backoff: Backoff,
    *,
    timeout: float = CLIENT_TIMEOUT,
    read_timeout: float | None = None,
    read_budget: float = READ_BUDGET,
) -> MicrosoftCalendar:
    settings = MicrosoftSettings(credentials="none", api_endpoint=fake.endpoint)
    client = client_for(
        settings,
        manager=OWNER,
        tz=TZ,
        base_dir=Path("/nonexistent"),
        timeout=timeout,
        read_timeout=read_timeout,
    )
    return MicrosoftCalendar(
        client, manager=OWNER, tz=TZ, kv=MemoryKV(), backoff=backoff, read_budget=read_budget
    )


def test_reads_stop_retrying_when_the_ticks_read_budget_is_spent(
    fake_graph: FakeGraph, patient: Backoff, sleeps: list[float]
) -> None:
    fake_graph.inject("GET", r"/delta$", 503, times=20)
    cal = _calendar(fake_graph, patient)
    with pytest.raises(TransientError, match="30s for these requests is spent"):
        cal.read(OWNER, WINDOW)
    assert sleeps == [8.0, 16.0]  # 8 + 16 fit the 30 s budget; 32 more would not
    assert len(fake_graph.calls("delta")) == 3
    assert sum(sleeps) <= READ_BUDGET


def test_a_hanging_graph_ends_the_ticks_reads_within_the_budget(
    fake_graph: FakeGraph, sleeps: list[float]
) -> None:
    """Every delta request answered 2 s late, past the 0.5 s timeout: the read gives up
    once the 2 s budget is spent, and the same tick's getSchedule is not even sent (it
    would hang as well); the next tick starts with a fresh budget."""
    fake_graph.add_event(OWNER, timed(at(9, 9), at(9, 10), subject="A"))
    fake_graph.inject("GET", r"/delta$", 0, delay=2.0, times=99)
    quick = Backoff(base=0.25, cap=1.0, max_attempts=10, sleep=sleeps.append, rand=lambda: 1.0)
    cal = _calendar(fake_graph, quick, read_budget=2.0)
    with pytest.raises(TransientError) as e:
        cal.read(OWNER, WINDOW)
    assert "Timeout" in str(e.value) and "2s for these requests is spent" in str(e.value)
    assert "calendarView delta" in str(e.value)
    tries = len(fake_graph.calls("delta"))
    assert 1 <= tries < quick.max_attempts  # the budget, not the attempts, ended it
    assert sum(sleeps) <= 2.0

    busy = cal.busy([REP], WINDOW)  # later in the same tick
    assert fake_graph.calls("getSchedule") == []
    assert "not sent" in busy.errors[REP] and "spent" in busy.errors[REP]

    fake_graph.faults.clear()  # Graph answers again: the next tick reads normally
    assert [ev.title for ev in cal.read(OWNER, WINDOW).events] == ["A"]


def test_a_hanging_get_schedule_marks_its_people_within_the_budget(
    fake_graph: FakeGraph, patient: Backoff, sleeps: list[float]
) -> None:
    cal = _calendar(fake_graph, patient)
    cal.read(OWNER, WINDOW)  # the tick's reads start here
    fake_graph.inject("POST", r"/getSchedule$", 0, delay=1.0, times=99)
    got = cal.busy([REP], WINDOW)
    assert "ReadTimeout" in got.errors[REP] and "spent" in got.errors[REP]
    assert sleeps == [8.0, 16.0] and len(fake_graph.calls("getSchedule")) == 3


def test_writes_stop_retrying_when_the_ticks_write_budget_is_spent(
    fake_graph: FakeGraph, patient: Backoff, sleeps: list[float]
) -> None:
    cal = _calendar(fake_graph, patient)
    cal.read(OWNER, WINDOW)
    fake_graph.inject("POST", r"^/\$batch$", 503, times=20)
    writes = [book(f"rep{i}@example.com", at(9 + i, 10)) for i in range(3)]
    outcomes = cal.apply(OWNER, writes)
    assert all(o.error and "60s for these requests is spent" in o.error for o in outcomes)
    assert all(o.transient for o in outcomes)
    assert sleeps == [8.0, 16.0, 32.0]  # then 64 more would pass the 60 s budget
    assert sum(sleeps) <= WRITE_BUDGET
    assert fake_graph.events(OWNER) == []


def test_reads_wait_for_a_shorter_timeout_than_writes(
    fake_graph: FakeGraph, sleeps: list[float]
) -> None:
    """Answers 1 s late: a read (0.3 s timeout) gives up, a write (30 s) waits for it."""
    once = Backoff(max_attempts=1, sleep=sleeps.append)
    cal = _calendar(fake_graph, once, timeout=DEFAULT_TIMEOUT, read_timeout=0.3)
    fake_graph.inject("GET", r"/delta$", 0, delay=1.0)
    with pytest.raises(TransientError, match="ReadTimeout"):
        cal.read(OWNER, WINDOW)
    cal.read(OWNER, WINDOW)
    fake_graph.inject("POST", r"/events$", 0, delay=1.0)
    [o] = cal.apply(OWNER, [book(REP, at(9, 10))])
    assert o.error is None and len(fake_graph.events(OWNER)) == 1


def test_the_daemons_calendar_gets_the_read_and_write_timeouts() -> None:
    settings = MicrosoftSettings(credentials="none", api_endpoint="http://127.0.0.1:9/v1.0/")
    cal = open_microsoft_calendar(
        settings, manager=OWNER, tz=TZ, base_dir=Path("/x"), kv=MemoryKV()
    )
    assert cal.client.read_timeout == READ_TIMEOUT == 10.0
    assert cal.client.timeout == DEFAULT_TIMEOUT == 30.0
    assert (cal.read_budget.seconds, cal.write_budget.seconds) == (30.0, 60.0)
