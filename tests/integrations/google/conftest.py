"""Fixtures for the Google backend tests: the loopback fake (see fake_server.py) and a
GoogleCalendar wired to it with an in-memory KV and a recording, non-sleeping backoff."""

from __future__ import annotations

import pytest
from fake_server import FakeGoogle, fake_google
from google_support import make_calendar

from integrations.google.calendar import GoogleCalendar
from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV

__all__ = ["fake_google"]


@pytest.fixture
def gcal(fake_google: FakeGoogle, kv: MemoryKV, backoff: Backoff) -> GoogleCalendar:
    return make_calendar(fake_google, kv, backoff)
