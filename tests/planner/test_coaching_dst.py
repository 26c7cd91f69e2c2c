"""DST weeks: wall times stay put, nothing lands in the gap, durations are exact."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from strategies import event

from planner.actions import Book
from planner.coaching import plan_coaching
from planner.model import Snapshot
from planner.periods import snapshot_window
from planner.policy import Policy

UTC = ZoneInfo("UTC")
CASES = [("America/Chicago", date(2027, 3, 14)), ("Europe/Berlin", date(2027, 3, 28))]


def _policy(tz: str, **over: object) -> Policy:
    coaching = {
        "horizon": "2 weeks",
        "ride_along": {"enabled": False},
        "call_review": {"enabled": False},
        "huddle": {"days": ["mon", "fri"], "time": "08:30"},
        "sales_meeting": {"day": "thu", "time": "10:00", "topics": ["A", "B"]},
        "one_on_one": {"days": ["mon"], "window": {"start": "09:00", "end": "12:00"}},
    }
    coaching.update(over)
    return Policy.model_validate(
        {
            "manager": {"name": "Maria", "email": "maria@acme.example", "timezone": tz},
            "team": [{"name": "Ana", "email": "ana@acme.example"}],
            "coaching": coaching,
        }
    )


@pytest.mark.parametrize(("tz", "change"), CASES)
def test_wall_times_stay_across_the_change(tz: str, change: date) -> None:
    zone = ZoneInfo(tz)
    pol = _policy(tz)
    monday_before = change - timedelta(days=6)
    now = datetime.combine(monday_before, time(6), tzinfo=zone)
    books = [
        a
        for a in plan_coaching(pol, Snapshot(window=snapshot_window(pol, now)), now).actions
        if isinstance(a, Book)
    ]
    one = [b for b in books if b.kind == "one_on_one"]
    assert [b.start.date() for b in one] == [monday_before, change + timedelta(days=1)]
    offsets = {b.start.utcoffset() for b in one}
    assert len(offsets) == 2, "one 1:1 on each side of the change"
    for b in books:
        local = b.start.astimezone(zone)
        expect = {"one_on_one": time(9), "huddle": time(8, 30), "sales_meeting": time(10)}[b.kind]
        assert local.time() == expect
        length = b.end.astimezone(UTC) - b.start.astimezone(UTC)
        want = {"one_on_one": 30, "huddle": 15, "sales_meeting": 60}[b.kind]
        assert length == timedelta(minutes=want)


@pytest.mark.parametrize(("tz", "change"), CASES)
def test_no_slot_in_the_spring_forward_gap(tz: str, change: date) -> None:
    zone = ZoneInfo(tz)
    pol = Policy.model_validate(
        {
            "manager": {
                "name": "Maria",
                "email": "maria@acme.example",
                "timezone": tz,
                "working_hours": {"start": "01:00", "end": "05:00"},
                "working_days": ["sun"],
            },
            "team": [{"name": "Ana", "email": "ana@acme.example"}],
            "coaching": {
                "horizon": "3 days",
                "buffer": "0m",
                "slot_step": "30m",
                "ride_along": {"enabled": False},
                "call_review": {"enabled": False},
                "huddle": {"enabled": False},
                "sales_meeting": {"enabled": False},
                "one_on_one": {"days": ["sun"], "window": {"start": "01:00", "end": "05:00"}},
            },
        }
    )
    now = datetime.combine(change - timedelta(days=1), time(12), tzinfo=zone)
    # the manager is busy until the gap starts: 02:00 does not exist that night
    busy = (
        event(
            datetime.combine(change, time(1), tzinfo=zone),
            datetime.combine(change, time(1, 30), tzinfo=zone),
        ),
        event(
            datetime.combine(change, time(1, 30), tzinfo=zone).astimezone(UTC),
            datetime.combine(change, time(3), tzinfo=zone).astimezone(UTC),
            "Until the gap",
        ),
    )
    s = Snapshot(window=snapshot_window(pol, now), events=busy)
    (b,) = [a for a in plan_coaching(pol, s, now).actions if isinstance(a, Book)]
    local = b.start.astimezone(zone)
    assert local.date() == change and local.time() == time(3, 0)
    assert b.end.astimezone(UTC) - b.start.astimezone(UTC) == timedelta(minutes=30)
