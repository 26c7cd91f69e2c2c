"""Shared fixtures: a demo folder written by `coachd init --demo`, and a free port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from daemon import main

CHICAGO = ZoneInfo("America/Chicago")
# A Monday morning before the working day: the demo's "coming week" is this week.
PINNED = datetime(2026, 11, 30, 6, 0, tzinfo=CHICAGO)


def free_port() -> int:
    """A port that was free a moment ago (binding to port 0 and releasing it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def pinned_now() -> Iterator[datetime]:
    """Freeze the clock at PINNED (ticking), so the demo's week is known."""
    with time_machine.travel(PINNED, tick=True):
        yield PINNED


@pytest.fixture
def demo(tmp_path: Path, pinned_now: datetime) -> Path:
    """A fresh demo folder (config.yaml, calendar/, kpis.csv, notes/) for PINNED."""
    d = tmp_path / "demo"
    assert main(["init", str(d), "--demo"]) == 0
    return d
