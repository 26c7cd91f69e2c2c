"""The real tick path (`run_tick`) on the fake: a quiet tick makes one request (an incremental
events.list); free/busy is asked only when the plan books or moves something."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from fake_server import FakeGoogle
from google_support import OWNER, make_calendar

from integrations.config_file import LoadedConfig, load_policy
from integrations.google.retry import Backoff
from integrations.store.state import StateStore
from integrations.tick.app import run_tick
from planner.actions import Book

NOW = datetime.fromisoformat("2026-11-30T06:00:00-06:00")
REPS = ["rep0@example.com", "rep1@example.com", "rep2@example.com"]


def _config(tmp: Path, fake: FakeGoogle, *, ride_alongs: bool = True) -> LoadedConfig:
    conf = {
        "coaching": {"ride_along": {"enabled": ride_alongs}},
        "manager": {"name": "Dana", "email": OWNER, "timezone": "America/Chicago"},
        "team": [{"name": f"Rep {i}", "email": e} for i, e in enumerate(REPS)],
        "calendar": {
            "backend": "google",
            "google": {"credentials": "none", "api_endpoint": fake.endpoint},
        },
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(conf), encoding="utf-8")
    return load_policy(tmp / "config.yaml")


def _wall(start: datetime, days: int) -> dict[str, object]:
    """A busy block covering `days` days: its owner has no free slot in the horizon."""
    return {
        "summary": "Sabbatical",
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(days=days)).isoformat()},
    }


@pytest.fixture
def world(tmp_path: Path, fake_google: FakeGoogle) -> tuple[LoadedConfig, FakeGoogle]:
    fake_google.owner = OWNER
    # rep0 is away for the whole horizon: their one-on-one can never be placed, so a plan
    # made as if every rep were free always wants to book it.
    fake_google.add_event(REPS[0], _wall(NOW - timedelta(days=1), 60))
    return _config(tmp_path, fake_google), fake_google


def _booked_with(fake: FakeGoogle) -> set[str]:
    """The reps coachd booked an event of their own with (one-on-ones, ride-alongs)."""
    out = set()
    for e in fake.events(OWNER):
        rep = e.get("extendedProperties", {}).get("private", {}).get("coachd_rep")
        if rep and e.get("status") != "cancelled":
            out.add(rep)
    return out


def _tick(loaded: LoadedConfig, fake: FakeGoogle, backoff: Backoff, now: datetime) -> list[str]:
    fake.clear_log()
    with StateStore.open(loaded.resolve(loaded.policy.state.path), now=now) as store:
        cal = make_calendar(fake, store, backoff)
        result = run_tick(loaded, store, now, calendar=cal)
    assert result.report is not None and result.report.errors == []
    return [r.method_name for r in fake.requests if not r.in_batch]


def test_a_quiet_tick_makes_one_request(
    world: tuple[LoadedConfig, FakeGoogle], backoff: Backoff
) -> None:
    loaded, fake = world
    first = _tick(loaded, fake, backoff, NOW)
    assert first[:2] == ["events.list", "freebusy.query"]
    assert _booked_with(fake) == set(REPS[1:]), "rep0 has no free time: nothing with them"

    for minutes in (10, 20, 30):
        assert _tick(loaded, fake, backoff, NOW + timedelta(minutes=minutes)) == ["events.list"]


def test_busy_times_are_read_again_when_a_booking_needs_them(
    world: tuple[LoadedConfig, FakeGoogle], backoff: Backoff
) -> None:
    loaded, fake = world
    _tick(loaded, fake, backoff, NOW)
    # rep0 comes back early; within the hour the cached busy times still say "away" ...
    away = next(e for e in fake.events(REPS[0]) if e["summary"] == "Sabbatical")
    fake.remove_event(REPS[0], away["id"])
    assert _tick(loaded, fake, backoff, NOW + timedelta(minutes=10)) == ["events.list"]
    # ... after it, the plan with every rep free books rep0, so the busy times are read
    # afresh before anything is placed, and the booking goes ahead.
    later = NOW + timedelta(minutes=70)
    calls = _tick(loaded, fake, backoff, later)
    assert calls[:2] == ["events.list", "freebusy.query"]
    assert REPS[0] in _booked_with(fake)


def test_a_booking_is_never_placed_on_cached_busy_times(
    tmp_path: Path, fake_google: FakeGoogle, backoff: Backoff
) -> None:
    fake_google.owner = OWNER
    loaded = _config(tmp_path, fake_google, ride_alongs=False)
    _tick(loaded, fake_google, backoff, NOW)
    # Within the hour, rep1 fills their calendar and the manager turns ride-alongs on: the
    # plan made on the cached busy times wants a ride-along, so they are read afresh, and
    # no ride-along lands on rep1's new commitments.
    fake_google.add_event(REPS[1], _wall(NOW, 60))
    loaded = _config(tmp_path, fake_google, ride_alongs=True)
    later = NOW + timedelta(minutes=10)
    fake_google.clear_log()
    with StateStore.open(loaded.resolve(loaded.policy.state.path), now=later) as store:
        cal = make_calendar(fake_google, store, backoff)
        result = run_tick(loaded, store, later, calendar=cal)
    assert "freebusy.query" in [r.method_name for r in fake_google.requests]
    rides = [a for a in result.actions if isinstance(a, Book) and a.kind == "ride_along"]
    assert rides and all(a.rep != REPS[1] for a in rides)
