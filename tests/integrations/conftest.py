"""Fixtures every backend test here shares: a recording, non-sleeping backoff and an
in-memory key-value store. pytest puts this folder on sys.path, so the shared modules here
(calendar_contract, remote_support) import by name from the backend folders below."""

from __future__ import annotations

import pytest

from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV


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
