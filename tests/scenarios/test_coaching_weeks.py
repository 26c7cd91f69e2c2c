"""Nine simulated weeks of a small team on both backends, the clock pinned per tick: reps
decline, people move and delete blocks, the boss books over them, the manager takes a day
off, Christmas comes. Every one-on-one that can take place does, coachd never fights a
person, and what it cannot do lands in "needs you"."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from fake_server import FakeGoogle
from people import Block, GooglePeople, LocalPeople, People

from integrations.config_file import LoadedConfig, load_policy
from integrations.store.state import StateStore
from integrations.tick import busy_cache
from integrations.tick.app import run_tick
from integrations.tick.executor import NEEDS_YOU
from planner.actions import Book, Cancel, Move, Notice

TZ = ZoneInfo("America/Chicago")
MON = datetime(2026, 11, 30, 6, 0, tzinfo=TZ)  # Monday of 2026-W49
MANAGER = "dana@acme.example"
BOSS = "vp@acme.example"
ANA, BEN = "ana@acme.example", "ben@acme.example"
WEEKS = 9


def _config(folder: Path, google: FakeGoogle | None) -> Path:
    conf = {
        "manager": {
            "name": "Dana",
            "email": MANAGER,
            "timezone": "America/Chicago",
            "boss": BOSS,
            "holidays": "US",
        },
        "team": [
            {"name": "Ana", "email": ANA},
            {
                "name": "Ben",
                "email": BEN,
                "one_on_one": {"every": "2 weeks", "day": "thu", "time": "11:00"},
            },
        ],
        "coaching": {
            "horizon": "1 week",
            "ride_along": {"enabled": False},
            "huddle": {"enabled": False},
            "sales_meeting": {"enabled": False},
            "call_review": {"enabled": False},
        },
        "email": {"agenda": {"before": "1h"}},
    }
    if google is not None:
        conf["calendar"] = {
            "backend": "google",
            "google": {"credentials": "none", "api_endpoint": google.endpoint},
        }
    (folder / "kpis.csv").write_text("week,rep,kpi,value\n")
    cfg = folder / "config.yaml"
    cfg.write_text(yaml.safe_dump(conf, sort_keys=False))
    return cfg


@pytest.fixture(params=["local", "google"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[LoadedConfig, People]]:
    if request.param == "local":
        cfg = _config(tmp_path, None)
        (tmp_path / "calendar" / MANAGER).mkdir(parents=True)
        for rep in (ANA, BEN):
            (tmp_path / "calendar" / rep).mkdir()
        yield load_policy(cfg), LocalPeople(tmp_path / "calendar", MANAGER)
        return
    with FakeGoogle(owner=MANAGER) as fake:
        cfg = _config(tmp_path, fake)
        yield load_policy(cfg), GooglePeople(fake, MANAGER)


def _tick(loaded: LoadedConfig, now: datetime) -> list[object]:
    path = loaded.resolve(loaded.policy.state.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with StateStore.open(path, now=now) as store:
        result = run_tick(loaded, store, now)
    assert result.report is not None and result.report.ok, result.report
    return list(result.actions)


def _writes(actions: list[object]) -> list[object]:
    return [a for a in actions if isinstance(a, Book | Move | Cancel)]


def _mine(people: People, rep: str, monday: date) -> list[Block]:
    return [
        b
        for b in people.blocks()
        if f":{rep}:" in b.key and monday <= b.start.astimezone(TZ).date() < monday + timedelta(7)
    ]


def _at(d: date, h: int, m: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, h, m, tzinfo=TZ)


def test_nine_weeks_of_people_and_coachd(world: tuple[LoadedConfig, People]) -> None:
    loaded, people = world
    held: dict[str, set[date]] = {ANA: set(), BEN: set()}
    needs_seen: list[str] = []
    for w in range(WEEKS):
        now = MON + timedelta(weeks=w)
        monday = now.date()
        _tick(loaded, now)
        ana = _mine(people, ANA, monday)
        ben = _mine(people, BEN, monday)
        later = now + timedelta(hours=1)

        if w == 0:
            # Ana declines: rebooked once in the same week, elsewhere, same key
            (a,) = ana
            people.decline(a, ANA)
            acts = _tick(loaded, later)
            cancel, book = _writes(acts)
            assert isinstance(cancel, Cancel) and cancel.event_id == a.id
            assert isinstance(book, Book) and book.key == a.key and book.generation == 1
            assert "Ana declined it" in book.reason
            (a2,) = _mine(people, ANA, monday)
            assert a2.generation == 1 and not a2.declined_by and a2.start != a.start
            # Ben's own day and time
            (b,) = ben
            assert (b.start.astimezone(TZ).strftime("%a %H:%M")) == "Thu 11:00"
        if w == 1:
            # the boss books over Ana's block: coachd moves it, keeping its id
            (a,) = ana
            people.meeting("Forecast review", a.start, a.end, BOSS)
            (move,) = _writes(_tick(loaded, later))
            assert isinstance(move, Move) and move.event_id == a.id and "Forecast" in move.reason
            (a2,) = _mine(people, ANA, monday)
            assert a2.id == a.id and a2.start == move.start
            # "every 2 weeks" from the last one held: Ben has none this week
            assert ben == []
        if w == 2:
            # Ana moves her block herself; a protected meeting then lands on it: it stays
            (a,) = ana
            to = a.start + timedelta(days=1)
            people.move(a, to, to + (a.end - a.start))
            _tick(loaded, later)
            people.meeting("Own errand", to, to + timedelta(minutes=30), None)
            assert _writes(_tick(loaded, later + timedelta(minutes=10))) == []
            (a2,) = _mine(people, ANA, monday)
            assert a2.start == to
            # Ben gets busy on his block: moved, once coachd reads the reps' busy times again
            # (a quiet tick uses the busy times it read within the hour: busy_cache.MAX_AGE)
            (b,) = ben
            people.rep_busy(BEN, b.start - timedelta(minutes=15), b.start + timedelta(minutes=15))
            (move,) = _writes(_tick(loaded, later + busy_cache.MAX_AGE + timedelta(minutes=20)))
            assert isinstance(move, Move) and "Ben is now busy then" in move.reason
        if w == 3:
            # the week of 21 Dec: nothing on Christmas Day (manager.holidays: US)
            assert ana
            for b in ana + ben:
                assert b.start.astimezone(TZ).date() != date(2026, 12, 25)
            # someone deletes Ana's block: recorded, not booked again (rebook_deleted off)
            (a,) = ana
            people.delete(a)
            assert _writes(_tick(loaded, later)) == []
            assert _writes(_tick(loaded, later + timedelta(minutes=5))) == []
        if w == 4:
            # the manager is out of office on the day of Ana's block: moved off it
            (a,) = ana
            d = a.start.astimezone(TZ).date()
            people.meeting(
                "Out of office",
                _at(d, 0),
                _at(d + timedelta(days=1), 0),
                None,
                all_day=True,
                transparent=True,
                out_of_office=True,
            )
            (move,) = _writes(_tick(loaded, later))
            assert isinstance(move, Move) and move.start.astimezone(TZ).date() != d
        if w == 8:
            # every rep can always say no: a fourth decline in one week is the manager's call
            for _ in range(4):
                (a,) = [b for b in _mine(people, ANA, monday) if not b.declined_by]
                people.decline(a, ANA)
                acts = _tick(loaded, later)
                needs_seen += [n.needs_you for n in acts if isinstance(n, Notice) and n.needs_you]
                later += timedelta(minutes=5)
            assert any("1:1 with Ana" in n for n in needs_seen)
            path = loaded.resolve(loaded.policy.state.path)
            with StateStore.open(path, readonly=True, now=later) as store:
                items = store.get(NEEDS_YOU)["items"]
            assert any("Ana declined it" in it["text"] for it in items)

        # converged: one more tick changes nothing
        assert _writes(_tick(loaded, later + timedelta(minutes=30))) == []
        for rep in (ANA, BEN):
            for b in _mine(people, rep, monday):
                if rep not in b.declined_by:
                    held[rep].add(b.start.astimezone(TZ).date())

    weeks_with = {
        rep: {d - timedelta(days=d.weekday()) for d in days} for rep, days in held.items()
    }
    # Ana weekly: every week but the one where a person deleted hers and the last, where
    # she declined every time offered (reported to the manager)
    assert len(weeks_with[ANA]) == WEEKS - 2
    # Ben every 2 weeks, counted from the last one
    assert len(weeks_with[BEN]) == (WEEKS + 1) // 2
    gaps = sorted(weeks_with[BEN])
    assert all((b - a).days == 14 for a, b in itertools.pairwise(gaps))
