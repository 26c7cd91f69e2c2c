"""Fixtures for the Microsoft backend tests: the loopback fake Graph (see fake_graph.py) and
a MicrosoftCalendar wired to it with an in-memory KV and a recording, non-sleeping backoff."""

from __future__ import annotations

import pytest
from fake_graph import FakeGraph, fake_graph
from ms_support import make_calendar

from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV
from integrations.microsoft.calendar import MicrosoftCalendar

__all__ = ["fake_graph"]


@pytest.fixture
def mscal(fake_graph: FakeGraph, kv: MemoryKV, backoff: Backoff) -> MicrosoftCalendar:
    return make_calendar(fake_graph, kv, backoff)
