"""Fixtures for the Google backend tests: the loopback fake (see fake_server.py) and a
GoogleCalendar wired to it with an in-memory KV and a recording, non-sleeping backoff."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fake_server import FakeGoogle, fake_google
from google_support import make_calendar

from integrations.google.calendar import GoogleCalendar
from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV

__all__ = ["fake_google"]

# calendar_contract.py sits one folder up (tests/integrations/), shared by every backend;
# pytest only puts this folder on sys.path for the modules here.
_SHARED = str(Path(__file__).resolve().parent.parent)
if _SHARED not in sys.path:
    sys.path.insert(0, _SHARED)


@pytest.fixture
def sleeps() -> list[float]:
    """Every backoff wait requested (nothing really sleeps)."""
    return []


@pytest.fixture
def backoff(sleeps: list[float]) -> Backoff:
    # rand() = 1.0 takes the full exponential step, so the waits are predictable.
    return Backoff(base=1.0, cap=32.0, max_attempts=5, sleep=sleeps.append, rand=lambda: 1.0)


@pytest.fixture
def kv() -> MemoryKV:
    return MemoryKV()


@pytest.fixture
def gcal(fake_google: FakeGoogle, kv: MemoryKV, backoff: Backoff) -> GoogleCalendar:
    return make_calendar(fake_google, kv, backoff)
