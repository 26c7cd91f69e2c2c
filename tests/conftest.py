"""Shared fixtures: the pinned instant (see tests/pinning.py) and a demo folder written by
`coachd init --demo` at that instant."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from pinning import PINNED

from daemon import main
from integrations import clock


@pytest.fixture(autouse=True)
def _real_clock() -> Iterator[None]:
    """An in-process `main([... '--at', ...])` moves coachd's clock; put it back after."""
    yield
    clock.reset()


@pytest.fixture
def pinned_now() -> Iterator[datetime]:
    """Freeze the clock at PINNED (ticking), so the demo's week is known."""
    with time_machine.travel(PINNED, tick=True):
        yield PINNED


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`coachd init --demo --at PINNED`, written once per session (it is deterministic)."""
    d = tmp_path_factory.mktemp("demo-template") / "demo"
    assert main(["init", str(d), "--demo", "--at", PINNED.isoformat()]) == 0
    clock.reset()
    return d


@pytest.fixture
def demo(tmp_path: Path, pinned_now: datetime, demo_template: Path) -> Path:
    """A fresh demo folder (config.yaml, calendar/, kpis.csv, notes/) for PINNED: a copy of
    the session's template, so each test may change its own."""
    d = tmp_path / "demo"
    shutil.copytree(demo_template, d)
    return d
