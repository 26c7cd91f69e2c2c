"""Fixtures for the Microsoft backend tests: the loopback fake Graph (see fake_graph.py) and
a MicrosoftCalendar wired to it with an in-memory KV and a recording, non-sleeping backoff."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fake_graph import FakeGraph, fake_graph
from ms_support import make_calendar

from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV
from integrations.microsoft.calendar import MicrosoftCalendar

__all__ = ["fake_graph"]

# calendar_contract.py sits one folder up (tests/integrations/), shared by every backend.
_SHARED = str(Path(__file__).resolve().parent.parent)
if _SHARED not in sys.path:
    sys.path.insert(0, _SHARED)


@pytest.fixture
def sleeps() -> list[float]:
    """Every backoff wait requested (nothing really sleeps)."""
    return []


@pytest.fixture
def backoff(sleeps: list[float]) -> Backoff:
    return Backoff(base=1.0, cap=32.0, max_attempts=5, sleep=sleeps.append, rand=lambda: 1.0)


@pytest.fixture
def kv() -> MemoryKV:
    return MemoryKV()


@pytest.fixture
def mscal(fake_graph: FakeGraph, kv: MemoryKV, backoff: Backoff) -> MicrosoftCalendar:
    return make_calendar(fake_graph, kv, backoff)
